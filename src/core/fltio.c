/* Filter-initiated I/O: FltCreateFile*, FltReadFile/FltWriteFile, queries, callback data. */
#include "core/core_i.h"
#include "common/alloc.h"
#include "common/log.h"
#include "nt/handle.h"

#include <stddef.h>
#include <string.h>
#include <time.h>

/*
 * Every operation here is an fm_irp with `issuer` set to the calling instance, so dispatch
 * shows it only to the instances below (DESIGN 5.7), KernelMode and pid 0 (fm_irp_init with
 * who = NULL), flagged FLTFL_CALLBACK_DATA_GENERATED_IO.  Synchronous operations keep the irp
 * on the stack; asynchronous ones allocate it and free it after the caller's callback.
 */

/* A valid instance pointer, or NULL. */
static struct fm_instance *instance_of(PFLT_INSTANCE Instance)
{
	struct fm_instance *inst = Instance;

	if (!inst || inst->magic != FM_MAGIC_INSTANCE)
		return NULL;
	return inst;
}

/* Check instance and file object belong together; NTSTATUS for the caller. */
static NTSTATUS check_target(struct fm_instance *inst, PFILE_OBJECT fo)
{
	if (!inst)
		return STATUS_INVALID_PARAMETER;
	if (fo && fm_file_object_volume(fo) != inst->volume)
		return STATUS_INVALID_PARAMETER;
	return STATUS_SUCCESS;
}

static void io_init(struct fm_irp *irp, struct fm_instance *inst, struct fm_volume *vol,
		    UCHAR major, UCHAR minor, PFILE_OBJECT fo)
{
	fm_irp_init(irp, vol, major, minor, fo, NULL);
	irp->data.Flags |= FLTFL_CALLBACK_DATA_GENERATED_IO;
	irp->issuer = inst;
}

/* Dispatch synchronously and release the dispatch state; returns the final status. */
static NTSTATUS io_run(struct fm_irp *irp)
{
	NTSTATUS st;

	if (irp->issuer)
		fm__instance_get(irp->issuer);
	st = fm_irp_dispatch(irp);
	fm_irp_cleanup(irp);
	if (irp->issuer)
		fm__instance_put(irp->issuer);
	return st;
}

/* ---- Opening and closing ------------------------------------------------------------------ */

/* Case-insensitive ASCII comparison of a UTF-16 prefix (device names are ASCII). */
static bool prefix_ieq(const WCHAR *s, size_t n, const WCHAR *p, size_t pn)
{
	if (n < pn)
		return false;
	for (size_t i = 0; i < pn; i++) {
		WCHAR a = s[i], b = p[i];
		if (a >= u'A' && a <= u'Z')
			a = (WCHAR)(a + 32);
		if (b >= u'A' && b <= u'Z')
			b = (WCHAR)(b + 32);
		if (a != b)
			return false;
	}
	return true;
}

/* Does `name` start with vol's device name, followed by '\' or the end?  Its length then. */
static size_t on_volume(const struct fm_volume *vol, const WCHAR *name, size_t n)
{
	size_t dn = vol->device_w.Length / sizeof(WCHAR);

	if (prefix_ieq(name, n, vol->device_w.Buffer, dn) && (n == dn || name[dn] == u'\\'))
		return dn;
	return 0;
}

/*
 * Take the model lock, giving up after about a second.  The I/O routines run inside filter
 * callbacks, and a thread tearing an instance down holds the model lock while it waits for
 * those callbacks to return: waiting for the lock there would never end.
 */
