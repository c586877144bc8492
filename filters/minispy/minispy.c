/* minispy: records every operation on every volume into a ring that a user tool reads by port. */
#include <fltKernel.h>
#include <dontuse.h>
#include <suppress.h>

/* The daemon runs filters in user space: the requestor's name comes from /proc. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "minispy.h"

#define MS_TAG 'ypSM'
#define MS_MAX_CONNECTIONS 4

DRIVER_INITIALIZE DriverEntry;

static PFLT_FILTER gFilter;
static PFLT_PORT gServerPort;
/* Service key value PortEveryone (REG_DWORD, nonzero): the port gets a NULL DACL. */
static ULONG gPortEveryone;

/* The ring: gHead is the oldest record, gCount how many are kept; all under gRingLock. */
static KSPIN_LOCK gRingLock;
static MINISPY_RECORD gRing[MINISPY_RING_RECORDS];
static ULONG gHead;
static ULONG gCount;
static ULONG gDropped;

static ULONG MsReadDword(_In_ HANDLE Key, _In_ PCWSTR Name)
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

static VOID MsReadSettings(_In_ PUNICODE_STRING RegistryPath)
{
	OBJECT_ATTRIBUTES attributes;
	HANDLE key;

	InitializeObjectAttributes(&attributes, RegistryPath,
				   OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
	if (!NT_SUCCESS(ZwOpenKey(&key, KEY_READ, &attributes)))
		return;
	gPortEveryone = MsReadDword(key, L"PortEveryone");
	ZwClose(key);
}

/* UTF-16 to UTF-8 into Out (Size bytes, always terminated); unpaired surrogates become '?'. */
static VOID MsToUtf8(_In_ PCUNICODE_STRING Name, _Out_ char *Out, _In_ size_t Size)
{
	size_t n = 0, i, chars = Name->Length / sizeof(WCHAR);

	for (i = 0; i < chars; i++) {
		unsigned int c = Name->Buffer[i];
		char tmp[4];
		size_t len;

		if (c >= 0xD800 && c <= 0xDBFF && i + 1 < chars && Name->Buffer[i + 1] >= 0xDC00 &&
		    Name->Buffer[i + 1] <= 0xDFFF) {
			c = 0x10000 + ((c - 0xD800) << 10) + (Name->Buffer[i + 1] - 0xDC00u);
			i++;
		} else if (c >= 0xD800 && c <= 0xDFFF) {
			c = '?';
		}
		if (c < 0x80) {
			tmp[0] = (char)c;
			len = 1;
		} else if (c < 0x800) {
			tmp[0] = (char)(0xC0 | (c >> 6));
			tmp[1] = (char)(0x80 | (c & 0x3F));
			len = 2;
		} else if (c < 0x10000) {
			tmp[0] = (char)(0xE0 | (c >> 12));
			tmp[1] = (char)(0x80 | ((c >> 6) & 0x3F));
			tmp[2] = (char)(0x80 | (c & 0x3F));
			len = 3;
		} else {
			tmp[0] = (char)(0xF0 | (c >> 18));
			tmp[1] = (char)(0x80 | ((c >> 12) & 0x3F));
			tmp[2] = (char)(0x80 | ((c >> 6) & 0x3F));
			tmp[3] = (char)(0x80 | (c & 0x3F));
			len = 4;
		}
		/* Whole characters only, so a truncated name stays valid UTF-8. */
		if (n + len >= Size)
			break;
		RtlCopyMemory(Out + n, tmp, len);
		n += len;
	}
	Out[n] = '\0';
}

/* The process's short name from /proc/<pid>/comm; empty when it is gone or unreadable. */
static VOID MsProcessName(_In_ ULONG Pid, _Out_ char *Out, _In_ size_t Size)
{
	char path[64];
	ssize_t got;
	int fd;

	Out[0] = '\0';
	if (Pid == 0)
		return;
	snprintf(path, sizeof(path), "/proc/%lu/comm", (unsigned long)Pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	got = read(fd, Out, Size - 1);
	close(fd);
	if (got <= 0) {
		Out[0] = '\0';
		return;
	}
	Out[got] = '\0';
	if (got > 0 && Out[got - 1] == '\n')
		Out[got - 1] = '\0';
}

/* Append a record; when the ring is full the record is dropped and counted, never waited on. */
static VOID MsPush(_In_ const MINISPY_RECORD *Record)
{
	KIRQL irql;

	KeAcquireSpinLock(&gRingLock, &irql);
	if (gCount == MINISPY_RING_RECORDS) {
		gDropped++;
	} else {
		RtlCopyMemory(&gRing[(gHead + gCount) % MINISPY_RING_RECORDS], Record,
			      sizeof(*Record));
		gCount++;
	}
	KeReleaseSpinLock(&gRingLock, irql);
}

/* ---- Callbacks ---- */

static FLT_PREOP_CALLBACK_STATUS FLTAPI
MsPreOperation(_Inout_ PFLT_CALLBACK_DATA Data, _In_ PCFLT_RELATED_OBJECTS FltObjects,
	       _Flt_CompletionContext_Outptr_ PVOID *CompletionContext)
{
	PFLT_FILE_NAME_INFORMATION nameInfo = NULL;
	MINISPY_RECORD *record;
	PFLT_IO_PARAMETER_BLOCK iopb = Data->Iopb;

	UNREFERENCED_PARAMETER(FltObjects);
	*CompletionContext = NULL;
	record = ExAllocatePoolZero(NonPagedPool, sizeof(*record), MS_TAG);
	if (record == NULL)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	record->ProcessId = FltGetRequestorProcessId(Data);
	record->MajorFunction = iopb->MajorFunction;
	record->MinorFunction = iopb->MinorFunction;
	record->Flags = Data->Flags;
	switch (iopb->MajorFunction) {
	case IRP_MJ_READ:
		record->Arg1 = iopb->Parameters.Read.Length;
		record->Arg2 = (ULONGLONG)iopb->Parameters.Read.ByteOffset.QuadPart;
		break;
	case IRP_MJ_WRITE:
		record->Arg1 = iopb->Parameters.Write.Length;
		record->Arg2 = (ULONGLONG)iopb->Parameters.Write.ByteOffset.QuadPart;
		break;
	case IRP_MJ_CREATE:
		record->Arg1 = iopb->Parameters.Create.Options;
		if (iopb->Parameters.Create.SecurityContext != NULL)
			record->Arg2 = iopb->Parameters.Create.SecurityContext->DesiredAccess;
		break;
	default:
		break;
	}
	/* The name now: after cleanup the file object no longer answers name queries. */
	if (NT_SUCCESS(FltGetFileNameInformation(
		Data, FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT, &nameInfo)) ||
	    NT_SUCCESS(FltGetFileNameInformation(
		Data, FLT_FILE_NAME_OPENED | FLT_FILE_NAME_QUERY_DEFAULT, &nameInfo))) {
		MsToUtf8(&nameInfo->Name, record->Name, sizeof(record->Name));
		FltReleaseFileNameInformation(nameInfo);
	}
	*CompletionContext = record;
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI MsPostOperation(_Inout_ PFLT_CALLBACK_DATA Data,
							 _In_ PCFLT_RELATED_OBJECTS FltObjects,
							 _In_opt_ PVOID CompletionContext,
							 _In_ FLT_POST_OPERATION_FLAGS Flags)
{
	MINISPY_RECORD *record = CompletionContext;
	LARGE_INTEGER now;
	const char *op;

	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(Flags);
	if (record == NULL)
		return FLT_POSTOP_FINISHED_PROCESSING;
	KeQuerySystemTime(&now);
	record->Time = (ULONGLONG)now.QuadPart;
	record->Status = Data->IoStatus.Status;
	record->Information = Data->IoStatus.Information;
	op = FltGetIrpName(record->MajorFunction);
	if (op != NULL)
		strncpy(record->Operation, op, sizeof(record->Operation) - 1);
	MsProcessName(record->ProcessId, record->Process, sizeof(record->Process));
	MsPush(record);
	ExFreePoolWithTag(record, MS_TAG);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

#define MS_OP(major)                                                                               \
	{                                                                                          \
		major, 0, MsPreOperation, MsPostOperation, NULL                                    \
	}

static const FLT_OPERATION_REGISTRATION Callbacks[] = {
    MS_OP(IRP_MJ_CREATE),
    MS_OP(IRP_MJ_CREATE_NAMED_PIPE),
    MS_OP(IRP_MJ_CLOSE),
    MS_OP(IRP_MJ_READ),
    MS_OP(IRP_MJ_WRITE),
    MS_OP(IRP_MJ_QUERY_INFORMATION),
    MS_OP(IRP_MJ_SET_INFORMATION),
    MS_OP(IRP_MJ_QUERY_EA),
    MS_OP(IRP_MJ_SET_EA),
    MS_OP(IRP_MJ_FLUSH_BUFFERS),
    MS_OP(IRP_MJ_QUERY_VOLUME_INFORMATION),
    MS_OP(IRP_MJ_SET_VOLUME_INFORMATION),
    MS_OP(IRP_MJ_DIRECTORY_CONTROL),
    MS_OP(IRP_MJ_FILE_SYSTEM_CONTROL),
    MS_OP(IRP_MJ_DEVICE_CONTROL),
    MS_OP(IRP_MJ_INTERNAL_DEVICE_CONTROL),
    /* Shutdown has no post-operation callback. */
    MS_OP(IRP_MJ_LOCK_CONTROL),
    MS_OP(IRP_MJ_CLEANUP),
    MS_OP(IRP_MJ_CREATE_MAILSLOT),
    MS_OP(IRP_MJ_QUERY_SECURITY),
    MS_OP(IRP_MJ_SET_SECURITY),
    MS_OP(IRP_MJ_QUERY_QUOTA),
    MS_OP(IRP_MJ_SET_QUOTA),
    MS_OP(IRP_MJ_PNP),
    {IRP_MJ_OPERATION_END},
};

/* ---- The port ---- */

static NTSTATUS FLTAPI MsConnect(_In_ PFLT_PORT ClientPort, _In_opt_ PVOID ServerPortCookie,
				 _In_reads_bytes_opt_(SizeOfContext) PVOID ConnectionContext,
				 _In_ ULONG SizeOfContext,
				 _Outptr_result_maybenull_ PVOID *ConnectionCookie)
{
	UNREFERENCED_PARAMETER(ServerPortCookie);
	UNREFERENCED_PARAMETER(ConnectionContext);
	UNREFERENCED_PARAMETER(SizeOfContext);
	/* Each client's own port is its cookie, so disconnect closes the right one. */
	*ConnectionCookie = ClientPort;
	DbgPrint("minispy: viewer connected, pid %lu\n", (ULONG)(ULONG_PTR)PsGetCurrentProcessId());
	return STATUS_SUCCESS;
}

static VOID FLTAPI MsDisconnect(_In_opt_ PVOID ConnectionCookie)
{
	PFLT_PORT port = ConnectionCookie;

	FltCloseClientPort(gFilter, &port);
	DbgPrint("minispy: viewer disconnected\n");
}

/* "Get records": as many whole records as fit after the reply header, oldest first. */
static NTSTATUS FLTAPI MsMessage(
    _In_opt_ PVOID ConnectionCookie, _In_reads_bytes_opt_(InputBufferLength) PVOID InputBuffer,
    _In_ ULONG InputBufferLength,
    _Out_writes_bytes_to_opt_(OutputBufferLength, *ReturnOutputBufferLength) PVOID OutputBuffer,
    _In_ ULONG OutputBufferLength, _Out_ PULONG ReturnOutputBufferLength)
{
	MINISPY_COMMAND command;
	MINISPY_REPLY reply;
	PUCHAR out = OutputBuffer;
	ULONG room, i;
	KIRQL irql;

	UNREFERENCED_PARAMETER(ConnectionCookie);
	*ReturnOutputBufferLength = 0;
	if (InputBuffer == NULL || InputBufferLength < sizeof(command))
		return STATUS_INVALID_PARAMETER;
	RtlCopyMemory(&command, InputBuffer, sizeof(command));
	if (command.Command != MINISPY_COMMAND_GET_RECORDS)
		return STATUS_INVALID_PARAMETER;
	if (OutputBuffer == NULL || OutputBufferLength < sizeof(reply))
		return STATUS_BUFFER_TOO_SMALL;
	room = (OutputBufferLength - (ULONG)sizeof(reply)) / (ULONG)sizeof(MINISPY_RECORD);

	KeAcquireSpinLock(&gRingLock, &irql);
	reply.RecordCount = room < gCount ? room : gCount;
	reply.Dropped = gDropped;
	gDropped = 0;
	for (i = 0; i < reply.RecordCount; i++)
		RtlCopyMemory(out + sizeof(reply) + (SIZE_T)i * sizeof(MINISPY_RECORD),
			      &gRing[(gHead + i) % MINISPY_RING_RECORDS], sizeof(MINISPY_RECORD));
	gHead = (gHead + reply.RecordCount) % MINISPY_RING_RECORDS;
	gCount -= reply.RecordCount;
	KeReleaseSpinLock(&gRingLock, irql);

	RtlCopyMemory(out, &reply, sizeof(reply));
	*ReturnOutputBufferLength =
	    (ULONG)sizeof(reply) + reply.RecordCount * (ULONG)sizeof(MINISPY_RECORD);
	return STATUS_SUCCESS;
}

static NTSTATUS FLTAPI MsUnload(_In_ FLT_FILTER_UNLOAD_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(Flags);
	FltCloseCommunicationPort(gServerPort);
	FltUnregisterFilter(gFilter);
	return STATUS_SUCCESS;
}

static const FLT_REGISTRATION Registration = {
    sizeof(FLT_REGISTRATION),
    FLT_REGISTRATION_VERSION,
    0,
    NULL,
    Callbacks,
    MsUnload,
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

	KeInitializeSpinLock(&gRingLock);
	gHead = gCount = gDropped = 0;
	MsReadSettings(RegistryPath);
	status = FltRegisterFilter(DriverObject, &Registration, &gFilter);
	if (!NT_SUCCESS(status))
		return status;
	status = FltBuildDefaultSecurityDescriptor(&sd, FLT_PORT_ALL_ACCESS);
	if (NT_SUCCESS(status)) {
		if (gPortEveryone)
			status = RtlSetDaclSecurityDescriptor(sd, TRUE, NULL, FALSE);
		RtlInitUnicodeString(&portName, MINISPY_PORT_NAME);
		InitializeObjectAttributes(&attributes, &portName,
					   OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, sd);
		if (NT_SUCCESS(status))
			status = FltCreateCommunicationPort(gFilter, &gServerPort, &attributes,
							    NULL, MsConnect, MsDisconnect,
							    MsMessage, MS_MAX_CONNECTIONS);
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
	DbgPrint("minispy: started\n");
	return STATUS_SUCCESS;
}
