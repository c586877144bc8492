#!/bin/bash
# e2e: the control socket refuses non-root peers and survives malformed or stalled clients.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root

fm_start_daemon || fm_fail "fltmgrd starts"

as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
}

# With the default modes, nobody cannot even open the socket.
fm_run as_nobody "$FM_FLTMC" --root "$FM_ROOT" filters
fm_is "nobody: fltmc exits 1" "$FM_RC" 1
fm_like "nobody: cannot reach the socket" "$FM_ERR" "cannot reach fltmgrd .*Permission denied"

# Even with the file modes opened, the daemon checks SO_PEERCRED and refuses.
chmod 0711 "$FM_T" "$FM_ROOT"
chmod 0666 "$FM_ROOT/control.sock"
fm_run as_nobody "$FM_FLTMC" --root "$FM_ROOT" filters
fm_is "nobody through an open socket: exit 1" "$FM_RC" 1
fm_like "nobody: the daemon says access denied" "$FM_ERR" "access denied.*root only.*Permission denied"
fm_like "the refusal is logged" "$(cat "$FM_ROOT/fltmgrd.log")" "refused pid [0-9]+ uid 65534"
chmod 0700 "$FM_T" "$FM_ROOT"
chmod 0600 "$FM_ROOT/control.sock"

# send_raw HEX-BYTES [HOLD-SECONDS]: connect, send the bytes, then report whether the daemon
# closed the connection ("closed") within 10 s.
send_raw() {
	perl -MIO::Socket::UNIX -e '
		my ($path, $hex, $hold) = @ARGV;
		my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $path) or die "connect: $!\n";
		$s->syswrite(pack("H*", $hex));
		sleep($hold) if $hold;
		my $buf;
		local $SIG{ALRM} = sub { print "open\n"; exit 0 };
		alarm 10;
		my $n = $s->sysread($buf, 65536);
		# Closing with our bytes still unread makes the kernel report a reset instead of EOF.
		print(((defined $n && $n == 0) || (!defined $n && $!{ECONNRESET})) ? "closed\n" : "data\n");
	' "$FM_ROOT/control.sock" "$1" "${2:-0}"
}

fm_is "garbage bytes: connection closed" "$(send_raw 68656c6c6f20776f726c640a0102030405)" closed
fm_ok "the daemon still answers fltmc filters" fm_fltmc filters
fm_like "with its header" "$FM_OUT" "^Filter Name"

# Right magic and version, a length over the 1 MiB maximum.
fm_is "oversized length: connection closed" "$(send_raw 464c544d01000600ffffffff)" closed
# A list-instances request whose first field claims more bytes than the payload holds.
fm_is "field overrunning the payload: closed" \
	"$(send_raw 464c544d0100070008000000ff00000041414141)" closed
# A well-formed ping with a trailing extra field.
fm_is "trailing field: closed" "$(send_raw 464c544d010001000400000000000000)" closed
# Unknown request type.
fm_is "unknown type: closed" "$(send_raw 464c544d0100770000000000)" closed
fm_ok "the daemon still answers after all that" fm_fltmc filters
fm_like "malformed messages are logged" "$(cat "$FM_ROOT/fltmgrd.log")" \
	"malformed .*connection closed"

# A client that stalls half-way through a header must not hold the daemon forever.
send_raw 464c544d 8 >/dev/null &
stalled=$!
sleep 0.5
start=$(date +%s)
fm_ok "fltmc answered while another client stalls" timeout 20 "$FM_FLTMC" --root "$FM_ROOT" filters
fm_is "within the per-connection timeout" "$(($(date +%s) - start < 10))" 1
kill "$stalled" 2>/dev/null
wait "$stalled" 2>/dev/null

fm_ok "ping" fm_fltmc ping
fm_done
