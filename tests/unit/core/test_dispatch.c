/* Core unit tests: registration, attach, dispatch order and status, scoping, pending, names. */
#include "core/core_i.h"
#include "core/registry.h"
#include "common/log.h"

#include "core_fixture.h"
#include "tap.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- A fake lower file system that records what reached it ---- */

static char trace[1024];
static ULONG lower_read_length;
static NTSTATUS lower_status = STATUS_SUCCESS;
static int lower_calls;

static void tr(const char *s)
{
	if (trace[0])
		strncat(trace, " ", sizeof(trace) - strlen(trace) - 1);
	strncat(trace, s, sizeof(trace) - strlen(trace) - 1);
}

static NTSTATUS fake_dispatch(struct fm_volume *vol, PFLT_CALLBACK_DATA data)
{
	(void)vol;
	lower_calls++;
	tr("lower");
	if (data->Iopb->MajorFunction == IRP_MJ_CREATE)
		data->Iopb->TargetFileObject->FsContext = (void *)0x1;
	if (data->Iopb->MajorFunction == IRP_MJ_READ)
		lower_read_length = data->Iopb->Parameters.Read.Length;
	if (data->Iopb->MajorFunction == IRP_MJ_DIRECTORY_CONTROL) {
		/* Like the real lower: the MDL's address when there is one. */
		PFLT_PARAMETERS pp = &data->Iopb->Parameters;
		char *buf =
		    pp->DirectoryControl.QueryDirectory.MdlAddress
			? MmGetSystemAddressForMdlSafe(
			      pp->DirectoryControl.QueryDirectory.MdlAddress, NormalPagePriority)
			: pp->DirectoryControl.QueryDirectory.DirectoryBuffer;
		memcpy(buf, "LOWER", 6);
	}
	data->IoStatus.Status = lower_status;
	data->IoStatus.Information = 7;
	return lower_status;
}

static const struct fm_lower_ops fake_ops = {fake_dispatch, fx_stream_path, fx_stream_is_dir};

/* ---- Two test filters, A above B, whose behaviour the tests set ---- */

struct tf {
	const char *name;
	PFLT_FILTER filter;
	FLT_PREOP_CALLBACK_STATUS pre_result;
	NTSTATUS complete_status;
	ULONG set_read_length; /* nonzero: change Read.Length in pre */
	bool dirty;	       /* call FltSetCallbackDataDirty after the change */
	ULONG seen_pre_len, seen_post_len;
	bool pend_async; /* pend and complete from another thread */
	bool pend_early; /* complete before returning FLT_PREOP_PENDING */
	bool post_more;
	bool queue;
	/* pend into the cancel-safe queue */ /* return MORE_PROCESSING_REQUIRED from post */
	NTSTATUS setup_result;
	NTSTATUS unload_result;
	NTSTATUS query_result;
	unsigned int pend_delay_ms; /* for pend_async; 20 ms when 0 */
	ULONG last_setup_flags;
	int setups, teardowns;
};

static struct tf A = {.name = "A"}, B = {.name = "B"};

struct later {
	PFLT_CALLBACK_DATA data;
	bool post;
	struct tf *t;
};

static void *complete_later(void *arg)
{
	struct later *l = arg;
	char s[32];
	usleep(l->t->pend_delay_ms ? l->t->pend_delay_ms * 1000 : 20000);
	snprintf(s, sizeof(s), "%s-%s", l->t->name, l->post ? "postdone" : "resume");
	tr(s);
	if (l->post)
		FltCompletePendedPostOperation(l->data);
	else
		FltCompletePendedPreOperation(l->data, FLT_PREOP_SUCCESS_WITH_CALLBACK,
					      (PVOID)0x42);
	return NULL;
}

/* A cancel-safe queue of one list, as a filter would keep it. */
static FLT_CALLBACK_DATA_QUEUE cq;
static NTSTATUS last_queue_status;
static FLT_CALLBACK_DATA_QUEUE_IO_CONTEXT cq_ctx;
static LIST_ENTRY cq_list;
static pthread_mutex_t cq_lock = PTHREAD_MUTEX_INITIALIZER;

static NTSTATUS cq_insert(PFLT_CALLBACK_DATA_QUEUE q, PFLT_CALLBACK_DATA d, PVOID ctx)
{
	(void)q;
	(void)ctx;
	InsertTailList(&cq_list, &d->QueueLinks);
	return STATUS_SUCCESS;
}

static void cq_remove(PFLT_CALLBACK_DATA_QUEUE q, PFLT_CALLBACK_DATA d)
{
	(void)q;
	RemoveEntryList(&d->QueueLinks);
}

