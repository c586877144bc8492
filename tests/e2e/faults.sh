#!/bin/bash
# e2e: the backing store fails under a volume: full (a small tmpfs: STATUS_DISK_FULL to filters,
# ENOSPC to the process, nothing else damaged), its directory removed, or its file system
# unmounted: clear errors, and fltmgrd keeps serving.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
fm_require_fuse

xorview=$FM_BUILD/tests/fsx/xorview
log=$FM_ROOT/fltmgrd.log
small=$FM_T/small
smnt=$FM_T/smnt
mkdir -p "$small" "$smnt"
tmpfs_ok=1
mount -t tmpfs -o size=1m,mode=0755 fmtest "$small" 2>/dev/null || tmpfs_ok=0

fm_start_daemon || fm_fail "fltmgrd starts"
fm_ok "register the recorder fixture" \
	fm_fltmc register recorder "$FM_BUILD/tests/fixtures/recorder.so" --altitude 300000
fm_ok "register xorcrypt" fm_fltmc register xorcrypt "$FM_BUILD/filters/xorcrypt.so" --altitude 141000

# ---- Backing store full ----------------------------------------------------------------------
if [ "$tmpfs_ok" = 1 ]; then
	fm_ok "mount a volume over a 1 MiB tmpfs" fm_mount "$small" "$smnt"
	fm_ok "load the recorder" fm_fltmc load recorder
	fm_ok "load xorcrypt" fm_fltmc load xorcrypt
	head -c 5000 /dev/urandom >"$FM_T/keep.src"
	head -c 3000000 /dev/urandom >"$FM_T/big.src"
	fm_ok "a small file is written and synced" \
		dd if="$FM_T/keep.src" of="$smnt/keep" conv=fsync status=none
	fm_run dd if="$FM_T/big.src" of="$smnt/big" bs=65536 conv=fsync status=none
	fm_is "writing 3 MB fails" "$FM_RC" 1
	fm_like "with ENOSPC" "$FM_ERR" "No space left on device"
	fm_like "a filter saw STATUS_DISK_FULL on the write" "$(cat "$log")" \
		'rec: post IRP_MJ_WRITE status=0xc000007f .*file=\\big'
	fm_is "the small file reads back intact through the volume" \
		"$(cmp "$smnt/keep" "$FM_T/keep.src" && echo same)" same
	fm_is "and is intact on the backing store" \
		"$("$xorview" "$small/keep" | cmp - "$FM_T/keep.src" && echo same)" same
	n=$(stat -c %s "$small/big")
	fm_is "what reached the backing store of the big file is what was written ($n bytes)" \
		"$("$xorview" "$small/big" | cmp - <(head -c "$n" "$FM_T/big.src") && echo same)" same
	fm_ok "removing the big file frees the space" rm "$smnt/big"
	fm_ok "and writing works again" \
		dd if="$FM_T/keep.src" of="$smnt/again" conv=fsync status=none
	fm_is "correctly" "$(cmp "$smnt/again" "$FM_T/keep.src" && echo same)" same
	fm_ok "unload the recorder" fm_fltmc unload recorder
	fm_ok "unload xorcrypt" fm_fltmc unload xorcrypt
	fm_ok "unmount" fm_fltmc unmount "$smnt"
else
	fm_skip "backing store full" "cannot mount a tmpfs here"
fi

# ---- Backing directory removed under the volume -----------------------------------------------
gone=$FM_T/gone
gmnt=$FM_T/gmnt
mkdir -p "$gone/sub" "$gmnt"
echo "data" >"$gone/sub/f"
fm_ok "mount a volume on its own mount point" fm_mount "$gone" "$gmnt"
fm_is "it shows the backing files" "$(cat "$gmnt/sub/f" 2>&1)" "data"
fm_ok "the backing directory is removed from under it" rm -rf "$gone"
fm_run cat "$gmnt/sub/f"
fm_like "reading a file that went with it: a clear error" "$FM_ERR" "No such file or directory"
fm_run bash -c "echo x >'$gmnt/new'"
fm_like "creating a file: a clear error" "$FM_ERR" "No such file or directory"
fm_run ls "$gmnt"
fm_is "listing the root: empty, no error" "$FM_RC/$FM_OUT" "0/"
fm_ok "fltmgrd still answers" fm_fltmc ping
fm_ok "the volume unmounts" fm_fltmc unmount "$gmnt"

# ---- Backing file system unmounted under the volume ---------------------------------------------
tm=$FM_T/tm
tmnt=$FM_T/tmnt
mkdir -p "$tm" "$tmnt"
if mount -t tmpfs -o size=1m,mode=0755 fmtest2 "$tm" 2>/dev/null; then
	echo "on tmpfs" >"$tm/f"
	fm_ok "mount a volume over a tmpfs" fm_mount "$tm" "$tmnt"
	fm_is "it shows the file" "$(cat "$tmnt/f" 2>&1)" "on tmpfs"
	fm_run umount "$tm"
	fm_like "the backing file system cannot simply be unmounted under the volume" "$FM_ERR" \
		"busy"
	fm_ok "a lazy unmount detaches it" umount -l "$tm"
	fm_is "the volume keeps the file system it opened (as an open descriptor does)" \
		"$(cat "$tmnt/f" 2>&1)" "on tmpfs"
	fm_ok "writes still go to it" bash -c "echo more >>'$tmnt/f'"
	fm_ok "fltmgrd still answers" fm_fltmc ping
	fm_ok "the volume unmounts" fm_fltmc unmount "$tmnt"
else
	fm_skip "backing file system unmounted" "cannot mount a tmpfs here"
fi

fm_stop_daemon
fm_is "clean stop" "$FM_DSTATUS" 0
[ "$tmpfs_ok" = 1 ] && umount "$small"
fm_is "nothing left mounted" "$(fm_mounts_under_tmp)" ""
fm_done
