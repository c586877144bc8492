/*
 * Unit tests of the routines of issue #3 (room ntio): ECPs, EA / FSCTL / security I/O, reparse
 * tags, enumeration information, device objects, Zw* file routines.  Three filters (top, mid,
 * low) over the real lower file system on a temporary directory.
 */
#include "core/core_i.h"
#include "core/registry.h"
#include "common/secdesc.h"
#include "volume/lowerfs.h"
#include "common/log.h"

#include "core_fixture.h"
#include "tap.h"

#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

enum { TOP, MID, LOW, NF };
static const char *const svc[NF] = {"ntiotop", "ntiomid", "ntiolow"};
static const char *const alt[NF] = {"330000", "230000", "130000"};

/* {5b0c4f47-6f0e-4a31-9d2c-3a1f0e6b7c11} */
static const GUID ecp_guid = {
    0x5b0c4f47, 0x6f0e, 0x4a31, {0x9d, 0x2c, 0x3a, 0x1f, 0x0e, 0x6b, 0x7c, 0x11}};
static const GUID ecp_guid2 = {
    0x5b0c4f48, 0x6f0e, 0x4a31, {0x9d, 0x2c, 0x3a, 0x1f, 0x0e, 0x6b, 0x7c, 0x11}};

struct tf {
	PFLT_FILTER filter;
	PFLT_INSTANCE inst;
	int pre[FM_NMAJOR];
	/* ECPs its pre-create found: the list, and the context of ecp_guid (acknowledged). */
	int creates_with_ecps;
	char ecp_seen[32];
	bool set_ecps; /* mid: FltSetEcpListIntoCallbackData on creates of processes */
	PECP_LIST own_list;
	NTSTATUS set_status;
};

static struct tf F[NF];
static struct fm_volume *vol;
static struct fm_lower *lw;
static char rdir[128];
static int cleanups;

static int tf_index(PCFLT_RELATED_OBJECTS o)
{
	for (int i = 0; i < NF; i++)
		if (F[i].filter == o->Filter)
			return i;
	return LOW;
}

static FLT_PREOP_CALLBACK_STATUS tf_pre(PFLT_CALLBACK_DATA d, PCFLT_RELATED_OBJECTS o, PVOID *ctx)
{
	struct tf *t = &F[tf_index(o)];
	PECP_LIST list = NULL;

	*ctx = NULL;
	t->pre[d->Iopb->MajorFunction]++;
	if (d->Iopb->MajorFunction != IRP_MJ_CREATE)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	if (t->set_ecps && d->RequestorMode == UserMode)
		t->set_status = FltSetEcpListIntoCallbackData(o->Filter, d, t->own_list);
	if (NT_SUCCESS(FltGetEcpListFromCallbackData(o->Filter, d, &list)) && list) {
		PVOID c = NULL;
		ULONG sz = 0;

		t->creates_with_ecps++;
		if (NT_SUCCESS(FltFindExtraCreateParameter(o->Filter, list, &ecp_guid, &c, &sz))) {
			snprintf(t->ecp_seen, sizeof(t->ecp_seen), "%.*s", (int)sz, (char *)c);
			if (!FltIsEcpAcknowledged(o->Filter, c))
				FltAcknowledgeEcp(o->Filter, c);
		}
	}
	return FLT_PREOP_SUCCESS_NO_CALLBACK;
}

static NTSTATUS tf_setup(PCFLT_RELATED_OBJECTS o, FLT_INSTANCE_SETUP_FLAGS f, DEVICE_TYPE dt,
			 FLT_FILESYSTEM_TYPE ft)
{
	(void)f, (void)dt, (void)ft;
	if (o->Volume == vol || !vol)
		F[tf_index(o)].inst = o->Instance;
	return STATUS_SUCCESS;
}

static NTSTATUS tf_unload(FLT_FILTER_UNLOAD_FLAGS flags)
{
	(void)flags;
	for (int i = 0; i < NF; i++)
		if (F[i].filter == (PFLT_FILTER)fm_current_filter())
			FltUnregisterFilter(F[i].filter);
	return STATUS_SUCCESS;
}

#define OP(m)                                                                                      \
	{                                                                                          \
		m, 0, tf_pre, NULL, NULL                                                           \
	}
static const FLT_OPERATION_REGISTRATION tf_ops[] = {
    OP(IRP_MJ_CREATE),
    OP(IRP_MJ_READ),
    OP(IRP_MJ_WRITE),
    OP(IRP_MJ_QUERY_INFORMATION),
    OP(IRP_MJ_QUERY_EA),
    OP(IRP_MJ_SET_EA),
    OP(IRP_MJ_FILE_SYSTEM_CONTROL),
    OP(IRP_MJ_DEVICE_CONTROL),
    OP(IRP_MJ_QUERY_SECURITY),
    OP(IRP_MJ_SET_SECURITY),
    OP(IRP_MJ_SET_VOLUME_INFORMATION),
    OP(IRP_MJ_CLOSE),
    {IRP_MJ_OPERATION_END, 0, NULL, NULL, NULL},
};

