#!/bin/bash
# e2e: fltmgrd mounts the volumes of volumes.conf and loads boot/system/auto-start services at
# start, in load-order-group then altitude order; -n checks all of it.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
fm_require_fuse

flt="$FM_BUILD/filters"
log="$FM_ROOT/fltmgrd.log"
data="$FM_T/data"
mkdir -p "$data"
echo x >"$data/f.txt"

fm_start_daemon || fm_fail "fltmgrd starts"
fm_ok "register passthrough" fm_fltmc register passthrough "$flt/passthrough.so" --altitude 370030
fm_ok "register protect" fm_fltmc register protect "$flt/protect.so" --altitude 320000
fm_ok "register nullfilter (demand start)" fm_fltmc register nullfilter "$flt/nullfilter.so" --altitude 370020
fm_ok "passthrough: auto start" fm_fltmc set passthrough Start dword 2
fm_ok "passthrough: Activity Monitor group" fm_fltmc set passthrough Group sz "FSFilter Activity Monitor"
fm_ok "protect: system start" fm_fltmc set protect Start dword 1
fm_ok "protect: Anti-Virus group" fm_fltmc set protect Group sz "FSFilter Anti-Virus"
fm_stop_daemon
printf '# volumes mounted at start\n%s fstype=NTFS cache=cached transport=dev\n' "$data" \
	>"$FM_ROOT/volumes.conf"

fm_run "$FM_FLTMGRD" --root "$FM_ROOT" -n
fm_is "fltmgrd -n accepts the configuration" "$FM_RC" 0
fm_like "-n lists the volume and its options" "$FM_OUT" \
	"volume $data as NTFS, cache cached, transport dev"
fm_like "-n lists the autostart order: the lower group first" "$(echo "$FM_OUT" | tr '\n' ' ')" \
	"autostart 1: protect .*autostart 2: passthrough"
fm_unlike "demand-start services are not autostarted" "$FM_OUT" "autostart [0-9]+: nullfilter"

fm_start_daemon || fm_fail "fltmgrd starts again"
fm_run fm_fltmc volumes
fm_like "the volume was mounted at start" "$FM_OUT" "$data +\\\\Device\\\\HarddiskVolume"
fm_like "with the cache policy of its line" "$FM_OUT" "$data .* cached, write-back cache"
fm_run fm_fltmc filters
fm_like "protect autostarted" "$FM_OUT" "protect +1 +320000"
fm_like "passthrough autostarted" "$FM_OUT" "passthrough +1 +370030"
fm_unlike "nullfilter did not" "$FM_OUT" "nullfilter"
fm_like "in group order" "$(grep -a 'autostart: loading' "$log" | tr '\n' ' ')" \
	"loading protect .*loading passthrough"
fm_ok "and the volume is filtered" cat "$data/f.txt"
fm_stop_daemon
fm_is "nothing left mounted after stop" "$(fm_mounts_under_tmp)" ""

printf '%s %s/mnt extra\nrelative/path\n%s cache=bogus\n%s transport=carrier-pigeon\n' \
	"$data" "$FM_T" "$data" "$data" >"$FM_ROOT/volumes.conf"
fm_run "$FM_FLTMGRD" --root "$FM_ROOT" -n
fm_is "-n rejects a malformed volumes.conf" "$FM_RC" 1
fm_like "naming the line" "$FM_ERR" "volumes.conf:1: too many fields"
fm_like "and the next one" "$FM_ERR" "volumes.conf:2: paths must be absolute"
fm_like "an unknown cache policy" "$FM_ERR" "volumes.conf:3: bad cache= \\(auto, cached or direct\\)"
fm_like "an unknown transport" "$FM_ERR" "volumes.conf:4: bad transport= \\(dev or uring\\)"
fm_done
