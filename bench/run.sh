#!/bin/bash
# The benchmark suite's driver (`make bench`): dispatch micro-benchmark, metadata and fio
# workloads on native / passthrough_ll / our volume with 0, 1, 4 no-op filters (and 1 with
# --cache cached), each target on a fresh ext4 image of its own; docs/bench.md.
#
# usage: bench/run.sh [BUILD_DIR]     (default: build)
# Every figure is printed as "bench: <name> <value> <unit>", every ratio as
# "bench: ratio <name> <value>"; both are also written to BUILD_DIR/bench.json.
set -u

BUILD=${1:-build}
SRC=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac

BENCH_FILES=${BENCH_FILES:-19000}
BENCH_META_RUNS=${BENCH_META_RUNS:-1}
BENCH_DISPATCH_OPS=${BENCH_DISPATCH_OPS:-2000000}
BENCH_DISPATCH_ROUNDS=${BENCH_DISPATCH_ROUNDS:-3}
BENCH_SEQ_SIZE=${BENCH_SEQ_SIZE:-1g}
BENCH_RAND_RUNTIME=${BENCH_RAND_RUNTIME:-5}
BENCH_RAND_JOBS=${BENCH_RAND_JOBS:-4}
BENCH_TARGETS=${BENCH_TARGETS:-native ptll fm0 fm1 fm4 fm1c fm0u fm1u xor xorc}
BENCH_FIO=${BENCH_FIO:-1}
BENCH_STEP_TIMEOUT=${BENCH_STEP_TIMEOUT:-300}
BENCH_WALK_FILES=${BENCH_WALK_FILES:-1000000}
BENCH_COUNT=${BENCH_COUNT:-1}
BENCH_COUNT_FILES=${BENCH_COUNT_FILES:-1000}
BENCH_FRESH_FS=${BENCH_FRESH_FS:-1}

FLTMGRD=$BUILD/bin/fltmgrd
FLTMC=$BUILD/bin/fltmc
METABENCH=$BUILD/bench/metabench
DISPATCH=$BUILD/bench/dispatch_bench
PTLL_SRC=/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c
PTLL=$BUILD/bench/passthrough_ll
JSON=$BUILD/bench.json

# A build directory configured before bench/meson.build existed does not know the bench
# targets (the root meson.build checks for it at configure time): reconfigure it once.
if [ ! -x "$METABENCH" ] && [ -f "$BUILD/build.ninja" ] && [ -f "$SRC/bench/meson.build" ]; then
	echo "bench: note: $BUILD lacks the bench targets; reconfiguring it" >&2
	meson setup --reconfigure "$BUILD" "$SRC" >/dev/null && ninja -C "$BUILD" >/dev/null
fi
for p in "$FLTMGRD" "$FLTMC" "$METABENCH" "$DISPATCH"; do
	[ -x "$p" ] || {
		echo "bench: error $p is not built (run: ninja -C $BUILD)" >&2
		exit 1
	}
done
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/fuse ]; then
	echo "bench: note: not root or no /dev/fuse: only the dispatch micro-benchmark runs" >&2
	BENCH_TARGETS=native
fi

T=$(mktemp -d /tmp/fm-bench-XXXXXX) || exit 1
chmod 0755 "$T"
DATA=$T/data
ROOT=$T/root
OUT=$T/figures.txt
DPID=
PTLL_PID=
STEP_PID=
STRACE_PID=
# The fresh backing file system of the current target (backing_up / backing_down).
FS_IMG=
FS_LOOP=
FS_MNT=
mkdir -p "$DATA" "$T/mnt"
: >"$OUT"

# ---- cleanup: whatever happens, unmount everything under $T and stop what we started ------
# mounts_under_t [fuse|other]: the mount points under $T, deepest first.
mounts_under_t() {
	awk -v t="$T" -v k="${1:-}" 'index($2, t "/") == 1 {
		f = ($3 ~ /^fuse/)
		if (k == "" || (k == "fuse" && f) || (k == "other" && !f)) print $2
	}' /proc/mounts | sort -r
}

