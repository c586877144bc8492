#!/bin/bash
# e2e: fltmc mount / volumes / unmount, and nothing left mounted once the daemon stops.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
fm_require_fuse

fm_start_daemon || fm_fail "fltmgrd starts"

in_mounts() {
	awk -v m="$1" '$2 == m { found = 1 } END { exit !found }' /proc/mounts
}

fm_run fm_fltmc mount "$FM_T/missing"
fm_is "mount of a missing dir exits 1" "$FM_RC" 1
fm_like "with a clear message" "$FM_ERR" "$FM_T/missing.*No such file or directory"

back=$FM_T/back
mkdir -p "$back/sub"
echo "backing data" >"$back/f.txt"
fm_ok "mount over the backing dir" fm_fltmc mount "$back"
fm_like "reports the device name" "$FM_OUT" "as \\\\Device\\\\HarddiskVolume[0-9]+$"
fm_ok "the mount is in /proc/mounts" in_mounts "$back"
fm_is "a process reads through the volume" "$(cat "$back/f.txt" 2>&1)" "backing data"

fm_run fm_fltmc mount "$back"
fm_is "mounting twice on the same point exits 1" "$FM_RC" 1
fm_like "with a clear message" "$FM_ERR" "already mounted"

fm_ok "fltmc volumes" fm_fltmc volumes
fm_like "lists the volume with its device and NTFS" "$FM_OUT" \
	"^$back +\\\\Device\\\\HarddiskVolume[0-9]+ +NTFS +$back \\([a-z0-9]+\\) +auto, passthrough"
exec 9<"$back/f.txt"
fm_ok "volumes with a file open" fm_fltmc volumes
fm_like "no filter: kernel passthrough engaged for it (or unavailable here)" "$FM_OUT" \
	"^$back .*auto, passthrough (on \\(1 open\\)|unavailable) +/dev/fuse$"
exec 9<&-
dev1=$(printf '%s\n' "$FM_OUT" | awk -v b="$back" '$1 == b { print $2 }')

# A second volume at a separate mount point, reported as FAT, unmounted by device name.
back2=$FM_T/back2
mp2=$FM_T/mp2
mkdir -p "$back2" "$mp2"
echo two >"$back2/two.txt"
fm_run fm_fltmc mount "$back2" "$mp2" --cache sometimes
fm_is "an unknown cache policy exits 1" "$FM_RC" 1
fm_like "with a clear message" "$FM_ERR" "cache=auto, cache=cached or cache=direct"
fm_ok "mount at a separate mount point" fm_fltmc mount "$back2" "$mp2" --fs-type FAT --cache direct
fm_is "its files show at the mount point" "$(cat "$mp2/two.txt" 2>&1)" two
fm_ok "volumes" fm_fltmc volumes
fm_like "lists the second volume as FAT" "$FM_OUT" "^$mp2 +\\\\Device\\\\HarddiskVolume[0-9]+ +FAT +$back2 "
fm_like "with the direct cache policy" "$FM_OUT" "^$mp2 .* direct +/dev/fuse$"
dev2=$(printf '%s\n' "$FM_OUT" | awk -v m="$mp2" '$1 == m { print $2 }')
fm_ok "the two volumes have different device names" test -n "$dev2" -a "$dev1" != "$dev2"
fm_ok "unmount by device name" fm_fltmc unmount "$dev2"
fm_run in_mounts "$mp2"
fm_is "it is gone from /proc/mounts" "$FM_RC" 1

fm_run fm_fltmc unmount "$FM_T/nothing-here"
fm_is "unmount of something not mounted exits 1" "$FM_RC" 1

fm_ok "unmount by mount point" fm_fltmc unmount "$back"
fm_run in_mounts "$back"
fm_is "gone from /proc/mounts" "$FM_RC" 1
fm_ok "volumes after unmount" fm_fltmc volumes
fm_unlike "no longer lists it" "$FM_OUT" "^$back "
fm_is "backing data intact" "$(cat "$back/f.txt")" "backing data"

# Leave two volumes mounted and stop the daemon: it unmounts them.
fm_ok "mount again" fm_fltmc mount "$back"
fm_ok "and a second one" fm_fltmc mount "$back2" "$mp2"
fm_ok "unmount by backing directory" fm_fltmc unmount "$back2"
fm_ok "mount it once more" fm_fltmc mount "$back2" "$mp2"

# A real minifilter attaches to the mounted volumes and shows in instances (when built).
fx=$FM_BUILD/tests/fixtures/fx_seed.so
if [ -f "$fx" ]; then
	fm_ok "register the seed fixture" fm_fltmc register fxseed "$fx" --altitude 385100
	fm_ok "load it" fm_fltmc load fxseed
	fm_ok "instances -v <mount point>" fm_fltmc instances -v "$back"
	fm_like "lists its instance on that volume" "$FM_OUT" \
		"^fxseed +$back +385100 +fxseed Instance +0$"
	fm_unlike "and not the other volume" "$FM_OUT" "$mp2"
	fm_ok "instances -f fxseed" fm_fltmc instances -f fxseed
	fm_is "one row per volume" "$(printf '%s\n' "$FM_OUT" | grep -c '^fxseed ')" 2
	fm_ok "filters" fm_fltmc filters
	fm_like "shows two instances" "$FM_OUT" "^fxseed +2 +385100 +0$"
	fm_is "files still readable with the filter attached" "$(cat "$back/f.txt" 2>&1)" \
		"backing data"
else
	fm_skip "a minifilter attaches to the volumes" "fixture $fx not built"
fi

# Stop with volumes mounted (and the filter loaded): everything is torn down.
fm_stop_daemon
fm_is "daemon exits 0 on SIGTERM with volumes mounted" "$FM_DSTATUS" 0
fm_is "nothing left in /proc/mounts under the test dir" "$(fm_mounts_under_tmp)" ""
fm_is "backing data still intact" "$(cat "$back/f.txt")" "backing data"
fm_done
