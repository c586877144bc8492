#!/bin/bash
# e2e: the sample minifilters filter real processes' I/O on a mounted volume.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
fm_require_fuse

flt="$FM_BUILD/filters"
log="$FM_ROOT/fltmgrd.log"
data="$FM_T/data"
mkdir -p "$data/sub"
# Other users must be able to reach the volume (mktemp made the test dir 0700).
chmod 0755 "$FM_T" "$data"
echo "public text" >"$data/hello.txt"
echo "top secret" >"$data/payroll.secret"
echo "nested" >"$data/sub/n.txt"
chmod 0600 "$data/payroll.secret"

fm_start_daemon || fm_fail "fltmgrd starts"
fm_ok "register nullfilter" fm_fltmc register nullfilter "$flt/nullfilter.so" --altitude 370020
fm_ok "register passthrough" fm_fltmc register passthrough "$flt/passthrough.so" --altitude 370030
fm_ok "turn its logging on" fm_fltmc set passthrough LogOperations dword 1
fm_ok "register protect" fm_fltmc register protect "$flt/protect.so" --altitude 320000
fm_ok "give protect its patterns" fm_fltmc set protect Patterns multi_sz '*.secret' '*.KEY'
fm_ok "mount over the backing directory" fm_mount "$data"
fm_ok "load nullfilter" fm_fltmc load nullfilter
fm_ok "load passthrough" fm_fltmc load passthrough
fm_ok "load protect" fm_fltmc load protect
fm_run fm_fltmc filters
fm_like "three filters listed" "$FM_OUT" 'protect +1 +320000 +0'
fm_run fm_fltmc volumes
vol=$(echo "$FM_OUT" | awk -v d="$data" '$1 == d { print $2 }')
fm_like "the volume has an NT device name" "$vol" '^\\Device\\HarddiskVolume[0-9]+$'

# passthrough: every operation of a real process, with its PID and NT name.
n0=$(wc -l <"$log")
pid=$(bash -c 'echo $$; exec cat "$0" >/dev/null' "$data/hello.txt")
# The kernel sends the final release after close(2) returns: wait for it to reach the log.
for i in $(seq 50); do
	tail -n +$((n0 + 1)) "$log" | grep -aq 'IRP_MJ_CLOSE .*hello.txt\|IRP_MJ_CLOSE pid' && break
	sleep 0.05
done
new=$(tail -n +$((n0 + 1)) "$log")
vre=${vol//\\/\\\\}
fm_like "IRP_MJ_CREATE with the caller's PID and normalized name" "$new" \
	"passthrough: IRP_MJ_CREATE pid=$pid name=$vre\\\\hello.txt status=0x00000000"
fm_like "IRP_MJ_READ of 12 bytes" "$new" "IRP_MJ_READ pid=$pid name=$vre\\\\hello.txt status=0x00000000 info=12"
fm_like "IRP_MJ_CLEANUP at close, in the name of the process that opened it" "$new" \
	"IRP_MJ_CLEANUP pid=$pid name=$vre\\\\hello.txt"
fm_like "IRP_MJ_CLOSE follows" "$new" "IRP_MJ_CLOSE"

n0=$(wc -l <"$log")
echo "appended" >>"$data/hello.txt"
mv "$data/hello.txt" "$data/sub/moved.txt"
rm "$data/sub/moved.txt"
mkdir "$data/newdir"
ls "$data" >/dev/null
sync -f "$data" 2>/dev/null
new=$(tail -n +$((n0 + 1)) "$log")
fm_like "IRP_MJ_WRITE seen" "$new" "IRP_MJ_WRITE .*hello.txt status=0x00000000 info=9"
fm_like "rename is IRP_MJ_SET_INFORMATION" "$new" "IRP_MJ_SET_INFORMATION .*hello.txt status=0x00000000"
fm_like "delete is IRP_MJ_SET_INFORMATION on the new name" "$new" "IRP_MJ_SET_INFORMATION .*sub\\\\moved.txt status=0x00000000"
fm_like "readdir is IRP_MJ_DIRECTORY_CONTROL" "$new" "IRP_MJ_DIRECTORY_CONTROL .*name=$vre\\\\? status=0x00000000"
fm_like "mkdir is IRP_MJ_CREATE" "$new" "IRP_MJ_CREATE .*newdir status=0x00000000 info=2"

# protect: a filter's STATUS_ACCESS_DENIED reaches the process as EACCES.
fm_run cat "$data/payroll.secret"
fm_is "cat of a protected file fails" "$FM_RC" 1
fm_like "with EACCES" "$FM_ERR" "Permission denied"
fm_run bash -c "echo x > '$data/new.KEY'"
fm_like "creating a protected name fails too (patterns are case-insensitive)" "$FM_ERR" "Permission denied"
fm_is "and nothing was created on the backing directory" "$(ls "$data" | grep -c KEY)" 0
fm_like "passthrough above protect saw the failure in its post-op" "$(cat "$log")" \
	'IRP_MJ_CREATE .*payroll.secret status=0xc0000022'
fm_like "protect logged the denial with the PID" "$(cat "$log")" '\[protect\] protect: denied .*payroll.secret to pid [0-9]+'
fm_run stat -c %s "$data/payroll.secret"
fm_is "stat still works (no open)" "$FM_OUT" 11
fm_ok "unload protect" fm_fltmc unload protect
fm_run cat "$data/payroll.secret"
fm_is "after unload the same file is readable" "$FM_OUT" "top secret"

# Security baseline with filters attached: nobody gets no more than on the backing dir.
fm_run runuser -u nobody -- cat "$data/payroll.secret"
fm_is "nobody cannot read a 0600 root file through the volume" "$FM_RC" 1
fm_run runuser -u nobody -- touch "$data/byNobody"
fm_is "nobody cannot create in a 0755 root directory" "$FM_RC" 1
mkdir "$data/open" && chmod 1777 "$data/open"
fm_ok "nobody can create in a world-writable directory" runuser -u nobody -- sh -c "echo mine > '$data/open/n.txt'"
fm_is "and owns what it created (as seen on the backing dir)" "$(stat -c %U "$data/open/n.txt")" nobody
fm_run runuser -u nobody -- rm "$data/sub/n.txt"
fm_is "nobody cannot delete a root file" "$FM_RC" 1

# Unload everything, unmount: the backing directory holds the results.
fm_ok "unload passthrough" fm_fltmc unload passthrough
fm_ok "unload nullfilter" fm_fltmc unload nullfilter
fm_ok "unmount" fm_fltmc unmount "$data"
fm_is "not mounted any more" "$(fm_mounts_under_tmp)" ""
fm_is "backing dir has the new directory" "$(test -d "$data/newdir" && echo yes)" yes
fm_is "and nobody's file" "$(cat "$data/open/n.txt")" mine
fm_is "the moved-then-deleted file is gone, the protected one stays" "$(ls "$data/sub")" "n.txt"
fm_done