static FLT_REGISTRATION tf_reg = {
    sizeof(FLT_REGISTRATION),
    FLT_REGISTRATION_VERSION,
    0,
    NULL,
    tf_ops,
    tf_unload,
    tf_setup,
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

static int entry_index;

static NTSTATUS tf_entry(PDRIVER_OBJECT drv, PUNICODE_STRING regpath)
{
	(void)regpath;
	return fx_register_and_start(drv, &tf_reg, &F[entry_index].filter);
}

static void reset(void)
{
	for (int i = 0; i < NF; i++) {
		memset(F[i].pre, 0, sizeof(F[i].pre));
		F[i].creates_with_ecps = 0;
		F[i].ecp_seen[0] = '\0';
	}
}

/* "\Device\HarddiskVolumeN" + rel */
static void nt_name(const WCHAR *rel, WCHAR *full, UNICODE_STRING *us)
{
	const UNICODE_STRING *dev = fm_volume_device_name_w(vol);
	size_t dn = dev->Length / sizeof(WCHAR), rn = 0;

	while (rel[rn])
		rn++;
	memcpy(full, dev->Buffer, dev->Length);
	memcpy(full + dn, rel, rn * sizeof(WCHAR));
	us->Buffer = full;
	us->Length = us->MaximumLength = (USHORT)((dn + rn) * sizeof(WCHAR));
}

/* Open rel from filter `from` (its instance; inst NULL = the top), with DriverContext ecps. */
static NTSTATUS fopen_(int from, const WCHAR *rel, ULONG disp, ULONG options, HANDLE *h,
		       PFILE_OBJECT *fo, PECP_LIST ecps)
{
	WCHAR full[256];
	UNICODE_STRING us;
	OBJECT_ATTRIBUTES oa;
	IO_STATUS_BLOCK iosb;
	IO_DRIVER_CREATE_CONTEXT dc;

	nt_name(rel, full, &us);
	InitializeObjectAttributes(&oa, &us, OBJ_KERNEL_HANDLE, NULL, NULL);
	IoInitializeDriverCreateContext(&dc);
	dc.ExtraCreateParameter = ecps;
	return FltCreateFileEx2(
	    F[from].filter, F[from].inst, h, fo, GENERIC_READ | GENERIC_WRITE | DELETE, &oa, &iosb,
	    NULL, FILE_ATTRIBUTE_NORMAL, FILE_SHARE_READ | FILE_SHARE_WRITE, disp,
	    options | FILE_SYNCHRONOUS_IO_NONALERT, NULL, 0, 0, ecps ? &dc : NULL);
}

static void backing(const char *rel, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", rdir, rel);
}

/* ---- Setup ---- */

static void t_load(void)
{
	struct fm_volume_params p = {0};
	char path[256];
	int fd;

	snprintf(rdir, sizeof(rdir), "%s/fm-ntio-XXXXXX",
		 getenv("NTIO_TMP") ? getenv("NTIO_TMP") : ".");
	TAP_CHECK(mkdtemp(rdir) != NULL);
	backing("data.txt", path, sizeof(path));
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	TAP_EQ_INT(write(fd, "0123456789", 10), 10);
	close(fd);
	fd = open(rdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	TAP_EQ_INT(fm_lower_create(fd, &lw), 0);
	p.mount_point = rdir;
	p.backing_dir = rdir;
	p.backing_fs = "ext4";
	p.fs_type = FLT_FSTYPE_NTFS;
	p.sector_size = 512;
	p.lower = &fm_lowerfs_ops;
	p.lower_ctx = lw;
	TAP_EQ_INT(fm_volume_create(&p, &vol), 0);
	for (int i = 0; i < NF; i++) {
		fx_reg_service(svc[i], alt[i], 0);
		entry_index = i;
		TAP_EQ_INT(fm_filter_load_builtin(svc[i], tf_entry, NULL, 0), STATUS_SUCCESS);
		TAP_CHECK(F[i].inst != NULL);
	}
}

/* ---- ECPs ---- */

static void ecp_cleanup(PVOID ctx, LPCGUID type)
{
	(void)ctx;
	if (IsEqualGUID(type, &ecp_guid) || IsEqualGUID(type, &ecp_guid2))
		cleanups++;
}

static void t_ecp_list(void)
{
	PFLT_FILTER f = F[TOP].filter;
	PECP_LIST list = NULL;
	PVOID a = NULL, b = NULL, c = NULL, got = NULL;
	GUID type;
	ULONG sz = 0;

	cleanups = 0;
	TAP_EQ_INT(FltAllocateExtraCreateParameterList(f, 0, &list), STATUS_SUCCESS);
	TAP_EQ_INT(FltAllocateExtraCreateParameter(f, &ecp_guid, 16, 0, ecp_cleanup, 'tpcE', &a),
		   STATUS_SUCCESS);
	TAP_CHECK(((ULONG_PTR)a & 15) == 0);
	memcpy(a, "from-top", 9);
	TAP_EQ_INT(FltAllocateExtraCreateParameter(f, &ecp_guid2, 4, 0, ecp_cleanup, 'tpcE', &b),
		   STATUS_SUCCESS);
	TAP_EQ_INT(FltAllocateExtraCreateParameter(f, &ecp_guid, 4, 0, NULL, 'tpcE', &c),
		   STATUS_SUCCESS);
	TAP_EQ_INT(FltInsertExtraCreateParameter(f, list, a), STATUS_SUCCESS);
	TAP_EQ_INT(FltInsertExtraCreateParameter(f, list, a), STATUS_INVALID_PARAMETER);
	TAP_EQ_INT(FltInsertExtraCreateParameter(f, list, b), STATUS_SUCCESS);
	/* One ECP per type. */
	TAP_EQ_INT(FltInsertExtraCreateParameter(f, list, c), STATUS_OBJECT_NAME_COLLISION);
	FltFreeExtraCreateParameter(f, c);
	TAP_EQ_INT(FltFindExtraCreateParameter(f, list, &ecp_guid2, &got, &sz), STATUS_SUCCESS);
	TAP_CHECK(got == b);
	TAP_EQ_INT(sz, 4);
	TAP_EQ_INT(FsRtlFindExtraCreateParameter(list, &ecp_guid, &got, NULL), STATUS_SUCCESS);
	TAP_CHECK(got == a);
	/* Iteration in insertion order. */
	TAP_EQ_INT(FltGetNextExtraCreateParameter(f, list, NULL, &type, &got, &sz), STATUS_SUCCESS);
	TAP_CHECK(got == a && IsEqualGUID(&type, &ecp_guid) && sz == 16);
	TAP_EQ_INT(FltGetNextExtraCreateParameter(f, list, a, &type, &got, NULL), STATUS_SUCCESS);
	TAP_CHECK(got == b);
	TAP_EQ_INT(FltGetNextExtraCreateParameter(f, list, b, NULL, &got, NULL), STATUS_NOT_FOUND);
	/* Removal detaches without freeing. */
	TAP_EQ_INT(FltRemoveExtraCreateParameter(f, list, &ecp_guid2, &got, &sz), STATUS_SUCCESS);
	TAP_CHECK(got == b);
	TAP_EQ_INT(FltFindExtraCreateParameter(f, list, &ecp_guid2, &got, NULL), STATUS_NOT_FOUND);
	TAP_EQ_INT(FltRemoveExtraCreateParameter(f, list, &ecp_guid2, &got, NULL),
		   STATUS_NOT_FOUND);
	FltFreeExtraCreateParameter(f, b);
	TAP_EQ_INT(cleanups, 1);
	TAP_CHECK(!FltIsEcpAcknowledged(f, a));
	TAP_CHECK(!FltIsEcpFromUserMode(f, a));
	FltFreeExtraCreateParameterList(f, list);
	TAP_EQ_INT(cleanups, 2);
	{
		PECP_LIST l2 = NULL;
		TAP_EQ_INT(FsRtlGetEcpListFromIrp(NULL, &l2), STATUS_INVALID_PARAMETER);
	}
}

/* A list given to FltCreateFileEx2 below TOP reaches MID and LOW, which acknowledge it. */
static void t_ecp_create(void)
{
	PFLT_FILTER f = F[TOP].filter;
	PECP_LIST list = NULL;
	PVOID a = NULL;
	HANDLE h;
	PFILE_OBJECT fo;

	reset();
	FltAllocateExtraCreateParameterList(f, 0, &list);
	FltAllocateExtraCreateParameter(f, &ecp_guid, 8, 0, NULL, 'tpcE', &a);
	memcpy(a, "hello", 6);
	FltInsertExtraCreateParameter(f, list, a);
	TAP_EQ_INT(fopen_(TOP, u"\\data.txt", FILE_OPEN, 0, &h, &fo, list), STATUS_SUCCESS);
	TAP_EQ_INT(F[MID].creates_with_ecps, 1);
	TAP_EQ_INT(F[LOW].creates_with_ecps, 1);
	TAP_EQ_INT(F[TOP].creates_with_ecps, 0);
	TAP_EQ_STR(F[LOW].ecp_seen, "hello");
	TAP_CHECK(FltIsEcpAcknowledged(f, a));
	TAP_CHECK(fm__file(fo)->create_ecps == NULL);
	FltClose(h);
	FltFreeExtraCreateParameterList(f, list);

	/* Without a list, lower instances see none. */
	reset();
	TAP_EQ_INT(fopen_(TOP, u"\\data.txt", FILE_OPEN, 0, &h, &fo, NULL), STATUS_SUCCESS);
	TAP_EQ_INT(F[LOW].creates_with_ecps, 0);
	FltClose(h);

	/* A filter attaching a list to a process's create: the instances below it see it. */
	reset();
	FltAllocateExtraCreateParameterList(F[MID].filter, 0, &F[MID].own_list);
	FltAllocateExtraCreateParameter(F[MID].filter, &ecp_guid, 8, 0, NULL, 'tpcE', &a);
	memcpy(a, "by-mid", 7);
	FltInsertExtraCreateParameter(F[MID].filter, F[MID].own_list, a);
	F[MID].set_ecps = true;
	{
		PFILE_OBJECT pfo = fm_file_object_alloc(vol, u"\\data.txt", 9);
		struct fm_requestor who = {.pid = 42};
		IO_SECURITY_CONTEXT sc = {0};
		struct fm_irp irp;
		PECP_LIST l = NULL;

		sc.DesiredAccess = GENERIC_READ;
		fm_irp_init(&irp, vol, IRP_MJ_CREATE, 0, pfo, &who);
		irp.iopb.Parameters.Create.SecurityContext = &sc;
		irp.iopb.Parameters.Create.Options = (FILE_OPEN << 24) | FILE_NON_DIRECTORY_FILE;
		TAP_EQ_INT(fm_irp_dispatch(&irp), STATUS_SUCCESS);
		fm_irp_cleanup(&irp);
		TAP_EQ_INT(F[MID].set_status, STATUS_SUCCESS);
		TAP_EQ_INT(F[TOP].creates_with_ecps, 0);
		TAP_EQ_INT(F[LOW].creates_with_ecps, 1);
		TAP_EQ_STR(F[LOW].ecp_seen, "by-mid");
		/* A second list on the same create is refused. */
		TAP_EQ_INT(FltSetEcpListIntoCallbackData(F[MID].filter, &irp.data, F[MID].own_list),
			   STATUS_INVALID_PARAMETER_3);
		/* Not a create. */
		irp.iopb.MajorFunction = IRP_MJ_READ;
		TAP_EQ_INT(FltGetEcpListFromCallbackData(F[MID].filter, &irp.data, &l),
			   STATUS_INVALID_PARAMETER);
		TAP_EQ_INT(FltSetEcpListIntoCallbackData(F[MID].filter, &irp.data, F[MID].own_list),
			   STATUS_INVALID_PARAMETER_2);
		irp.iopb.MajorFunction = IRP_MJ_CLEANUP;
		fm_irp_init(&irp, vol, IRP_MJ_CLEANUP, 0, pfo, &who);
		fm_irp_dispatch(&irp);
		fm_irp_cleanup(&irp);
		fm_irp_init(&irp, vol, IRP_MJ_CLOSE, 0, pfo, &who);
		fm_irp_dispatch(&irp);
		fm_irp_cleanup(&irp);
		fm_file_object_free(pfo);
	}
	F[MID].set_ecps = false;
	FltFreeExtraCreateParameterList(F[MID].filter, F[MID].own_list);
	F[MID].own_list = NULL;
}

/* ---- EAs, FSCTLs, IOCTLs ---- */

static void t_ea(void)
{
	UCHAR buf[256], list[64];
	FILE_FULL_EA_INFORMATION *ea = (void *)buf;
	FILE_GET_EA_INFORMATION *g = (void *)list;
	char path[256];
	HANDLE h;
	PFILE_OBJECT fo;
	ULONG got = 0;

	backing("data.txt", path, sizeof(path));
	if (setxattr(path, "user.probe", "1", 1, 0) < 0) {
		printf("# SKIP t_ea: no user xattrs on %s\n", rdir);
		return;
	}
	removexattr(path, "user.probe");
	reset();
	TAP_EQ_INT(fopen_(MID, u"\\data.txt", FILE_OPEN, 0, &h, &fo, NULL), STATUS_SUCCESS);
	memset(buf, 0, sizeof(buf));
	ea->EaNameLength = 9;
	ea->EaValueLength = 5;
	memcpy(ea->EaName, "user.ntio\0value", 15);
	TAP_EQ_INT(FltSetEaFile(F[MID].inst, fo, buf,
				(ULONG)(offsetof(FILE_FULL_EA_INFORMATION, EaName) + 9 + 1 + 5)),
		   STATUS_SUCCESS);
	{
		char v[16] = {0};
		TAP_EQ_INT(getxattr(path, "user.ntio", v, sizeof(v)), 5);
		TAP_EQ_STR(v, "value");
	}
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_SET_EA], 1);
	TAP_EQ_INT(F[MID].pre[IRP_MJ_SET_EA] + F[TOP].pre[IRP_MJ_SET_EA], 0);
	/* By name. */
	memset(list, 0, sizeof(list));
	g->EaNameLength = 9;
	memcpy(g->EaName, "user.ntio", 10);
	memset(buf, 0, sizeof(buf));
	TAP_EQ_INT(FltQueryEaFile(F[MID].inst, fo, buf, sizeof(buf), FALSE, list,
				  (ULONG)(offsetof(FILE_GET_EA_INFORMATION, EaName) + 10), NULL,
				  TRUE, &got),
		   STATUS_SUCCESS);
	TAP_CHECK(got > 0);
	TAP_EQ_INT(ea->EaNameLength, 9);
	TAP_EQ_INT(ea->EaValueLength, 5);
	TAP_CHECK(!memcmp(ea->EaName + 10, "value", 5));
	/* Too small for one entry. */
	TAP_EQ_INT(FltQueryEaFile(F[MID].inst, fo, buf, 8, TRUE, NULL, 0, NULL, TRUE, &got),
		   STATUS_BUFFER_TOO_SMALL);
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_QUERY_EA], 2);
	/* A malformed EA buffer never reaches the file system. */
	ea->NextEntryOffset = 3;
	TAP_EQ_INT(FltSetEaFile(F[MID].inst, fo, buf, 20), STATUS_EA_LIST_INCONSISTENT);
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_SET_EA], 1);
	/* A file object on another volume than the instance's. */
	TAP_EQ_INT(FltSetEaFile(NULL, fo, buf, 20), STATUS_INVALID_PARAMETER);
	/* IOCTLs reach the instances below; no disk answers them. */
	TAP_EQ_INT(FltDeviceIoControlFile(F[MID].inst, fo,
					  0x70000 /* IOCTL_DISK_GET_DRIVE_GEOMETRY */, NULL, 0, buf,
					  sizeof(buf), &got),
		   STATUS_INVALID_DEVICE_REQUEST);
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_DEVICE_CONTROL], 1);
	FltClose(h);
}

