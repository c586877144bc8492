/* protect: refuses to open any file whose name matches a pattern from its service key. */
#include <fltKernel.h>
#include <dontuse.h>
#include <suppress.h>

#define PR_TAG 'tcrP'
#define PR_MAX_PATTERNS 64

DRIVER_INITIALIZE DriverEntry;

static PFLT_FILTER gFilter;
/* Upcased expressions from the Patterns value (REG_MULTI_SZ), e.g. "*.SECRET". */
static UNICODE_STRING gPatterns[PR_MAX_PATTERNS];
static ULONG gPatternCount;

static BOOLEAN PrIsProtected(_In_ PCUNICODE_STRING FinalComponent)
{
	ULONG i;

	for (i = 0; i < gPatternCount; i++)
		if (FsRtlIsNameInExpression(&gPatterns[i], (PUNICODE_STRING)FinalComponent, TRUE,
					    NULL))
			return TRUE;
	return FALSE;
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI
PrPreCreate(_Inout_ PFLT_CALLBACK_DATA Data, _In_ PCFLT_RELATED_OBJECTS FltObjects,
	    _Flt_CompletionContext_Outptr_ PVOID *CompletionContext)
{
	PFLT_FILE_NAME_INFORMATION nameInfo;
	NTSTATUS status;
	BOOLEAN deny;

	UNREFERENCED_PARAMETER(FltObjects);
	*CompletionContext = NULL;
	if (gPatternCount == 0)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	status = FltGetFileNameInformation(Data, FLT_FILE_NAME_OPENED | FLT_FILE_NAME_QUERY_DEFAULT,
					   &nameInfo);
	if (!NT_SUCCESS(status))
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	status = FltParseFileNameInformation(nameInfo);
	deny = NT_SUCCESS(status) && PrIsProtected(&nameInfo->FinalComponent);
	if (deny) {
		DbgPrint("protect: denied %wZ to pid %lu\n", &nameInfo->Name,
			 FltGetRequestorProcessId(Data));
		Data->IoStatus.Status = STATUS_ACCESS_DENIED;
		Data->IoStatus.Information = 0;
	}
	FltReleaseFileNameInformation(nameInfo);
	return deny ? FLT_PREOP_COMPLETE : FLT_PREOP_SUCCESS_NO_CALLBACK;
}

static const FLT_OPERATION_REGISTRATION Callbacks[] = {
    {IRP_MJ_CREATE, 0, PrPreCreate, NULL, NULL},
    {IRP_MJ_OPERATION_END},
};

static VOID PrFreePatterns(VOID)
{
	ULONG i;

	for (i = 0; i < gPatternCount; i++)
		RtlFreeUnicodeString(&gPatterns[i]);
	gPatternCount = 0;
}

static NTSTATUS FLTAPI PrUnload(_In_ FLT_FILTER_UNLOAD_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(Flags);
	FltUnregisterFilter(gFilter);
	PrFreePatterns();
	return STATUS_SUCCESS;
}

static const FLT_REGISTRATION Registration = {
    sizeof(FLT_REGISTRATION),
    FLT_REGISTRATION_VERSION,
    0,
    NULL,
    Callbacks,
    PrUnload,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
};

/* Load Patterns (REG_MULTI_SZ) from the service key, upcasing each for FsRtlIsNameInExpression. */
static NTSTATUS PrReadPatterns(_In_ PUNICODE_STRING RegistryPath)
{
	OBJECT_ATTRIBUTES attributes;
	HANDLE key;
	UNICODE_STRING valueName = RTL_CONSTANT_STRING(L"Patterns");
	PKEY_VALUE_PARTIAL_INFORMATION value = NULL;
	ULONG length = 0;
	NTSTATUS status;
	PWCHAR p, end;

	InitializeObjectAttributes(&attributes, RegistryPath,
				   OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
	status = ZwOpenKey(&key, KEY_READ, &attributes);
	if (!NT_SUCCESS(status))
		return status;
	status = ZwQueryValueKey(key, &valueName, KeyValuePartialInformation, NULL, 0, &length);
	if (status != STATUS_BUFFER_TOO_SMALL && status != STATUS_BUFFER_OVERFLOW) {
		ZwClose(key);
		/* No Patterns value: nothing is protected. */
		return STATUS_SUCCESS;
	}
	value = ExAllocatePoolZero(PagedPool, length, PR_TAG);
	if (value == NULL) {
		ZwClose(key);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	status =
	    ZwQueryValueKey(key, &valueName, KeyValuePartialInformation, value, length, &length);
	ZwClose(key);
	if (!NT_SUCCESS(status) || value->Type != REG_MULTI_SZ) {
		ExFreePoolWithTag(value, PR_TAG);
		return NT_SUCCESS(status) ? STATUS_SUCCESS : status;
	}
	p = (PWCHAR)value->Data;
	end = (PWCHAR)(value->Data + value->DataLength);
	while (p < end && *p != L'\0' && gPatternCount < PR_MAX_PATTERNS) {
		UNICODE_STRING one;
		RtlInitUnicodeString(&one, p);
		status = RtlUpcaseUnicodeString(&gPatterns[gPatternCount], &one, TRUE);
		if (!NT_SUCCESS(status))
			break;
		DbgPrint("protect: pattern %wZ\n", &gPatterns[gPatternCount]);
		gPatternCount++;
		p += one.Length / sizeof(WCHAR) + 1;
	}
	ExFreePoolWithTag(value, PR_TAG);
	return status;
}

NTSTATUS DriverEntry(_In_ PDRIVER_OBJECT DriverObject, _In_ PUNICODE_STRING RegistryPath)
{
	NTSTATUS status;

	status = PrReadPatterns(RegistryPath);
	if (!NT_SUCCESS(status)) {
		PrFreePatterns();
		return status;
	}
	status = FltRegisterFilter(DriverObject, &Registration, &gFilter);
	if (!NT_SUCCESS(status)) {
		PrFreePatterns();
		return status;
	}
	status = FltStartFiltering(gFilter);
	if (!NT_SUCCESS(status)) {
		FltUnregisterFilter(gFilter);
		PrFreePatterns();
	}
	return status;
}
