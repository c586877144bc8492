#!/bin/bash
# e2e: the seed's DriverEntry rules (DESIGN.md section 1), each through a fixture filter.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
fm_require_fuse

fx="$FM_BUILD/tests/fixtures"
log="$FM_ROOT/fltmgrd.log"
fm_start_daemon || fm_fail "fltmgrd starts"
mkdir -p "$FM_T/data"
echo hi >"$FM_T/data/f.txt"

# Rule 1-3: DriverEntry once, at PASSIVE_LEVEL, with its own driver object and service key.
fm_ok "register fx_seed" fm_fltmc register fx_seed "$fx/fx_seed.so" --altitude 370050
fm_ok "give it a value to read" fm_fltmc set fx_seed SeedValue dword 7
fm_ok "load fx_seed" fm_fltmc load fx_seed
seed=$(grep -a 'fx: seed' "$log")
fm_like "DriverEntry at PASSIVE_LEVEL" "$seed" 'irql=0 '
fm_like "DriverName is \\FileSystem\\<service>" "$seed" 'driver=\\FileSystem\\fx_seed '
fm_like "ServiceKeyName is the service" "$seed" 'service=fx_seed '
fm_like "RegistryPath names the service key" "$seed" \
	'regpath=\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\fx_seed '
fm_like "ZwOpenKey/ZwQueryValueKey read the value" "$seed" 'seedvalue=7 '
fm_like "DriverUnload is writable (starts NULL)" "$seed" 'unload_writable=1'
fm_is "DriverEntry called once" "$(grep -ac 'fx: seed' "$log")" 1
fm_like "its DbgPrint lines are tagged with its name" "$(grep -a 'fx: seed' "$log")" '\[fx_seed\]'
fm_run fm_fltmc filters
fm_like "fltmc filters lists it at its altitude" "$FM_OUT" 'fx_seed +0 +370050 +0'

# Rule 5: attaches to volumes mounted later, automatically.
fm_ok "mount a volume" fm_mount "$FM_T/data"
fm_like "InstanceSetup: automatic + newly mounted, disk file system, NTFS" \
	"$(grep -a '\[fx_seed\] fx: setup' "$log")" 'flags=0x5 devtype=0x8 fstype=2 irql=0 props=0x00000000 sector=512 real=\\Device\\HarddiskVolume[0-9]+'
fm_run fm_fltmc instances
fm_like "fltmc instances shows the instance" "$FM_OUT" "fx_seed +$FM_T/data +370050 +fx_seed Instance"

# And to volumes that exist when it starts.
fm_ok "register fx_decline" fm_fltmc register fx_decline "$fx/fx_decline.so" --altitude 370060
fm_ok "load fx_decline" fm_fltmc load fx_decline
fm_like "InstanceSetup on the existing volume: automatic only" \
	"$(grep -a '\[fx_decline\] fx: setup' "$log")" 'flags=0x1 '
fm_run fm_fltmc instances
fm_unlike "STATUS_FLT_DO_NOT_ATTACH: no instance" "$FM_OUT" 'fx_decline'
fm_run fm_fltmc filters
fm_like "the declining filter is loaded with 0 instances" "$FM_OUT" 'fx_decline +0 +370060'

# Rule 7: DriverEntry failure unloads the image without its unload routine; leftovers cleaned.
fm_ok "register fx_failentry" fm_fltmc register fx_failentry "$fx/fx_failentry.so" --altitude 370070
fm_run fm_fltmc load fx_failentry
fm_is "a failing DriverEntry fails the load" "$FM_RC" 1
fm_like "with its status" "$FM_ERR" 'STATUS_INSUFFICIENT_RESOURCES'
fm_like "the leftover registration is reported" "$(cat "$log")" \
	'\[fx_failentry\] DriverEntry failed .* but left its filter registered'
fm_unlike "its unload routine was not called" "$(grep -a '\[fx_failentry\]' "$log")" 'fx: unload'
fm_run fm_fltmc filters
fm_unlike "and it is not listed" "$FM_OUT" 'fx_failentry'
fm_ok "it can be loaded again (and fails the same way)" bash -c "! '$FM_FLTMC' --root '$FM_ROOT' load fx_failentry"

# Rule 4: registration validated.
fm_ok "register fx_badreg" fm_fltmc register fx_badreg "$fx/fx_badreg.so" --altitude 370080
fm_run fm_fltmc load fx_badreg
fm_like "a wrong FLT_REGISTRATION.Size fails with STATUS_INVALID_PARAMETER" "$FM_ERR" \
	'STATUS_INVALID_PARAMETER'