static void t_tag(void)
{
	UCHAR data[64], out[128];
	ULONG version = 2, got = 0;
	char path[256], target[64] = {0};
	struct stat st;
	HANDLE h;
	PFILE_OBJECT fo;
	GUID g = ecp_guid;

	reset();
	TAP_EQ_INT(fopen_(MID, u"\\link", FILE_CREATE, FILE_NON_DIRECTORY_FILE, &h, &fo, NULL),
		   STATUS_SUCCESS);
	memcpy(data, &version, 4);
	memcpy(data + 4, "data.txt", 8);
	TAP_EQ_INT(FltTagFile(F[MID].inst, fo, IO_REPARSE_TAG_LX_SYMLINK, NULL, data, 12),
		   STATUS_SUCCESS);
	backing("link", path, sizeof(path));
	TAP_EQ_INT(readlink(path, target, sizeof(target) - 1), 8);
	TAP_EQ_STR(target, "data.txt");
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_FILE_SYSTEM_CONTROL], 1);
	TAP_EQ_INT(F[MID].pre[IRP_MJ_FILE_SYSTEM_CONTROL], 0);
	/* Read back through FltFsControlFile (METHOD_BUFFERED: the output is copied back). */
	memset(out, 0, sizeof(out));
	TAP_EQ_INT(FltFsControlFile(F[MID].inst, fo, FSCTL_GET_REPARSE_POINT, NULL, 0, out,
				    sizeof(out), &got),
		   STATUS_SUCCESS);
	TAP_EQ_INT(got, REPARSE_DATA_BUFFER_HEADER_SIZE + 12);
	TAP_EQ_INT(((REPARSE_DATA_BUFFER *)out)->ReparseTag, IO_REPARSE_TAG_LX_SYMLINK);
	TAP_CHECK(!memcmp(out + REPARSE_DATA_BUFFER_HEADER_SIZE + 4, "data.txt", 8));
	/* Untag: the wrong tag, then the right one. */
	TAP_EQ_INT(FltUntagFile(F[MID].inst, fo, IO_REPARSE_TAG_LX_FIFO, NULL),
		   STATUS_IO_REPARSE_TAG_MISMATCH);
	TAP_EQ_INT(FltUntagFile(F[MID].inst, fo, IO_REPARSE_TAG_LX_SYMLINK, NULL), STATUS_SUCCESS);
	TAP_EQ_INT(lstat(path, &st), 0);
	TAP_CHECK(S_ISREG(st.st_mode) && st.st_size == 0);
	TAP_EQ_INT(FltUntagFile(F[MID].inst, fo, IO_REPARSE_TAG_LX_SYMLINK, NULL),
		   STATUS_NOT_A_REPARSE_POINT);
	/* Tags the lower cannot store, and a third-party tag without its GUID. */
	TAP_EQ_INT(FltTagFile(F[MID].inst, fo, 0x00001234, &g, data, 4),
		   STATUS_IO_REPARSE_TAG_INVALID);
	TAP_EQ_INT(FltTagFile(F[MID].inst, fo, 0x00001234, NULL, data, 4),
		   STATUS_INVALID_PARAMETER);
	FltClose(h);
	unlink(path);
}

