/* File names: FltGetFileNameInformation and friends over the volume's current paths. */
#include "core/core_i.h"
#include "common/alloc.h"
#include "common/log.h"
#include "common/ntname.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

/* Maximum name we build, in WCHARs (UNICODE_STRING lengths are USHORT bytes). */
#define NAME_MAX_W 32767

/* A file name information block: shared, reference counted, one allocation (R61). */
struct name_block {
	atomic_long refs;
	/* With the verifier on for the filter that asked: on the tracked list (tracked_lock). */
	struct fm_filter *owner;
	struct name_block *tnext, **tpprev;
	FLT_FILE_NAME_INFORMATION info;
	WCHAR buf[];
};

static pthread_mutex_t tracked_lock = PTHREAD_MUTEX_INITIALIZER;
static struct name_block *tracked;

static void track(struct name_block *b)
{
	b->owner = fm__tls_filter;
	b->tpprev = NULL;
	if (!fm_verifier_enabled(b->owner))
		return;
	pthread_mutex_lock(&tracked_lock);
	b->tnext = tracked;
	if (tracked)
		tracked->tpprev = &b->tnext;
	b->tpprev = &tracked;
	tracked = b;
	pthread_mutex_unlock(&tracked_lock);
}

static void untrack_locked(struct name_block *b)
{
	*b->tpprev = b->tnext;
	if (b->tnext)
		b->tnext->tpprev = b->tpprev;
	b->tpprev = NULL;
}

size_t fm__names_orphan(struct fm_filter *f)
{
	struct name_block *b, *next, *mine = NULL;
	size_t n = 0;

	pthread_mutex_lock(&tracked_lock);
	for (b = tracked; b; b = next) {
		next = b->tnext;
		if (b->owner != f)
			continue;
		untrack_locked(b);
		b->tnext = mine;
		mine = b;
	}
	pthread_mutex_unlock(&tracked_lock);
	/* Nobody can release these any more: report and free them. */
	for (b = mine; b; b = next) {
		ANSI_STRING a;
		next = b->tnext;
		if (NT_SUCCESS(RtlUnicodeStringToAnsiString(&a, &b->info.Name, TRUE))) {
			fm_log(FM_LOG_ERROR, f->service,
			       "VERIFIER: leaked file name information '%.*s' (%ld reference(s))",
			       (int)a.Length, a.Buffer, atomic_load(&b->refs));
			RtlFreeAnsiString(&a);
		}
		fm_free(b);
		n++;
	}
	return n;
}

static struct name_block *block_of(PFLT_FILE_NAME_INFORMATION info)
{
	return (struct name_block *)((char *)info - offsetof(struct name_block, info));
}

/* Append src (n WCHARs) to dst at *len; false if it does not fit. */
static bool append(WCHAR *dst, size_t cap, size_t *len, const WCHAR *src, size_t n)
{
	if (*len + n > cap)
		return false;
	memcpy(dst + *len, src, n * sizeof(WCHAR));
	*len += n;
	return true;
}

/* The opened name of fo relative to the volume, following RelatedFileObject once. */
static bool opened_rel_name(PFILE_OBJECT fo, WCHAR *buf, size_t cap, size_t *len)
{
	const UNICODE_STRING *n = &fo->FileName;
	PFILE_OBJECT rel = fo->RelatedFileObject;

	if (rel && (n->Length == 0 || n->Buffer[0] != u'\\')) {
		const UNICODE_STRING *r = &rel->FileName;
		if (!append(buf, cap, len, r->Buffer, r->Length / sizeof(WCHAR)))
			return false;
		if (n->Length && (*len == 0 || buf[*len - 1] != u'\\'))
			if (!append(buf, cap, len, u"\\", 1))
				return false;
	}
	if (n->Length && !append(buf, cap, len, n->Buffer, n->Length / sizeof(WCHAR)))
		return false;
	if (*len == 0 && !append(buf, cap, len, u"\\", 1))
		return false;
	return true;
}

