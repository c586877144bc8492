/* deletewatch: reports every file deletion once, when the file is really gone. */
#include <fltKernel.h>
#include <dontuse.h>
#include <suppress.h>

/*
 * A file is gone when it has no name left and no handle open.  Deletions reach a file system
 * in three ways, all watched here:
 *   - a delete disposition (FileDispositionInformation[Ex] with delete set).  With POSIX
 *     semantics the name goes at once; otherwise at the cleanup of the last handle;
 *   - a create with FILE_DELETE_ON_CLOSE: at the cleanup of the last handle;
 *   - a rename that replaces an existing file: the replaced file loses its name.
 * A stream context counts the handles this instance saw opened and remembers the deletion
 * (who asked, the name it had).  When the count says no other handle is left, the filter asks
 * the file system itself, with FltQueryInformationFile(FileStandardInformation) on the file
 * object, whether the stream still has a link: the file was deleted only if it has none
 * (unlinking one of two hard links deletes no file).
 */

#define DW_TAG 'hWlD'

DRIVER_INITIALIZE DriverEntry;

static PFLT_FILTER gFilter;
/* Guards every stream context's fields below (rarely contended: deletions are rare). */
static EX_PUSH_LOCK gLock;

typedef struct _DW_STREAM_CONTEXT {
	LONG OpenCount;	 /* handles seen opened and not yet cleaned up */
	BOOLEAN Deleted; /* a deletion was asked for and not undone */
	BOOLEAN Reported;
	ULONG ProcessId;		     /* who asked for the deletion */
	PFLT_FILE_NAME_INFORMATION NameInfo; /* its normalized name then */
} DW_STREAM_CONTEXT, *PDW_STREAM_CONTEXT;

/* Passed from a pre-operation to its post-operation. */
typedef struct _DW_COMPLETION {
	PFLT_FILE_NAME_INFORMATION NameInfo; /* of the file (or of the replaced target) */
	HANDLE TargetHandle;		     /* rename: the file about to be replaced */
	PFILE_OBJECT TargetObject;
} DW_COMPLETION, *PDW_COMPLETION;

static VOID FLTAPI DwContextCleanup(_In_ PFLT_CONTEXT Context, _In_ FLT_CONTEXT_TYPE ContextType)
{
	PDW_STREAM_CONTEXT ctx = Context;

	UNREFERENCED_PARAMETER(ContextType);
	if (ctx->NameInfo != NULL)
		FltReleaseFileNameInformation(ctx->NameInfo);
}

/* The stream context of the file, created if needed; release it with FltReleaseContext. */
static PDW_STREAM_CONTEXT DwGetContext(_In_ PFLT_INSTANCE Instance, _In_ PFILE_OBJECT FileObject)
{
	PDW_STREAM_CONTEXT ctx = NULL, old = NULL;
	NTSTATUS status;

	status = FltGetStreamContext(Instance, FileObject, (PFLT_CONTEXT *)&ctx);
	if (NT_SUCCESS(status))
		return ctx;
	status = FltAllocateContext(gFilter, FLT_STREAM_CONTEXT, sizeof(DW_STREAM_CONTEXT),
				    NonPagedPool, (PFLT_CONTEXT *)&ctx);
	if (!NT_SUCCESS(status))
		return NULL;
	RtlZeroMemory(ctx, sizeof(*ctx));
	status = FltSetStreamContext(Instance, FileObject, FLT_SET_CONTEXT_KEEP_IF_EXISTS, ctx,
				     (PFLT_CONTEXT *)&old);
	if (status == STATUS_FLT_CONTEXT_ALREADY_DEFINED && old != NULL) {
		/* Another thread set one first: use it. */
		FltReleaseContext(ctx);
		return old;
	}
	if (!NT_SUCCESS(status)) {
		FltReleaseContext(ctx);
		return NULL;
	}
	return ctx;
}

/* Does the file still have a name?  Asked of the file system through the file object. */
static BOOLEAN DwStillLinked(_In_ PFLT_INSTANCE Instance, _In_ PFILE_OBJECT FileObject)
{
	FILE_STANDARD_INFORMATION info;
	NTSTATUS status;

	status = FltQueryInformationFile(Instance, FileObject, &info, sizeof(info),
					 FileStandardInformation, NULL);
	if (!NT_SUCCESS(status))
		return TRUE; /* unknown: say nothing rather than something false */
	return info.NumberOfLinks > 0 ? TRUE : FALSE;
}

