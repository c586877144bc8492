/* Unit tests of filter-initiated I/O and work items: three instances over a fake lower. */
#include "core/core_i.h"
#include "core/registry.h"
#include "volume/lowerfs.h"
#include "common/log.h"

#include "core_fixture.h"
#include "tap.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- A fake lower file system: one file whose content is `content` ---- */

static const char content[] = "hello, filtered world";
static int lower_creates, lower_closes;
static ULONG lower_last_options;
static UCHAR lower_last_major, lower_last_minor, lower_last_opflags;
static FILE_INFORMATION_CLASS lower_last_class;
static bool lower_last_replace;
static PFILE_OBJECT lower_last_fo;
static PFILE_OBJECT lower_last_related;

static NTSTATUS fake_dispatch(struct fm_volume *v, PFLT_CALLBACK_DATA data)
{
	PFLT_IO_PARAMETER_BLOCK iopb = data->Iopb;
	PFILE_OBJECT fo = iopb->TargetFileObject;
	NTSTATUS st = STATUS_SUCCESS;
	ULONG_PTR info = 0;

	(void)v;
	lower_last_major = iopb->MajorFunction;
	lower_last_minor = iopb->MinorFunction;
	lower_last_opflags = iopb->OperationFlags;
	lower_last_fo = fo;
	switch (iopb->MajorFunction) {
	case IRP_MJ_CREATE:
		lower_creates++;
		lower_last_related = fo->RelatedFileObject;
		lower_last_options = iopb->Parameters.Create.Options;
		if (fo->FileName.Length >= 10 && !memcmp(fo->FileName.Buffer, u"\\none", 10)) {
			st = STATUS_OBJECT_NAME_NOT_FOUND;
			break;
		}
		fo->FsContext = (void *)0x10;
		fo->FsContext2 = (void *)0x20;
		info = FILE_OPENED;
		break;
	case IRP_MJ_CLOSE:
		lower_closes++;
		fo->FsContext = NULL;
		fo->FsContext2 = NULL;
		break;
	case IRP_MJ_READ: {
		LONGLONG off = iopb->Parameters.Read.ByteOffset.QuadPart;
		ULONG len = iopb->Parameters.Read.Length;
		if (off >= (LONGLONG)sizeof(content) - 1) {
			st = STATUS_END_OF_FILE;
			break;
		}
		if (off + (LONGLONG)len > (LONGLONG)sizeof(content) - 1)
			len = (ULONG)(sizeof(content) - 1 - off);
		memcpy(iopb->Parameters.Read.ReadBuffer, content + off, len);
		info = len;
		break;
	}
	case IRP_MJ_WRITE:
		info = iopb->Parameters.Write.Length;
		break;
	case IRP_MJ_QUERY_INFORMATION:
		if (iopb->Parameters.QueryFileInformation.FileInformationClass ==
		    FileStandardInformation) {
			FILE_STANDARD_INFORMATION *s =
			    iopb->Parameters.QueryFileInformation.InfoBuffer;
			memset(s, 0, sizeof(*s));
			s->EndOfFile.QuadPart = sizeof(content) - 1;
			s->NumberOfLinks = 1;
			info = sizeof(*s);
		} else {
			st = STATUS_INVALID_INFO_CLASS;
		}
		break;
	case IRP_MJ_SET_INFORMATION:
		lower_last_class = iopb->Parameters.SetFileInformation.FileInformationClass;
		lower_last_replace = iopb->Parameters.SetFileInformation.ReplaceIfExists;
		break;
	case IRP_MJ_DIRECTORY_CONTROL:
		lower_last_class =
		    iopb->Parameters.DirectoryControl.QueryDirectory.FileInformationClass;
		info = 16;
		break;
	case IRP_MJ_QUERY_VOLUME_INFORMATION:
		info = iopb->Parameters.QueryVolumeInformation.Length;
		break;
	default:
		break;
	}
	data->IoStatus.Status = st;
	data->IoStatus.Information = info;
	return st;
}

static const struct fm_lower_ops fake_ops = {fake_dispatch, fx_stream_path, fx_stream_is_dir};

/* ---- Three filters: top (300000), mid (200000), low (100000) ---- */

enum { TOP, MID, LOW, NF };
static const char *const svc[NF] = {"iotop", "iomid", "iolow"};
static const char *const alt[NF] = {"300000", "200000", "100000"};

struct tf {
	PFLT_FILTER filter;
	PFLT_INSTANCE inst;  /* on the first volume */
	PFLT_INSTANCE rinst; /* on the volume over a real backing directory */
	int pre[FM_NMAJOR], post[FM_NMAJOR];
	bool saw_generated, saw_kernel;
	bool pend_reads; /* pend reads and resume from a deferred I/O work item */
	NTSTATUS defer_status;
	bool cancel_creates; /* FltCancelFileOpen in post-create */
};

static struct tf F[NF];
static struct fm_volume *vol, *vol2;
static bool capture_real; /* instance setups now are on the real volume */

static int tf_index(PCFLT_RELATED_OBJECTS o)
{
	for (int i = 0; i < NF; i++)
		if (F[i].filter == o->Filter)
			return i;
	return LOW;
}

static void deferred_resume(PFLT_DEFERRED_IO_WORKITEM w, PFLT_CALLBACK_DATA d, PVOID ctx)
{
	(void)ctx;
	usleep(30000);
	FltFreeDeferredIoWorkItem(w);
	FltCompletePendedPreOperation(d, FLT_PREOP_SUCCESS_WITH_CALLBACK, NULL);
}

