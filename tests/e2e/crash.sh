#!/bin/bash
# e2e: fltmgrd killed with SIGKILL fails closed, and a new daemon takes over the same root.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
fm_require_fuse

fm_start_daemon || fm_fail "fltmgrd starts"
back=$FM_T/back
mkdir -p "$back"
echo "secret data" >"$back/f.txt"
fm_ok "mount over the backing dir" fm_fltmc mount "$back"
fm_is "readable through the volume" "$(cat "$back/f.txt" 2>&1)" "secret data"

kill -KILL "$FM_DPID"
wait "$FM_DPID" 2>/dev/null
FM_DPID=
fm_run cat "$back/f.txt"
fm_is "after SIGKILL the volume answers errors" "$FM_RC" 1
fm_like "ENOTCONN, not the unfiltered data" "$FM_ERR" "Transport endpoint is not connected"
fm_is "the socket file is left behind" "$(ls "$FM_ROOT/control.sock" 2>/dev/null)" \
	"$FM_ROOT/control.sock"
fm_fails "fltmc cannot reach the dead daemon" fm_fltmc ping
fm_like "and says so" "$FM_ERR" "cannot reach fltmgrd"

# The dead mount must go before the directory can be mounted again.
umount -l "$back"
fm_is "backing data intact after the crash" "$(cat "$back/f.txt")" "secret data"
if fm_start_daemon; then
	fm_pass "a new fltmgrd starts on the same root (stale socket replaced, lock free)"
else
	fm_fail "a new fltmgrd starts on the same root"
fi
fm_ok "it mounts the directory again" fm_fltmc mount "$back"
fm_is "readable again" "$(cat "$back/f.txt" 2>&1)" "secret data"
fm_stop_daemon
fm_is "clean stop" "$FM_DSTATUS" 0
fm_is "nothing left mounted" "$(fm_mounts_under_tmp)" ""
fm_done
