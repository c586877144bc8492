/*
 * Zw* file routines, IoQueryFileInformation, IoQueryFileDosDeviceName, IoVolumeDeviceToDosName
 * and ObQueryNameString, over the core's I/O (src/core/fltio.c, fltio_more.c).
 *
 * A ZwCreateFile / ZwOpenFile enters at the TOP of the volume's stack: every instance sees it,
 * the calling filter's own included (a filter that opens files with ZwCreateFile from its
 * pre-create sees that create come back in: recursion, exactly as on Windows; FltCreateFile
 * is the way to open below oneself).  Every later Zw call on a handle goes where its open went:
 * from the top for ZwCreateFile handles, below the opening instance for FltCreateFile handles.
 * All of them complete before they return: the Event, if any, is set and the ApcRoutine, if
 * any, called (in the calling thread) before the return, and the status returned is the final
 * one, never STATUS_PENDING.
 */
#include "core/core_i.h"
#include "common/alloc.h"
#include "common/ntname.h"
#include "nt/handle.h"

#include <ntifs.h>

#include <errno.h>
#include <string.h>

/* ---- Names: "\??\<mount point>/path" and "\DosDevices\..." forms ---- */

static bool has_prefix(const UNICODE_STRING *s, const WCHAR *p, size_t *n)
{
	size_t pn = 0;

	while (p[pn])
		pn++;
	if (s->Length / sizeof(WCHAR) < pn)
		return false;
	for (size_t i = 0; i < pn; i++) {
		WCHAR a = s->Buffer[i], b = p[i];
		if (a >= u'a' && a <= u'z')
			a = (WCHAR)(a - 32);
		if (b >= u'a' && b <= u'z')
			b = (WCHAR)(b - 32);
		if (a != b)
			return false;
	}
	*n = pn;
	return true;
}

/*
 * A DOS-style name names a file by its Linux path under a volume's mount point (the mount point
 * is a volume's DOS name here): turn it into "\Device\HarddiskVolumeN\dir\file".  *out is
 * allocated (fm_free) when the name was rewritten, else left NULL.
 */
static NTSTATUS dos_to_nt(const UNICODE_STRING *in, UNICODE_STRING *out, WCHAR **owned)
{
	static const WCHAR *const prefixes[] = {u"\\??\\", u"\\DosDevices\\", u"\\GLOBAL??\\"};
	struct fm_volume *best = NULL;
	size_t skip = 0, best_len = 0, n, plen, dn;
	char path[4096];
	ULONG got = 0;
	WCHAR *w;
	long r;

	*owned = NULL;
	*out = *in;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]) && !skip; i++)
		has_prefix(in, prefixes[i], &skip);
	if (!skip)
		return STATUS_SUCCESS;
	if (!NT_SUCCESS(RtlUnicodeToUTF8N(path, sizeof(path) - 1, &got, in->Buffer + skip,
					  (ULONG)(in->Length - skip * sizeof(WCHAR)))))
		return STATUS_OBJECT_NAME_INVALID;
	path[got] = '\0';
	for (char *c = path; *c; c++)
		if (*c == '\\')
			*c = '/';
	fm__model_enter();
	for (struct fm_volume *v = fm__volumes; v; v = v->next) {
		size_t ml = strlen(v->mount_point);

		while (ml > 1 && v->mount_point[ml - 1] == '/')
			ml--;
		if (v->dismounting || ml <= best_len || strncmp(path, v->mount_point, ml) != 0 ||
		    (path[ml] != '/' && path[ml] != '\0'))
			continue;
		best = v;
		best_len = ml;
	}
	if (best)
		fm__volume_get(best);
	fm__model_leave();
	if (!best)
		return STATUS_OBJECT_PATH_NOT_FOUND;
	dn = best->device_w.Length / sizeof(WCHAR);
	plen = strlen(path + best_len);
	n = dn + plen + 1;
	w = fm_malloc(n * sizeof(WCHAR));
	if (!w) {
		fm__volume_put(best);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	memcpy(w, best->device_w.Buffer, dn * sizeof(WCHAR));
	fm__volume_put(best);
	r = 0;
	if (plen) {
		r = fm_name_to_nt(path + best_len, plen, w + dn, n - dn, 1);
		if (r < 0) {
			fm_free(w);
			return r == -ENAMETOOLONG ? STATUS_NAME_TOO_LONG
						  : STATUS_OBJECT_NAME_INVALID;
		}
	}
	if ((size_t)r + dn > 0x7fff) {
		fm_free(w);
		return STATUS_NAME_TOO_LONG;
	}
	out->Buffer = w;
	out->Length = out->MaximumLength = (USHORT)((dn + (size_t)r) * sizeof(WCHAR));
	*owned = w;
	return STATUS_SUCCESS;
}

