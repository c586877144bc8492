#!/bin/sh
# Run the whole suite of one build directory; the last line is "N passed, N failed".
# Usage: tests/run.sh BUILD_DIR [meson test args...]
set -u
build=${1:-build}
shift 2>/dev/null || true
if [ "$(id -u)" != 0 ]; then
	echo "tests: not root: the FUSE and permission tests will report SKIP (run as root)"
fi
# Each test program prints its own points; meson keeps the full output in the test log.
meson test -C "$build" --no-rebuild --print-errorlogs --timeout-multiplier 3 "$@" >"$build/test-console.txt" 2>&1
rc=$?
grep -E '^ *[0-9]+/[0-9]+ ' "$build/test-console.txt" || cat "$build/test-console.txt"
python3 "$(dirname "$0")/summary.py" "$build"
src=$?
[ $rc -eq 0 ] && [ $src -eq 0 ]
