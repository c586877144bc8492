#!/bin/bash
# e2e: communication ports: security by peer uid, MaxConnections, hostile clients, send statuses.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
fm_require_fuse
command -v python3 >/dev/null || fm_skip_all "needs python3 for the raw protocol client"

flt="$FM_BUILD/filters"
scanuser="$FM_BUILD/filters/scanuser"
log="$FM_ROOT/fltmgrd.log"
data="$FM_T/data"
sock="$FM_ROOT/ports/%5CScannerPort"
mkdir -p "$data"
echo "clean" >"$data/clean.txt"
printf 'EICAR-TEST\n' >"$data/bad.txt"
# nobody must reach the port socket: the test's directories are 0700 by default.
chmod 755 "$FM_T"

# A raw client speaking the wire protocol (src/lib/portwire.h) to misbehave on purpose.
cat >"$FM_T/pw.py" <<'PY'
import os, socket, struct, sys, time
HDR = struct.Struct('<IHHIIQII')
MAGIC = 0x504d4646
def hdr(t, ln=0, seq=0, mid=0, arg=0):
    return HDR.pack(MAGIC, t, 0, ln, seq, mid, arg, 0)
def recv_all(s, n):
    b = b''
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b
def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s
def handshake(s):
    s.sendall(hdr(1, seq=1))
    h = HDR.unpack(recv_all(s, 32))
    return h[6]
mode, path = sys.argv[1], sys.argv[2]
s = connect(path)
s.settimeout(30)  # never outlive the test
if mode == 'garbage':
    s.sendall(os.urandom(200)); time.sleep(0.2)
elif mode == 'truncated':
    s.sendall(hdr(1)[:10]); time.sleep(0.2)
elif mode == 'bigcontext':
    s.sendall(hdr(1, ln=0x10000, seq=1) + b'x' * 16)
    try:
        print('ack' if s.recv(32) else 'closed')
    except ConnectionResetError:
        print('closed')
elif mode == 'oversized':
    print('connect 0x%08X' % handshake(s)); sys.stdout.flush()
    s.sendall(hdr(2, ln=(4 << 20) + 1))
    print('closed' if s.recv(32) == b'' else 'open')
elif mode == 'badtype':
    print('connect 0x%08X' % handshake(s)); sys.stdout.flush()
    s.sendall(hdr(0x7f))
    print('closed' if s.recv(32) == b'' else 'open')
elif mode == 'send':
    print('connect 0x%08X' % handshake(s))
    s.sendall(hdr(3, ln=4, seq=7, arg=16) + b'ping')
    h = HDR.unpack(recv_all(s, 32))
    print('send_ack seq %d 0x%08X' % (h[4], h[6]))