static FLT_PREOP_CALLBACK_STATUS tf_pre(PFLT_CALLBACK_DATA d, PCFLT_RELATED_OBJECTS o, PVOID *ctx)
{
	struct tf *t = &F[tf_index(o)];

	*ctx = NULL;
	t->pre[d->Iopb->MajorFunction]++;
	if (FLT_IS_GENERATED_IO(d))
		t->saw_generated = true;
	if (d->RequestorMode == KernelMode && FltGetRequestorProcessId(d) == 0)
		t->saw_kernel = true;
	if (t->pend_reads && d->Iopb->MajorFunction == IRP_MJ_READ) {
		PFLT_DEFERRED_IO_WORKITEM w = FltAllocateDeferredIoWorkItem();
		t->defer_status =
		    FltQueueDeferredIoWorkItem(w, d, deferred_resume, DelayedWorkQueue, NULL);
		if (NT_SUCCESS(t->defer_status))
			return FLT_PREOP_PENDING;
		FltFreeDeferredIoWorkItem(w);
	}
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS tf_post(PFLT_CALLBACK_DATA d, PCFLT_RELATED_OBJECTS o, PVOID ctx,
					  FLT_POST_OPERATION_FLAGS flags)
{
	struct tf *t = &F[tf_index(o)];

	(void)ctx;
	(void)flags;
	t->post[d->Iopb->MajorFunction]++;
	if (t->cancel_creates && d->Iopb->MajorFunction == IRP_MJ_CREATE &&
	    NT_SUCCESS(d->IoStatus.Status)) {
		FltCancelFileOpen(o->Instance, o->FileObject);
		d->IoStatus.Status = STATUS_ACCESS_DENIED;
		d->IoStatus.Information = 0;
	}
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static NTSTATUS tf_setup(PCFLT_RELATED_OBJECTS o, FLT_INSTANCE_SETUP_FLAGS f, DEVICE_TYPE dt,
			 FLT_FILESYSTEM_TYPE ft)
{
	(void)f;
	(void)dt;
	(void)ft;
	if (capture_real)
		F[tf_index(o)].rinst = o->Instance;
	else if (o->Volume == vol)
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

static const FLT_OPERATION_REGISTRATION tf_ops[] = {
    {IRP_MJ_CREATE, 0, tf_pre, tf_post, NULL},
    {IRP_MJ_READ, 0, tf_pre, tf_post, NULL},
    {IRP_MJ_WRITE, 0, tf_pre, tf_post, NULL},
    {IRP_MJ_QUERY_INFORMATION, 0, tf_pre, tf_post, NULL},
    {IRP_MJ_CLEANUP, 0, tf_pre, tf_post, NULL},
    {IRP_MJ_CLOSE, 0, tf_pre, tf_post, NULL},
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
		memset(F[i].post, 0, sizeof(F[i].post));
		F[i].saw_generated = F[i].saw_kernel = false;
		F[i].pend_reads = F[i].cancel_creates = false;
	}
	lower_creates = lower_closes = 0;
}

/* Open `name` (volume-relative) on vol from instance `from`. */
static NTSTATUS open_from(int from, const WCHAR *rel, HANDLE *h, PFILE_OBJECT *fo)
{
	WCHAR full[256];
	const UNICODE_STRING *dev = fm_volume_device_name_w(vol);
	size_t dn = dev->Length / sizeof(WCHAR), rn = 0;
	UNICODE_STRING us;
	OBJECT_ATTRIBUTES oa;
	IO_STATUS_BLOCK iosb;

	while (rel[rn])
		rn++;
	memcpy(full, dev->Buffer, dev->Length);
	memcpy(full + dn, rel, rn * sizeof(WCHAR));
	us.Buffer = full;
	us.Length = us.MaximumLength = (USHORT)((dn + rn) * sizeof(WCHAR));
	InitializeObjectAttributes(&oa, &us, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
	return FltCreateFileEx(F[from].filter, F[from].inst, h, fo, GENERIC_READ, &oa, &iosb, NULL,
			       FILE_ATTRIBUTE_NORMAL, FILE_SHARE_READ, FILE_OPEN,
			       FILE_SYNCHRONOUS_IO_NONALERT | FILE_NON_DIRECTORY_FILE, NULL, 0, 0);
}

/* ---- Tests ---- */

static void t_load(void)
{
	vol = fx_make_volume("/mnt/fltio1", &fake_ops);
	for (int i = 0; i < NF; i++) {
		fx_reg_service(svc[i], alt[i], 0);
		entry_index = i;
		TAP_EQ_INT(fm_filter_load_builtin(svc[i], tf_entry, NULL, 0), STATUS_SUCCESS);
		TAP_CHECK(F[i].inst != NULL);
	}
	vol2 = fx_make_volume("/mnt/fltio2", &fake_ops);
}

/* I/O issued by the middle instance is seen by the lowest only. */
static void t_below_issuer(void)
{
	HANDLE h = NULL;
	PFILE_OBJECT fo = NULL;
	char buf[64];
	ULONG got = 0;
	FILE_STANDARD_INFORMATION si;

	reset();
	TAP_EQ_INT(open_from(MID, u"\\f.txt", &h, &fo), STATUS_SUCCESS);
	TAP_CHECK(h != NULL && fo != NULL);
	TAP_EQ_INT(lower_creates, 1);
	TAP_EQ_INT((lower_last_options >> 24) & 0xff, FILE_OPEN);
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_CREATE], 1);
	TAP_EQ_INT(F[LOW].post[IRP_MJ_CREATE], 1);
	TAP_EQ_INT(F[MID].pre[IRP_MJ_CREATE], 0);
	TAP_EQ_INT(F[TOP].pre[IRP_MJ_CREATE], 0);
	TAP_CHECK(F[LOW].saw_generated);
	TAP_CHECK(F[LOW].saw_kernel);
	if (!fo)
		return;
	/* The file object names the file volume-relative. */
	TAP_EQ_INT(fo->FileName.Length, 12);

	/* Reads from the current position move it. */
	memset(buf, 0, sizeof(buf));
	TAP_EQ_INT(FltReadFile(F[MID].inst, fo, NULL, 5, buf, 0, &got, NULL, NULL), STATUS_SUCCESS);
	TAP_EQ_INT(got, 5);
	TAP_EQ_STR(buf, "hello");
	TAP_EQ_INT(fo->CurrentByteOffset.QuadPart, 5);
	memset(buf, 0, sizeof(buf));
	TAP_EQ_INT(FltReadFile(F[MID].inst, fo, NULL, 2, buf, 0, &got, NULL, NULL), STATUS_SUCCESS);
	TAP_EQ_STR(buf, ", ");
	/* An explicit offset, position not updated on request. */
	{
		LARGE_INTEGER off = {.QuadPart = 7};
		memset(buf, 0, sizeof(buf));
		TAP_EQ_INT(FltReadFile(F[MID].inst, fo, &off, 8, buf,
				       FLTFL_IO_OPERATION_DO_NOT_UPDATE_BYTE_OFFSET |
					   FLTFL_IO_OPERATION_NON_CACHED,
				       &got, NULL, NULL),
			   STATUS_SUCCESS);
		TAP_EQ_STR(buf, "filtered");
		TAP_EQ_INT(fo->CurrentByteOffset.QuadPart, 7);
		off.QuadPart = 1000;
		TAP_EQ_INT(FltReadFile(F[MID].inst, fo, &off, 8, buf, 0, &got, NULL, NULL),
			   STATUS_END_OF_FILE);
		TAP_EQ_INT(got, 0);
	}
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_READ], 4);
	TAP_EQ_INT(F[MID].pre[IRP_MJ_READ] + F[TOP].pre[IRP_MJ_READ], 0);

	TAP_EQ_INT(FltWriteFile(F[MID].inst, fo, NULL, 3, "abc", 0, &got, NULL, NULL),
		   STATUS_SUCCESS);
	TAP_EQ_INT(got, 3);
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_WRITE], 1);

	TAP_EQ_INT(FltQueryInformationFile(F[MID].inst, fo, &si, sizeof(si),
					   FileStandardInformation, &got),
		   STATUS_SUCCESS);
	TAP_EQ_INT(got, sizeof(si));
	TAP_EQ_INT(si.EndOfFile.QuadPart, sizeof(content) - 1);
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_QUERY_INFORMATION], 1);
	TAP_EQ_INT(F[MID].pre[IRP_MJ_QUERY_INFORMATION], 0);

	/* ObReferenceObjectByHandle finds the same file object. */
	{
		PVOID o = NULL;
		TAP_EQ_INT(ObReferenceObjectByHandle(h, 0, *IoFileObjectType, KernelMode, &o, NULL),
			   STATUS_SUCCESS);
		TAP_CHECK(o == fo);
		ObDereferenceObject(o);
	}

	TAP_EQ_INT(FltClose(h), STATUS_SUCCESS);
	TAP_EQ_INT(lower_closes, 1);
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_CLEANUP], 1);
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_CLOSE], 1);
	TAP_EQ_INT(F[MID].pre[IRP_MJ_CLOSE] + F[TOP].pre[IRP_MJ_CLOSE], 0);
	TAP_EQ_INT(FltClose(h), STATUS_INVALID_HANDLE);
}

