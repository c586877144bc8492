/*
 * myfilter: a starting point for a minifilter.  It logs each successful IRP_MJ_CREATE with the
 * caller's PID and the file's normalized name (DbgPrint goes to fltmgrd's log).  The same
 * source builds with the WDK for Windows.
 */
#include <fltKernel.h>

DRIVER_INITIALIZE DriverEntry;

static PFLT_FILTER gFilter;

static FLT_POSTOP_CALLBACK_STATUS FLTAPI MyPostCreate(_Inout_ PFLT_CALLBACK_DATA Data,
						      _In_ PCFLT_RELATED_OBJECTS FltObjects,
						      _In_opt_ PVOID CompletionContext,
						      _In_ FLT_POST_OPERATION_FLAGS Flags)
{
	PFLT_FILE_NAME_INFORMATION name;

	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(CompletionContext);
	if ((Flags & FLTFL_POST_OPERATION_DRAINING) || !NT_SUCCESS(Data->IoStatus.Status))
		return FLT_POSTOP_FINISHED_PROCESSING;
	if (NT_SUCCESS(FltGetFileNameInformation(
		Data, FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT, &name))) {
		DbgPrint("myfilter: open by pid %lu of %wZ\n", FltGetRequestorProcessId(Data),
			 &name->Name);
		FltReleaseFileNameInformation(name);
	}
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static const FLT_OPERATION_REGISTRATION Callbacks[] = {
    {IRP_MJ_CREATE, 0, NULL, MyPostCreate},
    {IRP_MJ_OPERATION_END},
};

static NTSTATUS FLTAPI MyUnload(_In_ FLT_FILTER_UNLOAD_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(Flags);
	FltUnregisterFilter(gFilter);
	return STATUS_SUCCESS;
}

static const FLT_REGISTRATION Registration = {
    sizeof(FLT_REGISTRATION), /* Size */
    FLT_REGISTRATION_VERSION, /* Version */
    0,			      /* Flags */
    NULL,		      /* ContextRegistration */
    Callbacks,		      /* OperationRegistration */
    MyUnload,		      /* FilterUnloadCallback */
};

NTSTATUS DriverEntry(_In_ PDRIVER_OBJECT DriverObject, _In_ PUNICODE_STRING RegistryPath)
{
	NTSTATUS status;

	UNREFERENCED_PARAMETER(RegistryPath);
	status = FltRegisterFilter(DriverObject, &Registration, &gFilter);
	if (!NT_SUCCESS(status))
		return status;
	status = FltStartFiltering(gFilter);
	if (!NT_SUCCESS(status))
		FltUnregisterFilter(gFilter);
	return status;
}