/* ---- Security descriptors ---- */

struct sid2 {
	UCHAR rev, n, auth[6];
	ULONG sub[2];
};

static void t_security(void)
{
	UCHAR sd[256], newsd[256];
	ULONG need = 0, off, mask;
	USHORT control, count;
	char path[256];
	struct stat st;
	const struct sid2 *s;
	HANDLE h;
	PFILE_OBJECT fo;

	backing("data.txt", path, sizeof(path));
	chmod(path, 0640);
	TAP_EQ_INT(stat(path, &st), 0);
	reset();
	TAP_EQ_INT(fopen_(MID, u"\\data.txt", FILE_OPEN, 0, &h, &fo, NULL), STATUS_SUCCESS);
	TAP_EQ_INT(FltQuerySecurityObject(F[MID].inst, fo,
					  OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION |
					      DACL_SECURITY_INFORMATION,
					  sd, 8, &need),
		   STATUS_BUFFER_TOO_SMALL);
	/* 20 header + 16 owner + 16 group + 8 ACL + 24 + 24 + 20 ACEs */
	TAP_EQ_INT(need, 128);
	memset(sd, 0, sizeof(sd));
	TAP_EQ_INT(FltQuerySecurityObject(F[MID].inst, fo,
					  OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION |
					      DACL_SECURITY_INFORMATION,
					  sd, sizeof(sd), &need),
		   STATUS_SUCCESS);
	TAP_EQ_INT(sd[0], 1);
	memcpy(&control, sd + 2, 2);
	TAP_CHECK(control & 0x8000); /* SE_SELF_RELATIVE */
	TAP_CHECK(control & 0x0004); /* SE_DACL_PRESENT */
	memcpy(&off, sd + 4, 4);
	s = (const struct sid2 *)(sd + off);
	TAP_CHECK(s->rev == 1 && s->n == 2 && s->auth[5] == 22 && s->sub[0] == 1);
	TAP_EQ_INT(s->sub[1], st.st_uid);
	memcpy(&off, sd + 8, 4);
	s = (const struct sid2 *)(sd + off);
	TAP_CHECK(s->sub[0] == 2);
	TAP_EQ_INT(s->sub[1], st.st_gid);
	memcpy(&off, sd + 16, 4);
	memcpy(&count, sd + off + 4, 2);
	TAP_EQ_INT(count, 3);
	/* The owner's ACE: rw-, the group's r--, everyone's nothing of the data. */
	memcpy(&mask, sd + off + 8 + 4, 4);
	TAP_CHECK((mask & FILE_READ_DATA) && (mask & FILE_WRITE_DATA) && !(mask & FILE_EXECUTE));
	memcpy(&mask, sd + off + 8 + 24 + 4, 4);
	TAP_CHECK((mask & FILE_READ_DATA) && !(mask & FILE_WRITE_DATA));
	memcpy(&mask, sd + off + 8 + 48 + 4, 4);
	TAP_CHECK(!(mask & (FILE_READ_DATA | FILE_WRITE_DATA | FILE_EXECUTE)));
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_QUERY_SECURITY], 2);
	TAP_EQ_INT(F[MID].pre[IRP_MJ_QUERY_SECURITY], 0);

	/* Set a DACL for 0751: the mode follows. */
	fm_sd_build(st.st_uid, st.st_gid, 0751, DACL_SECURITY_INFORMATION, newsd, sizeof(newsd));
	TAP_EQ_INT(FltSetSecurityObject(F[MID].inst, fo, DACL_SECURITY_INFORMATION, newsd),
		   STATUS_SUCCESS);
	TAP_EQ_INT(stat(path, &st), 0);
	TAP_EQ_INT(st.st_mode & 0777, 0751);
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_SET_SECURITY], 1);
	/* An owner that is no Unix identity. */
	{
		SECURITY_DESCRIPTOR abs;
		UCHAR everyone[12] = {1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0};

		RtlCreateSecurityDescriptor(&abs, SECURITY_DESCRIPTOR_REVISION);
		abs.Owner = everyone;
		TAP_EQ_INT(FltSetSecurityObject(F[MID].inst, fo, OWNER_SECURITY_INFORMATION, &abs),
			   STATUS_INVALID_OWNER);
		/* A NULL DACL: everyone may do everything. */
		RtlSetDaclSecurityDescriptor(&abs, TRUE, NULL, FALSE);
		TAP_EQ_INT(FltSetSecurityObject(F[MID].inst, fo, DACL_SECURITY_INFORMATION, &abs),
			   STATUS_SUCCESS);
		TAP_EQ_INT(stat(path, &st), 0);
		TAP_EQ_INT(st.st_mode & 0777, 0777);
	}
	if (geteuid() == 0) {
		fm_sd_build(4321, 4322, 0, OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION,
			    newsd, sizeof(newsd));
		TAP_EQ_INT(FltSetSecurityObject(
			       F[MID].inst, fo,
			       OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION, newsd),
			   STATUS_SUCCESS);
		TAP_EQ_INT(stat(path, &st), 0);
		TAP_EQ_INT(st.st_uid, 4321);
		TAP_EQ_INT(st.st_gid, 4322);
		if (chown(path, 0, 0) != 0)
			printf("# chown back failed\n");
	}
	chmod(path, 0644);
	FltClose(h);
}

