/*
 * More filter-initiated I/O: EAs, FSCTLs and IOCTLs, reparse tags, security, the volume.  The
 * fm__io_* helpers also carry the Zw* file routines (src/nt/zwfile.c): `issuer` NULL sends an
 * operation to the top of the volume's stack.
 */
#include "core/core_i.h"
#include "common/alloc.h"
#include "common/log.h"
#include "nt/handle.h"

#include <ntifs.h>

#include <stddef.h>
#include <string.h>

static struct fm_instance *instance_of(PFLT_INSTANCE Instance)
{
	struct fm_instance *inst = Instance;

	if (!inst || inst->magic != FM_MAGIC_INSTANCE)
		return NULL;
	return inst;
}

/* An operation below `issuer` (the top when NULL), KernelMode, pid 0, generated I/O. */
static void io_init(struct fm_irp *irp, struct fm_instance *issuer, struct fm_volume *vol,
		    UCHAR major, UCHAR minor, PFILE_OBJECT fo)
{
	fm_irp_init(irp, vol, major, minor, fo, NULL);
	irp->data.Flags |= FLTFL_CALLBACK_DATA_GENERATED_IO;
	irp->issuer = issuer;
}

static NTSTATUS io_run(struct fm_irp *irp, PIO_STATUS_BLOCK iosb)
{
	NTSTATUS st;

	if (irp->issuer)
		fm__instance_get(irp->issuer);
	st = fm_irp_dispatch(irp);
	fm_irp_cleanup(irp);
	if (irp->issuer)
		fm__instance_put(irp->issuer);
	if (iosb)
		*iosb = irp->data.IoStatus;
	return st;
}

/* A Flt* routine's instance and file object: both valid and on the same volume. */
static NTSTATUS flt_target(PFLT_INSTANCE Instance, PFILE_OBJECT fo, struct fm_instance **out)
{
	struct fm_instance *inst = instance_of(Instance);

	*out = inst;
	if (!inst || !fo)
		return STATUS_INVALID_PARAMETER;
	if (fm_file_object_volume(fo) != inst->volume)
		return STATUS_INVALID_PARAMETER;
	return STATUS_SUCCESS;
}

/* ---- The operations, below an issuer or from the top ---- */

NTSTATUS fm__io_read_write(struct fm_instance *issuer, PFILE_OBJECT fo, bool write,
			   PLARGE_INTEGER offset, ULONG len, PVOID buf, PULONG key,
			   PIO_STATUS_BLOCK iosb)
{
	struct fm_irp irp;
	LARGE_INTEGER off = offset ? *offset : fo->CurrentByteOffset;
	bool update = !offset || (fo->Flags & FO_SYNCHRONOUS_IO);
	NTSTATUS st;

	/* FILE_USE_FILE_POINTER_POSITION: the file position, as a NULL offset. */
	if (offset && offset->HighPart == -1 && offset->LowPart == FILE_USE_FILE_POINTER_POSITION)
		off = fo->CurrentByteOffset;
	if (write && off.HighPart == -1 && off.LowPart == FILE_WRITE_TO_END_OF_FILE)
		update = false;
	io_init(&irp, issuer, fm_file_object_volume(fo), write ? IRP_MJ_WRITE : IRP_MJ_READ, 0, fo);
	irp.iopb.IrpFlags |= IRP_SYNCHRONOUS_API;
	if (write) {
		irp.iopb.Parameters.Write.Length = len;
		irp.iopb.Parameters.Write.Key = key ? *key : 0;
		irp.iopb.Parameters.Write.ByteOffset = off;
		irp.iopb.Parameters.Write.WriteBuffer = buf;
	} else {
		irp.iopb.Parameters.Read.Length = len;
		irp.iopb.Parameters.Read.Key = key ? *key : 0;
		irp.iopb.Parameters.Read.ByteOffset = off;
		irp.iopb.Parameters.Read.ReadBuffer = buf;
	}
	st = io_run(&irp, iosb);
	if (update && NT_SUCCESS(st))
		fo->CurrentByteOffset.QuadPart = off.QuadPart + (LONGLONG)iosb->Information;
	return st;
}

