#!/bin/bash
# e2e: a pended operation and its process — interrupting the process cancels the operation
# through the filter's cancel-safe queue; teardown hands back what is still pended.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
fm_require_fuse

log="$FM_ROOT/fltmgrd.log"
data="$FM_T/data"
mkdir -p "$data"
echo "payload" >"$data/f.txt"
fm_start_daemon || fm_fail "fltmgrd starts"
fm_ok "mount" fm_mount "$data"
fm_ok "register fx_pendq" fm_fltmc register fx_pendq "$FM_BUILD/tests/fixtures/fx_pendq.so" --altitude 300000
fm_ok "load it" fm_fltmc load fx_pendq

# A read that the filter pends forever: the process waits until a signal ends it.
cat "$data/f.txt" >"$FM_T/out1" 2>&1 &
reader=$!
for i in $(seq 50); do grep -aq 'fx: queued a read' "$log" && break; sleep 0.1; done
fm_like "the read was queued by the filter" "$(cat "$log")" "fx: queued a read of pid $reader"
sleep 0.3
fm_ok "the reader is still waiting" kill -0 "$reader"
kill -TERM "$reader"
for i in $(seq 50); do kill -0 "$reader" 2>/dev/null || break; sleep 0.1; done
fm_run kill -0 "$reader"
fm_is "the interrupted reader is gone" "$FM_RC" 1
wait "$reader" 2>/dev/null
for i in $(seq 30); do grep -aq 'fx: canceled' "$log" && break; sleep 0.1; done
fm_like "its operation was cancelled through the queue" "$(cat "$log")" \
	"fx: canceled a pended read of pid $reader"

# SIGKILL too.
cat "$data/f.txt" >/dev/null 2>&1 &
reader=$!
for i in $(seq 50); do grep -aq "fx: queued a read of pid $reader" "$log" && break; sleep 0.1; done
kill -KILL "$reader"
wait "$reader" 2>/dev/null
for i in $(seq 30); do grep -aq "fx: canceled a pended read of pid $reader" "$log" && break; sleep 0.1; done
fm_like "a killed reader's operation is cancelled too" "$(cat "$log")" \
	"fx: canceled a pended read of pid $reader"

# Teardown: a still-pended read is handed back and completes normally.
cat "$data/f.txt" >"$FM_T/out3" 2>&1 &
reader=$!
for i in $(seq 50); do grep -aq "fx: queued a read of pid $reader" "$log" && break; sleep 0.1; done
fm_ok "unload while a read is pended" fm_fltmc unload fx_pendq
wait "$reader"
fm_is "the pended read completed after teardown" "$?" 0
fm_is "with the file's data" "$(cat "$FM_T/out3")" "payload"
fm_ok "unmount" fm_fltmc unmount "$data"
fm_done
