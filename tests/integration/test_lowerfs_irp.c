/* Integration: the lower file system's NT semantics, driven with IRPs through the core (no FUSE). */
#include "core/core.h"
#include "core/registry.h"
#include "volume/lowerfs.h"

#include "tap.h"

#include <errno.h>
#include <dirent.h>
#include <sys/xattr.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uchar.h>
#include <sys/stat.h>
#include <limits.h>
#include <unistd.h>

/*
 * A volume over a temporary directory with the lower's ops and no FUSE: each case builds
 * IRPs as a filter's FltCreateFile / FltQueryInformationFile would and checks the status,
 * Information and buffers, and the backing directory with plain system calls.
 */

static char dir[64];
static struct fm_volume *vol;
static struct fm_lower *lower;

static size_t wlen(const char16_t *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static char *bpath(const char *rel)
{
	static char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return p;
}

struct open_args {
	ULONG disp, copt;
	ACCESS_MASK access;
	long lxmode;
	UCHAR flags;
	PFILE_OBJECT related;
};

static NTSTATUS do_open_fo(PFILE_OBJECT fo, const struct open_args *a, PFILE_OBJECT *out,
			   ULONG_PTR *info);

static NTSTATUS do_open(const char16_t *name, const struct open_args *a, PFILE_OBJECT *out,
			ULONG_PTR *info)
{
	return do_open_fo(fm_file_object_alloc(vol, (const WCHAR *)name, wlen(name)), a, out, info);
}

/* An open whose FileName is raw bytes (FILE_OPEN_BY_FILE_ID). */
static NTSTATUS do_open_raw(const void *bytes, USHORT len, const struct open_args *a,
			    PFILE_OBJECT *out, ULONG_PTR *info)
{
	return do_open_fo(fm_file_object_alloc(vol, (const WCHAR *)bytes, len / sizeof(WCHAR)), a,
			  out, info);
}

static NTSTATUS do_open_fo(PFILE_OBJECT fo, const struct open_args *a, PFILE_OBJECT *out,
			   ULONG_PTR *info)
{
	IO_SECURITY_CONTEXT sc;
	union {
		FILE_FULL_EA_INFORMATION ea;
		char raw[64];
	} eab;
	struct fm_irp irp;
	NTSTATUS st;

	memset(&sc, 0, sizeof(sc));
	sc.DesiredAccess = a->access;
	fo->RelatedFileObject = a->related;
	fm_irp_init(&irp, vol, IRP_MJ_CREATE, 0, fo, NULL);
	irp.data.Iopb->OperationFlags = a->flags;
	irp.data.Iopb->Parameters.Create.SecurityContext = &sc;
	irp.data.Iopb->Parameters.Create.Options = (a->disp << 24) | a->copt;
	irp.data.Iopb->Parameters.Create.ShareAccess = FILE_SHARE_READ | FILE_SHARE_WRITE;
	if (a->lxmode >= 0) {
		ULONG m = (ULONG)a->lxmode;
		size_t off = offsetof(FILE_FULL_EA_INFORMATION, EaName);

		memset(&eab, 0, sizeof(eab));
		eab.ea.EaNameLength = 6;
		eab.ea.EaValueLength = 4;
		memcpy(eab.raw + off, "$LXMOD", 7);
		memcpy(eab.raw + off + 7, &m, 4);
		irp.data.Iopb->Parameters.Create.EaBuffer = &eab;
		irp.data.Iopb->Parameters.Create.EaLength = (ULONG)(off + 11);
	}
	st = fm_irp_dispatch(&irp);
	if (info)
		*info = irp.data.IoStatus.Information;
	fm_irp_cleanup(&irp);
	if (NT_SUCCESS(st))
		*out = fo;
	else
		fm_file_object_free(fo);
	return st;
}

static NTSTATUS open_simple(const char16_t *name, ULONG disp, ULONG copt, ACCESS_MASK access,
			    PFILE_OBJECT *out, ULONG_PTR *info)
{
	struct open_args a = {disp, copt, access, -1, 0, NULL};

	return do_open(name, &a, out, info);
}

static NTSTATUS simple(PFILE_OBJECT fo, UCHAR major)
{
	struct fm_irp irp;
	NTSTATUS st;

	fm_irp_init(&irp, vol, major, 0, fo, NULL);
	st = fm_irp_dispatch(&irp);
	fm_irp_cleanup(&irp);
	return st;
}

static void close_fo(PFILE_OBJECT fo)
{
	simple(fo, IRP_MJ_CLEANUP);
	simple(fo, IRP_MJ_CLOSE);
	fm_file_object_free(fo);
}

static NTSTATUS rw(PFILE_OBJECT fo, UCHAR major, void *buf, ULONG len, LONGLONG off,
		   ULONG_PTR *info)
{
	struct fm_irp irp;
	NTSTATUS st;

	fm_irp_init(&irp, vol, major, 0, fo, NULL);
	if (major == IRP_MJ_READ) {
		irp.data.Iopb->Parameters.Read.Length = len;
		irp.data.Iopb->Parameters.Read.ByteOffset.QuadPart = off;
		irp.data.Iopb->Parameters.Read.ReadBuffer = buf;
	} else {
		irp.data.Iopb->Parameters.Write.Length = len;
		irp.data.Iopb->Parameters.Write.ByteOffset.QuadPart = off;
		irp.data.Iopb->Parameters.Write.WriteBuffer = buf;
	}
	st = fm_irp_dispatch(&irp);
	*info = irp.data.IoStatus.Information;
	fm_irp_cleanup(&irp);
	return st;
}

static NTSTATUS query(PFILE_OBJECT fo, FILE_INFORMATION_CLASS cls, void *buf, ULONG len,
		      ULONG_PTR *info)
{
	struct fm_irp irp;
	NTSTATUS st;

	fm_irp_init(&irp, vol, IRP_MJ_QUERY_INFORMATION, 0, fo, NULL);
	irp.data.Iopb->Parameters.QueryFileInformation.Length = len;
	irp.data.Iopb->Parameters.QueryFileInformation.FileInformationClass = cls;
	irp.data.Iopb->Parameters.QueryFileInformation.InfoBuffer = buf;
	st = fm_irp_dispatch(&irp);
	if (info)
		*info = irp.data.IoStatus.Information;
	fm_irp_cleanup(&irp);
	return st;
}

static NTSTATUS set(PFILE_OBJECT fo, FILE_INFORMATION_CLASS cls, void *buf, ULONG len)
{
	struct fm_irp irp;
	NTSTATUS st;

	fm_irp_init(&irp, vol, IRP_MJ_SET_INFORMATION, 0, fo, NULL);
	irp.data.Iopb->Parameters.SetFileInformation.Length = len;
	irp.data.Iopb->Parameters.SetFileInformation.FileInformationClass = cls;
	irp.data.Iopb->Parameters.SetFileInformation.InfoBuffer = buf;
	st = fm_irp_dispatch(&irp);
	fm_irp_cleanup(&irp);
	return st;
}

static NTSTATUS query_dir(PFILE_OBJECT fo, FILE_INFORMATION_CLASS cls, void *buf, ULONG len,
			  const char16_t *pattern, UCHAR flags, ULONG_PTR *info)
{
	UNICODE_STRING us;
	struct fm_irp irp;
	NTSTATUS st;

	fm_irp_init(&irp, vol, IRP_MJ_DIRECTORY_CONTROL, IRP_MN_QUERY_DIRECTORY, fo, NULL);
	irp.data.Iopb->OperationFlags = flags;
	irp.data.Iopb->Parameters.DirectoryControl.QueryDirectory.Length = len;
	irp.data.Iopb->Parameters.DirectoryControl.QueryDirectory.FileInformationClass = cls;
	irp.data.Iopb->Parameters.DirectoryControl.QueryDirectory.DirectoryBuffer = buf;
	if (pattern) {
		us.Buffer = (PWCH)pattern;
		us.Length = us.MaximumLength = (USHORT)(wlen(pattern) * 2);
		irp.data.Iopb->Parameters.DirectoryControl.QueryDirectory.FileName = &us;
	}
	st = fm_irp_dispatch(&irp);
	*info = irp.data.IoStatus.Information;
	fm_irp_cleanup(&irp);
	return st;
}

static bool wide_eq(const WCHAR *w, size_t bytes, const char16_t *want)
{
	return bytes == wlen(want) * 2 && !memcmp(w, want, bytes);
}

/* ---- cases ------------------------------------------------------------------------------- */

static void t_create_dispositions(void)
{
	PFILE_OBJECT fo;
	ULONG_PTR info;
	struct stat st;
	struct open_args a = {FILE_CREATE, FILE_NON_DIRECTORY_FILE, FILE_WRITE_DATA, 0640, 0, NULL};

	TAP_EQ_INT(do_open(u"\\new.txt", &a, &fo, &info), STATUS_SUCCESS);
	TAP_EQ_INT(info, FILE_CREATED);
	TAP_CHECK(fo->FsContext && fo->FsContext2 && fo->WriteAccess && !fo->ReadAccess);
	TAP_CHECK(stat(bpath("new.txt"), &st) == 0 && (st.st_mode & 07777) == 0640);
	close_fo(fo);
	TAP_EQ_INT(do_open(u"\\new.txt", &a, &fo, &info), STATUS_OBJECT_NAME_COLLISION);
	TAP_EQ_INT(open_simple(u"\\missing", FILE_OPEN, 0, FILE_READ_DATA, &fo, &info),
		   STATUS_OBJECT_NAME_NOT_FOUND);
	TAP_EQ_INT(open_simple(u"\\nodir\\x", FILE_OPEN, 0, FILE_READ_DATA, &fo, &info),
		   STATUS_OBJECT_PATH_NOT_FOUND);
	TAP_EQ_INT(open_simple(u"\\a\\..\\new.txt", FILE_OPEN, 0, FILE_READ_DATA, &fo, &info),
		   STATUS_OBJECT_NAME_INVALID);
	TAP_EQ_INT(open_simple(u"new.txt", FILE_OPEN, 0, FILE_READ_DATA, &fo, &info),
		   STATUS_OBJECT_NAME_INVALID);
	TAP_EQ_INT(open_simple(u"\\new.txt", FILE_OPEN_IF, 0, FILE_READ_DATA, &fo, &info),
		   STATUS_SUCCESS);
	TAP_EQ_INT(info, FILE_OPENED);
	close_fo(fo);
	TAP_CHECK(truncate(bpath("new.txt"), 100) == 0);
	TAP_EQ_INT(open_simple(u"\\new.txt", FILE_OVERWRITE_IF, 0, FILE_WRITE_DATA, &fo, &info),
		   STATUS_SUCCESS);
	TAP_EQ_INT(info, FILE_OVERWRITTEN);
	TAP_CHECK(stat(bpath("new.txt"), &st) == 0 && st.st_size == 0);
	close_fo(fo);
	TAP_EQ_INT(open_simple(u"\\new.txt", FILE_SUPERSEDE, 0, FILE_WRITE_DATA, &fo, &info),
		   STATUS_SUCCESS);
	TAP_EQ_INT(info, FILE_SUPERSEDED);
	close_fo(fo);
	TAP_EQ_INT(
	    open_simple(u"\\new.txt", FILE_OPEN, FILE_DIRECTORY_FILE, FILE_READ_DATA, &fo, &info),
	    STATUS_NOT_A_DIRECTORY);
	a.copt = FILE_DIRECTORY_FILE;
	a.lxmode = 0750;
	TAP_EQ_INT(do_open(u"\\sub", &a, &fo, &info), STATUS_SUCCESS);
	TAP_EQ_INT(info, FILE_CREATED);
	TAP_CHECK(stat(bpath("sub"), &st) == 0 && S_ISDIR(st.st_mode) &&
		  (st.st_mode & 07777) == 0750);
	{
		/* Relative to a directory handle. */
		PFILE_OBJECT rel;
		struct open_args r = {FILE_CREATE, 0, FILE_WRITE_DATA, -1, 0, fo};

		TAP_EQ_INT(do_open(u"inner.txt", &r, &rel, &info), STATUS_SUCCESS);
		TAP_CHECK(access(bpath("sub/inner.txt"), F_OK) == 0);
		if (info == FILE_CREATED)
			close_fo(rel);
	}
	close_fo(fo);
	TAP_EQ_INT(
	    open_simple(u"\\sub", FILE_OPEN, FILE_NON_DIRECTORY_FILE, FILE_READ_DATA, &fo, &info),
	    STATUS_FILE_IS_A_DIRECTORY);
	{
		struct open_args t = {FILE_OPEN, 0, FILE_WRITE_DATA, -1, SL_OPEN_TARGET_DIRECTORY,
				      NULL};

		TAP_EQ_INT(do_open(u"\\sub\\inner.txt", &t, &fo, &info), STATUS_SUCCESS);
		TAP_EQ_INT(info, FILE_EXISTS);
		close_fo(fo);
		TAP_EQ_INT(do_open(u"\\sub\\nothere", &t, &fo, &info), STATUS_SUCCESS);
		TAP_EQ_INT(info, FILE_DOES_NOT_EXIST);
		close_fo(fo);
	}
	TAP_EQ_INT(open_simple(u"\\", FILE_OPEN, FILE_DIRECTORY_FILE, FILE_READ_DATA, &fo, &info),
		   STATUS_SUCCESS);
	TAP_CHECK(fo->FsContext == fm_lower_root(lower));
	close_fo(fo);
}

static void t_read_write(void)
{
	PFILE_OBJECT fo;
	ULONG_PTR info;
	char buf[32];

	TAP_EQ_INT(
	    open_simple(u"\\rw.bin", FILE_OPEN_IF, 0, FILE_READ_DATA | FILE_WRITE_DATA, &fo, &info),
	    STATUS_SUCCESS);
	TAP_EQ_INT(rw(fo, IRP_MJ_WRITE, "hello world", 11, 0, &info), STATUS_SUCCESS);
	TAP_EQ_INT(info, 11);
	TAP_EQ_INT(rw(fo, IRP_MJ_WRITE, "W", 1, 6, &info), STATUS_SUCCESS);
	memset(buf, 0, sizeof(buf));
	TAP_EQ_INT(rw(fo, IRP_MJ_READ, buf, sizeof(buf), 0, &info), STATUS_SUCCESS);
	TAP_EQ_INT(info, 11);
	TAP_EQ_STR(buf, "hello World");
	TAP_EQ_INT(rw(fo, IRP_MJ_READ, buf, sizeof(buf), 11, &info), STATUS_END_OF_FILE);
	TAP_EQ_INT(info, 0);
	close_fo(fo);
	TAP_EQ_INT(open_simple(u"\\rw.bin", FILE_OPEN, 0, FILE_READ_DATA, &fo, &info),
		   STATUS_SUCCESS);
	TAP_EQ_INT(rw(fo, IRP_MJ_WRITE, "x", 1, 0, &info), STATUS_ACCESS_DENIED);
	close_fo(fo);
	TAP_EQ_INT(open_simple(u"\\rw.bin", FILE_OPEN, 0, FILE_APPEND_DATA, &fo, &info),
		   STATUS_SUCCESS);
	TAP_EQ_INT(rw(fo, IRP_MJ_WRITE, "!", 1, 0, &info), STATUS_SUCCESS);
	close_fo(fo);
	{
		FILE *f = fopen(bpath("rw.bin"), "r");

		memset(buf, 0, sizeof(buf));
		TAP_CHECK(f && fread(buf, 1, sizeof(buf), f) == 12);
		if (f)
			fclose(f);
		TAP_EQ_STR(buf, "hello World!");
	}
}

static void t_query_info(void)
{
	PFILE_OBJECT fo;
	ULONG_PTR info;
	struct stat st;
	union {
		FILE_BASIC_INFORMATION basic;
		FILE_STANDARD_INFORMATION std;
		FILE_INTERNAL_INFORMATION internal;
		FILE_STAT_LX_INFORMATION lx;
		FILE_NAME_INFORMATION name;
		char raw[512];
	} u;

	TAP_CHECK(mkdir(bpath("qd"), 0755) == 0);
	TAP_CHECK(close(open(bpath("qd/f.txt"), O_CREAT | O_WRONLY, 0444)) == 0);
	TAP_CHECK(truncate(bpath("qd/f.txt"), 42) == 0);
	TAP_CHECK(stat(bpath("qd/f.txt"), &st) == 0);
	TAP_EQ_INT(open_simple(u"\\qd\\f.txt", FILE_OPEN, 0, FILE_READ_ATTRIBUTES, &fo, &info),
		   STATUS_SUCCESS);
	TAP_EQ_INT(query(fo, FileBasicInformation, &u, sizeof(u.basic), &info), STATUS_SUCCESS);
	TAP_EQ_INT(info, sizeof(u.basic));
	TAP_EQ_INT(u.basic.FileAttributes, FILE_ATTRIBUTE_READONLY);
	TAP_EQ_INT(u.basic.LastWriteTime.QuadPart,
		   ((LONGLONG)st.st_mtim.tv_sec + 11644473600LL) * 10000000LL +
		       st.st_mtim.tv_nsec / 100);
	TAP_EQ_INT(query(fo, FileStandardInformation, &u, sizeof(u.std), &info), STATUS_SUCCESS);
	TAP_EQ_INT(u.std.EndOfFile.QuadPart, 42);
	TAP_EQ_INT(u.std.NumberOfLinks, 1);
	TAP_EQ_INT(u.std.Directory, 0);
	TAP_EQ_INT(query(fo, FileInternalInformation, &u, sizeof(u.internal), &info),
		   STATUS_SUCCESS);
	TAP_EQ_INT(u.internal.IndexNumber.QuadPart, st.st_ino);
	TAP_EQ_INT(query(fo, FileStatLxInformation, &u, sizeof(u.lx), &info), STATUS_SUCCESS);
	TAP_EQ_INT(u.lx.LxMode, st.st_mode);
	TAP_EQ_INT(u.lx.LxUid, st.st_uid);
	TAP_CHECK(u.lx.LxFlags & LX_FILE_METADATA_HAS_MODE);
	TAP_EQ_INT(query(fo, FileBasicInformation, &u, 8, &info), STATUS_INFO_LENGTH_MISMATCH);
	TAP_EQ_INT(query(fo, FileNameInformation, &u, sizeof(u), &info), STATUS_SUCCESS);
	TAP_CHECK(wide_eq(u.name.FileName, u.name.FileNameLength, u"\\qd\\f.txt"));
	TAP_EQ_INT(info, offsetof(FILE_NAME_INFORMATION, FileName) + u.name.FileNameLength);
	/* Too small for the whole name: partial name, full length, BUFFER_OVERFLOW. */
	TAP_EQ_INT(query(fo, FileNameInformation, &u, 10, &info), STATUS_BUFFER_OVERFLOW);
	TAP_EQ_INT(u.name.FileNameLength, 18);
	TAP_EQ_INT(info, 10);
	{
		FILE_ALL_INFORMATION *all = (void *)u.raw;

		TAP_EQ_INT(query(fo, FileAllInformation, &u, sizeof(u), &info), STATUS_SUCCESS);
		TAP_EQ_INT(all->StandardInformation.EndOfFile.QuadPart, 42);
		TAP_EQ_INT(all->InternalInformation.IndexNumber.QuadPart, st.st_ino);
		TAP_CHECK(wide_eq(all->NameInformation.FileName,
				  all->NameInformation.FileNameLength, u"\\qd\\f.txt"));
	}
	{
		/* Open by file id, from the IndexNumber just read. */
		PFILE_OBJECT byid;
		uint64_t id = st.st_ino, none = 1;
		struct open_args oa = {FILE_OPEN, FILE_OPEN_BY_FILE_ID, FILE_READ_ATTRIBUTES, -1, 0,
				       fo};
		TAP_EQ_INT(do_open_raw(&id, 8, &oa, &byid, &info), STATUS_SUCCESS);
		if (info == FILE_OPENED) {
			TAP_CHECK(byid->FsContext == fo->FsContext);
			close_fo(byid);
		}
		TAP_CHECK(do_open_raw(&none, 8, &oa, &byid, &info) != STATUS_SUCCESS);
		TAP_EQ_INT(do_open_raw(&none, 6, &oa, &byid, &info), STATUS_OBJECT_NAME_INVALID);
	}
	TAP_EQ_INT(query(fo, (FILE_INFORMATION_CLASS)200, &u, sizeof(u), &info),
		   STATUS_INVALID_PARAMETER);
	close_fo(fo);
	TAP_EQ_INT(open_simple(u"\\qd", FILE_OPEN, 0, FILE_READ_ATTRIBUTES, &fo, &info),
		   STATUS_SUCCESS);
	TAP_EQ_INT(query(fo, FileBasicInformation, &u, sizeof(u.basic), &info), STATUS_SUCCESS);
	TAP_EQ_INT(u.basic.FileAttributes, FILE_ATTRIBUTE_DIRECTORY);
	close_fo(fo);
}

static void t_query_dir(void)
{
	static char buf[8192];
	PFILE_OBJECT fo;
	ULONG_PTR info;
	int i, n = 0;
	size_t off = 0;
	bool aligned = true, saw_dot = false, saw_f1 = false;

	TAP_CHECK(mkdir(bpath("ld"), 0755) == 0);
	for (i = 0; i < 3; i++) {
		char p[32];

		snprintf(p, sizeof(p), "ld/f%d.txt", i);
		TAP_CHECK(close(open(bpath(p), O_CREAT | O_WRONLY, 0644)) == 0);
	}
	TAP_CHECK(close(open(bpath("ld/other.dat"), O_CREAT | O_WRONLY, 0644)) == 0);
	TAP_EQ_INT(
	    open_simple(u"\\ld", FILE_OPEN, FILE_DIRECTORY_FILE, FILE_LIST_DIRECTORY, &fo, &info),
	    STATUS_SUCCESS);
	TAP_EQ_INT(query_dir(fo, FileBothDirectoryInformation, buf, sizeof(buf), NULL, 0, &info),
		   STATUS_SUCCESS);
	for (;;) {
		FILE_BOTH_DIR_INFORMATION *e = (void *)(buf + off);

		n++;
		if (wide_eq(e->FileName, e->FileNameLength, u"."))
			saw_dot = true;
		if (wide_eq(e->FileName, e->FileNameLength, u"f1.txt"))
			saw_f1 = true;
		if (!e->NextEntryOffset)
			break;
		if (e->NextEntryOffset % 8)
			aligned = false;
		off += e->NextEntryOffset;
	}
	TAP_EQ_INT(n, 6);
	TAP_CHECK(aligned && saw_dot && saw_f1);
	TAP_EQ_INT(query_dir(fo, FileBothDirectoryInformation, buf, sizeof(buf), NULL, 0, &info),
		   STATUS_NO_MORE_FILES);
	/* Restart with a pattern, one entry at a time. */
	TAP_EQ_INT(query_dir(fo, FileNamesInformation, buf, sizeof(buf), u"f*.txt",
			     SL_RESTART_SCAN | SL_RETURN_SINGLE_ENTRY, &info),
		   STATUS_SUCCESS);
	TAP_EQ_INT(((FILE_NAMES_INFORMATION *)buf)->NextEntryOffset, 0);
	n = 1;
	while (query_dir(fo, FileNamesInformation, buf, sizeof(buf), NULL, SL_RETURN_SINGLE_ENTRY,
			 &info) == STATUS_SUCCESS &&
	       n < 10)
		n++;
	TAP_EQ_INT(n, 3);
	TAP_EQ_INT(query_dir(fo, FileNamesInformation, buf, sizeof(buf), u"nomatch*",
			     SL_RESTART_SCAN, &info),
		   STATUS_NO_SUCH_FILE);
	/* Not even one entry fits. */
	TAP_EQ_INT(query_dir(fo, FileIdBothDirectoryInformation, buf,
			     offsetof(FILE_ID_BOTH_DIR_INFORMATION, FileName) + 1, NULL,
			     SL_RESTART_SCAN, &info),
		   STATUS_BUFFER_OVERFLOW);
	TAP_EQ_INT(
	    query_dir(fo, FileIdBothDirectoryInformation, buf, 8, NULL, SL_RESTART_SCAN, &info),
	    STATUS_INFO_LENGTH_MISMATCH);
	TAP_EQ_INT(
	    query_dir(fo, FileStandardInformation, buf, sizeof(buf), NULL, SL_RESTART_SCAN, &info),
	    STATUS_INVALID_INFO_CLASS);
	{
		FILE_ID_EXTD_DIR_INFORMATION *e = (void *)buf;
		struct stat st;
		uint64_t id;

		TAP_EQ_INT(query_dir(fo, FileIdExtdDirectoryInformation, buf, sizeof(buf),
				     u"other.dat", SL_RESTART_SCAN, &info),
			   STATUS_SUCCESS);
		memcpy(&id, &e->FileId, 8);
		TAP_CHECK(stat(bpath("ld/other.dat"), &st) == 0 && id == st.st_ino);
		TAP_CHECK(wide_eq(e->FileName, e->FileNameLength, u"other.dat"));
	}
	close_fo(fo);
}

/* 100 ns units since 1601 of a timespec. */
static LONGLONG nt_time(struct timespec t)
{
	return ((LONGLONG)t.tv_sec + 11644473600LL) * 10000000LL + t.tv_nsec / 100;
}

/* Every query class a filter commonly uses, on a file, a directory and a symlink. */
static void t_info_classes(void)
{
	PFILE_OBJECT fo;
	ULONG_PTR info;
	struct stat st;
	union {
		FILE_EA_INFORMATION ea;
		FILE_ACCESS_INFORMATION access;
		FILE_POSITION_INFORMATION pos;
		FILE_MODE_INFORMATION mode;
		FILE_ALIGNMENT_INFORMATION align;
		FILE_NETWORK_OPEN_INFORMATION net;
		FILE_ATTRIBUTE_TAG_INFORMATION tag;
		FILE_STAT_INFORMATION stat;
		FILE_ID_INFORMATION id;
		FILE_CASE_SENSITIVE_INFORMATION cs;
		FILE_NAME_INFORMATION name;
		FILE_ALLOCATION_INFORMATION alloc;
		FILE_BASIC_INFORMATION basic;
		char raw[512];
	} u;
	uint64_t id;

	TAP_CHECK(mkdir(bpath("ic"), 0755) == 0);
	TAP_CHECK(close(open(bpath("ic/f"), O_CREAT | O_WRONLY, 0640)) == 0);
	{
		char f2[512];

		snprintf(f2, sizeof(f2), "%s", bpath("ic/f2"));
		TAP_CHECK(truncate(bpath("ic/f"), 100) == 0 && link(bpath("ic/f"), f2) == 0);
	}
	TAP_CHECK(symlink("f", bpath("ic/l")) == 0);
	TAP_CHECK(stat(bpath("ic/f"), &st) == 0);
	TAP_EQ_INT(open_simple(u"\\ic\\f", FILE_OPEN, FILE_NON_DIRECTORY_FILE,
			       FILE_READ_DATA | FILE_WRITE_DATA | FILE_READ_ATTRIBUTES, &fo, &info),
		   STATUS_SUCCESS);
	TAP_EQ_INT(query(fo, FileEaInformation, &u, sizeof(u.ea), &info), STATUS_SUCCESS);
	TAP_EQ_INT(info, sizeof(u.ea));
	TAP_EQ_INT(u.ea.EaSize, 0);
	/* Two xattrs: their FILE_FULL_EA_INFORMATION chain (8 + 7 + 3 = 18, aligned 20; + 8 + 8 + 2). */
	TAP_CHECK(setxattr(bpath("ic/f"), "user.a", "vvv", 3, 0) == 0 &&
		  setxattr(bpath("ic/f"), "user.bb", "ww", 2, 0) == 0);
	TAP_EQ_INT(query(fo, FileEaInformation, &u, sizeof(u.ea), &info), STATUS_SUCCESS);
	TAP_EQ_INT(u.ea.EaSize, 20 + 8 + 8 + 2);
	TAP_CHECK(stat(bpath("ic/f"), &st) == 0); /* setxattr changed ctime */
	TAP_EQ_INT(query(fo, FileAccessInformation, &u, sizeof(u.access), &info), STATUS_SUCCESS);
	TAP_CHECK((u.access.AccessFlags & (FILE_READ_DATA | FILE_WRITE_DATA)) ==
		  (FILE_READ_DATA | FILE_WRITE_DATA));
	TAP_CHECK(!(u.access.AccessFlags & DELETE));
	u.pos.CurrentByteOffset.QuadPart = 77;
	TAP_EQ_INT(set(fo, FilePositionInformation, &u, sizeof(u.pos)), STATUS_SUCCESS);
	u.pos.CurrentByteOffset.QuadPart = 0;
	TAP_EQ_INT(query(fo, FilePositionInformation, &u, sizeof(u.pos), &info), STATUS_SUCCESS);
	TAP_EQ_INT(u.pos.CurrentByteOffset.QuadPart, 77);
	TAP_EQ_INT(query(fo, FileModeInformation, &u, sizeof(u.mode), &info), STATUS_SUCCESS);
	TAP_EQ_INT(u.mode.Mode, 0);
	TAP_EQ_INT(query(fo, FileAlignmentInformation, &u, sizeof(u.align), &info), STATUS_SUCCESS);
	TAP_EQ_INT(u.align.AlignmentRequirement, FILE_BYTE_ALIGNMENT);
	TAP_EQ_INT(query(fo, FileNetworkOpenInformation, &u, sizeof(u.net), &info), STATUS_SUCCESS);
	TAP_EQ_INT(u.net.EndOfFile.QuadPart, 100);
	TAP_EQ_INT(u.net.LastWriteTime.QuadPart, nt_time(st.st_mtim));
	TAP_EQ_INT(u.net.ChangeTime.QuadPart, nt_time(st.st_ctim));
	TAP_EQ_INT(u.net.LastAccessTime.QuadPart, nt_time(st.st_atim));
	TAP_EQ_INT(u.net.FileAttributes, FILE_ATTRIBUTE_NORMAL);
	TAP_EQ_INT(query(fo, FileAttributeTagInformation, &u, sizeof(u.tag), &info),
		   STATUS_SUCCESS);
	TAP_EQ_INT(u.tag.ReparseTag, 0);
	TAP_EQ_INT(query(fo, FileStatInformation, &u, sizeof(u.stat), &info), STATUS_SUCCESS);
	TAP_EQ_INT(info, sizeof(u.stat));
	TAP_EQ_INT(u.stat.FileId.QuadPart, st.st_ino);
	TAP_EQ_INT(u.stat.EndOfFile.QuadPart, 100);
	TAP_EQ_INT(u.stat.NumberOfLinks, 2);
	TAP_CHECK(u.stat.EffectiveAccess & FILE_WRITE_DATA);
	TAP_EQ_INT(query(fo, FileIdInformation, &u, sizeof(u.id), &info), STATUS_SUCCESS);
	memcpy(&id, &u.id.FileId, 8);
	TAP_EQ_INT(id, st.st_ino);
	TAP_CHECK(u.id.VolumeSerialNumber != 0);
	TAP_EQ_INT(query(fo, FileCaseSensitiveInformation, &u, sizeof(u.cs), &info),
		   STATUS_SUCCESS);
	TAP_EQ_INT(u.cs.Flags, 0);
	TAP_EQ_INT(query(fo, FileNormalizedNameInformation, &u, sizeof(u), &info), STATUS_SUCCESS);
	TAP_CHECK(wide_eq(u.name.FileName, u.name.FileNameLength, u"\\ic\\f"));
	/* Too small for the fixed part of each class. */
	TAP_EQ_INT(query(fo, FileStatInformation, &u, 8, &info), STATUS_INFO_LENGTH_MISMATCH);
	TAP_EQ_INT(query(fo, FileCaseSensitiveInformation, &u, 2, &info),
		   STATUS_INFO_LENGTH_MISMATCH);
	/* Set: times (0 and -1 leave one alone), allocation up keeps the size, down truncates. */
	memset(&u, 0, sizeof(u));
	u.basic.LastWriteTime.QuadPart = nt_time((struct timespec){1000000000, 500});
	u.basic.LastAccessTime.QuadPart = -1;
	TAP_EQ_INT(set(fo, FileBasicInformation, &u, sizeof(u.basic)), STATUS_SUCCESS);
	{
		struct stat st2;

		TAP_CHECK(stat(bpath("ic/f"), &st2) == 0 && st2.st_mtim.tv_sec == 1000000000 &&
			  st2.st_mtim.tv_nsec == 500 && st2.st_atim.tv_sec == st.st_atim.tv_sec);
	}
	u.alloc.AllocationSize.QuadPart = 65536;
	TAP_EQ_INT(set(fo, FileAllocationInformation, &u, sizeof(u.alloc)), STATUS_SUCCESS);
	TAP_CHECK(stat(bpath("ic/f"), &st) == 0 && st.st_size == 100);
	u.alloc.AllocationSize.QuadPart = 10;
	TAP_EQ_INT(set(fo, FileAllocationInformation, &u, sizeof(u.alloc)), STATUS_SUCCESS);
	TAP_CHECK(stat(bpath("ic/f"), &st) == 0 && st.st_size == 10);
	close_fo(fo);
	/* A directory: case-sensitive, directory attribute. */
	TAP_EQ_INT(
	    open_simple(u"\\ic", FILE_OPEN, FILE_DIRECTORY_FILE, FILE_READ_ATTRIBUTES, &fo, &info),
	    STATUS_SUCCESS);
	TAP_EQ_INT(query(fo, FileCaseSensitiveInformation, &u, sizeof(u.cs), &info),
		   STATUS_SUCCESS);
	TAP_EQ_INT(u.cs.Flags, FILE_CS_FLAG_CASE_SENSITIVE_DIR);
	TAP_EQ_INT(query(fo, FileNetworkOpenInformation, &u, sizeof(u.net), &info), STATUS_SUCCESS);
	TAP_EQ_INT(u.net.FileAttributes, FILE_ATTRIBUTE_DIRECTORY);
	close_fo(fo);
	/* A symlink opened as itself: a reparse point with the WSL tag. */
	TAP_EQ_INT(open_simple(u"\\ic\\l", FILE_OPEN, FILE_OPEN_REPARSE_POINT, FILE_READ_ATTRIBUTES,
			       &fo, &info),
		   STATUS_SUCCESS);
	TAP_EQ_INT(query(fo, FileAttributeTagInformation, &u, sizeof(u.tag), &info),
		   STATUS_SUCCESS);
	TAP_CHECK(u.tag.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT);
	TAP_EQ_INT(u.tag.ReparseTag, IO_REPARSE_TAG_LX_SYMLINK);
	TAP_EQ_INT(query(fo, FileStatInformation, &u, sizeof(u.stat), &info), STATUS_SUCCESS);
	TAP_EQ_INT(u.stat.ReparseTag, IO_REPARSE_TAG_LX_SYMLINK);
	close_fo(fo);
}

/* Every directory class: one entry by pattern, its fields, 8-byte aligned chains. */
static void t_dir_classes(void)
{
	static char buf[4096];
	static const struct {
		FILE_INFORMATION_CLASS cls;
		size_t name_off, len_off, eof_off, id_off, tag_off;
	} classes[] = {
#define DC(c, T, id, tag)                                                                          \
	{c, offsetof(T, FileName), offsetof(T, FileNameLength), offsetof(T, EndOfFile), id, tag}
	    DC(FileDirectoryInformation, FILE_DIRECTORY_INFORMATION, 0, 0),
	    DC(FileFullDirectoryInformation, FILE_FULL_DIR_INFORMATION, 0, 0),
	    DC(FileBothDirectoryInformation, FILE_BOTH_DIR_INFORMATION, 0, 0),
	    DC(FileIdBothDirectoryInformation, FILE_ID_BOTH_DIR_INFORMATION,
	       offsetof(FILE_ID_BOTH_DIR_INFORMATION, FileId), 0),
	    DC(FileIdFullDirectoryInformation, FILE_ID_FULL_DIR_INFORMATION,
	       offsetof(FILE_ID_FULL_DIR_INFORMATION, FileId), 0),
	    DC(FileIdExtdDirectoryInformation, FILE_ID_EXTD_DIR_INFORMATION,
	       offsetof(FILE_ID_EXTD_DIR_INFORMATION, FileId),
	       offsetof(FILE_ID_EXTD_DIR_INFORMATION, ReparsePointTag)),
	    DC(FileIdExtdBothDirectoryInformation, FILE_ID_EXTD_BOTH_DIR_INFORMATION,
	       offsetof(FILE_ID_EXTD_BOTH_DIR_INFORMATION, FileId),
	       offsetof(FILE_ID_EXTD_BOTH_DIR_INFORMATION, ReparsePointTag)),
#undef DC
	    {FileNamesInformation, offsetof(FILE_NAMES_INFORMATION, FileName),
	     offsetof(FILE_NAMES_INFORMATION, FileNameLength), 0, 0, 0},
	};
	PFILE_OBJECT fo;
	ULONG_PTR info;
	struct stat st, lst;
	size_t i;

	TAP_CHECK(mkdir(bpath("dc"), 0755) == 0);
	TAP_CHECK(close(open(bpath("dc/entry.bin"), O_CREAT | O_WRONLY, 0644)) == 0);
	TAP_CHECK(truncate(bpath("dc/entry.bin"), 4321) == 0 &&
		  stat(bpath("dc/entry.bin"), &st) == 0);
	TAP_CHECK(symlink("entry.bin", bpath("dc/link")) == 0 &&
		  lstat(bpath("dc/link"), &lst) == 0);
	TAP_EQ_INT(
	    open_simple(u"\\dc", FILE_OPEN, FILE_DIRECTORY_FILE, FILE_LIST_DIRECTORY, &fo, &info),
	    STATUS_SUCCESS);
	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		ULONG nlen = 0;
		LONGLONG eof = 0;
		uint64_t id = 0;
		ULONG tag = 0, next;
		int n = 0;
		size_t off = 0;
		bool aligned = true;

		memset(buf, 0xcc, sizeof(buf));
		TAP_EQ_INT(query_dir(fo, classes[i].cls, buf, sizeof(buf), u"entry.bin",
				     SL_RESTART_SCAN, &info),
			   STATUS_SUCCESS);
		memcpy(&nlen, buf + classes[i].len_off, 4);
		TAP_EQ_INT(nlen, 18);
		TAP_CHECK(wide_eq((const WCHAR *)(buf + classes[i].name_off), nlen, u"entry.bin"));
		TAP_EQ_INT(info, classes[i].name_off + nlen);
		if (classes[i].eof_off) {
			memcpy(&eof, buf + classes[i].eof_off, 8);
			TAP_EQ_INT(eof, 4321);
		}
		if (classes[i].id_off) {
			memcpy(&id, buf + classes[i].id_off, 8);
			TAP_EQ_INT(id, st.st_ino);
		}
		/* The symlink: its reparse tag where the class has one. */
		TAP_EQ_INT(query_dir(fo, classes[i].cls, buf, sizeof(buf), u"link", SL_RESTART_SCAN,
				     &info),
			   STATUS_SUCCESS);
		if (classes[i].tag_off) {
			memcpy(&tag, buf + classes[i].tag_off, 4);
			TAP_EQ_INT(tag, IO_REPARSE_TAG_LX_SYMLINK);
		}
		if (classes[i].id_off) {
			memcpy(&id, buf + classes[i].id_off, 8);
			TAP_EQ_INT(id, lst.st_ino);
		}
		/* The whole directory: ., .., entry.bin, link; aligned entries. */
		TAP_EQ_INT(
		    query_dir(fo, classes[i].cls, buf, sizeof(buf), NULL, SL_RESTART_SCAN, &info),
		    STATUS_SUCCESS);
		for (;;) {
			n++;
			memcpy(&next, buf + off, 4);
			if (!next)
				break;
			if (next % 8)
				aligned = false;
			off += next;
		}
		TAP_EQ_INT(n, 4);
		TAP_CHECK(aligned);
	}
	close_fo(fo);
}