/* The top instance's I/O reaches mid and low; the lowest instance's reaches no one. */
static void t_issuers(void)
{
	HANDLE h;
	PFILE_OBJECT fo;

	reset();
	TAP_EQ_INT(open_from(TOP, u"\\f.txt", &h, &fo), STATUS_SUCCESS);
	TAP_EQ_INT(F[MID].pre[IRP_MJ_CREATE], 1);
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_CREATE], 1);
	TAP_EQ_INT(F[TOP].pre[IRP_MJ_CREATE], 0);
	/* ZwClose closes it as well. */
	TAP_EQ_INT(ZwClose(h), STATUS_SUCCESS);
	TAP_EQ_INT(F[MID].pre[IRP_MJ_CLOSE], 1);
	reset();
	TAP_EQ_INT(open_from(LOW, u"\\f.txt", &h, &fo), STATUS_SUCCESS);
	TAP_EQ_INT(
	    F[TOP].pre[IRP_MJ_CREATE] + F[MID].pre[IRP_MJ_CREATE] + F[LOW].pre[IRP_MJ_CREATE], 0);
	TAP_EQ_INT(lower_creates, 1);
	TAP_EQ_INT(FltClose(h), STATUS_SUCCESS);
	/* Errors: a missing file, a name on another volume, a name on no volume. */
	TAP_EQ_INT(open_from(MID, u"\\none", &h, &fo), STATUS_OBJECT_NAME_NOT_FOUND);
	TAP_CHECK(h == NULL);
	{
		UNICODE_STRING us;
		OBJECT_ATTRIBUTES oa;
		IO_STATUS_BLOCK iosb;
		WCHAR other[128];
		const UNICODE_STRING *dev2 = fm_volume_device_name_w(vol2);

		memcpy(other, dev2->Buffer, dev2->Length);
		memcpy((char *)other + dev2->Length, u"\\f.txt", 12);
		us.Buffer = other;
		us.Length = us.MaximumLength = (USHORT)(dev2->Length + 12);
		InitializeObjectAttributes(&oa, &us, OBJ_KERNEL_HANDLE, NULL, NULL);
		TAP_EQ_INT(FltCreateFile(F[MID].filter, F[MID].inst, &h, GENERIC_READ, &oa, &iosb,
					 NULL, 0, 0, FILE_OPEN, 0, NULL, 0, 0),
			   STATUS_NOT_SAME_DEVICE);
		RtlInitUnicodeString(&us, u"\\Device\\HarddiskVolume999\\f.txt");
		TAP_EQ_INT(FltCreateFile(F[MID].filter, F[MID].inst, &h, GENERIC_READ, &oa, &iosb,
					 NULL, 0, 0, FILE_OPEN, 0, NULL, 0, 0),
			   STATUS_OBJECT_PATH_NOT_FOUND);
	}
}