NTSTATUS fm__io_info(struct fm_instance *issuer, PFILE_OBJECT fo, bool set, PVOID buf, ULONG len,
		     FILE_INFORMATION_CLASS cls, PIO_STATUS_BLOCK iosb)
{
	struct fm_irp irp;

	io_init(&irp, issuer, fm_file_object_volume(fo),
		set ? IRP_MJ_SET_INFORMATION : IRP_MJ_QUERY_INFORMATION, 0, fo);
	if (set) {
		irp.iopb.Parameters.SetFileInformation.Length = len;
		irp.iopb.Parameters.SetFileInformation.FileInformationClass = cls;
		irp.iopb.Parameters.SetFileInformation.InfoBuffer = buf;
		if ((cls == FileRenameInformation || cls == FileLinkInformation ||
		     cls == FileRenameInformationEx || cls == FileLinkInformationEx) &&
		    len >= sizeof(ULONG))
			irp.iopb.Parameters.SetFileInformation.ReplaceIfExists =
			    (((const FILE_RENAME_INFORMATION *)buf)->ReplaceIfExists &
			     (cls == FileRenameInformationEx || cls == FileLinkInformationEx
				  ? 1
				  : 0xff)) != 0;
	} else {
		irp.iopb.Parameters.QueryFileInformation.Length = len;
		irp.iopb.Parameters.QueryFileInformation.FileInformationClass = cls;
		irp.iopb.Parameters.QueryFileInformation.InfoBuffer = buf;
	}
	return io_run(&irp, iosb);
}

NTSTATUS fm__io_query_dir(struct fm_instance *issuer, PFILE_OBJECT fo, PVOID buf, ULONG len,
			  FILE_INFORMATION_CLASS cls, UCHAR sl_flags, PUNICODE_STRING name,
			  PIO_STATUS_BLOCK iosb)
{
	struct fm_irp irp;

	io_init(&irp, issuer, fm_file_object_volume(fo), IRP_MJ_DIRECTORY_CONTROL,
		IRP_MN_QUERY_DIRECTORY, fo);
	irp.iopb.OperationFlags = sl_flags;
	irp.iopb.Parameters.DirectoryControl.QueryDirectory.Length = len;
	irp.iopb.Parameters.DirectoryControl.QueryDirectory.FileName = name;
	irp.iopb.Parameters.DirectoryControl.QueryDirectory.FileInformationClass = cls;
	irp.iopb.Parameters.DirectoryControl.QueryDirectory.DirectoryBuffer = buf;
	return io_run(&irp, iosb);
}

NTSTATUS fm__io_volume(struct fm_instance *issuer, struct fm_volume *vol, PFILE_OBJECT fo, bool set,
		       PVOID buf, ULONG len, FS_INFORMATION_CLASS cls, PIO_STATUS_BLOCK iosb)
{
	struct fm_irp irp;

	io_init(&irp, issuer, vol,
		set ? IRP_MJ_SET_VOLUME_INFORMATION : IRP_MJ_QUERY_VOLUME_INFORMATION, 0, fo);
	/* Query and set share the parameter layout. */
	irp.iopb.Parameters.QueryVolumeInformation.Length = len;
	irp.iopb.Parameters.QueryVolumeInformation.FsInformationClass = cls;
	irp.iopb.Parameters.QueryVolumeInformation.VolumeBuffer = buf;
	return io_run(&irp, iosb);
}

NTSTATUS fm__io_flush(struct fm_instance *issuer, PFILE_OBJECT fo, PIO_STATUS_BLOCK iosb)
{
	struct fm_irp irp;

	io_init(&irp, issuer, fm_file_object_volume(fo), IRP_MJ_FLUSH_BUFFERS, 0, fo);
	return io_run(&irp, iosb);
}

NTSTATUS fm__io_query_ea(struct fm_instance *issuer, PFILE_OBJECT fo, PVOID buf, ULONG len,
			 BOOLEAN single, PVOID list, ULONG list_len, PULONG index, BOOLEAN restart,
			 PIO_STATUS_BLOCK iosb)
{
	struct fm_irp irp;

	io_init(&irp, issuer, fm_file_object_volume(fo), IRP_MJ_QUERY_EA, 0, fo);
	irp.iopb.OperationFlags =
	    (UCHAR)((single ? SL_RETURN_SINGLE_ENTRY : 0) | (restart ? SL_RESTART_SCAN : 0) |
		    (index ? SL_INDEX_SPECIFIED : 0));
	irp.iopb.Parameters.QueryEa.Length = len;
	irp.iopb.Parameters.QueryEa.EaList = list;
	irp.iopb.Parameters.QueryEa.EaListLength = list ? list_len : 0;
	irp.iopb.Parameters.QueryEa.EaIndex = index ? *index : 0;
	irp.iopb.Parameters.QueryEa.EaBuffer = buf;
	return io_run(&irp, iosb);
}