static void t_set_info(void)
{
	PFILE_OBJECT fo;
	ULONG_PTR info;
	union {
		FILE_END_OF_FILE_INFORMATION eof;
		FILE_DISPOSITION_INFORMATION disp;
		FILE_DISPOSITION_INFORMATION_EX dispx;
		FILE_RENAME_INFORMATION ren;
		FILE_NAME_INFORMATION name;
		char raw[512];
	} u;
	struct stat st;

	TAP_EQ_INT(open_simple(u"\\si.txt", FILE_CREATE, 0, FILE_WRITE_DATA | DELETE, &fo, &info),
		   STATUS_SUCCESS);
	u.eof.EndOfFile.QuadPart = 1234;
	TAP_EQ_INT(set(fo, FileEndOfFileInformation, &u, sizeof(u.eof)), STATUS_SUCCESS);
	TAP_CHECK(stat(bpath("si.txt"), &st) == 0 && st.st_size == 1234);
	/* Rename by a simple name: same directory. */
	memset(&u, 0, sizeof(u));
	u.ren.FileNameLength = 14;
	memcpy(u.ren.FileName, u"si2.txt", 14);
	TAP_EQ_INT(
	    set(fo, FileRenameInformation, &u, offsetof(FILE_RENAME_INFORMATION, FileName) + 14),
	    STATUS_SUCCESS);
	TAP_CHECK(access(bpath("si2.txt"), F_OK) == 0 && access(bpath("si.txt"), F_OK) != 0);
	TAP_EQ_INT(query(fo, FileNameInformation, &u, sizeof(u), &info), STATUS_SUCCESS);
	TAP_CHECK(wide_eq(u.name.FileName, u.name.FileNameLength, u"\\si2.txt"));
	/* Non-POSIX delete: pending until the last cleanup. */
	u.disp.DeleteFile = TRUE;
	TAP_EQ_INT(set(fo, FileDispositionInformation, &u, sizeof(u.disp)), STATUS_SUCCESS);
	TAP_CHECK(access(bpath("si2.txt"), F_OK) == 0);
	close_fo(fo);
	TAP_CHECK(access(bpath("si2.txt"), F_OK) != 0);

	/* Read-only files refuse deletion unless told to ignore it. */
	TAP_CHECK(close(open(bpath("ro.txt"), O_CREAT | O_WRONLY, 0444)) == 0);
	TAP_EQ_INT(open_simple(u"\\ro.txt", FILE_OPEN, 0, DELETE, &fo, &info), STATUS_SUCCESS);
	u.dispx.Flags = FILE_DISPOSITION_DELETE | FILE_DISPOSITION_POSIX_SEMANTICS;
	TAP_EQ_INT(set(fo, FileDispositionInformationEx, &u, sizeof(u.dispx)),
		   STATUS_CANNOT_DELETE);
	u.dispx.Flags |= FILE_DISPOSITION_IGNORE_READONLY_ATTRIBUTE;
	TAP_EQ_INT(set(fo, FileDispositionInformationEx, &u, sizeof(u.dispx)), STATUS_SUCCESS);
	TAP_CHECK(access(bpath("ro.txt"), F_OK) != 0);
	close_fo(fo);

	/* A non-empty directory. */
	TAP_CHECK(mkdir(bpath("ne"), 0755) == 0 &&
		  close(open(bpath("ne/x"), O_CREAT | O_WRONLY, 0644)) == 0);
	TAP_EQ_INT(open_simple(u"\\ne", FILE_OPEN, FILE_DIRECTORY_FILE, DELETE, &fo, &info),
		   STATUS_SUCCESS);
	u.disp.DeleteFile = TRUE;
	TAP_EQ_INT(set(fo, FileDispositionInformation, &u, sizeof(u.disp)),
		   STATUS_DIRECTORY_NOT_EMPTY);
	/* Rename without replacing onto an existing name, then a link. */
	TAP_CHECK(mkdir(bpath("ne2"), 0755) == 0);
	memset(&u, 0, sizeof(u));
	u.ren.FileNameLength = 8;
	memcpy(u.ren.FileName, u"\\ne2", 8);
	TAP_EQ_INT(
	    set(fo, FileRenameInformationEx, &u, offsetof(FILE_RENAME_INFORMATION, FileName) + 8),
	    STATUS_OBJECT_NAME_COLLISION);
	close_fo(fo);
	TAP_EQ_INT(open_simple(u"\\ne\\x", FILE_OPEN, 0, FILE_READ_ATTRIBUTES, &fo, &info),
		   STATUS_SUCCESS);
	memset(&u, 0, sizeof(u));
	u.ren.FileNameLength = 12;
	memcpy(u.ren.FileName, u"\\ne2\\y", 12);
	TAP_EQ_INT(
	    set(fo, FileLinkInformationEx, &u, offsetof(FILE_RENAME_INFORMATION, FileName) + 12),
	    STATUS_SUCCESS);
	TAP_CHECK(stat(bpath("ne2/y"), &st) == 0 && st.st_nlink == 2);
	close_fo(fo);
}

