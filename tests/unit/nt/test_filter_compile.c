/* A minimal minifilter in WDK style, compiled as filters are (-fshort-wchar, -Werror), then run. */
#include <fltKernel.h>
#include <dontuse.h>
#include <suppress.h>
#include <ntstrsafe.h>

#include "tap.h"

/*
 * Everything below the banner is written the way WDK samples write it: SAL, positional
 * registration, pool tags, try/except/finally with leave, FORCEINLINE, L"" literals, wcslen
 * and _wcsnicmp on WCHAR strings, KdPrint/DbgPrint with Microsoft formats, PAGED_CODE and
 * #pragma alloc_text.  The three Flt routines it calls are test stand-ins (the filter manager
 * core is not linked into this test).
 */

/* ===================== minifilter source ===================== */

#define SAMPLE_TAG 'lpmS'

typedef struct _SAMPLE_DATA {
	PFLT_FILTER Filter;
	ULONG Calls;
} SAMPLE_DATA;

SAMPLE_DATA SampleData;
static const WCHAR TargetExt[] = L"txt";
static UNICODE_STRING PortName = RTL_CONSTANT_STRING(L"\\SamplePort");

DRIVER_INITIALIZE DriverEntry;
NTSTATUS SampleUnload(_In_ FLT_FILTER_UNLOAD_FLAGS Flags);
FLT_PREOP_CALLBACK_STATUS SamplePreCreate(_Inout_ PFLT_CALLBACK_DATA Data,
					  _In_ PCFLT_RELATED_OBJECTS FltObjects,
					  _Flt_CompletionContext_Outptr_ PVOID *CompletionContext);
FLT_POSTOP_CALLBACK_STATUS SamplePostCreate(_Inout_ PFLT_CALLBACK_DATA Data,
					    _In_ PCFLT_RELATED_OBJECTS FltObjects,
					    _In_opt_ PVOID CompletionContext,
					    _In_ FLT_POST_OPERATION_FLAGS Flags);

#ifdef ALLOC_PRAGMA
#pragma alloc_text(INIT, DriverEntry)
#pragma alloc_text(PAGE, SampleUnload)
#endif
#pragma prefast(disable : 28175, "sample")
#pragma warning(push)

CONST FLT_OPERATION_REGISTRATION Callbacks[] = {
    {IRP_MJ_CREATE, 0, SamplePreCreate, SamplePostCreate}, {IRP_MJ_OPERATION_END}};

CONST FLT_REGISTRATION FilterRegistration = {sizeof(FLT_REGISTRATION),
					     FLT_REGISTRATION_VERSION,
					     0,
					     NULL,
					     Callbacks,
					     SampleUnload,
					     NULL,
					     NULL,
					     NULL,
					     NULL,
					     NULL,
					     NULL,
					     NULL};

FORCEINLINE BOOLEAN SampleIsTarget(_In_ PCWSTR Ext)
{
	return wcslen(Ext) == 3 && _wcsnicmp(Ext, TargetExt, 3) == 0;
}

_IRQL_requires_max_(APC_LEVEL) _Success_(return >= 0) static LONG
    SampleGuarded(_In_reads_bytes_(Length) PUCHAR Buffer, _In_ ULONG Length)
{
	LONG result = 0;
	PVOID scratch = NULL;

	PAGED_CODE();
	try {
		scratch = ExAllocatePoolZero(NonPagedPool, Length, SAMPLE_TAG);
		if (scratch == NULL) {
			result = -1;
			leave;
		}
		RtlCopyMemory(scratch, Buffer, Length);
		result = (LONG)Length;
	} finally {
		if (scratch != NULL)
			ExFreePoolWithTag(scratch, SAMPLE_TAG);
	}
	__try {
		result += 1;
	} __except (EXCEPTION_EXECUTE_HANDLER) {
		result = GetExceptionCode();
	}
	return result;
}

