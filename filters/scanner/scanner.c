/* scanner: sends file contents to a user-mode scanner on open for read/execute and after writes. */
#include <fltKernel.h>
#include <dontuse.h>
#include <suppress.h>

#include "scanner.h"

#define SC_TAG 'nacS'
/* How long a file open waits for the user program's verdict on one chunk. */
#define SC_REPLY_TIMEOUT_MS 10000

DRIVER_INITIALIZE DriverEntry;

static PFLT_FILTER gFilter;
static PFLT_PORT gServerPort;
/* The connected scanuser's port (NULL when none is connected) and its process id. */
static PFLT_PORT gClientPort;
static ULONG gScannerPid;
/* Service key values: FailClosed (deny when no scanner answers), PortEveryone (NULL DACL). */
static ULONG gFailClosed;
static ULONG gPortEveryone;
static volatile LONG gFilesScanned;
static volatile LONG gFilesInfected;

/* One per handle opened for write: scan again when the handle is cleaned up. */
typedef struct _SC_HANDLE_CONTEXT {
	BOOLEAN RescanRequired;
} SC_HANDLE_CONTEXT, *PSC_HANDLE_CONTEXT;

static const FLT_CONTEXT_REGISTRATION ContextRegistration[] = {
    {FLT_STREAMHANDLE_CONTEXT, 0, NULL, sizeof(SC_HANDLE_CONTEXT), SC_TAG, NULL, NULL, NULL},
    {FLT_CONTEXT_END}};

static ULONG ScReadDword(_In_ HANDLE Key, _In_ PCWSTR Name)
{
	UNICODE_STRING valueName;
	UCHAR buffer[sizeof(KEY_VALUE_PARTIAL_INFORMATION) + sizeof(ULONG)];
	PKEY_VALUE_PARTIAL_INFORMATION value = (PKEY_VALUE_PARTIAL_INFORMATION)buffer;
	ULONG length = 0, result = 0;
	NTSTATUS status;

	RtlInitUnicodeString(&valueName, Name);
	status = ZwQueryValueKey(Key, &valueName, KeyValuePartialInformation, value, sizeof(buffer),
				 &length);
	if (NT_SUCCESS(status) && value->Type == REG_DWORD && value->DataLength == sizeof(ULONG))
		RtlCopyMemory(&result, value->Data, sizeof(ULONG));
	return result;
}