static void t_volume_info(void)
{
	PFILE_OBJECT fo;
	ULONG_PTR info;
	union {
		FILE_FS_ATTRIBUTE_INFORMATION attr;
		FILE_FS_SIZE_INFORMATION size;
		FILE_FS_DEVICE_INFORMATION dev;
		char raw[256];
	} u;
	struct fm_irp irp;
	NTSTATUS st;

	TAP_EQ_INT(open_simple(u"\\", FILE_OPEN, FILE_DIRECTORY_FILE, 0, &fo, &info),
		   STATUS_SUCCESS);
	fm_irp_init(&irp, vol, IRP_MJ_QUERY_VOLUME_INFORMATION, 0, fo, NULL);
	irp.data.Iopb->Parameters.QueryVolumeInformation.Length = sizeof(u);
	irp.data.Iopb->Parameters.QueryVolumeInformation.FsInformationClass =
	    FileFsAttributeInformation;
	irp.data.Iopb->Parameters.QueryVolumeInformation.VolumeBuffer = &u;
	st = fm_irp_dispatch(&irp);
	fm_irp_cleanup(&irp);
	TAP_EQ_INT(st, STATUS_SUCCESS);
	TAP_CHECK(wide_eq(u.attr.FileSystemName, u.attr.FileSystemNameLength, u"NTFS"));
	TAP_CHECK(u.attr.FileSystemAttributes & FILE_CASE_SENSITIVE_SEARCH);
	TAP_CHECK(u.attr.FileSystemAttributes & FILE_SUPPORTS_HARD_LINKS);
	fm_irp_init(&irp, vol, IRP_MJ_QUERY_VOLUME_INFORMATION, 0, fo, NULL);
	irp.data.Iopb->Parameters.QueryVolumeInformation.Length = sizeof(u.size);
	irp.data.Iopb->Parameters.QueryVolumeInformation.FsInformationClass = FileFsSizeInformation;
	irp.data.Iopb->Parameters.QueryVolumeInformation.VolumeBuffer = &u;
	st = fm_irp_dispatch(&irp);
	fm_irp_cleanup(&irp);
	TAP_EQ_INT(st, STATUS_SUCCESS);
	TAP_EQ_INT(u.size.BytesPerSector, 512);
	TAP_CHECK(u.size.TotalAllocationUnits.QuadPart > 0);
	close_fo(fo);
}

