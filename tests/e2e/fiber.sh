#!/bin/bash
# e2e: pended operations cost no thread.  A filter pends 2,000 opens and unlinks from 8
# processes of 250 threads; the daemon's thread count stays small while they all wait; the
# filter's own thread completes them later (holding its own lock); every process sees the right
# outcome.  An interrupted process's pended open is still cancelled.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
fm_require_fuse

NPROC=${FIBER_NPROC:-8}
NTHREADS=${FIBER_NTHREADS:-250}
total=$((NPROC * NTHREADS))
log="$FM_ROOT/fltmgrd.log"
data="$FM_T/data"
mkdir -p "$data"
# One directory per operation: Linux keeps a directory locked while an unlink in it waits.
mkdir $(for i in $(seq 0 $((total - 1))); do echo "$data/d$i"; done)
for i in $(seq 0 $((total - 1))); do echo payload >"$data/d$i/held$i"; done
echo go >"$data/release-now"
echo plain >"$data/plain"

fm_start_daemon || fm_fail "fltmgrd starts"
fm_ok "mount" fm_mount "$data"
fm_ok "register fx_hold" fm_fltmc register fx_hold "$FM_BUILD/tests/fixtures/fx_hold.so" --altitude 300000
fm_ok "load it" fm_fltmc load fx_hold

t0=$(date +%s%N)
"$FM_BUILD/tests/e2e/manyops" "$data" "$NPROC" "$NTHREADS" >"$FM_T/manyops.out" 2>&1 &
ops=$!
for i in $(seq 1200); do grep -aq "hold: held $total\$" "$log" && break; sleep 0.1; done
fm_diag "pended in $((($(date +%s%N) - t0) / 1000000)) ms"
# (Concurrent callbacks print their counts in any order: count the lines.)
fm_is "all $total operations are pended by the filter" "$(grep -ac 'hold: held' "$log")" "$total"
threads=$(awk '/^Threads:/ { print $2 }' "/proc/$FM_DPID/status")
fm_diag "fltmgrd has $threads threads with $total operations pended"
fm_run test "$threads" -lt 64
fm_is "the daemon has fewer than 64 threads (has $threads)" "$FM_RC" 0
fm_is "the volume still serves other requests meanwhile" "$(timeout 10 cat "$data/plain")" "plain"
fm_ok "the waiting processes are still there" kill -0 "$ops"

# The filter's thread completes them half a second after this open, under its own lock.
start=$(date +%s%N)
fm_ok "an open that releases them" timeout 10 cat "$data/release-now"
fm_ok "every operation completes" timeout 120 tail --pid="$ops" -f /dev/null
kill -KILL "$ops" 2>/dev/null
wait "$ops"
rc=$?
fm_is "every process saw the right outcome" "$(tail -1 "$FM_T/manyops.out")" "ok=$total bad=0"
fm_is "manyops exit status" "$rc" 0
[ "$rc" = 0 ] || fm_diag "$(head -20 "$FM_T/manyops.out")"
fm_diag "completed in $((($(date +%s%N) - start) / 1000000)) ms after the release"
fm_like "the filter completed all of them from its thread" "$(cat "$log")" "hold: released $total"
fm_is "unlinked files are gone, read ones are there" \
	"$(ls "$data"/d*/ | grep -c '^held')" "$((total - total / 2))"
threads=$(awk '/^Threads:/ { print $2 }' "/proc/$FM_DPID/status")
fm_diag "fltmgrd has $threads threads afterwards"

# An interrupted process: its pended open is cancelled through the queue.
cat "$data/d0/held0" >/dev/null 2>&1 &
reader=$!
for i in $(seq 100); do grep -aq "hold: held $((total + 1))\$" "$log" && break; sleep 0.1; done
kill -KILL "$reader"
wait "$reader" 2>/dev/null
for i in $(seq 50); do grep -aq "hold: canceled an open of pid $reader" "$log" && break; sleep 0.1; done
fm_like "a killed process's pended open is cancelled" "$(cat "$log")" \
	"hold: canceled an open of pid $reader"

# Teardown hands back what is pended: the open then completes normally.
cat "$data/d2/held2" >"$FM_T/out" 2>&1 &
reader=$!
for i in $(seq 100); do grep -aq "hold: held $((total + 2))\$" "$log" && break; sleep 0.1; done
fm_ok "unload while an open is pended" fm_fltmc unload fx_hold
wait "$reader"
fm_is "the pended open completed after teardown" "$?" 0
fm_is "with the file's data" "$(cat "$FM_T/out")" "payload"
fm_ok "unmount" fm_fltmc unmount "$data"
fm_done