/* ---- Opening ---- */

NTSTATUS ZwCreateFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess,
		      POBJECT_ATTRIBUTES ObjectAttributes, PIO_STATUS_BLOCK IoStatusBlock,
		      PLARGE_INTEGER AllocationSize, ULONG FileAttributes, ULONG ShareAccess,
		      ULONG CreateDisposition, ULONG CreateOptions, PVOID EaBuffer, ULONG EaLength)
{
	OBJECT_ATTRIBUTES oa;
	UNICODE_STRING name;
	WCHAR *owned = NULL;
	NTSTATUS st;

	if (FileHandle)
		*FileHandle = NULL;
	if (!FileHandle || !ObjectAttributes || !ObjectAttributes->ObjectName || !IoStatusBlock)
		return STATUS_INVALID_PARAMETER;
	oa = *ObjectAttributes;
	if (!oa.RootDirectory) {
		st = dos_to_nt(ObjectAttributes->ObjectName, &name, &owned);
		if (!NT_SUCCESS(st)) {
			IoStatusBlock->Status = st;
			IoStatusBlock->Information = 0;
			return st;
		}
		oa.ObjectName = &name;
	}
	st = fm__create_file(NULL, FileHandle, NULL, DesiredAccess, &oa, IoStatusBlock,
			     AllocationSize, FileAttributes, ShareAccess, CreateDisposition,
			     CreateOptions, EaBuffer, EaLength, 0, NULL);
	fm_free(owned);
	return st;
}

NTSTATUS ZwOpenFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess,
		    POBJECT_ATTRIBUTES ObjectAttributes, PIO_STATUS_BLOCK IoStatusBlock,
		    ULONG ShareAccess, ULONG OpenOptions)
{
	return ZwCreateFile(FileHandle, DesiredAccess, ObjectAttributes, IoStatusBlock, NULL, 0,
			    ShareAccess, FILE_OPEN, OpenOptions, NULL, 0);
}

/* ---- Handles ---- */

/* The file object behind a handle, and the instance its I/O goes below (NULL: the top). */
static PFILE_OBJECT file_of(HANDLE h, struct fm_instance **issuer)
{
	PFILE_OBJECT fo = fm_handle_lookup(h, FM_HANDLE_FILE);

	*issuer = fo ? fm__file(fo)->io_issuer : NULL;
	return fo;
}

/* The synchronous completion of an operation that had an Event / ApcRoutine. */
static NTSTATUS finish(NTSTATUS st, PIO_STATUS_BLOCK iosb, HANDLE Event, PIO_APC_ROUTINE apc,
		       PVOID apc_ctx)
{
	if (Event)
		ZwSetEvent(Event, NULL);
	if (apc)
		apc(apc_ctx, iosb, 0);
	return st;
}

/* An Event given with a call must be an event handle (checked before any I/O). */
static bool event_ok(HANDLE Event)
{
	return !Event || fm_handle_lookup(Event, FM_HANDLE_EVENT) != NULL;
}

static NTSTATUS read_write(bool write, HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine,
			   PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer,
			   ULONG Length, PLARGE_INTEGER ByteOffset, PULONG Key)
{
	struct fm_instance *issuer;
	PFILE_OBJECT fo = file_of(FileHandle, &issuer);
	NTSTATUS st;

	if (!fo)
		return STATUS_INVALID_HANDLE;
	if (!IoStatusBlock || (Length && !Buffer))
		return STATUS_INVALID_PARAMETER;
	if (!event_ok(Event))
		return STATUS_INVALID_HANDLE;
	/* Without FILE_SYNCHRONOUS_IO_* the file has no current position to use. */
	if (!ByteOffset && !(fo->Flags & FO_SYNCHRONOUS_IO))
		return STATUS_INVALID_PARAMETER;
	st = fm__io_read_write(issuer, fo, write, ByteOffset, Length, Buffer, Key, IoStatusBlock);
	return finish(st, IoStatusBlock, Event, ApcRoutine, ApcContext);
}

