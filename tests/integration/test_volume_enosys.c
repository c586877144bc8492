/* Integration: a filter's STATUS_NOT_IMPLEMENTED fails one request, not that request type forever. */
#include "core/core.h"
#include "core/registry.h"
#include "volume/volume.h"

#include "vol_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

/*
 * The Linux kernel remembers a FUSE server's ENOSYS for fallocate, lseek, the xattr calls and
 * others, and never sends that request again on the mount (lseek then answers SEEK_DATA /
 * SEEK_HOLE as if the file had no holes).  A filter that completes one request with
 * STATUS_NOT_IMPLEMENTED must only fail that request: the volume answers EOPNOTSUPP instead
 * (docs/status-errno.md).  The built-in filter fails FSCTL_SET_ZERO_DATA,
 * FSCTL_QUERY_ALLOCATED_RANGES and IRP_MJ_QUERY_EA on files whose name contains "nosys".
 */

static PFLT_FILTER filter;
static char base[64], volpath[128];
static struct fm_vol *vol;

static bool is_nosys(PFILE_OBJECT fo)
{
	size_t n = fo ? fo->FileName.Length / sizeof(WCHAR) : 0, i;

	for (i = 0; i + 5 <= n; i++)
		if (fo->FileName.Buffer[i] == 'n' && fo->FileName.Buffer[i + 1] == 'o' &&
		    fo->FileName.Buffer[i + 2] == 's' && fo->FileName.Buffer[i + 3] == 'y' &&
		    fo->FileName.Buffer[i + 4] == 's')
			return true;
	return false;
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI pre(PFLT_CALLBACK_DATA data, PCFLT_RELATED_OBJECTS objs,
					    PVOID *ctx)
{
	PFLT_IO_PARAMETER_BLOCK iopb = data->Iopb;
	bool fail = false;

	*ctx = NULL;
	if (!is_nosys(objs->FileObject))
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	if (iopb->MajorFunction == IRP_MJ_QUERY_EA)
		fail = true;
	if (iopb->MajorFunction == IRP_MJ_FILE_SYSTEM_CONTROL) {
		ULONG code = iopb->Parameters.FileSystemControl.Common.FsControlCode;

		fail = code == FSCTL_SET_ZERO_DATA || code == FSCTL_QUERY_ALLOCATED_RANGES;
	}
	if (!fail)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	data->IoStatus.Status = STATUS_NOT_IMPLEMENTED;
	data->IoStatus.Information = 0;
	return FLT_PREOP_COMPLETE;
}

static NTSTATUS FLTAPI f_unload(FLT_FILTER_UNLOAD_FLAGS flags)
{
	(void)flags;
	FltUnregisterFilter(filter);
	return STATUS_SUCCESS;
}

static const FLT_OPERATION_REGISTRATION f_ops[] = {
    {IRP_MJ_QUERY_EA, 0, pre, NULL, NULL},
    {IRP_MJ_FILE_SYSTEM_CONTROL, 0, pre, NULL, NULL},
    {IRP_MJ_OPERATION_END, 0, NULL, NULL, NULL},
};

static FLT_REGISTRATION f_reg = {
    sizeof(FLT_REGISTRATION),
    FLT_REGISTRATION_VERSION,
    0,
    NULL,
    f_ops,
    f_unload,
    NULL,
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

/* The child's checks, one bit each in its exit status. */
static int child_main(void)
{
	char buf[16];
	int a, b, errs = 0;

	if (chdir(volpath) < 0)
		return 255;
	a = open("nosys.bin", O_RDWR | O_CREAT, 0644);
	b = open("plain.bin", O_RDWR | O_CREAT, 0644);
	if (a < 0 || b < 0 || pwrite(a, "x", 1, 1 << 20) != 1 || pwrite(b, "x", 1, 1 << 20) != 1)
		return 254;
	/* fallocate: failed once, then still sent (a hole punched in the other file). */
	if (fallocate(a, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096) == 0 ||
	    errno != EOPNOTSUPP)
		errs |= 1;
	if (fallocate(b, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096) != 0)
		errs |= 2;
	/* lseek SEEK_DATA: the other file still has its hole (not "all data"). */
	if (lseek(a, 0, SEEK_DATA) >= 0 || errno != EOPNOTSUPP)
		errs |= 4;
	if (lseek(b, 0, SEEK_DATA) <= 0)
		errs |= 8;
	/* getxattr: the other file's attribute is still read. */
	if (fsetxattr(b, "user.k", "v", 1, 0) != 0)
		errs |= 16;
	if (getxattr("nosys.bin", "user.k", buf, sizeof(buf)) >= 0 || errno != EOPNOTSUPP)
		errs |= 32;
	if (getxattr("plain.bin", "user.k", buf, sizeof(buf)) != 1)
		errs |= 64;
	close(a);
	close(b);
	return errs;
}

static void t_not_implemented_once(void)
{
	vf_check_child(child_main, 20);
}

int main(void)
{
	int r = vf_begin("not implemented once", "enosys", 60, base, sizeof(base), volpath,
			 sizeof(volpath));

	if (r)
		return r > 0 ? tap_done() : 1;
	if (vf_load("enosystest", "370000", f_entry) < 0 || vf_mount(volpath, &vol) < 0)
		return 1;
	TAP_RUN(t_not_implemented_once);
	vf_end(vol, base);
	return tap_done();
}