/* ---- Volumes, device objects ---- */

static void t_volume_io(void)
{
	HANDLE h;
	PFILE_OBJECT fo = NULL;
	UCHAR buf[512];
	ULONG got = 0;
	IO_STATUS_BLOCK iosb;
	FILE_FS_LABEL_INFORMATION *label = (void *)buf;
	char path[256];
	struct stat st;

	reset();
	TAP_EQ_INT(FltOpenVolume(F[MID].inst, &h, &fo), STATUS_SUCCESS);
	TAP_CHECK(fo != NULL);
	TAP_EQ_INT(FltQueryVolumeInformationFile(F[MID].inst, fo, buf, sizeof(buf),
						 FileFsSizeInformation, &got),
		   STATUS_SUCCESS);
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_CREATE], 1);
	TAP_EQ_INT(F[MID].pre[IRP_MJ_CREATE], 0);
	TAP_EQ_INT(FltClose(h), STATUS_SUCCESS);
	label->VolumeLabelLength = 4;
	memcpy(label->VolumeLabel, u"ab", 4);
	TAP_EQ_INT(
	    FltSetVolumeInformation(F[MID].inst, &iosb, buf, sizeof(buf), FileFsLabelInformation),
	    STATUS_NOT_SUPPORTED);
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_SET_VOLUME_INFORMATION], 1);
	TAP_EQ_INT(FltCreateSystemVolumeInformationFolder(F[MID].inst), STATUS_SUCCESS);
	TAP_EQ_INT(FltCreateSystemVolumeInformationFolder(F[MID].inst), STATUS_SUCCESS);
	backing("System Volume Information", path, sizeof(path));
	TAP_EQ_INT(stat(path, &st), 0);
	TAP_CHECK(S_ISDIR(st.st_mode));
	rmdir(path);
}

static void t_devices(void)
{
	PDEVICE_OBJECT d = NULL, disk = NULL;
	PFLT_VOLUME v = NULL;
	UNICODE_STRING dos = {0};
	UCHAR buf[256];
	POBJECT_NAME_INFORMATION oni = (void *)buf;
	ULONG ret = 0;

	TAP_EQ_INT(FltGetDeviceObject(vol, &d), STATUS_SUCCESS);
	TAP_EQ_INT(FltGetDiskDeviceObject(vol, &disk), STATUS_SUCCESS);
	TAP_CHECK(d && disk && d != disk);
	if (!d || !disk)
		return;
	TAP_EQ_INT(d->DeviceType, FILE_DEVICE_DISK_FILE_SYSTEM);
	TAP_EQ_INT(disk->DeviceType, FILE_DEVICE_DISK);
	TAP_EQ_INT(d->Type, IO_TYPE_DEVICE);
	TAP_EQ_INT(disk->SectorSize, 512);
	TAP_CHECK(disk->Vpb && disk->Vpb->DeviceObject == d && disk->Vpb->RealDevice == disk);
	TAP_CHECK(d->DriverObject != NULL);
	ObReferenceObject(d);
	ObDereferenceObject(d);
	TAP_EQ_INT(FltGetVolumeFromDeviceObject(F[TOP].filter, disk, &v), STATUS_SUCCESS);
	TAP_CHECK(v == vol);
	FltObjectDereference(v);
	TAP_EQ_INT(FltGetVolumeFromDeviceObject(F[TOP].filter, (PDEVICE_OBJECT)buf, &v),
		   STATUS_FLT_VOLUME_NOT_FOUND);
	/* Names: the disk's is the volume's device name, the file system's device is unnamed. */
	TAP_EQ_INT(ObQueryNameString(disk, oni, 8, &ret), STATUS_INFO_LENGTH_MISMATCH);
	TAP_CHECK(ret > 8);
	TAP_EQ_INT(ObQueryNameString(disk, oni, sizeof(buf), &ret), STATUS_SUCCESS);
	TAP_CHECK(RtlEqualUnicodeString(&oni->Name, fm_volume_device_name_w(vol), TRUE));
	TAP_EQ_INT(ObQueryNameString(d, oni, sizeof(buf), &ret), STATUS_SUCCESS);
	TAP_EQ_INT(oni->Name.Length, 0);
	TAP_EQ_INT(IoVolumeDeviceToDosName(disk, &dos), STATUS_SUCCESS);
	{
		char u8[256] = {0};
		ULONG n = 0;
		RtlUnicodeToUTF8N(u8, sizeof(u8) - 1, &n, dos.Buffer, dos.Length);
		TAP_EQ_STR(u8, rdir);
	}
	ExFreePool(dos.Buffer);
}