static void t_no_escape(void)
{
	PFILE_OBJECT fo;
	ULONG_PTR info;

	/* Symbolic links on the backing side never lead out of the backing directory. */
	TAP_CHECK(symlink("/etc", bpath("abs")) == 0);
	TAP_CHECK(symlink("../..", bpath("up")) == 0);
	TAP_CHECK(open_simple(u"\\abs\\passwd", FILE_OPEN, 0, FILE_READ_DATA, &fo, &info) !=
		  STATUS_SUCCESS);
	TAP_CHECK(open_simple(u"\\up\\etc\\passwd", FILE_OPEN, 0, FILE_READ_DATA, &fo, &info) !=
		  STATUS_SUCCESS);
	/* The link itself opens as a reparse point. */
	TAP_EQ_INT(open_simple(u"\\abs", FILE_OPEN, FILE_OPEN_REPARSE_POINT, FILE_READ_ATTRIBUTES,
			       &fo, &info),
		   STATUS_SUCCESS);
	{
		FILE_ATTRIBUTE_TAG_INFORMATION t;

		TAP_EQ_INT(query(fo, FileAttributeTagInformation, &t, sizeof(t), &info),
			   STATUS_SUCCESS);
		TAP_CHECK(t.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT);
		TAP_EQ_INT(t.ReparseTag, IO_REPARSE_TAG_LX_SYMLINK);
	}
	close_fo(fo);
	{
		/* Opened through a link: the target's stream is not named after the link. */
		char path[PATH_MAX];
		struct fm_stream *s;

		TAP_CHECK(close(open(bpath("real.txt"), O_CREAT | O_WRONLY, 0644)) == 0);
		TAP_CHECK(symlink("real.txt", bpath("alias")) == 0);
		TAP_EQ_INT(open_simple(u"\\alias", FILE_OPEN, 0, FILE_READ_DATA, &fo, &info),
			   STATUS_SUCCESS);
		s = fm_lower_handle_stream(fo);
		TAP_CHECK(fm_lower_stream_path(lower, s, path, sizeof(path)) < 0 ||
			  strcmp(path, "alias") != 0);
		close_fo(fo);
	}
}

