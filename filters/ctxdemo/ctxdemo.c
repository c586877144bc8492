/* ctxdemo: instance, stream and stream-handle contexts; counts opens, reads, writes per stream. */
#include <fltKernel.h>
#include <dontuse.h>
#include <suppress.h>

#define CD_INSTANCE_TAG 'iXdC'
#define CD_STREAM_TAG 'sXdC'
#define CD_HANDLE_TAG 'hXdC'
#define CD_NAME_TAG 'nXdC'

DRIVER_INITIALIZE DriverEntry;

static PFLT_FILTER gFilter;
static LONG gNextHandleId;

/* One per instance: the volume it watches and how many streams it gave a context. */
typedef struct _CD_INSTANCE_CONTEXT {
	UNICODE_STRING VolumeName;
	WCHAR VolumeNameBuffer[64];
	LONG Streams;
} CD_INSTANCE_CONTEXT, *PCD_INSTANCE_CONTEXT;

/* One per stream (file), shared by every handle opened on it. */
typedef struct _CD_STREAM_CONTEXT {
	UNICODE_STRING Name; /* pool buffer, CD_NAME_TAG */
	BOOLEAN Attached;    /* it won FltSetStreamContext; a spare that lost is only freed */
	LONG Opens;
	LONG Reads;
	LONG Writes;
} CD_STREAM_CONTEXT, *PCD_STREAM_CONTEXT;

/* One per open handle (FILE_OBJECT); holds a reference on its stream's context. */
typedef struct _CD_HANDLE_CONTEXT {
	LONG Id;
	ULONG ProcessId;
	PCD_STREAM_CONTEXT Stream;
} CD_HANDLE_CONTEXT, *PCD_HANDLE_CONTEXT;

static VOID FLTAPI CdInstanceCleanup(_In_ PFLT_CONTEXT Context, _In_ FLT_CONTEXT_TYPE ContextType)
{
	PCD_INSTANCE_CONTEXT ic = Context;

	UNREFERENCED_PARAMETER(ContextType);
	DbgPrint("ctxdemo: instance context for %wZ cleaned up (%ld stream contexts made)\n",
		 &ic->VolumeName, ic->Streams);
}

static VOID FLTAPI CdStreamCleanup(_In_ PFLT_CONTEXT Context, _In_ FLT_CONTEXT_TYPE ContextType)
{
	PCD_STREAM_CONTEXT sc = Context;
	UNICODE_STRING none = RTL_CONSTANT_STRING(L"<no name>");

	UNREFERENCED_PARAMETER(ContextType);
	if (sc->Attached)
		DbgPrint("ctxdemo: stream context for %wZ cleaned up after %ld opens, %ld reads, "
			 "%ld writes\n",
			 sc->Name.Buffer ? &sc->Name : &none, sc->Opens, sc->Reads, sc->Writes);
	if (sc->Name.Buffer)
		ExFreePoolWithTag(sc->Name.Buffer, CD_NAME_TAG);
}

static VOID FLTAPI CdHandleCleanup(_In_ PFLT_CONTEXT Context, _In_ FLT_CONTEXT_TYPE ContextType)
{
	PCD_HANDLE_CONTEXT hc = Context;

	UNREFERENCED_PARAMETER(ContextType);
	DbgPrint("ctxdemo: stream-handle context #%ld (pid %lu) for %wZ cleaned up\n", hc->Id,
		 hc->ProcessId, &hc->Stream->Name);
	FltReleaseContext(hc->Stream);
}

static const FLT_CONTEXT_REGISTRATION ContextRegistration[] = {
    {FLT_INSTANCE_CONTEXT, 0, CdInstanceCleanup, sizeof(CD_INSTANCE_CONTEXT), CD_INSTANCE_TAG, NULL,
     NULL, NULL},
    {FLT_STREAM_CONTEXT, 0, CdStreamCleanup, sizeof(CD_STREAM_CONTEXT), CD_STREAM_TAG, NULL, NULL,
     NULL},
    {FLT_STREAMHANDLE_CONTEXT, 0, CdHandleCleanup, sizeof(CD_HANDLE_CONTEXT), CD_HANDLE_TAG, NULL,
     NULL, NULL},
    {FLT_CONTEXT_END}};

