#!/bin/bash
# e2e: fltmgrd starts, answers, refuses a second instance, checks its registry, stops cleanly.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root

fm_run fm_fltmc filters
fm_is "fltmc without a daemon exits 1" "$FM_RC" 1
fm_like "and says it cannot reach fltmgrd at the socket" "$FM_ERR" \
	"^fltmc: cannot reach fltmgrd at $FM_ROOT/control.sock: "

if fm_start_daemon; then fm_pass "fltmgrd starts and answers ping"; else fm_fail "fltmgrd starts"; fi
fm_is "root created 0700" "$(stat -c %a "$FM_ROOT")" 700
fm_is "control socket is mode 0600" "$(stat -c %a "$FM_ROOT/control.sock")" 600
fm_is "control socket is owned by root" "$(stat -c %u "$FM_ROOT/control.sock")" 0
fm_like "log file written" "$(cat "$FM_ROOT/fltmgrd.log")" "listening on $FM_ROOT/control.sock"

fm_ok "fltmc filters on an empty system" fm_fltmc filters
fm_like "it prints the Windows header" "$FM_OUT" \
	"^Filter Name +Num Instances +Altitude +Frame$"
fm_like "with a dashed rule under it" "$FM_OUT" "^-{30}  -{13}  -{12}  -{5}$"
fm_is "and no filter rows" "$(printf '%s\n' "$FM_OUT" | grep -c .)" 2
fm_ok "fltmc instances on an empty system" fm_fltmc instances
fm_like "prints its header" "$FM_OUT" "^Filter +Volume Name +Altitude +Instance Name +Frame$"
fm_ok "fltmc volumes on an empty system" fm_fltmc volumes
fm_like "prints its header" "$FM_OUT" "^Dos Name +Volume Name +FileSystem +Status +Backing +Cache +Transport$"

fm_run timeout 10 "$FM_FLTMGRD" --root "$FM_ROOT"
fm_is "a second fltmgrd on the same root exits 1" "$FM_RC" 1
fm_like "with a clear message" "$FM_ERR" "another fltmgrd \\(pid $FM_DPID\\) is running on $FM_ROOT"
fm_ok "the first one still answers" fm_fltmc ping

# Usage errors and help.
fm_run fm_fltmc frobnicate
fm_is "unknown verb exits 2" "$FM_RC" 2
fm_run fm_fltmc load
fm_is "missing argument exits 2" "$FM_RC" 2
fm_ok "fltmc help" fm_fltmc help
fm_like "lists the verbs" "$FM_OUT" "^ +unmount "
fm_ok "per-verb --help" fm_fltmc instances --help
fm_like "shows that verb's usage" "$FM_OUT" "instances \\[-f <filter>\\] \\[-v <volume>\\]"

# Something in the registry for -n to find.
echo "not a shared object" >"$FM_T/image.so"
fm_ok "register a service" fm_fltmc register svc1 "$FM_T/image.so" --altitude 370020
fm_ok "fltmgrd -n while the daemon runs" "$FM_FLTMGRD" --root "$FM_ROOT" -n
fm_like "-n lists the service and its instance" "$FM_OUT" \
	'instance "svc1 Instance" altitude 370020 flags 0x0 \(default\)'

fm_stop_daemon
fm_is "SIGTERM: exit status 0" "$FM_DSTATUS" 0
fm_is "no socket left behind" "$(ls "$FM_ROOT"/control.sock 2>/dev/null)" ""

# A registry with a service that lacks its instance data: -n reports it.
cat >>"$FM_ROOT/registry" <<'REG'

[\REGISTRY\MACHINE\SYSTEM\CurrentControlSet\Services\broken]
"ImagePath"=expand_sz:"relative.so"
REG
fm_run "$FM_FLTMGRD" --root "$FM_ROOT" -n
fm_is "-n with a problem exits 1" "$FM_RC" 1
fm_like "and names it" "$FM_ERR" "service broken: ImagePath relative.so is not absolute"

# A corrupt registry file: -n and a real start both refuse, naming the line.
printf '[\\REGISTRY\\A]\n"x"=dword:1\n"y"=bogus:2\n' >"$FM_ROOT/registry"
fm_run "$FM_FLTMGRD" --root "$FM_ROOT" -n
fm_is "-n on a corrupt registry exits 1" "$FM_RC" 1
fm_like "and names the file and line" "$FM_ERR" "registry: $FM_ROOT/registry:3: unknown type"
fm_run timeout 10 "$FM_FLTMGRD" --root "$FM_ROOT"
fm_is "fltmgrd refuses to start on a corrupt registry" "$FM_RC" 1
fm_like "with the line number" "$FM_ERR" "$FM_ROOT/registry:3: unknown type"
fm_is "the corrupt file is left as it was" "$(sed -n 3p "$FM_ROOT/registry")" '"y"=bogus:2'
rm -f "$FM_ROOT/registry"
fm_run "$FM_FLTMGRD" --root "$FM_ROOT" -n
fm_is "-n with no registry file exits 0" "$FM_RC" 0

fm_done