FLT_PREOP_CALLBACK_STATUS SamplePreCreate(_Inout_ PFLT_CALLBACK_DATA Data,
					  _In_ PCFLT_RELATED_OBJECTS FltObjects,
					  _Flt_CompletionContext_Outptr_ PVOID *CompletionContext)
{
	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(CompletionContext = NULL);
	if (FLT_IS_FASTIO_OPERATION(Data))
		return FLT_PREOP_DISALLOW_FASTIO;
	InterlockedIncrement((LONG volatile *)&SampleData.Calls);
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

FLT_POSTOP_CALLBACK_STATUS SamplePostCreate(_Inout_ PFLT_CALLBACK_DATA Data,
					    _In_ PCFLT_RELATED_OBJECTS FltObjects,
					    _In_opt_ PVOID CompletionContext,
					    _In_ FLT_POST_OPERATION_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(Data);
	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(CompletionContext);
	UNREFERENCED_PARAMETER(Flags);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

NTSTATUS SampleUnload(_In_ FLT_FILTER_UNLOAD_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(Flags);
	PAGED_CODE();
	FltUnregisterFilter(SampleData.Filter);
	return STATUS_SUCCESS;
}

NTSTATUS DriverEntry(_In_ PDRIVER_OBJECT DriverObject, _In_ PUNICODE_STRING RegistryPath)
{
	NTSTATUS status;
	WCHAR text[64];

	UNREFERENCED_PARAMETER(RegistryPath);
	KdPrint(("Sample!DriverEntry: %wZ\n", RegistryPath));
	status = RtlStringCchPrintfW(text, ARRAYSIZE(text), L"%ws:%d", L"port", 7);
	if (!NT_SUCCESS(status))
		return status;
	DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL, "Sample: %ws %wZ\n", text, &PortName);
	status = FltRegisterFilter(DriverObject, &FilterRegistration, &SampleData.Filter);
	FLT_ASSERT(NT_SUCCESS(status));
	if (NT_SUCCESS(status)) {
		status = FltStartFiltering(SampleData.Filter);
		if (!NT_SUCCESS(status))
			FltUnregisterFilter(SampleData.Filter);
	}
	return status;
}

#pragma warning(pop)

/* ===================== test harness ===================== */

static int registered, started, unregistered;

NTSTATUS FLTAPI FltRegisterFilter(PDRIVER_OBJECT Driver, const FLT_REGISTRATION *Registration,
				  PFLT_FILTER *RetFilter)
{
	(void)Driver;
	registered = Registration->Size == sizeof(FLT_REGISTRATION) &&
		     Registration->OperationRegistration[0].PreOperation == SamplePreCreate &&
		     Registration->OperationRegistration[1].MajorFunction == IRP_MJ_OPERATION_END &&
		     Registration->FilterUnloadCallback == SampleUnload;
	*RetFilter = (PFLT_FILTER)&registered;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltStartFiltering(PFLT_FILTER Filter)
{
	started = Filter == (PFLT_FILTER)&registered;
	return STATUS_SUCCESS;
}

void FLTAPI FltUnregisterFilter(PFLT_FILTER Filter)
{
	unregistered = Filter == (PFLT_FILTER)&registered;
}

static void t_driver_entry(void)
{
	DRIVER_OBJECT drv;
	UNICODE_STRING path = RTL_CONSTANT_STRING(L"\\REGISTRY\\MACHINE\\x");

	memset(&drv, 0, sizeof(drv));
	TAP_EQ_INT(DriverEntry(&drv, &path), STATUS_SUCCESS);
	TAP_CHECK(registered && started);
	TAP_EQ_INT(SampleUnload(0), STATUS_SUCCESS);
	TAP_CHECK(unregistered);
}

static void t_wide_and_seh(void)
{
	UCHAR bytes[10] = {0};
	FLT_CALLBACK_DATA data;
	PVOID ctx = (PVOID)1;

	TAP_EQ_INT(sizeof(WCHAR), 2);
	TAP_EQ_INT(sizeof(L"abc"), 8);
	TAP_CHECK(SampleIsTarget(L"TXT"));
	TAP_CHECK(!SampleIsTarget(L"doc"));
	TAP_EQ_INT(wcslen(L"\\Device\\HarddiskVolume1"), 23);
	TAP_EQ_INT(SampleGuarded(bytes, sizeof(bytes)), 11);
	memset(&data, 0, sizeof(data));
	data.Flags = FLTFL_CALLBACK_DATA_IRP_OPERATION;
	TAP_EQ_INT(SamplePreCreate(&data, NULL, &ctx), FLT_PREOP_SUCCESS_WITH_CALLBACK);
	/* UNREFERENCED_PARAMETER(CompletionContext = NULL) only clears the local copy. */
	TAP_CHECK(ctx == (PVOID)1);
	TAP_EQ_INT(SampleData.Calls, 1);
}

int main(void)
{
	TAP_RUN(t_driver_entry);
	TAP_RUN(t_wide_and_seh);
	return tap_done();
}
