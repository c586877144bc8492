#!/bin/sh
# The README's demo: a filtered volume over a temporary directory, two sample minifilters at
# work on an ordinary process's I/O, then a clean teardown that leaves nothing behind.
set -u
build=${1:-build}
bin="$build/bin"
demo=$(mktemp -d /tmp/fltmgr-demo.XXXXXX)
root="$demo/root"
data="$demo/data"
fltmc() { "$bin/fltmc" --root "$root" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; sh -c "$*" 2>&1 | sed 's/^/  /'; }

cleanup() {
	[ -S "$root/control.sock" ] && fltmc unmount "$data" >/dev/null 2>&1
	if [ -n "${daemon:-}" ] && kill -0 "$daemon" 2>/dev/null; then
		kill -TERM "$daemon" 2>/dev/null
		i=0
		while kill -0 "$daemon" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL "$daemon" 2>/dev/null
	fi
	grep -q " $data fuse" /proc/mounts 2>/dev/null && umount -l "$data"
	rm -rf "$demo"
}
trap cleanup EXIT INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "demo: must run as root (FUSE mounts)" >&2
	exit 1
fi
for f in "$bin/fltmgrd" "$bin/fltmc" "$build/filters/passthrough.so" "$build/filters/protect.so"; do
	[ -x "$f" ] || [ -f "$f" ] || { echo "demo: missing $f (run make)" >&2; exit 1; }
done

mkdir -p "$root" "$data/notes"
echo "hello from the backing directory" >"$data/hello.txt"
echo "ship the demo" >"$data/notes/plan.txt"
echo "salary: 1,000,000" >"$data/payroll.secret"

say "Start the filter manager daemon (fltmgrd) with its state under $root"
"$bin/fltmgrd" --root "$root" 2>"$demo/fltmgrd.stderr" &
daemon=$!
i=0
while [ ! -S "$root/control.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ -S "$root/control.sock" ] || { echo "demo: fltmgrd did not start"; cat "$demo/fltmgrd.stderr"; exit 1; }

say "Register two sample minifilters: passthrough (logs every operation) and protect (denies *.secret)"
run "$bin/fltmc --root $root register passthrough $build/filters/passthrough.so --altitude 370030"
run "$bin/fltmc --root $root set passthrough LogOperations dword 1"
run "$bin/fltmc --root $root register protect $build/filters/protect.so --altitude 320000"
run "$bin/fltmc --root $root set protect Patterns multi_sz '*.secret'"

say "Mount a filtered volume over $data itself, then load the filters"
run "$bin/fltmc --root $root mount $data"
run "$bin/fltmc --root $root load passthrough"
run "$bin/fltmc --root $root load protect"
run "$bin/fltmc --root $root filters"
run "$bin/fltmc --root $root instances"
run "$bin/fltmc --root $root volumes"

say "An ordinary process uses the directory; every operation goes through the filters"
run "cat $data/hello.txt"
run "ls $data"
run "echo 'written through the volume' > $data/new.txt && cat $data/new.txt"
run "cat $data/payroll.secret"

say "What the passthrough filter logged (DbgPrint, tagged with the filter's name)"
grep -a 'passthrough:' "$root/fltmgrd.log" | grep -a -E 'hello.txt|new.txt|payroll' | head -12 | sed 's/^/  /'
say "What the protect filter logged"
grep -a '\[protect\]' "$root/fltmgrd.log" | tail -3 | sed 's/^/  /'

say "Unload protect: the same file is readable again"
run "$bin/fltmc --root $root unload protect"
run "cat $data/payroll.secret"

say "Unmount and stop; the backing directory holds what was written"
run "$bin/fltmc --root $root unload passthrough"
run "$bin/fltmc --root $root unmount $data"
kill -TERM "$daemon"
wait "$daemon"
echo "  fltmgrd exited with status $?"
daemon=
run "ls $data && cat $data/new.txt"
if grep -q "$demo" /proc/mounts; then echo "demo: something is still mounted!"; exit 1; fi
say "Done: nothing left mounted or running"