NTSTATUS ZwReadFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
		    PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer, ULONG Length,
		    PLARGE_INTEGER ByteOffset, PULONG Key)
{
	return read_write(false, FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock, Buffer,
			  Length, ByteOffset, Key);
}

NTSTATUS ZwWriteFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
		     PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer, ULONG Length,
		     PLARGE_INTEGER ByteOffset, PULONG Key)
{
	return read_write(true, FileHandle, Event, ApcRoutine, ApcContext, IoStatusBlock, Buffer,
			  Length, ByteOffset, Key);
}

static NTSTATUS info(bool set, HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock, PVOID buf,
		     ULONG len, FILE_INFORMATION_CLASS cls)
{
	struct fm_instance *issuer;
	PFILE_OBJECT fo = file_of(FileHandle, &issuer);

	if (!fo)
		return STATUS_INVALID_HANDLE;
	if (!IoStatusBlock || !buf || !len)
		return STATUS_INVALID_PARAMETER;
	return fm__io_info(issuer, fo, set, buf, len, cls, IoStatusBlock);
}

NTSTATUS ZwQueryInformationFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock,
				PVOID FileInformation, ULONG Length,
				FILE_INFORMATION_CLASS FileInformationClass)
{
	return info(false, FileHandle, IoStatusBlock, FileInformation, Length,
		    FileInformationClass);
}

NTSTATUS ZwSetInformationFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock,
			      PVOID FileInformation, ULONG Length,
			      FILE_INFORMATION_CLASS FileInformationClass)
{
	return info(true, FileHandle, IoStatusBlock, FileInformation, Length, FileInformationClass);
}

NTSTATUS ZwQueryDirectoryFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine,
			      PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock,
			      PVOID FileInformation, ULONG Length,
			      FILE_INFORMATION_CLASS FileInformationClass,
			      BOOLEAN ReturnSingleEntry, PUNICODE_STRING FileName,
			      BOOLEAN RestartScan)
{
	struct fm_instance *issuer;
	PFILE_OBJECT fo = file_of(FileHandle, &issuer);
	UCHAR sl = (UCHAR)((ReturnSingleEntry ? SL_RETURN_SINGLE_ENTRY : 0) |
			   (RestartScan ? SL_RESTART_SCAN : 0));
	NTSTATUS st;

	if (!fo)
		return STATUS_INVALID_HANDLE;
	if (!IoStatusBlock || !FileInformation || !Length)
		return STATUS_INVALID_PARAMETER;
	if (!event_ok(Event))
		return STATUS_INVALID_HANDLE;
	st = fm__io_query_dir(issuer, fo, FileInformation, Length, FileInformationClass, sl,
			      FileName, IoStatusBlock);
	return finish(st, IoStatusBlock, Event, ApcRoutine, ApcContext);
}

NTSTATUS ZwQueryVolumeInformationFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock,
				      PVOID FsInformation, ULONG Length,
				      FS_INFORMATION_CLASS FsInformationClass)
{
	struct fm_instance *issuer;
	PFILE_OBJECT fo = file_of(FileHandle, &issuer);

	if (!fo)
		return STATUS_INVALID_HANDLE;
	if (!IoStatusBlock || !FsInformation || !Length)
		return STATUS_INVALID_PARAMETER;
	return fm__io_volume(issuer, fm_file_object_volume(fo), fo, false, FsInformation, Length,
			     FsInformationClass, IoStatusBlock);
}

NTSTATUS ZwFlushBuffersFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock)
{
	struct fm_instance *issuer;
	PFILE_OBJECT fo = file_of(FileHandle, &issuer);

	if (!fo)
		return STATUS_INVALID_HANDLE;
	if (!IoStatusBlock)
		return STATUS_INVALID_PARAMETER;
	return fm__io_flush(issuer, fo, IoStatusBlock);
}