NTSTATUS fm__io_set_ea(struct fm_instance *issuer, PFILE_OBJECT fo, PVOID buf, ULONG len,
		       PIO_STATUS_BLOCK iosb)
{
	struct fm_irp irp;
	ULONG err = 0;

	if (!buf || !len)
		return STATUS_INVALID_PARAMETER;
	/* As the I/O manager does before the file system sees the buffer. */
	if (!NT_SUCCESS(IoCheckEaBufferValidity(buf, len, &err))) {
		if (iosb) {
			iosb->Status = STATUS_EA_LIST_INCONSISTENT;
			iosb->Information = err;
		}
		return STATUS_EA_LIST_INCONSISTENT;
	}
	io_init(&irp, issuer, fm_file_object_volume(fo), IRP_MJ_SET_EA, 0, fo);
	irp.iopb.Parameters.SetEa.Length = len;
	irp.iopb.Parameters.SetEa.EaBuffer = buf;
	return io_run(&irp, iosb);
}

/*
 * IRP_MJ_FILE_SYSTEM_CONTROL (IRP_MN_USER_FS_REQUEST) or IRP_MJ_DEVICE_CONTROL, with the
 * buffers placed as the code's transfer method says: METHOD_BUFFERED gets one system buffer
 * holding the input and receiving the output (copied back, Information bytes); the direct
 * methods a system copy of the input and the caller's output buffer; METHOD_NEITHER both
 * buffers as given.
 */
NTSTATUS fm__io_control(struct fm_instance *issuer, PFILE_OBJECT fo, UCHAR major, ULONG code,
			PVOID in, ULONG in_len, PVOID out, ULONG out_len, PIO_STATUS_BLOCK iosb)
{
	struct fm_irp irp;
	void *sysbuf = NULL;
	ULONG method = code & 3;
	NTSTATUS st;

	if ((in_len && !in) || (out_len && !out))
		return STATUS_INVALID_USER_BUFFER;
	io_init(&irp, issuer, fm_file_object_volume(fo), major,
		major == IRP_MJ_FILE_SYSTEM_CONTROL ? IRP_MN_USER_FS_REQUEST : 0, fo);
	if (method == METHOD_BUFFERED || method == METHOD_IN_DIRECT ||
	    method == METHOD_OUT_DIRECT) {
		size_t n = method == METHOD_BUFFERED && out_len > in_len ? out_len : in_len;

		if (n) {
			sysbuf = fm_calloc(1, n);
			if (!sysbuf)
				return STATUS_INSUFFICIENT_RESOURCES;
			if (in_len)
				memcpy(sysbuf, in, in_len);
		}
	}
	/* FileSystemControl and DeviceIoControl share the parameter layout. */
	irp.iopb.Parameters.FileSystemControl.Common.OutputBufferLength = out_len;
	irp.iopb.Parameters.FileSystemControl.Common.InputBufferLength = in_len;
	irp.iopb.Parameters.FileSystemControl.Common.FsControlCode = code;
	switch (method) {
	case METHOD_BUFFERED:
		irp.iopb.Parameters.FileSystemControl.Buffered.SystemBuffer = sysbuf;
		break;
	case METHOD_IN_DIRECT:
	case METHOD_OUT_DIRECT:
		irp.iopb.Parameters.FileSystemControl.Direct.InputSystemBuffer = sysbuf;
		irp.iopb.Parameters.FileSystemControl.Direct.OutputBuffer = out;
		break;
	default:
		irp.iopb.Parameters.FileSystemControl.Neither.InputBuffer = in;
		irp.iopb.Parameters.FileSystemControl.Neither.OutputBuffer = out;
		break;
	}
	st = io_run(&irp, iosb);
	if (method == METHOD_BUFFERED && out_len && sysbuf &&
	    (NT_SUCCESS(st) || st == STATUS_BUFFER_OVERFLOW)) {
		ULONG_PTR n = iosb->Information < out_len ? iosb->Information : out_len;

		memcpy(out, sysbuf, n);
	}
	fm_free(sysbuf);
	return st;
}

