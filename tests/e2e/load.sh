#!/bin/bash
# e2e: registering services and the failures of fltmc load; the daemon survives each one.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root

fm_start_daemon || fm_fail "fltmgrd starts"

fm_run fm_fltmc load nosuch
fm_is "load of an unknown service exits 1" "$FM_RC" 1
fm_like "naming the status" "$FM_ERR" \
	"^fltmc: load nosuch failed: STATUS_OBJECT_NAME_NOT_FOUND \\(0xc0000034\\)"

# A text file as the image.
echo "this is not an ELF file" >"$FM_T/text.so"
fm_ok "register a text file as an image" fm_fltmc register textimg "$FM_T/text.so" --altitude 370020
fm_run fm_fltmc load textimg
fm_is "loading it fails" "$FM_RC" 1
fm_like "with STATUS_INVALID_IMAGE_FORMAT" "$FM_ERR" "STATUS_INVALID_IMAGE_FORMAT \\(0xc000007b\\)"
fm_ok "the daemon is unaffected" fm_fltmc filters
fm_unlike "and lists no textimg filter" "$FM_OUT" "textimg"

# A shared object without DriverEntry.
printf 'int not_a_driver_entry(void) { return 0; }\n' >"$FM_T/noentry.c"
if cc -shared -fPIC -o "$FM_T/noentry.so" "$FM_T/noentry.c"; then
	fm_ok "register a shared object without DriverEntry" \
		fm_fltmc register noentry "$FM_T/noentry.so" --altitude 370030 --instance "NoEntry Inst"
	fm_run fm_fltmc load noentry
	fm_is "loading it fails" "$FM_RC" 1
	fm_like "with STATUS_PROCEDURE_NOT_FOUND" "$FM_ERR" "(STATUS_PROCEDURE_NOT_FOUND|NTSTATUS) \\(?0xc000007a"
else
	fm_skip "shared object without DriverEntry" "no C compiler"
fi
fm_ok "the daemon still answers" fm_fltmc ping

# What register wrote, in the registry file.
reg=$(cat "$FM_ROOT/registry")
svc='\[\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\noentry\]'
fm_like "service key written" "$reg" "^$svc\$"
fm_like "ImagePath is an absolute REG_EXPAND_SZ" "$reg" "^\"ImagePath\"=expand_sz:\"$FM_T/noentry.so\"\$"
fm_like "Type 2" "$reg" '^"Type"=dword:0x00000002$'
fm_like "Start 3" "$reg" '^"Start"=dword:0x00000003$'
fm_like "DefaultInstance" "$reg" '^"DefaultInstance"=sz:"NoEntry Inst"$'
fm_like "instance key" "$reg" '\\Services\\noentry\\Instances\\NoEntry Inst\]$'
fm_like "Altitude" "$reg" '^"Altitude"=sz:"370030"$'
fm_like "default instance name" "$reg" '^"DefaultInstance"=sz:"textimg Instance"$'

# A relative image path is stored absolute.
(cd "$FM_T" && "$FM_FLTMC" --root "$FM_ROOT" register relimg text.so --altitude 1000 --flags 0x1) >/dev/null
reg=$(cat "$FM_ROOT/registry")
fm_like "relative image made absolute" "$reg" "^\"ImagePath\"=expand_sz:\"$FM_T/text.so\"\$"
fm_like "--flags stored" "$reg" '^"Flags"=dword:0x00000001$'

# fltmc set.
fm_ok "set a multi_sz under a subkey" fm_fltmc set 'noentry\Parameters' Patterns multi_sz '*.secret' '*.key'
fm_ok "set a dword" fm_fltmc set noentry Debug dword 0x10
fm_ok "set a qword" fm_fltmc set noentry Big qword 4294967296
fm_ok "set an sz" fm_fltmc set noentry Name sz "hello world"
fm_ok "set binary" fm_fltmc set noentry Blob binary 01,02,ff
reg=$(cat "$FM_ROOT/registry")
fm_like "multi_sz in the file" "$reg" '^"Patterns"=multi_sz:"\*\.secret","\*\.key"$'
fm_like "dword in the file" "$reg" '^"Debug"=dword:0x00000010$'
fm_like "qword in the file" "$reg" '^"Big"=qword:0x0000000100000000$'
fm_like "sz in the file" "$reg" '^"Name"=sz:"hello world"$'
fm_like "binary in the file" "$reg" '^"Blob"=hex:01,02,ff$'
fm_run fm_fltmc set nosuchsvc X dword 1
fm_is "set on an unknown service exits 1" "$FM_RC" 1
fm_like "and says so" "$FM_ERR" "no service nosuchsvc"
fm_run fm_fltmc set noentry X dword notanumber
fm_is "set with a bad value is a usage error" "$FM_RC" 2
fm_run fm_fltmc register bad "$FM_T/text.so" --altitude 12x
fm_is "register with a bad altitude exits 1" "$FM_RC" 1
fm_like "naming the altitude" "$FM_ERR" 'invalid altitude "12x"'

# fltmc install from a minifilter INF.
mkdir -p "$FM_T/inf"
cp "$FM_T/noentry.so" "$FM_T/inf/scanner.so" 2>/dev/null || echo x >"$FM_T/inf/scanner.so"
cat >"$FM_T/inf/scanner.inf" <<'INF'
; a minifilter INF in the usual shape
[Version]
Signature = "$Windows NT$"
Provider  = %Prov%

