/* Smaller Flt* services: buffers and MDLs, cancellable waits, lookups, and what Linux lacks. */
#include "core/core_i.h"
#include "common/alloc.h"
#include "common/log.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Log the first call of a routine Linux cannot provide; later calls stay quiet. */
#define NOT_ON_LINUX(name, status)                                                                 \
	do {                                                                                       \
		static atomic_bool said;                                                           \
		if (!atomic_exchange(&said, true))                                                 \
			fm_log(FM_LOG_WARN, fm_filter_name(fm__tls_filter),                        \
			       "%s is not supported on Linux (see docs/api-coverage.md)", name);   \
		return status;                                                                     \
	} while (0)

PCHAR FLTAPI FltGetIrpName(UCHAR IrpMajorCode)
{
	static const char *const names[] = {
	    "IRP_MJ_CREATE",
	    "IRP_MJ_CREATE_NAMED_PIPE",
	    "IRP_MJ_CLOSE",
	    "IRP_MJ_READ",
	    "IRP_MJ_WRITE",
	    "IRP_MJ_QUERY_INFORMATION",
	    "IRP_MJ_SET_INFORMATION",
	    "IRP_MJ_QUERY_EA",
	    "IRP_MJ_SET_EA",
	    "IRP_MJ_FLUSH_BUFFERS",
	    "IRP_MJ_QUERY_VOLUME_INFORMATION",
	    "IRP_MJ_SET_VOLUME_INFORMATION",
	    "IRP_MJ_DIRECTORY_CONTROL",
	    "IRP_MJ_FILE_SYSTEM_CONTROL",
	    "IRP_MJ_DEVICE_CONTROL",
	    "IRP_MJ_INTERNAL_DEVICE_CONTROL",
	    "IRP_MJ_SHUTDOWN",
	    "IRP_MJ_LOCK_CONTROL",
	    "IRP_MJ_CLEANUP",
	    "IRP_MJ_CREATE_MAILSLOT",
	    "IRP_MJ_QUERY_SECURITY",
	    "IRP_MJ_SET_SECURITY",
	    "IRP_MJ_POWER",
	    "IRP_MJ_SYSTEM_CONTROL",
	    "IRP_MJ_DEVICE_CHANGE",
	    "IRP_MJ_QUERY_QUOTA",
	    "IRP_MJ_SET_QUOTA",
	    "IRP_MJ_PNP",
	};
	static const char *const pseudo[] = {
	    "IRP_MJ_ACQUIRE_FOR_SECTION_SYNCHRONIZATION",
	    "IRP_MJ_RELEASE_FOR_SECTION_SYNCHRONIZATION",
	    "IRP_MJ_ACQUIRE_FOR_MOD_WRITE",
	    "IRP_MJ_RELEASE_FOR_MOD_WRITE",
	    "IRP_MJ_ACQUIRE_FOR_CC_FLUSH",
	    "IRP_MJ_RELEASE_FOR_CC_FLUSH",
	    "IRP_MJ_QUERY_OPEN",
	    NULL,
	    NULL,
	    NULL,
	    NULL,
	    NULL,
	    "IRP_MJ_FAST_IO_CHECK_IF_POSSIBLE",
	    "IRP_MJ_NETWORK_QUERY_OPEN",
	    "IRP_MJ_MDL_READ",
	    "IRP_MJ_MDL_READ_COMPLETE",
	    "IRP_MJ_PREPARE_MDL_WRITE",
	    "IRP_MJ_MDL_WRITE_COMPLETE",
	    "IRP_MJ_VOLUME_MOUNT",
	    "IRP_MJ_VOLUME_DISMOUNT",
	};
	unsigned int neg = (unsigned int)(256 - IrpMajorCode);

	if (IrpMajorCode <= IRP_MJ_MAXIMUM_FUNCTION)
		return (PCHAR)names[IrpMajorCode];
	if (neg >= 1 && neg <= 20 && pseudo[neg - 1])
		return (PCHAR)pseudo[neg - 1];
	return (PCHAR) "IRP_MJ_UNKNOWN";
}