/* STATUS_BUFFER_TOO_SMALL and the length needed when the descriptor does not fit. */
NTSTATUS fm__io_query_security(struct fm_instance *issuer, PFILE_OBJECT fo, SECURITY_INFORMATION si,
			       PVOID sd, ULONG len, PULONG needed)
{
	IO_STATUS_BLOCK iosb = {0};
	struct fm_irp irp;
	NTSTATUS st;

	if (needed)
		*needed = 0;
	if (len && !sd)
		return STATUS_INVALID_PARAMETER;
	io_init(&irp, issuer, fm_file_object_volume(fo), IRP_MJ_QUERY_SECURITY, 0, fo);
	irp.iopb.Parameters.QuerySecurity.SecurityInformation = si;
	irp.iopb.Parameters.QuerySecurity.Length = len;
	irp.iopb.Parameters.QuerySecurity.SecurityBuffer = sd;
	st = io_run(&irp, &iosb);
	if (st == STATUS_BUFFER_OVERFLOW)
		st = STATUS_BUFFER_TOO_SMALL;
	if (needed && (NT_SUCCESS(st) || st == STATUS_BUFFER_TOO_SMALL))
		*needed = (ULONG)iosb.Information;
	return st;
}

NTSTATUS fm__io_set_security(struct fm_instance *issuer, PFILE_OBJECT fo, SECURITY_INFORMATION si,
			     PSECURITY_DESCRIPTOR sd)
{
	struct fm_irp irp;

	if (!sd)
		return STATUS_INVALID_PARAMETER;
	io_init(&irp, issuer, fm_file_object_volume(fo), IRP_MJ_SET_SECURITY, 0, fo);
	irp.iopb.Parameters.SetSecurity.SecurityInformation = si;
	irp.iopb.Parameters.SetSecurity.SecurityDescriptor = sd;
	return io_run(&irp, NULL);
}

/* ---- The Flt* routines ---- */

NTSTATUS FLTAPI FltQueryEaFile(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
			       PVOID ReturnedEaData, ULONG Length, BOOLEAN ReturnSingleEntry,
			       PVOID EaList, ULONG EaListLength, PULONG EaIndex,
			       BOOLEAN RestartScan, PULONG LengthReturned)
{
	IO_STATUS_BLOCK iosb = {0};
	struct fm_instance *inst;
	NTSTATUS st = flt_target(Instance, FileObject, &inst);

	if (LengthReturned)
		*LengthReturned = 0;
	if (!NT_SUCCESS(st))
		return st;
	if (Length && !ReturnedEaData)
		return STATUS_INVALID_PARAMETER;
	st = fm__io_query_ea(inst, FileObject, ReturnedEaData, Length, ReturnSingleEntry, EaList,
			     EaListLength, EaIndex, RestartScan, &iosb);
	if (LengthReturned)
		*LengthReturned = (ULONG)iosb.Information;
	return st;
}

NTSTATUS FLTAPI FltSetEaFile(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject, PVOID EaBuffer,
			     ULONG Length)
{
	struct fm_instance *inst;
	NTSTATUS st = flt_target(Instance, FileObject, &inst);

	if (!NT_SUCCESS(st))
		return st;
	return fm__io_set_ea(inst, FileObject, EaBuffer, Length, NULL);
}

static NTSTATUS flt_control(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject, UCHAR major,
			    ULONG code, PVOID in, ULONG in_len, PVOID out, ULONG out_len,
			    PULONG LengthReturned)
{
	IO_STATUS_BLOCK iosb = {0};
	struct fm_instance *inst;
	NTSTATUS st = flt_target(Instance, FileObject, &inst);

	if (LengthReturned)
		*LengthReturned = 0;
	if (!NT_SUCCESS(st))
		return st;
	st = fm__io_control(inst, FileObject, major, code, in, in_len, out, out_len, &iosb);
	if (LengthReturned)
		*LengthReturned = (ULONG)iosb.Information;
	return st;
}

