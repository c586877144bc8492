#!/bin/bash
# e2e: the ctxdemo sample's contexts on real processes' opens: one stream context per file
# shared by its handles, one stream-handle context per open, the instance context at unload.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
fm_require_fuse

flt="$FM_BUILD/filters"
log="$FM_ROOT/fltmgrd.log"
data="$FM_T/data"
mkdir -p "$data"
chmod 0755 "$FM_T" "$data"
echo "shared line" >"$data/shared.txt"

# wait_log REGEX [SECONDS]: poll the daemon's log until a line matches (default 10 s).
wait_log() {
	local i
	for i in $(seq 1 $((${2:-10} * 10))); do
		grep -Eq -- "$1" "$log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# Make the kernel forget inodes nobody uses: FUSE then sends FORGET, and the lower file
# system frees the stream, which ends its stream contexts.  Nothing is written anywhere.
forget_inodes() {
	sync
	echo 2 >/proc/sys/vm/drop_caches
}

fm_start_daemon || fm_fail "fltmgrd starts"
fm_ok "register ctxdemo" fm_fltmc register ctxdemo "$flt/ctxdemo.so" --altitude 365000
fm_ok "mount over the backing directory" fm_mount "$data"
fm_ok "load ctxdemo" fm_fltmc load ctxdemo
fm_run fm_fltmc volumes
vol=$(echo "$FM_OUT" | awk -v d="$data" '$1 == d { print $2 }')
vre=${vol//\\/\\\\}
fm_like "instance context created for the volume" "$(cat "$log")" \
	"\\[ctxdemo\\] ctxdemo: instance context for $vre created"

# Process A opens the file and keeps it open; process B opens, reads and closes it.
mkfifo "$FM_T/go"
(
	exec 3<"$data/shared.txt"
	read -r _ <&3
	read -r _ <"$FM_T/go"
) &
apid=$!
wait_log "stream-handle context #[0-9]+ \\(pid $apid\\) for .*shared.txt, open 1 of the stream" ||
	fm_diag "process A's open did not show up"
bpid=$(bash -c 'echo $$; exec cat "$0" >/dev/null' "$data/shared.txt")
wait_log "stream-handle context #[0-9]+ \\(pid $bpid\\) for .*shared.txt cleaned up" ||
	fm_diag "process B's handle context was not cleaned up"
text=$(cat "$log")
fm_is "one stream context created for the file" \
	"$(grep -c 'ctxdemo: stream context for .*shared.txt created' "$log")" 1
fm_like "A's open: its own stream-handle context, first open of the stream" "$text" \
	"stream-handle context #[0-9]+ \\(pid $apid\\) for $vre\\\\shared.txt, open 1 of the stream"
fm_like "B's open: another stream-handle context on the same stream context, second open" \
	"$text" "stream-handle context #[0-9]+ \\(pid $bpid\\) for $vre\\\\shared.txt, open 2 of the stream"
fm_is "two stream-handle contexts for the file" \
	"$(grep -c 'stream-handle context #[0-9]* (pid [0-9]*) for .*shared.txt, open' "$log")" 2
fm_like "B's stream-handle context cleaned up when B closed" "$text" \
	"stream-handle context #[0-9]+ \\(pid $bpid\\) for .*shared.txt cleaned up"
fm_unlike "A's still open" "$text" \
	"stream-handle context #[0-9]+ \\(pid $apid\\) for .*shared.txt cleaned up"
forget_inodes
sleep 0.5
fm_is "the stream context outlives B's close while A has the file open" \
	"$(grep -c 'stream context for .*shared.txt cleaned up' "$log")" 0

echo >"$FM_T/go"
wait "$apid"
wait_log "stream-handle context #[0-9]+ \\(pid $apid\\) for .*shared.txt cleaned up" ||
	fm_diag "process A's handle context was not cleaned up"
fm_like "A's stream-handle context cleaned up when A closed" "$(cat "$log")" \
	"stream-handle context #[0-9]+ \\(pid $apid\\) for .*shared.txt cleaned up"
forget_inodes
wait_log "stream context for .*shared.txt cleaned up" || fm_diag "no stream context cleanup"
text=$(cat "$log")
fm_like "the shared stream context is cleaned up after the last close: 2 opens, reads counted" \
	"$text" "ctxdemo: stream context for $vre\\\\shared.txt cleaned up after 2 opens, [1-9][0-9]* reads, 0 writes"
fm_is "exactly once" "$(grep -c 'stream context for .*shared.txt cleaned up' "$log")" 1
last_handle=$(grep -n "stream-handle context #[0-9]* (pid $apid) for .*shared.txt cleaned up" "$log" |
	tail -1 | cut -d: -f1)
stream_line=$(grep -n 'stream context for .*shared.txt cleaned up' "$log" | cut -d: -f1)
fm_is "and after the last handle's cleanup" "$([ "${stream_line:-0}" -gt "${last_handle:-0}" ] &&
	echo after)" after

# Writes are counted on the stream too.
echo "written" >"$data/w.txt"
forget_inodes
wait_log "stream context for .*w.txt cleaned up" || fm_diag "no stream context cleanup for w.txt"
fm_like "a written file's stream context counts its writes" "$(cat "$log")" \
	"stream context for $vre\\\\w.txt cleaned up after 1 opens, 0 reads, [1-9][0-9]* writes"

# A file still open at unload: its contexts go with the instance.
mkfifo "$FM_T/go2"
(
	exec 3<"$data/shared.txt"
	read -r _ <"$FM_T/go2"
) &
cpid=$!
wait_log "stream-handle context #[0-9]+ \\(pid $cpid\\) for .*shared.txt, open 1" ||
	fm_diag "process C's open did not show up"
fm_ok "unload ctxdemo with a file open" fm_fltmc unload ctxdemo
text=$(cat "$log")
fm_like "C's stream-handle context cleaned up at unload" "$text" \
	"stream-handle context #[0-9]+ \\(pid $cpid\\) for .*shared.txt cleaned up"
fm_is "the open file's stream context cleaned up at unload, once" \
	"$(grep -c 'stream context for .*shared.txt cleaned up after 1 opens' "$log")" 1
fm_like "instance context cleaned up at unload" "$text" \
	"\\[ctxdemo\\] ctxdemo: instance context for $vre cleaned up \\([0-9]+ stream contexts made\\)"
fm_is "instance context cleaned up once" \
	"$(grep -c 'ctxdemo: instance context for .* cleaned up' "$log")" 1
fm_unlike "no leaked context reported" "$text" "context.* leaked"
echo >"$FM_T/go2"
wait "$cpid"
fm_is "C read the file through the volume" "$(cat "$data/shared.txt")" "shared line"
fm_ok "unmount" fm_fltmc unmount "$data"
fm_done