static PFLT_CALLBACK_DATA cq_peek(PFLT_CALLBACK_DATA_QUEUE q, PFLT_CALLBACK_DATA d, PVOID pc)
{
	PLIST_ENTRY next = d ? d->QueueLinks.Flink : cq_list.Flink;
	(void)q;
	(void)pc;
	return next == &cq_list ? NULL : CONTAINING_RECORD(next, FLT_CALLBACK_DATA, QueueLinks);
}

static void cq_acquire(PFLT_CALLBACK_DATA_QUEUE q, PKIRQL irql)
{
	(void)q;
	*irql = PASSIVE_LEVEL;
	pthread_mutex_lock(&cq_lock);
}

static void cq_release(PFLT_CALLBACK_DATA_QUEUE q, KIRQL irql)
{
	(void)q;
	(void)irql;
	pthread_mutex_unlock(&cq_lock);
}

static void cq_canceled(PFLT_CALLBACK_DATA_QUEUE q, PFLT_CALLBACK_DATA d)
{
	(void)q;
	tr("canceled");
	d->IoStatus.Status = STATUS_CANCELLED;
	d->IoStatus.Information = 0;
	FltCompletePendedPreOperation(d, FLT_PREOP_COMPLETE, NULL);
}

static struct tf *tf_of(PCFLT_RELATED_OBJECTS o)
{
	return o->Filter == A.filter ? &A : &B;
}

static FLT_PREOP_CALLBACK_STATUS tf_pre(PFLT_CALLBACK_DATA d, PCFLT_RELATED_OBJECTS o, PVOID *ctx)
{
	struct tf *t = tf_of(o);
	char s[32];
	static struct later l;
	static pthread_t th;

	snprintf(s, sizeof(s), "%s-pre", t->name);
	tr(s);
	t->seen_pre_len = d->Iopb->Parameters.Read.Length;
	*ctx = NULL;
	if (t->set_read_length) {
		d->Iopb->Parameters.Read.Length = t->set_read_length;
		if (t->dirty)
			FltSetCallbackDataDirty(d);
	}
	if (t->pre_result == FLT_PREOP_COMPLETE)
		d->IoStatus.Status = t->complete_status;
	if (t->queue) {
		NTSTATUS qs = FltCbdqInsertIo(&cq, d, &cq_ctx, NULL);
		last_queue_status = qs;
		return NT_SUCCESS(qs) ? FLT_PREOP_PENDING : FLT_PREOP_SUCCESS_NO_CALLBACK;
	}
	if (t->pend_async || t->pend_early) {
		l.data = d;
		l.post = false;
		l.t = t;
		if (t->pend_early) {
			FltCompletePendedPreOperation(d, FLT_PREOP_SUCCESS_WITH_CALLBACK,
						      (PVOID)0x42);
			return FLT_PREOP_PENDING;
		}
		pthread_create(&th, NULL, complete_later, &l);
		pthread_detach(th);
		return FLT_PREOP_PENDING;
	}
	return t->pre_result;
}