static bool model_try_enter(void)
{
	struct timespec ts = {0, 1000000};

	for (int i = 0; i < 1000; i++) {
		if (pthread_mutex_trylock(&fm__model_lock) == 0)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

/* The mounted volume `name` is on (a reference), or NULL; *dev_len: its device name's length.
 * *busy is set when the volume list could not be read. */
static struct fm_volume *volume_of_name(const WCHAR *name, size_t n, size_t *dev_len, bool *busy)
{
	struct fm_volume *found = NULL;

	*busy = !model_try_enter();
	if (*busy)
		return NULL;
	for (struct fm_volume *v = fm__volumes; v && !found; v = v->next) {
		*dev_len = on_volume(v, name, n);
		if (*dev_len) {
			found = v;
			fm__volume_get(v);
		}
	}
	fm__model_leave();
	return found;
}

/* Is vol still mounted (on the volume list)?  When the list is busy, assume it is. */
static bool volume_published(const struct fm_volume *vol)
{
	bool found = false;

	if (!model_try_enter())
		return true;
	for (struct fm_volume *v = fm__volumes; v && !found; v = v->next)
		found = v == vol;
	fm__model_leave();
	return found;
}

/* Close an open filter-initiated file: cleanup and close below its issuer, then free it. */
static void file_close_cb(void *object)
{
	PFILE_OBJECT fo = object;
	struct fm_file *f = fm__file(fo);
	struct fm_instance *issuer = f->io_issuer;
	struct fm_irp irp;

	if (!f->io_cancelled && !volume_published(f->vol)) {
		/* Its volume is gone, and maybe the lower with it: only free what is ours. */
		fm_log(FM_LOG_WARN, issuer ? issuer->filter->service : NULL,
		       "a file opened with FltCreateFile was closed after its volume %s was "
		       "dismounted",
		       f->vol->device);
	} else if (!f->io_cancelled) {
		io_init(&irp, issuer, f->vol, IRP_MJ_CLEANUP, 0, fo);
		io_run(&irp);
		io_init(&irp, issuer, f->vol, IRP_MJ_CLOSE, 0, fo);
		io_run(&irp);
	}
	f->io_issuer = NULL;
	if (issuer)
		fm__instance_put(issuer);
	fm_file_object_free(fo);
}

/* Map IO_* create flags to the SL_* flags the file system sees. */
static UCHAR create_op_flags(ULONG flags)
{
	UCHAR sl = 0;

	if (flags & IO_FORCE_ACCESS_CHECK)
		sl |= SL_FORCE_ACCESS_CHECK;
	if (flags & IO_OPEN_TARGET_DIRECTORY)
		sl |= SL_OPEN_TARGET_DIRECTORY;
	return sl;
}

/*
 * The open behind FltCreateFile* and ZwCreateFile: inst NULL sends it to the top of the volume's
 * stack (every instance sees it); the handle's later cleanup and close go where the open went.
 */
NTSTATUS fm__create_file(struct fm_instance *inst, PHANDLE FileHandle, PFILE_OBJECT *FileObject,
			 ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
			 PIO_STATUS_BLOCK IoStatusBlock, PLARGE_INTEGER AllocationSize,
			 ULONG FileAttributes, ULONG ShareAccess, ULONG CreateDisposition,
			 ULONG CreateOptions, PVOID EaBuffer, ULONG EaLength, ULONG Flags,
			 PECP_LIST ecps)
{
	PFILE_OBJECT root = NULL, fo;
	struct fm_volume *vol = NULL;
	const WCHAR *name;
	size_t n, dev_len = 0;
	IO_SECURITY_CONTEXT sc;
	struct fm_irp irp;
	NTSTATUS st;
	HANDLE h;

	if (FileHandle)
		*FileHandle = NULL;
	if (FileObject)
		*FileObject = NULL;
	if (!FileHandle || !ObjectAttributes || !ObjectAttributes->ObjectName || !IoStatusBlock)
		return STATUS_INVALID_PARAMETER;
	if (ecps && !fm__ecp_list_valid(ecps))
		return STATUS_INVALID_PARAMETER;
	IoStatusBlock->Status = STATUS_SUCCESS;
	IoStatusBlock->Information = 0;
	name = ObjectAttributes->ObjectName->Buffer;
	n = ObjectAttributes->ObjectName->Length / sizeof(WCHAR);
	if (n && !name)
		return STATUS_INVALID_PARAMETER;
	if (ObjectAttributes->RootDirectory) {
		root = fm_handle_lookup(ObjectAttributes->RootDirectory, FM_HANDLE_FILE);
		if (!root)
			return STATUS_INVALID_HANDLE;
		if (n && name[0] == u'\\')
			return STATUS_OBJECT_PATH_SYNTAX_BAD;
		vol = fm_file_object_volume(root);
		fm__volume_get(vol);
	} else {
		bool busy = false;

		if (n == 0 || name[0] != u'\\')
			return STATUS_OBJECT_PATH_SYNTAX_BAD;
		/* The instance's own volume needs no lock: the common case stays lock-free. */
		if (inst && (dev_len = on_volume(inst->volume, name, n)) != 0) {
			vol = inst->volume;
			fm__volume_get(vol);
		} else {
			vol = volume_of_name(name, n, &dev_len, &busy);
		}
		if (!vol)
			return busy ? STATUS_DEVICE_BUSY : STATUS_OBJECT_PATH_NOT_FOUND;
		name += dev_len;
		n -= dev_len;
	}
	if (inst && inst->volume != vol) {
		fm__volume_put(vol);
		return STATUS_NOT_SAME_DEVICE;
	}
	/* "\Device\HarddiskVolumeN" alone opens the root directory of the volume. */
	fo = fm_file_object_alloc(vol, (n || root) ? name : u"\\", (n || root) ? n : 1);
	fm__volume_put(vol);
	if (!fo)
		return STATUS_INSUFFICIENT_RESOURCES;
	fo->RelatedFileObject = root;
	if (CreateOptions & (FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT))
		fo->Flags |= FO_SYNCHRONOUS_IO;
	if (inst)
		fm__instance_get(inst);
	fm__file(fo)->io_issuer = inst;

	memset(&sc, 0, sizeof(sc));
	sc.DesiredAccess = DesiredAccess;
	io_init(&irp, inst, fm_file_object_volume(fo), IRP_MJ_CREATE, 0, fo);
	irp.iopb.OperationFlags = create_op_flags(Flags);
	irp.iopb.Parameters.Create.SecurityContext = &sc;
	irp.iopb.Parameters.Create.Options = (CreateDisposition << 24) | (CreateOptions & 0xffffff);
	irp.iopb.Parameters.Create.FileAttributes = (USHORT)FileAttributes;
	irp.iopb.Parameters.Create.ShareAccess = (USHORT)ShareAccess;
	irp.iopb.Parameters.Create.EaBuffer = EaBuffer;
	irp.iopb.Parameters.Create.EaLength = EaBuffer ? EaLength : 0;
	if (AllocationSize)
		irp.iopb.Parameters.Create.AllocationSize = *AllocationSize;
	/* The ECP list goes down with the create (FltGetEcpListFromCallbackData below). */
	fm__file(fo)->create_ecps = ecps;
	st = io_run(&irp);
	fm__file(fo)->create_ecps = NULL;
	*IoStatusBlock = irp.data.IoStatus;
	if (NT_SUCCESS(st) && fm__file(fo)->io_cancelled) {
		/* A filter below cancelled the open but left a success status. */
		st = STATUS_CANCELLED;
		IoStatusBlock->Status = st;
		IoStatusBlock->Information = 0;
	}
	if (!NT_SUCCESS(st)) {
		fm__file(fo)->io_issuer = NULL;
		if (inst)
			fm__instance_put(inst);
		fm_file_object_free(fo);
		return st;
	}
	if (CreateOptions & FILE_DELETE_ON_CLOSE)
		fo->Flags |= FO_DELETE_ON_CLOSE;
	h = fm_handle_create(FM_HANDLE_FILE, fo, file_close_cb);
	if (!h) {
		file_close_cb(fo);
		IoStatusBlock->Status = STATUS_INSUFFICIENT_RESOURCES;
		IoStatusBlock->Information = 0;
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	*FileHandle = h;
	/* References on file objects are not counted (src/nt/ps.c): the object lives until
	 * the handle is closed, so ObDereferenceObject must come before FltClose. */
	if (FileObject)
		*FileObject = fo;
	return st;
}

NTSTATUS FLTAPI FltCreateFileEx2(PFLT_FILTER Filter, PFLT_INSTANCE Instance, PHANDLE FileHandle,
				 PFILE_OBJECT *FileObject, ACCESS_MASK DesiredAccess,
				 POBJECT_ATTRIBUTES ObjectAttributes,
				 PIO_STATUS_BLOCK IoStatusBlock, PLARGE_INTEGER AllocationSize,
				 ULONG FileAttributes, ULONG ShareAccess, ULONG CreateDisposition,
				 ULONG CreateOptions, PVOID EaBuffer, ULONG EaLength, ULONG Flags,
				 PIO_DRIVER_CREATE_CONTEXT DriverContext)
{
	struct fm_instance *inst = instance_of(Instance);

	if (FileHandle)
		*FileHandle = NULL;
	if (FileObject)
		*FileObject = NULL;
	if (!Filter || (Instance && !inst) || (inst && inst->filter != Filter))
		return STATUS_INVALID_PARAMETER;
	return fm__create_file(inst, FileHandle, FileObject, DesiredAccess, ObjectAttributes,
			       IoStatusBlock, AllocationSize, FileAttributes, ShareAccess,
			       CreateDisposition, CreateOptions, EaBuffer, EaLength, Flags,
			       DriverContext ? DriverContext->ExtraCreateParameter : NULL);
}

NTSTATUS FLTAPI FltCreateFileEx(PFLT_FILTER Filter, PFLT_INSTANCE Instance, PHANDLE FileHandle,
				PFILE_OBJECT *FileObject, ACCESS_MASK DesiredAccess,
				POBJECT_ATTRIBUTES ObjectAttributes, PIO_STATUS_BLOCK IoStatusBlock,
				PLARGE_INTEGER AllocationSize, ULONG FileAttributes,
				ULONG ShareAccess, ULONG CreateDisposition, ULONG CreateOptions,
				PVOID EaBuffer, ULONG EaLength, ULONG Flags)
{
	return FltCreateFileEx2(Filter, Instance, FileHandle, FileObject, DesiredAccess,
				ObjectAttributes, IoStatusBlock, AllocationSize, FileAttributes,
				ShareAccess, CreateDisposition, CreateOptions, EaBuffer, EaLength,
				Flags, NULL);
}

NTSTATUS FLTAPI FltCreateFile(PFLT_FILTER Filter, PFLT_INSTANCE Instance, PHANDLE FileHandle,
			      ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
			      PIO_STATUS_BLOCK IoStatusBlock, PLARGE_INTEGER AllocationSize,
			      ULONG FileAttributes, ULONG ShareAccess, ULONG CreateDisposition,
			      ULONG CreateOptions, PVOID EaBuffer, ULONG EaLength, ULONG Flags)
{
	return FltCreateFileEx2(Filter, Instance, FileHandle, NULL, DesiredAccess, ObjectAttributes,
				IoStatusBlock, AllocationSize, FileAttributes, ShareAccess,
				CreateDisposition, CreateOptions, EaBuffer, EaLength, Flags, NULL);
}

NTSTATUS FLTAPI FltClose(HANDLE FileHandle)
{
	if (!fm_handle_lookup(FileHandle, FM_HANDLE_FILE))
		return STATUS_INVALID_HANDLE;
	return fm_handle_close(FileHandle) == 0 ? STATUS_SUCCESS : STATUS_INVALID_HANDLE;
}

VOID FLTAPI FltCancelFileOpen(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject)
{
	struct fm_instance *inst = instance_of(Instance);
	struct fm_file *f;
	struct fm_irp irp;

	if (!inst || !FileObject) {
		fm_log(FM_LOG_ERROR, fm_filter_name(fm__tls_filter),
		       "FltCancelFileOpen with an invalid instance or file object");
		return;
	}
	f = fm__file(FileObject);
	if (f->io_cancelled) {
		fm_log(FM_LOG_ERROR, inst->filter->service, "FltCancelFileOpen called twice");
		return;
	}
	/* R47: close the file below the cancelling instance; whoever opened it then sees the
	 * error the filter sets and frees the FILE_OBJECT without closing it again. */
	io_init(&irp, inst, f->vol, IRP_MJ_CLEANUP, 0, FileObject);
	io_run(&irp);
	io_init(&irp, inst, f->vol, IRP_MJ_CLOSE, 0, FileObject);
	io_run(&irp);
	f->io_cancelled = true;
}

/* ---- Reads and writes ----------------------------------------------------------------------- */

/* An asynchronous filter-initiated operation: the irp lives on the heap until its callback. */
struct async_io {
	struct fm_irp irp;
	/*
	 * Two owners: the completion and the thread in fm_irp_dispatch().  When a filter pends
	 * the operation, the completion may run in another thread before fm_irp_dispatch() has
	 * returned (and it still reads the irp then), so the last of the two frees the block.
	 */
	atomic_int owners;
	PFLT_COMPLETED_ASYNC_IO_CALLBACK cb;
	PVOID cb_ctx;
	FLT_IO_OPERATION_FLAGS flags;
	bool update_offset;
	LONGLONG start;
};

static void update_position(PFILE_OBJECT fo, FLT_IO_OPERATION_FLAGS flags, bool use, LONGLONG start,
			    const IO_STATUS_BLOCK *iosb)
{
	if (!use || (flags & FLTFL_IO_OPERATION_DO_NOT_UPDATE_BYTE_OFFSET))
		return;
	if (NT_SUCCESS(iosb->Status))
		fo->CurrentByteOffset.QuadPart = start + (LONGLONG)iosb->Information;
}

static void async_put(struct async_io *a)
{
	if (atomic_fetch_sub(&a->owners, 1) == 1)
		fm_free(a);
}

static void async_done(struct fm_irp *irp, void *arg)
{
	struct async_io *a = arg;
	PFILE_OBJECT fo = irp->iopb.TargetFileObject;
	struct fm_instance *issuer = irp->issuer;

	fm_irp_cleanup(irp);
	update_position(fo, a->flags, a->update_offset, a->start, &irp->data.IoStatus);
	a->cb(&irp->data, a->cb_ctx);
	fm__instance_put(issuer);
	async_put(a);
}

static NTSTATUS read_write(bool write, PFLT_INSTANCE InitiatingInstance, PFILE_OBJECT FileObject,
			   PLARGE_INTEGER ByteOffset, ULONG Length, PVOID Buffer,
			   FLT_IO_OPERATION_FLAGS Flags, PULONG Bytes,
			   PFLT_COMPLETED_ASYNC_IO_CALLBACK CallbackRoutine, PVOID CallbackContext,
			   PULONG Key, PMDL Mdl)
{
	struct fm_instance *inst = instance_of(InitiatingInstance);
	struct async_io *a = NULL;
	struct fm_irp local, *irp = &local;
	LARGE_INTEGER off;
	bool update;
	NTSTATUS st;

	if (Bytes)
		*Bytes = 0;
	st = check_target(inst, FileObject);
	if (!NT_SUCCESS(st) || !FileObject)
		return NT_SUCCESS(st) ? STATUS_INVALID_PARAMETER : st;
	if (Length && !Buffer && !Mdl)
		return STATUS_INVALID_USER_BUFFER;
	/* The file position is used and moved for a NULL offset and, as for synchronous file
	 * objects on Windows, after an explicit one. */
	off = ByteOffset ? *ByteOffset : FileObject->CurrentByteOffset;
	update = !ByteOffset || (FileObject->Flags & FO_SYNCHRONOUS_IO);
	if (write && off.HighPart == -1 && off.LowPart == FILE_WRITE_TO_END_OF_FILE)
		update = false;
	if (CallbackRoutine) {
		a = fm_calloc(1, sizeof(*a));
		if (!a)
			return STATUS_INSUFFICIENT_RESOURCES;
		irp = &a->irp;
	}
	io_init(irp, inst, inst->volume, write ? IRP_MJ_WRITE : IRP_MJ_READ, 0, FileObject);
	if (Flags & FLTFL_IO_OPERATION_NON_CACHED)
		irp->iopb.IrpFlags |= IRP_NOCACHE;
	if (Flags & (FLTFL_IO_OPERATION_PAGING | FLTFL_IO_OPERATION_SYNCHRONOUS_PAGING))
		irp->iopb.IrpFlags |= IRP_PAGING_IO | IRP_NOCACHE;
	if (!CallbackRoutine)
		irp->iopb.IrpFlags |= IRP_SYNCHRONOUS_API;
	if (write) {
		irp->iopb.Parameters.Write.Length = Length;
		irp->iopb.Parameters.Write.Key = Key ? *Key : 0;
		irp->iopb.Parameters.Write.ByteOffset = off;
		irp->iopb.Parameters.Write.WriteBuffer = Buffer;
		irp->iopb.Parameters.Write.MdlAddress = Mdl;
	} else {
		irp->iopb.Parameters.Read.Length = Length;
		irp->iopb.Parameters.Read.Key = Key ? *Key : 0;
		irp->iopb.Parameters.Read.ByteOffset = off;
		irp->iopb.Parameters.Read.ReadBuffer = Buffer;
		irp->iopb.Parameters.Read.MdlAddress = Mdl;
	}
	if (!CallbackRoutine) {
		st = io_run(irp);
		update_position(FileObject, Flags, update, off.QuadPart, &irp->data.IoStatus);
		if (Bytes)
			*Bytes = (ULONG)irp->data.IoStatus.Information;
		return st;
	}
	/* Asynchronous: the callback runs once the operation completes, in this thread when
	 * nothing pends it (as an IRP completed synchronously on Windows), else in the thread
	 * that completes it. */
	a->cb = CallbackRoutine;
	a->cb_ctx = CallbackContext;
	a->flags = Flags;
	a->update_offset = update;
	a->start = off.QuadPart;
	irp->done = async_done;
	irp->done_arg = a;
	atomic_store(&a->owners, 2);
	fm__instance_get(inst);
	st = fm_irp_dispatch(irp);
	if (st != STATUS_PENDING)
		async_done(irp, a);
	async_put(a);
	return st;
}

NTSTATUS FLTAPI FltReadFile(PFLT_INSTANCE InitiatingInstance, PFILE_OBJECT FileObject,
			    PLARGE_INTEGER ByteOffset, ULONG Length, PVOID Buffer,
			    FLT_IO_OPERATION_FLAGS Flags, PULONG BytesRead,
			    PFLT_COMPLETED_ASYNC_IO_CALLBACK CallbackRoutine, PVOID CallbackContext)
{
	return read_write(false, InitiatingInstance, FileObject, ByteOffset, Length, Buffer, Flags,
			  BytesRead, CallbackRoutine, CallbackContext, NULL, NULL);
}

NTSTATUS FLTAPI FltReadFileEx(PFLT_INSTANCE InitiatingInstance, PFILE_OBJECT FileObject,
			      PLARGE_INTEGER ByteOffset, ULONG Length, PVOID Buffer,
			      FLT_IO_OPERATION_FLAGS Flags, PULONG BytesRead,
			      PFLT_COMPLETED_ASYNC_IO_CALLBACK CallbackRoutine,
			      PVOID CallbackContext, PULONG Key, PMDL Mdl)
{
	return read_write(false, InitiatingInstance, FileObject, ByteOffset, Length, Buffer, Flags,
			  BytesRead, CallbackRoutine, CallbackContext, Key, Mdl);
}

NTSTATUS FLTAPI FltWriteFile(PFLT_INSTANCE InitiatingInstance, PFILE_OBJECT FileObject,
			     PLARGE_INTEGER ByteOffset, ULONG Length, PVOID Buffer,
			     FLT_IO_OPERATION_FLAGS Flags, PULONG BytesWritten,
			     PFLT_COMPLETED_ASYNC_IO_CALLBACK CallbackRoutine,
			     PVOID CallbackContext)
{
	return read_write(true, InitiatingInstance, FileObject, ByteOffset, Length, Buffer, Flags,
			  BytesWritten, CallbackRoutine, CallbackContext, NULL, NULL);
}

NTSTATUS FLTAPI FltWriteFileEx(PFLT_INSTANCE InitiatingInstance, PFILE_OBJECT FileObject,
			       PLARGE_INTEGER ByteOffset, ULONG Length, PVOID Buffer,
			       FLT_IO_OPERATION_FLAGS Flags, PULONG BytesWritten,
			       PFLT_COMPLETED_ASYNC_IO_CALLBACK CallbackRoutine,
			       PVOID CallbackContext, PULONG Key, PMDL Mdl)
{
	return read_write(true, InitiatingInstance, FileObject, ByteOffset, Length, Buffer, Flags,
			  BytesWritten, CallbackRoutine, CallbackContext, Key, Mdl);
}

/* ---- Information, directories, volumes, flush ----------------------------------------------- */

NTSTATUS FLTAPI FltQueryInformationFile(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
					PVOID FileInformation, ULONG Length,
					FILE_INFORMATION_CLASS FileInformationClass,
					PULONG LengthReturned)
{
	struct fm_instance *inst = instance_of(Instance);
	struct fm_irp irp;
	NTSTATUS st;

	if (LengthReturned)
		*LengthReturned = 0;
	st = check_target(inst, FileObject);
	if (!NT_SUCCESS(st) || !FileObject || (Length && !FileInformation))
		return NT_SUCCESS(st) ? STATUS_INVALID_PARAMETER : st;
	io_init(&irp, inst, inst->volume, IRP_MJ_QUERY_INFORMATION, 0, FileObject);
	irp.iopb.Parameters.QueryFileInformation.Length = Length;
	irp.iopb.Parameters.QueryFileInformation.FileInformationClass = FileInformationClass;
	irp.iopb.Parameters.QueryFileInformation.InfoBuffer = FileInformation;
	st = io_run(&irp);
	if (LengthReturned)
		*LengthReturned = (ULONG)irp.data.IoStatus.Information;
	return st;
}

NTSTATUS FLTAPI FltSetInformationFile(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				      PVOID FileInformation, ULONG Length,
				      FILE_INFORMATION_CLASS FileInformationClass)
{
	struct fm_instance *inst = instance_of(Instance);
	struct fm_irp irp;
	NTSTATUS st;

	st = check_target(inst, FileObject);
	if (!NT_SUCCESS(st) || !FileObject || (Length && !FileInformation))
		return NT_SUCCESS(st) ? STATUS_INVALID_PARAMETER : st;
	io_init(&irp, inst, inst->volume, IRP_MJ_SET_INFORMATION, 0, FileObject);
	irp.iopb.Parameters.SetFileInformation.Length = Length;
	irp.iopb.Parameters.SetFileInformation.FileInformationClass = FileInformationClass;
	irp.iopb.Parameters.SetFileInformation.InfoBuffer = FileInformation;
	switch (FileInformationClass) {
	case FileRenameInformation:
	case FileLinkInformation:
	case FileRenameInformationEx:
	case FileLinkInformationEx:
		/* The Ex flags put REPLACE_IF_EXISTS in bit 0, where the BOOLEAN lives. */
		if (Length >= sizeof(ULONG))
			irp.iopb.Parameters.SetFileInformation.ReplaceIfExists =
			    (((const FILE_RENAME_INFORMATION *)FileInformation)->ReplaceIfExists &
			     (FileInformationClass == FileRenameInformationEx ||
				      FileInformationClass == FileLinkInformationEx
				  ? 1
				  : 0xff)) != 0;
		break;
	default:
		break;
	}
	return io_run(&irp);
}

static NTSTATUS query_dir(struct fm_instance *inst, PFILE_OBJECT FileObject, PVOID FileInformation,
			  ULONG Length, FILE_INFORMATION_CLASS cls, UCHAR sl_flags,
			  PUNICODE_STRING FileName, PULONG LengthReturned)
{
	struct fm_irp irp;
	NTSTATUS st;

	if (LengthReturned)
		*LengthReturned = 0;
	st = check_target(inst, FileObject);
	if (!NT_SUCCESS(st) || !FileObject || !FileInformation)
		return NT_SUCCESS(st) ? STATUS_INVALID_PARAMETER : st;
	io_init(&irp, inst, inst->volume, IRP_MJ_DIRECTORY_CONTROL, IRP_MN_QUERY_DIRECTORY,
		FileObject);
	irp.iopb.OperationFlags = sl_flags;
	irp.iopb.Parameters.DirectoryControl.QueryDirectory.Length = Length;
	irp.iopb.Parameters.DirectoryControl.QueryDirectory.FileName = FileName;
	irp.iopb.Parameters.DirectoryControl.QueryDirectory.FileInformationClass = cls;
	irp.iopb.Parameters.DirectoryControl.QueryDirectory.DirectoryBuffer = FileInformation;
	st = io_run(&irp);
	if (LengthReturned)
		*LengthReturned = (ULONG)irp.data.IoStatus.Information;
	return st;
}

NTSTATUS FLTAPI FltQueryDirectoryFile(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				      PVOID FileInformation, ULONG Length,
				      FILE_INFORMATION_CLASS FileInformationClass,
				      BOOLEAN ReturnSingleEntry, PUNICODE_STRING FileName,
				      BOOLEAN RestartScan, PULONG LengthReturned)
{
	UCHAR sl = (UCHAR)((ReturnSingleEntry ? SL_RETURN_SINGLE_ENTRY : 0) |
			   (RestartScan ? SL_RESTART_SCAN : 0));

	return query_dir(instance_of(Instance), FileObject, FileInformation, Length,
			 FileInformationClass, sl, FileName, LengthReturned);
}

NTSTATUS FLTAPI FltQueryDirectoryFileEx(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
					PVOID FileInformation, ULONG Length,
					FILE_INFORMATION_CLASS FileInformationClass,
					ULONG QueryFlags, PUNICODE_STRING FileName,
					PULONG LengthReturned)
{
	/* SL_QUERY_DIRECTORY_MASK: the flags a query may carry share the SL_* bit values. */
	UCHAR sl =
	    (UCHAR)(QueryFlags & (SL_RESTART_SCAN | SL_RETURN_SINGLE_ENTRY | SL_INDEX_SPECIFIED));

	return query_dir(instance_of(Instance), FileObject, FileInformation, Length,
			 FileInformationClass, sl, FileName, LengthReturned);
}

static NTSTATUS query_volume(struct fm_instance *inst, PFILE_OBJECT fo, PVOID buf, ULONG len,
			     FS_INFORMATION_CLASS cls, IO_STATUS_BLOCK *iosb)
{
	struct fm_irp irp;
	NTSTATUS st;

	st = check_target(inst, fo);
	if (!NT_SUCCESS(st) || (len && !buf))
		return NT_SUCCESS(st) ? STATUS_INVALID_PARAMETER : st;
	io_init(&irp, inst, inst->volume, IRP_MJ_QUERY_VOLUME_INFORMATION, 0, fo);
	irp.iopb.Parameters.QueryVolumeInformation.Length = len;
	irp.iopb.Parameters.QueryVolumeInformation.FsInformationClass = cls;
	irp.iopb.Parameters.QueryVolumeInformation.VolumeBuffer = buf;
	st = io_run(&irp);
	*iosb = irp.data.IoStatus;
	return st;
}

NTSTATUS FLTAPI FltQueryVolumeInformation(PFLT_INSTANCE Instance, PIO_STATUS_BLOCK Iosb,
					  PVOID FsInformation, ULONG Length,
					  FS_INFORMATION_CLASS FsInformationClass)
{
	IO_STATUS_BLOCK local;
	NTSTATUS st;

	st = query_volume(instance_of(Instance), NULL, FsInformation, Length, FsInformationClass,
			  &local);
	if (Iosb) {
		Iosb->Status = st;
		Iosb->Information =
		    NT_SUCCESS(st) || st == STATUS_BUFFER_OVERFLOW ? local.Information : 0;
	}
	return st;
}

NTSTATUS FLTAPI FltQueryVolumeInformationFile(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
					      PVOID FsInformation, ULONG Length,
					      FS_INFORMATION_CLASS FsInformationClass,
					      PULONG LengthReturned)
{
	IO_STATUS_BLOCK iosb = {0};
	NTSTATUS st;

	if (!FileObject)
		return STATUS_INVALID_PARAMETER;
	st = query_volume(instance_of(Instance), FileObject, FsInformation, Length,
			  FsInformationClass, &iosb);
	if (LengthReturned)
		*LengthReturned = (ULONG)iosb.Information;
	return st;
}

static NTSTATUS flush(struct fm_instance *inst, PFILE_OBJECT fo, UCHAR minor)
{
	struct fm_irp irp;
	NTSTATUS st = check_target(inst, fo);

	if (!NT_SUCCESS(st) || !fo)
		return NT_SUCCESS(st) ? STATUS_INVALID_PARAMETER : st;
	io_init(&irp, inst, inst->volume, IRP_MJ_FLUSH_BUFFERS, minor, fo);
	return io_run(&irp);
}

NTSTATUS FLTAPI FltFlushBuffers(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject)
{
	return flush(instance_of(Instance), FileObject, 0);
}

NTSTATUS FLTAPI FltFlushBuffers2(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject, ULONG FlushType,
				 PFLT_CALLBACK_DATA CallbackData)
{
	(void)CallbackData;
	/* FLUSH_FLAGS_FILE_DATA_ONLY (1) is the IRP_MN_FLUSH_DATA_ONLY minor function. */
	return flush(instance_of(Instance), FileObject,
		     (FlushType & 0x1) ? IRP_MN_FLUSH_DATA_ONLY : 0);
}

/* ---- Callback data the filter builds itself ----------------------------------------------- */

/* FltAllocateCallbackData's block: the irp first, so the data pointer maps back to it. */
struct alloc_cbd {
	struct fm_irp irp;
	/* The filter's reference, plus one while FltPerformAsynchronousIo is inside
	 * fm_irp_dispatch(): the completion routine may free the callback data before that
	 * call has returned. */
	atomic_int refs;
	struct fm_instance *inst;
	PFLT_COMPLETED_ASYNC_IO_CALLBACK cb;
	PVOID cb_ctx;
};

static struct alloc_cbd *cbd_of(PFLT_CALLBACK_DATA data)
{
	return (struct alloc_cbd *)fm_irp_from_data(data);
}

NTSTATUS FLTAPI FltAllocateCallbackDataEx(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
					  ULONG Flags, PFLT_CALLBACK_DATA *RetNewCallbackData)
{
	struct fm_instance *inst = instance_of(Instance);
	struct alloc_cbd *c;
	NTSTATUS st;

	(void)Flags; /* FLT_ALLOCATE_CALLBACK_DATA_PREALLOCATE_ALL_MEMORY: we always do */
	if (!RetNewCallbackData)
		return STATUS_INVALID_PARAMETER;
	*RetNewCallbackData = NULL;
	st = check_target(inst, FileObject);
	if (!NT_SUCCESS(st))
		return st;
	c = fm_calloc(1, sizeof(*c));
	if (!c)
		return STATUS_INSUFFICIENT_RESOURCES;
	fm__instance_get(inst);
	atomic_store(&c->refs, 1);
	c->inst = inst;
	io_init(&c->irp, inst, inst->volume, 0, 0, FileObject);
	c->irp.iopb.TargetInstance = inst;
	*RetNewCallbackData = &c->irp.data;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltAllocateCallbackData(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
					PFLT_CALLBACK_DATA *RetNewCallbackData)
{
	return FltAllocateCallbackDataEx(Instance, FileObject, 0, RetNewCallbackData);
}

static void cbd_put(struct alloc_cbd *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	fm_irp_cleanup(&c->irp);
	fm__instance_put(c->inst);
	fm_free(c);
}

VOID FLTAPI FltFreeCallbackData(PFLT_CALLBACK_DATA CallbackData)
{
	if (CallbackData)
		cbd_put(cbd_of(CallbackData));
}

VOID FLTAPI FltReuseCallbackData(PFLT_CALLBACK_DATA CallbackData)
{
	struct alloc_cbd *c;
	PFILE_OBJECT fo;

	if (!CallbackData)
		return;
	c = cbd_of(CallbackData);
	fo = c->irp.iopb.TargetFileObject;
	fm_irp_cleanup(&c->irp);
	io_init(&c->irp, c->inst, c->inst->volume, 0, 0, fo);
	c->irp.iopb.TargetInstance = c->inst;
}

/* Re-arm an allocated callback data for a dispatch: the caller filled Iopb. */
static void cbd_arm(struct alloc_cbd *c)
{
	fm_irp_cleanup(&c->irp);
	/* The filter may have pointed Iopb elsewhere; dispatch works on the embedded block. */
	if (c->irp.data.Iopb != &c->irp.iopb) {
		c->irp.iopb = *c->irp.data.Iopb;
		c->irp.data.Iopb = &c->irp.iopb;
	}
	c->irp.vol = c->inst->volume;
	c->irp.issuer = c->inst;
	c->irp.data.Flags |= FLTFL_CALLBACK_DATA_GENERATED_IO | FLTFL_CALLBACK_DATA_IRP_OPERATION;
	c->irp.data.IoStatus.Status = STATUS_SUCCESS;
	c->irp.data.IoStatus.Information = 0;
	c->irp.done = NULL;
	c->irp.done_arg = NULL;
}

VOID FLTAPI FltPerformSynchronousIo(PFLT_CALLBACK_DATA CallbackData)
{
	struct alloc_cbd *c;

	if (!CallbackData)
		return;
	c = cbd_of(CallbackData);
	cbd_arm(c);
	fm_irp_dispatch(&c->irp);
	/* Dispatch state goes now; the results stay in the callback data for the caller. */
	fm_irp_cleanup(&c->irp);
}

static void perform_async_done(struct fm_irp *irp, void *arg)
{
	struct alloc_cbd *c = arg;

	fm_irp_cleanup(irp);
	c->cb(&irp->data, c->cb_ctx);
}

NTSTATUS FLTAPI FltPerformAsynchronousIo(PFLT_CALLBACK_DATA CallbackData,
					 PFLT_COMPLETED_ASYNC_IO_CALLBACK CallbackRoutine,
					 PVOID CallbackContext)
{
	struct alloc_cbd *c;
	NTSTATUS st;

	if (!CallbackData || !CallbackRoutine)
		return STATUS_INVALID_PARAMETER;
	c = cbd_of(CallbackData);
	cbd_arm(c);
	c->cb = CallbackRoutine;
	c->cb_ctx = CallbackContext;
	if (c->irp.iopb.MajorFunction == IRP_MJ_CREATE) {
		/* The routine is called even when the request is refused. */
		c->irp.data.IoStatus.Status = STATUS_FLT_INVALID_ASYNCHRONOUS_REQUEST;
		CallbackRoutine(CallbackData, CallbackContext);
		return STATUS_FLT_INVALID_ASYNCHRONOUS_REQUEST;
	}
	c->irp.done = perform_async_done;
	c->irp.done_arg = c;
	atomic_fetch_add(&c->refs, 1);
	st = fm_irp_dispatch(&c->irp);
	if (st != STATUS_PENDING) {
		perform_async_done(&c->irp, c);
		st = STATUS_SUCCESS;
	}
	cbd_put(c);
	return st;
}

VOID FLTAPI FltReissueSynchronousIo(PFLT_INSTANCE InitiatingInstance,
				    PFLT_CALLBACK_DATA CallbackData)
{
	struct fm_instance *inst = instance_of(InitiatingInstance);
	struct fm_irp *orig, irp;

	if (!inst || !CallbackData) {
		fm_log(FM_LOG_ERROR, fm_filter_name(fm__tls_filter),
		       "FltReissueSynchronousIo with invalid parameters");
		return;
	}
	orig = fm_irp_from_data(CallbackData);
	/* A fresh control block for the second trip down: the original one is still between
	 * its post-operations.  Requestor and parameters are the operation's own. */
	fm_irp_init(&irp, orig->vol, CallbackData->Iopb->MajorFunction,
		    CallbackData->Iopb->MinorFunction, CallbackData->Iopb->TargetFileObject,
		    CallbackData->RequestorMode == KernelMode ? NULL : &orig->who);
	irp.iopb = *CallbackData->Iopb;
	irp.data.Flags = (CallbackData->Flags & ~(ULONG)(FLTFL_CALLBACK_DATA_POST_OPERATION |
							 FLTFL_CALLBACK_DATA_DIRTY)) |
			 FLTFL_CALLBACK_DATA_REISSUED_IO;
	irp.data.Thread = CallbackData->Thread;
	irp.issuer = inst;
	io_run(&irp);
	CallbackData->IoStatus = irp.data.IoStatus;
}

BOOLEAN FLTAPI FltDoCompletionProcessingWhenSafe(PFLT_CALLBACK_DATA Data,
						 PCFLT_RELATED_OBJECTS FltObjects,
						 PVOID CompletionContext,
						 FLT_POST_OPERATION_FLAGS Flags,
						 PFLT_POST_OPERATION_CALLBACK SafePostCallback,
						 PFLT_POSTOP_CALLBACK_STATUS RetPostOperationStatus)
{
	if (!Data || !SafePostCallback || !RetPostOperationStatus)
		return FALSE;
	if (Flags & FLTFL_POST_OPERATION_DRAINING) {
		/* R31: nothing may be posted while the instance drains. */
		fm_log(FM_LOG_ERROR, fm_filter_name(fm__tls_filter),
		       "FltDoCompletionProcessingWhenSafe called while draining");
		*RetPostOperationStatus = FLT_POSTOP_FINISHED_PROCESSING;
		return FALSE;
	}
	/* Post-operations here always run at PASSIVE_LEVEL: safe, so run it now. */
	*RetPostOperationStatus = SafePostCallback(Data, FltObjects, CompletionContext, Flags);
	return TRUE;
}
