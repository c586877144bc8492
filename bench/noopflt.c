/* noopflt: the benchmark's no-op minifilter — pre and post callbacks on every major function. */
#include <fltKernel.h>

DRIVER_INITIALIZE DriverEntry;

static PFLT_FILTER gFilter;

static FLT_PREOP_CALLBACK_STATUS FLTAPI NoopPre(_Inout_ PFLT_CALLBACK_DATA Data,
						_In_ PCFLT_RELATED_OBJECTS FltObjects,
						_Out_ PVOID *CompletionContext)
{
	UNREFERENCED_PARAMETER(Data);
	UNREFERENCED_PARAMETER(FltObjects);
	*CompletionContext = NULL;
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI NoopPost(_Inout_ PFLT_CALLBACK_DATA Data,
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

static NTSTATUS FLTAPI NoopUnload(_In_ FLT_FILTER_UNLOAD_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(Flags);
	FltUnregisterFilter(gFilter);
	return STATUS_SUCCESS;
}

static NTSTATUS FLTAPI NoopQueryTeardown(_In_ PCFLT_RELATED_OBJECTS FltObjects,
					 _In_ FLT_INSTANCE_QUERY_TEARDOWN_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(Flags);
	return STATUS_SUCCESS;
}

/* One entry per major function IRP_MJ_CREATE .. IRP_MJ_MAXIMUM_FUNCTION, then the end marker. */
static FLT_OPERATION_REGISTRATION Callbacks[IRP_MJ_MAXIMUM_FUNCTION + 2];

static FLT_REGISTRATION Registration = {
    sizeof(FLT_REGISTRATION),
    FLT_REGISTRATION_VERSION,
    0,
    NULL,
    Callbacks,
    NoopUnload,
    NULL,
    NoopQueryTeardown,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
};

NTSTATUS DriverEntry(_In_ PDRIVER_OBJECT DriverObject, _In_ PUNICODE_STRING RegistryPath)
{
	NTSTATUS status;
	ULONG i, n;

	UNREFERENCED_PARAMETER(RegistryPath);
	/*
	 * Every major function a minifilter may register for: not IRP_MJ_POWER nor
	 * IRP_MJ_DEVICE_CHANGE, and IRP_MJ_SHUTDOWN has no post-operation.
	 */
	n = 0;
	for (i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++) {
		if (i == IRP_MJ_POWER || i == IRP_MJ_DEVICE_CHANGE)
			continue;
		Callbacks[n].MajorFunction = (UCHAR)i;
		Callbacks[n].PreOperation = NoopPre;
		Callbacks[n].PostOperation = i == IRP_MJ_SHUTDOWN ? NULL : NoopPost;
		n++;
	}
	Callbacks[n].MajorFunction = IRP_MJ_OPERATION_END;
	status = FltRegisterFilter(DriverObject, &Registration, &gFilter);
	if (!NT_SUCCESS(status))
		return status;
	status = FltStartFiltering(gFilter);
	if (!NT_SUCCESS(status))
		FltUnregisterFilter(gFilter);
	return status;
}