# stop_pid PID: TERM, up to 10 s, then KILL.
stop_pid() {
	local i
	kill -TERM "$1" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# umount_retry DIR: a backing file system the daemon may have been closing files in.
umount_retry() {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		umount "$1" 2>/dev/null && return 0
		sleep 0.3
	done
	umount -l "$1" 2>/dev/null
}

# detach_loops: the loop devices of our images (normally none is left: backing_down detaches
# its own); on a device still in use (lazily unmounted), -d sets autoclear.
detach_loops() {
	local img dev
	for img in "$T"/*.ext4; do
		[ -e "$img" ] || continue
		for dev in $(losetup -l -n -O NAME -j "$img" 2>/dev/null); do
			losetup -d "$dev" 2>/dev/null
		done
	done
	[ -n "$FS_LOOP" ] && losetup -d "$FS_LOOP" 2>/dev/null
	FS_LOOP=
}

cleanup() {
	local rc=$? mp pid
	trap - EXIT INT TERM HUP
	uring_param_restore
	for pid in $STEP_PID $STRACE_PID; do
		stop_pid "$pid"
	done
	for mp in $(mounts_under_t fuse); do
		umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null
	done
	for pid in $PTLL_PID $DPID; do
		stop_pid "$pid"
	done
	for mp in $(mounts_under_t other); do
		umount_retry "$mp"
	done
	detach_loops
	if [ -n "$(mounts_under_t)" ]; then
		echo "bench: note: mounts remain under $T; not removing it" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# A figure: printed and kept for the ratios and bench.json.
fig() {
	echo "bench: $1 $2 $3" | tee -a "$OUT"
}

note() {
	echo "bench: note: $*" >&2
}

# ---- 1. dispatch micro-benchmark ----------------------------------------------------------
timeout "$BENCH_STEP_TIMEOUT" "$DISPATCH" "$BENCH_DISPATCH_OPS" "$BENCH_DISPATCH_ROUNDS" |
	tee -a "$OUT" || note "dispatch micro-benchmark failed"

# ---- the targets -----------------------------------------------------------------------------

# run_step CMD...: a long step under timeout, in the background so that a signal to this
# script is handled at once (cleanup stops the step) instead of after the step.
run_step() {
	local rc
	timeout "$BENCH_STEP_TIMEOUT" "$@" &
	STEP_PID=$!
	wait "$STEP_PID"
	rc=$?
	STEP_PID=
	return "$rc"
}

if [ "$BENCH_FIO" = 1 ] && ! command -v fio >/dev/null; then
	note "fio not installed (apt-get install fio): data workload skipped"
	BENCH_FIO=0
fi

# ---- backing file systems ------------------------------------------------------------------
# Each target gets a fresh ext4 of its own (BENCH_FRESH_FS=1, the default): a sparse image
# under $T, loop-mounted (direct I/O: one page cache, the image's) as the target's backing
# directory, unmounted and deleted after the target.  On a shared file system ext4 skips for
# minutes the inodes deleted recently (the previous target's 19,000 files), which made the
# create phase depend on the run order and the machine's history (docs/bench.md).
# size_mib SIZE: a fio size (1g, 512m, 4096k, bytes) in MiB, rounded up.
size_mib() {
	python3 -c '
import re, sys
m = re.fullmatch(r"([0-9]+)([kmgt]?)i?b?", sys.argv[1].lower())
if not m: sys.exit(1)
n = int(m.group(1)) * 1024 ** " kmgt".index(m.group(2) or " ")
print(-(-n // 2 ** 20))
' "$1"
}

FRESH_WHY=
if [ "$BENCH_FRESH_FS" = 1 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		FRESH_WHY="not root"
	elif ! command -v losetup >/dev/null || ! command -v mkfs.ext4 >/dev/null; then
		FRESH_WHY="losetup or mkfs.ext4 missing"
	elif ! losetup -f >/dev/null 2>&1; then
		FRESH_WHY="no free loop device ($(losetup -f 2>&1 | head -c 200))"
	elif ! size_mib "$BENCH_SEQ_SIZE" >/dev/null; then
		FRESH_WHY="BENCH_SEQ_SIZE=$BENCH_SEQ_SIZE not understood"
	fi
	if [ -n "$FRESH_WHY" ]; then
		note "no fresh file system per target ($FRESH_WHY): every target shares the directory $DATA (ext4 recently-deleted inodes then slow the creates of later targets)"
		BENCH_FRESH_FS=0
	fi
fi

# backing_up LABEL DIR INODES DATA_MIB: DIR becomes a fresh ext4 with at least INODES inodes
# and DATA_MIB MiB of room.  Nothing to do with BENCH_FRESH_FS=0 (DIR is a plain directory).
backing_up() {
	local label=$1 dir=$2 inodes=$3 mib=$4
	mkdir -p "$dir"
	[ "$BENCH_FRESH_FS" = 1 ] || return 0
	# Room for the data and the journal; ext4 has at most 32768 inodes per 128 MiB group,
	# and the inodes default to one per 16 KiB.
	mib=$((mib + 512))
	[ "$mib" -ge $((inodes / 256 + 256)) ] || mib=$((inodes / 256 + 256))
	[ "$inodes" -ge $((mib * 64)) ] || inodes=$((mib * 64))
	FS_IMG=$T/$label.ext4
	if ! truncate -s "${mib}M" "$FS_IMG" ||
		! mkfs.ext4 -q -F -m 0 -N "$inodes" -E lazy_itable_init=0,lazy_journal_init=0 \
			"$FS_IMG" >"$T/mkfs.out" 2>&1; then
		note "$label: mkfs.ext4 of a $mib MiB image failed: $(head -c 300 "$T/mkfs.out")"
		rm -f "$FS_IMG"
		return 1
	fi
	if ! FS_LOOP=$(losetup --find --show --direct-io=on "$FS_IMG" 2>"$T/losetup.err"); then
		note "$label: losetup failed: $(head -c 300 "$T/losetup.err")"
		FS_LOOP=
		rm -f "$FS_IMG"
		return 1
	fi
	if ! mount -t ext4 "$FS_LOOP" "$dir" 2>"$T/mount.err"; then
		note "$label: mount of $FS_LOOP failed: $(head -c 300 "$T/mount.err")"
		backing_down
		return 1
	fi
	FS_MNT=$dir
	chmod 0755 "$dir"
	return 0
}

backing_down() {
	[ -n "$FS_MNT" ] && umount_retry "$FS_MNT"
	[ -n "$FS_LOOP" ] && losetup -d "$FS_LOOP" 2>/dev/null
	[ -n "$FS_IMG" ] && rm -f "$FS_IMG"
	FS_MNT='' FS_LOOP='' FS_IMG=''
}

# target_up LABEL: the backing directory $DATA of a metadata + fio target, with fio.dat laid
# out natively (once for all targets with BENCH_FRESH_FS=0, in each target's own fs otherwise).
target_up() {
	local mib=0
	[ "$BENCH_FIO" = 1 ] && mib=$((2 * $(size_mib "$BENCH_SEQ_SIZE")))
	backing_up "$1" "$DATA" $((2 * BENCH_FILES + 65536)) $((mib + BENCH_FILES / 128)) ||
		return 1
	if [ "$BENCH_FIO" = 1 ] && [ ! -f "$DATA/fio.dat" ]; then
		run_step fio --name=layout --filename="$DATA/fio.dat" --rw=write --bs=1M \
			--size="$BENCH_SEQ_SIZE" --output=/dev/null || {
			note "$1: laying out fio.dat failed: data workload skipped"
			BENCH_FIO=0
		}
		# Written back before the target is measured.
		[ "$BENCH_FRESH_FS" = 1 ] && sync -f "$DATA"
	fi
	return 0
}

# fio_json FILE KEY: a number out of fio's JSON (read bandwidth in MB/s or total read IOPS).
fio_num() {
	python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
r = j["jobs"][0]
k = sys.argv[2]
if k == "read_mbs": print("%.1f" % (r["read"]["bw_bytes"] / 1e6))
elif k == "write_mbs": print("%.1f" % (r["write"]["bw_bytes"] / 1e6))
elif k == "read_kiops": print("%.1f" % (r["read"]["iops"] / 1e3))
' "$1" "$2"
}

# fio_err JSON LABEL: why fio failed (its stderr, the job's error code), on one line; fio's
# whole output is kept as BUILD/bench-fio-failed-LABEL.json (the temp dir goes away).
fio_err() {
	cat "$T/fio.err" "$1" >"$BUILD/bench-fio-failed-$2.json" 2>/dev/null
	{
		tail -n 3 "$T/fio.err"
		grep -m1 '"error"' "$1" 2>/dev/null
		echo "(fio output kept in $BUILD/bench-fio-failed-$2.json)"
	} | tr -s ' \n' ' '
}

# run_workloads LABEL DIR: the metadata set and the fio set in DIR (a mount or the native dir).
run_workloads() {
	local label=$1 dir=$2 j=$T/fio.json r
	: >"$T/meta.runs"
	for r in $(seq 1 "$BENCH_META_RUNS"); do
		mkdir -p "$dir/meta" || {
			note "$label: mkdir failed"
			return 1
		}
		run_step "$METABENCH" "$dir/meta" "$BENCH_FILES" "$label" >>"$T/meta.runs" || note "$label: metadata workload failed (run $r)"
		# The workload unlinked its files: remove the directory through the target.
		# Whatever a failed run left goes natively (faster, and always possible).
		rmdir "$dir/meta" 2>/dev/null
		rm -rf "$DATA/meta"
	done
	# The median of the runs, per phase (with one run, that run).
	python3 -c '
import sys
runs = {}
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) == 4 and p[0] == "bench:":
        runs.setdefault((p[1], p[3]), []).append(float(p[2]))
for (name, unit), v in runs.items():
    v.sort()
    print("bench: %s %.0f %s" % (name, v[len(v) // 2], unit))
' "$T/meta.runs" | tee -a "$OUT"
	[ "$BENCH_FIO" = 1 ] || return 0

	# Sequential read, warm: one pass to warm the caches, the second is measured.
	local seq=(fio --name=seqread --filename="$dir/fio.dat" --rw=read --bs=1M
		--size="$BENCH_SEQ_SIZE" --invalidate=0 --output-format=json)
	if run_step "${seq[@]}" --output=/dev/null &&
		run_step "${seq[@]}" --output="$j" 2>"$T/fio.err"; then
		fig "fio_${label}_seqread" "$(fio_num "$j" read_mbs)" MB/s
	else
		note "$label: fio sequential read failed: $(fio_err "$j" "$label")"
	fi
	if run_step fio --name=randread --filename="$dir/fio.dat" --rw=randread \
		--bs=4k --size="$BENCH_SEQ_SIZE" --invalidate=0 --numjobs="$BENCH_RAND_JOBS" \
		--group_reporting --time_based --runtime="$BENCH_RAND_RUNTIME" --output-format=json \
		--output="$j" 2>"$T/fio.err"; then
		fig "fio_${label}_randread4k" "$(fio_num "$j" read_kiops)" kIOPS
	else
		note "$label: fio random read failed: $(fio_err "$j" "$label")"
	fi
	if run_step fio --name=seqwrite --filename="$dir/fio-w.dat" --rw=write \
		--bs=1M --size="$BENCH_SEQ_SIZE" --end_fsync=1 --output-format=json --output="$j" \
		2>"$T/fio.err"; then
		fig "fio_${label}_seqwrite" "$(fio_num "$j" write_mbs)" MB/s
	else
		note "$label: fio sequential write failed: $(fio_err "$j" "$label")"
	fi
	rm -f "$dir/fio-w.dat" "$DATA/fio-w.dat"
}

# count_requests LABEL DIR PID: FUSE requests per file of a short metadata pass (create+write,
# stat, open+read, unlink of BENCH_COUNT_FILES files), counted as the successful read(2)s of
# /dev/fuse descriptors by the serving process PID under strace.  A separate, untimed pass:
# strace slows the server down.
count_requests() {
	local label=$1 dir=$2 pid=$3 log=$T/strace.$1 i
	[ "$BENCH_COUNT" = 1 ] || return 0
	command -v strace >/dev/null || {
		note "strace not installed: FUSE requests not counted"
		return 0
	}
	strace -f -qq -y -xx -s 256 -e trace=read -e status=successful -p "$pid" -o "$log" \
		2>"$log.err" &
	STRACE_PID=$!
	# strace prints nothing until a request comes: wait until every thread of the server
	# has a tracer instead.
	local attached=0
	for i in $(seq 1 50); do
		if ! grep -qs "^TracerPid:[[:space:]]*0$" /proc/"$pid"/task/*/status &&
			[ -e "/proc/$pid/status" ]; then
			attached=1
			break
		fi
		sleep 0.1
	done
	if [ "$attached" = 0 ]; then
		kill -INT "$STRACE_PID" 2>/dev/null
		wait "$STRACE_PID" 2>/dev/null
		STRACE_PID=
		note "$label: strace did not attach to $pid: $(head -c 300 "$log.err")"
		return 0
	fi
	sleep 0.3
	mkdir -p "$dir/meta" &&
		METABENCH_MARKERS=1 run_step "$METABENCH" "$dir/meta" "$BENCH_COUNT_FILES" "$label" \
			>/dev/null
	rmdir "$dir/meta"
	sleep 0.3
	kill -INT "$STRACE_PID" 2>/dev/null
	wait "$STRACE_PID" 2>/dev/null
	STRACE_PID=
	rm -rf "$DATA/meta"
	# Requests between metabench's phase markers (the marker lookups not counted); FORGETs
	# the kernel sends late land in a later phase.
	if python3 -c '
import re, sys
OPS = {1: "LOOKUP", 2: "FORGET", 3: "GETATTR", 4: "SETATTR", 5: "READLINK", 6: "SYMLINK",
       8: "MKNOD", 9: "MKDIR", 10: "UNLINK", 11: "RMDIR", 12: "RENAME", 13: "LINK", 14: "OPEN",
       15: "READ", 16: "WRITE", 17: "STATFS", 18: "RELEASE", 20: "FSYNC", 21: "SETXATTR",
       22: "GETXATTR", 23: "LISTXATTR", 24: "REMOVEXATTR", 25: "FLUSH", 26: "INIT",
       27: "OPENDIR", 28: "READDIR", 29: "RELEASEDIR", 30: "FSYNCDIR", 31: "GETLK",
       32: "SETLK", 33: "SETLKW", 34: "ACCESS", 35: "CREATE", 36: "INTERRUPT", 37: "BMAP",
       38: "DESTROY", 39: "IOCTL", 40: "POLL", 41: "NOTIFY_REPLY", 42: "BATCH_FORGET",
       43: "FALLOCATE", 44: "READDIRPLUS", 45: "RENAME2", 46: "LSEEK", 47: "COPY_FILE_RANGE",
       48: "SETUPMAPPING", 49: "REMOVEMAPPING", 50: "SYNCFS", 51: "TMPFILE", 52: "STATX"}
n = int(sys.argv[2])
req = re.compile(r"read\([0-9]+<((?:\\x[0-9a-f]{2})*)>, \"((?:\\x[0-9a-f]{2})*)\"")
hx = lambda t: bytes.fromhex(t.replace("\\x", ""))
phase, counts, ops = None, {}, {}
for line in open(sys.argv[1], errors="replace"):
    m = req.search(line)
    if not m or hx(m.group(1)) != b"/dev/fuse":
        continue
    b = hx(m.group(2))
    k = b.find(b".bench-phase-")
    if k >= 0:
        ph = b[k + 13:].split(b"\0")[0].decode()
        phase = None if ph == "end" else ph
        continue
    if phase:
        counts[phase] = counts.get(phase, 0) + 1
        op = int.from_bytes(b[4:8], "little") if len(b) >= 8 else -1
        name = OPS.get(op, str(op))
        ops.setdefault(phase, {})[name] = ops.setdefault(phase, {}).get(name, 0) + 1
total = sum(counts.values())
if total == 0:
    sys.exit(1)
for ph in ("create", "stat", "openread", "unlink"):
    print("bench: fuse_requests_%s_%s %.2f req/file" % (sys.argv[3], ph, counts.get(ph, 0) / n))
print("bench: fuse_requests_per_file_%s %.1f req/file" % (sys.argv[3], total / n))
for ph in ("create", "stat", "openread", "unlink"):
    d = ops.get(ph, {})
    desc = " ".join("%s=%.2f" % (o, c / n) for o, c in sorted(d.items(), key=lambda x: -x[1]))
    print("bench: note: %s %s requests per file: %s" % (sys.argv[3], ph, desc), file=sys.stderr)
' "$log" "$BENCH_COUNT_FILES" "$label" >"$T/count.out"; then
		tee -a "$OUT" <"$T/count.out"
	else
		note "$label: no FUSE request seen under strace: $(head -c 300 "$log.err")"
	fi
}

wait_mounted() {
	local i
	for i in $(seq 1 100); do
		mountpoint -q "$1" && return 0
		sleep 0.1
	done
	return 1
}

run_native() {
	run_workloads native "$DATA"
}

run_ptll() {
	local mp=$T/mnt/ptll
	if [ ! -x "$PTLL" ] || [ "$PTLL_SRC" -nt "$PTLL" ]; then
		if [ ! -f "$PTLL_SRC" ] || ! pkg-config --exists fuse3; then
			note "passthrough_ll: install libfuse3-dev and pkg-config; skipped"
			return 0
		fi
		# shellcheck disable=SC2046
		gcc -O2 -o "$PTLL" "$PTLL_SRC" $(pkg-config --cflags --libs fuse3) || {
			note "passthrough_ll: build failed; skipped"
			return 0
		}
	fi
	mkdir -p "$mp"
	"$PTLL" -f -o source="$DATA" "$mp" >"$T/ptll.out" 2>&1 &
	PTLL_PID=$!
	if ! wait_mounted "$mp"; then
		note "passthrough_ll did not mount: $(cat "$T/ptll.out")"
		return 0
	fi
	run_workloads ptll "$mp"
	count_requests ptll "$mp" "$PTLL_PID"
	umount "$mp" || umount -l "$mp"
	wait "$PTLL_PID" 2>/dev/null
	PTLL_PID=
}

fltmc() {
	"$FLTMC" --root "$ROOT" "$@"
}

start_daemon() {
	local i
	[ -n "$DPID" ] && return 0
	"$FLTMGRD" --root "$ROOT" --log-level warn >>"$T/fltmgrd.out" 2>&1 &
	DPID=$!
	for i in $(seq 1 100); do
		[ -S "$ROOT/control.sock" ] && fltmc ping >/dev/null 2>&1 && break
		sleep 0.1
	done
	fltmc ping >/dev/null 2>&1 || {
		note "fltmgrd did not start: $(cat "$T/fltmgrd.out")"
		return 1
	}
	for i in 1 2 3 4; do
		fltmc register "benchnoop$i" "$BUILD/bench/benchnoop$i.so" --altitude "37000$i" \
			>/dev/null || return 1
	done
	# The sample that touches every read and write (buffer swapping), for the xor target.
	[ -f "$BUILD/filters/xorcrypt.so" ] &&
		fltmc register xorcrypt "$BUILD/filters/xorcrypt.so" --altitude 140000 >/dev/null
	return 0
}

# run_fm LABEL SERVICE...: our volume with exactly these filters loaded (and attached).
run_fm() {
	local label=$1 mp=$T/mnt/fm svc got
	shift
	start_daemon || return 0
	for svc in benchnoop1 benchnoop2 benchnoop3 benchnoop4 xorcrypt; do
		if [[ " $* " == *" $svc "* ]]; then
			fltmc filters | grep -q "^$svc " || fltmc load "$svc" >/dev/null || {
				note "$label: fltmc load $svc failed: $(tail -3 "$T/fltmgrd.out")"
				return 0
			}
		else
			fltmc filters | grep -q "^$svc " && fltmc unload "$svc" >/dev/null
		fi
	done
	mkdir -p "$mp"
	# shellcheck disable=SC2086
	fltmc mount "$DATA" "$mp" ${FM_MOUNT_OPTS:-} >/dev/null || {
		note "fltmc mount failed: $(tail -5 "$T/fltmgrd.out")"
		${FM_AFTER_MOUNT:-true}
		return 0
	}
	${FM_AFTER_MOUNT:-true}
	got=$(fltmc instances | grep -cE "benchnoop|xorcrypt")
	[ "$got" -eq $# ] || note "$label: expected $# attached instances, fltmc instances lists $got"
	note "$label: volume: $(fltmc volumes | awk -v m="$mp" '$1 == m' | tr -s ' ')"
	run_workloads "$label" "$mp"
	if [ -n "${FM_AFTER_MOUNT:-}" ]; then
		# strace counts read(2)s of /dev/fuse; requests from a ring are not read(2)s.
		note "$label: FUSE requests not counted (io_uring transport)"
	else
		count_requests "$label" "$mp" "$DPID"
	fi
	fltmc unmount "$mp" >/dev/null || umount "$mp" || umount -l "$mp"
}

# run_walk: daemon memory per inode the kernel holds (BENCH_WALK_FILES files, opt-in target
# `walk`).  The files are laid out natively in 1000 directories, then `du` looks every one up
# through a volume with no filter; the daemon's RSS is read before, after the walk, after the
# kernel forgot the inodes (drop_caches: FORGET for each) and after a second walk.
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

run_walk() {
	local n=$BENCH_WALK_FILES d=$T/walkdata mp=$T/mnt/walk r0 r1 r2 r3 svc t0 t1 t2 t3
	start_daemon || return 0
	for svc in benchnoop1 benchnoop2 benchnoop3 benchnoop4 xorcrypt; do
		fltmc filters | grep -q "^$svc " && fltmc unload "$svc" >/dev/null
	done
	# Its own fresh file system: n inodes and 1000 directories of n/1000 entries.
	backing_up walk "$d" $((n + n / 10 + 65536)) $((n / 2048 + 64)) || return 0
	mkdir -p "$mp"
	cat >"$T/walk.py" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    sub = os.path.join(d, "d%03d" % (i % 1000))
    if i < 1000:
        os.mkdir(sub)
    os.close(os.open(os.path.join(sub, "f%07d" % i), os.O_CREAT | os.O_WRONLY, 0o644))
PY
	if ! run_step python3 "$T/walk.py" "$d" "$n"; then
		note "walk: laying out $n files failed (or exceeded BENCH_STEP_TIMEOUT)"
		backing_down
		return 0
	fi
	fltmc mount "$d" "$mp" >/dev/null || {
		note "walk: fltmc mount failed"
		backing_down
		return 0
	}
	sync
	r0=$(rss_kb "$DPID")
	t0=$(date +%s.%N)
	run_step du -s "$mp" >/dev/null || note "walk: du failed"
	t1=$(date +%s.%N)
	r1=$(rss_kb "$DPID")
	echo 2 >/proc/sys/vm/drop_caches
	sleep 2
	r2=$(rss_kb "$DPID")
	t2=$(date +%s.%N)
	run_step du -s "$mp" >/dev/null || note "walk: second du failed"
	t3=$(date +%s.%N)
	r3=$(rss_kb "$DPID")
	fig walk_files "$n" files
	fig walk_first_s "$(echo "$t0 $t1" | awk '{ printf "%.1f", $2 - $1 }')" s
	fig walk_second_s "$(echo "$t2 $t3" | awk '{ printf "%.1f", $2 - $1 }')" s
	fig walk_rss_before_kb "$r0" KiB
	fig walk_rss_per_inode "$(((r1 - r0) * 1024 / n))" bytes
	fig walk_rss_after_forget_kb "$r2" KiB
	fig walk_rss_second_walk_growth_per_inode "$(((r3 - r1) * 1024 / n))" bytes
	fltmc unmount "$mp" >/dev/null || umount "$mp" || umount -l "$mp"
	if [ "$BENCH_FRESH_FS" = 1 ]; then
		backing_down
	else
		rm -rf "$d"
	fi
}

# FUSE over io_uring is offered by the kernel only while the fuse module's enable_uring
# parameter is Y (N by default); the kernel reads it when a volume mounts, and a connection
# keeps io_uring once it has it. The *u targets turn it on just around their mount and the
# driver restores the saved value as soon as they are mounted, and on exit.
URING_PARAM=/sys/module/fuse/parameters/enable_uring
URING_SAVED=
uring_param_set() {
	[ -w "$URING_PARAM" ] || return 1
	[ -n "$URING_SAVED" ] || URING_SAVED=$(cat "$URING_PARAM")
	echo Y >"$URING_PARAM" 2>/dev/null
}
uring_param_restore() {
	[ -n "$URING_SAVED" ] || return 0
	echo "$URING_SAVED" >"$URING_PARAM" 2>/dev/null
	URING_SAVED=
}

# run_uring LABEL SERVICE...: run_fm on a volume mounted with --transport uring.
run_uring() {
	if ! uring_param_set; then
		note "$1: $URING_PARAM not writable (kernel without FUSE over io_uring?); skipped"
		return 0
	fi
	FM_MOUNT_OPTS="--transport uring" FM_AFTER_MOUNT=uring_param_restore run_fm "$@"
	uring_param_restore
}

# run_target LABEL CMD...: CMD on the target's own backing directory.
run_target() {
	local label=$1
	shift
	target_up "$label" || {
		note "$label: skipped (no backing file system)"
		return 0
	}
	"$@"
	if [ "$BENCH_FRESH_FS" = 1 ]; then
		backing_down
	fi
}

for t in $BENCH_TARGETS; do
	case $t in
	native) run_target native run_native ;;
	ptll) run_target ptll run_ptll ;;
	fm0) run_target fm0 run_fm fm0 ;;
	fm1) run_target fm1 run_fm fm1 benchnoop1 ;;
	fm4) run_target fm4 run_fm fm4 benchnoop1 benchnoop2 benchnoop3 benchnoop4 ;;
	# fm1c: fm1 through the page cache (--cache cached, as xorc).
	fm1c) FM_MOUNT_OPTS="--cache cached" run_target fm1c run_fm fm1c benchnoop1 ;;
	# fm0u, fm1u: fm0 and fm1 over FUSE over io_uring (one queue per CPU) instead of /dev/fuse.
	fm0u) run_target fm0u run_uring fm0u ;;
	fm1u) run_target fm1u run_uring fm1u benchnoop1 ;;
	# xoru (not a default target): xor over io_uring.
	xoru) run_target xoru run_uring xoru xorcrypt ;;
	xor | xorc)
		# xorc: the same through the page cache (--cache cached: paging I/O to the filter).
		if [ -f "$BUILD/filters/xorcrypt.so" ]; then
			FM_MOUNT_OPTS=$([ "$t" = xorc ] && echo "--cache cached") \
				run_target "$t" run_fm "$t" xorcrypt
		else
			note "$t: $BUILD/filters/xorcrypt.so not built; skipped"
		fi
		;;
	walk) run_walk ;;
	*) note "unknown target $t" ;;
	esac
done

# ---- ratios and bench.json -------------------------------------------------------------------
python3 "$SRC/bench/report.py" "$OUT" "$JSON" \
	"files=$BENCH_FILES" "seq_size=$BENCH_SEQ_SIZE" "rand_jobs=$BENCH_RAND_JOBS" \
	"rand_runtime_s=$BENCH_RAND_RUNTIME" "dispatch_ops=$BENCH_DISPATCH_OPS" \
	"fresh_fs=$BENCH_FRESH_FS" \
	"backing_fs=$(if [ "$BENCH_FRESH_FS" = 1 ]; then
		echo "a fresh ext4 image per target, loop device with direct I/O"
	else
		echo "one directory shared by all targets${FRESH_WHY:+ (fresh fs not possible: $FRESH_WHY)}"
	fi)"
