#!/bin/bash
# e2e: the SDK.  `make install` into a temporary DESTDIR; an out-of-tree minifilter and its
# user-mode companion, written here, build with only the installed files (pkg-config, the
# CMake package, Meson); the installed fltmc installs the filter from its INF, the installed
# fltmgrd loads it, and it filters a mounted volume.
. "$FM_SOURCE/tests/e2e/lib.sh"
fm_require_root
fm_require_fuse

# ---- make install ----------------------------------------------------------------------------
dest=$FM_T/dest
opt() {
	meson introspect --buildoptions "$FM_BUILD" |
		python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]))' "$1"
}
prefix=$(opt prefix)
libdir=$(opt libdir)
case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac
P=$dest$prefix
L=$dest$libdir
# A sanitizer build installs sanitized libraries: what links against them is built the same way.
san=$(opt b_sanitize)
SAN=
MESON_SAN=
if [ "$san" != none ]; then
	SAN="-fsanitize=$san"
	MESON_SAN="-Db_sanitize=$san -Db_lundef=false"
fi
fm_ok "make install DESTDIR=... (meson install underneath)" \
	make -s -C "$FM_SOURCE" install BUILD="$FM_BUILD" DESTDIR="$dest"
[ "$FM_RC" -eq 0 ] || fm_done

