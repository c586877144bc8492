#!/bin/bash
# e2e: 64 processes of mixed operations (stress) on a volume with passthrough, xorcrypt,
# minispy and ctxdemo attached, while filters are unloaded, loaded, detached and attached;
# every result checked against each worker's model, then the backing store (xorcrypt undone).
# STRESS_SECONDS (default 60), STRESS_WORKERS (default 64), STRESS_SEED, STRESS_CHURN_PAUSE
# (seconds between churn cycles, default 0.2), STRESS_CTXDEMO_CHURN; docs/reliability.md.
# In a sanitizer build a report in fltmgrd's output fails the test (`make check-tsan` runs it
# on a ThreadSanitizer build with fewer workers and seconds).
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
fm_require_fuse

flt=$FM_BUILD/filters
stress=$FM_BUILD/tests/stress/stress
secs=${STRESS_SECONDS:-60}
workers=${STRESS_WORKERS:-64}
seed=${STRESS_SEED:-$(date +%s)}
pause=${STRESS_CHURN_PAUSE:-0.2}
back=$FM_T/back
mnt=$FM_T/mnt
mkdir -p "$back" "$mnt"

# xattrs are part of the mix only where the backing file system has user xattrs.
xflag=
if ! python3 -c 'import os,sys; open(sys.argv[1],"w").close(); os.setxattr(sys.argv[1],"user.t",b"1")' \
	"$back/.xattr-probe" 2>/dev/null; then
	xflag=-X
	fm_diag "the backing file system has no user xattrs: xattr operations left out"
fi
rm -f "$back/.xattr-probe"

fm_start_daemon || fm_fail "fltmgrd starts"
fm_ok "register passthrough" fm_fltmc register passthrough "$flt/passthrough.so" --altitude 370030
fm_ok "register minispy" fm_fltmc register minispy "$flt/minispy.so" --altitude 385100
fm_ok "register ctxdemo" fm_fltmc register ctxdemo "$flt/ctxdemo.so" --altitude 365000
fm_ok "register xorcrypt" fm_fltmc register xorcrypt "$flt/xorcrypt.so" --altitude 141000
fm_ok "register nullfilter" fm_fltmc register nullfilter "$flt/nullfilter.so" --altitude 370020
fm_ok "mount the backing dir on a separate mount point" fm_mount "$back" "$mnt"
for f in passthrough minispy ctxdemo xorcrypt; do
	fm_ok "load $f" fm_fltmc load "$f"
done
fm_run fm_fltmc instances -v "$mnt"
fm_is "four instances on the volume" "$(echo "$FM_OUT" | grep -cE '^(passthrough|minispy|ctxdemo|xorcrypt) ')" 4

fm_diag "stress: $workers workers, $secs s, seed $seed"
"$stress" -j "$workers" -t "$secs" -s "$seed" $xflag -B "$back/work" "$mnt/work" \
	>"$FM_T/stress.out" 2>"$FM_T/stress.err" &
spid=$!

# Meanwhile: filters come and go (minispy and ctxdemo have no InstanceQueryTeardown, so
# they cannot be detached by hand: they are unloaded and loaded instead).  xorcrypt stays: a transform removed under live writers
# changes what is stored (by design), which the model could not follow.
cycles=0
churn_fail=()
churn() {
	local out
	if ! out=$(fm_fltmc "$@" 2>&1); then
		churn_fail+=("fltmc $*: $out")
	fi
}
while kill -0 "$spid" 2>/dev/null; do
	churn unload minispy
	churn load minispy
	# Unloading ctxdemo under this load once crashed fltmgrd (docs/reliability.md); keep it in
	# the churn (STRESS_CTXDEMO_CHURN=0 leaves it out).
	if [ "${STRESS_CTXDEMO_CHURN:-1}" != 0 ]; then
		churn unload ctxdemo
		churn load ctxdemo
	fi
	churn detach passthrough "$mnt"
	churn attach passthrough "$mnt"
	churn load nullfilter
	churn instances
	churn detach nullfilter "$mnt"
	churn filters
	churn attach nullfilter "$mnt"
	churn unload nullfilter
	cycles=$((cycles + 1))
	sleep "$pause"
done
wait "$spid"
src=$?
fm_diag "$(cat "$FM_T/stress.out")"
if [ "$src" -eq 0 ]; then
	fm_pass "stress: no unexpected result, the model matches the volume and the backing store"
else
	fm_fail "stress (seed $seed) exit $src" "$(tail -n 40 "$FM_T/stress.err")"
fi
fm_is "filter churn: $cycles cycles, every fltmc command succeeded" \
	"${#churn_fail[@]}" 0
[ "${#churn_fail[@]}" -eq 0 ] || fm_diag "${churn_fail[@]:0:10}"
fm_ok "the daemon is alive" kill -0 "$FM_DPID"
if [ "$FM_RC" -ne 0 ]; then
	wait "$FM_DPID"
	fm_diag "fltmgrd exited with status $?; the end of its output:" \
		"$(grep -av ' INFO ' "$FM_T/fltmgrd.out" | tail -n 30)"
	FM_DPID=
fi
fm_fails "ctxdemo (no InstanceQueryTeardown) refuses a manual detach" fm_fltmc detach ctxdemo "$mnt"
fm_like "with STATUS_FLT_DO_NOT_DETACH" "$FM_ERR" STATUS_FLT_DO_NOT_DETACH
fm_run fm_fltmc instances -v "$mnt"
fm_is "the four instances are back" "$(echo "$FM_OUT" | grep -cE '^(passthrough|minispy|ctxdemo|xorcrypt) ')" 4
fm_ok "unmount" fm_fltmc unmount "$mnt"
fm_stop_daemon
fm_is "clean stop" "$FM_DSTATUS" 0
# ThreadSanitizer (races, lock-order inversions), AddressSanitizer and UBSan reports: none.
san='WARNING: ThreadSanitizer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:'
nsan=$(grep -acE "$san" "$FM_T/fltmgrd.out")
if [ "$nsan" -eq 0 ]; then
	fm_pass "no sanitizer report from fltmgrd"
else
	fm_fail "no sanitizer report from fltmgrd: $nsan" \
		"$(grep -aE "$san|^SUMMARY: " "$FM_T/fltmgrd.out" | head -n 20)" \
		"the first report:" \
		"$(grep -aE -m1 -A60 "$san" "$FM_T/fltmgrd.out" | grep -av ' INFO ')"
fi
fm_done
