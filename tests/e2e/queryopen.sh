#!/bin/bash
# e2e: lookups and stats without a handle reach filters as IRP_MJ_QUERY_OPEN.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
fm_require_fuse

log="$FM_ROOT/fltmgrd.log"
data="$FM_T/data"
mkdir -p "$data"
echo secret >"$data/hidden.txt"
echo plain >"$data/shown.txt"
fm_start_daemon || fm_fail "fltmgrd starts"
fm_ok "mount" fm_mount "$data"
fm_run stat -c %s "$data/hidden.txt"
fm_is "without the filter the file is there" "$FM_OUT" 7
fm_ok "unmount" fm_fltmc unmount "$data"
fm_ok "mount again (nothing cached)" fm_mount "$data"
fm_ok "register fx_hide" fm_fltmc register fx_hide "$FM_BUILD/tests/fixtures/fx_hide.so" --altitude 360000
fm_ok "load fx_hide" fm_fltmc load fx_hide
fm_run stat -c %s "$data/hidden.txt"
fm_is "a lookup the filter fails gives ENOENT" "$FM_RC" 1
fm_like "No such file" "$FM_ERR" "No such file or directory"
fm_like "the filter saw the query-open with the name" "$(cat "$log")" \
	'fx: hiding \\Device\\HarddiskVolume[0-9]+\\hidden.txt from a query-open'
fm_run stat -c %s "$data/shown.txt"
fm_is "other names pass" "$FM_OUT" 6
fm_ok "unload fx_hide" fm_fltmc unload fx_hide
fm_ok "unmount" fm_fltmc unmount "$data"
fm_is "after unmount the backing file is intact" "$(cat "$data/hidden.txt")" secret
fm_done