static volatile int async_calls;
static volatile NTSTATUS async_status;
static volatile ULONG_PTR async_bytes;

static void async_cb(PFLT_CALLBACK_DATA d, PFLT_CONTEXT ctx)
{
	async_status = d->IoStatus.Status;
	async_bytes = d->IoStatus.Information;
	TAP_CHECK(ctx == (PVOID)0x77);
	__atomic_add_fetch(&async_calls, 1, __ATOMIC_SEQ_CST);
}

static bool wait_for(volatile int *v, int want)
{
	for (int i = 0; i < 2000 && __atomic_load_n(v, __ATOMIC_SEQ_CST) < want; i++)
		usleep(1000);
	return __atomic_load_n(v, __ATOMIC_SEQ_CST) >= want;
}

/* Asynchronous reads, completed inline and after a deferred I/O work item pended them. */
static void t_async_and_deferred(void)
{
	HANDLE h;
	PFILE_OBJECT fo;
	char buf[32];
	LARGE_INTEGER off = {.QuadPart = 0};
	ULONG got = 0;
	NTSTATUS st;

	reset();
	TAP_EQ_INT(open_from(MID, u"\\f.txt", &h, &fo), STATUS_SUCCESS);
	async_calls = 0;
	memset(buf, 0, sizeof(buf));
	st = FltReadFile(F[MID].inst, fo, &off, 5, buf, 0, NULL, async_cb, (PVOID)0x77);
	TAP_CHECK(st == STATUS_SUCCESS || st == STATUS_PENDING);
	TAP_CHECK(wait_for(&async_calls, 1));
	TAP_EQ_INT(async_status, STATUS_SUCCESS);
	TAP_EQ_INT(async_bytes, 5);
	TAP_EQ_STR(buf, "hello");

	/* The lowest filter pends reads and resumes them from a deferred I/O work item. */
	F[LOW].pend_reads = true;
	memset(buf, 0, sizeof(buf));
	off.QuadPart = 7;
	st = FltReadFile(F[MID].inst, fo, &off, 8, buf, 0, NULL, async_cb, (PVOID)0x77);
	TAP_EQ_INT(F[LOW].defer_status, STATUS_SUCCESS);
	TAP_EQ_INT(st, STATUS_PENDING);
	TAP_CHECK(wait_for(&async_calls, 2));
	TAP_EQ_STR(buf, "filtered");
	TAP_EQ_INT(F[LOW].post[IRP_MJ_READ], 2);
	/* A synchronous read waits for the pended operation. */
	memset(buf, 0, sizeof(buf));
	TAP_EQ_INT(FltReadFile(F[MID].inst, fo, &off, 8, buf, 0, &got, NULL, NULL), STATUS_SUCCESS);
	TAP_EQ_INT(got, 8);
	TAP_EQ_STR(buf, "filtered");
	F[LOW].pend_reads = false;
	TAP_EQ_INT(FltClose(h), STATUS_SUCCESS);
}

/* Callback data the filter builds: synchronous and asynchronous. */
static void t_callback_data(void)
{
	HANDLE h;
	PFILE_OBJECT fo;
	PFLT_CALLBACK_DATA cd = NULL;
	FILE_STANDARD_INFORMATION si;
	char buf[16];
	NTSTATUS st;

	reset();
	TAP_EQ_INT(open_from(MID, u"\\f.txt", &h, &fo), STATUS_SUCCESS);
	TAP_EQ_INT(FltAllocateCallbackData(F[MID].inst, fo, &cd), STATUS_SUCCESS);
	if (!cd)
		return;
	cd->Iopb->MajorFunction = IRP_MJ_QUERY_INFORMATION;
	cd->Iopb->Parameters.QueryFileInformation.FileInformationClass = FileStandardInformation;
	cd->Iopb->Parameters.QueryFileInformation.Length = sizeof(si);
	cd->Iopb->Parameters.QueryFileInformation.InfoBuffer = &si;
	FltPerformSynchronousIo(cd);
	TAP_EQ_INT(cd->IoStatus.Status, STATUS_SUCCESS);
	TAP_EQ_INT(cd->IoStatus.Information, sizeof(si));
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_QUERY_INFORMATION], 1);
	TAP_EQ_INT(F[MID].pre[IRP_MJ_QUERY_INFORMATION], 0);

	FltReuseCallbackData(cd);
	cd->Iopb->MajorFunction = IRP_MJ_READ;
	cd->Iopb->Parameters.Read.Length = 5;
	cd->Iopb->Parameters.Read.ByteOffset.QuadPart = 0;
	cd->Iopb->Parameters.Read.ReadBuffer = buf;
	memset(buf, 0, sizeof(buf));
	async_calls = 0;
	F[LOW].pend_reads = true;
	st = FltPerformAsynchronousIo(cd, async_cb, (PVOID)0x77);
	TAP_EQ_INT(st, STATUS_PENDING);
	TAP_CHECK(wait_for(&async_calls, 1));
	TAP_EQ_STR(buf, "hello");
	F[LOW].pend_reads = false;
	FltFreeCallbackData(cd);
	TAP_EQ_INT(FltClose(h), STATUS_SUCCESS);
}