NTSTATUS FLTAPI FltFsControlFile(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				 ULONG FsControlCode, PVOID InputBuffer, ULONG InputBufferLength,
				 PVOID OutputBuffer, ULONG OutputBufferLength,
				 PULONG LengthReturned)
{
	return flt_control(Instance, FileObject, IRP_MJ_FILE_SYSTEM_CONTROL, FsControlCode,
			   InputBuffer, InputBufferLength, OutputBuffer, OutputBufferLength,
			   LengthReturned);
}

NTSTATUS FLTAPI FltDeviceIoControlFile(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				       ULONG IoControlCode, PVOID InputBuffer,
				       ULONG InputBufferLength, PVOID OutputBuffer,
				       ULONG OutputBufferLength, PULONG LengthReturned)
{
	return flt_control(Instance, FileObject, IRP_MJ_DEVICE_CONTROL, IoControlCode, InputBuffer,
			   InputBufferLength, OutputBuffer, OutputBufferLength, LengthReturned);
}

/*
 * FltTagFile: FSCTL_SET_REPARSE_POINT with a REPARSE_DATA_BUFFER (Microsoft tags) or a
 * REPARSE_GUID_DATA_BUFFER (the others, which need a GUID) built from the arguments.
 */
NTSTATUS FLTAPI FltTagFile(PFLT_INSTANCE InitiatingInstance, PFILE_OBJECT FileObject, ULONG FileTag,
			   GUID *Guid, PVOID DataBuffer, USHORT DataBufferLength)
{
	bool ms = IsReparseTagMicrosoft(FileTag);
	ULONG hdr = ms ? (ULONG)REPARSE_DATA_BUFFER_HEADER_SIZE
		       : (ULONG)REPARSE_GUID_DATA_BUFFER_HEADER_SIZE;
	UCHAR *buf;
	NTSTATUS st;

	if ((!ms && !Guid) || (DataBufferLength && !DataBuffer) ||
	    DataBufferLength > MAXIMUM_REPARSE_DATA_BUFFER_SIZE - hdr)
		return STATUS_INVALID_PARAMETER;
	buf = fm_calloc(1, hdr + DataBufferLength);
	if (!buf)
		return STATUS_INSUFFICIENT_RESOURCES;
	if (ms) {
		REPARSE_DATA_BUFFER *rb = (void *)buf;

		rb->ReparseTag = FileTag;
		rb->ReparseDataLength = DataBufferLength;
	} else {
		REPARSE_GUID_DATA_BUFFER *rb = (void *)buf;

		rb->ReparseTag = FileTag;
		rb->ReparseDataLength = DataBufferLength;
		rb->ReparseGuid = *Guid;
	}
	if (DataBufferLength)
		memcpy(buf + hdr, DataBuffer, DataBufferLength);
	st = FltFsControlFile(InitiatingInstance, FileObject, FSCTL_SET_REPARSE_POINT, buf,
			      hdr + DataBufferLength, NULL, 0, NULL);
	fm_free(buf);
	return st;
}

NTSTATUS FLTAPI FltUntagFile(PFLT_INSTANCE InitiatingInstance, PFILE_OBJECT FileObject,
			     ULONG FileTag, GUID *Guid)
{
	REPARSE_GUID_DATA_BUFFER rb;
	bool ms = IsReparseTagMicrosoft(FileTag);

	if (!ms && !Guid)
		return STATUS_INVALID_PARAMETER;
	memset(&rb, 0, sizeof(rb));
	rb.ReparseTag = FileTag;
	if (!ms)
		rb.ReparseGuid = *Guid;
	return FltFsControlFile(InitiatingInstance, FileObject, FSCTL_DELETE_REPARSE_POINT, &rb,
				ms ? (ULONG)REPARSE_DATA_BUFFER_HEADER_SIZE
				   : (ULONG)REPARSE_GUID_DATA_BUFFER_HEADER_SIZE,
				NULL, 0, NULL);
}

NTSTATUS FLTAPI FltQuerySecurityObject(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				       SECURITY_INFORMATION SecurityInformation,
				       PSECURITY_DESCRIPTOR SecurityDescriptor, ULONG Length,
				       PULONG LengthNeeded)
{
	struct fm_instance *inst;
	NTSTATUS st = flt_target(Instance, FileObject, &inst);

	if (LengthNeeded)
		*LengthNeeded = 0;
	if (!NT_SUCCESS(st))
		return st;
	return fm__io_query_security(inst, FileObject, SecurityInformation, SecurityDescriptor,
				     Length, LengthNeeded);
}

