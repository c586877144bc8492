/* nullfilter: the smallest complete minifilter — registers, starts filtering, unloads. */
#include <fltKernel.h>
#include <dontuse.h>
#include <suppress.h>

DRIVER_INITIALIZE DriverEntry;

static PFLT_FILTER gFilter;

static NTSTATUS FLTAPI NullUnload(_In_ FLT_FILTER_UNLOAD_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(Flags);
	PAGED_CODE();
	FltUnregisterFilter(gFilter);
	return STATUS_SUCCESS;
}

static NTSTATUS FLTAPI NullQueryTeardown(_In_ PCFLT_RELATED_OBJECTS FltObjects,
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
    NULL,
    NullUnload,
    NULL,
    NullQueryTeardown,
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

	UNREFERENCED_PARAMETER(RegistryPath);
	status = FltRegisterFilter(DriverObject, &Registration, &gFilter);
	if (!NT_SUCCESS(status))
		return status;
	status = FltStartFiltering(gFilter);
	if (!NT_SUCCESS(status))
		FltUnregisterFilter(gFilter);
	return status;
}