/* A post-create that cancels the open: the caller gets the error, the file is closed below. */
static void t_cancel_open(void)
{
	PFILE_OBJECT fo = fm_file_object_alloc(vol, u"\\f.txt", 6);
	struct fm_requestor who = {.pid = 99};
	IO_SECURITY_CONTEXT sc = {0};
	struct fm_irp irp;
	NTSTATUS st;

	reset();
	F[MID].cancel_creates = true;
	fm_irp_init(&irp, vol, IRP_MJ_CREATE, 0, fo, &who);
	irp.iopb.Parameters.Create.SecurityContext = &sc;
	irp.iopb.Parameters.Create.Options = FILE_OPEN << 24;
	st = fm_irp_dispatch(&irp);
	fm_irp_cleanup(&irp);
	TAP_EQ_INT(st, STATUS_ACCESS_DENIED);
	TAP_EQ_INT(lower_closes, 1);
	TAP_CHECK(fo->FsContext2 == NULL);
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_CLEANUP], 1);
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_CLOSE], 1);
	TAP_EQ_INT(F[MID].pre[IRP_MJ_CLOSE] + F[TOP].pre[IRP_MJ_CLOSE], 0);
	TAP_EQ_INT(F[TOP].post[IRP_MJ_CREATE], 1);
	F[MID].cancel_creates = false;
	fm_file_object_free(fo);
}

/* Reissue from a post-op, and completion processing when safe. */
static PFLT_INSTANCE reissue_inst;
static int safe_calls;

static FLT_POSTOP_CALLBACK_STATUS safe_post(PFLT_CALLBACK_DATA d, PCFLT_RELATED_OBJECTS o,
					    PVOID ctx, FLT_POST_OPERATION_FLAGS flags)
{
	(void)d;
	(void)o;
	(void)flags;
	TAP_CHECK(ctx == (PVOID)0x5);
	safe_calls++;
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static void t_reissue_and_safe(void)
{
	PFILE_OBJECT fo = fm_file_object_alloc(vol, u"\\f.txt", 6);
	struct fm_requestor who = {.pid = 98};
	struct fm_irp irp;
	char buf[8];
	FLT_POSTOP_CALLBACK_STATUS ps = FLT_POSTOP_MORE_PROCESSING_REQUIRED;
	FLT_RELATED_OBJECTS objs = {0};

	reset();
	reissue_inst = F[MID].inst;
	fm_irp_init(&irp, vol, IRP_MJ_READ, 0, fo, &who);
	irp.iopb.Parameters.Read.Length = 5;
	irp.iopb.Parameters.Read.ReadBuffer = buf;
	TAP_EQ_INT(fm_irp_dispatch(&irp), STATUS_SUCCESS);
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_READ], 1);
	/* As if MID's post-operation reissued it: only LOW sees the second trip. */
	FltReissueSynchronousIo(reissue_inst, &irp.data);
	TAP_EQ_INT(irp.data.IoStatus.Status, STATUS_SUCCESS);
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_READ], 2);
	TAP_EQ_INT(F[MID].pre[IRP_MJ_READ], 1);
	TAP_EQ_INT(F[TOP].pre[IRP_MJ_READ], 1);
	fm_irp_cleanup(&irp);
	fm_file_object_free(fo);

	TAP_CHECK(
	    FltDoCompletionProcessingWhenSafe(&irp.data, &objs, (PVOID)0x5, 0, safe_post, &ps));
	TAP_EQ_INT(safe_calls, 1);
	TAP_EQ_INT(ps, FLT_POSTOP_FINISHED_PROCESSING);
	TAP_CHECK(!FltDoCompletionProcessingWhenSafe(
	    &irp.data, &objs, (PVOID)0x5, FLTFL_POST_OPERATION_DRAINING, safe_post, &ps));
	TAP_EQ_INT(safe_calls, 1);
}

