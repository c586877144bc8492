/* Integration: a minifilter on a FUSE volume sees the IRPs of POSIX calls and changes what they get. */
#include "core/core.h"
#include "core/registry.h"
#include "volume/volume.h"

#include "vol_fixture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * The filter (built into this program, loaded with fm_filter_load_builtin) denies creates of
 * names containing "deny", hides directory entries starting with "hidden" in its
 * IRP_MJ_DIRECTORY_CONTROL post-operation, and counts what it sees.  A forked child does the
 * POSIX calls on the mounted volume; the filter's counters live in this process.
 */

static PFLT_FILTER filter;
static atomic_int n_create, n_write, n_read, n_rename, n_delete, n_dirq, n_cleanup, n_close;
static atomic_int n_hidden, n_ctx_alloc, n_ctx_set, n_ctx_cleanup;
static char base[64], volpath[128];
static struct fm_vol *vol;

static bool name_has(PCUNICODE_STRING s, const char *needle)
{
	size_t n = s->Length / sizeof(WCHAR), m = strlen(needle), i, j;

	for (i = 0; i + m <= n; i++) {
		for (j = 0; j < m && s->Buffer[i + j] == (WCHAR)needle[j]; j++)
			;
		if (j == m)
			return true;
	}
	return false;
}

/*
 * Create redirection, as redirecting filters do it: "redir-src" -> "\redir-dst" (volume
 * relative), "redir-abs" -> "\Device\HarddiskVolumeN\redir-dst", "redir-loop" -> itself
 * forever, "redir-other" -> another device; each by IoReplaceFileObjectName and
 * STATUS_REPARSE / IO_REPARSE.
 */
static atomic_int n_redirects;