NTSTATUS FLTAPI FltSetSecurityObject(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				     SECURITY_INFORMATION SecurityInformation,
				     PSECURITY_DESCRIPTOR SecurityDescriptor)
{
	struct fm_instance *inst;
	NTSTATUS st = flt_target(Instance, FileObject, &inst);

	if (!NT_SUCCESS(st))
		return st;
	return fm__io_set_security(inst, FileObject, SecurityInformation, SecurityDescriptor);
}

NTSTATUS FLTAPI FltSetVolumeInformation(PFLT_INSTANCE Instance, PIO_STATUS_BLOCK Iosb,
					PVOID FsInformation, ULONG Length,
					FS_INFORMATION_CLASS FsInformationClass)
{
	struct fm_instance *inst = instance_of(Instance);
	IO_STATUS_BLOCK local = {0};
	NTSTATUS st;

	if (!inst || !FsInformation || !Length)
		return STATUS_INVALID_PARAMETER;
	st = fm__io_volume(inst, inst->volume, NULL, true, FsInformation, Length,
			   FsInformationClass, &local);
	if (Iosb)
		*Iosb = local;
	return st;
}

/* The volume's device name opens its root directory: that stands for the volume. */
static NTSTATUS open_on_volume(struct fm_instance *inst, const WCHAR *rel, size_t rel_len,
			       ACCESS_MASK access, ULONG attrs, ULONG disposition, ULONG options,
			       HANDLE *h, PFILE_OBJECT *fo, PIO_STATUS_BLOCK iosb)
{
	const UNICODE_STRING *dev = &inst->volume->device_w;
	size_t dn = dev->Length / sizeof(WCHAR);
	OBJECT_ATTRIBUTES oa;
	UNICODE_STRING us;
	WCHAR *name;
	NTSTATUS st;

	name = fm_malloc((dn + rel_len) * sizeof(WCHAR));
	if (!name)
		return STATUS_INSUFFICIENT_RESOURCES;
	memcpy(name, dev->Buffer, dn * sizeof(WCHAR));
	if (rel_len)
		memcpy(name + dn, rel, rel_len * sizeof(WCHAR));
	us.Buffer = name;
	us.Length = us.MaximumLength = (USHORT)((dn + rel_len) * sizeof(WCHAR));
	InitializeObjectAttributes(&oa, &us, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
	st = fm__create_file(inst, h, fo, access, &oa, iosb, NULL, attrs,
			     FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, disposition,
			     options, NULL, 0, 0, NULL);
	fm_free(name);
	return st;
}

NTSTATUS FLTAPI FltOpenVolume(PFLT_INSTANCE Instance, PHANDLE VolumeHandle,
			      PFILE_OBJECT *VolumeFileObject)
{
	struct fm_instance *inst = instance_of(Instance);
	IO_STATUS_BLOCK iosb;

	if (VolumeHandle)
		*VolumeHandle = NULL;
	if (VolumeFileObject)
		*VolumeFileObject = NULL;
	if (!inst || !VolumeHandle)
		return STATUS_INVALID_PARAMETER;
	return open_on_volume(
	    inst, NULL, 0, FILE_READ_ATTRIBUTES | FILE_READ_DATA | FILE_WRITE_DATA | SYNCHRONIZE, 0,
	    FILE_OPEN, FILE_SYNCHRONOUS_IO_NONALERT, VolumeHandle, VolumeFileObject, &iosb);
}

NTSTATUS FLTAPI FltCreateSystemVolumeInformationFolder(PFLT_INSTANCE Instance)
{
	static const WCHAR svi[] = u"\\System Volume Information";
	struct fm_instance *inst = instance_of(Instance);
	IO_STATUS_BLOCK iosb;
	HANDLE h = NULL;
	NTSTATUS st;

	if (!inst)
		return STATUS_INVALID_PARAMETER;
	st = open_on_volume(inst, svi, sizeof(svi) / sizeof(WCHAR) - 1,
			    FILE_LIST_DIRECTORY | SYNCHRONIZE,
			    FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_SYSTEM, FILE_OPEN_IF,
			    FILE_DIRECTORY_FILE | FILE_SYNCHRONOUS_IO_NONALERT, &h, NULL, &iosb);
	if (NT_SUCCESS(st))
		FltClose(h);
	return st;
}
