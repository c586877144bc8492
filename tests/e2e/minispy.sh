#!/bin/bash
# e2e: the minispy sample: every operation recorded in the kernel part's ring, read by the tool.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
fm_require_fuse

flt="$FM_BUILD/filters"
spy="$FM_BUILD/filters/minispy"
data="$FM_T/data"
mkdir -p "$data"
trap fm_cleanup EXIT

# spy ARGS: run the tool against this root, bounded to 5 s (it polls until --count is met).
spy() {
	FLTMGR_ROOT="$FM_ROOT" timeout 5 "$spy" "$@"
}

fm_start_daemon || fm_fail "fltmgrd starts"
fm_ok "register minispy" fm_fltmc register minispy "$flt/minispy.so" --altitude 385100
fm_ok "mount over the backing directory" fm_mount "$data"
vol=$(echo "$FM_OUT" | sed -n 's/.* as \(\\Device\\[^ ]*\).*/\1/p')
fm_like "the volume has a device name" "$vol" '^\\Device\\'
fm_ok "load minispy" fm_fltmc load minispy
fm_is "the port's socket exists under the root" \
	"$(test -S "$FM_ROOT/ports/%5CMiniSpyPort" && echo yes)" yes

# A process that creates, writes, closes, opens, reads and closes one file; its pid is kept.
fm_ok "a process does create/write/read/close" bash -c "echo \$\$ >'$FM_T/pid'
	exec 3>'$data/f.txt'; echo hello >&3; exec 3>&-
	exec 4<'$data/f.txt'; read -r x <&4; exec 4<&-"
wpid=$(cat "$FM_T/pid")
name="$vol\\f.txt"
spy --json --path "$name" --count 1000 >"$FM_T/rec.json" 2>"$FM_T/rec.err"
recs=$(cat "$FM_T/rec.json")
fm_like "records come out as JSON lines" "$(head -n1 "$FM_T/rec.json")" '^\{"time":[0-9]+\.[0-9]{3},"pid":'
fm_is "only records for the path asked for" \
	"$(grep -vc "\"name\":\"${name//\\/\\\\\\\\}\"" "$FM_T/rec.json")" 0
fm_like "the create is recorded with the writer's pid, name and success" "$recs" \
	"\"pid\":$wpid,\"process\":\"bash\",\"op\":\"IRP_MJ_CREATE\",\"major\":0,\"minor\":0,\"name\":\"[^\"]*f\\.txt\",\"status\":\"0x00000000\""
fm_like "the write, with its length" "$recs" \
	"\"pid\":$wpid,[^}]*\"op\":\"IRP_MJ_WRITE\",[^}]*\"status\":\"0x00000000\",\"info\":6,\"arg1\":6,"
fm_like "the read" "$recs" "\"pid\":$wpid,[^}]*\"op\":\"IRP_MJ_READ\",[^}]*\"status\":\"0x00000000\",\"info\":6,"
fm_is "two cleanups (one per handle)" \
	"$(grep -c "\"pid\":$wpid,.*\"op\":\"IRP_MJ_CLEANUP\"" "$FM_T/rec.json")" 2
fm_is "two creates" "$(grep -c "\"pid\":$wpid,.*\"op\":\"IRP_MJ_CREATE\"" "$FM_T/rec.json")" 2
# FUSE sends the final release of a file asynchronously: the first handle's cleanup may come
# after the second open or its reads (entries cached by the kernel need no lookup in between);
# "two cleanups" above counts it.
fm_like "in order: create, write, cleanup, create, read(s), cleanup" \
	"$(grep -o '"op":"IRP_MJ_[A-Z_]*"' "$FM_T/rec.json" | sed 's/.*IRP_MJ_\([A-Z_]*\)"/\1/' |
		grep -E '^(CREATE|WRITE|READ|CLEANUP)$' | tr '\n' ' ')" \
	'^CREATE WRITE (CLEANUP )?CREATE (CLEANUP )?(READ )+(CLEANUP )?CLEANUP $'
fm_unlike "no drops for a few operations" "$(cat "$FM_T/rec.err")" 'dropped'

# A failed operation: its status is the failure (cat reads until end of file).
fm_ok "cat reads the file to its end" cat "$data/f.txt"
fm_like "the read at end of file is recorded with STATUS_END_OF_FILE" \
	"$(spy --json --op IRP_MJ_READ --path "$name" --count 2 2>/dev/null)" \
	'"process":"cat","op":"IRP_MJ_READ".*"status":"0xC0000011","info":0,"arg1":[0-9]+,"arg2":6\}'

# --count exits by itself; --pid and --op filter; the text view has one line per record.
cat "$data/f.txt" >/dev/null &
cpid=$!
wait $cpid
out=$(spy --pid "$cpid" --count 2 2>/dev/null)
fm_is "--count 2 prints two lines and exits" "$(echo "$out" | wc -l)" 2
fm_like "the text view: time, pid, process, operation, name, status" "$(echo "$out" | head -n1)" \
	"^[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} +$cpid cat +IRP_MJ_CREATE +.*f\\.txt 0x00000000\$"

# A burst with nobody reading: the ring fills, the rest is dropped and counted, I/O never waits.
start=$(date +%s)
fm_ok "a burst of 3000 opens completes" timeout 60 bash -c \
	"for i in \$(seq 1 3000); do : <'$data/f.txt'; done"
fm_ok "without stalling (under 60 s)" test $(($(date +%s) - start)) -lt 60
drops=$(spy --count 1 2>&1 | sed -n 's/^dropped \([0-9]*\) records$/\1/p')
fm_like "the tool reports the drops" "$drops" '^[1-9][0-9]*$'
fm_ok "I/O still works after the burst" cat "$data/f.txt"

fm_ok "unload minispy" fm_fltmc unload minispy
fm_is "the port's socket is gone after unload" \
	"$(test -e "$FM_ROOT/ports/%5CMiniSpyPort" || echo gone)" gone

fm_done
