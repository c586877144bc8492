#!/bin/bash
# e2e: the deletewatch sample reports each deletion by a real process exactly once.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
fm_require_fuse

flt="$FM_BUILD/filters"
log="$FM_ROOT/fltmgrd.log"
data="$FM_T/data"
mkdir -p "$data/dir"
echo one >"$data/one.txt"
echo src >"$data/src.txt"
echo dst >"$data/dst.txt"
echo held >"$data/held.txt"
echo linked >"$data/a.txt"

fm_start_daemon || fm_fail "fltmgrd starts"
fm_ok "register deletewatch" fm_fltmc register deletewatch "$flt/deletewatch.so" --altitude 385100
fm_ok "mount over the backing directory" fm_mount "$data"
fm_ok "load deletewatch" fm_fltmc load deletewatch
fm_run fm_fltmc volumes
vol=$(echo "$FM_OUT" | awk -v d="$data" '$1 == d { print $2 }')
fm_like "the volume has an NT device name" "$vol" '^\\Device\\HarddiskVolume[0-9]+$'
vre=${vol//\\/\\\\}

# count REGEX: how many deletewatch lines in the log match.
count() {
	grep -E -c -- "deletewatch: deleted $1" "$log" 2>/dev/null || true
}

# Reads, writes and renames without replacement delete nothing.
cat "$data/one.txt" >/dev/null
echo more >>"$data/one.txt"
mv "$data/one.txt" "$data/uno.txt"
fm_is "no report for reads, writes and a plain rename" "$(count '.*')" 0

# rm: reported once, with the caller's PID and the normalized name.
pid=$(bash -c 'echo $$; exec rm "$0"' "$data/uno.txt")
fm_is "rm is reported once" "$(count "$vre\\\\uno\\.txt by pid $pid\$")" 1
fm_is "the file is gone from the backing directory" "$(test -e "$data/uno.txt" || echo gone)" gone

# rmdir
pid=$(bash -c 'echo $$; exec rmdir "$0"' "$data/dir")
fm_is "rmdir is reported once" "$(count "$vre\\\\dir by pid $pid\$")" 1

# mv over an existing file: the replaced file is deleted, the moved one is not.
pid=$(bash -c 'echo $$; exec mv "$0" "$1"' "$data/src.txt" "$data/dst.txt")
fm_is "the replaced file is reported once" "$(count "$vre\\\\dst\\.txt by pid $pid\$")" 1
fm_is "the renamed source is not reported" "$(count ".*src\\.txt")" 0
fm_is "dst holds the moved content" "$(cat "$data/dst.txt")" src

# Unlinking one of two hard links deletes no file; removing the last one does.
ln "$data/a.txt" "$data/b.txt"
rm "$data/a.txt"
fm_is "removing one of two links is not a deletion" "$(count ".*[ab]\\.txt")" 0
pid=$(bash -c 'echo $$; exec rm "$0"' "$data/b.txt")
fm_is "removing the last link is" "$(count "$vre\\\\b\\.txt by pid $pid\$")" 1

# A file unlinked while another process holds it open: reported when that process closes it.
go="$FM_T/go"
bash -c 'exec 3<"$0"; while [ ! -e "$1" ]; do sleep 0.05; done; cat <&3 >/dev/null' \
	"$data/held.txt" "$go" &
holder=$!
for _ in $(seq 1 100); do
	[ -e "/proc/$holder/fd/3" ] && break
	sleep 0.05
done
pid=$(bash -c 'echo $$; exec rm "$0"' "$data/held.txt")
sleep 0.3
fm_is "not reported while another process holds it open" "$(count ".*held\\.txt")" 0
fm_is "the name is gone already" "$(test -e "$data/held.txt" || echo gone)" gone
touch "$go"
wait "$holder"
for _ in $(seq 1 50); do
	[ "$(count ".*held\\.txt")" -ge 1 ] && break
	sleep 0.1
done
fm_is "reported once when the holder closes it, with the unlinker's PID" \
	"$(count "$vre\\\\held\\.txt by pid $pid\$")" 1

# Nothing was reported twice, and the sample unloads cleanly.
sleep 0.2
fm_is "exactly five deletions in all" "$(count '.*')" 5
fm_ok "unload deletewatch" fm_fltmc unload deletewatch
fm_ok "unmount" fm_fltmc unmount "$data"
fm_is "not mounted any more" "$(fm_mounts_under_tmp)" ""
fm_done