/* ---- EAs, reparse points, allocated ranges (operation mapping) --------------------------------- */

static NTSTATUS set_ea(PFILE_OBJECT fo, void *buf, ULONG len)
{
	struct fm_irp irp;
	NTSTATUS st;

	fm_irp_init(&irp, vol, IRP_MJ_SET_EA, 0, fo, NULL);
	irp.data.Iopb->Parameters.SetEa.Length = len;
	irp.data.Iopb->Parameters.SetEa.EaBuffer = buf;
	st = fm_irp_dispatch(&irp);
	fm_irp_cleanup(&irp);
	return st;
}

static NTSTATUS query_ea(PFILE_OBJECT fo, void *list, ULONG llen, UCHAR flags, ULONG index,
			 void *buf, ULONG len, ULONG_PTR *info)
{
	struct fm_irp irp;
	NTSTATUS st;

	fm_irp_init(&irp, vol, IRP_MJ_QUERY_EA, 0, fo, NULL);
	irp.data.Iopb->OperationFlags = flags;
	irp.data.Iopb->Parameters.QueryEa.Length = len;
	irp.data.Iopb->Parameters.QueryEa.EaList = list;
	irp.data.Iopb->Parameters.QueryEa.EaListLength = llen;
	irp.data.Iopb->Parameters.QueryEa.EaIndex = index;
	irp.data.Iopb->Parameters.QueryEa.EaBuffer = buf;
	st = fm_irp_dispatch(&irp);
	*info = irp.data.IoStatus.Information;
	fm_irp_cleanup(&irp);
	return st;
}