fm_ok "fltmgrd in sbin" test -x "$P/sbin/fltmgrd"
fm_ok "fltmc in bin" test -x "$P/bin/fltmc"
fm_ok "libfltmgr and libfltlib in libdir" test -f "$L/libfltmgr.so" -a -f "$L/libfltlib.so"
missing=
for h in "$FM_SOURCE"/include/*.h; do
	[ -f "$P/include/fltmgr/${h##*/}" ] || missing="$missing ${h##*/}"
done
fm_is "every header of include/ under include/fltmgr, WDK names and case" "$missing" ""
fm_ok "fltKernel.h, ntifs.h, wdm.h, fltUser.h among them" \
	test -f "$P/include/fltmgr/fltKernel.h" -a -f "$P/include/fltmgr/ntifs.h" \
	-a -f "$P/include/fltmgr/wdm.h" -a -f "$P/include/fltmgr/fltUser.h"
fm_ok "fltkernel.pc and fltuser.pc" test -f "$L/pkgconfig/fltkernel.pc" -a -f "$L/pkgconfig/fltuser.pc"
fm_ok "the CMake package" test -f "$L/cmake/fltmgr/fltmgrConfig.cmake" \
	-a -f "$L/cmake/fltmgr/fltmgrConfigVersion.cmake"
fm_ok "man pages fltmc(8) and fltmgrd(8)" \
	test -f "$P/share/man/man8/fltmc.8" -a -f "$P/share/man/man8/fltmgrd.8"
unit=$P/lib/systemd/system/fltmgrd.service
fm_ok "the systemd unit" test -f "$unit"
fm_like "its ExecStart is the installed daemon" "$(cat "$unit" 2>/dev/null)" \
	"^ExecStart=$prefix/sbin/fltmgrd( |\$)"
if command -v systemd-analyze >/dev/null 2>&1 && [ -f "$unit" ]; then
	mkdir -p "$FM_T/unit"
	sed "s|^ExecStart=$prefix/sbin/fltmgrd|ExecStart=$P/sbin/fltmgrd|" "$unit" >"$FM_T/unit/fltmgrd.service"
	out=$(LD_LIBRARY_PATH=$L systemd-analyze verify "$FM_T/unit/fltmgrd.service" 2>&1 | grep -v "Command 'man ")
	fm_is "systemd-analyze verify finds nothing wrong with the unit" "$out" ""
else
	fm_skip "systemd-analyze verify of the unit" "no systemd-analyze"
fi
missing=
for s in nullfilter passthrough protect xorcrypt deletewatch ctxdemo scanner minispy; do
	for f in "$L/fltmgr/samples/$s.so" "$L/fltmgr/samples/$s.inf" \
		"$P/share/fltmgr/samples/$s/$s.c"; do
		[ -f "$f" ] || missing="$missing ${f#"$dest"}"
	done
done
fm_is "every sample: .so and INF in <libdir>/fltmgr/samples, sources in share" "$missing" ""
fm_ok "the project template (Meson, CMake, make)" test -f "$P/share/fltmgr/template/meson.build" \
	-a -f "$P/share/fltmgr/template/CMakeLists.txt" -a -f "$P/share/fltmgr/template/myfilter.c"

# The staged files are used where they are: pkg-config through the sysroot, the programs
# through LD_LIBRARY_PATH (their run path names the final prefix).
export PKG_CONFIG_LIBDIR=$L/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$dest
export LD_LIBRARY_PATH=$L
FM_FLTMGRD=$P/sbin/fltmgrd
FM_FLTMC=$P/bin/fltmc
fm_like "the installed fltmgrd runs on the installed libfltmgr" "$(ldd "$FM_FLTMGRD")" \
	"libfltmgr.so => $L/libfltmgr.so"

fm_run pkg-config --cflags fltkernel
fm_like "fltkernel.pc: -fshort-wchar, -fPIC, the header directory" "$FM_OUT" \
	"-I$P/include/fltmgr .*-fshort-wchar.*-fPIC"
fm_run pkg-config --libs fltkernel
fm_like "fltkernel.pc: -lfltmgr" "$FM_OUT" "-L$L -lfltmgr"
fm_run pkg-config --cflags --libs fltuser
fm_like "fltuser.pc: -fshort-wchar, -lfltlib" "$FM_OUT" "-fshort-wchar.*-lfltlib"

# ---- an out-of-tree minifilter and its companion ---------------------------------------------
src=$FM_T/sdkdeny
mkdir -p "$src"
cat >"$src/sdkdeny.c" <<'C'
/* sdkdeny: refuses to open names containing "forbidden"; counts refusals; a port reports them. */
#include <fltKernel.h>

DRIVER_INITIALIZE DriverEntry;

static PFLT_FILTER gFilter;
static PFLT_PORT gServerPort, gClientPort;
static volatile LONG gDenied;
static const UNICODE_STRING gWord = RTL_CONSTANT_STRING(L"FORBIDDEN");

static BOOLEAN Contains(PCUNICODE_STRING Name)
{
	USHORT n = Name->Length / sizeof(WCHAR), w = gWord.Length / sizeof(WCHAR), i, j;

	for (i = 0; i + w <= n; i++) {
		for (j = 0; j < w; j++)
			if (RtlUpcaseUnicodeChar(Name->Buffer[i + j]) != gWord.Buffer[j])
				break;
		if (j == w)
			return TRUE;
	}
	return FALSE;
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI PreCreate(PFLT_CALLBACK_DATA Data,
						  PCFLT_RELATED_OBJECTS FltObjects, PVOID *Context)
{
	PFLT_FILE_NAME_INFORMATION info;
	FLT_PREOP_CALLBACK_STATUS result = FLT_PREOP_SUCCESS_NO_CALLBACK;

	UNREFERENCED_PARAMETER(FltObjects);
	*Context = NULL;
	if (!NT_SUCCESS(FltGetFileNameInformation(Data, FLT_FILE_NAME_NORMALIZED |
							    FLT_FILE_NAME_QUERY_DEFAULT, &info)))
		return result;
	if (Contains(&info->Name)) {
		InterlockedIncrement(&gDenied);
		DbgPrint("sdkdeny: denied %wZ to pid %lu\n", &info->Name,
			 FltGetRequestorProcessId(Data));
		Data->IoStatus.Status = STATUS_ACCESS_DENIED;
		Data->IoStatus.Information = 0;
		result = FLT_PREOP_COMPLETE;
	}
	FltReleaseFileNameInformation(info);
	return result;
}

static NTSTATUS FLTAPI Connect(PFLT_PORT ClientPort, PVOID ServerCookie, PVOID Context,
			       ULONG Size, PVOID *ConnectionCookie)
{
	UNREFERENCED_PARAMETER(ServerCookie);
	UNREFERENCED_PARAMETER(Context);
	UNREFERENCED_PARAMETER(Size);
	gClientPort = ClientPort;
	*ConnectionCookie = NULL;
	return STATUS_SUCCESS;
}

static VOID FLTAPI Disconnect(PVOID ConnectionCookie)
{
	UNREFERENCED_PARAMETER(ConnectionCookie);
	FltCloseClientPort(gFilter, &gClientPort);
}

static NTSTATUS FLTAPI Message(PVOID Cookie, PVOID In, ULONG InSize, PVOID Out, ULONG OutSize,
			       PULONG Returned)
{
	UNREFERENCED_PARAMETER(Cookie);
	UNREFERENCED_PARAMETER(In);
	UNREFERENCED_PARAMETER(InSize);
	if (Out == NULL || OutSize < sizeof(ULONG))
		return STATUS_BUFFER_TOO_SMALL;
	*(PULONG)Out = (ULONG)gDenied;
	*Returned = sizeof(ULONG);
	return STATUS_SUCCESS;
}

static NTSTATUS FLTAPI Unload(FLT_FILTER_UNLOAD_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(Flags);
	FltCloseCommunicationPort(gServerPort);
	FltUnregisterFilter(gFilter);
	return STATUS_SUCCESS;
}

static const FLT_OPERATION_REGISTRATION Callbacks[] = {
    {IRP_MJ_CREATE, 0, PreCreate, NULL},
    {IRP_MJ_OPERATION_END},
};

static const FLT_REGISTRATION Registration = {
    sizeof(FLT_REGISTRATION), FLT_REGISTRATION_VERSION, 0, NULL, Callbacks, Unload,
};

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNICODE_STRING portName = RTL_CONSTANT_STRING(L"\\SdkDenyPort");
	OBJECT_ATTRIBUTES attributes;
	PSECURITY_DESCRIPTOR sd;
	NTSTATUS status;

	UNREFERENCED_PARAMETER(RegistryPath);
	status = FltRegisterFilter(DriverObject, &Registration, &gFilter);
	if (!NT_SUCCESS(status))
		return status;
	status = FltBuildDefaultSecurityDescriptor(&sd, FLT_PORT_ALL_ACCESS);
	if (NT_SUCCESS(status)) {
		InitializeObjectAttributes(&attributes, &portName,
					   OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, sd);
		status = FltCreateCommunicationPort(gFilter, &gServerPort, &attributes, NULL,
						    Connect, Disconnect, Message, 1);
		FltFreeSecurityDescriptor(sd);
	}
	if (NT_SUCCESS(status)) {
		status = FltStartFiltering(gFilter);
		if (!NT_SUCCESS(status))
			FltCloseCommunicationPort(gServerPort);
	}
	if (!NT_SUCCESS(status))
		FltUnregisterFilter(gFilter);
	return status;
}
C
cat >"$src/sdkdenyctl.c" <<'C'
/* sdkdenyctl: asks sdkdeny, through its communication port, how many opens it refused. */
#include <windows.h>
#include <fltUser.h>
#include <stdio.h>

int main(void)
{
	HANDLE port;
	ULONG denied = 0;
	DWORD returned = 0;
	HRESULT hr;

	hr = FilterConnectCommunicationPort(L"\\SdkDenyPort", 0, NULL, 0, NULL, &port);
	if (FAILED(hr)) {
		fprintf(stderr, "sdkdenyctl: connect: 0x%08x\n", (unsigned)hr);
		return 1;
	}
	hr = FilterSendMessage(port, "?", 1, &denied, sizeof(denied), &returned);
	CloseHandle(port);
	if (FAILED(hr) || returned != sizeof(denied)) {
		fprintf(stderr, "sdkdenyctl: send: 0x%08x\n", (unsigned)hr);
		return 1;
	}
	printf("denied %u\n", (unsigned)denied);
	return 0;
}
C
cat >"$src/sdkdeny.inf" <<'INF'
; sdkdeny: an out-of-tree minifilter
[Version]
Signature   = "$Windows NT$"
Class       = "AntiVirus"
Provider    = %Prov%
DriverVer   = 01/01/2026,1.0.0.0

[DefaultInstall.NTamd64]
CopyFiles = SdkDeny.Files

[DefaultInstall.NTamd64.Services]
AddService = %ServiceName%,,SdkDeny.Service

[SdkDeny.Service]
DisplayName    = %ServiceName%
ServiceBinary  = %12%\%DriverName%.sys
Dependencies   = "FltMgr"
ServiceType    = 2
StartType      = 3
ErrorControl   = 1
LoadOrderGroup = "FSFilter Anti-Virus"
AddReg         = SdkDeny.AddRegistry

[SdkDeny.AddRegistry]
HKR,"Instances","DefaultInstance",0x00000000,%DefaultInstance%
HKR,"Instances\"%Instance1.Name%,"Altitude",0x00000000,%Instance1.Altitude%
HKR,"Instances\"%Instance1.Name%,"Flags",0x00010001,%Instance1.Flags%

[SdkDeny.Files]
%DriverName%.sys

[Strings]
Prov               = "sdk test"
ServiceName        = "sdkdeny"
DriverName         = "sdkdeny"
DefaultInstance    = "SdkDeny Instance"
Instance1.Name     = "SdkDeny Instance"
Instance1.Altitude = "328000"
Instance1.Flags    = 0x0
INF

# make + pkg-config: the filter, and the companion with fltuser.pc.
pc=$src/pc
mkdir -p "$pc"
cp "$src/sdkdeny.inf" "$pc/"
# shellcheck disable=SC2046
fm_ok "pkg-config: cc builds sdkdeny.so with -Wall -Wextra -Werror" \
	cc -Wall -Wextra -Werror -O2 $SAN $(pkg-config --cflags fltkernel) -shared -o "$pc/sdkdeny.so" \
	"$src/sdkdeny.c" $(pkg-config --libs fltkernel)
fm_run nm -D --defined-only "$pc/sdkdeny.so"
fm_like "it exports DriverEntry" "$FM_OUT" ' T DriverEntry$'
# shellcheck disable=SC2046
fm_ok "pkg-config: cc builds the companion with fltuser.pc" \
	cc -Wall -Wextra -Werror $SAN $(pkg-config --cflags fltuser) -o "$pc/sdkdenyctl" \
	"$src/sdkdenyctl.c" $(pkg-config --libs fltuser)

# The installed template's Makefile builds its myfilter.c.
cp -r "$P/share/fltmgr/template" "$FM_T/template"
fm_ok "the template builds with its Makefile (make + pkg-config)" \
	make -s -C "$FM_T/template" CFLAGS="-O2 -Wall -Wextra -Werror $SAN"
fm_ok "into myfilter.so" test -f "$FM_T/template/myfilter.so"

# The CMake package, relocatable (found in the staged prefix).
if command -v cmake >/dev/null 2>&1; then
	cat >"$src/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.13)
project(sdkdeny C)
find_package(fltmgr 0.1 REQUIRED)
fltmgr_add_minifilter(sdkdeny SOURCES sdkdeny.c INF sdkdeny.inf)
target_compile_options(sdkdeny PRIVATE -Wall -Wextra -Werror)
add_executable(sdkdenyctl sdkdenyctl.c)
target_link_libraries(sdkdenyctl PRIVATE fltmgr::fltuser)
CMAKE
	fm_ok "cmake: configure with find_package(fltmgr)" \
		cmake -S "$src" -B "$src/cm" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
		-DCMAKE_C_FLAGS="$SAN"
	fm_ok "cmake: build (fltmgr_add_minifilter, fltmgr::fltuser)" cmake --build "$src/cm"
	fm_ok "cmake: sdkdeny.so with its INF beside it, and the companion" \
		test -f "$src/cm/sdkdeny.so" -a -f "$src/cm/sdkdeny.inf" -a -x "$src/cm/sdkdenyctl"
	fm_run nm -D --defined-only "$src/cm/sdkdeny.so"
	fm_like "cmake: the module exports DriverEntry" "$FM_OUT" ' T DriverEntry$'
	mkdir -p "$FM_T/v"
	printf 'cmake_minimum_required(VERSION 3.13)\nproject(v C)\nfind_package(fltmgr 9 REQUIRED)\n' \
		>"$FM_T/v/CMakeLists.txt"
	fm_fails "cmake: find_package(fltmgr 9) is refused (version file)" \
		cmake -S "$FM_T/v" -B "$FM_T/v/b" -DCMAKE_PREFIX_PATH="$P"
else
	fm_skip "cmake: find_package(fltmgr)" "cmake not installed"
fi

# Meson, with the installed template's recipe (dependency('fltkernel'), shared_module).
ms=$src/ms
mkdir -p "$ms"
sed 's/myfilter/sdkdeny/g' "$P/share/fltmgr/template/meson.build" >"$ms/meson.build"
cp "$src/sdkdeny.c" "$src/sdkdeny.inf" "$src/sdkdenyctl.c" "$ms/"
fm_ok "meson: setup with the template's recipe" meson setup "$ms/b" "$ms" $MESON_SAN
fm_ok "meson: build" ninja -C "$ms/b"
fm_ok "meson: sdkdeny.so, its INF and the companion" \
	test -f "$ms/b/sdkdeny.so" -a -f "$ms/b/sdkdeny.inf" -a -x "$ms/b/sdkdenyctl"

# ---- install with fltmc, load, filter ---------------------------------------------------------
data=$FM_T/data
mkdir -p "$data"
chmod 0755 "$FM_T" "$data"
echo "ordinary" >"$data/plain.txt"
echo "hidden" >"$data/forbidden.txt"
echo "key" >"$data/a.secret"
log=$FM_ROOT/fltmgrd.log
fm_start_daemon || fm_fail "the installed fltmgrd starts"
fm_run fm_fltmc install "$pc/sdkdeny.inf"
fm_like "the installed fltmc installs sdkdeny from its INF (image beside it)" "$FM_OUT" \
	"installed sdkdeny .*image $pc/sdkdeny.so"
fm_ok "mount a volume over the backing directory" fm_mount "$data"
fm_ok "load sdkdeny" fm_fltmc load sdkdeny
fm_run fm_fltmc filters
fm_like "fltmc filters lists it at its INF altitude" "$FM_OUT" 'sdkdeny +1 +328000'
fm_run cat "$data/plain.txt"
fm_is "an ordinary file still reads" "$FM_OUT" "ordinary"
fm_run cat "$data/forbidden.txt"
fm_like "cat of a forbidden name: Permission denied, from the out-of-tree filter" "$FM_ERR" \
	"Permission denied"
fm_run bash -c "echo x >'$data/more-FORBIDDEN.log'"
fm_like "creating one is refused too" "$FM_ERR" "Permission denied"
fm_like "the filter's DbgPrint reached fltmgrd's log with the PID" "$(cat "$log")" \
	'sdkdeny: denied \\Device\\HarddiskVolume[0-9]+\\forbidden.txt to pid [0-9]+'
fm_run env FLTMGR_ROOT="$FM_ROOT" "$pc/sdkdenyctl"
fm_is "the companion (fltuser.pc) reads the count through the filter's port" "$FM_OUT" "denied 2"
if [ -x "$ms/b/sdkdenyctl" ]; then
	fm_run env FLTMGR_ROOT="$FM_ROOT" "$ms/b/sdkdenyctl"
	fm_is "so does the Meson-built companion" "$FM_OUT" "denied 2"
fi
fm_ok "unload sdkdeny" fm_fltmc unload sdkdeny
fm_run cat "$data/forbidden.txt"
fm_is "after unload the file reads" "$FM_OUT" "hidden"

# The CMake-built image loads as well (registered under another name).
if [ -f "$src/cm/sdkdeny.so" ]; then
	fm_ok "register the CMake-built image" fm_fltmc register sdkdeny2 "$src/cm/sdkdeny.so" --altitude 328010
	fm_ok "load it" fm_fltmc load sdkdeny2
	fm_run cat "$data/forbidden.txt"
	fm_like "it filters too" "$FM_ERR" "Permission denied"
	fm_ok "unload it" fm_fltmc unload sdkdeny2
fi

# An installed sample, from the INF installed beside its .so.
fm_run fm_fltmc install "$L/fltmgr/samples/protect.inf"
fm_like "an installed sample installs from its INF" "$FM_OUT" "installed protect .*image $L/fltmgr/samples/protect.so"
fm_ok "and loads" fm_fltmc load protect
fm_run cat "$data/a.secret"
fm_like "with the INF's Patterns: *.secret is refused" "$FM_ERR" "Permission denied"
fm_ok "unload protect" fm_fltmc unload protect

# ---- PREFIX --------------------------------------------------------------------------------------
# A fresh configuration with another prefix plans every file under it (nothing is built).
fm_ok "meson setup --prefix (what make install PREFIX=... configures)" \
	meson setup "$FM_T/pbuild" "$FM_SOURCE" --prefix "$FM_T/prefix"
fm_run meson introspect --installed "$FM_T/pbuild"
outside=$(printf '%s\n' "$FM_OUT" | python3 -c 'import json,sys; print(" ".join(v for v in json.load(sys.stdin).values() if not v.startswith(sys.argv[1] + "/")))' "$FM_T/prefix")
fm_is "every installed file lies under PREFIX" "$outside" ""
fm_like "fltkernel.pc of that configuration names PREFIX" "$(cat "$FM_T/pbuild/meson-private/fltkernel.pc" 2>/dev/null)" \
	"^prefix=$FM_T/prefix\$"
fm_run make -n -C "$FM_SOURCE" install BUILD="$FM_T/pbuild" PREFIX=/opt/fm DESTDIR=/stage
fm_like "make install passes PREFIX to meson configure" "$FM_OUT" "meson configure .*-Dprefix=/opt/fm"
fm_like "and DESTDIR to meson install" "$FM_OUT" "meson install -C $FM_T/pbuild --no-rebuild --destdir /stage"

fm_done
