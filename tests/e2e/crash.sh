#!/bin/bash
# e2e: fltmgrd killed with SIGKILL, or crashing in a filter's callback, fails closed on every
# volume (ENOTCONN, never the unfiltered files), fsync'ed data is on the backing store, and the
# dead mounts are removed by `fltmc unmount` or by the next fltmgrd on the same root.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
fm_require_fuse

# A crash must not leave a core file behind (nor wait for a core handler).
ulimit -c 0
xorview=$FM_BUILD/tests/fsx/xorview
log=$FM_ROOT/fltmgrd.log
back=$FM_T/back
back2=$FM_T/back2
mnt2=$FM_T/mnt2
mkdir -p "$back" "$back2" "$mnt2"
echo "secret data" >"$back/f.txt"

is_mounted() {
	awk -v m="$1" '$2 == m { found = 1 } END { exit !found }' /proc/mounts
}

# ---- SIGKILL ---------------------------------------------------------------------------------
fm_start_daemon || fm_fail "fltmgrd starts"
fm_ok "mount over the backing dir" fm_fltmc mount "$back"
fm_ok "mount a second volume on its own mount point" fm_fltmc mount "$back2" "$mnt2"
fm_ok "register xorcrypt (no automatic attachment)" \
	fm_fltmc register xorcrypt "$FM_BUILD/filters/xorcrypt.so" --altitude 141000 --flags 1
fm_ok "load xorcrypt" fm_fltmc load xorcrypt
fm_ok "attach it to the second volume" fm_fltmc attach xorcrypt "$mnt2"
fm_is "readable through the volume" "$(cat "$back/f.txt" 2>&1)" "secret data"
head -c 300000 /dev/urandom >"$FM_T/synced.src"
fm_ok "write 300000 bytes through xorcrypt and fsync them" \
	dd if="$FM_T/synced.src" of="$mnt2/synced" bs=65536 conv=fsync status=none
fm_ok "the fsync'ed file is stored transformed" \
	bash -c "! cmp -s '$FM_T/synced.src' '$back2/synced'"

kill -KILL "$FM_DPID"
wait "$FM_DPID" 2>/dev/null
FM_DPID=
fm_run cat "$back/f.txt"
fm_is "after SIGKILL the volume answers errors" "$FM_RC" 1
fm_like "ENOTCONN, not the unfiltered data" "$FM_ERR" "Transport endpoint is not connected"
fm_run ls "$mnt2"
fm_like "the second volume fails closed too" "$FM_ERR" "Transport endpoint is not connected"
fm_run bash -c "echo x >'$back/new.txt'"
fm_like "creating a file fails closed" "$FM_ERR" "Transport endpoint is not connected"
fm_run stat "$back/f.txt"
fm_like "stat fails closed" "$FM_ERR" "Transport endpoint is not connected"
fm_is "the socket file is left behind" "$(ls "$FM_ROOT/control.sock" 2>/dev/null)" \
	"$FM_ROOT/control.sock"
fm_fails "fltmc cannot reach the dead daemon" fm_fltmc ping
fm_like "and says so" "$FM_ERR" "cannot reach fltmgrd"
fm_is "the fsync'ed data is on the backing store, intact (xorcrypt undone)" \
	"$("$xorview" "$back2/synced" | cmp - "$FM_T/synced.src" && echo same)" same

# fltmc unmount removes a dead volume while no daemon runs.
fm_ok "fltmc unmount removes the dead second volume" fm_fltmc unmount "$mnt2"
fm_like "and says what it did" "$FM_OUT" "removed the dead volume at $mnt2"
fm_fails "the mount point is no longer mounted" is_mounted "$mnt2"
fm_fails "fltmc unmount of a path with no volume still fails" fm_fltmc unmount "$mnt2"

# The next fltmgrd removes the dead mount over the first backing directory.
if fm_start_daemon; then
	fm_pass "a new fltmgrd starts on the same root (stale socket replaced, lock free)"
else
	fm_fail "a new fltmgrd starts on the same root"
fi
fm_like "it removed the dead volume the killed one left" "$(cat "$log")" \
	"$back: removed the dead volume a previous fltmgrd left there"
fm_fails "nothing is mounted over the backing dir any more" is_mounted "$back"
fm_is "backing data intact after the crash" "$(cat "$back/f.txt")" "secret data"
fm_is "the failed create left nothing" "$(ls "$back")" "f.txt"
fm_ok "it mounts the directory again" fm_fltmc mount "$back"
fm_is "readable again" "$(cat "$back/f.txt" 2>&1)" "secret data"

# ---- A filter that crashes in a callback -------------------------------------------------------
echo "boom" >"$FM_T/crashme.txt"
echo "fine" >"$FM_T/ok.txt"
fm_ok "unmount" fm_fltmc unmount "$back"
cp "$FM_T/crashme.txt" "$FM_T/ok.txt" "$back/"
fm_ok "mount again" fm_fltmc mount "$back"
fm_ok "register the crasher fixture" \
	fm_fltmc register crasher "$FM_BUILD/tests/fixtures/crasher.so" --altitude 200000
fm_ok "load it" fm_fltmc load crasher
fm_is "it passes other files through" "$(cat "$back/ok.txt" 2>&1)" "fine"
fm_run cat "$back/crashme.txt"
fm_is "the open that crashes the filter fails" "$FM_RC" 1
fm_unlike "and shows nothing of the file" "$FM_OUT" "boom"
for i in $(seq 50); do
	kill -0 "$FM_DPID" 2>/dev/null || break
	sleep 0.1
done
wait "$FM_DPID" 2>/dev/null
st=$?
FM_DPID=
fm_is "fltmgrd died of SIGSEGV" "$st" 139
fm_like "its log names the signal, the filter, the operation and the file" "$(cat "$log")" \
	'FATAL: SIGSEGV at address 0x0 in thread [0-9]+, filter crasher, IRP_MJ_CREATE pre-operation, file \\crashme\.txt'
fm_like "the report is on stderr too" "$(cat "$FM_T/fltmgrd.out")" "FATAL: SIGSEGV .*filter crasher"
fm_run cat "$back/ok.txt"
fm_like "the volume fails closed" "$FM_ERR" "Transport endpoint is not connected"
fm_ok "fltmc unmount removes the dead volume over the backing dir" fm_fltmc unmount "$back"
fm_is "backing data intact" "$(cat "$back/crashme.txt" "$back/ok.txt")" "boom
fine"

fm_start_daemon || fm_fail "fltmgrd starts again"
fm_ok "unload is not needed: the new daemon has no filter loaded" \
	bash -c "! '$FM_FLTMC' --root '$FM_ROOT' filters | grep -q crasher"
fm_stop_daemon
fm_is "clean stop" "$FM_DSTATUS" 0
fm_is "nothing left mounted" "$(fm_mounts_under_tmp)" ""
fm_done
