#!/bin/bash
# e2e: the scanner sample and its user program scanuser, through a communication port.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
fm_require_fuse

flt="$FM_BUILD/filters"
scanuser="$FM_BUILD/filters/scanuser"
log="$FM_ROOT/fltmgrd.log"
data="$FM_T/data"
mkdir -p "$data"
echo "hello, clean file" >"$data/clean.txt"
printf 'prefix EICAR-TEST suffix\n' >"$data/bad.txt"
# The pattern just past the first 64 KiB chunk's end, inside the overlap of the next.
head -c 65530 /dev/zero >"$data/straddle.bin"
printf 'EICAR-TEST' >>"$data/straddle.bin"

SU_PID=
sc_cleanup() {
	local rc=$?
	[ -n "$SU_PID" ] && kill "$SU_PID" 2>/dev/null && wait "$SU_PID" 2>/dev/null
	(exit "$rc")
	fm_cleanup
}
trap sc_cleanup EXIT

# start_scanuser [ARGS]: run scanuser in the background; wait (10 s) until it is connected.
start_scanuser() {
	: >"$FM_T/su.out"
	FLTMGR_ROOT="$FM_ROOT" "$scanuser" "$@" >"$FM_T/su.out" 2>&1 &
	SU_PID=$!
	local i
	for i in $(seq 1 100); do
		grep -q '^scanuser: connected' "$FM_T/su.out" && return 0
		kill -0 "$SU_PID" 2>/dev/null || break
		sleep 0.1
	done
	fm_diag "scanuser did not connect:" "$(cat "$FM_T/su.out")"
	return 1
}

stop_scanuser() {
	[ -n "$SU_PID" ] || return 0
	kill "$SU_PID" 2>/dev/null
	wait "$SU_PID" 2>/dev/null
	SU_PID=
}

# wait_log REGEX: up to 10 s for a line in the daemon log.
wait_log() {
	local i
	for i in $(seq 1 100); do
		grep -Eq -- "$1" "$log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

count_log() {
	grep -E -c -- "$1" "$log" 2>/dev/null || true
}

fm_start_daemon || fm_fail "fltmgrd starts"
fm_ok "register scanner" fm_fltmc register scanner "$flt/scanner.so" --altitude 265000
fm_ok "mount over the backing directory" fm_mount "$data"
fm_ok "load scanner" fm_fltmc load scanner
fm_is "the port's socket exists under the root" \
	"$(test -S "$FM_ROOT/ports/%5CScannerPort" && echo yes)" yes

# No scanner connected: fail open.
fm_ok "without scanuser a clean file opens" cat "$data/clean.txt"
fm_ok "without scanuser an infected file opens too (fail open)" cat "$data/bad.txt"

start_scanuser && fm_pass "scanuser connects" || fm_fail "scanuser connects"
fm_ok "the connection is logged" wait_log "scanner: user-mode scanner connected, pid $SU_PID"
fm_ok "a clean file opens" cat "$data/clean.txt"
fm_is "its contents are intact" "$(cat "$data/clean.txt")" "hello, clean file"
fm_fails "an infected file cannot be opened" cat "$data/bad.txt"
fm_like "with EACCES" "$FM_ERR" "Permission denied"
fm_fails "a pattern straddling two chunks is found" cat "$data/straddle.bin"
fm_like "scanuser saw the clean data" "$(cat "$FM_T/su.out")" 'open offset 0, 18 bytes .*: clean'
fm_like "and the infected data" "$(cat "$FM_T/su.out")" ': infected'
fm_ok "the denial is logged with the opener's pid" \
	wait_log 'scanner: infected file: denied open of .*bad\.txt by pid [0-9]+'

# Written then closed: rescanned at cleanup.
before=$(count_log 'scanner: infected file written: .*late\.txt')
fm_ok "writing a new file is allowed" bash -c "echo 'now EICAR-TEST inside' >'$data/late.txt'"
fm_ok "an infected write is caught at close" \
	wait_log 'scanner: infected file written: .*late\.txt by pid [0-9]+'
fm_is "exactly once" "$(($(count_log 'scanner: infected file written: .*late\.txt') - before))" 1
fm_fails "and the file can no longer be opened" cat "$data/late.txt"
fm_ok "a clean write passes" bash -c "echo fine >'$data/fine.txt' && cat '$data/fine.txt'"
fm_is "no report for it" "$(count_log 'infected file written: .*fine\.txt')" 0

# Concurrency: many opens at once through several outstanding FilterGetMessage calls.
for i in $(seq 1 20); do echo "file $i" >"$data/c$i.txt"; done
fails=0
pids=()
for i in $(seq 1 20); do
	cat "$data/c$i.txt" >/dev/null &
	pids+=($!)
done
for j in "${pids[@]}"; do wait "$j" || fails=$((fails + 1)); done
fm_is "20 concurrent opens of clean files succeed" "$fails" 0

# The scanner goes away: access is allowed again.
stop_scanuser
fm_ok "the disconnect reaches the filter" wait_log 'scanner: user-mode scanner disconnected'
fm_ok "after scanuser exits, an infected file opens (fail open)" cat "$data/bad.txt"

# A second scanner can connect after the first left (MaxConnections 1 counts live ones).
start_scanuser && fm_pass "scanuser connects again" || fm_fail "scanuser connects again"
fm_like "FilterSendMessage: MessageNotify reports the kernel's counters, run as the caller" \
	"$(cat "$FM_T/su.out")" "kernel stats: [1-9][0-9]* files scanned, [1-9][0-9]* infected \\(asked by pid $SU_PID\\)"
fm_fails "and denies again" cat "$data/bad.txt"
last=$SU_PID
stop_scanuser
fm_ok "disconnected again" wait_log "port .ScannerPort: pid $last disconnected"

# FailClosed=1: no verdict means no access.
fm_ok "set FailClosed" fm_fltmc set scanner FailClosed dword 1
fm_ok "unload scanner" fm_fltmc unload scanner
fm_is "the port's socket is gone after unload" \
	"$(test -e "$FM_ROOT/ports/%5CScannerPort" || echo gone)" gone
fm_ok "load scanner with FailClosed" fm_fltmc load scanner
fm_fails "FailClosed and no scanner: even a clean file is denied" cat "$data/clean.txt"
start_scanuser && fm_pass "scanuser connects" || fm_fail "scanuser connects"
fm_ok "with a scanner, the clean file opens" cat "$data/clean.txt"

# Unloading the filter with scanuser connected: scanuser sees the port close and exits.
fm_ok "unload scanner while scanuser is connected" fm_fltmc unload scanner
exited=no
for i in $(seq 1 100); do
	kill -0 "$SU_PID" 2>/dev/null || { exited=yes; break; }
	sleep 0.1
done
fm_is "scanuser exits when the filter unloads" "$exited" yes
wait "$SU_PID" 2>/dev/null
SU_PID=
fm_like "it saw the port close" "$(cat "$FM_T/su.out")" 'port closed, exiting'
fm_ok "after unload, the infected file opens (no filter)" cat "$data/bad.txt"

fm_done