/* Remember a deletion request; takes over NameInfo's reference. */
static VOID DwMarkDeleted(_In_ PDW_STREAM_CONTEXT Ctx, _In_ ULONG ProcessId,
			  _In_opt_ PFLT_FILE_NAME_INFORMATION NameInfo)
{
	PFLT_FILE_NAME_INFORMATION old;

	FltAcquirePushLockExclusive(&gLock);
	old = Ctx->NameInfo;
	Ctx->NameInfo = NameInfo;
	Ctx->ProcessId = ProcessId;
	Ctx->Deleted = TRUE;
	Ctx->Reported = FALSE;
	FltReleasePushLock(&gLock);
	if (old != NULL)
		FltReleaseFileNameInformation(old);
}

/*
 * Report the deletion if it happened and nothing else holds the file: `Others` is the number
 * of handles other than the caller's that may still be open.
 */
static VOID DwReportIfGone(_In_ PDW_STREAM_CONTEXT Ctx, _In_ PFLT_INSTANCE Instance,
			   _In_ PFILE_OBJECT FileObject, _In_ LONG Others)
{
	UNICODE_STRING none = RTL_CONSTANT_STRING(L"<unknown>");
	BOOLEAN report = FALSE;

	FltAcquirePushLockShared(&gLock);
	report = Ctx->Deleted && !Ctx->Reported && Others <= 0;
	FltReleasePushLock(&gLock);
	if (!report)
		return;
	if (DwStillLinked(Instance, FileObject)) {
		/* Undeleted, or only one of several links went: the file lives on. */
		FltAcquirePushLockExclusive(&gLock);
		Ctx->Deleted = FALSE;
		FltReleasePushLock(&gLock);
		return;
	}
	FltAcquirePushLockExclusive(&gLock);
	report = !Ctx->Reported;
	Ctx->Reported = TRUE;
	FltReleasePushLock(&gLock);
	if (report)
		DbgPrint("deletewatch: deleted %wZ by pid %lu\n",
			 Ctx->NameInfo ? &Ctx->NameInfo->Name : &none, Ctx->ProcessId);
}

static PFLT_FILE_NAME_INFORMATION DwName(_In_ PFLT_CALLBACK_DATA Data)
{
	PFLT_FILE_NAME_INFORMATION info = NULL;

	if (!NT_SUCCESS(FltGetFileNameInformation(
		Data, FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT, &info)))
		return NULL;
	return info;
}

/* ---- IRP_MJ_CREATE ---- */