/* The other routines reach the lower with the right major, minor and flags. */
static void t_other_routines(void)
{
	HANDLE h, h2;
	PFILE_OBJECT fo, fo2;
	char buf[64];
	ULONG got = 0;
	IO_STATUS_BLOCK iosb;
	FILE_DISPOSITION_INFORMATION_EX d = {.Flags = FILE_DISPOSITION_DELETE};
	union {
		FILE_RENAME_INFORMATION ri;
		char raw[64];
	} r;
	UNICODE_STRING us;
	OBJECT_ATTRIBUTES oa;

	reset();
	TAP_EQ_INT(open_from(MID, u"\\f.txt", &h, &fo), STATUS_SUCCESS);
	TAP_EQ_INT(FltQueryDirectoryFile(F[MID].inst, fo, buf, sizeof(buf),
					 FileDirectoryInformation, TRUE, NULL, TRUE, &got),
		   STATUS_SUCCESS);
	TAP_EQ_INT(lower_last_major, IRP_MJ_DIRECTORY_CONTROL);
	TAP_EQ_INT(lower_last_minor, IRP_MN_QUERY_DIRECTORY);
	TAP_EQ_INT(lower_last_opflags, SL_RETURN_SINGLE_ENTRY | SL_RESTART_SCAN);
	TAP_EQ_INT(lower_last_class, FileDirectoryInformation);
	TAP_EQ_INT(got, 16);
	TAP_EQ_INT(FltQueryDirectoryFileEx(F[MID].inst, fo, buf, sizeof(buf), FileNamesInformation,
					   SL_INDEX_SPECIFIED, NULL, &got),
		   STATUS_SUCCESS);
	TAP_EQ_INT(lower_last_opflags, SL_INDEX_SPECIFIED);

	TAP_EQ_INT(FltQueryVolumeInformation(F[MID].inst, &iosb, buf, 24, FileFsSizeInformation),
		   STATUS_SUCCESS);
	TAP_EQ_INT(lower_last_major, IRP_MJ_QUERY_VOLUME_INFORMATION);
	TAP_CHECK(lower_last_fo == NULL);
	TAP_EQ_INT(iosb.Information, 24);
	TAP_EQ_INT(
	    FltQueryVolumeInformationFile(F[MID].inst, fo, buf, 24, FileFsSizeInformation, &got),
	    STATUS_SUCCESS);
	TAP_CHECK(lower_last_fo == fo);
	TAP_EQ_INT(got, 24);

	TAP_EQ_INT(
	    FltSetInformationFile(F[MID].inst, fo, &d, sizeof(d), FileDispositionInformationEx),
	    STATUS_SUCCESS);
	TAP_EQ_INT(lower_last_class, FileDispositionInformationEx);
	memset(&r, 0, sizeof(r));
	r.ri.Flags = FILE_RENAME_REPLACE_IF_EXISTS;
	r.ri.FileNameLength = 4;
	memcpy(r.ri.FileName, u"\\g", 4);
	TAP_EQ_INT(FltSetInformationFile(F[MID].inst, fo, &r, sizeof(r), FileRenameInformationEx),
		   STATUS_SUCCESS);
	TAP_CHECK(lower_last_replace);
	r.ri.Flags = 0x2; /* POSIX semantics only */
	TAP_EQ_INT(FltSetInformationFile(F[MID].inst, fo, &r, sizeof(r), FileRenameInformationEx),
		   STATUS_SUCCESS);
	TAP_CHECK(!lower_last_replace);
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_SET_INFORMATION] + F[MID].pre[IRP_MJ_SET_INFORMATION], 0);

	TAP_EQ_INT(FltFlushBuffers(F[MID].inst, fo), STATUS_SUCCESS);
	TAP_EQ_INT(lower_last_major, IRP_MJ_FLUSH_BUFFERS);
	TAP_EQ_INT(FltFlushBuffers2(F[MID].inst, fo, 1, NULL), STATUS_SUCCESS);
	TAP_EQ_INT(lower_last_minor, IRP_MN_FLUSH_DATA_ONLY);

	/* A name relative to an open directory handle. */
	RtlInitUnicodeString(&us, u"sub.txt");
	InitializeObjectAttributes(&oa, &us, OBJ_KERNEL_HANDLE, h, NULL);
	TAP_EQ_INT(FltCreateFileEx2(F[MID].filter, F[MID].inst, &h2, &fo2, GENERIC_READ, &oa, &iosb,
				    NULL, 0, 0, FILE_OPEN_IF, 0, NULL, 0, 0, NULL),
		   STATUS_SUCCESS);
	TAP_CHECK(lower_last_related == fo);
	TAP_EQ_INT(iosb.Information, FILE_OPENED);
	TAP_EQ_INT(FltClose(h2), STATUS_SUCCESS);
	/* No file object, or one of another volume: refused. */
	TAP_EQ_INT(FltReadFile(F[MID].inst, NULL, NULL, 1, buf, 0, NULL, NULL, NULL),
		   STATUS_INVALID_PARAMETER);
	fo2 = fm_file_object_alloc(vol2, u"\\f.txt", 6);
	TAP_EQ_INT(FltReadFile(F[MID].inst, fo2, NULL, 1, buf, 0, NULL, NULL, NULL),
		   STATUS_INVALID_PARAMETER);
	fm_file_object_free(fo2);
	TAP_EQ_INT(FltClose(h), STATUS_SUCCESS);

	/* No instance: the create enters at the top of the stack. */
	reset();
	{
		WCHAR full[128];
		const UNICODE_STRING *dev = fm_volume_device_name_w(vol);

		memcpy(full, dev->Buffer, dev->Length);
		memcpy((char *)full + dev->Length, u"\\f.txt", 12);
		us.Buffer = full;
		us.Length = us.MaximumLength = (USHORT)(dev->Length + 12);
		InitializeObjectAttributes(&oa, &us, OBJ_KERNEL_HANDLE, NULL, NULL);
		TAP_EQ_INT(FltCreateFile(F[MID].filter, NULL, &h, GENERIC_READ, &oa, &iosb, NULL, 0,
					 0, FILE_OPEN, 0, NULL, 0, 0),
			   STATUS_SUCCESS);
		TAP_EQ_INT(F[TOP].pre[IRP_MJ_CREATE] + F[MID].pre[IRP_MJ_CREATE] +
			       F[LOW].pre[IRP_MJ_CREATE],
			   3);
		TAP_EQ_INT(ZwClose(h), STATUS_SUCCESS);
		TAP_EQ_INT(F[TOP].pre[IRP_MJ_CLOSE], 1);
	}
}

/* ---- The same routines over the real lower file system (a temporary directory) ---- */

static char rdir[64];
static struct fm_volume *rvol;