/* ---- Enumeration information ---- */

static void wcheck(const void *base, USHORT off, USHORT len, const char *want)
{
	char got[256] = {0};
	const UCHAR *p = (const UCHAR *)base + off;

	for (USHORT i = 0; i < len / 2 && i < 255; i++)
		got[i] = (char)p[2 * i];
	TAP_EQ_STR(got, want);
}

static void t_information(void)
{
	UCHAR buf[512];
	ULONG ret = 0, n = 0;
	bool found[NF] = {false};

	/* One filter: the full class, then a buffer one byte too small. */
	TAP_EQ_INT(
	    FltGetFilterInformation(F[MID].filter, FilterFullInformation, buf, sizeof(buf), &ret),
	    STATUS_SUCCESS);
	{
		FILTER_FULL_INFORMATION *i = (void *)buf;
		TAP_EQ_INT(ret, offsetof(FILTER_FULL_INFORMATION, FilterNameBuffer) + 14);
		TAP_EQ_INT(i->NextEntryOffset, 0);
		TAP_EQ_INT(i->NumberOfInstances, 1);
		TAP_EQ_INT(i->FilterNameLength, 14);
		wcheck(i, offsetof(FILTER_FULL_INFORMATION, FilterNameBuffer), 14, "ntiomid");
	}
	TAP_EQ_INT(
	    FltGetFilterInformation(F[MID].filter, FilterFullInformation, buf, ret - 1, &ret),
	    STATUS_BUFFER_TOO_SMALL);
	TAP_EQ_INT(ret, offsetof(FILTER_FULL_INFORMATION, FilterNameBuffer) + 14);
	TAP_EQ_INT(FltGetFilterInformation(F[MID].filter, FilterAggregateStandardInformation, buf,
					   sizeof(buf), &ret),
		   STATUS_SUCCESS);
	{
		FILTER_AGGREGATE_STANDARD_INFORMATION *i = (void *)buf;
		TAP_EQ_INT(i->Flags, FLTFL_AGGREGATE_INFO_IS_MINIFILTER);
		wcheck(i, i->Type.MiniFilter.FilterNameBufferOffset,
		       i->Type.MiniFilter.FilterNameLength, "ntiomid");
		wcheck(i, i->Type.MiniFilter.FilterAltitudeBufferOffset,
		       i->Type.MiniFilter.FilterAltitudeLength, "230000");
	}
	TAP_EQ_INT(FltGetFilterInformation(F[MID].filter, (FILTER_INFORMATION_CLASS)9, buf,
					   sizeof(buf), &ret),
		   STATUS_INVALID_PARAMETER);
	/* Every filter by index, then the end. */
	for (n = 0;; n++) {
		NTSTATUS st = FltEnumerateFilterInformation(n, FilterAggregateBasicInformation, buf,
							    sizeof(buf), &ret);
		FILTER_AGGREGATE_BASIC_INFORMATION *i = (void *)buf;
		char name[64] = {0};

		if (st != STATUS_SUCCESS) {
			TAP_EQ_INT(st, STATUS_NO_MORE_ENTRIES);
			break;
		}
		for (USHORT k = 0; k < i->Type.MiniFilter.FilterNameLength / 2 && k < 63; k++)
			name[k] = (char)buf[i->Type.MiniFilter.FilterNameBufferOffset + 2 * k];
		for (int k = 0; k < NF; k++)
			if (!strcmp(name, svc[k]))
				found[k] = true;
	}
	TAP_CHECK(found[TOP] && found[MID] && found[LOW]);

	/* The volume. */
	TAP_EQ_INT(
	    FltGetVolumeInformation(vol, FilterVolumeStandardInformation, buf, sizeof(buf), &ret),
	    STATUS_SUCCESS);
	{
		FILTER_VOLUME_STANDARD_INFORMATION *i = (void *)buf;
		TAP_EQ_INT(i->FileSystemType, FLT_FSTYPE_NTFS);
		TAP_EQ_INT(i->Flags, 0);
		wcheck(i, offsetof(FILTER_VOLUME_STANDARD_INFORMATION, FilterVolumeName),
		       i->FilterVolumeNameLength, fm_volume_device_name(vol));
	}
	TAP_EQ_INT(FltGetVolumeInformation(vol, FilterVolumeBasicInformation, buf, 3, &ret),
		   STATUS_BUFFER_TOO_SMALL);
	TAP_EQ_INT(ret, 2 + strlen(fm_volume_device_name(vol)) * 2);
	TAP_EQ_INT(FltEnumerateVolumeInformation(F[TOP].filter, 0, FilterVolumeBasicInformation,
						 buf, sizeof(buf), &ret),
		   STATUS_SUCCESS);
	TAP_EQ_INT(FltEnumerateVolumeInformation(F[TOP].filter, 1000, FilterVolumeBasicInformation,
						 buf, sizeof(buf), &ret),
		   STATUS_NO_MORE_ENTRIES);

	/* Instances on the volume, highest altitude first. */
	for (n = 0; n < NF; n++) {
		INSTANCE_AGGREGATE_STANDARD_INFORMATION *i = (void *)buf;
		char want[64];

		TAP_EQ_INT(
		    FltEnumerateInstanceInformationByVolume(
			vol, n, InstanceAggregateStandardInformation, buf, sizeof(buf), &ret),
		    STATUS_SUCCESS);
		TAP_EQ_INT(i->Flags, FLTFL_IASI_IS_MINIFILTER);
		TAP_EQ_INT(i->Type.MiniFilter.VolumeFileSystemType, FLT_FSTYPE_NTFS);
		snprintf(want, sizeof(want), "%s Instance", svc[n]);
		wcheck(i, i->Type.MiniFilter.InstanceNameBufferOffset,
		       i->Type.MiniFilter.InstanceNameLength, want);
		wcheck(i, i->Type.MiniFilter.AltitudeBufferOffset,
		       i->Type.MiniFilter.AltitudeLength, alt[n]);
		wcheck(i, i->Type.MiniFilter.FilterNameBufferOffset,
		       i->Type.MiniFilter.FilterNameLength, svc[n]);
		wcheck(i, i->Type.MiniFilter.VolumeNameBufferOffset,
		       i->Type.MiniFilter.VolumeNameLength, fm_volume_device_name(vol));
	}
	TAP_EQ_INT(FltEnumerateInstanceInformationByVolume(vol, NF, InstanceBasicInformation, buf,
							   sizeof(buf), &ret),
		   STATUS_NO_MORE_ENTRIES);
	TAP_EQ_INT(FltEnumerateInstanceInformationByFilter(
		       F[LOW].filter, 0, InstancePartialInformation, buf, sizeof(buf), &ret),
		   STATUS_SUCCESS);
	{
		INSTANCE_PARTIAL_INFORMATION *i = (void *)buf;
		wcheck(i, i->AltitudeBufferOffset, i->AltitudeLength, "130000");
	}
	TAP_EQ_INT(FltEnumerateInstanceInformationByFilter(F[LOW].filter, 0,
							   InstanceFullInformation, buf, 10, &ret),
		   STATUS_BUFFER_TOO_SMALL);
	TAP_CHECK(ret > 10);
	TAP_EQ_INT(FltEnumerateInstanceInformationByFilter(
		       F[LOW].filter, 1, InstanceBasicInformation, buf, sizeof(buf), &ret),
		   STATUS_NO_MORE_ENTRIES);
	/* The aggregate class through FltGetInstanceInformation too. */
	TAP_EQ_INT(FltGetInstanceInformation(F[LOW].inst, InstanceAggregateStandardInformation, buf,
					     sizeof(buf), &ret),
		   STATUS_SUCCESS);
}