static FLT_PREOP_CALLBACK_STATUS FLTAPI
DwPreCreate(_Inout_ PFLT_CALLBACK_DATA Data, _In_ PCFLT_RELATED_OBJECTS FltObjects,
	    _Flt_CompletionContext_Outptr_ PVOID *Completion)
{
	UNREFERENCED_PARAMETER(Data);
	UNREFERENCED_PARAMETER(FltObjects);
	*Completion = NULL;
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI DwPostCreate(_Inout_ PFLT_CALLBACK_DATA Data,
						      _In_ PCFLT_RELATED_OBJECTS FltObjects,
						      _In_opt_ PVOID Completion,
						      _In_ FLT_POST_OPERATION_FLAGS Flags)
{
	PDW_STREAM_CONTEXT ctx;

	UNREFERENCED_PARAMETER(Completion);
	if ((Flags & FLTFL_POST_OPERATION_DRAINING) || !NT_SUCCESS(Data->IoStatus.Status))
		return FLT_POSTOP_FINISHED_PROCESSING;
	ctx = DwGetContext(FltObjects->Instance, FltObjects->FileObject);
	if (ctx == NULL)
		return FLT_POSTOP_FINISHED_PROCESSING;
	InterlockedIncrement(&ctx->OpenCount);
	if (Data->Iopb->Parameters.Create.Options & FILE_DELETE_ON_CLOSE)
		DwMarkDeleted(ctx, FltGetRequestorProcessId(Data), DwName(Data));
	FltReleaseContext(ctx);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

/* ---- IRP_MJ_CLEANUP ---- */

static FLT_POSTOP_CALLBACK_STATUS FLTAPI DwPostCleanup(_Inout_ PFLT_CALLBACK_DATA Data,
						       _In_ PCFLT_RELATED_OBJECTS FltObjects,
						       _In_opt_ PVOID Completion,
						       _In_ FLT_POST_OPERATION_FLAGS Flags)
{
	PDW_STREAM_CONTEXT ctx = NULL;
	LONG left;

	UNREFERENCED_PARAMETER(Data);
	UNREFERENCED_PARAMETER(Completion);
	if (Flags & FLTFL_POST_OPERATION_DRAINING)
		return FLT_POSTOP_FINISHED_PROCESSING;
	if (!NT_SUCCESS(FltGetStreamContext(FltObjects->Instance, FltObjects->FileObject,
					    (PFLT_CONTEXT *)&ctx)))
		return FLT_POSTOP_FINISHED_PROCESSING;
	left = InterlockedDecrement(&ctx->OpenCount);
	if (left < 0) {
		/* Opened before this instance attached: we never counted it. */
		InterlockedExchange(&ctx->OpenCount, 0);
		left = 0;
	}
	DwReportIfGone(ctx, FltObjects->Instance, FltObjects->FileObject, left);
	FltReleaseContext(ctx);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

/* ---- IRP_MJ_SET_INFORMATION: dispositions and replacing renames ---- */

static BOOLEAN DwIsReplacingRename(_In_ PFLT_CALLBACK_DATA Data)
{
	FILE_INFORMATION_CLASS cls = Data->Iopb->Parameters.SetFileInformation.FileInformationClass;
	PFILE_RENAME_INFORMATION ri = Data->Iopb->Parameters.SetFileInformation.InfoBuffer;

	if (cls == FileRenameInformationEx)
		return (ri->Flags & FILE_RENAME_REPLACE_IF_EXISTS) ? TRUE : FALSE;
	if (cls == FileRenameInformation)
		return ri->ReplaceIfExists ||
		       Data->Iopb->Parameters.SetFileInformation.ReplaceIfExists;
	return FALSE;
}

/* Open the file a rename would replace; FALSE when there is none worth watching. */
static BOOLEAN DwOpenTarget(_In_ PFLT_CALLBACK_DATA Data, _In_ PCFLT_RELATED_OBJECTS FltObjects,
			    _Inout_ PDW_COMPLETION Completion)
{
	PFILE_RENAME_INFORMATION ri = Data->Iopb->Parameters.SetFileInformation.InfoBuffer;
	FILE_STANDARD_INFORMATION info;
	OBJECT_ATTRIBUTES attributes;
	IO_STATUS_BLOCK iosb;
	NTSTATUS status;

	status = FltGetDestinationFileNameInformation(
	    FltObjects->Instance, FltObjects->FileObject, ri->RootDirectory, ri->FileName,
	    ri->FileNameLength, FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT,
	    &Completion->NameInfo);
	if (!NT_SUCCESS(status))
		return FALSE;
	/* Filter-initiated I/O: only the instances below ours see this open. */
	InitializeObjectAttributes(&attributes, &Completion->NameInfo->Name,
				   OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
	status = FltCreateFileEx(gFilter, FltObjects->Instance, &Completion->TargetHandle,
				 &Completion->TargetObject, FILE_READ_ATTRIBUTES, &attributes,
				 &iosb, NULL, FILE_ATTRIBUTE_NORMAL,
				 FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, FILE_OPEN,
				 FILE_OPEN_REPARSE_POINT, NULL, 0, IO_IGNORE_SHARE_ACCESS_CHECK);
	if (!NT_SUCCESS(status))
		return FALSE;
	status = FltQueryInformationFile(FltObjects->Instance, Completion->TargetObject, &info,
					 sizeof(info), FileStandardInformation, NULL);
	if (NT_SUCCESS(status) && !info.Directory && info.NumberOfLinks == 1 &&
	    Completion->TargetObject->FsContext != FltObjects->FileObject->FsContext)
		return TRUE;
	return FALSE;
}

static VOID DwFreeCompletion(_In_ PDW_COMPLETION Completion)
{
	if (Completion->TargetObject != NULL)
		ObDereferenceObject(Completion->TargetObject);
	if (Completion->TargetHandle != NULL)
		FltClose(Completion->TargetHandle);
	if (Completion->NameInfo != NULL)
		FltReleaseFileNameInformation(Completion->NameInfo);
	ExFreePoolWithTag(Completion, DW_TAG);
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI
DwPreSetInfo(_Inout_ PFLT_CALLBACK_DATA Data, _In_ PCFLT_RELATED_OBJECTS FltObjects,
	     _Flt_CompletionContext_Outptr_ PVOID *Completion)
{
	FILE_INFORMATION_CLASS cls = Data->Iopb->Parameters.SetFileInformation.FileInformationClass;
	PDW_COMPLETION c;

	*Completion = NULL;
	if (cls != FileDispositionInformation && cls != FileDispositionInformationEx &&
	    !((cls == FileRenameInformation || cls == FileRenameInformationEx) &&
	      DwIsReplacingRename(Data)))
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	c = ExAllocatePoolZero(NonPagedPool, sizeof(*c), DW_TAG);
	if (c == NULL)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	if (cls == FileDispositionInformation || cls == FileDispositionInformationEx) {
		/* The name now: a POSIX delete removes it before the post-operation. */
		c->NameInfo = DwName(Data);
	} else if (!DwOpenTarget(Data, FltObjects, c)) {
		DwFreeCompletion(c);
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	}
	*Completion = c;
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI DwPostSetInfo(_Inout_ PFLT_CALLBACK_DATA Data,
						       _In_ PCFLT_RELATED_OBJECTS FltObjects,
						       _In_opt_ PVOID Completion,
						       _In_ FLT_POST_OPERATION_FLAGS Flags)
{
	PDW_COMPLETION c = Completion;
	FILE_INFORMATION_CLASS cls = Data->Iopb->Parameters.SetFileInformation.FileInformationClass;
	PVOID buf = Data->Iopb->Parameters.SetFileInformation.InfoBuffer;
	PDW_STREAM_CONTEXT ctx;
	BOOLEAN del, posix = FALSE;

	if (c == NULL)
		return FLT_POSTOP_FINISHED_PROCESSING;
	if ((Flags & FLTFL_POST_OPERATION_DRAINING) || !NT_SUCCESS(Data->IoStatus.Status))
		goto out;
	if (cls == FileRenameInformation || cls == FileRenameInformationEx) {
		/* The replaced file: nobody we know of holds it but our own handle. */
		ctx = DwGetContext(FltObjects->Instance, c->TargetObject);
		if (ctx == NULL)
			goto out;
		DwMarkDeleted(ctx, FltGetRequestorProcessId(Data), c->NameInfo);
		c->NameInfo = NULL;
		DwReportIfGone(ctx, FltObjects->Instance, c->TargetObject, ctx->OpenCount);
		FltReleaseContext(ctx);
		goto out;
	}
	if (cls == FileDispositionInformationEx) {
		ULONG f = ((PFILE_DISPOSITION_INFORMATION_EX)buf)->Flags;
		del = (f & FILE_DISPOSITION_DELETE) ? TRUE : FALSE;
		posix = (f & FILE_DISPOSITION_POSIX_SEMANTICS) ? TRUE : FALSE;
	} else {
		del = ((PFILE_DISPOSITION_INFORMATION)buf)->DeleteFile;
	}
	ctx = DwGetContext(FltObjects->Instance, FltObjects->FileObject);
	if (ctx == NULL)
		goto out;
	if (del) {
		DwMarkDeleted(ctx, FltGetRequestorProcessId(Data), c->NameInfo);
		c->NameInfo = NULL;
		/* A POSIX delete takes the name now: the file is gone if this is its only
		 * handle.  Otherwise the last cleanup decides. */
		if (posix)
			DwReportIfGone(ctx, FltObjects->Instance, FltObjects->FileObject,
				       ctx->OpenCount - 1);
	} else {
		FltAcquirePushLockExclusive(&gLock);
		ctx->Deleted = FALSE;
		FltReleasePushLock(&gLock);
	}
	FltReleaseContext(ctx);
out:
	DwFreeCompletion(c);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

/* ---- Registration ---- */

static NTSTATUS FLTAPI DwUnload(_In_ FLT_FILTER_UNLOAD_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(Flags);
	FltUnregisterFilter(gFilter);
	FltDeletePushLock(&gLock);
	return STATUS_SUCCESS;
}

static NTSTATUS FLTAPI DwInstanceSetup(_In_ PCFLT_RELATED_OBJECTS FltObjects,
				       _In_ FLT_INSTANCE_SETUP_FLAGS Flags,
				       _In_ DEVICE_TYPE VolumeDeviceType,
				       _In_ FLT_FILESYSTEM_TYPE VolumeFilesystemType)
{
	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(Flags);
	UNREFERENCED_PARAMETER(VolumeFilesystemType);
	return VolumeDeviceType == FILE_DEVICE_DISK_FILE_SYSTEM ? STATUS_SUCCESS
								: STATUS_FLT_DO_NOT_ATTACH;
}

static const FLT_CONTEXT_REGISTRATION Contexts[] = {
    {FLT_STREAM_CONTEXT, 0, DwContextCleanup, sizeof(DW_STREAM_CONTEXT), DW_TAG, NULL, NULL, NULL},
    {FLT_CONTEXT_END},
};

static const FLT_OPERATION_REGISTRATION Callbacks[] = {
    {IRP_MJ_CREATE, 0, DwPreCreate, DwPostCreate, NULL},
    {IRP_MJ_SET_INFORMATION, 0, DwPreSetInfo, DwPostSetInfo, NULL},
    {IRP_MJ_CLEANUP, 0, NULL, DwPostCleanup, NULL},
    {IRP_MJ_OPERATION_END},
};

static const FLT_REGISTRATION Registration = {
    sizeof(FLT_REGISTRATION),
    FLT_REGISTRATION_VERSION,
    0,
    Contexts,
    Callbacks,
    DwUnload,
    DwInstanceSetup,
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
	FltInitializePushLock(&gLock);
	status = FltRegisterFilter(DriverObject, &Registration, &gFilter);
	if (!NT_SUCCESS(status)) {
		FltDeletePushLock(&gLock);
		return status;
	}
	status = FltStartFiltering(gFilter);
	if (!NT_SUCCESS(status)) {
		FltUnregisterFilter(gFilter);
		FltDeletePushLock(&gLock);
	}
	return status;
}