static NTSTATUS ropen(int from, PFLT_INSTANCE inst, HANDLE root, const WCHAR *rel, ULONG disp,
		      ULONG options, ACCESS_MASK access, HANDLE *h, PFILE_OBJECT *fo,
		      ULONG_PTR *info)
{
	WCHAR full[256];
	const UNICODE_STRING *dev = fm_volume_device_name_w(rvol);
	size_t dn = root ? 0 : dev->Length / sizeof(WCHAR), rn = 0;
	UNICODE_STRING us;
	OBJECT_ATTRIBUTES oa;
	IO_STATUS_BLOCK iosb = {0};
	NTSTATUS st;

	while (rel[rn])
		rn++;
	if (!root)
		memcpy(full, dev->Buffer, dev->Length);
	memcpy(full + dn, rel, rn * sizeof(WCHAR));
	us.Buffer = full;
	us.Length = us.MaximumLength = (USHORT)((dn + rn) * sizeof(WCHAR));
	InitializeObjectAttributes(&oa, &us, OBJ_KERNEL_HANDLE, root, NULL);
	st = FltCreateFileEx(F[from].filter, inst, h, fo, access, &oa, &iosb, NULL,
			     FILE_ATTRIBUTE_NORMAL, FILE_SHARE_READ | FILE_SHARE_WRITE, disp,
			     options, NULL, 0, 0);
	if (info)
		*info = iosb.Information;
	return st;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void t_real_lower(void)
{
	struct fm_volume_params p = {0};
	struct fm_lower *lw = NULL;
	PFLT_INSTANCE mi;
	HANDLE h, hd, hn;
	PFILE_OBJECT fo, fod, fon;
	ULONG_PTR info;
	char buf[128], path[128];
	ULONG got;
	FILE_STANDARD_INFORMATION si;
	FILE_DISPOSITION_INFORMATION_EX d;
	IO_STATUS_BLOCK iosb;
	int fd, fds;

	snprintf(rdir, sizeof(rdir), "/tmp/fm-fltio-XXXXXX");
	if (!mkdtemp(rdir)) {
		TAP_CHECK(!"mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/data.txt", rdir);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	TAP_EQ_INT(write(fd, "0123456789", 10), 10);
	close(fd);
	snprintf(path, sizeof(path), "%s/sub", rdir);
	mkdir(path, 0755);
	fd = open(rdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	TAP_EQ_INT(fm_lower_create(fd, &lw), 0);
	if (!lw)
		return;
	p.mount_point = rdir;
	p.backing_dir = rdir;
	p.backing_fs = "tmpfs";
	p.fs_type = FLT_FSTYPE_NTFS;
	p.sector_size = 512;
	p.lower = &fm_lowerfs_ops;
	p.lower_ctx = lw;
	capture_real = true;
	TAP_EQ_INT(fm_volume_create(&p, &rvol), 0);
	capture_real = false;
	mi = F[MID].rinst;
	TAP_CHECK(mi != NULL);
	reset();

	/* Read from the current position, append, and see the size grow. */
	TAP_EQ_INT(ropen(MID, mi, NULL, u"\\data.txt", FILE_OPEN,
			 FILE_SYNCHRONOUS_IO_NONALERT | FILE_NON_DIRECTORY_FILE,
			 GENERIC_READ | GENERIC_WRITE, &h, &fo, &info),
		   STATUS_SUCCESS);
	TAP_EQ_INT(info, FILE_OPENED);
	memset(buf, 0, sizeof(buf));
	TAP_EQ_INT(FltReadFile(mi, fo, NULL, 4, buf, 0, &got, NULL, NULL), STATUS_SUCCESS);
	TAP_EQ_STR(buf, "0123");
	TAP_EQ_INT(FltReadFile(mi, fo, NULL, 4, buf, 0, &got, NULL, NULL), STATUS_SUCCESS);
	TAP_EQ_STR(buf, "4567");
	{
		LARGE_INTEGER eof = {.HighPart = -1, .LowPart = FILE_WRITE_TO_END_OF_FILE};
		TAP_EQ_INT(FltWriteFile(mi, fo, &eof, 3, "abc", 0, &got, NULL, NULL),
			   STATUS_SUCCESS);
		TAP_EQ_INT(got, 3);
	}
	TAP_EQ_INT(FltQueryInformationFile(mi, fo, &si, sizeof(si), FileStandardInformation, &got),
		   STATUS_SUCCESS);
	TAP_EQ_INT(si.EndOfFile.QuadPart, 13);
	TAP_EQ_INT(si.NumberOfLinks, 1);
	TAP_EQ_INT(FltFlushBuffers(mi, fo), STATUS_SUCCESS);
	TAP_EQ_INT(FltQueryVolumeInformation(mi, &iosb, buf, sizeof(FILE_FS_SIZE_INFORMATION),
					     FileFsSizeInformation),
		   STATUS_SUCCESS);
	TAP_EQ_INT(FltClose(h), STATUS_SUCCESS);
	TAP_EQ_INT(F[LOW].pre[IRP_MJ_READ], 2);
	TAP_EQ_INT(F[MID].pre[IRP_MJ_READ], 0);

	/* Create in a directory opened first, by a relative name; list it. */
	TAP_EQ_INT(ropen(MID, mi, NULL, u"\\sub", FILE_OPEN, FILE_DIRECTORY_FILE,
			 FILE_LIST_DIRECTORY | SYNCHRONIZE, &hd, &fod, NULL),
		   STATUS_SUCCESS);
	TAP_EQ_INT(ropen(MID, mi, hd, u"inner.txt", FILE_CREATE, FILE_NON_DIRECTORY_FILE,
			 GENERIC_WRITE | DELETE, &hn, &fon, &info),
		   STATUS_SUCCESS);
	TAP_EQ_INT(info, FILE_CREATED);
	snprintf(path, sizeof(path), "%s/sub/inner.txt", rdir);
	TAP_EQ_INT(access(path, F_OK), 0);
	TAP_EQ_INT(ropen(MID, mi, hd, u"inner.txt", FILE_CREATE, 0, GENERIC_WRITE, &h, &fo, NULL),
		   STATUS_OBJECT_NAME_COLLISION);
	memset(buf, 0, sizeof(buf));
	TAP_EQ_INT(FltQueryDirectoryFile(mi, fod, buf, sizeof(buf), FileNamesInformation, FALSE,
					 NULL, TRUE, &got),
		   STATUS_SUCCESS);
	{
		/* Find inner.txt among the entries (".", ".." may come first). */
		bool found = false;
		for (ULONG off = 0;;) {
			FILE_NAMES_INFORMATION *e = (FILE_NAMES_INFORMATION *)(buf + off);
			if (e->FileNameLength == 18 && !memcmp(e->FileName, u"inner.txt", 18))
				found = true;
			if (!e->NextEntryOffset)
				break;
			off += e->NextEntryOffset;
		}
		TAP_CHECK(found);
	}
	/* A POSIX delete through the new file's object: gone from the backing directory. */
	memset(&d, 0, sizeof(d));
	d.Flags = FILE_DISPOSITION_DELETE | FILE_DISPOSITION_POSIX_SEMANTICS;
	TAP_EQ_INT(FltSetInformationFile(mi, fon, &d, sizeof(d), FileDispositionInformationEx),
		   STATUS_SUCCESS);
	TAP_EQ_INT(FltClose(hn), STATUS_SUCCESS);
	TAP_EQ_INT(access(path, F_OK), -1);
	TAP_EQ_INT(FltClose(hd), STATUS_SUCCESS);

	/* A filter cancelling a process's open: the caller gets the error and the backing file
	 * descriptor is closed (no descriptor leaks). */
	fds = count_fds();
	F[MID].cancel_creates = true;
	{
		PFILE_OBJECT pfo = fm_file_object_alloc(rvol, u"\\data.txt", 9);
		struct fm_requestor who = {.pid = 97};
		IO_SECURITY_CONTEXT sc = {0};
		struct fm_irp irp;

		sc.DesiredAccess = GENERIC_READ;
		fm_irp_init(&irp, rvol, IRP_MJ_CREATE, 0, pfo, &who);
		irp.iopb.Parameters.Create.SecurityContext = &sc;
		irp.iopb.Parameters.Create.Options = (FILE_OPEN << 24) | FILE_NON_DIRECTORY_FILE;
		irp.iopb.Parameters.Create.ShareAccess = FILE_SHARE_READ;
		TAP_EQ_INT(fm_irp_dispatch(&irp), STATUS_ACCESS_DENIED);
		fm_irp_cleanup(&irp);
		TAP_CHECK(pfo->FsContext2 == NULL);
		fm_file_object_free(pfo);
	}
	F[MID].cancel_creates = false;
	TAP_EQ_INT(count_fds(), fds);

	fm_volume_destroy(rvol);
	fm_lower_destroy(lw);
	snprintf(buf, sizeof(buf), "rm -rf -- '%s'", rdir);
	if (system(buf) != 0)
		printf("# could not remove %s\n", rdir);
}

/* Generic work items run with their object; unregistration waits for them. */
static volatile int work_done;
static PVOID work_obj;

static void slow_work(PFLT_GENERIC_WORKITEM w, PVOID obj, PVOID ctx)
{
	(void)ctx;
	work_obj = obj;
	usleep(200000);
	FltFreeGenericWorkItem(w);
	__atomic_add_fetch(&work_done, 1, __ATOMIC_SEQ_CST);
}

static void quick_work(PFLT_GENERIC_WORKITEM w, PVOID obj, PVOID ctx)
{
	TAP_CHECK(ctx == (PVOID)0x99);
	work_obj = obj;
	FltFreeGenericWorkItem(w);
	__atomic_add_fetch(&work_done, 1, __ATOMIC_SEQ_CST);
}

static void t_work_items(void)
{
	PFLT_GENERIC_WORKITEM w = FltAllocateGenericWorkItem();
	PFLT_FILTER top = F[TOP].filter;

	work_done = 0;
	TAP_CHECK(w != NULL);
	TAP_EQ_INT(
	    FltQueueGenericWorkItem(w, F[MID].inst, quick_work, DelayedWorkQueue, (PVOID)0x99),
	    STATUS_SUCCESS);
	TAP_CHECK(wait_for(&work_done, 1));
	TAP_CHECK(work_obj == F[MID].inst);
	TAP_EQ_INT(FltQueueGenericWorkItem(NULL, top, quick_work, DelayedWorkQueue, NULL),
		   STATUS_INVALID_PARAMETER);

	/* Several slow items on the top filter, then unload it: the unload returns only once
	 * every routine has returned. */
	work_done = 0;
	for (int i = 0; i < 4; i++) {
		w = FltAllocateGenericWorkItem();
		TAP_EQ_INT(FltQueueGenericWorkItem(w, top, slow_work, CriticalWorkQueue, NULL),
			   STATUS_SUCCESS);
	}
	TAP_EQ_INT(fm_filter_unload(svc[TOP], false, NULL, 0), STATUS_SUCCESS);
	TAP_EQ_INT(__atomic_load_n(&work_done, __ATOMIC_SEQ_CST), 4);
	TAP_CHECK(work_obj == (PVOID)top);
	F[TOP].filter = NULL;
}

int main(void)
{
	fm_log_open(NULL, FM_LOG_ERROR);
	fm_reg_init(NULL);
	fm_core_init();
	TAP_RUN(t_load);
	TAP_RUN(t_below_issuer);
	TAP_RUN(t_issuers);
	TAP_RUN(t_async_and_deferred);
	TAP_RUN(t_callback_data);
	TAP_RUN(t_cancel_open);
	TAP_RUN(t_reissue_and_safe);
	TAP_RUN(t_other_routines);
	TAP_RUN(t_real_lower);
	TAP_RUN(t_work_items);
	fm_filter_unload(svc[MID], true, NULL, 0);
	fm_filter_unload(svc[LOW], true, NULL, 0);
	fm_volume_destroy(vol2);
	fm_volume_destroy(vol);
	fm_core_shutdown();
	return tap_done();
}
