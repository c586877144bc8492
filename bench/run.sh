#!/bin/bash
# The benchmark suite's driver (`make bench`): dispatch micro-benchmark, metadata and fio
# workloads on native / passthrough_ll / our volume with 0, 1, 4 no-op filters; docs/bench.md.
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
BENCH_TARGETS=${BENCH_TARGETS:-native ptll fm0 fm1 fm4 xor xorc}
BENCH_FIO=${BENCH_FIO:-1}
BENCH_STEP_TIMEOUT=${BENCH_STEP_TIMEOUT:-300}
BENCH_WALK_FILES=${BENCH_WALK_FILES:-1000000}
BENCH_COUNT=${BENCH_COUNT:-1}
BENCH_COUNT_FILES=${BENCH_COUNT_FILES:-1000}

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
mkdir -p "$DATA" "$T/mnt"
: >"$OUT"

# ---- cleanup: whatever happens, unmount everything under $T and stop what we started ------
mounts_under_t() {
	awk -v t="$T" 'index($2, t "/") == 1 { print $2 }' /proc/mounts | sort -r
}

cleanup() {
	local rc=$? mp i
	trap - EXIT INT TERM HUP
	for mp in $(mounts_under_t); do
		umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null
	done
	for pid in $PTLL_PID $DPID; do
		kill -TERM "$pid" 2>/dev/null
		for i in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
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

# fio files, laid out once natively so that every target reads the same bytes.
if [ "$BENCH_FIO" = 1 ]; then
	if ! command -v fio >/dev/null; then
		note "fio not installed (apt-get install fio): data workload skipped"
		BENCH_FIO=0
	else
		fio --name=layout --filename="$DATA/fio.dat" --rw=write --bs=1M \
			--size="$BENCH_SEQ_SIZE" --output=/dev/null || BENCH_FIO=0
	fi
fi

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
		timeout "$BENCH_STEP_TIMEOUT" "$METABENCH" "$dir/meta" "$BENCH_FILES" "$label" \
			>>"$T/meta.runs" || note "$label: metadata workload failed (run $r)"
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
	timeout "$BENCH_STEP_TIMEOUT" "${seq[@]}" --output=/dev/null &&
		timeout "$BENCH_STEP_TIMEOUT" "${seq[@]}" --output="$j" 2>"$T/fio.err" &&
		fig "fio_${label}_seqread" "$(fio_num "$j" read_mbs)" MB/s ||
		note "$label: fio sequential read failed: $(fio_err "$j" "$label")"
	timeout "$BENCH_STEP_TIMEOUT" fio --name=randread --filename="$dir/fio.dat" --rw=randread \
		--bs=4k --size="$BENCH_SEQ_SIZE" --invalidate=0 --numjobs="$BENCH_RAND_JOBS" \
		--group_reporting --time_based --runtime="$BENCH_RAND_RUNTIME" --output-format=json \
		--output="$j" 2>"$T/fio.err" &&
		fig "fio_${label}_randread4k" "$(fio_num "$j" read_kiops)" kIOPS ||
		note "$label: fio random read failed: $(fio_err "$j" "$label")"
	timeout "$BENCH_STEP_TIMEOUT" fio --name=seqwrite --filename="$dir/fio-w.dat" --rw=write \
		--bs=1M --size="$BENCH_SEQ_SIZE" --end_fsync=1 --output-format=json --output="$j" \
		2>"$T/fio.err" &&
		fig "fio_${label}_seqwrite" "$(fio_num "$j" write_mbs)" MB/s ||
		note "$label: fio sequential write failed: $(fio_err "$j" "$label")"
	rm -f "$dir/fio-w.dat" "$DATA/fio-w.dat"
}

