#!/bin/bash
# e2e: the verifier names each mistake a fixture filter makes, with a backtrace, lists its leaks
# at unload, and the filter manager carries on every time.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
fm_require_fuse

fx="$FM_BUILD/tests/fixtures"
log="$FM_ROOT/fltmgrd.log"
data="$FM_T/data"
mkdir -p "$data"
fm_start_daemon || fm_fail "fltmgrd starts"
fm_ok "mount" fm_mount "$data"
fm_ok "register fx_misuse" fm_fltmc register fx_misuse "$fx/fx_misuse.so" --altitude 300000
fm_ok "register fx_leaky" fm_fltmc register fx_leaky "$fx/fx_leaky.so" --altitude 310000
fm_run fm_fltmc verifier on fx_misuse
fm_is "fltmc verifier on" "$FM_RC" 0
fm_ok "verifier on for fx_leaky" fm_fltmc verifier on fx_leaky
fm_run fm_fltmc verifier maybe fx_leaky
fm_is "a bad verifier argument is a usage error" "$FM_RC" 2
fm_ok "load fx_misuse" fm_fltmc load fx_misuse
fm_ok "load fx_leaky" fm_fltmc load fx_leaky
fm_like "FltStartFiltering twice is named" "$(cat "$log")" \
	'\[fx_misuse\] VERIFIER: FltStartFiltering called twice'

for f in disallow-fastio badstatus paged twice overrelease leakname; do
	touch "$data/$f.txt"
	fm_ok "the file system still works after $f" test -e "$data/$f.txt"
done
all=$(cat "$log")
fm_like "DISALLOW_FASTIO on an IRP" "$all" '\[fx_misuse\] VERIFIER: returned FLT_PREOP_DISALLOW_FASTIO for an IRP'
fm_like "an undefined pre-operation status" "$all" '\[fx_misuse\] VERIFIER: pre-operation returned undefined status 77'
fm_like "PAGED_CODE at DISPATCH_LEVEL" "$all" '\[fx_misuse\] VERIFIER: PAGED_CODE at IRQL 2'
fm_like "a pended operation completed twice" "$all" '\[fx_misuse\] VERIFIER: FltCompletePendedPreOperation on an operation that is not pended'
fm_like "a context released once too often" "$all" '\[fx_misuse\] VERIFIER: FltReleaseContext on .* not a live context'
fm_like "each report comes with a backtrace into the filter" "$all" \
	'\[fx_misuse\] VERIFIER:   #[0-9]+ fx_misuse.so'

fm_ok "unload the leaky filter" fm_fltmc unload fx_leaky
all=$(cat "$log")
fm_like "a leaked pool allocation: tag, size and site" "$all" \
	"\\[fx_leaky\\] VERIFIER: leaked pool allocation: tag 'Leak', 123 bytes at 0x[0-9a-f]+, allocated at fx_leaky.so"
fm_like "a leaked file name reference, by name" "$all" \
	"\\[fx_leaky\\] VERIFIER: leaked file name information '.*leakname.txt'"
fm_like "a leaked work item (tracked pool)" "$all" \
	"\\[fx_leaky\\] VERIFIER: leaked pool allocation: tag 'FlWI'"
fm_like "a leaked context" "$all" '\[fx_leaky\] .*context 0x[0-9a-f]+ leaked: 1 reference\(s\) not released at unload'
fm_like "the unload report counts them" "$all" \
	'\[fx_leaky\] VERIFIER: unload report: 2 leaked pool allocation\(s\) \([0-9]+ bytes\), [1-9][0-9]* file name information'
fm_run fm_fltmc filters
fm_unlike "and the unload completed" "$FM_OUT" 'fx_leaky'
# A create the filter pends and forgets: the unload still completes, and so does the create.
touch "$data/forget.txt" &
toucher=$!
sleep 0.3
fm_ok "the forgotten create is still waiting" kill -0 "$toucher"
fm_ok "unload fx_misuse despite the forgotten operation" fm_fltmc unload fx_misuse
wait "$toucher"
fm_is "the forgotten create completed after all" "$?" 0
fm_like "a communication port left open at unload is named" "$(cat "$log")" \
	'\[fx_misuse\] VERIFIER: communication port \\FxMisusePort still open at FltUnregisterFilter'
fm_like "the verifier named the forgotten operation" "$(cat "$log")" \
	"\\[fx_misuse\\] VERIFIER: an operation \\(IRP_MJ_CREATE\\) pended by instance 'fx_misuse Instance' was never completed"

# Verifier off: the misuse is still logged, without the VERIFIER marking.
fm_ok "verifier off" fm_fltmc verifier off fx_misuse
fm_ok "load again" fm_fltmc load fx_misuse
n0=$(wc -l <"$log")
touch "$data/badstatus2.txt"
new=$(tail -n +$((n0 + 1)) "$log")
fm_like "without the verifier the misuse is still an error line" "$new" \
	'\[fx_misuse\] pre-operation returned undefined status 77'
fm_unlike "but not a verifier report" "$new" 'VERIFIER'
fm_ok "unload" fm_fltmc unload fx_misuse
fm_ok "unmount" fm_fltmc unmount "$data"
fm_done
