#!/bin/bash
# e2e: volumes served over FUSE's io_uring transport (`fltmc mount --transport uring`), with and
# without filters, and the fallback to /dev/fuse when the kernel does not offer it.  The kernel
# offers io_uring only while its module parameter enable_uring is Y at mount time (a connection
# keeps it): the test sets Y around each such mount and always puts the old value back.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
fm_require_fuse

param=/sys/module/fuse/parameters/enable_uring
[ -w "$param" ] || fm_skip_all "no $param (kernel without FUSE over io_uring)"
[ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" = 0 ] ||
	fm_skip_all "io_uring is disabled (kernel.io_uring_disabled)"
saved=$(cat "$param")
restore_param() {
	[ -n "$saved" ] && echo "$saved" >"$param"
}
# Restore first, then the library's cleanup (which keeps the exit status it is given).
trap 'rc=$?; restore_param; (exit $rc); fm_cleanup' EXIT

# Mount with the parameter set to $1 for the mount only.
mount_with_param() {
	local v=$1
	shift
	echo "$v" >"$param"
	fm_run fm_fltmc mount "$@"
	restore_param
}

# N processes each create, stat, read back and unlink files in DIR; prints "ok" or what failed.
workload() {
	local dir=$1 procs=$2 files=$3 p
	for p in $(seq 1 "$procs"); do
		(
			for i in $(seq 1 "$files"); do
				f=$dir/p$p.$i
				echo "process $p file $i" >"$f" || exit 1
				[ "$(stat -c %s "$f")" = $((${#p} + ${#i} + 15)) ] || exit 2
				[ "$(cat "$f")" = "process $p file $i" ] || exit 3
				rm "$f" || exit 4
			done
		) &
	done
	local bad=0
	for p in $(seq 1 "$procs"); do
		wait -n || bad=$((bad + 1))
	done
	if [ "$bad" -eq 0 ] && [ -z "$(ls -A "$dir")" ]; then
		echo ok
	else
		echo "$bad process(es) failed; left: $(ls -A "$dir" | head -5)"
	fi
}

transport_of() {
	fm_fltmc volumes | awk -v m="$1" '$1 == m' | sed -E 's/.*  +//'
}

fm_start_daemon || fm_fail "fltmgrd starts"
ncpu=$(awk -F, '{ n = 0; for (i = 1; i <= NF; i++) { split($i, r, "-"); n += (r[2] == "" ? 1 : r[2] - r[1] + 1) } print n }' /sys/devices/system/cpu/possible)

# ---- io_uring, no filter ----
back=$FM_T/back
mkdir -p "$back/work"
echo "backing data" >"$back/f.txt"
mount_with_param Y "$back" --transport uring
fm_is "mount --transport uring with enable_uring=Y" "$FM_RC" 0
fm_is "the parameter is back to its old value" "$(cat "$param")" "$saved"
fm_is "fltmc volumes: io_uring, one queue per possible CPU" "$(transport_of "$back")" \
	"io_uring ($ncpu queue$([ "$ncpu" = 1 ] || echo s))"
fm_is "a process reads through the ring" "$(cat "$back/f.txt" 2>&1)" "backing data"
fm_is "4 processes x 150 files: create, stat, read, unlink" "$(workload "$back/work" 4 150)" ok
head -c 3000000 /dev/urandom >"$FM_T/rand"
cp "$FM_T/rand" "$back/big" && sync
fm_is "3 MB copied in and read back" "$(cmp "$FM_T/rand" "$back/big" 2>&1)" ""

# ---- io_uring with filters: passthrough (looks at everything) and xorcrypt (changes data) ----
fm_ok "register passthrough" fm_fltmc register passthrough "$FM_BUILD/filters/passthrough.so" \
	--altitude 370030
fm_ok "load passthrough (attaches to the ring volume)" fm_fltmc load passthrough
fm_is "with passthrough: 4 processes x 150 files" "$(workload "$back/work" 4 150)" ok
fm_is "with passthrough: the big file reads back" "$(cmp "$FM_T/rand" "$back/big" 2>&1)" ""
fm_ok "unload passthrough" fm_fltmc unload passthrough
fm_ok "unmount" fm_fltmc unmount "$back"

data=$FM_T/data
mnt=$FM_T/mnt
mkdir -p "$data" "$mnt"
fm_ok "register xorcrypt" fm_fltmc register xorcrypt "$FM_BUILD/filters/xorcrypt.so" --altitude 141000
mount_with_param Y "$data" "$mnt" --transport uring
fm_is "mount a second ring volume on a separate mount point" "$FM_RC" 0
fm_ok "load xorcrypt" fm_fltmc load xorcrypt
fm_like "it is on io_uring" "$(transport_of "$mnt")" "^io_uring \\("
printf 'The quick brown fox jumps over the lazy dog.\n' >"$mnt/plain.txt"
fm_is "xorcrypt: plain through the volume" "$(cat "$mnt/plain.txt")" \
	"The quick brown fox jumps over the lazy dog."
fm_run cmp -s <(printf 'The quick brown fox jumps over the lazy dog.\n') "$data/plain.txt"
fm_is "xorcrypt: transformed on the backing store" "$FM_RC" 1
if [ -x "$FM_BUILD/tests/e2e/xorcheck" ]; then
	fm_ok "xorcrypt: random I/O, truncates, mmap, concurrent readers match a model" \
		"$FM_BUILD/tests/e2e/xorcheck" "$mnt" 2000
else
	fm_skip "xorcheck" "not built"
fi
fsx=$FM_BUILD/tests/fsx/fsx
if [ -x "$fsx" ]; then
	seed=${FSX_SEED:-$(date +%s)}
	fm_run "$fsx" -q -N "${FSX_OPS:-5000}" -S "$seed" -B "$data/fsx.dat" "$mnt/fsx.dat"
	if [ "$FM_RC" -eq 0 ]; then
		fm_pass "fsx through xorcrypt over io_uring: 0 mismatches"
	else
		fm_fail "fsx through xorcrypt over io_uring (seed $seed)" "$FM_OUT" "$FM_ERR"
	fi
else
	fm_skip "fsx" "not built"
fi
fm_ok "unload xorcrypt" fm_fltmc unload xorcrypt
fm_ok "unmount the second ring volume" fm_fltmc unmount "$mnt"

# ---- pended operations on a ring volume: each keeps its entry, the queues grow ----
held=$FM_T/held
nproc=${URING_FIBER_NPROC:-2}
nthreads=${URING_FIBER_NTHREADS:-60}
total=$((nproc * nthreads))
mkdir -p "$held"
mkdir $(for i in $(seq 0 $((total - 1))); do echo "$held/d$i"; done)
for i in $(seq 0 $((total - 1))); do echo payload >"$held/d$i/held$i"; done
echo go >"$held/release-now"
echo w >"$held/wait-here"
echo g >"$held/open-gate"
echo plain >"$held/plain"
mount_with_param Y "$held" --transport uring
fm_is "mount a ring volume for pended operations" "$FM_RC" 0
fm_ok "register fx_hold" fm_fltmc register fx_hold "$FM_BUILD/tests/fixtures/fx_hold.so" \
	--altitude 300000
fm_ok "load it" fm_fltmc load fx_hold
log="$FM_ROOT/fltmgrd.log"
base=$(grep -ac 'hold: held' "$log")
"$FM_BUILD/tests/e2e/manyops" "$held" "$nproc" "$nthreads" >"$FM_T/manyops.out" 2>&1 &
ops=$!
for i in $(seq 600); do
	[ "$(grep -ac 'hold: held' "$log")" -ge $((base + total)) ] && break
	sleep 0.1
done
fm_is "all $total operations are pended by the filter, each holding a ring entry" \
	"$(($(grep -ac 'hold: held' "$log") - base))" "$total"
fm_is "the volume still serves other requests meanwhile" "$(timeout 10 cat "$held/plain")" "plain"
fm_ok "an open that releases them" timeout 10 cat "$held/release-now"
fm_ok "every operation completes" timeout 60 tail --pid="$ops" -f /dev/null
kill -KILL "$ops" 2>/dev/null
wait "$ops"
fm_is "every process saw the right outcome" "$(tail -1 "$FM_T/manyops.out")" "ok=$total bad=0"
# FUSE_INTERRUPT comes on /dev/fuse while the request came through the ring: a killed process's
# pended open is still cancelled.
n=$(grep -ac 'hold: held' "$log")
cat "$held/d0/held0" >/dev/null 2>&1 &
reader=$!
for i in $(seq 100); do [ "$(grep -ac 'hold: held' "$log")" -gt "$n" ] && break; sleep 0.1; done
kill -KILL "$reader"
wait "$reader" 2>/dev/null
for i in $(seq 50); do grep -aq "hold: canceled an open of pid $reader" "$log" && break; sleep 0.1; done
fm_like "a killed process's pended open is cancelled (interrupt of a ring request)" \
	"$(cat "$log")" "hold: canceled an open of pid $reader"
# A callback that waits in place, on the ring thread of its caller's CPU, for something only a
# later request from that same CPU brings about: a stand-in thread takes the queue's requests.
n=$(grep -ac 'hold: waiting at the gate' "$log")
taskset -c 0 cat "$held/wait-here" >/dev/null 2>&1 &
waiter=$!
for i in $(seq 100); do [ "$(grep -ac 'hold: waiting at the gate' "$log")" -gt "$n" ] && break; sleep 0.1; done
start=$(date +%s%N)
fm_ok "an open from the same CPU is served while a callback waits in place there" \
	timeout 8 taskset -c 0 cat "$held/open-gate"
fm_ok "the waiting open then completes" timeout 8 tail --pid="$waiter" -f /dev/null
wait "$waiter"
fm_like "the callback was released by that open, not by its timeout" \
	"$(grep -a 'hold: gate' "$log" | tail -1)" "hold: gate opened"
fm_ok "within 5 s (the stand-in starts after a ${URING_WATCH_MS:-20} ms tick or two)" \
	test $((($(date +%s%N) - start) / 1000000)) -lt 5000
fm_like "the daemon says a stand-in took the ring's requests" "$(cat "$log")" "stand-in 1 takes its requests"
fm_ok "unload fx_hold" fm_fltmc unload fx_hold
fm_ok "unmount" fm_fltmc unmount "$held"

# ---- fallback: io_uring asked for, not offered ----
fall=$FM_T/fall
mkdir -p "$fall/work"
mount_with_param N "$fall" --transport uring
fm_is "mount --transport uring with enable_uring=N still succeeds" "$FM_RC" 0
fm_is "fltmc volumes says it serves on /dev/fuse" "$(transport_of "$fall")" \
	"/dev/fuse (io_uring not offered by the kernel)"
fm_is "the fallback volume works: 2 processes x 100 files" "$(workload "$fall/work" 2 100)" ok
fm_ok "unmount the fallback volume" fm_fltmc unmount "$fall"

fm_run fm_fltmc mount "$fall" --transport pigeon
fm_is "an unknown transport exits 1" "$FM_RC" 1
fm_like "with a clear message" "$FM_ERR" "transport=dev or transport=uring"

# A ring volume still mounted when the daemon stops: everything is torn down.
mount_with_param Y "$back" --transport uring
fm_is "mount a ring volume again" "$FM_RC" 0
exec 9<"$back/f.txt"
fm_stop_daemon
exec 9<&-
fm_is "daemon exits 0 on SIGTERM with a ring volume mounted" "$FM_DSTATUS" 0
fm_is "nothing left mounted" "$(fm_mounts_under_tmp)" ""
fm_is "the parameter is back to its old value at the end" "$(cat "$param")" "$saved"
fm_done