# count_requests LABEL DIR PID: FUSE requests per file of a short metadata pass (create+write,
# stat, open+read, unlink of BENCH_COUNT_FILES files), counted as the successful read(2)s of
# /dev/fuse descriptors by the serving process PID under strace.  A separate, untimed pass:
# strace slows the server down.
count_requests() {
	local label=$1 dir=$2 pid=$3 log=$T/strace.$1 spid i
	[ "$BENCH_COUNT" = 1 ] || return 0
	command -v strace >/dev/null || {
		note "strace not installed: FUSE requests not counted"
		return 0
	}
	strace -f -qq -y -xx -s 256 -e trace=read -e status=successful -p "$pid" -o "$log" \
		2>"$log.err" &
	spid=$!
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
		kill -INT "$spid" 2>/dev/null
		wait "$spid" 2>/dev/null
		note "$label: strace did not attach to $pid: $(head -c 300 "$log.err")"
		return 0
	fi
	sleep 0.3
	mkdir -p "$dir/meta" &&
		METABENCH_MARKERS=1 timeout "$BENCH_STEP_TIMEOUT" "$METABENCH" "$dir/meta" \
			"$BENCH_COUNT_FILES" "$label" >/dev/null
	rmdir "$dir/meta"
	sleep 0.3
	kill -INT "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	rm -rf "$DATA/meta"
	# Requests between metabench's phase markers (the marker lookups not counted); FORGETs
	# the kernel sends late land in a later phase.
	python3 -c '
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
' "$log" "$BENCH_COUNT_FILES" "$label" >"$T/count.out" && tee -a "$OUT" <"$T/count.out" ||
		note "$label: no FUSE request seen under strace: $(head -c 300 "$log.err")"
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
		return 0
	}
	got=$(fltmc instances | grep -cE "benchnoop|xorcrypt")
	[ "$got" -eq $# ] || note "$label: expected $# attached instances, fltmc instances lists $got"
	note "$label: cache policy: $(fltmc volumes | awk -v m="$mp" '$1 == m' | sed 's/.*)  *//')"
	run_workloads "$label" "$mp"
	count_requests "$label" "$mp" "$DPID"
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
	local n=$BENCH_WALK_FILES d=$T/walkdata mp=$T/mnt/walk r0 r1 r2 r3 svc
	start_daemon || return 0
	for svc in benchnoop1 benchnoop2 benchnoop3 benchnoop4 xorcrypt; do
		fltmc filters | grep -q "^$svc " && fltmc unload "$svc" >/dev/null
	done
	mkdir -p "$d" "$mp"
	python3 - "$d" "$n" <<'PY' || { note "walk: laying out $n files failed"; return 0; }
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    sub = os.path.join(d, "d%03d" % (i % 1000))
    if i < 1000:
        os.mkdir(sub)
    os.close(os.open(os.path.join(sub, "f%07d" % i), os.O_CREAT | os.O_WRONLY, 0o644))
PY
	fltmc mount "$d" "$mp" >/dev/null || { note "walk: fltmc mount failed"; return 0; }
	sync
	r0=$(rss_kb "$DPID")
	timeout "$BENCH_STEP_TIMEOUT" du -s "$mp" >/dev/null || note "walk: du failed"
	r1=$(rss_kb "$DPID")
	echo 2 >/proc/sys/vm/drop_caches
	sleep 2
	r2=$(rss_kb "$DPID")
	timeout "$BENCH_STEP_TIMEOUT" du -s "$mp" >/dev/null || note "walk: second du failed"
	r3=$(rss_kb "$DPID")
	fig walk_files "$n" files
	fig walk_rss_before_kb "$r0" KiB
	fig walk_rss_per_inode "$(((r1 - r0) * 1024 / n))" bytes
	fig walk_rss_after_forget_kb "$r2" KiB
	fig walk_rss_second_walk_growth_per_inode "$(((r3 - r1) * 1024 / n))" bytes
	fltmc unmount "$mp" >/dev/null || umount "$mp" || umount -l "$mp"
	rm -rf "$d"
}

for t in $BENCH_TARGETS; do
	case $t in
	native) run_native ;;
	ptll) run_ptll ;;
	fm0) run_fm fm0 ;;
	fm1) run_fm fm1 benchnoop1 ;;
	fm4) run_fm fm4 benchnoop1 benchnoop2 benchnoop3 benchnoop4 ;;
	xor | xorc)
		# xorc: the same through the page cache (--cache cached: paging I/O to the filter).
		if [ -f "$BUILD/filters/xorcrypt.so" ]; then
			FM_MOUNT_OPTS=$([ "$t" = xorc ] && echo "--cache cached") run_fm "$t" xorcrypt
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
	"rand_runtime_s=$BENCH_RAND_RUNTIME" "dispatch_ops=$BENCH_DISPATCH_OPS"