static NTSTATUS fsctl(PFILE_OBJECT fo, ULONG code, void *in, ULONG inlen, void *out, ULONG outlen,
		      ULONG_PTR *info)
{
	struct fm_irp irp;
	NTSTATUS st;

	fm_irp_init(&irp, vol, IRP_MJ_FILE_SYSTEM_CONTROL, IRP_MN_USER_FS_REQUEST, fo, NULL);
	irp.data.Iopb->Parameters.FileSystemControl.Common.FsControlCode = code;
	irp.data.Iopb->Parameters.FileSystemControl.Common.InputBufferLength = inlen;
	irp.data.Iopb->Parameters.FileSystemControl.Common.OutputBufferLength = outlen;
	if (code == FSCTL_QUERY_ALLOCATED_RANGES) {
		irp.data.Iopb->Parameters.FileSystemControl.Neither.InputBuffer = in;
		irp.data.Iopb->Parameters.FileSystemControl.Neither.OutputBuffer = out;
	} else {
		irp.data.Iopb->Parameters.FileSystemControl.Buffered.SystemBuffer = in ? in : out;
	}
	st = fm_irp_dispatch(&irp);
	if (info)
		*info = irp.data.IoStatus.Information;
	fm_irp_cleanup(&irp);
	return st;
}

/* One FILE_FULL_EA_INFORMATION at buf+*pos (4-aligned), chained to the previous one. */
static void ea_add(unsigned char *buf, size_t *pos, FILE_FULL_EA_INFORMATION **prev,
		   const char *name, const void *val, USHORT vlen, UCHAR flags)
{
	size_t at = (*pos + 3) & ~(size_t)3, nl = strlen(name);
	FILE_FULL_EA_INFORMATION *ea = (void *)(buf + at);

	memset(ea, 0, offsetof(FILE_FULL_EA_INFORMATION, EaName));
	ea->Flags = flags;
	ea->EaNameLength = (UCHAR)nl;
	ea->EaValueLength = vlen;
	memcpy(ea->EaName, name, nl + 1);
	memcpy(ea->EaName + nl + 1, val, vlen);
	if (*prev)
		(*prev)->NextEntryOffset = (ULONG)((unsigned char *)ea - (unsigned char *)*prev);
	*prev = ea;
	*pos = at + offsetof(FILE_FULL_EA_INFORMATION, EaName) + nl + 1 + vlen;
}