NTSTATUS fm__file_nt_name(PFILE_OBJECT fo, bool normalized, WCHAR **out, USHORT *out_len)
{
	struct fm_volume *vol = fm_file_object_volume(fo);
	size_t len = 0, cap = NAME_MAX_W;
	WCHAR *buf;
	bool ok = false;

	if (!vol)
		return STATUS_INVALID_PARAMETER;
	buf = fm_malloc((cap + 1) * sizeof(WCHAR));
	if (!buf)
		return STATUS_INSUFFICIENT_RESOURCES;
	append(buf, cap, &len, vol->device_w.Buffer, vol->device_w.Length / sizeof(WCHAR));
	if (normalized && fo->FsContext && vol->lower->stream_path) {
		char path[4096 * 2];
		int n = vol->lower->stream_path(vol, fo->FsContext, path, sizeof(path));
		if (n >= 0) {
			long w;
			buf[len++] = u'\\';
			w = fm_name_to_nt(path, (size_t)n, (uint16_t *)buf + len, cap - len, 1);
			if (w >= 0) {
				len += (size_t)w;
				ok = true;
			} else {
				len--;
			}
		}
		/* A stream that has lost its last name (deleted) keeps the name it was opened by. */
	}
	if (!ok && !opened_rel_name(fo, buf, cap, &len)) {
		fm_free(buf);
		return STATUS_NAME_TOO_LONG;
	}
	if (len * sizeof(WCHAR) > 0xfffe) {
		fm_free(buf);
		return STATUS_NAME_TOO_LONG;
	}
	*out = buf;
	*out_len = (USHORT)(len * sizeof(WCHAR));
	return STATUS_SUCCESS;
}

static NTSTATUS make_block(const WCHAR *name, USHORT bytes, FLT_FILE_NAME_OPTIONS format,
			   USHORT vol_bytes, PFLT_FILE_NAME_INFORMATION *ret)
{
	struct name_block *b = fm_malloc(sizeof(*b) + bytes + sizeof(WCHAR));

	if (!b)
		return STATUS_INSUFFICIENT_RESOURCES;
	atomic_store(&b->refs, 1);
	track(b);
	memset(&b->info, 0, sizeof(b->info));
	memcpy(b->buf, name, bytes);
	b->buf[bytes / sizeof(WCHAR)] = 0;
	b->info.Size = sizeof(b->info);
	b->info.Format = format;
	b->info.Name.Buffer = b->buf;
	b->info.Name.Length = bytes;
	b->info.Name.MaximumLength = (USHORT)(bytes + sizeof(WCHAR));
	b->info.Volume.Buffer = b->buf;
	b->info.Volume.Length = b->info.Volume.MaximumLength = vol_bytes;
	*ret = &b->info;
	return STATUS_SUCCESS;
}

static NTSTATUS get_name(PFILE_OBJECT fo, bool pre_create, bool open_target,
			 FLT_FILE_NAME_OPTIONS options, PFLT_FILE_NAME_INFORMATION *ret)
{
	FLT_FILE_NAME_OPTIONS format = options & FLT_VALID_FILE_NAME_FORMATS;
	FLT_FILE_NAME_OPTIONS method = options & FLT_VALID_FILE_NAME_QUERY_METHODS;
	struct fm_volume *vol;
	WCHAR *name;
	USHORT bytes, vol_bytes;
	NTSTATUS st;

	if (!ret)
		return STATUS_INVALID_PARAMETER;
	*ret = NULL;
	if (!fo || (format != FLT_FILE_NAME_NORMALIZED && format != FLT_FILE_NAME_OPENED &&
		    format != FLT_FILE_NAME_SHORT))
		return STATUS_INVALID_PARAMETER;
	if (method != FLT_FILE_NAME_QUERY_DEFAULT && method != FLT_FILE_NAME_QUERY_CACHE_ONLY &&
	    method != FLT_FILE_NAME_QUERY_FILESYSTEM_ONLY &&
	    method != FLT_FILE_NAME_QUERY_ALWAYS_ALLOW_CACHE_LOOKUP)
		return STATUS_INVALID_PARAMETER;
	/* R62: no name queries once cleanup is done; no short names before the file exists. */
	if (fo->Flags & FO_CLEANUP_COMPLETE)
		return STATUS_FLT_INVALID_NAME_REQUEST;
	if (format == FLT_FILE_NAME_SHORT && pre_create)
		return STATUS_FLT_INVALID_NAME_REQUEST;
	vol = fm_file_object_volume(fo);
	if (!vol)
		return STATUS_INVALID_PARAMETER;
	vol_bytes = vol->device_w.Length;
	st = fm__file_nt_name(fo, format != FLT_FILE_NAME_OPENED && !pre_create, &name, &bytes);
	if (!NT_SUCCESS(st))
		return st;
	if (open_target) {
		/* SL_OPEN_TARGET_DIRECTORY: the name is the parent directory's (R63). */
		size_t n = bytes / sizeof(WCHAR), vn = vol_bytes / sizeof(WCHAR);
		while (n > vn + 1 && name[n - 1] == u'\\')
			n--;
		while (n > vn + 1 && name[n - 1] != u'\\')
			n--;
		if (n > vn + 1)
			n--;
		bytes = (USHORT)(n * sizeof(WCHAR));
	}
	if (format == FLT_FILE_NAME_SHORT) {
		/* Linux has no 8.3 names: the short name is the final component itself. */
		size_t n = bytes / sizeof(WCHAR), s = n;
		while (s > 0 && name[s - 1] != u'\\')
			s--;
		st = make_block(name + s, (USHORT)((n - s) * sizeof(WCHAR)), format, 0, ret);
	} else {
		st = make_block(name, bytes, format, vol_bytes, ret);
	}
	fm_free(name);
	return st;
}