/* Pre-create: the stream is not known yet, so only allocate; post-create attaches it. */
static FLT_PREOP_CALLBACK_STATUS FLTAPI
CdPreCreate(_Inout_ PFLT_CALLBACK_DATA Data, _In_ PCFLT_RELATED_OBJECTS FltObjects,
	    _Flt_CompletionContext_Outptr_ PVOID *CompletionContext)
{
	PCD_STREAM_CONTEXT sc = NULL;
	NTSTATUS status;

	UNREFERENCED_PARAMETER(Data);
	*CompletionContext = NULL;
	status = FltAllocateContext(FltObjects->Filter, FLT_STREAM_CONTEXT,
				    sizeof(CD_STREAM_CONTEXT), PagedPool, (PFLT_CONTEXT *)&sc);
	if (!NT_SUCCESS(status))
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	RtlZeroMemory(sc, sizeof(*sc));
	*CompletionContext = sc;
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

/* Give the spare stream context its name, so the one that wins has it from the start. */
static VOID CdNameStream(_Inout_ PFLT_CALLBACK_DATA Data, _Inout_ PCD_STREAM_CONTEXT sc)
{
	PFLT_FILE_NAME_INFORMATION info;
	NTSTATUS status;

	status = FltGetFileNameInformation(
	    Data, FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT, &info);
	if (!NT_SUCCESS(status))
		return;
	sc->Name.Buffer =
	    ExAllocatePoolWithTag(PagedPool, info->Name.Length + sizeof(WCHAR), CD_NAME_TAG);
	if (sc->Name.Buffer) {
		RtlCopyMemory(sc->Name.Buffer, info->Name.Buffer, info->Name.Length);
		sc->Name.Length = info->Name.Length;
		sc->Name.MaximumLength = (USHORT)(info->Name.Length + sizeof(WCHAR));
	}
	FltReleaseFileNameInformation(info);
}

static VOID CdAttachHandle(_In_ PCFLT_RELATED_OBJECTS FltObjects, _In_ PCD_STREAM_CONTEXT sc,
			   _In_ ULONG ProcessId)
{
	PCD_HANDLE_CONTEXT hc = NULL;
	NTSTATUS status;

	status = FltAllocateContext(FltObjects->Filter, FLT_STREAMHANDLE_CONTEXT,
				    sizeof(CD_HANDLE_CONTEXT), PagedPool, (PFLT_CONTEXT *)&hc);
	if (!NT_SUCCESS(status))
		return;
	hc->Id = InterlockedIncrement(&gNextHandleId);
	hc->ProcessId = ProcessId;
	FltReferenceContext(sc);
	hc->Stream = sc;
	status = FltSetStreamHandleContext(FltObjects->Instance, FltObjects->FileObject,
					   FLT_SET_CONTEXT_KEEP_IF_EXISTS, hc, NULL);
	if (NT_SUCCESS(status))
		DbgPrint("ctxdemo: stream-handle context #%ld (pid %lu) for %wZ, open %ld of the "
			 "stream\n",
			 hc->Id, ProcessId, &sc->Name, ReadNoFence(&sc->Opens));
	/* Set or not, our allocation reference goes; if it was set the handle keeps it alive. */
	FltReleaseContext(hc);
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI CdPostCreate(_Inout_ PFLT_CALLBACK_DATA Data,
						      _In_ PCFLT_RELATED_OBJECTS FltObjects,
						      _In_opt_ PVOID CompletionContext,
						      _In_ FLT_POST_OPERATION_FLAGS Flags)
{
	PCD_STREAM_CONTEXT spare = CompletionContext, sc = NULL;
	PCD_INSTANCE_CONTEXT ic = NULL;
	BOOLEAN isDirectory = FALSE;
	NTSTATUS status;

	if (!NT_SUCCESS(Data->IoStatus.Status) || (Flags & FLTFL_POST_OPERATION_DRAINING) ||
	    (NT_SUCCESS(
		 FltIsDirectory(FltObjects->FileObject, FltObjects->Instance, &isDirectory)) &&
	     isDirectory)) {
		FltReleaseContext(spare);
		return FLT_POSTOP_FINISHED_PROCESSING;
	}
	CdNameStream(Data, spare);
	/* Another open of the same file may have attached its own context meanwhile: KEEP
	 * gives us that one (referenced) and ours is discarded. */
	spare->Attached = TRUE;
	status = FltSetStreamContext(FltObjects->Instance, FltObjects->FileObject,
				     FLT_SET_CONTEXT_KEEP_IF_EXISTS, spare, (PFLT_CONTEXT *)&sc);
	if (status == STATUS_FLT_CONTEXT_ALREADY_DEFINED) {
		spare->Attached = FALSE;
	} else if (NT_SUCCESS(status)) {
		sc = spare;
		FltReferenceContext(sc);
		DbgPrint("ctxdemo: stream context for %wZ created\n", &sc->Name);
		if (NT_SUCCESS(FltGetInstanceContext(FltObjects->Instance, (PFLT_CONTEXT *)&ic))) {
			InterlockedIncrement(&ic->Streams);
			FltReleaseContext(ic);
		}
	} else {
		spare->Attached = FALSE;
		sc = NULL;
	}
	FltReleaseContext(spare);
	if (sc == NULL)
		return FLT_POSTOP_FINISHED_PROCESSING;
	InterlockedIncrement(&sc->Opens);
	CdAttachHandle(FltObjects, sc, FltGetRequestorProcessId(Data));
	FltReleaseContext(sc);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI
CdPreReadWrite(_Inout_ PFLT_CALLBACK_DATA Data, _In_ PCFLT_RELATED_OBJECTS FltObjects,
	       _Flt_CompletionContext_Outptr_ PVOID *CompletionContext)
{
	PCD_STREAM_CONTEXT sc = NULL;

	*CompletionContext = NULL;
	if (NT_SUCCESS(FltGetStreamContext(FltObjects->Instance, FltObjects->FileObject,
					   (PFLT_CONTEXT *)&sc))) {
		if (Data->Iopb->MajorFunction == IRP_MJ_READ)
			InterlockedIncrement(&sc->Reads);
		else
			InterlockedIncrement(&sc->Writes);
		FltReleaseContext(sc);
	}
	return FLT_PREOP_SUCCESS_NO_CALLBACK;
}

static const FLT_OPERATION_REGISTRATION Callbacks[] = {
    {IRP_MJ_CREATE, 0, CdPreCreate, CdPostCreate, NULL},
    {IRP_MJ_READ, 0, CdPreReadWrite, NULL, NULL},
    {IRP_MJ_WRITE, 0, CdPreReadWrite, NULL, NULL},
    {IRP_MJ_OPERATION_END}};

static NTSTATUS FLTAPI CdInstanceSetup(_In_ PCFLT_RELATED_OBJECTS FltObjects,
				       _In_ FLT_INSTANCE_SETUP_FLAGS Flags,
				       _In_ DEVICE_TYPE VolumeDeviceType,
				       _In_ FLT_FILESYSTEM_TYPE VolumeFilesystemType)
{
	PCD_INSTANCE_CONTEXT ic = NULL;
	NTSTATUS status;

	UNREFERENCED_PARAMETER(Flags);
	UNREFERENCED_PARAMETER(VolumeDeviceType);
	UNREFERENCED_PARAMETER(VolumeFilesystemType);
	status = FltAllocateContext(FltObjects->Filter, FLT_INSTANCE_CONTEXT,
				    sizeof(CD_INSTANCE_CONTEXT), NonPagedPool, (PFLT_CONTEXT *)&ic);
	if (!NT_SUCCESS(status))
		return status;
	RtlZeroMemory(ic, sizeof(*ic));
	ic->VolumeName.Buffer = ic->VolumeNameBuffer;
	ic->VolumeName.MaximumLength = sizeof(ic->VolumeNameBuffer);
	(VOID) FltGetVolumeName(FltObjects->Volume, &ic->VolumeName, NULL);
	status =
	    FltSetInstanceContext(FltObjects->Instance, FLT_SET_CONTEXT_KEEP_IF_EXISTS, ic, NULL);
	if (NT_SUCCESS(status))
		DbgPrint("ctxdemo: instance context for %wZ created\n", &ic->VolumeName);
	FltReleaseContext(ic);
	return status;
}

static NTSTATUS FLTAPI CdUnload(_In_ FLT_FILTER_UNLOAD_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(Flags);
	FltUnregisterFilter(gFilter);
	return STATUS_SUCCESS;
}

static const FLT_REGISTRATION Registration = {
    sizeof(FLT_REGISTRATION),
    FLT_REGISTRATION_VERSION,
    0,
    ContextRegistration,
    Callbacks,
    CdUnload,
    CdInstanceSetup,
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
