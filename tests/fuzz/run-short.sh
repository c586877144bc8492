#!/bin/sh
# A short libFuzzer run of one target (CI): fresh inputs go to a temporary directory, the seed
# corpus in the repo is only read.  Usage: run-short.sh TARGET_BINARY SEED_DIR [SECONDS]
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
seeds=$(cd "$2" && pwd)
secs=${3:-${FUZZ_SECONDS:-20}}
work=$(mktemp -d "${TMPDIR:-/tmp}/fm-fuzz-XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
cd "$work" || exit 1
"$bin" -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$work/" "$work" "$seeds" >log 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' log)
if [ $rc -eq 0 ]; then
	echo "ok 1 - $(basename "$bin"): ${runs:-?} inputs in ${secs} s, no crash"
else
	echo "not ok 1 - $(basename "$bin"): libFuzzer exit $rc"
	tail -40 log
	for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-*; do
		[ -f "$a" ] && echo "# artifact $(basename "$a"): $(od -An -tx1 "$a" | head -4)"
	done
fi
echo "1..1"
exit $rc