static VOID ScReadSettings(_In_ PUNICODE_STRING RegistryPath)
{
	OBJECT_ATTRIBUTES attributes;
	HANDLE key;

	InitializeObjectAttributes(&attributes, RegistryPath,
				   OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
	if (!NT_SUCCESS(ZwOpenKey(&key, KEY_READ, &attributes)))
		return;
	gFailClosed = ScReadDword(key, L"FailClosed");
	gPortEveryone = ScReadDword(key, L"PortEveryone");
	ZwClose(key);
}

/* ---- The port ---- */

static NTSTATUS FLTAPI ScConnect(_In_ PFLT_PORT ClientPort, _In_opt_ PVOID ServerPortCookie,
				 _In_reads_bytes_opt_(SizeOfContext) PVOID ConnectionContext,
				 _In_ ULONG SizeOfContext,
				 _Outptr_result_maybenull_ PVOID *ConnectionCookie)
{
	ULONG pid = (ULONG)(ULONG_PTR)PsGetCurrentProcessId();

	UNREFERENCED_PARAMETER(ServerPortCookie);
	UNREFERENCED_PARAMETER(ConnectionContext);
	UNREFERENCED_PARAMETER(SizeOfContext);
	/* Runs in the connecting process: remember it so that its own opens are not scanned.
	 * MaxConnections is 1, so there is no other client to race with, but opens being scanned
	 * read both variables meanwhile. */
	WriteNoFence(&gScannerPid, pid);
	WritePointerRelease(&gClientPort, ClientPort);
	*ConnectionCookie = NULL;
	DbgPrint("scanner: user-mode scanner connected, pid %lu\n", pid);
	return STATUS_SUCCESS;
}

static VOID FLTAPI ScDisconnect(_In_opt_ PVOID ConnectionCookie)
{
	UNREFERENCED_PARAMETER(ConnectionCookie);
	FltCloseClientPort(gFilter, &gClientPort);
	WriteNoFence(&gScannerPid, 0);
	DbgPrint("scanner: user-mode scanner disconnected\n");
}

/* FilterSendMessage from the user program: the input and output buffers are the caller's. */
static NTSTATUS FLTAPI ScMessage(
    _In_opt_ PVOID ConnectionCookie, _In_reads_bytes_opt_(InputBufferLength) PVOID InputBuffer,
    _In_ ULONG InputBufferLength,
    _Out_writes_bytes_to_opt_(OutputBufferLength, *ReturnOutputBufferLength) PVOID OutputBuffer,
    _In_ ULONG OutputBufferLength, _Out_ PULONG ReturnOutputBufferLength)
{
	SCANNER_COMMAND command;
	SCANNER_STATS stats;

	UNREFERENCED_PARAMETER(ConnectionCookie);
	*ReturnOutputBufferLength = 0;
	if (InputBuffer == NULL || InputBufferLength < sizeof(SCANNER_COMMAND))
		return STATUS_INVALID_PARAMETER;
	RtlCopyMemory(&command, InputBuffer, sizeof(command));
	if (command.Command != SCANNER_COMMAND_GET_STATS)
		return STATUS_INVALID_PARAMETER;
	if (OutputBuffer == NULL || OutputBufferLength < sizeof(SCANNER_STATS))
		return STATUS_BUFFER_TOO_SMALL;
	stats.FilesScanned = (ULONG)ReadNoFence(&gFilesScanned);
	stats.FilesInfected = (ULONG)ReadNoFence(&gFilesInfected);
	stats.CallerPid = (ULONG)(ULONG_PTR)PsGetCurrentProcessId();
	RtlCopyMemory(OutputBuffer, &stats, sizeof(stats));
	*ReturnOutputBufferLength = sizeof(stats);
	return STATUS_SUCCESS;
}

/* ---- Scanning ---- */

/*
 * Read FileObject in chunks and ask the user program about each.  *Infected is set when it says
 * so.  Returns STATUS_SUCCESS when every chunk got a verdict, STATUS_PORT_DISCONNECTED when no
 * scanner is connected, or the failure that stopped the scan.
 */
static NTSTATUS ScScanFile(_In_ PFLT_INSTANCE Instance, _In_ PFILE_OBJECT FileObject,
			   _In_ ULONG Reason, _In_ ULONG ProcessId, _Out_ PBOOLEAN Infected)
{
	PSCANNER_NOTIFICATION notification;
	LARGE_INTEGER offset, timeout;
	ULONG bytesRead, replyLength;
	SCANNER_REPLY reply;
	NTSTATUS status = STATUS_SUCCESS;

	*Infected = FALSE;
	if (ReadPointerAcquire(&gClientPort) == NULL)
		return STATUS_PORT_DISCONNECTED;
	notification = ExAllocatePoolZero(NonPagedPool, sizeof(SCANNER_NOTIFICATION), SC_TAG);
	if (notification == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	offset.QuadPart = 0;
	timeout.QuadPart = -(LONGLONG)SC_REPLY_TIMEOUT_MS * 10000;
	while (offset.QuadPart < SCANNER_MAX_SCAN) {
		status = FltReadFile(
		    Instance, FileObject, &offset, SCANNER_CHUNK_SIZE, notification->Contents,
		    FLTFL_IO_OPERATION_DO_NOT_UPDATE_BYTE_OFFSET, &bytesRead, NULL, NULL);
		if (status == STATUS_END_OF_FILE) {
			status = STATUS_SUCCESS;
			break;
		}
		if (!NT_SUCCESS(status) || bytesRead == 0)
			break;
		notification->BytesToScan = bytesRead;
		notification->Reason = Reason;
		notification->Offset = (ULONGLONG)offset.QuadPart;
		notification->ProcessId = ProcessId;
		replyLength = sizeof(reply);
		status = FltSendMessage(gFilter, &gClientPort, notification,
					FIELD_OFFSET(SCANNER_NOTIFICATION, Contents) + bytesRead,
					&reply, &replyLength, &timeout);
		/* STATUS_TIMEOUT is a success code: compare with STATUS_SUCCESS. */
		if (status != STATUS_SUCCESS) {
			DbgPrint("scanner: no verdict (0x%08X)\n", (unsigned int)status);
			if (status == STATUS_TIMEOUT)
				status = STATUS_PORT_DISCONNECTED;
			break;
		}
		if (!reply.SafeToOpen) {
			*Infected = TRUE;
			break;
		}
		if (bytesRead < SCANNER_CHUNK_SIZE)
			break;
		offset.QuadPart += bytesRead - SCANNER_CHUNK_OVERLAP;
	}
	ExFreePoolWithTag(notification, SC_TAG);
	if (NT_SUCCESS(status) || *Infected) {
		InterlockedIncrement(&gFilesScanned);
		if (*Infected)
			InterlockedIncrement(&gFilesInfected);
	}
	return status;
}

/* Should an unscanned or failed scan let the open through? */
static BOOLEAN ScAllowWithoutVerdict(VOID)
{
	return gFailClosed == 0;
}

/* ---- Callbacks ---- */

static FLT_POSTOP_CALLBACK_STATUS FLTAPI ScPostCreate(_Inout_ PFLT_CALLBACK_DATA Data,
						      _In_ PCFLT_RELATED_OBJECTS FltObjects,
						      _In_opt_ PVOID CompletionContext,
						      _In_ FLT_POST_OPERATION_FLAGS Flags)
{
	ACCESS_MASK access;
	BOOLEAN isDir = FALSE, infected = FALSE;
	ULONG pid;
	NTSTATUS status;

	UNREFERENCED_PARAMETER(CompletionContext);
	if (!NT_SUCCESS(Data->IoStatus.Status) || Data->IoStatus.Status == STATUS_REPARSE ||
	    (Flags & FLTFL_POST_OPERATION_DRAINING))
		return FLT_POSTOP_FINISHED_PROCESSING;
	pid = FltGetRequestorProcessId(Data);
	if (pid != 0 && pid == ReadNoFence(&gScannerPid))
		return FLT_POSTOP_FINISHED_PROCESSING;
	status = FltIsDirectory(FltObjects->FileObject, FltObjects->Instance, &isDir);
	if (!NT_SUCCESS(status) || isDir)
		return FLT_POSTOP_FINISHED_PROCESSING;
	access = Data->Iopb->Parameters.Create.SecurityContext->DesiredAccess;

	if (access & (FILE_READ_DATA | FILE_EXECUTE)) {
		status = ScScanFile(FltObjects->Instance, FltObjects->FileObject,
				    SCANNER_REASON_OPEN, pid, &infected);
		if (infected || (!NT_SUCCESS(status) && !ScAllowWithoutVerdict())) {
			DbgPrint("scanner: %s open of %wZ by pid %lu\n",
				 infected ? "infected file: denied" : "no verdict: denied",
				 &FltObjects->FileObject->FileName, pid);
			FltCancelFileOpen(FltObjects->Instance, FltObjects->FileObject);
			Data->IoStatus.Status = STATUS_ACCESS_DENIED;
			Data->IoStatus.Information = 0;
			return FLT_POSTOP_FINISHED_PROCESSING;
		}
	}
	if (access & (FILE_WRITE_DATA | FILE_APPEND_DATA)) {
		PSC_HANDLE_CONTEXT ctx = NULL;

		status =
		    FltAllocateContext(gFilter, FLT_STREAMHANDLE_CONTEXT, sizeof(SC_HANDLE_CONTEXT),
				       PagedPool, (PFLT_CONTEXT *)&ctx);
		if (NT_SUCCESS(status)) {
			ctx->RescanRequired = TRUE;
			(void)FltSetStreamHandleContext(
			    FltObjects->Instance, FltObjects->FileObject,
			    FLT_SET_CONTEXT_REPLACE_IF_EXISTS, ctx, NULL);
			FltReleaseContext(ctx);
		}
	}
	return FLT_POSTOP_FINISHED_PROCESSING;
}

/* The handle may be write-only: read through a handle of our own, opened by name. */
static NTSTATUS ScScanByName(_In_ PFLT_CALLBACK_DATA Data, _In_ PCFLT_RELATED_OBJECTS FltObjects,
			     _Out_ PBOOLEAN Infected, _Outptr_ PFLT_FILE_NAME_INFORMATION *NameInfo)
{
	OBJECT_ATTRIBUTES attributes;
	IO_STATUS_BLOCK iosb;
	HANDLE handle = NULL;
	PFILE_OBJECT fileObject = NULL;
	NTSTATUS status;

	*Infected = FALSE;
	status = FltGetFileNameInformation(
	    Data, FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT, NameInfo);
	if (!NT_SUCCESS(status)) {
		*NameInfo = NULL;
		return status;
	}
	InitializeObjectAttributes(&attributes, &(*NameInfo)->Name,
				   OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
	status = FltCreateFileEx(gFilter, FltObjects->Instance, &handle, &fileObject,
				 FILE_READ_DATA | SYNCHRONIZE, &attributes, &iosb, NULL,
				 FILE_ATTRIBUTE_NORMAL,
				 FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, FILE_OPEN,
				 FILE_NON_DIRECTORY_FILE | FILE_SYNCHRONOUS_IO_NONALERT, NULL, 0,
				 IO_IGNORE_SHARE_ACCESS_CHECK);
	if (!NT_SUCCESS(status))
		return status;
	status = ScScanFile(FltObjects->Instance, fileObject, SCANNER_REASON_CLEANUP,
			    FltGetRequestorProcessId(Data), Infected);
	ObDereferenceObject(fileObject);
	FltClose(handle);
	return status;
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI
ScPreCleanup(_Inout_ PFLT_CALLBACK_DATA Data, _In_ PCFLT_RELATED_OBJECTS FltObjects,
	     _Flt_CompletionContext_Outptr_ PVOID *CompletionContext)
{
	PSC_HANDLE_CONTEXT ctx = NULL;
	PFLT_FILE_NAME_INFORMATION nameInfo = NULL;
	BOOLEAN infected = FALSE;
	NTSTATUS status;

	*CompletionContext = NULL;
	status = FltGetStreamHandleContext(FltObjects->Instance, FltObjects->FileObject,
					   (PFLT_CONTEXT *)&ctx);
	if (!NT_SUCCESS(status))
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	if (ctx->RescanRequired && ReadPointerAcquire(&gClientPort) != NULL) {
		status = ScScanByName(Data, FltObjects, &infected, &nameInfo);
		if (infected)
			/* The file is already written: report it (a product would quarantine). */
			DbgPrint("scanner: infected file written: %wZ by pid %lu\n",
				 nameInfo ? &nameInfo->Name : &FltObjects->FileObject->FileName,
				 FltGetRequestorProcessId(Data));
		else if (!NT_SUCCESS(status))
			DbgPrint("scanner: rescan at cleanup failed (0x%08X)\n",
				 (unsigned int)status);
		if (nameInfo)
			FltReleaseFileNameInformation(nameInfo);
	}
	FltReleaseContext(ctx);
	return FLT_PREOP_SUCCESS_NO_CALLBACK;
}

static const FLT_OPERATION_REGISTRATION Callbacks[] = {
    {IRP_MJ_CREATE, 0, NULL, ScPostCreate, NULL},
    {IRP_MJ_CLEANUP, 0, ScPreCleanup, NULL, NULL},
    {IRP_MJ_OPERATION_END},
};

static NTSTATUS FLTAPI ScUnload(_In_ FLT_FILTER_UNLOAD_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(Flags);
	/* The server port goes first, then unregistering disconnects the client. */
	FltCloseCommunicationPort(gServerPort);
	FltUnregisterFilter(gFilter);
	return STATUS_SUCCESS;
}

static const FLT_REGISTRATION Registration = {
    sizeof(FLT_REGISTRATION),
    FLT_REGISTRATION_VERSION,
    0,
    ContextRegistration,
    Callbacks,
    ScUnload,
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
	OBJECT_ATTRIBUTES attributes;
	UNICODE_STRING portName;
	PSECURITY_DESCRIPTOR sd;
	NTSTATUS status;

	ScReadSettings(RegistryPath);
	status = FltRegisterFilter(DriverObject, &Registration, &gFilter);
	if (!NT_SUCCESS(status))
		return status;
	status = FltBuildDefaultSecurityDescriptor(&sd, FLT_PORT_ALL_ACCESS);
	if (NT_SUCCESS(status)) {
		/* A NULL DACL opens the port to every user. */
		if (gPortEveryone)
			status = RtlSetDaclSecurityDescriptor(sd, TRUE, NULL, FALSE);
		RtlInitUnicodeString(&portName, SCANNER_PORT_NAME);
		InitializeObjectAttributes(&attributes, &portName,
					   OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, sd);
		if (NT_SUCCESS(status))
			status =
			    FltCreateCommunicationPort(gFilter, &gServerPort, &attributes, NULL,
						       ScConnect, ScDisconnect, ScMessage, 1);
		FltFreeSecurityDescriptor(sd);
	}
	if (NT_SUCCESS(status))
		status = FltStartFiltering(gFilter);
	if (!NT_SUCCESS(status)) {
		if (gServerPort != NULL)
			FltCloseCommunicationPort(gServerPort);
		FltUnregisterFilter(gFilter);
		return status;
	}
	DbgPrint("scanner: started (FailClosed=%lu)\n", gFailClosed);
	return STATUS_SUCCESS;
}