static NTSTATUS control(UCHAR major, HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine,
			PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, ULONG code, PVOID in,
			ULONG in_len, PVOID out, ULONG out_len)
{
	struct fm_instance *issuer;
	PFILE_OBJECT fo = file_of(FileHandle, &issuer);
	NTSTATUS st;

	if (!fo)
		return STATUS_INVALID_HANDLE;
	if (!IoStatusBlock)
		return STATUS_INVALID_PARAMETER;
	if (!event_ok(Event))
		return STATUS_INVALID_HANDLE;
	st = fm__io_control(issuer, fo, major, code, in, in_len, out, out_len, IoStatusBlock);
	return finish(st, IoStatusBlock, Event, ApcRoutine, ApcContext);
}

NTSTATUS ZwFsControlFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine,
			 PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, ULONG FsControlCode,
			 PVOID InputBuffer, ULONG InputBufferLength, PVOID OutputBuffer,
			 ULONG OutputBufferLength)
{
	return control(IRP_MJ_FILE_SYSTEM_CONTROL, FileHandle, Event, ApcRoutine, ApcContext,
		       IoStatusBlock, FsControlCode, InputBuffer, InputBufferLength, OutputBuffer,
		       OutputBufferLength);
}

NTSTATUS ZwDeviceIoControlFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine,
			       PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock,
			       ULONG IoControlCode, PVOID InputBuffer, ULONG InputBufferLength,
			       PVOID OutputBuffer, ULONG OutputBufferLength)
{
	return control(IRP_MJ_DEVICE_CONTROL, FileHandle, Event, ApcRoutine, ApcContext,
		       IoStatusBlock, IoControlCode, InputBuffer, InputBufferLength, OutputBuffer,
		       OutputBufferLength);
}

NTSTATUS ZwQueryEaFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer,
		       ULONG Length, BOOLEAN ReturnSingleEntry, PVOID EaList, ULONG EaListLength,
		       PULONG EaIndex, BOOLEAN RestartScan)
{
	struct fm_instance *issuer;
	PFILE_OBJECT fo = file_of(FileHandle, &issuer);

	if (!fo)
		return STATUS_INVALID_HANDLE;
	if (!IoStatusBlock || !Buffer || !Length)
		return STATUS_INVALID_PARAMETER;
	return fm__io_query_ea(issuer, fo, Buffer, Length, ReturnSingleEntry, EaList, EaListLength,
			       EaIndex, RestartScan, IoStatusBlock);
}

NTSTATUS ZwSetEaFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer, ULONG Length)
{
	struct fm_instance *issuer;
	PFILE_OBJECT fo = file_of(FileHandle, &issuer);

	if (!fo)
		return STATUS_INVALID_HANDLE;
	if (!IoStatusBlock)
		return STATUS_INVALID_PARAMETER;
	return fm__io_set_ea(issuer, fo, Buffer, Length, IoStatusBlock);
}

NTSTATUS ZwQuerySecurityObject(HANDLE Handle, SECURITY_INFORMATION SecurityInformation,
			       PSECURITY_DESCRIPTOR SecurityDescriptor, ULONG Length,
			       PULONG LengthNeeded)
{
	struct fm_instance *issuer;
	PFILE_OBJECT fo = file_of(Handle, &issuer);

	if (LengthNeeded)
		*LengthNeeded = 0;
	/* Only file handles carry a security descriptor here. */
	if (!fo)
		return STATUS_INVALID_HANDLE;
	if (!LengthNeeded)
		return STATUS_INVALID_PARAMETER;
	return fm__io_query_security(issuer, fo, SecurityInformation, SecurityDescriptor, Length,
				     LengthNeeded);
}

