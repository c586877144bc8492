# End-to-end test library: a private fltmgrd under a temporary --root, TAP helpers, cleanup.
#
# Source it from a bash test script:  . "$FM_SOURCE/tests/e2e/lib.sh"
# It creates $FM_T (mktemp -d under /tmp) with the daemon's root in $FM_ROOT, and installs a
# trap that, whatever happens, unmounts every volume of that root, stops the daemon (SIGTERM,
# then SIGKILL after a timeout), lazily unmounts anything still mounted under $FM_T and
# removes $FM_T.  Paths to the programs come from FM_BUILD / FM_SOURCE (tests/e2e/meson.build).

set -u

FM_BUILD=${FM_BUILD:?FM_BUILD must name the build directory}
FM_SOURCE=${FM_SOURCE:?FM_SOURCE must name the source directory}
FM_FLTMGRD=$FM_BUILD/bin/fltmgrd
FM_FLTMC=$FM_BUILD/bin/fltmc
FM_STOP_TIMEOUT=${FM_STOP_TIMEOUT:-15}

fm__n=0
fm__failed=0
FM_DPID=
FM_T=$(mktemp -d /tmp/fm-e2e-XXXXXX) || {
	echo "Bail out! mktemp failed"
	exit 1
}
FM_ROOT=$FM_T/root

# ---- TAP -------------------------------------------------------------------------------------

fm_pass() {
	fm__n=$((fm__n + 1))
	echo "ok $fm__n - $1"
}

fm_fail() {
	fm__n=$((fm__n + 1))
	fm__failed=$((fm__failed + 1))
	echo "not ok $fm__n - $1"
	shift
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/# /'
	done
}

fm_skip() {
	fm__n=$((fm__n + 1))
	echo "ok $fm__n - $1 # SKIP $2"
}

fm_diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

# fm_run CMD...: run a command, keep its stdout in FM_OUT, stderr in FM_ERR, status in FM_RC.
fm_run() {
	FM_OUT=$("$@" 2>"$FM_T/.err")
	FM_RC=$?
	FM_ERR=$(cat "$FM_T/.err")
	return 0
}

# fm_ok DESC CMD...: passes when the command succeeds.
fm_ok() {
	local desc=$1
	shift
	fm_run "$@"
	if [ "$FM_RC" -eq 0 ]; then
		fm_pass "$desc"
	else
		fm_fail "$desc" "command: $*" "exit $FM_RC" "stdout: $FM_OUT" "stderr: $FM_ERR"
	fi
}

# fm_fails DESC CMD...: passes when the command exits non-zero.
fm_fails() {
	local desc=$1
	shift
	fm_run "$@"
	if [ "$FM_RC" -ne 0 ]; then
		fm_pass "$desc"
	else
		fm_fail "$desc" "command: $*" "unexpectedly succeeded" "stdout: $FM_OUT"
	fi
}

# fm_is DESC GOT WANT
fm_is() {
	if [ "$2" = "$3" ]; then
		fm_pass "$1"
	else
		fm_fail "$1" "got:  $2" "want: $3"
	fi
}

# fm_like DESC TEXT EXTENDED-REGEX
fm_like() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then
		fm_pass "$1"
	else
		fm_fail "$1" "text: $2" "does not match: $3"
	fi
}

# fm_unlike DESC TEXT EXTENDED-REGEX
fm_unlike() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then
		fm_fail "$1" "text: $2" "matches: $3"
	else
		fm_pass "$1"
	fi
}

# fm_done: print the plan and exit with the verdict.  The EXIT trap cleans up.
fm_done() {
	echo "1..$fm__n"
	[ "$fm__failed" -eq 0 ] && exit 0
	exit 1
}

# fm_skip_all REASON: the whole script cannot run.
fm_skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}

fm_require_root() {
	[ "$(id -u)" -eq 0 ] || fm_skip_all "needs root (FUSE mounts, the control socket is root-only)"
	[ -x "$FM_FLTMGRD" ] && [ -x "$FM_FLTMC" ] || {
		echo "Bail out! $FM_FLTMGRD or $FM_FLTMC not built"
		exit 1
	}
}

fm_require_fuse() {
	[ -c /dev/fuse ] || fm_skip_all "no /dev/fuse"
}

# ---- The daemon ------------------------------------------------------------------------------

# fltmc with this test's root.
fm_fltmc() {
	"$FM_FLTMC" --root "$FM_ROOT" "$@"
}

# fm_start_daemon [ARGS...]: start fltmgrd in the background and wait (10 s) for it to answer.
fm_start_daemon() {
	"$FM_FLTMGRD" --root "$FM_ROOT" "$@" >>"$FM_T/fltmgrd.out" 2>&1 &
	FM_DPID=$!
	local i
	for i in $(seq 1 100); do
		if [ -S "$FM_ROOT/control.sock" ] && fm_fltmc ping >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$FM_DPID" 2>/dev/null; then
			wait "$FM_DPID"
			FM_DSTATUS=$?
			FM_DPID=
			fm_diag "fltmgrd exited early with $FM_DSTATUS:" "$(cat "$FM_T/fltmgrd.out")"
			return 1
		fi
		sleep 0.1
	done
	fm_diag "fltmgrd did not answer within 10 s"
	return 1
}

# fm_stop_daemon: SIGTERM, wait up to FM_STOP_TIMEOUT seconds, then SIGKILL.  The exit
# status is left in FM_DSTATUS (137 after SIGKILL).
fm_stop_daemon() {
	FM_DSTATUS=
	[ -n "$FM_DPID" ] || return 0
	kill -TERM "$FM_DPID" 2>/dev/null
	local i
	for i in $(seq 1 $((FM_STOP_TIMEOUT * 10))); do
		kill -0 "$FM_DPID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$FM_DPID" 2>/dev/null; then
		fm_diag "fltmgrd did not stop within ${FM_STOP_TIMEOUT}s; SIGKILL"
		kill -KILL "$FM_DPID" 2>/dev/null
	fi
	wait "$FM_DPID" 2>/dev/null
	FM_DSTATUS=$?
	FM_DPID=
}

# Mount points under $FM_T, deepest first, from /proc/mounts.
fm_mounts_under_tmp() {
	awk -v t="$FM_T" '$2 == t || index($2, t "/") == 1 { print $2 }' /proc/mounts | sort -r
}

# fm_mount BACKING [MOUNTPOINT]: fltmc mount, recording the volume for cleanup.
fm_mount() {
	fm_fltmc mount "$@"
}

fm_cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$FM_DPID" ] && kill -0 "$FM_DPID" 2>/dev/null; then
		# Every volume of this root, by its mount point (first column).
		fm_fltmc volumes 2>/dev/null | awk 'NR > 3 && $1 ~ /^\// { print $1 }' |
			while read -r mp; do
				fm_fltmc unmount "$mp" >/dev/null 2>&1
			done
	fi
	fm_stop_daemon
	local mp
	for mp in $(fm_mounts_under_tmp); do
		echo "# cleanup: lazily unmounting leftover $mp"
		umount -l "$mp" 2>/dev/null || fusermount3 -uz "$mp" 2>/dev/null
	done
	if [ -n "$(fm_mounts_under_tmp)" ]; then
		echo "# cleanup: mounts remain under $FM_T; not removing it"
	else
		rm -rf "$FM_T"
	fi
	exit "$rc"
}

trap fm_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
