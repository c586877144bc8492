/* Allocation failure injection: every allocation of a core scenario fails in turn, cleanly. */
#include "common/alloc.h"
#include "common/log.h"
#include "core/core_i.h"
#include "core/registry.h"

#include "core_fixture.h"
#include "tap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * The scenario: create a volume, load a filter (registration, start, instance setup), open a
 * file (the filter's pre-create queries the name, its post-create sets a stream context and a
 * stream-handle context, allocates pool), read it, clean up and close, unload, destroy the
 * volume.  It runs once per allocation it makes, with that allocation failing: each step
 * either succeeds or returns a failure status, the scenario unwinds what it did, and at the
 * end of the test nothing is left (the ASan build's leak checker sees every byte).
 */

#define TAG 'tfAF'

static int stream_tag;

static NTSTATUS fake_dispatch(struct fm_volume *vol, PFLT_CALLBACK_DATA data)
{
	(void)vol;
	if (data->Iopb->MajorFunction == IRP_MJ_CREATE)
		data->Iopb->TargetFileObject->FsContext = &stream_tag;
	if (data->Iopb->MajorFunction == IRP_MJ_READ) {
		ULONG n = data->Iopb->Parameters.Read.Length;

		if (data->Iopb->Parameters.Read.ReadBuffer)
			memset(data->Iopb->Parameters.Read.ReadBuffer, 'r', n);
		data->IoStatus.Information = n;
	} else {
		data->IoStatus.Information = 0;
	}
	data->IoStatus.Status = STATUS_SUCCESS;
	return STATUS_SUCCESS;
}

static const struct fm_lower_ops fake_ops = {fake_dispatch, fx_stream_path, fx_stream_is_dir};

static PFLT_FILTER filter;
/* Statuses the filter saw from the services it called, by kind (0 = all succeeded). */
static long name_failures, context_failures, pool_failures;

static FLT_PREOP_CALLBACK_STATUS FLTAPI pre_create(PFLT_CALLBACK_DATA data,
						   PCFLT_RELATED_OBJECTS objs, PVOID *ctx)
{
	PFLT_FILE_NAME_INFORMATION info = NULL;
	NTSTATUS st;

	(void)objs;
	*ctx = NULL;
	st = FltGetFileNameInformation(data, FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT,
				       &info);
	if (NT_SUCCESS(st)) {
		st = FltParseFileNameInformation(info);
		if (!NT_SUCCESS(st))
			name_failures++;
		FltReleaseFileNameInformation(info);
	} else {
		name_failures++;
		/* A failure is a status, never a half-made object. */
		TAP_CHECK(info == NULL);
	}
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI post_create(PFLT_CALLBACK_DATA data,
						     PCFLT_RELATED_OBJECTS objs, PVOID ctx,
						     FLT_POST_OPERATION_FLAGS flags)
{
	PFLT_CONTEXT sc = NULL, hc = NULL, old = NULL;
	PVOID pool;
	NTSTATUS st;

	(void)ctx;
	(void)flags;
	if (!NT_SUCCESS(data->IoStatus.Status))
		return FLT_POSTOP_FINISHED_PROCESSING;
	st = FltAllocateContext(objs->Filter, FLT_STREAM_CONTEXT, 32, NonPagedPool, &sc);
	if (NT_SUCCESS(st)) {
		st = FltSetStreamContext(objs->Instance, objs->FileObject,
					 FLT_SET_CONTEXT_KEEP_IF_EXISTS, sc, &old);
		if (!NT_SUCCESS(st) && st != STATUS_FLT_CONTEXT_ALREADY_DEFINED)
			context_failures++;
		if (old)
			FltReleaseContext(old);
		FltReleaseContext(sc);
	} else {
		context_failures++;
	}
	st = FltAllocateContext(objs->Filter, FLT_STREAMHANDLE_CONTEXT, 16, NonPagedPool, &hc);
	if (NT_SUCCESS(st)) {
		st = FltSetStreamHandleContext(objs->Instance, objs->FileObject,
					       FLT_SET_CONTEXT_REPLACE_IF_EXISTS, hc, NULL);
		if (!NT_SUCCESS(st))
			context_failures++;
		FltReleaseContext(hc);
	} else {
		context_failures++;
	}
	pool = ExAllocatePoolWithTag(NonPagedPool, 100, TAG);
	if (pool)
		ExFreePoolWithTag(pool, TAG);
	else
		pool_failures++;
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI pre_read(PFLT_CALLBACK_DATA data,
						 PCFLT_RELATED_OBJECTS objs, PVOID *ctx)
{
	PFLT_CONTEXT sc = NULL;

	(void)data;
	*ctx = NULL;
	if (NT_SUCCESS(FltGetStreamContext(objs->Instance, objs->FileObject, &sc)))
		FltReleaseContext(sc);
	return FLT_PREOP_SUCCESS_NO_CALLBACK;
}

static const FLT_OPERATION_REGISTRATION ops[] = {
    {IRP_MJ_CREATE, 0, pre_create, post_create, NULL},
    {IRP_MJ_READ, 0, pre_read, NULL, NULL},
    {IRP_MJ_OPERATION_END, 0, NULL, NULL, NULL},
};

static const FLT_CONTEXT_REGISTRATION ctxs[] = {
    {FLT_STREAM_CONTEXT, 0, NULL, 32, TAG, NULL, NULL, NULL},
    {FLT_STREAMHANDLE_CONTEXT, 0, NULL, 16, TAG, NULL, NULL, NULL},
    {FLT_CONTEXT_END, 0, NULL, 0, 0, NULL, NULL, NULL},
};

static NTSTATUS FLTAPI unload_cb(FLT_FILTER_UNLOAD_FLAGS flags)
{
	(void)flags;
	FltUnregisterFilter(filter);
	return STATUS_SUCCESS;
}

static const FLT_REGISTRATION reg = {
    sizeof(FLT_REGISTRATION),
    FLT_REGISTRATION_VERSION,
    0,
    ctxs,
    ops,
    unload_cb,
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

static NTSTATUS entry(PDRIVER_OBJECT drv, PUNICODE_STRING regpath)
{
	(void)regpath;
	return fx_register_and_start(drv, &reg, &filter);
}

/* Send one IRP on fo; returns its status. */
static NTSTATUS send(struct fm_volume *vol, PFILE_OBJECT fo, UCHAR major, void *buf, ULONG len)
{
	struct fm_requestor who = {.pid = 42};
	struct fm_irp irp;
	NTSTATUS st;

	fm_irp_init(&irp, vol, major, 0, fo, &who);
	if (major == IRP_MJ_READ) {
		irp.iopb.Parameters.Read.Length = len;
		irp.iopb.Parameters.Read.ReadBuffer = buf;
	}
	st = fm_irp_dispatch(&irp);
	fm_irp_cleanup(&irp);
	return st;
}

/* Statuses of the steps of one run (0 when not reached). */
struct run {
	int volume;
	NTSTATUS load, create, read;
	bool opened;
};

static void scenario(struct run *r)
{
	struct fm_volume_params p = {0};
	struct fm_volume *vol = NULL;
	PFILE_OBJECT fo;
	char buf[64];

	memset(r, 0, sizeof(*r));
	p.mount_point = "/mnt/af";
	p.backing_dir = "/srv/af";
	p.backing_fs = "tmpfs";
	p.lower = &fake_ops;
	r->volume = fm_volume_create(&p, &vol);
	if (r->volume != 0) {
		TAP_CHECK(vol == NULL || r->volume == 0);
		return;
	}
	filter = NULL;
	r->load = fm_filter_load_builtin("af", entry, NULL, 0);
	fo = fm_file_object_alloc(vol, u"\\dir\\f.txt", 10);
	if (fo) {
		r->opened = true;
		r->create = send(vol, fo, IRP_MJ_CREATE, NULL, 0);
		if (NT_SUCCESS(r->create)) {
			r->read = send(vol, fo, IRP_MJ_READ, buf, sizeof(buf));
			send(vol, fo, IRP_MJ_CLEANUP, NULL, 0);
			send(vol, fo, IRP_MJ_CLOSE, NULL, 0);
		}
		fm_file_object_free(fo);
	}
	if (NT_SUCCESS(r->load))
		TAP_EQ_INT(fm_filter_unload("af", true, NULL, 0), STATUS_SUCCESS);
	fm_volume_destroy(vol);
}

static void t_every_allocation_fails_in_turn(void)
{
	struct run r;
	long n, failed_load = 0, failed_create = 0, failed_volume = 0, failed_fo = 0;
	bool bad_status = false;

	/* A run without injection first: everything succeeds. */
	scenario(&r);
	TAP_EQ_INT(r.volume, 0);
	TAP_EQ_INT(r.load, STATUS_SUCCESS);
	TAP_EQ_INT(r.create, STATUS_SUCCESS);
	TAP_EQ_INT(r.read, STATUS_SUCCESS);
	TAP_EQ_INT(name_failures + context_failures + pool_failures, 0);

	for (n = 0; n < 5000; n++) {
		long left;

		fm_alloc_fail_after(n);
		scenario(&r);
		left = fm_alloc_fail_pending();
		fm_alloc_fail_after(-1);
		if (r.volume != 0) {
			failed_volume++;
			bad_status |= r.volume != -ENOMEM;
		} else if (!NT_SUCCESS(r.load)) {
			failed_load++;
			bad_status |= r.load != STATUS_INSUFFICIENT_RESOURCES;
		} else if (!r.opened) {
			failed_fo++;
		} else if (!NT_SUCCESS(r.create)) {
			failed_create++;
			bad_status |= r.create != STATUS_INSUFFICIENT_RESOURCES;
		}
		/* Nothing failed: the countdown outlived the scenario, every point was tried. */
		if (left >= 0)
			break;
	}
	printf("# %ld allocation points: volume %ld, load %ld, file object %ld, create %ld "
	       "failed; in the filter: name %ld, context %ld, pool %ld\n",
	       n, failed_volume, failed_load, failed_fo, failed_create, name_failures,
	       context_failures, pool_failures);
	TAP_CHECK(n > 10 && n < 5000);
	TAP_CHECK(!bad_status);
	TAP_CHECK(failed_load > 0);
	TAP_CHECK(name_failures + context_failures + pool_failures > 0);

	/* And the core works normally afterwards. */
	name_failures = context_failures = pool_failures = 0;
	scenario(&r);
	TAP_EQ_INT(r.create, STATUS_SUCCESS);
	TAP_EQ_INT(r.read, STATUS_SUCCESS);
	TAP_EQ_INT(name_failures + context_failures + pool_failures, 0);
}

static void t_every_nth(void)
{
	struct run r;
	int failures = 0;

	/* Every 7th allocation fails, for many runs in a row: no crash, statuses only. */
	fm_alloc_fail_every(7);
	for (int i = 0; i < 200; i++) {
		scenario(&r);
		failures +=
		    r.volume != 0 || !NT_SUCCESS(r.load) || !r.opened || !NT_SUCCESS(r.create);
	}
	fm_alloc_fail_every(0);
	printf("# every 7th allocation failing: %d of 200 runs saw a failed step\n", failures);
	TAP_CHECK(failures > 0);
	scenario(&r);
	TAP_EQ_INT(r.create, STATUS_SUCCESS);
}

int main(void)
{
	fm_log_open(NULL, FM_LOG_ERROR + 0);
	fm_reg_init(NULL);
	fm_core_init();
	fx_reg_service("af", "370000", 0);
	TAP_RUN(t_every_allocation_fails_in_turn);
	TAP_RUN(t_every_nth);
	fm_core_shutdown();
	fm_reg_fini();
	return tap_done();
}