/* By name, without keeping a handle: an open from the top, a query, a close. */
NTSTATUS ZwQueryFullAttributesFile(POBJECT_ATTRIBUTES ObjectAttributes,
				   PFILE_NETWORK_OPEN_INFORMATION FileInformation)
{
	IO_STATUS_BLOCK iosb;
	HANDLE h;
	NTSTATUS st;

	if (!FileInformation)
		return STATUS_INVALID_PARAMETER;
	st = ZwCreateFile(&h, FILE_READ_ATTRIBUTES | SYNCHRONIZE, ObjectAttributes, &iosb, NULL, 0,
			  FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, FILE_OPEN,
			  FILE_SYNCHRONOUS_IO_NONALERT | FILE_OPEN_REPARSE_POINT, NULL, 0);
	if (!NT_SUCCESS(st))
		return st;
	st = ZwQueryInformationFile(h, &iosb, FileInformation, sizeof(*FileInformation),
				    FileNetworkOpenInformation);
	ZwClose(h);
	return st;
}

/* ---- File objects and device objects ---- */

/* Where I/O on a file object goes: below the instance that opened it, or from the top. */
NTSTATUS IoQueryFileInformation(PFILE_OBJECT FileObject,
				FILE_INFORMATION_CLASS FileInformationClass, ULONG Length,
				PVOID FileInformation, PULONG ReturnedLength)
{
	IO_STATUS_BLOCK iosb = {0};
	NTSTATUS st;

	if (ReturnedLength)
		*ReturnedLength = 0;
	if (!FileObject || !FileInformation || !Length || !fm_file_object_volume(FileObject))
		return STATUS_INVALID_PARAMETER;
	st = fm__io_info(fm__file(FileObject)->io_issuer, FileObject, false, FileInformation,
			 Length, FileInformationClass, &iosb);
	if (ReturnedLength)
		*ReturnedLength = (ULONG)iosb.Information;
	return st;
}