fm_ok "register fx_noinst without instances" fm_fltmc register fx_noinst "$fx/fx_order.so" --altitude 1
# Remove the instance definitions by overwriting DefaultInstance with a missing name.
fm_ok "point DefaultInstance nowhere" fm_fltmc set 'fx_noinst\Instances' DefaultInstance sz Missing
fm_run fm_fltmc load fx_noinst
fm_like "missing instance information: STATUS_OBJECT_NAME_NOT_FOUND" "$FM_ERR" \
	'STATUS_OBJECT_NAME_NOT_FOUND'

# Rule 6: FltStartFiltering failure (a second start) -> unregister, error returned.
fm_ok "register fx_failstart" fm_fltmc register fx_failstart "$fx/fx_failstart.so" --altitude 370090
fm_run fm_fltmc load fx_failstart
fm_is "a second FltStartFiltering fails the load" "$FM_RC" 1
fm_like "FltStartFiltering twice: STATUS_INVALID_PARAMETER" "$(grep -a '\[fx_failstart\]' "$log")" \
	'second FltStartFiltering -> 0xc000000d'

# Rule 8: unload calls the unload routine; refusals are honoured.
fm_ok "register fx_refuse" fm_fltmc register fx_refuse "$fx/fx_refuse.so" --altitude 370100
fm_ok "load fx_refuse" fm_fltmc load fx_refuse
fm_run fm_fltmc unload fx_refuse
fm_is "an unload routine that refuses keeps the filter" "$FM_RC" 1
fm_like "with the filter's status" "$FM_ERR" 'STATUS_FLT_DO_NOT_DETACH'
fm_run fm_fltmc filters
fm_like "still loaded" "$FM_OUT" 'fx_refuse'
fm_ok "register fx_nounload" fm_fltmc register fx_nounload "$fx/fx_nounload.so" --altitude 370110
fm_ok "load fx_nounload" fm_fltmc load fx_nounload
fm_run fm_fltmc unload fx_nounload
fm_is "no unload routine: cannot be unloaded" "$FM_RC" 1
fm_ok "register fx_nostop" fm_fltmc register fx_nostop "$fx/fx_nostop.so" --altitude 370120
fm_ok "load fx_nostop" fm_fltmc load fx_nostop
fm_ok "DO_NOT_SUPPORT_SERVICE_STOP still allows fltmc unload" fm_fltmc unload fx_nostop
fm_like "its unload routine ran, not mandatory" "$(grep -a '\[fx_nostop\]' "$log")" 'fx: unload flags=0x0'
fm_ok "unload fx_seed" fm_fltmc unload fx_seed
fm_like "teardown start then complete, reason FILTER_UNLOAD" \
	"$(grep -a '\[fx_seed\] fx: teardown' "$log" | tr '\n' ' ')" \
	'teardown start reason=0x2 .*teardown complete reason=0x2'

# Altitude order: pre top-down, post bottom-up.
cp "$fx/fx_order.so" "$FM_T/fx_a.so"
cp "$fx/fx_order.so" "$FM_T/fx_b.so"
fm_ok "register the upper instance" fm_fltmc register fx_a "$FM_T/fx_a.so" --altitude 100000.5
fm_ok "register the lower instance" fm_fltmc register fx_b "$FM_T/fx_b.so" --altitude 100000.25
fm_ok "load both" bash -c "'$FM_FLTMC' --root '$FM_ROOT' load fx_a && '$FM_FLTMC' --root '$FM_ROOT' load fx_b"
n0=$(wc -l <"$log")
cat "$FM_T/data/f.txt" >/dev/null
order=$(tail -n +$((n0 + 1)) "$log" | grep -a -E 'fx: (pre|post) fx_(a|b) major=0' | sed -E 's/.*fx: (pre|post) (fx_[a-z]+).*/\1-\2/' | head -4 | tr '\n' ' ')
fm_is "decimal altitudes: 100000.5 above 100000.25; pre down, post up" "$order" \
	"pre-fx_a pre-fx_b post-fx_b post-fx_a "

# Shutdown: the daemon unloads what remains (mandatory), refusals notwithstanding.
fm_stop_daemon
fm_is "SIGTERM: fltmgrd exits 0" "$FM_DSTATUS" 0
fm_like "mandatory unload at shutdown" "$(grep -a '\[fx_refuse\]' "$log")" 'fx: unload flags=0x1'
fm_is "nothing left mounted" "$(fm_mounts_under_tmp)" ""
fm_done
