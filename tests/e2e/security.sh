#!/bin/bash
# e2e: unprivileged users get exactly what the backing file system would give them, with and
# without filters (issue 8, Security).  tests/e2e/secmatrix.c tries every operation on a tree
# as `nobody` and as a throwaway uid with no account; the same tree on a plain directory must
# give the same answers, and the trees must end in the same state.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
fm_require_fuse

SM=$FM_BUILD/tests/e2e/secmatrix
OTHER=54321
chmod 0711 "$FM_T"
fm_start_daemon || fm_fail "fltmgrd starts"

# matrix LABEL VOLUME_DIR NATIVE_DIR: same fixture, same attempts, same outcome.
matrix() {
	local label=$1 vol=$2 nat=$3 who
	fm_ok "$label: fixture on the volume" "$SM" setup "$vol" "$OTHER"
	fm_ok "$label: fixture on a plain directory" "$SM" setup "$nat" "$OTHER"
	fm_like "$label: the fixture is there" "$("$SM" state "$vol")" "r4755 +mode 104755"
	fm_is "$label: the fixtures look the same" "$("$SM" state "$vol")" "$("$SM" state "$nat")"
	for who in "65534 65534 nobody" "$OTHER $OTHER uid-$OTHER"; do
		set -- $who
		"$SM" run "$vol" "$1" "$2" >"$FM_T/vol.out" 2>&1
		"$SM" run "$nat" "$1" "$2" >"$FM_T/nat.out" 2>&1
		if diff -u "$FM_T/nat.out" "$FM_T/vol.out" >"$FM_T/diff"; then
			fm_pass "$label: as $3, every attempt ends as on the plain directory ($(wc -l <"$FM_T/vol.out") attempts)"
		else
			fm_fail "$label: as $3, outcomes differ (- plain, + volume)" "$(head -60 "$FM_T/diff")"
		fi
	done
	"$SM" state "$vol" >"$FM_T/vol.state"
	"$SM" state "$nat" >"$FM_T/nat.state"
	if diff -u "$FM_T/nat.state" "$FM_T/vol.state" >"$FM_T/diff"; then
		fm_pass "$label: both trees end in the same state"
	else
		fm_fail "$label: the trees differ afterwards (- plain, + volume)" "$(head -60 "$FM_T/diff")"
	fi
}

# Without filters.
mkdir -p "$FM_T/a/vol" "$FM_T/a/nat"
chmod 0755 "$FM_T/a" "$FM_T/a/vol" "$FM_T/a/nat"
fm_ok "mount a volume" fm_mount "$FM_T/a/vol"
matrix "no filter" "$FM_T/a/vol" "$FM_T/a/nat"
fm_like "the attempts include the sticky-bit rules" "$(cat "$FM_T/vol.out")" "unlink +d1777/rootf +EPERM"
fm_like "and escaping symbolic links" "$(cat "$FM_T/vol.out")" "open-r +rel_out/passwd +ok"
fm_like "a write by the owner clears set-user-ID and set-group-ID" "$(cat "$FM_T/vol.out")" \
	"after-w +o6775w +mode 100775"
fm_like "a directory's set-group-ID is inherited" "$(cat "$FM_T/vol.out")" \
	"mkdir-mode +d2777/sub +mode 42755"

# With passthrough, xorcrypt and ctxdemo attached (xorcrypt transforms the stored bytes: the
# states are compared through the volume, where the data reads plain).
mkdir -p "$FM_T/b/vol" "$FM_T/b/nat"
chmod 0755 "$FM_T/b" "$FM_T/b/vol" "$FM_T/b/nat"
fm_ok "mount a second volume" fm_mount "$FM_T/b/vol"
for f in passthrough:370100 xorcrypt:141000 ctxdemo:360100; do
	fm_ok "register ${f%%:*}" fm_fltmc register "${f%%:*}" "$FM_BUILD/filters/${f%%:*}.so" \
		--altitude "${f##*:}"
	fm_ok "load ${f%%:*}" fm_fltmc load "${f%%:*}"
done
fm_like "the three filters are attached to it" "$(fm_fltmc instances)" "xorcrypt"
matrix "three filters" "$FM_T/b/vol" "$FM_T/b/nat"

# Unprivileged users cannot reach the daemon to change any of this.
fm_run setpriv --reuid="$OTHER" --regid="$OTHER" --clear-groups -- "$FM_FLTMC" --root "$FM_ROOT" unload xorcrypt
fm_is "uid $OTHER: fltmc unload refused" "$FM_RC" 1
fm_like "the filters are still there" "$(fm_fltmc filters)" "xorcrypt"

for f in ctxdemo xorcrypt passthrough; do
	fm_ok "unload $f" fm_fltmc unload "$f"
done
fm_ok "unmount the second volume" fm_fltmc unmount "$FM_T/b/vol"
fm_ok "unmount the first volume" fm_fltmc unmount "$FM_T/a/vol"
fm_done