static void t_ea(void)
{
	unsigned char buf[512] __attribute__((aligned(8))), out[512] __attribute__((aligned(8)));
	FILE_FULL_EA_INFORMATION *prev = NULL, *e;
	PFILE_OBJECT fo;
	ULONG_PTR info;
	ULONG mode = 0640, uid = 65534, four = 4;
	size_t pos = 0;
	struct stat st;
	char v[16];

	TAP_EQ_INT(
	    open_simple(u"\\ea.txt", FILE_OPEN_IF, 0, FILE_WRITE_EA | FILE_READ_EA, &fo, &info),
	    STATUS_SUCCESS);
	TAP_EQ_INT(query_ea(fo, NULL, 0, SL_RESTART_SCAN, 0, out, sizeof(out), &info),
		   STATUS_NO_EAS_ON_FILE);
	/* The WSL metadata and two xattrs in one chain. */
	ea_add(buf, &pos, &prev, "user.b", "bee", 3, 0);
	ea_add(buf, &pos, &prev, "$LXUID", &uid, 4, 0);
	ea_add(buf, &pos, &prev, "$LXMOD", &mode, 4, 0);
	ea_add(buf, &pos, &prev, "user.a", "ay", 2, 0);
	TAP_EQ_INT(set_ea(fo, buf, (ULONG)pos), STATUS_SUCCESS);
	TAP_CHECK(stat(bpath("ea.txt"), &st) == 0 && (st.st_mode & 07777) == 0640 &&
		  st.st_uid == 65534);
	TAP_EQ_INT(getxattr(bpath("ea.txt"), "user.b", v, sizeof(v)), 3);
	/* Inconsistent chains change nothing. */
	TAP_EQ_INT(set_ea(fo, buf, (ULONG)pos - 1), STATUS_EA_LIST_INCONSISTENT);
	prev = NULL;
	pos = 0;
	ea_add(buf, &pos, &prev, "$LXMOD", &mode, 2, 0);
	TAP_EQ_INT(set_ea(fo, buf, (ULONG)pos), STATUS_INVALID_PARAMETER);
	prev = NULL;
	pos = 0;
	ea_add(buf, &pos, &prev, "$LXDEV", &four, 4, 0);
	TAP_EQ_INT(set_ea(fo, buf, (ULONG)pos), STATUS_INVALID_PARAMETER);
	/* Create-only and replace-only flags (the front-end's private bits). */
	prev = NULL;
	pos = 0;
	ea_add(buf, &pos, &prev, "user.a", "x", 1, 0x01);
	TAP_EQ_INT(set_ea(fo, buf, (ULONG)pos), STATUS_OBJECT_NAME_COLLISION);
	prev = NULL;
	pos = 0;
	ea_add(buf, &pos, &prev, "user.zz", "x", 1, 0x02);
	TAP_EQ_INT(set_ea(fo, buf, (ULONG)pos), STATUS_NONEXISTENT_EA_ENTRY);
	/* By name: the value; a missing name; the reserved names are never xattrs. */
	{
		unsigned char gl[64] __attribute__((aligned(8)));
		FILE_GET_EA_INFORMATION *g = (void *)gl;

		memset(gl, 0, sizeof(gl));
		g->EaNameLength = 6;
		memcpy(g->EaName, "user.b", 7);
		TAP_EQ_INT(query_ea(fo, gl, 16, SL_RETURN_SINGLE_ENTRY, 0, out, sizeof(out), &info),
			   STATUS_SUCCESS);
		e = (void *)out;
		TAP_CHECK(e->EaValueLength == 3 && !memcmp(e->EaName + 7, "bee", 3));
		TAP_EQ_INT(query_ea(fo, gl, 16, 0, 0, out, 12, &info), STATUS_BUFFER_TOO_SMALL);
		memcpy(g->EaName, "user.q", 7);
		TAP_EQ_INT(query_ea(fo, gl, 16, 0, 0, out, sizeof(out), &info),
			   STATUS_NONEXISTENT_EA_ENTRY);
		memcpy(g->EaName, "$LXMOD", 7);
		TAP_EQ_INT(query_ea(fo, gl, 16, 0, 0, out, sizeof(out), &info),
			   STATUS_NONEXISTENT_EA_ENTRY);
	}
	/* Enumeration: one at a time, then the end; restart; index. */
	TAP_EQ_INT(query_ea(fo, NULL, 0, SL_RESTART_SCAN | SL_RETURN_SINGLE_ENTRY, 0, out,
			    sizeof(out), &info),
		   STATUS_SUCCESS);
	TAP_EQ_INT(query_ea(fo, NULL, 0, SL_RETURN_SINGLE_ENTRY, 0, out, sizeof(out), &info),
		   STATUS_SUCCESS);
	TAP_EQ_INT(query_ea(fo, NULL, 0, 0, 0, out, sizeof(out), &info), STATUS_NO_MORE_EAS);
	TAP_EQ_INT(query_ea(fo, NULL, 0, SL_RESTART_SCAN, 0, out, 24, &info),
		   STATUS_BUFFER_OVERFLOW);
	TAP_CHECK(info > 0 && info <= 24);
	TAP_EQ_INT(query_ea(fo, NULL, 0, SL_INDEX_SPECIFIED, 2, out, sizeof(out), &info),
		   STATUS_SUCCESS);
	e = (void *)out;
	TAP_CHECK(e->NextEntryOffset == 0);
	/* A zero-length value deletes; deleting again: no such EA. */
	prev = NULL;
	pos = 0;
	ea_add(buf, &pos, &prev, "user.a", "", 0, 0);
	TAP_EQ_INT(set_ea(fo, buf, (ULONG)pos), STATUS_SUCCESS);
	TAP_EQ_INT(set_ea(fo, buf, (ULONG)pos), STATUS_NONEXISTENT_EA_ENTRY);
	close_fo(fo);
}

