#!/bin/bash
# e2e: a port whose DACL a filter builds ACE by ACE admits exactly the peers it names: a uid, a
# group (primary or supplementary), Everyone, Administrators (root); root, nobody and throwaway
# numeric uids (setpriv, no accounts created) connect through libfltlib.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
command -v setpriv >/dev/null || fm_skip_all "needs setpriv to connect as other uids"

tool="$FM_BUILD/tests/unit/lib/fltlib_tool"
fx="$FM_BUILD/tests/fixtures"
log="$FM_ROOT/fltmgrd.log"
trap fm_cleanup EXIT

# conn [UID GID [GROUPS]]: FilterConnectCommunicationPort(\AclPort) as that uid; prints the HRESULT.
conn() {
	if [ $# -eq 0 ]; then
		FLTMGR_ROOT="$FM_ROOT" "$tool" connect AclPort
	elif [ -n "${3:-}" ]; then
		setpriv --reuid="$1" --regid="$2" --groups="$3" -- env FLTMGR_ROOT="$FM_ROOT" "$tool" connect AclPort
	else
		setpriv --reuid="$1" --regid="$2" --clear-groups -- env FLTMGR_ROOT="$FM_ROOT" "$tool" connect AclPort
	fi
}

# reload ALLOW-SID...: (re)load portacl with AllowSids set to the SIDs given.
reload() {
	fm_fltmc unload portacl >/dev/null 2>&1
	fm_fltmc set portacl AllowSids multi_sz "$@" >/dev/null &&
		fm_fltmc load portacl
}

fm_start_daemon || fm_fail "fltmgrd starts"
# Other uids must be able to reach the port sockets under the root.
chmod 755 "$FM_T" "$FM_ROOT"
mkdir -p "$FM_ROOT/ports" && chmod 755 "$FM_ROOT/ports"
fm_ok "register the portacl fixture" fm_fltmc register portacl "$fx/portacl.so" --altitude 370400

# One uid and one group.
fm_ok "load with a DACL granting S-1-22-1-60123 and S-1-22-2-60200" reload S-1-22-1-60123 S-1-22-2-60200
fm_like "the port was created with 2 ACEs" "$(cat "$log")" 'portacl: port with 2 ACEs, mask 0x1f0001: 0x00000000'
fm_run conn 60123 60123
fm_is "uid 60123 (granted by its user SID) connects" "$FM_OUT" 0x00000000
fm_run conn 60124 60124
fm_is "uid 60124 is refused: E_ACCESSDENIED" "$FM_OUT" 0x80070005
fm_run conn 60124 60200
fm_is "uid 60124 with primary group 60200 connects" "$FM_OUT" 0x00000000
fm_run conn 60125 60125 60200
fm_is "uid 60125 with supplementary group 60200 connects" "$FM_OUT" 0x00000000
fm_run conn 65534 65534
fm_is "nobody is refused" "$FM_OUT" 0x80070005
fm_run conn
fm_is "root is not in this DACL either: refused" "$FM_OUT" 0x80070005
fm_is "three connections reached ConnectNotify" "$(grep -c 'portacl: connected pid' "$log")" 3
fm_like "refusals are logged with the uid" "$(cat "$log")" 'uid 60124'

# Everyone.
fm_ok "reload with Everyone (S-1-1-0)" reload S-1-1-0
fm_run conn 65534 65534
fm_is "Everyone: nobody connects" "$FM_OUT" 0x00000000
fm_run conn
fm_is "Everyone: root connects" "$FM_OUT" 0x00000000

# BUILTIN\Administrators: root only.
fm_ok "reload with BUILTIN\\Administrators (S-1-5-32-544)" reload S-1-5-32-544
fm_run conn
fm_is "Administrators: root connects" "$FM_OUT" 0x00000000
fm_run conn 65534 65534
fm_is "Administrators: nobody is refused" "$FM_OUT" 0x80070005

# An ACE that grants a right other than FLT_PORT_CONNECT admits no one.
fm_ok "AceMask READ_CONTROL only" fm_fltmc set portacl AceMask dword 0x20000
fm_ok "reload with Everyone, READ_CONTROL" reload S-1-1-0
fm_run conn 65534 65534
fm_is "no FLT_PORT_CONNECT in the ACE: refused" "$FM_OUT" 0x80070005
fm_ok "AceMask GENERIC_ALL" fm_fltmc set portacl AceMask dword 0x10000000
fm_ok "reload with Everyone, GENERIC_ALL" reload S-1-1-0
fm_run conn 65534 65534
fm_is "GENERIC_ALL includes FLT_PORT_CONNECT" "$FM_OUT" 0x00000000

# A DACL naming only the Null SID (S-1-0-0), which no one holds, refuses everyone, root included
# (an empty DACL does the same: tests/unit/lib/test_port.c).
fm_ok "AceMask back to FLT_PORT_ALL_ACCESS" fm_fltmc set portacl AceMask dword 0x1f0001
fm_ok "reload with only the Null SID" reload S-1-0-0
fm_run conn
fm_is "the Null SID alone refuses root" "$FM_OUT" 0x80070005

# A malformed SID string: the fixture's DriverEntry fails, with RtlInitializeSid never reached.
fm_run reload not-a-sid
fm_like "a bad SID string fails the load (STATUS_INVALID_SID)" "$FM_ERR" 'STATUS_INVALID_SID|0xc0000078'
fm_ok "reload with Everyone again" reload S-1-1-0

fm_ok "fltmgrd is alive" kill -0 "$FM_DPID"
fm_ok "unload portacl" fm_fltmc unload portacl
fm_done
