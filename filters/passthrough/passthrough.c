/* passthrough: a pre and post callback for every major function; optionally logs each one. */
#include <fltKernel.h>
#include <dontuse.h>
#include <suppress.h>

#define PT_TAG 'hTsP'

DRIVER_INITIALIZE DriverEntry;

static PFLT_FILTER gFilter;
/* Set from the service key's LogOperations value (REG_DWORD, nonzero = log). */
static ULONG gLogOperations;

/* What the pre-operation hands its post-operation when logging. */
typedef struct _PT_COMPLETION {
	PFLT_FILE_NAME_INFORMATION NameInfo;
	ULONG ProcessId;
} PT_COMPLETION, *PPT_COMPLETION;

static FLT_PREOP_CALLBACK_STATUS FLTAPI
PtPreOperation(_Inout_ PFLT_CALLBACK_DATA Data, _In_ PCFLT_RELATED_OBJECTS FltObjects,
	       _Flt_CompletionContext_Outptr_ PVOID *CompletionContext)
{
	PPT_COMPLETION completion;
	NTSTATUS status;

	UNREFERENCED_PARAMETER(FltObjects);
	*CompletionContext = NULL;
	if (!gLogOperations)
		return FLT_PREOP_SUCCESS_WITH_CALLBACK;
	completion = ExAllocatePoolZero(NonPagedPool, sizeof(*completion), PT_TAG);
	if (completion == NULL)
		return FLT_PREOP_SUCCESS_WITH_CALLBACK;
	completion->ProcessId = FltGetRequestorProcessId(Data);
	/* Ask for the name now: after cleanup the file object no longer answers name queries. */
	status = FltGetFileNameInformation(
	    Data, FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT, &completion->NameInfo);
	if (!NT_SUCCESS(status))
		completion->NameInfo = NULL;
	*CompletionContext = completion;
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI PtPostOperation(_Inout_ PFLT_CALLBACK_DATA Data,
							 _In_ PCFLT_RELATED_OBJECTS FltObjects,
							 _In_opt_ PVOID CompletionContext,
							 _In_ FLT_POST_OPERATION_FLAGS Flags)
{
	PPT_COMPLETION completion = CompletionContext;
	UNICODE_STRING none = RTL_CONSTANT_STRING(L"<no name>");

	UNREFERENCED_PARAMETER(FltObjects);
	if (completion == NULL)
		return FLT_POSTOP_FINISHED_PROCESSING;
	if (!(Flags & FLTFL_POST_OPERATION_DRAINING))
		DbgPrint("passthrough: %s pid=%lu name=%wZ status=0x%08lx info=%Iu\n",
			 FltGetIrpName(Data->Iopb->MajorFunction), completion->ProcessId,
			 completion->NameInfo ? &completion->NameInfo->Name : &none,
			 (ULONG)Data->IoStatus.Status, Data->IoStatus.Information);
	if (completion->NameInfo)
		FltReleaseFileNameInformation(completion->NameInfo);
	ExFreePoolWithTag(completion, PT_TAG);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

#define PT_OP(major)                                                                               \
	{                                                                                          \
		major, 0, PtPreOperation, PtPostOperation, NULL                                    \
	}

static const FLT_OPERATION_REGISTRATION Callbacks[] = {
    PT_OP(IRP_MJ_CREATE),
    PT_OP(IRP_MJ_CREATE_NAMED_PIPE),
    PT_OP(IRP_MJ_CLOSE),
    PT_OP(IRP_MJ_READ),
    PT_OP(IRP_MJ_WRITE),
    PT_OP(IRP_MJ_QUERY_INFORMATION),
    PT_OP(IRP_MJ_SET_INFORMATION),
    PT_OP(IRP_MJ_QUERY_EA),
    PT_OP(IRP_MJ_SET_EA),
    PT_OP(IRP_MJ_FLUSH_BUFFERS),
    PT_OP(IRP_MJ_QUERY_VOLUME_INFORMATION),
    PT_OP(IRP_MJ_SET_VOLUME_INFORMATION),
    PT_OP(IRP_MJ_DIRECTORY_CONTROL),
    PT_OP(IRP_MJ_FILE_SYSTEM_CONTROL),
    PT_OP(IRP_MJ_DEVICE_CONTROL),
    PT_OP(IRP_MJ_INTERNAL_DEVICE_CONTROL),
    {IRP_MJ_SHUTDOWN, 0, PtPreOperation, NULL, NULL},
    PT_OP(IRP_MJ_LOCK_CONTROL),
    PT_OP(IRP_MJ_CLEANUP),
    PT_OP(IRP_MJ_CREATE_MAILSLOT),
    PT_OP(IRP_MJ_QUERY_SECURITY),
    PT_OP(IRP_MJ_SET_SECURITY),
    PT_OP(IRP_MJ_QUERY_QUOTA),
    PT_OP(IRP_MJ_SET_QUOTA),
    PT_OP(IRP_MJ_PNP),
    {IRP_MJ_OPERATION_END},
};

static NTSTATUS FLTAPI PtUnload(_In_ FLT_FILTER_UNLOAD_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(Flags);
	FltUnregisterFilter(gFilter);
	return STATUS_SUCCESS;
}

static NTSTATUS FLTAPI PtInstanceSetup(_In_ PCFLT_RELATED_OBJECTS FltObjects,
				       _In_ FLT_INSTANCE_SETUP_FLAGS Flags,
				       _In_ DEVICE_TYPE VolumeDeviceType,
				       _In_ FLT_FILESYSTEM_TYPE VolumeFilesystemType)
{
	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(Flags);
	DbgPrint("passthrough: instance setup on device type 0x%lx, file system %d\n",
		 (ULONG)VolumeDeviceType, (int)VolumeFilesystemType);
	return STATUS_SUCCESS;
}

static NTSTATUS FLTAPI PtQueryTeardown(_In_ PCFLT_RELATED_OBJECTS FltObjects,
				       _In_ FLT_INSTANCE_QUERY_TEARDOWN_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(Flags);
	return STATUS_SUCCESS;
}

static const FLT_REGISTRATION Registration = {
    sizeof(FLT_REGISTRATION),
    FLT_REGISTRATION_VERSION,
    0,
    NULL,
    Callbacks,
    PtUnload,
    PtInstanceSetup,
    PtQueryTeardown,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
};

/* Read LogOperations from our service key. */
static VOID PtReadSettings(_In_ PUNICODE_STRING RegistryPath)
{
	OBJECT_ATTRIBUTES attributes;
	HANDLE key;
	UNICODE_STRING valueName = RTL_CONSTANT_STRING(L"LogOperations");
	UCHAR buffer[sizeof(KEY_VALUE_PARTIAL_INFORMATION) + sizeof(ULONG)];
	PKEY_VALUE_PARTIAL_INFORMATION value = (PKEY_VALUE_PARTIAL_INFORMATION)buffer;
	ULONG resultLength;
	NTSTATUS status;

	InitializeObjectAttributes(&attributes, RegistryPath,
				   OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
	status = ZwOpenKey(&key, KEY_READ, &attributes);
	if (!NT_SUCCESS(status))
		return;
	status = ZwQueryValueKey(key, &valueName, KeyValuePartialInformation, value, sizeof(buffer),
				 &resultLength);
	if (NT_SUCCESS(status) && value->Type == REG_DWORD && value->DataLength == sizeof(ULONG))
		gLogOperations = *(PULONG)value->Data;
	ZwClose(key);
}

NTSTATUS DriverEntry(_In_ PDRIVER_OBJECT DriverObject, _In_ PUNICODE_STRING RegistryPath)
{
	NTSTATUS status;

	PtReadSettings(RegistryPath);
	DbgPrint("passthrough: DriverEntry, logging %s\n", gLogOperations ? "on" : "off");
	status = FltRegisterFilter(DriverObject, &Registration, &gFilter);
	if (!NT_SUCCESS(status))
		return status;
	status = FltStartFiltering(gFilter);
	if (!NT_SUCCESS(status))
		FltUnregisterFilter(gFilter);
	return status;
}