NTSTATUS FLTAPI FltGetFileNameInformation(PFLT_CALLBACK_DATA CallbackData,
					  FLT_FILE_NAME_OPTIONS NameOptions,
					  PFLT_FILE_NAME_INFORMATION *NameInfoOut)
{
	PFILE_OBJECT fo;
	bool pre_create;

	if (!CallbackData || !NameInfoOut)
		return STATUS_INVALID_PARAMETER;
	fo = CallbackData->Iopb->TargetFileObject;
	pre_create = CallbackData->Iopb->MajorFunction == IRP_MJ_CREATE &&
		     !(CallbackData->Flags & FLTFL_CALLBACK_DATA_POST_OPERATION);
	return get_name(fo, pre_create,
			pre_create &&
			    (CallbackData->Iopb->OperationFlags & SL_OPEN_TARGET_DIRECTORY),
			NameOptions, NameInfoOut);
}

NTSTATUS FLTAPI FltGetFileNameInformationUnsafe(PFILE_OBJECT FileObject, PFLT_INSTANCE Instance,
						FLT_FILE_NAME_OPTIONS NameOptions,
						PFLT_FILE_NAME_INFORMATION *NameInfoOut)
{
	(void)Instance;
	return get_name(FileObject, FileObject && !FileObject->FsContext, false, NameOptions,
			NameInfoOut);
}

VOID FLTAPI FltReferenceFileNameInformation(PFLT_FILE_NAME_INFORMATION NameInfoOut)
{
	if (NameInfoOut)
		atomic_fetch_add(&block_of(NameInfoOut)->refs, 1);
}

VOID FLTAPI FltReleaseFileNameInformation(PFLT_FILE_NAME_INFORMATION NameInfoOut)
{
	struct name_block *b;

	if (!NameInfoOut)
		return;
	b = block_of(NameInfoOut);
	if (atomic_fetch_sub(&b->refs, 1) == 1) {
		if (b->tpprev) {
			pthread_mutex_lock(&tracked_lock);
			if (b->tpprev)
				untrack_locked(b);
			pthread_mutex_unlock(&tracked_lock);
		}
		fm_free(b);
	}
}

static void sub(UNICODE_STRING *u, const WCHAR *base, size_t from, size_t to)
{
	u->Buffer = (PWCH)(base + from);
	u->Length = u->MaximumLength = (USHORT)((to - from) * sizeof(WCHAR));
	if (to == from)
		u->Buffer = NULL;
}