elif mode == 'midmessage':
    # Take one message, read half of it, and vanish.
    print('connect 0x%08X' % handshake(s)); sys.stdout.flush()
    s.sendall(hdr(2))
    print('ready'); sys.stdout.flush()
    h = HDR.unpack(recv_all(s, 32))
    recv_all(s, max(1, h[3] // 2))
    print('got half of message %d' % h[5]); sys.stdout.flush()
elif mode == 'noreply':
    # Take one message, never answer in time, then answer late.
    print('connect 0x%08X' % handshake(s)); sys.stdout.flush()
    s.sendall(hdr(2))
    print('ready'); sys.stdout.flush()
    h = HDR.unpack(recv_all(s, 32))
    recv_all(s, h[3])
    print('got message %d' % h[5]); sys.stdout.flush()
    time.sleep(float(sys.argv[3]))
    s.sendall(hdr(4, ln=1, seq=9, mid=h[5]) + b'\x00')
    a = HDR.unpack(recv_all(s, 32))
    print('late reply_ack 0x%08X' % a[6])
elif mode == 'idle':
    time.sleep(float(sys.argv[3]))
s.close()
PY
pw() {
	python3 "$FM_T/pw.py" "$@"
}

BG=()
ports_cleanup() {
	local rc=$? p
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${BG[@]}"; do wait "$p" 2>/dev/null; done
	(exit "$rc")
	fm_cleanup
}
trap ports_cleanup EXIT

# su_start NAME [USER]: run scanuser (as USER) in the background; waits up to 10 s for it to
# connect or fail.  Sets SU_PID and SU_LINE (its first line of output).
su_start() {
	local out="$FM_T/su.$1.out" user=${2:-} i
	: >"$out"
	if [ -n "$user" ]; then
		FLTMGR_ROOT="$FM_ROOT" runuser -u "$user" -- "$scanuser" >"$out" 2>&1 &
	else
		FLTMGR_ROOT="$FM_ROOT" "$scanuser" >"$out" 2>&1 &
	fi
	BG+=($!)
	SU_PID=$!
	for i in $(seq 1 100); do
		grep -q 'connected\|cannot connect' "$out" && break
		kill -0 "$SU_PID" 2>/dev/null || break
		sleep 0.1
	done
	SU_LINE=$(head -1 "$out")
}

# wait_ready FILE: up to 10 s for a raw client to have posted its GET.
wait_ready() {
	local i
	for i in $(seq 1 100); do
		grep -q '^ready' "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

wait_log() {
	local i
	for i in $(seq 1 150); do
		grep -Eq -- "$1" "$log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

fm_start_daemon || fm_fail "fltmgrd starts"
fm_ok "register scanner" fm_fltmc register scanner "$flt/scanner.so" --altitude 265000
fm_ok "mount over the backing directory" fm_mount "$data"
fm_ok "load scanner" fm_fltmc load scanner
chmod 755 "$FM_ROOT"
fm_is "the socket accepts connections from any uid at the file level" \
	"$(stat -c %a "$sock")" 666

# --- Security: FltBuildDefaultSecurityDescriptor = root only.
su_start nobody1 nobody
fm_like "nobody is refused with E_ACCESSDENIED" "$SU_LINE" \
	'cannot connect to the scanner port: 0x80070005'
fm_ok "the refusal is logged with the uid" wait_log 'port .ScannerPort: refused pid [0-9]+ uid 65534 \(0xC0000022\)'
su_start root1
fm_like "root connects" "$SU_LINE" '^scanuser: connected'
root1=$SU_PID
# --- MaxConnections = 1.
su_start root2
fm_like "a second client is refused: ERROR_CONNECTION_COUNT_LIMIT" "$SU_LINE" \
	'cannot connect to the scanner port: 0x800704D6'
fm_fails "the first one still scans" cat "$data/bad.txt"
kill "$root1"
fm_ok "its exit disconnects it" wait_log "port .ScannerPort: pid $root1 disconnected"
su_start root3
fm_like "then a new client fits" "$SU_LINE" '^scanuser: connected'
kill "$SU_PID"
fm_ok "which leaves too" wait_log "port .ScannerPort: pid $SU_PID disconnected"

# --- A NULL DACL opens the port to everyone.
fm_ok "unload" fm_fltmc unload scanner
fm_ok "set PortEveryone" fm_fltmc set scanner PortEveryone dword 1
fm_ok "load with a NULL DACL" fm_fltmc load scanner
su_start nobody2 nobody
fm_like "nobody connects now" "$SU_LINE" '^scanuser: connected'
fm_fails "and its verdicts count" cat "$data/bad.txt"
ndisc=$(grep -c 'port .ScannerPort: pid [0-9]* disconnected' "$log")
kill "$SU_PID" # runuser passes the signal on to scanuser
more_disconnects() {
	local i
	for i in $(seq 1 100); do
		[ "$(grep -c 'port .ScannerPort: pid [0-9]* disconnected' "$log")" -gt "$ndisc" ] &&
			return 0
		sleep 0.1
	done
	return 1
}
fm_ok "nobody's scanuser disconnects" more_disconnects

# --- Hostile clients cost their own connection only.
fm_ok "garbage instead of a connect request" pw garbage "$sock"
fm_ok "a truncated header" pw truncated "$sock"
fm_run pw bigcontext "$sock"
fm_is "a connection context over 64 KiB is refused" "$FM_OUT" closed
fm_run pw oversized "$sock"
fm_is "an oversized frame closes that connection" "$FM_OUT" "connect 0x00000000
closed"
fm_ok "and is logged as malformed" wait_log 'port .ScannerPort: malformed frame from pid'
fm_run pw badtype "$sock"
fm_is "an unknown frame type closes that connection" "$FM_OUT" "connect 0x00000000
closed"
fm_run pw send "$sock"
fm_is "FilterSendMessage with a command MessageNotify rejects: STATUS_INVALID_PARAMETER" \
	"$FM_OUT" "connect 0x00000000
send_ack seq 7 0xC000000D"
pw idle "$sock" 3 &
BG+=($!)
sleep 0.2
su_start root4
fm_like "an idle half-open client does not block accept" "$SU_LINE" '^scanuser: connected'
fm_fails "and the daemon still serves: denied" cat "$data/bad.txt"
fm_ok "clean files open" cat "$data/clean.txt"
kill "$SU_PID"
fm_ok "scanuser gone" wait_log "port .ScannerPort: pid $SU_PID disconnected"

# --- A client that disconnects in the middle of a message: the sender gets
# STATUS_PORT_DISCONNECTED (scanner then fails open).
pw midmessage "$sock" >"$FM_T/mid.out" 2>&1 &
BG+=($!)
mid=$!
fm_ok "the mid-message client is connected and waiting" wait_ready "$FM_T/mid.out"
fm_ok "the open completes when the client vanishes mid-message" cat "$data/bad.txt"
wait "$mid"
fm_like "the client took half a message" "$(cat "$FM_T/mid.out")" 'got half of message [0-9]+'
fm_ok "FltSendMessage returned STATUS_PORT_DISCONNECTED" wait_log 'scanner: no verdict \(0xC0000037\)'

# --- A client that never replies: STATUS_TIMEOUT after the filter's 10 s, and its late
# reply finds no waiter.
pw noreply "$sock" 11 >"$FM_T/noreply.out" 2>&1 &
BG+=($!)
nr=$!
fm_ok "the silent client is connected and waiting" wait_ready "$FM_T/noreply.out"
start=$(date +%s)
fm_ok "the open completes after the timeout (fail open)" cat "$data/clean.txt"
took=$(($(date +%s) - start))
fm_like "after about 10 s" "$took" '^(9|10|11|12)$'
fm_ok "FltSendMessage returned STATUS_TIMEOUT" wait_log 'scanner: no verdict \(0x00000102\)'
wait "$nr"
fm_like "the late reply gets STATUS_FLT_NO_WAITER_FOR_REPLY" "$(cat "$FM_T/noreply.out")" \
	'late reply_ack 0xC01C0020'

# --- After all that, a well-behaved scanner still works.
su_start root5
fm_like "scanuser connects after the hostile clients" "$SU_LINE" '^scanuser: connected'
fm_fails "infected denied" cat "$data/bad.txt"
fm_ok "clean allowed" cat "$data/clean.txt"
fm_ok "fltmgrd is alive" kill -0 "$FM_DPID"

# --- Unload with a client connected: DisconnectNotify at unload, socket removed.
fm_ok "unload with a client connected" fm_fltmc unload scanner
fm_ok "the client was disconnected by the unload" wait_log 'scanner: user-mode scanner disconnected'
fm_is "the socket is removed" "$(test -e "$sock" || echo gone)" gone
su_start root6
fm_like "FilterConnectCommunicationPort then fails with ERROR_FILE_NOT_FOUND" "$SU_LINE" '0x80070002'

# --- libfltlib's management routines over the control socket.
tool="$FM_BUILD/tests/unit/lib/fltlib_tool"
ft() {
	FLTMGR_ROOT="$FM_ROOT" "$tool" "$@"
}
fm_run ft load scanner
fm_is "FilterLoad" "$FM_OUT" 0x00000000
fm_run ft load scanner
fm_is "FilterLoad of a loaded filter: ERROR_SERVICE_ALREADY_RUNNING" "$FM_OUT" 0x80070420
fm_run ft load nosuchfilter
fm_is "FilterLoad of an unknown service: ERROR_FILE_NOT_FOUND" "$FM_OUT" 0x80070002
fm_run runuser -u nobody -- env FLTMGR_ROOT="$FM_ROOT" "$tool" load scanner
fm_like "FilterLoad as nobody fails" "$FM_OUT" '^0x8'
fm_run ft attach scanner "$data" "second" 265001
fm_is "FilterAttachAtAltitude with a second instance" "$FM_OUT" 0x00000000
fm_run ft filters
fm_like "FilterFindFirst/Next: scanner with its altitude and 2 instances" "$FM_OUT" \
	'filter name=scanner altitude=265000 instances=2'
fm_like "the listing ends with ERROR_NO_MORE_ITEMS" "$FM_OUT" 'entries=1'
fm_run ft volumes
fm_like "FilterVolumeFindFirst: the volume's device name, NTFS" "$FM_OUT" \
	'volume name=\\Device\\HarddiskVolume[0-9]+ fstype=2'
dev=$(printf '%s\n' "$FM_OUT" | sed -n 's/^volume name=\([^ ]*\) .*/\1/p' | head -1)
fm_run ft instances scanner
fm_like "FilterInstanceFindFirst: both instances" "$FM_OUT" 'entries=2'
fm_like "with names, altitudes, volume and filter" "$FM_OUT" \
	"instance name=second altitude=265001 volume=$data filter=scanner"
fm_run ft volinstances "$dev"
fm_like "FilterVolumeInstanceFindFirst: both instances on the volume" "$FM_OUT" 'entries=2'
fm_run ft dosname "$dev"
fm_is "FilterGetDosName: the mount point" "$FM_OUT" "dos=$data
0x00000000"
fm_run ft info scanner
fm_like "FilterCreate + FilterGetInformation" "$FM_OUT" 'filter name=scanner altitude=265000 instances=2'
fm_run ft info nosuchfilter
fm_is "FilterCreate of an unloaded filter: ERROR_FLT_FILTER_NOT_FOUND" "$FM_OUT" 0x801F0013
fm_run ft instinfo scanner "$dev" second
fm_like "FilterInstanceCreate + FilterInstanceGetInformation (aggregate, NTFS)" "$FM_OUT" \
	"instance name=second altitude=265001 volume=$data filter=scanner fstype=2"
fm_run ft instinfo scanner "$data" nosuch
fm_is "FilterInstanceCreate of no such instance: ERROR_FLT_INSTANCE_NOT_FOUND" "$FM_OUT" 0x801F0015
fm_run ft instances nosuchfilter
fm_like "an unknown filter has no instances (ERROR_NO_MORE_ITEMS at once)" "$FM_OUT" 'entries=0'
fm_run ft attach scanner "$data"
fm_is "FilterAttach of the attached default instance: ERROR_FLT_INSTANCE_NAME_COLLISION" \
	"$FM_OUT" 0x801F0012
fm_run ft detach scanner "$data" second
fm_is "FilterDetach: scanner has no InstanceQueryTeardown, ERROR_FLT_DO_NOT_DETACH" \
	"$FM_OUT" 0x801F0010
fm_run ft attach scanner "/nonexistent"
fm_like "FilterAttach to no volume fails" "$FM_OUT" '^0x8'
fm_run ft unload scanner
fm_is "FilterUnload" "$FM_OUT" 0x00000000
fm_run ft unload scanner
fm_like "FilterUnload of an unloaded filter fails" "$FM_OUT" '^0x8'

fm_done