[DefaultInstall.NTamd64.Services]
AddService = %ServiceName%,,Scanner.Service

[Scanner.Service]
ServiceBinary = %12%\%DriverName%.sys
ServiceType   = 2
StartType     = 3
ErrorControl  = 1
LoadOrderGroup = "FSFilter Content Screener"
Dependencies  = FltMgr
AddReg        = Scanner.AddRegistry, Scanner.Params

[Scanner.AddRegistry]
HKR,,"DebugFlags",0x00010001,0xc
HKR,"Instances","DefaultInstance",0x00000000,%DefaultInstance%
HKR,"Instances\"%Instance1.Name%,"Altitude",0x00000000,%Instance1.Altitude%
HKR,"Instances\"%Instance1.Name%,"Flags",0x00010001,%Instance1.Flags%
HKLM,"System\Elsewhere","X",0x00000000,"not ours"

[Scanner.Params]
HKR,"Parameters","Extensions",0x00010000,"doc","txt", \
    "bat"
HKR,"Parameters","Path",0x00020000,"%%SystemRoot%%\x"
HKR,"Parameters","Blob",0x00000001,01,02,ff

[Strings]
Prov               = "Example"
ServiceName        = "scanner"
DriverName         = "scanner"
DefaultInstance    = "Scanner Instance"
Instance1.Name     = "Scanner Instance"
Instance1.Altitude = "265000"
Instance1.Flags    = 0x1
INF
fm_ok "fltmc install <inf>" fm_fltmc install "$FM_T/inf/scanner.inf"
fm_like "reports what it installed" "$FM_OUT" \
	"installed scanner .*image $FM_T/inf/scanner.so, instance \"Scanner Instance\" at altitude 265000"
reg=$(cat "$FM_ROOT/registry")
fm_like "INF: ImagePath beside the INF" "$reg" "^\"ImagePath\"=expand_sz:\"$FM_T/inf/scanner.so\"\$"
fm_like "INF: DefaultInstance" "$reg" '^"DefaultInstance"=sz:"Scanner Instance"$'
fm_like "INF: altitude" "$reg" '^"Altitude"=sz:"265000"$'
fm_like "INF: instance flags" "$reg" '^"Flags"=dword:0x00000001$'
fm_like "INF: a dword" "$reg" '^"DebugFlags"=dword:0x0000000c$'
fm_like "INF: a multi_sz over a continued line" "$reg" '^"Extensions"=multi_sz:"doc","txt","bat"$'
fm_like "INF: an expand_sz with %%" "$reg" '^"Path"=expand_sz:"%SystemRoot%\\\\x"$'
fm_like "INF: binary" "$reg" '^"Blob"=hex:01,02,ff$'
fm_unlike "INF: HKLM lines are not applied" "$reg" "not ours"
fm_like "INF: LoadOrderGroup becomes Group" "$reg" '^"Group"=sz:"FSFilter Content Screener"$'
fm_like "INF: Dependencies become DependOnService" "$reg" '^"DependOnService"=multi_sz:"FltMgr"$'
fm_like "INF: ErrorControl" "$reg" '^"ErrorControl"=dword:0x00000001$'
sed 's/StartType     = 3/StartType     = soon/; s/"scanner"$/"badscan"/' "$FM_T/inf/scanner.inf" >"$FM_T/inf/bad.inf"
fm_run fm_fltmc install "$FM_T/inf/bad.inf"
fm_is "an INF with a bad StartType exits 1" "$FM_RC" 1
fm_like "naming the section and directive" "$FM_ERR" 'Scanner.Service\]: bad StartType'
fm_unlike "and nothing of it is installed" "$(cat "$FM_ROOT/registry")" 'badscan'
printf '[Version]\nSignature="$Windows NT$"\n' >"$FM_T/inf/empty.inf"
fm_run fm_fltmc install "$FM_T/inf/empty.inf"
fm_is "an INF without AddService exits 1" "$FM_RC" 1
fm_like "and says why" "$FM_ERR" "no AddService directive"

# The registry survives a daemon restart.
fm_stop_daemon
fm_is "daemon stops with 0" "$FM_DSTATUS" 0
fm_start_daemon || fm_fail "fltmgrd restarts"
fm_ok "fltmgrd -n after restart" "$FM_FLTMGRD" --root "$FM_ROOT" -n
fm_like "still knows noentry" "$FM_OUT" "^service noentry$"

# A real minifilter, when the fixtures are built.
fx=$FM_BUILD/tests/fixtures/fx_seed.so
if [ -f "$fx" ]; then
	fm_ok "register the seed fixture" fm_fltmc register fxseed "$fx" --altitude 385100
	fm_ok "load it" fm_fltmc load fxseed
	fm_ok "filters lists it" fm_fltmc filters
	fm_like "with its altitude" "$FM_OUT" "^fxseed +[0-9]+ +385100 +0$"
	fm_run fm_fltmc load fxseed
	fm_is "loading it twice fails" "$FM_RC" 1
	fm_ok "unload it" fm_fltmc unload fxseed
	fm_ok "filters after unload" fm_fltmc filters
	fm_unlike "no longer lists it" "$FM_OUT" "^fxseed"
	fm_run fm_fltmc unload fxseed
	fm_is "unloading it again fails" "$FM_RC" 1
else
	fm_skip "load a real minifilter" "fixture $fx not built"
fi
fm_done