NTSTATUS FLTAPI FltParseFileNameInformation(PFLT_FILE_NAME_INFORMATION info)
{
	const WCHAR *s;
	size_t n, v, last_sep, fin, stream, ext;

	if (!info || !info->Name.Buffer)
		return STATUS_INVALID_PARAMETER;
	s = info->Name.Buffer;
	n = info->Name.Length / sizeof(WCHAR);
	v = info->Format == FLT_FILE_NAME_SHORT ? 0 : info->Volume.Length / sizeof(WCHAR);
	if (v > n)
		return STATUS_INVALID_PARAMETER;
	sub(&info->Volume, s, 0, v);
	info->Volume.Buffer = (PWCH)s;
	sub(&info->Share, s, 0, 0);
	/* ParentDir keeps its trailing backslash; the final component may carry a stream. */
	last_sep = n;
	for (size_t i = v; i < n; i++)
		if (s[i] == u'\\')
			last_sep = i;
	if (last_sep == n) {
		fin = v;
		sub(&info->ParentDir, s, 0, 0);
	} else {
		fin = last_sep + 1;
		sub(&info->ParentDir, s, v, fin);
	}
	sub(&info->FinalComponent, s, fin, n);
	stream = n;
	for (size_t i = fin; i < n; i++) {
		if (s[i] == u':') {
			stream = i;
			break;
		}
	}
	sub(&info->Stream, s, stream, n);
	ext = stream;
	for (size_t i = stream; i > fin; i--) {
		if (s[i - 1] == u'.') {
			ext = i;
			break;
		}
	}
	sub(&info->Extension, s, ext, ext == stream ? ext : stream);
	info->NamesParsed = FLTFL_FILE_NAME_PARSED_FINAL_COMPONENT |
			    FLTFL_FILE_NAME_PARSED_EXTENSION | FLTFL_FILE_NAME_PARSED_STREAM |
			    FLTFL_FILE_NAME_PARSED_PARENT_DIR;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltGetDestinationFileNameInformation(
    PFLT_INSTANCE Instance, PFILE_OBJECT FileObject, HANDLE RootDirectory, PWSTR FileName,
    ULONG FileNameLength, FLT_FILE_NAME_OPTIONS NameOptions,
    PFLT_FILE_NAME_INFORMATION *RetFileNameInformation)
{
	struct fm_volume *vol = fm_file_object_volume(FileObject);
	size_t fn = FileNameLength / sizeof(WCHAR), vn, len = 0, cap = NAME_MAX_W;
	WCHAR *buf, *src = NULL;
	USHORT src_bytes;
	NTSTATUS st;

	(void)Instance;
	if (!vol || !FileName || !RetFileNameInformation || RootDirectory)
		return RootDirectory ? STATUS_NOT_SUPPORTED : STATUS_INVALID_PARAMETER;
	*RetFileNameInformation = NULL;
	if ((NameOptions & FLT_VALID_FILE_NAME_FORMATS) == FLT_FILE_NAME_SHORT)
		return STATUS_INVALID_PARAMETER;
	vn = vol->device_w.Length / sizeof(WCHAR);
	buf = fm_malloc((cap + 1) * sizeof(WCHAR));
	if (!buf)
		return STATUS_INSUFFICIENT_RESOURCES;
	if (fn >= vn && memcmp(FileName, vol->device_w.Buffer, vn * sizeof(WCHAR)) == 0) {
		/* Already a full name on this volume. */
		append(buf, cap, &len, FileName, fn);
	} else if (fn && FileName[0] == u'\\') {
		append(buf, cap, &len, vol->device_w.Buffer, vn);
		if (!append(buf, cap, &len, FileName, fn))
			goto too_long;
	} else {
		/* A bare name: in the source's directory. */
		size_t s;
		st = fm__file_nt_name(FileObject, true, &src, &src_bytes);
		if (!NT_SUCCESS(st)) {
			fm_free(buf);
			return st;
		}
		s = src_bytes / sizeof(WCHAR);
		while (s > vn && src[s - 1] != u'\\')
			s--;
		append(buf, cap, &len, src, s);
		fm_free(src);
		if (!append(buf, cap, &len, FileName, fn))
			goto too_long;
	}
	if (len * sizeof(WCHAR) > 0xfffe)
		goto too_long;
	st = make_block(buf, (USHORT)(len * sizeof(WCHAR)),
			NameOptions & FLT_VALID_FILE_NAME_FORMATS, vol->device_w.Length,
			RetFileNameInformation);
	fm_free(buf);
	return st;
too_long:
	fm_free(buf);
	return STATUS_NAME_TOO_LONG;
}