/* ---- Zw* ---- */

static void t_zw(void)
{
	WCHAR full[512];
	UNICODE_STRING us;
	OBJECT_ATTRIBUTES oa;
	IO_STATUS_BLOCK iosb;
	HANDLE h, hf;
	PFILE_OBJECT fo;
	char buf[32];
	FILE_STANDARD_INFORMATION si;
	FILE_NETWORK_OPEN_INFORMATION ni;
	LARGE_INTEGER off = {.QuadPart = 2};
	ULONG need = 0;

	/* By device name, from the top: every instance sees the open and the read. */
	reset();
	nt_name(u"\\data.txt", full, &us);
	InitializeObjectAttributes(&oa, &us, OBJ_KERNEL_HANDLE, NULL, NULL);
	TAP_EQ_INT(ZwCreateFile(&h, GENERIC_READ | SYNCHRONIZE, &oa, &iosb, NULL, 0,
				FILE_SHARE_READ, FILE_OPEN, FILE_SYNCHRONOUS_IO_NONALERT, NULL, 0),
		   STATUS_SUCCESS);
	TAP_EQ_INT(iosb.Information, FILE_OPENED);
	for (int i = 0; i < NF; i++)
		TAP_EQ_INT(F[i].pre[IRP_MJ_CREATE], 1);
	memset(buf, 0, sizeof(buf));
	TAP_EQ_INT(ZwReadFile(h, NULL, NULL, NULL, &iosb, buf, 4, NULL, NULL), STATUS_SUCCESS);
	TAP_EQ_STR(buf, "0123");
	TAP_EQ_INT(iosb.Information, 4);
	memset(buf, 0, sizeof(buf));
	TAP_EQ_INT(ZwReadFile(h, NULL, NULL, NULL, &iosb, buf, 4, NULL, NULL), STATUS_SUCCESS);
	TAP_EQ_STR(buf, "4567");
	TAP_EQ_INT(ZwReadFile(h, NULL, NULL, NULL, &iosb, buf, 4, &off, NULL), STATUS_SUCCESS);
	for (int i = 0; i < NF; i++)
		TAP_EQ_INT(F[i].pre[IRP_MJ_READ], 3);
	TAP_EQ_INT(ZwQueryInformationFile(h, &iosb, &si, sizeof(si), FileStandardInformation),
		   STATUS_SUCCESS);
	TAP_EQ_INT(si.EndOfFile.QuadPart, 10);
	TAP_EQ_INT(ZwQuerySecurityObject(h, OWNER_SECURITY_INFORMATION, buf, 4, &need),
		   STATUS_BUFFER_TOO_SMALL);
	TAP_EQ_INT(need, 36);
	TAP_EQ_INT(F[TOP].pre[IRP_MJ_QUERY_SECURITY], 1);
	/* Names of the file object. */
	TAP_EQ_INT(
	    ObReferenceObjectByHandle(h, 0, *IoFileObjectType, KernelMode, (PVOID *)&fo, NULL),
	    STATUS_SUCCESS);
	{
		UCHAR nb[512];
		POBJECT_NAME_INFORMATION oni = (void *)nb, dn = NULL;
		ULONG ret = 0;
		char u8[300] = {0}, want[300];
		ULONG n = 0;

		TAP_EQ_INT(ObQueryNameString(fo, oni, sizeof(nb), &ret), STATUS_SUCCESS);
		TAP_CHECK(RtlEqualUnicodeString(&oni->Name, &us, TRUE));
		TAP_EQ_INT(IoQueryFileDosDeviceName(fo, &dn), STATUS_SUCCESS);
		if (dn) {
			RtlUnicodeToUTF8N(u8, sizeof(u8) - 1, &n, dn->Name.Buffer, dn->Name.Length);
			snprintf(want, sizeof(want), "%s/data.txt", rdir);
			TAP_EQ_STR(u8, want);
			ExFreePool(dn);
		}
		TAP_EQ_INT(
		    IoQueryFileInformation(fo, FileStandardInformation, sizeof(si), &si, &ret),
		    STATUS_SUCCESS);
		TAP_EQ_INT(ret, sizeof(si));
		ObDereferenceObject(fo);
	}
	reset();
	TAP_EQ_INT(ZwClose(h), STATUS_SUCCESS);
	for (int i = 0; i < NF; i++)
		TAP_EQ_INT(F[i].pre[IRP_MJ_CLOSE], 1);

	/* A FltCreateFile handle: Zw I/O on it stays below its opener. */
	reset();
	TAP_EQ_INT(fopen_(MID, u"\\data.txt", FILE_OPEN, 0, &hf, &fo, NULL), STATUS_SUCCESS);
	TAP_EQ_INT(ZwReadFile(hf, NULL, NULL, NULL, &iosb, buf, 2, &off, NULL), STATUS_SUCCESS);
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_READ], 1);
	TAP_EQ_INT(F[MID].pre[IRP_MJ_READ] + F[TOP].pre[IRP_MJ_READ], 0);
	TAP_EQ_INT(ZwClose(hf), STATUS_SUCCESS);

	/* The DOS form: "\??\" + the mount point + the path. */
	{
		char dos[300];
		ULONG n = 0;

		snprintf(dos, sizeof(dos), "\\??\\%s/data.txt", rdir);
		RtlUTF8ToUnicodeN(full, sizeof(full), &n, dos, (ULONG)strlen(dos));
		us.Buffer = full;
		us.Length = us.MaximumLength = (USHORT)n;
		memset(&ni, 0, sizeof(ni));
		TAP_EQ_INT(ZwQueryFullAttributesFile(&oa, &ni), STATUS_SUCCESS);
		TAP_EQ_INT(ni.EndOfFile.QuadPart, 10);
		snprintf(dos, sizeof(dos), "\\DosDevices\\/nonexistent-mount/x");
		RtlUTF8ToUnicodeN(full, sizeof(full), &n, dos, (ULONG)strlen(dos));
		us.Length = us.MaximumLength = (USHORT)n;
		TAP_EQ_INT(ZwOpenFile(&h, GENERIC_READ, &oa, &iosb, 0, 0),
			   STATUS_OBJECT_PATH_NOT_FOUND);
	}

	/* Write, flush, EA and FSCTL through a ZwCreateFile handle; an event is set. */
	{
		HANDLE ev;
		LARGE_INTEGER end = {.HighPart = -1, .LowPart = FILE_WRITE_TO_END_OF_FILE};
		UCHAR out[64];

		nt_name(u"\\zw.txt", full, &us);
		TAP_EQ_INT(ZwCreateFile(&h, GENERIC_READ | GENERIC_WRITE | DELETE, &oa, &iosb, NULL,
					0, 0, FILE_CREATE, 0, NULL, 0),
			   STATUS_SUCCESS);
		TAP_EQ_INT(iosb.Information, FILE_CREATED);
		TAP_EQ_INT(ZwCreateEvent(&ev, 0x1f0003 /* EVENT_ALL_ACCESS */, NULL,
					 NotificationEvent, FALSE),
			   STATUS_SUCCESS);
		/* A non-synchronous handle needs an offset. */
		TAP_EQ_INT(ZwWriteFile(h, NULL, NULL, NULL, &iosb, "abc", 3, NULL, NULL),
			   STATUS_INVALID_PARAMETER);
		TAP_EQ_INT(ZwWriteFile(h, ev, NULL, NULL, &iosb, "abc", 3, &end, NULL),
			   STATUS_SUCCESS);
		TAP_EQ_INT(ZwWaitForSingleObject(ev, FALSE, NULL), STATUS_SUCCESS);
		TAP_EQ_INT(ZwFlushBuffersFile(h, &iosb), STATUS_SUCCESS);
		TAP_EQ_INT(
		    ZwQueryVolumeInformationFile(h, &iosb, out, sizeof(out), FileFsSizeInformation),
		    STATUS_SUCCESS);
		TAP_EQ_INT(ZwFsControlFile(h, NULL, NULL, NULL, &iosb, FSCTL_GET_REPARSE_POINT,
					   NULL, 0, out, sizeof(out)),
			   STATUS_NOT_A_REPARSE_POINT);
		TAP_EQ_INT(ZwDeviceIoControlFile(h, NULL, NULL, NULL, &iosb, 0x70000, NULL, 0, out,
						 sizeof(out)),
			   STATUS_INVALID_DEVICE_REQUEST);
		TAP_EQ_INT(ZwQueryEaFile(h, &iosb, out, sizeof(out), FALSE, NULL, 0, NULL, TRUE),
			   STATUS_NO_EAS_ON_FILE);
		{
			FILE_DISPOSITION_INFORMATION d = {TRUE};
			TAP_EQ_INT(ZwSetInformationFile(h, &iosb, &d, sizeof(d),
							FileDispositionInformation),
				   STATUS_SUCCESS);
		}
		TAP_EQ_INT(ZwClose(h), STATUS_SUCCESS);
		ZwClose(ev);
	}
	TAP_EQ_INT(
	    ZwReadFile((HANDLE)(ULONG_PTR)0x8000123c, NULL, NULL, NULL, &iosb, buf, 1, &off, NULL),
	    STATUS_INVALID_HANDLE);
}

