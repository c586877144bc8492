#!/bin/bash
# e2e: fltmc attach / detach — manual instances, altitudes, query-teardown, refusals.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
fm_require_fuse

flt="$FM_BUILD/filters"
fx="$FM_BUILD/tests/fixtures"
log="$FM_ROOT/fltmgrd.log"
data="$FM_T/data"
mkdir -p "$data"
echo text >"$data/a.txt"

fm_start_daemon || fm_fail "fltmgrd starts"
fm_ok "mount" fm_mount "$data"
fm_ok "register passthrough" fm_fltmc register passthrough "$flt/passthrough.so" --altitude 370030
fm_ok "log its operations" fm_fltmc set passthrough LogOperations dword 1
fm_ok "load passthrough" fm_fltmc load passthrough
fm_ok "attach a second instance at another altitude" \
	fm_fltmc attach passthrough "$data" -i Second -a 370031.5
fm_run fm_fltmc instances -f passthrough
fm_like "both instances listed" "$FM_OUT" "passthrough +$data +370031.5 +Second"
fm_like "the automatic one too" "$FM_OUT" "passthrough +$data +370030 +passthrough Instance"
n0=$(wc -l <"$log")
cat "$data/a.txt" >/dev/null
fm_is "each instance sees the open" \
	"$(tail -n +$((n0 + 1)) "$log" | grep -ac 'IRP_MJ_CREATE .*a.txt')" 2
fm_run fm_fltmc attach passthrough "$data" -i Third -a 370031.50
fm_is "the same altitude twice is refused" "$FM_RC" 1
fm_like "with STATUS_OBJECT_NAME_COLLISION" "$FM_ERR" 'STATUS_OBJECT_NAME_COLLISION'
fm_run fm_fltmc attach passthrough "$data" -i Second -a 370032
fm_like "an instance name twice is refused" "$FM_ERR" 'STATUS_FLT_INSTANCE_NAME_COLLISION'
fm_run fm_fltmc attach nosuch "$data"
fm_is "an unknown filter is an error" "$FM_RC" 1
fm_run fm_fltmc volumes
dev=$(echo "$FM_OUT" | awk -v d="$data" '$1 == d { print $2 }')
fm_ok "detach by device name" fm_fltmc detach passthrough "$dev" Second
fm_run fm_fltmc instances -f passthrough
fm_unlike "the second instance is gone" "$FM_OUT" 'Second'
fm_like "teardown reason MANUAL" "$(cat "$log")" "instance 'Second' detached"
fm_run fm_fltmc detach passthrough "$data" Second
fm_like "detaching it again: STATUS_FLT_INSTANCE_NOT_FOUND" "$FM_ERR" 'STATUS_FLT_INSTANCE_NOT_FOUND'

# Instance Flags 0x1: no automatic attachment; a manual one works and says so.
fm_ok "register fx_seed with automatic attachment off" \
	fm_fltmc register fx_seed "$fx/fx_seed.so" --altitude 370050 --flags 0x1
fm_ok "load it" fm_fltmc load fx_seed
fm_run fm_fltmc instances -f fx_seed
fm_unlike "not attached automatically" "$FM_OUT" "$data"
fm_ok "attach it by hand (default instance)" fm_fltmc attach fx_seed "$data"
fm_like "InstanceSetup says MANUAL_ATTACHMENT" "$(grep -a '\[fx_seed\] fx: setup' "$log")" 'flags=0x2 '
fm_run fm_fltmc detach fx_seed "$data"
fm_is "no query-teardown routine: the instance cannot be detached" "$FM_RC" 1
fm_like "STATUS_FLT_DO_NOT_DETACH" "$FM_ERR" 'STATUS_FLT_DO_NOT_DETACH'
fm_ok "unload still tears it down" fm_fltmc unload fx_seed
fm_like "teardown reason FILTER_UNLOAD" "$(grep -a '\[fx_seed\] fx: teardown complete' "$log")" 'reason=0x2'
# fltmc uninstall: refused while loaded, then the service key is gone for good.
fm_run fm_fltmc uninstall passthrough
fm_is "uninstall of a loaded filter is refused" "$FM_RC" 1
fm_like "saying why" "$FM_ERR" 'unload it first'
fm_ok "unload passthrough" fm_fltmc unload passthrough
fm_ok "uninstall passthrough" fm_fltmc uninstall passthrough
fm_unlike "the registry file no longer has it" "$(cat "$FM_ROOT/registry")" 'Services\\passthrough'
fm_run fm_fltmc load passthrough
fm_like "loading it now: STATUS_OBJECT_NAME_NOT_FOUND" "$FM_ERR" 'STATUS_OBJECT_NAME_NOT_FOUND'
fm_run fm_fltmc uninstall passthrough
fm_is "uninstalling twice fails" "$FM_RC" 1
fm_ok "unmount" fm_fltmc unmount "$data"
fm_done