static FLT_PREOP_CALLBACK_STATUS redirect(PFLT_CALLBACK_DATA data, PCFLT_RELATED_OBJECTS objs)
{
	PFILE_OBJECT fo = data->Iopb->TargetFileObject;
	WCHAR buf[128], vbuf[64];
	UNICODE_STRING vname = {0, sizeof(vbuf), vbuf};
	const char *to = NULL;
	USHORT n = 0;
	size_t i;

	if (name_has(&fo->FileName, "redir-src"))
		to = "\\redir-dst";
	else if (name_has(&fo->FileName, "redir-abs") &&
		 NT_SUCCESS(FltGetVolumeName(objs->Volume, &vname, NULL))) {
		memcpy(buf, vbuf, vname.Length);
		n = vname.Length / sizeof(WCHAR);
		to = "\\redir-dst";
	} else if (name_has(&fo->FileName, "redir-loop"))
		to = "\\redir-loop";
	else if (name_has(&fo->FileName, "redir-other"))
		to = "\\Device\\HarddiskVolume999\\x";
	if (!to)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	for (i = 0; to[i]; i++)
		buf[n++] = (WCHAR)to[i];
	if (!NT_SUCCESS(IoReplaceFileObjectName(fo, buf, (USHORT)(n * sizeof(WCHAR)))))
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	atomic_fetch_add(&n_redirects, 1);
	data->IoStatus.Status = STATUS_REPARSE;
	data->IoStatus.Information = IO_REPARSE;
	return FLT_PREOP_COMPLETE;
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI pre_create(PFLT_CALLBACK_DATA data,
						   PCFLT_RELATED_OBJECTS objs, PVOID *ctx)
{
	(void)objs;
	*ctx = NULL;
	atomic_fetch_add(&n_create, 1);
	if (name_has(&data->Iopb->TargetFileObject->FileName, "redir-"))
		return redirect(data, objs);
	if (name_has(&data->Iopb->TargetFileObject->FileName, "deny")) {
		data->IoStatus.Status = STATUS_ACCESS_DENIED;
		data->IoStatus.Information = 0;
		return FLT_PREOP_COMPLETE;
	}
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

/*
 * Every opened stream gets a stream context (a later open keeps the first one); each context
 * allocated must be cleaned up exactly once, set or not.
 */
static FLT_POSTOP_CALLBACK_STATUS FLTAPI post_create(PFLT_CALLBACK_DATA data,
						     PCFLT_RELATED_OBJECTS objs, PVOID ctx,
						     FLT_POST_OPERATION_FLAGS flags)
{
	PFLT_CONTEXT sc = NULL;
	NTSTATUS st;

	(void)ctx;
	if ((flags & FLTFL_POST_OPERATION_DRAINING) || !NT_SUCCESS(data->IoStatus.Status))
		return FLT_POSTOP_FINISHED_PROCESSING;
	if (!NT_SUCCESS(
		FltAllocateContext(objs->Filter, FLT_STREAM_CONTEXT, 16, NonPagedPool, &sc)))
		return FLT_POSTOP_FINISHED_PROCESSING;
	atomic_fetch_add(&n_ctx_alloc, 1);
	st = FltSetStreamContext(objs->Instance, objs->FileObject, FLT_SET_CONTEXT_KEEP_IF_EXISTS,
				 sc, NULL);
	if (NT_SUCCESS(st))
		atomic_fetch_add(&n_ctx_set, 1);
	FltReleaseContext(sc);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static VOID FLTAPI ctx_cleanup(PFLT_CONTEXT ctx, FLT_CONTEXT_TYPE type)
{
	(void)ctx;
	(void)type;
	atomic_fetch_add(&n_ctx_cleanup, 1);
}

static const FLT_CONTEXT_REGISTRATION f_ctx[] = {
    {FLT_STREAM_CONTEXT, 0, ctx_cleanup, 16, 'tsEV', NULL, NULL, NULL},
    {FLT_CONTEXT_END, 0, NULL, 0, 0, NULL, NULL, NULL},
};

static FLT_PREOP_CALLBACK_STATUS FLTAPI pre_count(PFLT_CALLBACK_DATA data,
						  PCFLT_RELATED_OBJECTS objs, PVOID *ctx)
{
	(void)objs;
	*ctx = NULL;
	switch (data->Iopb->MajorFunction) {
	case IRP_MJ_WRITE:
		atomic_fetch_add(&n_write, 1);
		break;
	case IRP_MJ_READ:
		atomic_fetch_add(&n_read, 1);
		break;
	case IRP_MJ_CLEANUP:
		atomic_fetch_add(&n_cleanup, 1);
		break;
	case IRP_MJ_CLOSE:
		atomic_fetch_add(&n_close, 1);
		break;
	case IRP_MJ_SET_INFORMATION:
		switch (data->Iopb->Parameters.SetFileInformation.FileInformationClass) {
		case FileRenameInformationEx:
			atomic_fetch_add(&n_rename, 1);
			break;
		case FileDispositionInformationEx:
			atomic_fetch_add(&n_delete, 1);
			break;
		default:
			break;
		}
		break;
	default:
		break;
	}
	return FLT_PREOP_SUCCESS_NO_CALLBACK;
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI pre_dir(PFLT_CALLBACK_DATA data, PCFLT_RELATED_OBJECTS objs,
						PVOID *ctx)
{
	(void)objs;
	(void)data;
	*ctx = NULL;
	atomic_fetch_add(&n_dirq, 1);
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

/* Unlink every entry whose name starts with "hidden" from a FileIdExtdDirectoryInformation list. */
static FLT_POSTOP_CALLBACK_STATUS FLTAPI post_dir(PFLT_CALLBACK_DATA data,
						  PCFLT_RELATED_OBJECTS objs, PVOID ctx,
						  FLT_POST_OPERATION_FLAGS flags)
{
	PFLT_PARAMETERS p = &data->Iopb->Parameters;
	PFILE_ID_EXTD_DIR_INFORMATION e, prev = NULL;
	char *buf = p->DirectoryControl.QueryDirectory.DirectoryBuffer;

	(void)objs;
	(void)ctx;
	if ((flags & FLTFL_POST_OPERATION_DRAINING) || !NT_SUCCESS(data->IoStatus.Status) ||
	    p->DirectoryControl.QueryDirectory.FileInformationClass !=
		FileIdExtdDirectoryInformation ||
	    !buf)
		return FLT_POSTOP_FINISHED_PROCESSING;
	e = (PFILE_ID_EXTD_DIR_INFORMATION)buf;
	for (;;) {
		ULONG next = e->NextEntryOffset;
		bool hide = e->FileNameLength >= 12 && e->FileName[0] == 'h' &&
			    e->FileName[1] == 'i' && e->FileName[2] == 'd' &&
			    e->FileName[3] == 'd' && e->FileName[4] == 'e' && e->FileName[5] == 'n';

		if (hide) {
			atomic_fetch_add(&n_hidden, 1);
			if (prev) {
				prev->NextEntryOffset = next ? prev->NextEntryOffset + next : 0;
			} else if (next) {
				/* First entry: pull the rest of the list forward. */
				ULONG_PTR used = data->IoStatus.Information;

				memmove(buf, buf + next, used - next);
				data->IoStatus.Information = used - next;
				continue;
			} else {
				data->IoStatus.Information = 0;
				data->IoStatus.Status = STATUS_NO_MORE_FILES;
				break;
			}
		} else {
			prev = e;
		}
		if (!next)
			break;
		e = (PFILE_ID_EXTD_DIR_INFORMATION)((char *)e + next);
	}
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static NTSTATUS FLTAPI f_unload(FLT_FILTER_UNLOAD_FLAGS flags)
{
	(void)flags;
	FltUnregisterFilter(filter);
	return STATUS_SUCCESS;
}

static NTSTATUS FLTAPI f_setup(PCFLT_RELATED_OBJECTS objs, FLT_INSTANCE_SETUP_FLAGS flags,
			       DEVICE_TYPE devtype, FLT_FILESYSTEM_TYPE fstype)
{
	(void)objs;
	(void)flags;
	(void)devtype;
	return fstype == FLT_FSTYPE_NTFS ? STATUS_SUCCESS : STATUS_FLT_DO_NOT_ATTACH;
}

static const FLT_OPERATION_REGISTRATION f_ops[] = {
    {IRP_MJ_CREATE, 0, pre_create, post_create, NULL},
    {IRP_MJ_READ, 0, pre_count, NULL, NULL},
    {IRP_MJ_WRITE, 0, pre_count, NULL, NULL},
    {IRP_MJ_SET_INFORMATION, 0, pre_count, NULL, NULL},
    {IRP_MJ_CLEANUP, 0, pre_count, NULL, NULL},
    {IRP_MJ_CLOSE, 0, pre_count, NULL, NULL},
    {IRP_MJ_DIRECTORY_CONTROL, 0, pre_dir, post_dir, NULL},
    {IRP_MJ_OPERATION_END, 0, NULL, NULL, NULL},
};

static FLT_REGISTRATION f_reg = {
    sizeof(FLT_REGISTRATION),
    FLT_REGISTRATION_VERSION,
    0,
    f_ctx,
    f_ops,
    f_unload,
    f_setup,
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

static NTSTATUS FLTAPI f_entry(PDRIVER_OBJECT drv, PUNICODE_STRING regpath)
{
	(void)regpath;
	return fx_register_and_start(drv, &f_reg, &filter);
}

/* ---- what the child does ------------------------------------------------------------------- */

static int child_main(void)
{
	char buf[64];
	int fd, errs = 0;
	DIR *d;
	struct dirent *e;
	bool saw_visible = false, saw_hidden = false;

	if (chdir(volpath) < 0)
		return 100;
	fd = open("deny-me", O_WRONLY | O_CREAT, 0644);
	if (fd >= 0 || errno != EACCES)
		errs |= 1;
	fd = open("visible.txt", O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		return 101;
	if (write(fd, "a", 1) != 1 || write(fd, "b", 1) != 1 || write(fd, "c", 1) != 1)
		errs |= 2;
	if (pread(fd, buf, sizeof(buf), 0) != 3)
		errs |= 4;
	close(fd);
	fd = open("hidden-one", O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		errs |= 8;
	else
		close(fd);
	d = opendir(".");
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, "visible.txt"))
			saw_visible = true;
		if (!strcmp(e->d_name, "hidden-one"))
			saw_hidden = true;
	}
	if (d)
		closedir(d);
	if (!saw_visible || saw_hidden)
		errs |= 16;
	/* Hidden from listings, still there by name. */
	if (access("hidden-one", F_OK) != 0)
		errs |= 32;
	if (rename("visible.txt", "renamed.txt") != 0)
		errs |= 64;
	if (unlink("renamed.txt") != 0)
		errs |= 128;
	/* Redirection (the sources were made before the mount: the kernel looks names up
	 * first); every open lands on redir-dst.  Exit codes 240+ say which check failed. */
	fd = open("redir-src", O_RDONLY);
	if (fd < 0 || read(fd, buf, 4) != 4 || memcmp(buf, "dst\n", 4))
		return 240;
	close(fd);
	fd = open("redir-abs", O_RDONLY);
	if (fd < 0 || read(fd, buf, 4) != 4 || memcmp(buf, "dst\n", 4))
		return 241;
	close(fd);
	fd = open("redir-loop", O_RDONLY);
	if (fd >= 0 || errno != ELOOP)
		return 242;
	fd = open("redir-other", O_RDONLY);
	if (fd >= 0 || errno != EXDEV)
		return 243;
	return errs;
}

static int run_child(void)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		alarm(20);
		_exit(child_main());
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
}

static void t_filtered_ops(void)
{
	int r = run_child();

	TAP_EQ_INT(r, 0);
	TAP_CHECK(atomic_load(&n_create) >= 4);
	TAP_EQ_INT(atomic_load(&n_write), 3);
	TAP_CHECK(atomic_load(&n_read) >= 1);
	TAP_EQ_INT(atomic_load(&n_rename), 1);
	TAP_EQ_INT(atomic_load(&n_delete), 1);
	/* 2 redirections, 33 for the loop (32 restarts, then ELOOP), 1 to another device. */
	TAP_EQ_INT(atomic_load(&n_redirects), 36);
	printf("# redirects=%d\n", atomic_load(&n_redirects));
	TAP_CHECK(atomic_load(&n_dirq) >= 1);
	TAP_CHECK(atomic_load(&n_hidden) >= 1);
	TAP_CHECK(atomic_load(&n_cleanup) >= 3);
	TAP_CHECK(atomic_load(&n_close) >= 3);
	printf("# creates=%d writes=%d reads=%d dirq=%d cleanup=%d close=%d\n",
	       atomic_load(&n_create), atomic_load(&n_write), atomic_load(&n_read),
	       atomic_load(&n_dirq), atomic_load(&n_cleanup), atomic_load(&n_close));
}

static void t_backing_untouched_by_hiding(void)
{
	char p[256];
	struct stat st;

	fm_vol_unmount(vol);
	vol = NULL;
	snprintf(p, sizeof(p), "%s/hidden-one", volpath);
	TAP_CHECK(stat(p, &st) == 0);
	snprintf(p, sizeof(p), "%s/deny-me", volpath);
	TAP_CHECK(stat(p, &st) != 0);
	snprintf(p, sizeof(p), "%s/renamed.txt", volpath);
	TAP_CHECK(stat(p, &st) != 0);
	/* Streams freed by the lower or torn down with the instance: every context cleaned. */
	TAP_CHECK(atomic_load(&n_ctx_set) > 0);
	TAP_EQ_INT(atomic_load(&n_ctx_cleanup), atomic_load(&n_ctx_alloc));
}

int main(void)
{
	int r =
	    vf_begin("filtered volume", "fvol", 60, base, sizeof(base), volpath, sizeof(volpath));

	if (r)
		return r > 0 ? tap_done() : 1;
	if (vf_load("fvtest", "370000", f_entry) < 0)
		return 1;
	{
		static const char *const files[][2] = {{"redir-src", "src\n"},
						       {"redir-abs", "src\n"},
						       {"redir-dst", "dst\n"},
						       {"redir-loop", "l\n"},
						       {"redir-other", "o\n"}};
		size_t i;

		for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			char p[256];
			FILE *f;

			snprintf(p, sizeof(p), "%s/%s", volpath, files[i][0]);
			f = fopen(p, "w");
			if (f) {
				fputs(files[i][1], f);
				fclose(f);
			}
		}
	}
	if (vf_mount(volpath, &vol) < 0)
		return 1;
	TAP_RUN(t_filtered_ops);
	TAP_RUN(t_backing_untouched_by_hiding);
	vf_end(NULL, base);
	return tap_done();
}
