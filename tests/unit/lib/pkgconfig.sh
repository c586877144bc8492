#!/bin/sh
# A user-mode companion builds from the build tree with `pkg-config --cflags --libs fltuser`
# (meson's uninstalled fltuser.pc), links against libfltlib and runs.
set -u
build=$FM_BUILD
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
if ! command -v pkg-config >/dev/null || ! command -v cc >/dev/null; then
	echo "1..0 # SKIP needs pkg-config and cc"
	exit 0
fi
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
export PKG_CONFIG_PATH="$build/meson-uninstalled"
if flags=$(pkg-config --cflags --libs fltuser 2>"$t/err"); then
	ok "pkg-config --cflags --libs fltuser from the build tree"
else
	notok "pkg-config --cflags --libs fltuser from the build tree: $(cat "$t/err")"
	echo "1..$n"
	exit 1
fi
case " $flags " in
*" -fshort-wchar "*) ok "the flags make wide literals UTF-16 (-fshort-wchar)" ;;
*) notok "the flags make wide literals UTF-16 (-fshort-wchar): $flags" ;;
esac
cat >"$t/companion.c" <<'C'
#include <windows.h>
#include <fltUser.h>
#include <stdio.h>

/* Connects to a port and lists filters as a scanner's user part would; prints the HRESULTs. */
int main(void)
{
	HANDLE port = NULL, find = NULL;
	BYTE buf[512];
	DWORD ret = 0;
	HRESULT hr = FilterConnectCommunicationPort(L"\\ScannerPort", 0, NULL, 0, NULL, &port);

	printf("connect 0x%08X %s\n", (unsigned int)hr, port == INVALID_HANDLE_VALUE ? "invalid" : "?");
	hr = FilterFindFirst(FilterFullInformation, buf, sizeof(buf), &ret, &find);
	printf("find 0x%08X\n", (unsigned int)hr);
	return sizeof(L"ab") == 6 ? 0 : 3;
}
C
# shellcheck disable=SC2086
# A sanitizer build's libfltlib needs its runtime first: build the companion the same way.
san=
case ${FM_SANITIZE:-none} in none | "") ;; *) san="-fsanitize=$FM_SANITIZE" ;; esac
if cc -Wall -Wextra -Werror $san -o "$t/companion" "$t/companion.c" $flags 2>"$t/err"; then
	ok "a companion compiles and links with those flags alone"
else
	notok "a companion compiles and links with those flags alone: $(cat "$t/err")"
	echo "1..$n"
	exit 1
fi
out=$(LD_LIBRARY_PATH="$build/src/lib" FLTMGR_ROOT="$t/no-daemon" "$t/companion")
rc=$?
[ $rc -eq 0 ] && ok "it runs, with 2-byte wide characters" || notok "it runs (exit $rc)"
case "$out" in
*"connect 0x80070002 invalid"*) ok "no port: ERROR_FILE_NOT_FOUND, INVALID_HANDLE_VALUE" ;;
*) notok "no port: ERROR_FILE_NOT_FOUND: $out" ;;
esac
case "$out" in
*"find 0x800704C9"*) ok "no daemon: ERROR_CONNECTION_REFUSED" ;;
*) notok "no daemon: ERROR_CONNECTION_REFUSED: $out" ;;
esac
echo "1..$n"
exit $fail