BOOLEAN FLTAPI FltIs32bitProcess(PFLT_CALLBACK_DATA CallbackData)
{
	(void)CallbackData;
	return FALSE;
}

NTSTATUS FLTAPI FltGetRequestorSessionId(PFLT_CALLBACK_DATA CallbackData, PULONG SessionId)
{
	if (!CallbackData || !SessionId)
		return STATUS_INVALID_PARAMETER;
	/* One interactive session on this machine, numbered as Windows numbers the console's. */
	*SessionId = 1;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltIsDirectory(PFILE_OBJECT FileObject, PFLT_INSTANCE Instance,
			       PBOOLEAN IsDirectory)
{
	struct fm_volume *vol = fm_file_object_volume(FileObject);

	(void)Instance;
	if (!vol || !IsDirectory || !FileObject->FsContext)
		return STATUS_INVALID_PARAMETER;
	*IsDirectory = vol->lower->stream_is_dir(vol, FileObject->FsContext) ? TRUE : FALSE;
	return STATUS_SUCCESS;
}

/* ---- Buffers and MDLs ---- */

NTSTATUS FLTAPI FltDecodeParameters(PFLT_CALLBACK_DATA CallbackData, PMDL **MdlAddressPointer,
				    PVOID **Buffer, PULONG *Length, LOCK_OPERATION *DesiredAccess)
{
	PFLT_PARAMETERS p;
	PMDL *mdl = NULL;
	PVOID *buf = NULL;
	PULONG len = NULL;
	LOCK_OPERATION access = IoWriteAccess;

	if (!CallbackData)
		return STATUS_INVALID_PARAMETER;
	p = &CallbackData->Iopb->Parameters;
	/* Where each operation keeps its one user buffer: "write access" means the file
	 * system writes into it (reads, queries). */
	switch (CallbackData->Iopb->MajorFunction) {
	case IRP_MJ_READ:
		mdl = &p->Read.MdlAddress, buf = &p->Read.ReadBuffer, len = &p->Read.Length;
		break;
	case IRP_MJ_WRITE:
		mdl = &p->Write.MdlAddress, buf = &p->Write.WriteBuffer, len = &p->Write.Length;
		access = IoReadAccess;
		break;
	case IRP_MJ_DIRECTORY_CONTROL:
		if (CallbackData->Iopb->MinorFunction != IRP_MN_QUERY_DIRECTORY)
			return STATUS_INVALID_PARAMETER;
		mdl = &p->DirectoryControl.QueryDirectory.MdlAddress;
		buf = &p->DirectoryControl.QueryDirectory.DirectoryBuffer;
		len = &p->DirectoryControl.QueryDirectory.Length;
		break;
	case IRP_MJ_QUERY_EA:
		mdl = &p->QueryEa.MdlAddress, buf = &p->QueryEa.EaBuffer, len = &p->QueryEa.Length;
		break;
	case IRP_MJ_SET_EA:
		mdl = &p->SetEa.MdlAddress, buf = &p->SetEa.EaBuffer, len = &p->SetEa.Length;
		access = IoReadAccess;
		break;
	case IRP_MJ_QUERY_SECURITY:
		mdl = &p->QuerySecurity.MdlAddress, buf = &p->QuerySecurity.SecurityBuffer;
		len = &p->QuerySecurity.Length;
		break;
	default:
		return STATUS_INVALID_PARAMETER;
	}
	if (MdlAddressPointer)
		*MdlAddressPointer = mdl;
	if (Buffer)
		*Buffer = buf;
	if (Length)
		*Length = len;
	if (DesiredAccess)
		*DesiredAccess = access;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltLockUserBuffer(PFLT_CALLBACK_DATA CallbackData)
{
	PMDL *mdl;
	PVOID *buf;
	PULONG len;
	NTSTATUS st = FltDecodeParameters(CallbackData, &mdl, &buf, &len, NULL);
	struct fm_irp_private *p;

	if (!NT_SUCCESS(st))
		return st;
	if (*mdl || !*buf || !*len)
		return STATUS_SUCCESS;
	/* Our buffers are ordinary memory: describing them with an MDL is all locking means.
	 * The filter manager owns the MDL and frees it with the operation. */
	*mdl = IoAllocateMdl(*buf, *len, FALSE, FALSE, NULL);
	if (!*mdl)
		return STATUS_INSUFFICIENT_RESOURCES;
	MmBuildMdlForNonPagedPool(*mdl);
	p = fm_irp_from_data(CallbackData)->priv;
	if (p && !p->locked_mdl)
		p->locked_mdl = *mdl;
	return STATUS_SUCCESS;
}

PVOID FLTAPI FltGetNewSystemBufferAddress(PFLT_CALLBACK_DATA CallbackData)
{
	PVOID *buf;

	if (!NT_SUCCESS(FltDecodeParameters(CallbackData, NULL, &buf, NULL, NULL)))
		return NULL;
	return *buf;
}

void FLTAPI FltRetainSwappedBufferMdlAddress(PFLT_CALLBACK_DATA CallbackData)
{
	struct fm_irp_private *p = CallbackData ? fm_irp_from_data(CallbackData)->priv : NULL;

	/* The filter keeps the MDL it swapped in: the filter manager will not free it. */
	if (p)
		p->retain_mdl = true;
}

PMDL FLTAPI FltGetSwappedBufferMdlAddress(PFLT_CALLBACK_DATA CallbackData)
{
	struct fm_irp_private *p = CallbackData ? fm_irp_from_data(CallbackData)->priv : NULL;

	/* Only meaningful in the post-operation of the instance that swapped. */
	return p ? p->swapped_mdl : NULL;
}

PVOID FLTAPI FltAllocatePoolAlignedWithTag(PFLT_INSTANCE Instance, POOL_TYPE PoolType,
					   SIZE_T NumberOfBytes, ULONG Tag)
{
	struct fm_instance *inst = Instance;
	size_t align = inst ? inst->volume->sector_size : 512;
	void *p = NULL;

	(void)PoolType;
	(void)Tag;
	if (align < sizeof(void *))
		align = sizeof(void *);
	if (posix_memalign(&p, align, NumberOfBytes ? NumberOfBytes : 1) != 0)
		return NULL;
	return p;
}

void FLTAPI FltFreePoolAlignedWithTag(PFLT_INSTANCE Instance, PVOID Buffer, ULONG Tag)
{
	(void)Instance;
	(void)Tag;
	free(Buffer);
}

/* ---- Cancellable waits ---- */

/* Wait in short slices so that a cancelled operation stops waiting (STATUS_CANCELLED). */
static NTSTATUS cancellable(ULONG count, PVOID *objs, WAIT_TYPE type, PLARGE_INTEGER timeout,
			    PKWAIT_BLOCK blocks, PFLT_CALLBACK_DATA data)
{
	LONGLONG left = timeout ? timeout->QuadPart : 0;
	LARGE_INTEGER now, slice;

	if (timeout && left > 0) {
		/* Absolute deadline: turn it into a relative one once. */
		KeQuerySystemTime(&now);
		left = -(left - now.QuadPart);
		if (left > 0)
			left = 0;
	}
	for (;;) {
		NTSTATUS st;

		if (data && FltIsIoCanceled(data))
			return STATUS_CANCELLED;
		slice.QuadPart = -200000; /* 20 ms */
		if (timeout && left > slice.QuadPart)
			slice.QuadPart = left;
		st = count == 1
			 ? KeWaitForSingleObject(objs[0], Executive, KernelMode, FALSE, &slice)
			 : KeWaitForMultipleObjects(count, objs, type, Executive, KernelMode, FALSE,
						    &slice, blocks);
		if (st != STATUS_TIMEOUT)
			return st;
		if (timeout) {
			left -= slice.QuadPart;
			if (left >= 0)
				return STATUS_TIMEOUT;
		}
	}
}

NTSTATUS FLTAPI FltCancellableWaitForSingleObject(PVOID Object, PLARGE_INTEGER Timeout,
						  PFLT_CALLBACK_DATA CallbackData)
{
	return cancellable(1, &Object, WaitAny, Timeout, NULL, CallbackData);
}

NTSTATUS FLTAPI FltCancellableWaitForMultipleObjects(ULONG Count, PVOID ObjectArray[],
						     WAIT_TYPE WaitType, PLARGE_INTEGER Timeout,
						     PKWAIT_BLOCK WaitBlockArray,
						     PFLT_CALLBACK_DATA CallbackData)
{
	return cancellable(Count, ObjectArray, WaitType, Timeout, WaitBlockArray, CallbackData);
}

/* ---- Lookups ---- */

PVOID FLTAPI FltGetRoutineAddress(PCSTR FltMgrRoutineName)
{
	return FltMgrRoutineName ? dlsym(RTLD_DEFAULT, FltMgrRoutineName) : NULL;
}

static NTSTATUS by_name(PCUNICODE_STRING name, bool load)
{
	ANSI_STRING a;
	char svc[128], msg[256];
	NTSTATUS st;

	if (!name || !NT_SUCCESS(RtlUnicodeStringToAnsiString(&a, name, TRUE)))
		return STATUS_INVALID_PARAMETER;
	snprintf(svc, sizeof(svc), "%.*s", (int)a.Length, a.Buffer);
	RtlFreeAnsiString(&a);
	st = load ? fm_filter_load(svc, msg, sizeof(msg))
		  : fm_filter_unload(svc, false, msg, sizeof(msg));
	return st;
}

NTSTATUS FLTAPI FltLoadFilter(PCUNICODE_STRING FilterName)
{
	return by_name(FilterName, true);
}

NTSTATUS FLTAPI FltUnloadFilter(PCUNICODE_STRING FilterName)
{
	return by_name(FilterName, false);
}

NTSTATUS FLTAPI FltIsVolumeSnapshot(PVOID FltObject, PBOOLEAN IsSnapshotVolume)
{
	if (!FltObject || !IsSnapshotVolume)
		return STATUS_INVALID_PARAMETER;
	*IsSnapshotVolume = FALSE;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltGetVolumeGuidName(PFLT_VOLUME Volume, PUNICODE_STRING VolumeGuidName,
				     PULONG BufferSizeNeeded)
{
	struct fm_volume *vol = Volume;
	char name[80];
	uint64_t h = 1469598103934665603ull;
	size_t n;

	if (!vol)
		return STATUS_INVALID_PARAMETER;
	/* A stable GUID per backing directory, so a filter that keys on it sees the same one
	 * after a remount (FNV-1a of the path). */
	for (const char *c = vol->backing_dir; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ull;
	n = (size_t)snprintf(name, sizeof(name), "\\??\\Volume{%08x-%04x-%04x-%04x-%012llx}",
			     (unsigned int)(h >> 32), (unsigned int)(h >> 16) & 0xffff,
			     (unsigned int)h & 0xffff, vol->number & 0xffff,
			     (unsigned long long)(h & 0xffffffffffffull));
	if (BufferSizeNeeded)
		*BufferSizeNeeded = (ULONG)(n * sizeof(WCHAR));
	if (!VolumeGuidName || VolumeGuidName->MaximumLength < n * sizeof(WCHAR))
		return STATUS_BUFFER_TOO_SMALL;
	for (size_t i = 0; i < n; i++)
		VolumeGuidName->Buffer[i] = (WCHAR)name[i];
	VolumeGuidName->Length = (USHORT)(n * sizeof(WCHAR));
	return STATUS_SUCCESS;
}

/* ---- Names ---- */

NTSTATUS FLTAPI FltParseFileName(PCUNICODE_STRING FileName, PUNICODE_STRING Extension,
				 PUNICODE_STRING Stream, PUNICODE_STRING FinalComponent)
{
	size_t n, fin = 0, stream, ext;
	const WCHAR *s;

	if (!FileName)
		return STATUS_INVALID_PARAMETER;
	s = FileName->Buffer;
	n = FileName->Length / sizeof(WCHAR);
	for (size_t i = 0; i < n; i++)
		if (s[i] == u'\\')
			fin = i + 1;
	stream = n;
	for (size_t i = fin; i < n; i++)
		if (s[i] == u':') {
			stream = i;
			break;
		}
	ext = stream;
	for (size_t i = stream; i > fin; i--)
		if (s[i - 1] == u'.') {
			ext = i;
			break;
		}
#define SET(u, a, b)                                                                               \
	do {                                                                                       \
		if (u) {                                                                           \
			(u)->Buffer = (b) > (a) ? (PWCH)(s + (a)) : NULL;                          \
			(u)->Length = (u)->MaximumLength = (USHORT)(((b) - (a)) * sizeof(WCHAR));  \
		}                                                                                  \
	} while (0)
	SET(FinalComponent, fin, n);
	SET(Stream, stream, n);
	SET(Extension, ext, ext == stream ? ext : stream);
#undef SET
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltGetTunneledName(PFLT_CALLBACK_DATA CallbackData,
				   PFLT_FILE_NAME_INFORMATION NameInfo,
				   PFLT_FILE_NAME_INFORMATION *RetTunneledFileNameInformation)
{
	if (!CallbackData || !NameInfo || !RetTunneledFileNameInformation)
		return STATUS_INVALID_PARAMETER;
	/* Linux file systems do no name tunneling: the name the filter has stays valid. */
	*RetTunneledFileNameInformation = NULL;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltPurgeFileNameInformationCache(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject)
{
	(void)Instance;
	(void)FileObject;
	/* Names are computed from the volume's current paths, never cached stale. */
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltCheckAndGrowNameControl(PFLT_NAME_CONTROL NameCtrl, USHORT NewSize)
{
	PWCH grown;

	if (!NameCtrl)
		return STATUS_INVALID_PARAMETER;
	if (NameCtrl->Name.MaximumLength >= NewSize)
		return STATUS_SUCCESS;
	grown = ExAllocatePoolWithTag(PagedPool, NewSize, 'cNmF');
	if (!grown)
		return STATUS_INSUFFICIENT_RESOURCES;
	if (NameCtrl->Name.Length)
		memcpy(grown, NameCtrl->Name.Buffer, NameCtrl->Name.Length);
	/* The old buffer may be the name control's own inline storage: it is not ours to free. */
	NameCtrl->Name.Buffer = grown;
	NameCtrl->Name.MaximumLength = NewSize;
	return STATUS_SUCCESS;
}

/* ---- What Linux cannot have: transactions, data-scan sections ---- */

NTSTATUS FLTAPI FltEnlistInTransaction(PFLT_INSTANCE Instance, PKTRANSACTION Transaction,
				       PFLT_CONTEXT TransactionContext,
				       NOTIFICATION_MASK NotificationMask)
{
	(void)Instance, (void)Transaction, (void)TransactionContext, (void)NotificationMask;
	NOT_ON_LINUX("FltEnlistInTransaction", STATUS_NOT_SUPPORTED);
}

NTSTATUS FLTAPI FltRegisterForDataScan(PFLT_INSTANCE Instance)
{
	(void)Instance;
	NOT_ON_LINUX("FltRegisterForDataScan", STATUS_NOT_SUPPORTED);
}

NTSTATUS FLTAPI FltCloseSectionForDataScan(PFLT_CONTEXT SectionContext)
{
	(void)SectionContext;
	NOT_ON_LINUX("FltCloseSectionForDataScan", STATUS_NOT_SUPPORTED);
}

/* Transaction notifications never arrive (FltEnlistInTransaction fails): nothing to complete. */
NTSTATUS FLTAPI FltRollbackEnlistment(PFLT_INSTANCE Instance, PKTRANSACTION Transaction,
				      PFLT_CONTEXT TransactionContext)
{
	(void)Instance, (void)Transaction, (void)TransactionContext;
	NOT_ON_LINUX("FltRollbackEnlistment", STATUS_NOT_SUPPORTED);
}

NTSTATUS FLTAPI FltCommitComplete(PFLT_INSTANCE Instance, PKTRANSACTION Transaction,
				  PFLT_CONTEXT TransactionContext)
{
	(void)Instance, (void)Transaction, (void)TransactionContext;
	NOT_ON_LINUX("FltCommitComplete", STATUS_NOT_SUPPORTED);
}

NTSTATUS FLTAPI FltRollbackComplete(PFLT_INSTANCE Instance, PKTRANSACTION Transaction,
				    PFLT_CONTEXT TransactionContext)
{
	(void)Instance, (void)Transaction, (void)TransactionContext;
	NOT_ON_LINUX("FltRollbackComplete", STATUS_NOT_SUPPORTED);
}

NTSTATUS FLTAPI FltPrePrepareComplete(PFLT_INSTANCE Instance, PKTRANSACTION Transaction,
				      PFLT_CONTEXT TransactionContext)
{
	(void)Instance, (void)Transaction, (void)TransactionContext;
	NOT_ON_LINUX("FltPrePrepareComplete", STATUS_NOT_SUPPORTED);
}

NTSTATUS FLTAPI FltPrepareComplete(PFLT_INSTANCE Instance, PKTRANSACTION Transaction,
				   PFLT_CONTEXT TransactionContext)
{
	(void)Instance, (void)Transaction, (void)TransactionContext;
	NOT_ON_LINUX("FltPrepareComplete", STATUS_NOT_SUPPORTED);
}

NTSTATUS FLTAPI FltCreateSectionForDataScan(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
					    PFLT_CONTEXT SectionContext, ACCESS_MASK DesiredAccess,
					    POBJECT_ATTRIBUTES ObjectAttributes,
					    PLARGE_INTEGER MaximumSize, ULONG SectionPageProtection,
					    ULONG AllocationAttributes, ULONG Flags,
					    PHANDLE SectionHandle, PVOID *SectionObject,
					    PLARGE_INTEGER SectionFileSize)
{
	(void)Instance, (void)FileObject, (void)SectionContext, (void)DesiredAccess;
	(void)ObjectAttributes, (void)MaximumSize, (void)SectionPageProtection;
	(void)AllocationAttributes, (void)Flags;
	if (SectionHandle)
		*SectionHandle = NULL;
	if (SectionObject)
		*SectionObject = NULL;
	if (SectionFileSize)
		SectionFileSize->QuadPart = 0;
	NOT_ON_LINUX("FltCreateSectionForDataScan", STATUS_NOT_SUPPORTED);
}

/*
 * The operation-status callback reports the status a file system gives an IRP when it accepts
 * it, before the operation completes.  Below this filter manager every lower file system
 * completes operations synchronously, so that status is the final one and every filter gets
 * it in its post-operation: there is no earlier point to report.  Refused, documented.
 */
NTSTATUS FLTAPI FltRequestOperationStatusCallback(
    PFLT_CALLBACK_DATA Data, PFLT_GET_OPERATION_STATUS_CALLBACK CallbackRoutine,
    PVOID RequesterContext)
{
	(void)RequesterContext;
	if (!Data || !CallbackRoutine || !FLT_IS_IRP_OPERATION(Data))
		return STATUS_INVALID_PARAMETER;
	NOT_ON_LINUX("FltRequestOperationStatusCallback", STATUS_NOT_SUPPORTED);
}