static void t_reparse(void)
{
	unsigned char buf[256] __attribute__((aligned(8)));
	REPARSE_DATA_BUFFER *rb = (void *)buf;
	PFILE_OBJECT fo;
	ULONG_PTR info;
	ULONG version = 2;
	struct stat st;
	char t[64];

	TAP_EQ_INT(open_simple(u"\\plain", FILE_OPEN_IF, FILE_NON_DIRECTORY_FILE,
			       FILE_READ_DATA | FILE_WRITE_DATA, &fo, &info),
		   STATUS_SUCCESS);
	TAP_EQ_INT(fsctl(fo, FSCTL_GET_REPARSE_POINT, NULL, 0, buf, sizeof(buf), &info),
		   STATUS_NOT_A_REPARSE_POINT);
	TAP_EQ_INT(rw(fo, IRP_MJ_WRITE, "data", 4, 0, &info), STATUS_SUCCESS);
	memset(buf, 0, sizeof(buf));
	rb->ReparseTag = IO_REPARSE_TAG_LX_FIFO;
	/* Not an empty file: refused. */
	TAP_EQ_INT(fsctl(fo, FSCTL_SET_REPARSE_POINT, buf, 8, NULL, 0, NULL),
		   STATUS_IO_REPARSE_DATA_INVALID);
	rb->ReparseTag = 0x9000001a; /* a tag this volume cannot keep */
	TAP_EQ_INT(fsctl(fo, FSCTL_SET_REPARSE_POINT, buf, 8, NULL, 0, NULL),
		   STATUS_IO_REPARSE_TAG_INVALID);
	TAP_EQ_INT(fsctl(fo, 0x00090000, NULL, 0, NULL, 0, NULL), STATUS_INVALID_DEVICE_REQUEST);
	close_fo(fo);

	/* An empty file becomes a symlink; the handle and its queries follow. */
	TAP_EQ_INT(open_simple(u"\\newlink", FILE_CREATE,
			       FILE_NON_DIRECTORY_FILE | FILE_OPEN_REPARSE_POINT,
			       FILE_WRITE_ATTRIBUTES, &fo, &info),
		   STATUS_SUCCESS);
	memset(buf, 0, sizeof(buf));
	rb->ReparseTag = IO_REPARSE_TAG_LX_SYMLINK;
	rb->ReparseDataLength = 4 + 6;
	memcpy(buf + 8, &version, 4);
	memcpy(buf + 12, "target", 6);
	TAP_EQ_INT(fsctl(fo, FSCTL_SET_REPARSE_POINT, buf, 8 + 4 + 5, NULL, 0, NULL),
		   STATUS_IO_REPARSE_DATA_INVALID);
	TAP_EQ_INT(fsctl(fo, FSCTL_SET_REPARSE_POINT, buf, 8 + 4 + 6, NULL, 0, NULL),
		   STATUS_SUCCESS);
	memset(t, 0, sizeof(t));
	TAP_EQ_INT(readlink(bpath("newlink"), t, sizeof(t)), 6);
	TAP_EQ_STR(t, "target");
	memset(buf, 0, sizeof(buf));
	TAP_EQ_INT(fsctl(fo, FSCTL_GET_REPARSE_POINT, NULL, 0, buf, sizeof(buf), &info),
		   STATUS_SUCCESS);
	TAP_EQ_INT(info, 8 + 4 + 6);
	TAP_EQ_INT(rb->ReparseTag, IO_REPARSE_TAG_LX_SYMLINK);
	TAP_CHECK(!memcmp(buf + 12, "target", 6));
	TAP_EQ_INT(fsctl(fo, FSCTL_GET_REPARSE_POINT, NULL, 0, buf, 12, &info),
		   STATUS_BUFFER_OVERFLOW);
	TAP_EQ_INT(fsctl(fo, FSCTL_GET_REPARSE_POINT, NULL, 0, buf, 4, &info),
		   STATUS_BUFFER_TOO_SMALL);
	{
		FILE_ATTRIBUTE_TAG_INFORMATION at;

		TAP_EQ_INT(query(fo, FileAttributeTagInformation, &at, sizeof(at), NULL),
			   STATUS_SUCCESS);
		TAP_EQ_INT(at.ReparseTag, IO_REPARSE_TAG_LX_SYMLINK);
		TAP_CHECK(at.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT);
	}
	close_fo(fo);
	/* No temporary name is left behind. */
	{
		DIR *d = opendir(dir);
		struct dirent *de;
		bool tmp = false;

		while (d && (de = readdir(d)))
			if (!strncmp(de->d_name, ".fm-reparse", 11))
				tmp = true;
		if (d)
			closedir(d);
		TAP_CHECK(!tmp);
	}
	/* A FIFO, made the same way. */
	TAP_EQ_INT(open_simple(u"\\newfifo", FILE_CREATE,
			       FILE_NON_DIRECTORY_FILE | FILE_OPEN_REPARSE_POINT,
			       FILE_WRITE_ATTRIBUTES, &fo, &info),
		   STATUS_SUCCESS);
	memset(buf, 0, sizeof(buf));
	rb->ReparseTag = IO_REPARSE_TAG_LX_FIFO;
	TAP_EQ_INT(fsctl(fo, FSCTL_SET_REPARSE_POINT, buf, 8, NULL, 0, NULL), STATUS_SUCCESS);
	close_fo(fo);
	TAP_CHECK(lstat(bpath("newfifo"), &st) == 0 && S_ISFIFO(st.st_mode));
}

static void t_ranges(void)
{
	FILE_ALLOCATED_RANGE_BUFFER in, out[4];
	FILE_ZERO_DATA_INFORMATION z;
	PFILE_OBJECT fo;
	ULONG_PTR info;
	char b[8];

	TAP_EQ_INT(open_simple(u"\\sparse", FILE_OVERWRITE_IF, FILE_NON_DIRECTORY_FILE,
			       FILE_READ_DATA | FILE_WRITE_DATA, &fo, &info),
		   STATUS_SUCCESS);
	TAP_EQ_INT(rw(fo, IRP_MJ_WRITE, "a", 1, 0, &info), STATUS_SUCCESS);
	TAP_EQ_INT(rw(fo, IRP_MJ_WRITE, "b", 1, 8 << 20, &info), STATUS_SUCCESS);
	in.FileOffset.QuadPart = 0;
	in.Length.QuadPart = 16 << 20;
	TAP_EQ_INT(
	    fsctl(fo, FSCTL_QUERY_ALLOCATED_RANGES, &in, sizeof(in), out, sizeof(out), &info),
	    STATUS_SUCCESS);
	TAP_EQ_INT(info, 2 * sizeof(out[0]));
	TAP_CHECK(out[0].FileOffset.QuadPart == 0 && out[1].FileOffset.QuadPart <= (8 << 20) &&
		  out[1].FileOffset.QuadPart + out[1].Length.QuadPart == (8 << 20) + 1);
	TAP_EQ_INT(
	    fsctl(fo, FSCTL_QUERY_ALLOCATED_RANGES, &in, sizeof(in), out, sizeof(out[0]), &info),
	    STATUS_BUFFER_OVERFLOW);
	TAP_EQ_INT(info, sizeof(out[0]));
	z.FileOffset.QuadPart = 0;
	z.BeyondFinalZero.QuadPart = 4096;
	TAP_EQ_INT(fsctl(fo, FSCTL_SET_ZERO_DATA, &z, sizeof(z), NULL, 0, NULL), STATUS_SUCCESS);
	TAP_EQ_INT(rw(fo, IRP_MJ_READ, b, 1, 0, &info), STATUS_SUCCESS);
	TAP_EQ_INT(b[0], 0);
	z.BeyondFinalZero.QuadPart = -1;
	TAP_EQ_INT(fsctl(fo, FSCTL_SET_ZERO_DATA, &z, sizeof(z), NULL, 0, NULL),
		   STATUS_INVALID_PARAMETER);
	close_fo(fo);
	TAP_EQ_INT(open_simple(u"\\sparse", FILE_OPEN, 0, FILE_READ_DATA, &fo, &info),
		   STATUS_SUCCESS);
	z.BeyondFinalZero.QuadPart = 10;
	TAP_EQ_INT(fsctl(fo, FSCTL_SET_ZERO_DATA, &z, sizeof(z), NULL, 0, NULL),
		   STATUS_ACCESS_DENIED);
	close_fo(fo);
}

int main(void)
{
	struct fm_volume_params p;
	char cmd[128];
	int fd, r;

	snprintf(dir, sizeof(dir), "/tmp/fm-lower-XXXXXX");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	r = fm_reg_init(NULL);
	if (r == 0)
		r = fm_core_init();
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r == 0)
		r = fm_lower_create(fd, &lower);
	memset(&p, 0, sizeof(p));
	p.mount_point = dir;
	p.backing_dir = dir;
	p.backing_fs = "tmpfs";
	p.fs_type = FLT_FSTYPE_NTFS;
	p.sector_size = 512;
	p.lower = &fm_lowerfs_ops;
	p.lower_ctx = lower;
	if (r == 0)
		r = fm_volume_create(&p, &vol);
	if (r < 0) {
		printf("Bail out! setup: %s\n", strerror(-r));
		return 1;
	}
	TAP_RUN(t_create_dispositions);
	TAP_RUN(t_read_write);
	TAP_RUN(t_query_info);
	TAP_RUN(t_query_dir);
	TAP_RUN(t_set_info);
	TAP_RUN(t_info_classes);
	TAP_RUN(t_dir_classes);
	TAP_RUN(t_volume_info);
	TAP_RUN(t_no_escape);
	TAP_RUN(t_ea);
	TAP_RUN(t_reparse);
	TAP_RUN(t_ranges);
	fm_volume_destroy(vol);
	fm_lower_destroy(lower);
	fm_core_shutdown();
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