static FLT_POSTOP_CALLBACK_STATUS tf_post(PFLT_CALLBACK_DATA d, PCFLT_RELATED_OBJECTS o, PVOID ctx,
					  FLT_POST_OPERATION_FLAGS flags)
{
	struct tf *t = tf_of(o);
	char s[48];
	static struct later l;
	static pthread_t th;

	snprintf(s, sizeof(s), "%s-%s%s", t->name,
		 (flags & FLTFL_POST_OPERATION_DRAINING) ? "drain" : "post",
		 ctx == (PVOID)0x42 ? "(ctx)" : "");
	tr(s);
	t->seen_post_len = d->Iopb->Parameters.Read.Length;
	if (t->post_more) {
		l.data = d;
		l.post = true;
		l.t = t;
		pthread_create(&th, NULL, complete_later, &l);
		pthread_detach(th);
		return FLT_POSTOP_MORE_PROCESSING_REQUIRED;
	}
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static NTSTATUS tf_unload(FLT_FILTER_UNLOAD_FLAGS flags)
{
	struct tf *t = fm_current_filter() == A.filter ? &A : &B;
	(void)flags;
	if (!NT_SUCCESS(t->unload_result))
		return t->unload_result;
	FltUnregisterFilter(t->filter);
	return STATUS_SUCCESS;
}

static NTSTATUS tf_setup(PCFLT_RELATED_OBJECTS o, FLT_INSTANCE_SETUP_FLAGS f, DEVICE_TYPE dt,
			 FLT_FILESYSTEM_TYPE ft)
{
	struct tf *t = tf_of(o);
	(void)f;
	TAP_EQ_INT(dt, FILE_DEVICE_DISK_FILE_SYSTEM);
	TAP_EQ_INT(ft, FLT_FSTYPE_NTFS);
	t->setups++;
	t->last_setup_flags = f;
	return t->setup_result;
}

static NTSTATUS tf_query(PCFLT_RELATED_OBJECTS o, FLT_INSTANCE_QUERY_TEARDOWN_FLAGS f)
{
	(void)f;
	return tf_of(o)->query_result;
}

static void tf_teardown(PCFLT_RELATED_OBJECTS o, FLT_INSTANCE_TEARDOWN_FLAGS r)
{
	(void)r;
	tf_of(o)->teardowns++;
}

static const FLT_OPERATION_REGISTRATION tf_ops[] = {
    {IRP_MJ_CREATE, 0, tf_pre, tf_post, NULL},
    {IRP_MJ_READ, 0, tf_pre, tf_post, NULL},
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
    tf_query,
    NULL,
    tf_teardown,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
};

static struct tf *entry_target;

static NTSTATUS tf_entry(PDRIVER_OBJECT drv, PUNICODE_STRING regpath)
{
	(void)regpath;
	return fx_register_and_start(drv, &tf_reg, &entry_target->filter);
}

static NTSTATUS load_tf(struct tf *t)
{
	entry_target = t;
	return fm_filter_load_builtin(t == &A ? "fa" : "fb", tf_entry, NULL, 0);
}

static void reset(void)
{
	trace[0] = 0;
	lower_calls = 0;
	lower_status = STATUS_SUCCESS;
	for (struct tf *t = &A; t; t = t == &A ? &B : NULL) {
		t->pre_result = FLT_PREOP_SUCCESS_WITH_CALLBACK;
		t->complete_status = STATUS_SUCCESS;
		t->set_read_length = 0;
		t->dirty = false;
		t->pend_async = t->pend_early = t->post_more = false;
		t->pend_delay_ms = 0;
		t->query_result = STATUS_SUCCESS;
	}
}

static struct fm_volume *vol;

static NTSTATUS do_read(ULONG len)
{
	struct fm_irp irp;
	NTSTATUS st;
	PFILE_OBJECT fo = fm_file_object_alloc(vol, u"\\dir\\file.txt", 13);
	struct fm_requestor who = {.pid = 4242};

	fm_irp_init(&irp, vol, IRP_MJ_READ, 0, fo, &who);
	irp.iopb.Parameters.Read.Length = len;
	st = fm_irp_dispatch(&irp);
	TAP_EQ_INT(FltGetRequestorProcessId(&irp.data), 4242);
	fm_irp_cleanup(&irp);
	fm_file_object_free(fo);
	return st;
}

/* ---- Tests ---- */

static void t_altitudes(void)
{
	char a[64];
	TAP_EQ_INT(fm__altitude_normalize("0370020.500", a, sizeof(a)), 0);
	TAP_EQ_STR(a, "370020.5");
	TAP_EQ_INT(fm__altitude_normalize("12a", a, sizeof(a)), -EINVAL);
	TAP_EQ_INT(fm__altitude_normalize("1.", a, sizeof(a)), -EINVAL);
	TAP_CHECK(fm__altitude_cmp("100", "99") > 0);
	TAP_CHECK(fm__altitude_cmp("385250.5", "385250.25") > 0);
	TAP_CHECK(fm__altitude_cmp("385250", "385250.0001") < 0);
	TAP_CHECK(fm__altitude_cmp("320000", "320000") == 0);
	/* More digits than a double holds still compare exactly. */
	TAP_CHECK(fm__altitude_cmp("1.00000000000000000001", "1.00000000000000000002") < 0);
}

static void t_registration_errors(void)
{
	PFLT_FILTER f;
	DRIVER_OBJECT fake;

	/* Outside DriverEntry, or with a DriverObject that is not ours: refused (R3). */
	TAP_EQ_INT(FltRegisterFilter(&fake, &tf_reg, &f), STATUS_INVALID_PARAMETER);
	TAP_EQ_INT(FltRegisterFilter(NULL, &tf_reg, &f), STATUS_INVALID_PARAMETER);
}

static FLT_REGISTRATION *entry_reg;
static NTSTATUS entry_status;

static NTSTATUS reg_entry(PDRIVER_OBJECT drv, PUNICODE_STRING regpath)
{
	PFLT_FILTER f;
	(void)regpath;
	entry_status = FltRegisterFilter(drv, entry_reg, &f);
	if (NT_SUCCESS(entry_status))
		FltUnregisterFilter(f);
	return entry_status;
}

static void t_registration_validation(void)
{
	FLT_REGISTRATION r = tf_reg;
	FLT_OPERATION_REGISTRATION bad_ops[] = {
	    {IRP_MJ_SHUTDOWN, 0, tf_pre, tf_post, NULL},
	    {IRP_MJ_OPERATION_END, 0, NULL, NULL, NULL},
	};

	fx_reg_service("fv", "100000", 0);
	entry_reg = &r;
	r.Size = sizeof(r) - 8;
	TAP_EQ_INT(fm_filter_load_builtin("fv", reg_entry, NULL, 0), STATUS_INVALID_PARAMETER);
	r = tf_reg;
	r.Version = 0x0300;
	TAP_EQ_INT(fm_filter_load_builtin("fv", reg_entry, NULL, 0), STATUS_INVALID_PARAMETER);
	r = tf_reg;
	r.OperationRegistration = bad_ops; /* no post-shutdown callbacks (R11) */
	TAP_EQ_INT(fm_filter_load_builtin("fv", reg_entry, NULL, 0), STATUS_INVALID_PARAMETER);
	r = tf_reg;
	/* A service without instance definitions cannot register (R4). */
	{
		struct fm_regkey *k;
		char path[256];
		snprintf(path, sizeof(path), "%s\\noinst", FM_REG_SERVICES);
		fm_reg_open(path, 1, &k);
		fm_reg_close(k);
	}
	TAP_EQ_INT(fm_filter_load_builtin("noinst", reg_entry, NULL, 0),
		   STATUS_OBJECT_NAME_NOT_FOUND);
	TAP_EQ_INT(fm_filter_load_builtin("fv", reg_entry, NULL, 0), STATUS_SUCCESS);
	/* A loaded-then-failed filter leaves nothing listed. */
	{
		struct fm_filter_info *fi;
		size_t n;
		fm_list_filters(&fi, &n);
		for (size_t i = 0; i < n; i++)
			TAP_CHECK(strcmp(fi[i].name, "noinst") != 0);
		free(fi);
	}
}

static void t_load_attach_order(void)
{
	struct fm_instance_info *ii;
	size_t n;

	fx_reg_service("fa", "300000", 0);
	fx_reg_service("fb", "200000", 0);
	vol = fx_make_volume("/mnt/fake", &fake_ops);
	TAP_EQ_INT(load_tf(&B), STATUS_SUCCESS);
	TAP_EQ_INT(load_tf(&A), STATUS_SUCCESS);
	TAP_EQ_INT(A.setups, 1);
	TAP_EQ_INT(B.setups, 1);
	TAP_EQ_INT(fm_list_instances(&ii, &n), 0);
	TAP_EQ_INT(n, 2);
	if (n == 2) {
		TAP_EQ_STR(ii[0].filter, "fa");
		TAP_EQ_STR(ii[0].altitude, "300000");
		TAP_EQ_STR(ii[1].filter, "fb");
	}
	free(ii);
	TAP_EQ_INT(load_tf(&A), STATUS_IMAGE_ALREADY_LOADED);
	reset();
	TAP_EQ_INT(do_read(100), STATUS_SUCCESS);
	TAP_EQ_STR(trace, "A-pre B-pre lower B-post A-post");
}

static void t_complete_in_pre(void)
{
	reset();
	A.pre_result = FLT_PREOP_COMPLETE;
	A.complete_status = STATUS_ACCESS_DENIED;
	TAP_EQ_INT(do_read(100), STATUS_ACCESS_DENIED);
	TAP_EQ_STR(trace, "A-pre");
	reset();
	B.pre_result = FLT_PREOP_COMPLETE;
	B.complete_status = STATUS_OBJECT_NAME_NOT_FOUND;
	TAP_EQ_INT(do_read(100), STATUS_OBJECT_NAME_NOT_FOUND);
	TAP_EQ_STR(trace, "A-pre B-pre A-post");
	TAP_EQ_INT(lower_calls, 0);
}

static void t_no_callback(void)
{
	reset();
	B.pre_result = FLT_PREOP_SUCCESS_NO_CALLBACK;
	TAP_EQ_INT(do_read(100), STATUS_SUCCESS);
	TAP_EQ_STR(trace, "A-pre B-pre lower A-post");
}

static void t_lower_status(void)
{
	reset();
	lower_status = STATUS_END_OF_FILE;
	TAP_EQ_INT(do_read(100), STATUS_END_OF_FILE);
	TAP_EQ_STR(trace, "A-pre B-pre lower B-post A-post");
}

static void t_scoping(void)
{
	reset();
	A.set_read_length = 55;
	A.dirty = true;
	TAP_EQ_INT(do_read(100), STATUS_SUCCESS);
	TAP_EQ_INT(B.seen_pre_len, 55);
	TAP_EQ_INT(lower_read_length, 55);
	TAP_EQ_INT(B.seen_post_len, 55);
	TAP_EQ_INT(A.seen_post_len, 100);
	/* Without FltSetCallbackDataDirty the change does not count (R48). */
	reset();
	A.set_read_length = 55;
	TAP_EQ_INT(do_read(100), STATUS_SUCCESS);
	TAP_EQ_INT(B.seen_pre_len, 100);
	TAP_EQ_INT(lower_read_length, 100);
	/* A lower filter's change is invisible to the one above. */
	reset();
	B.set_read_length = 9;
	B.dirty = true;
	TAP_EQ_INT(do_read(100), STATUS_SUCCESS);
	TAP_EQ_INT(lower_read_length, 9);
	TAP_EQ_INT(B.seen_post_len, 100);
	TAP_EQ_INT(A.seen_post_len, 100);
}

static void t_pending(void)
{
	reset();
	A.pend_async = true;
	TAP_EQ_INT(do_read(100), STATUS_SUCCESS);
	TAP_EQ_STR(trace, "A-pre A-resume B-pre lower B-post A-post(ctx)");
	reset();
	A.pend_early = true;
	TAP_EQ_INT(do_read(100), STATUS_SUCCESS);
	TAP_EQ_STR(trace, "A-pre B-pre lower B-post A-post(ctx)");
	reset();
	B.post_more = true;
	TAP_EQ_INT(do_read(100), STATUS_SUCCESS);
	TAP_EQ_STR(trace, "A-pre B-pre lower B-post B-postdone A-post");
}

static void t_names(void)
{
	struct fm_irp irp;
	PFLT_FILE_NAME_INFORMATION ni = NULL;
	PFILE_OBJECT fo = fm_file_object_alloc(vol, u"\\dir\\File.TXT", 13);
	char want[64], got[256];
	NTSTATUS st;

	fm_irp_init(&irp, vol, IRP_MJ_CREATE, 0, fo, NULL);
	/* Pre-create: the name as opened, even in normalized format. */
	st = FltGetFileNameInformation(&irp.data,
				       FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT, &ni);
	TAP_EQ_INT(st, STATUS_SUCCESS);
	if (NT_SUCCESS(st)) {
		snprintf(want, sizeof(want), "%s\\dir\\File.TXT", fm_volume_device_name(vol));
		for (size_t i = 0; i < ni->Name.Length / 2 && i < sizeof(got) - 1; i++)
			got[i] = (char)ni->Name.Buffer[i], got[i + 1] = 0;
		TAP_EQ_STR(got, want);
		/* Every unit must be the real character, not an escaped look-alike. */
		for (size_t i = 0; i < ni->Name.Length / 2; i++)
			TAP_CHECK(ni->Name.Buffer[i] < 0x80);
		TAP_EQ_INT(FltParseFileNameInformation(ni), STATUS_SUCCESS);
		TAP_EQ_INT(ni->Extension.Length, 6);
		TAP_EQ_INT(ni->FinalComponent.Length, 16);
		TAP_EQ_INT(ni->ParentDir.Length, 10);
		TAP_EQ_INT(ni->Stream.Length, 0);
		TAP_EQ_INT(ni->Share.Length, 0);
		TAP_EQ_INT(ni->Volume.Length, fm_volume_device_name_w(vol)->Length);
		FltReferenceFileNameInformation(ni);
		FltReleaseFileNameInformation(ni);
		FltReleaseFileNameInformation(ni);
	}
	/* Once open: normalized is the lower's current path, opened is what was asked for. */
	fo->FsContext = (void *)0x1;
	irp.data.Flags |= FLTFL_CALLBACK_DATA_POST_OPERATION;
	st = FltGetFileNameInformation(&irp.data,
				       FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT, &ni);
	TAP_EQ_INT(st, STATUS_SUCCESS);
	if (NT_SUCCESS(st)) {
		snprintf(want, sizeof(want), "%s\\dir\\file.txt", fm_volume_device_name(vol));
		for (size_t i = 0; i < ni->Name.Length / 2 && i < sizeof(got) - 1; i++)
			got[i] = (char)ni->Name.Buffer[i], got[i + 1] = 0;
		TAP_EQ_STR(got, want);
		FltReleaseFileNameInformation(ni);
	}
	TAP_EQ_INT(FltGetFileNameInformation(&irp.data, 0x55, &ni), STATUS_INVALID_PARAMETER);
	fo->Flags |= FO_CLEANUP_COMPLETE;
	TAP_EQ_INT(FltGetFileNameInformation(
		       &irp.data, FLT_FILE_NAME_OPENED | FLT_FILE_NAME_QUERY_DEFAULT, &ni),
		   STATUS_FLT_INVALID_NAME_REQUEST);
	fo->FsContext = NULL;
	fm_file_object_free(fo);
}

static void t_manual_attach_detach(void)
{
	const char *dev = fm_volume_device_name(vol);
	PFLT_INSTANCE list[8];
	ULONG n = 0;
	UCHAR buf[512];
	PINSTANCE_FULL_INFORMATION full = (PINSTANCE_FULL_INFORMATION)buf;

	TAP_EQ_INT(fm_instance_attach("fb", dev, "second", "150000", NULL, 0), STATUS_SUCCESS);
	TAP_EQ_INT(B.last_setup_flags, FLTFL_INSTANCE_SETUP_MANUAL_ATTACHMENT);
	reset();
	TAP_EQ_INT(do_read(100), STATUS_SUCCESS);
	TAP_EQ_STR(trace, "A-pre B-pre B-pre lower B-post B-post A-post");
	TAP_EQ_INT(fm_instance_attach("fb", dev, "third", "150000", NULL, 0),
		   STATUS_OBJECT_NAME_COLLISION);
	TAP_EQ_INT(fm_instance_attach("fb", "/mnt/fake/", "second", "140000", NULL, 0),
		   STATUS_FLT_INSTANCE_NAME_COLLISION);
	TAP_EQ_INT(fm_instance_attach("nosuch", dev, NULL, NULL, NULL, 0),
		   STATUS_FLT_FILTER_NOT_FOUND);
	TAP_EQ_INT(FltEnumerateInstances(vol, B.filter, list, 0, &n), STATUS_BUFFER_TOO_SMALL);
	TAP_EQ_INT(n, 2);
	TAP_EQ_INT(FltEnumerateInstances(vol, B.filter, list, 8, &n), STATUS_SUCCESS);
	if (n == 2) {
		ULONG got = 0;
		TAP_EQ_INT(FltGetInstanceInformation(list[1], InstanceFullInformation, buf,
						     sizeof(buf), &got),
			   STATUS_SUCCESS);
		TAP_EQ_INT(full->InstanceNameLength, 6 * 2);
		TAP_EQ_INT(full->AltitudeLength, 6 * 2);
		TAP_EQ_INT(((WCHAR *)(buf + full->InstanceNameBufferOffset))[0], 's');
		TAP_EQ_INT(full->FilterNameLength, 2 * 2);
		TAP_CHECK(FltCompareInstanceAltitudes(list[0], list[1]) > 0);
		FltObjectDereference(list[0]);
		FltObjectDereference(list[1]);
	}
	B.query_result = STATUS_FLT_DO_NOT_DETACH;
	TAP_EQ_INT(fm_instance_detach("fb", dev, "second", NULL, 0), STATUS_FLT_DO_NOT_DETACH);
	B.query_result = STATUS_SUCCESS;
	TAP_EQ_INT(fm_instance_detach("fb", dev, "second", NULL, 0), STATUS_SUCCESS);
	TAP_EQ_INT(fm_instance_detach("fb", dev, "second", NULL, 0), STATUS_FLT_INSTANCE_NOT_FOUND);
	reset();
	TAP_EQ_INT(do_read(100), STATUS_SUCCESS);
	TAP_EQ_STR(trace, "A-pre B-pre lower B-post A-post");
}

static void *read_thread(void *arg)
{
	(void)arg;
	TAP_EQ_INT(do_read(100), STATUS_SUCCESS);
	return NULL;
}

static void t_draining(void)
{
	pthread_t th;
	int before = A.teardowns;

	/* B pends below A; A is detached meanwhile: A's post runs at once, draining, and the
	 * operation completes later without it (R29, R31). */
	reset();
	B.pend_async = true;
	B.pend_delay_ms = 300;
	pthread_create(&th, NULL, read_thread, NULL);
	usleep(100000);
	TAP_EQ_INT(fm_instance_detach("fa", fm_volume_device_name(vol), NULL, NULL, 0),
		   STATUS_SUCCESS);
	TAP_EQ_INT(A.teardowns, before + 1);
	TAP_EQ_STR(trace, "A-pre B-pre A-drain");
	pthread_join(th, NULL);
	TAP_EQ_STR(trace, "A-pre B-pre A-drain B-resume lower B-post(ctx)");
	TAP_EQ_INT(fm_instance_attach("fa", fm_volume_device_name(vol), NULL, NULL, NULL, 0),
		   STATUS_SUCCESS);
}

static bool cancel_after_50ms(void *arg)
{
	struct timespec *start = arg, now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000 > 50;
}

static void *dequeue_later(void *arg)
{
	PFLT_CALLBACK_DATA d;
	(void)arg;
	usleep(30000);
	d = FltCbdqRemoveNextIo(&cq, NULL);
	TAP_CHECK(d != NULL);
	if (d) {
		tr("dequeued");
		FltCompletePendedPreOperation(d, FLT_PREOP_SUCCESS_NO_CALLBACK, NULL);
	}
	return NULL;
}

static void t_cbdq_cancel(void)
{
	struct fm_irp irp;
	struct timespec start;
	PFILE_OBJECT fo = fm_file_object_alloc(vol, u"\\f", 2);
	pthread_t th;

	InitializeListHead(&cq_list);
	PFLT_INSTANCE bottom = NULL;

	TAP_EQ_INT(FltGetBottomInstance(vol, &bottom), STATUS_SUCCESS);
	TAP_EQ_INT(FltCbdqInitialize(bottom, &cq, cq_insert, cq_remove, cq_peek, cq_acquire,
				     cq_release, cq_canceled),
		   STATUS_SUCCESS);
	FltObjectDereference(bottom);
	/* A requester that gives up: the queued operation is cancelled through the queue. */
	reset();
	B.queue = true;
	fm_irp_init(&irp, vol, IRP_MJ_READ, 0, fo, NULL);
	clock_gettime(CLOCK_MONOTONIC, &start);
	irp.cancel_check = cancel_after_50ms;
	irp.cancel_arg = &start;
	TAP_EQ_INT(fm_irp_dispatch(&irp), STATUS_CANCELLED);
	TAP_CHECK(FltIsIoCanceled(&irp.data));
	TAP_EQ_STR(trace, "A-pre B-pre canceled A-post");
	TAP_CHECK(IsListEmpty(&cq_list));
	TAP_CHECK(FltCbdqRemoveIo(&cq, &cq_ctx) == NULL);
	fm_irp_cleanup(&irp);
	/* A worker that takes it first: the operation goes on, nothing is cancelled. */
	reset();
	B.queue = true;
	pthread_create(&th, NULL, dequeue_later, NULL);
	TAP_EQ_INT(do_read(100), STATUS_SUCCESS);
	pthread_join(th, NULL);
	TAP_EQ_STR(trace, "A-pre B-pre dequeued lower A-post");
	/* A disabled queue refuses new operations. */
	FltCbdqDisable(&cq);
	reset();
	B.queue = true;
	TAP_EQ_INT(do_read(100), STATUS_SUCCESS);
	TAP_EQ_INT(last_queue_status, STATUS_FLT_CBDQ_DISABLED);
	B.queue = false;
	FltCbdqEnable(&cq);
	fm_file_object_free(fo);
}

/* A filter that swaps the directory buffer of IRP_MJ_DIRECTORY_CONTROL for its own. */
static FLT_PREOP_CALLBACK_STATUS swap_pre(PFLT_CALLBACK_DATA d, PCFLT_RELATED_OBJECTS o, PVOID *ctx)
{
	PFLT_PARAMETERS pp = &d->Iopb->Parameters;
	ULONG len = pp->DirectoryControl.QueryDirectory.Length;
	PVOID mine = ExAllocatePoolWithTag(NonPagedPool, len, 'pwsT');
	PMDL mdl = mine ? IoAllocateMdl(mine, len, FALSE, FALSE, NULL) : NULL;

	(void)o;
	*ctx = NULL;
	if (!mdl) {
		if (mine)
			ExFreePoolWithTag(mine, 'pwsT');
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	}
	MmBuildMdlForNonPagedPool(mdl);
	memset(mine, 0, len);
	pp->DirectoryControl.QueryDirectory.DirectoryBuffer = mine;
	pp->DirectoryControl.QueryDirectory.MdlAddress = mdl;
	FltSetCallbackDataDirty(d);
	*ctx = mine;
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS swap_post(PFLT_CALLBACK_DATA d, PCFLT_RELATED_OBJECTS o,
					    PVOID ctx, FLT_POST_OPERATION_FLAGS f)
{
	PFLT_PARAMETERS pp = &d->Iopb->Parameters;

	(void)o;
	(void)f;
	/* The caller's buffer again (no MDL), and the swapped MDL for us to see. */
	TAP_CHECK(pp->DirectoryControl.QueryDirectory.DirectoryBuffer != ctx);
	TAP_CHECK(pp->DirectoryControl.QueryDirectory.MdlAddress == NULL);
	TAP_CHECK(FltGetSwappedBufferMdlAddress(d) != NULL);
	memcpy(pp->DirectoryControl.QueryDirectory.DirectoryBuffer, ctx, 6);
	ExFreePoolWithTag(ctx, 'pwsT');
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static const FLT_OPERATION_REGISTRATION swap_ops[] = {
    {IRP_MJ_DIRECTORY_CONTROL, 0, swap_pre, swap_post, NULL},
    {IRP_MJ_OPERATION_END, 0, NULL, NULL, NULL},
};

static PFLT_FILTER swap_filter;

static NTSTATUS swap_unload(FLT_FILTER_UNLOAD_FLAGS flags)
{
	(void)flags;
	FltUnregisterFilter(swap_filter);
	return STATUS_SUCCESS;
}

static NTSTATUS swap_entry(PDRIVER_OBJECT drv, PUNICODE_STRING regpath)
{
	static FLT_REGISTRATION r;
	NTSTATUS st;

	(void)regpath;
	r = tf_reg;
	r.OperationRegistration = swap_ops;
	r.FilterUnloadCallback = swap_unload;
	r.InstanceSetupCallback = NULL;
	r.InstanceTeardownCompleteCallback = NULL;
	st = FltRegisterFilter(drv, &r, &swap_filter);
	if (NT_SUCCESS(st))
		st = FltStartFiltering(swap_filter);
	return st;
}

static void t_swap_directory_buffer(void)
{
	struct fm_irp irp;
	char caller[64];
	PFILE_OBJECT fo = fm_file_object_alloc(vol, u"\\d", 2);

	fx_reg_service("fswap", "250000", 0);
	TAP_EQ_INT(fm_filter_load_builtin("fswap", swap_entry, NULL, 0), STATUS_SUCCESS);
	memset(caller, 'x', sizeof(caller));
	fm_irp_init(&irp, vol, IRP_MJ_DIRECTORY_CONTROL, IRP_MN_QUERY_DIRECTORY, fo, NULL);
	irp.iopb.Parameters.DirectoryControl.QueryDirectory.DirectoryBuffer = caller;
	irp.iopb.Parameters.DirectoryControl.QueryDirectory.Length = sizeof(caller);
	TAP_EQ_INT(fm_irp_dispatch(&irp), STATUS_SUCCESS);
	TAP_EQ_STR(caller, "LOWER");
	fm_irp_cleanup(&irp);
	fm_file_object_free(fo);
	TAP_EQ_INT(fm_filter_unload("fswap", false, NULL, 0), STATUS_SUCCESS);
}

static void t_unload_refused(void)
{
	int before = A.teardowns;

	A.unload_result = STATUS_FLT_DO_NOT_DETACH;
	TAP_EQ_INT(fm_filter_unload("fa", false, NULL, 0), STATUS_FLT_DO_NOT_DETACH);
	A.unload_result = STATUS_SUCCESS;
	TAP_EQ_INT(fm_filter_unload("fa", false, NULL, 0), STATUS_SUCCESS);
	TAP_EQ_INT(A.teardowns, before + 1);
	TAP_EQ_INT(fm_filter_unload("fa", false, NULL, 0), STATUS_OBJECT_NAME_NOT_FOUND);
	reset();
	TAP_EQ_INT(do_read(100), STATUS_SUCCESS);
	TAP_EQ_STR(trace, "B-pre lower B-post");
}

static void t_decline_and_late_volume(void)
{
	struct fm_volume *v2;
	struct fm_instance_info *ii;
	size_t n, on_v2 = 0;

	B.setup_result = STATUS_FLT_DO_NOT_ATTACH;
	v2 = fx_make_volume("/mnt/fake", &fake_ops);
	TAP_EQ_INT(fm_list_instances(&ii, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (strcmp(ii[i].volume_device, fm_volume_device_name(v2)) == 0)
			on_v2++;
	free(ii);
	TAP_EQ_INT(on_v2, 0);
	B.setup_result = STATUS_SUCCESS;
	fm_volume_destroy(v2);
}

static void t_dismount(void)
{
	int before = B.teardowns;
	fm_volume_destroy(vol);
	TAP_EQ_INT(B.teardowns, before + 1);
	TAP_EQ_INT(fm_filter_unload("fb", true, NULL, 0), STATUS_SUCCESS);
}

int main(void)
{
	fm_log_open(NULL, FM_LOG_WARN);
	fx_path = "dir/file.txt";
	fm_reg_init(NULL);
	fm_core_init();
	TAP_RUN(t_altitudes);
	TAP_RUN(t_registration_errors);
	TAP_RUN(t_registration_validation);
	TAP_RUN(t_load_attach_order);
	TAP_RUN(t_complete_in_pre);
	TAP_RUN(t_no_callback);
	TAP_RUN(t_lower_status);
	TAP_RUN(t_scoping);
	TAP_RUN(t_pending);
	TAP_RUN(t_names);
	TAP_RUN(t_manual_attach_detach);
	TAP_RUN(t_draining);
	TAP_RUN(t_cbdq_cancel);
	TAP_RUN(t_swap_directory_buffer);
	TAP_RUN(t_unload_refused);
	TAP_RUN(t_decline_and_late_volume);
	TAP_RUN(t_dismount);
	return tap_done();
}