static void t_not_supported(void)
{
	TAP_EQ_INT(FltCommitComplete(F[TOP].inst, NULL, NULL), STATUS_NOT_SUPPORTED);
	TAP_EQ_INT(FltRollbackComplete(F[TOP].inst, NULL, NULL), STATUS_NOT_SUPPORTED);
	TAP_EQ_INT(FltPrePrepareComplete(F[TOP].inst, NULL, NULL), STATUS_NOT_SUPPORTED);
	TAP_EQ_INT(FltPrepareComplete(F[TOP].inst, NULL, NULL), STATUS_NOT_SUPPORTED);
	TAP_EQ_INT(FltRollbackEnlistment(F[TOP].inst, NULL, NULL), STATUS_NOT_SUPPORTED);
	TAP_EQ_INT(FltCreateSectionForDataScan(F[TOP].inst, NULL, NULL, 0, NULL, NULL, 0, 0, 0,
					       NULL, NULL, NULL),
		   STATUS_NOT_SUPPORTED);
}

static void t_unload(void)
{
	char cmd[300];

	for (int i = 0; i < NF; i++)
		TAP_EQ_INT(fm_filter_unload(svc[i], true, NULL, 0), STATUS_SUCCESS);
	fm_volume_destroy(vol);
	fm_lower_destroy(lw);
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", rdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", rdir);
}

int main(void)
{
	fm_log_open(NULL, FM_LOG_ERROR);
	fm_reg_init(NULL);
	fm_core_init();
	TAP_RUN(t_load);
	TAP_RUN(t_ecp_list);
	TAP_RUN(t_ecp_create);
	TAP_RUN(t_ea);
	TAP_RUN(t_tag);
	TAP_RUN(t_security);
	TAP_RUN(t_volume_io);
	TAP_RUN(t_devices);
	TAP_RUN(t_information);
	TAP_RUN(t_zw);
	TAP_RUN(t_not_supported);
	TAP_RUN(t_unload);
	fm_core_shutdown();
	return tap_done();
}