/* UTF-8 s1 + s2 as a pool-allocated OBJECT_NAME_INFORMATION (or just a UNICODE_STRING). */
static NTSTATUS pool_name(const char *s1, const char *s2, size_t header, void **out,
			  UNICODE_STRING **us)
{
	size_t n1 = strlen(s1), n2 = s2 ? strlen(s2) : 0;
	char *all = fm_malloc(n1 + n2 + 1);
	ULONG wbytes = 0;
	UCHAR *block;
	NTSTATUS st;

	if (!all)
		return STATUS_INSUFFICIENT_RESOURCES;
	memcpy(all, s1, n1);
	if (n2)
		memcpy(all + n1, s2, n2);
	all[n1 + n2] = '\0';
	st = RtlUTF8ToUnicodeN(NULL, 0, &wbytes, all, (ULONG)(n1 + n2));
	if (!NT_SUCCESS(st) || wbytes > 0xfffc) {
		fm_free(all);
		return NT_SUCCESS(st) ? STATUS_NAME_TOO_LONG : st;
	}
	block = ExAllocatePoolWithTag(PagedPool, header + wbytes + sizeof(WCHAR), 'NoiF');
	if (!block) {
		fm_free(all);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	*us = header ? (UNICODE_STRING *)block : *us;
	(*us)->Buffer = (PWCH)(block + header);
	RtlUTF8ToUnicodeN((*us)->Buffer, wbytes, &wbytes, all, (ULONG)(n1 + n2));
	(*us)->Buffer[wbytes / sizeof(WCHAR)] = 0;
	(*us)->Length = (USHORT)wbytes;
	(*us)->MaximumLength = (USHORT)(wbytes + sizeof(WCHAR));
	fm_free(all);
	*out = block;
	return STATUS_SUCCESS;
}

/*
 * The DOS name of a file: its volume's DOS name (the Linux mount point) followed by its
 * current path, "/" separated: the path a Linux process opens it by.
 */
NTSTATUS IoQueryFileDosDeviceName(PFILE_OBJECT FileObject,
				  POBJECT_NAME_INFORMATION *ObjectNameInformation)
{
	struct fm_volume *vol = FileObject ? fm_file_object_volume(FileObject) : NULL;
	char path[4096 + 1];
	const char *mp;
	UNICODE_STRING *us = NULL;
	void *block;
	NTSTATUS st;
	int n;

	if (!ObjectNameInformation)
		return STATUS_INVALID_PARAMETER;
	*ObjectNameInformation = NULL;
	if (!vol || !FileObject->FsContext)
		return STATUS_INVALID_PARAMETER;
	path[0] = '/';
	n = vol->lower->stream_path(vol, FileObject->FsContext, path + 1, sizeof(path) - 1);
	if (n < 0)
		return n == -ENOENT ? STATUS_FILE_DELETED : STATUS_NAME_TOO_LONG;
	/* "/" + path under a mount point "/" is the path alone. */
	mp = strcmp(vol->mount_point, "/") ? vol->mount_point : "";
	st = pool_name(mp, n ? path : (*mp ? NULL : "/"), sizeof(OBJECT_NAME_INFORMATION), &block,
		       &us);
	if (NT_SUCCESS(st))
		*ObjectNameInformation = block;
	return st;
}

NTSTATUS IoVolumeDeviceToDosName(PVOID VolumeDeviceObject, PUNICODE_STRING DosName)
{
	struct fm_volume *vol;
	UNICODE_STRING *us = DosName;
	void *block;
	NTSTATUS st;

	if (!VolumeDeviceObject || !DosName)
		return STATUS_INVALID_PARAMETER;
	vol = fm__volume_of_device(VolumeDeviceObject);
	if (!vol)
		return STATUS_INVALID_PARAMETER;
	/* DosName->Buffer is from the pool: the caller frees it with ExFreePool. */
	st = pool_name(vol->mount_point, NULL, 0, &block, &us);
	fm__volume_put(vol);
	return st;
}

/* Write `name` (UTF-16, n bytes) as OBJECT_NAME_INFORMATION + buffer. */
static NTSTATUS put_name(const WCHAR *name, size_t n, POBJECT_NAME_INFORMATION info, ULONG len,
			 PULONG ret)
{
	size_t need = sizeof(OBJECT_NAME_INFORMATION) + n + sizeof(WCHAR);

	if (ret)
		*ret = (ULONG)need;
	if (!info || len < need)
		return STATUS_INFO_LENGTH_MISMATCH;
	info->Name.Buffer = (PWCH)(info + 1);
	memcpy(info->Name.Buffer, name, n);
	info->Name.Buffer[n / sizeof(WCHAR)] = 0;
	info->Name.Length = (USHORT)n;
	info->Name.MaximumLength = (USHORT)(n + sizeof(WCHAR));
	return STATUS_SUCCESS;
}

/*
 * The name of a file object (\Device\HarddiskVolumeN\ and its current path) or of a volume's
 * device object: the disk's is \Device\HarddiskVolumeN, the file system's volume device is
 * unnamed (an empty name), as on Windows.  STATUS_INFO_LENGTH_MISMATCH with the length needed
 * in *ReturnLength when the buffer is too small.
 */
NTSTATUS ObQueryNameString(PVOID Object, POBJECT_NAME_INFORMATION ObjectNameInfo, ULONG Length,
			   PULONG ReturnLength)
{
	const CSHORT *type = Object;
	struct fm_volume *vol;
	NTSTATUS st;

	if (ReturnLength)
		*ReturnLength = 0;
	if (!Object)
		return STATUS_INVALID_PARAMETER;
	if (*type == IO_TYPE_DEVICE) {
		vol = fm__volume_of_device(Object);
		if (!vol)
			return STATUS_INVALID_PARAMETER;
		if (Object == (PVOID)&vol->dev_disk)
			st = put_name(vol->device_w.Buffer, vol->device_w.Length, ObjectNameInfo,
				      Length, ReturnLength);
		else
			st = put_name(u"", 0, ObjectNameInfo, Length, ReturnLength);
		fm__volume_put(vol);
		return st;
	}
	if (*type == 5 /* IO_TYPE_FILE */ && ((PFILE_OBJECT)Object)->Size == sizeof(FILE_OBJECT) &&
	    fm_file_object_volume(Object)) {
		WCHAR *name = NULL;
		USHORT n = 0;

		st = fm__file_nt_name(Object, true, &name, &n);
		if (!NT_SUCCESS(st))
			return st;
		st = put_name(name, n, ObjectNameInfo, Length, ReturnLength);
		fm_free(name);
		return st;
	}
	return STATUS_OBJECT_TYPE_MISMATCH;
}
