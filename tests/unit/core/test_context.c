/* Core unit tests of minifilter contexts: registration, allocation, set/get/delete, lifetimes. */
#include "core/core_i.h"
#include "core/registry.h"
#include "common/log.h"

#include "core_fixture.h"
#include "tap.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- A fake lower: CREATE opens the stream the test chose ---- */

static void *cur_stream;

static NTSTATUS fake_dispatch(struct fm_volume *vol, PFLT_CALLBACK_DATA data)
{
	(void)vol;
	if (data->Iopb->MajorFunction == IRP_MJ_CREATE)
		data->Iopb->TargetFileObject->FsContext = cur_stream;
	data->IoStatus.Status = STATUS_SUCCESS;
	data->IoStatus.Information = 0;
	return STATUS_SUCCESS;
}

static const struct fm_lower_ops fake_ops = {fake_dispatch, fx_stream_path, fx_stream_is_dir};

/* ---- The test filter ---- */

struct tctx {
	int id;
	void *other; /* a context this one holds a reference on, released at cleanup */
};

static PFLT_FILTER filter;
static PFLT_INSTANCE instance;	  /* the last one InstanceSetup saw */
static atomic_int cleanups[0x80]; /* by context type */
static atomic_int allocs_cb, frees_cb;
static atomic_int cleanup_irql; /* IRQL of the last cleanup callback */
static atomic_int other_ids;	/* sum of the ids of the contexts cleanups released */
static char order[256];
static pthread_mutex_t order_lock = PTHREAD_MUTEX_INITIALIZER;
static NTSTATUS pre_create_set_status;
static bool setup_declines; /* InstanceSetup sets an instance context, then declines */
static bool do_create_ctx;  /* pre/post-create allocate and set stream + handle contexts */

static void note(const char *s)
{
	pthread_mutex_lock(&order_lock);
	strncat(order, s, sizeof(order) - strlen(order) - 1);
	pthread_mutex_unlock(&order_lock);
}

static void FLTAPI cleanup_cb(PFLT_CONTEXT ctx, FLT_CONTEXT_TYPE type)
{
	struct tctx *t = ctx;

	atomic_store(&cleanup_irql, KeGetCurrentIrql());
	atomic_fetch_add(&cleanups[type], 1);
	note("c");
	/* A cleanup callback that uses and releases another context must not deadlock, and
	 * the other context must still be there. */
	if (t->other) {
		atomic_fetch_add(&other_ids, ((struct tctx *)t->other)->id);
		FltReleaseContext(t->other);
	}
}

static PVOID FLTAPI alloc_cb(POOL_TYPE pool, SIZE_T size, FLT_CONTEXT_TYPE type)
{
	(void)pool;
	(void)type;
	atomic_fetch_add(&allocs_cb, 1);
	return calloc(1, size);
}

static void FLTAPI free_cb(PVOID p, FLT_CONTEXT_TYPE type)
{
	(void)type;
	atomic_fetch_add(&frees_cb, 1);
	note("f");
	free(p);
}

static FLT_PREOP_CALLBACK_STATUS pre_create(PFLT_CALLBACK_DATA d, PCFLT_RELATED_OBJECTS o,
					    PVOID *cc)
{
	PFLT_CONTEXT sc = NULL;

	(void)d;
	*cc = NULL;
	if (!do_create_ctx)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	if (!NT_SUCCESS(FltAllocateContext(o->Filter, FLT_STREAM_CONTEXT, sizeof(struct tctx),
					   PagedPool, &sc)))
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	/* Too early: the file object has no stream yet (R42). */
	pre_create_set_status = FltSetStreamContext(o->Instance, o->FileObject,
						    FLT_SET_CONTEXT_KEEP_IF_EXISTS, sc, NULL);
	*cc = sc;
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS post_create(PFLT_CALLBACK_DATA d, PCFLT_RELATED_OBJECTS o,
					      PVOID cc, FLT_POST_OPERATION_FLAGS flags)
{
	PFLT_CONTEXT old = NULL, h = NULL;
	NTSTATUS st;

	(void)flags;
	if (NT_SUCCESS(d->IoStatus.Status)) {
		st = FltSetStreamContext(o->Instance, o->FileObject, FLT_SET_CONTEXT_KEEP_IF_EXISTS,
					 cc, &old);
		TAP_CHECK(st == STATUS_SUCCESS || st == STATUS_FLT_CONTEXT_ALREADY_DEFINED);
		if (old)
			FltReleaseContext(old);
		if (NT_SUCCESS(FltAllocateContext(o->Filter, FLT_STREAMHANDLE_CONTEXT,
						  sizeof(struct tctx), PagedPool, &h))) {
			TAP_EQ_INT(FltSetStreamHandleContext(o->Instance, o->FileObject,
							     FLT_SET_CONTEXT_KEEP_IF_EXISTS, h,
							     NULL),
				   STATUS_SUCCESS);
			FltReleaseContext(h);
		}
	}
	FltReleaseContext(cc);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static NTSTATUS FLTAPI setup_cb(PCFLT_RELATED_OBJECTS o, FLT_INSTANCE_SETUP_FLAGS f, DEVICE_TYPE dt,
				FLT_FILESYSTEM_TYPE ft)
{
	(void)f;
	(void)dt;
	(void)ft;
	instance = o->Instance;
	if (setup_declines) {
		PFLT_CONTEXT c = NULL;

		TAP_EQ_INT(FltAllocateContext(o->Filter, FLT_INSTANCE_CONTEXT, sizeof(struct tctx),
					      PagedPool, &c),
			   STATUS_SUCCESS);
		TAP_EQ_INT(
		    FltSetInstanceContext(o->Instance, FLT_SET_CONTEXT_KEEP_IF_EXISTS, c, NULL),
		    STATUS_SUCCESS);
		FltReleaseContext(c);
		instance = NULL;
		return STATUS_FLT_DO_NOT_ATTACH;
	}
	return STATUS_SUCCESS;
}

static NTSTATUS alloc_after_unregister, set_in_teardown;
static bool try_set_in_teardown;

static NTSTATUS FLTAPI unload_cb(FLT_FILTER_UNLOAD_FLAGS flags)
{
	PFLT_CONTEXT c = NULL;

	(void)flags;
	FltUnregisterFilter(filter);
	alloc_after_unregister =
	    FltAllocateContext(filter, FLT_INSTANCE_CONTEXT, sizeof(struct tctx), NonPagedPool, &c);
	return STATUS_SUCCESS;
}

/* An instance being torn down takes no new contexts. */
static VOID FLTAPI teardown_start_cb(PCFLT_RELATED_OBJECTS o, FLT_INSTANCE_TEARDOWN_FLAGS r)
{
	PFLT_CONTEXT c = NULL;

	(void)r;
	if (!try_set_in_teardown ||
	    !NT_SUCCESS(FltAllocateContext(o->Filter, FLT_INSTANCE_CONTEXT, sizeof(struct tctx),
					   NonPagedPool, &c)))
		return;
	set_in_teardown =
	    FltSetInstanceContext(o->Instance, FLT_SET_CONTEXT_REPLACE_IF_EXISTS, c, NULL);
	FltReleaseContext(c);
}

static const FLT_OPERATION_REGISTRATION ops[] = {
    {IRP_MJ_CREATE, 0, pre_create, post_create, NULL},
    {IRP_MJ_OPERATION_END, 0, NULL, NULL, NULL},
};

#define TAG 'xtcT'

static const FLT_CONTEXT_REGISTRATION good_ctx[] = {
    {FLT_INSTANCE_CONTEXT, 0, cleanup_cb, sizeof(struct tctx), TAG, NULL, NULL, NULL},
    {FLT_VOLUME_CONTEXT, 0, cleanup_cb, sizeof(struct tctx), TAG, NULL, NULL, NULL},
    {FLT_STREAM_CONTEXT, 0, cleanup_cb, sizeof(struct tctx), TAG, NULL, NULL, NULL},
    {FLT_STREAM_CONTEXT, FLTFL_CONTEXT_REGISTRATION_NO_EXACT_SIZE_MATCH, cleanup_cb, 64, TAG, NULL,
     NULL, NULL},
    {FLT_STREAM_CONTEXT, 0, cleanup_cb, FLT_VARIABLE_SIZED_CONTEXTS, TAG, NULL, NULL, NULL},
    {FLT_STREAMHANDLE_CONTEXT, 0, cleanup_cb, sizeof(struct tctx), TAG, NULL, NULL, NULL},
    {FLT_FILE_CONTEXT, 0, cleanup_cb, sizeof(struct tctx), TAG, NULL, NULL, NULL},
    {FLT_TRANSACTION_CONTEXT, 0, cleanup_cb, 8, TAG, NULL, NULL, NULL},
    {FLT_SECTION_CONTEXT, 0, NULL, 8, TAG, NULL, NULL, NULL},
    {FLT_CONTEXT_END, 0, NULL, 0, 0, NULL, NULL, NULL},
};

static FLT_REGISTRATION reg = {
    sizeof(FLT_REGISTRATION),
    FLT_REGISTRATION_VERSION,
    0,
    good_ctx,
    ops,
    unload_cb,
    setup_cb,
    NULL,
    teardown_start_cb,
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

static struct fm_volume *vol;

static NTSTATUS load(const FLT_CONTEXT_REGISTRATION *cr)
{
	reg.ContextRegistration = cr;
	instance = NULL;
	filter = NULL;
	return fm_filter_load_builtin("cx", entry, NULL, 0);
}

static void unload(void)
{
	TAP_EQ_INT(fm_filter_unload("cx", true, NULL, 0), STATUS_SUCCESS);
}

static void reset_counts(void)
{
	for (size_t i = 0; i < sizeof(cleanups) / sizeof(cleanups[0]); i++)
		atomic_store(&cleanups[i], 0);
	atomic_store(&allocs_cb, 0);
	atomic_store(&frees_cb, 0);
	order[0] = 0;
}

/* Open a file object on stream `stream` through the filter stack. */
static PFILE_OBJECT open_on(void *stream)
{
	struct fm_irp irp;
	PFILE_OBJECT fo = fm_file_object_alloc(vol, u"\\f.txt", 6);
	struct fm_requestor who = {.pid = 7};

	cur_stream = stream;
	fm_irp_init(&irp, vol, IRP_MJ_CREATE, 0, fo, &who);
	TAP_EQ_INT(fm_irp_dispatch(&irp), STATUS_SUCCESS);
	fm_irp_cleanup(&irp);
	return fo;
}

static PFLT_CONTEXT alloc_ctx(FLT_CONTEXT_TYPE type, SIZE_T size)
{
	PFLT_CONTEXT c = NULL;

	TAP_EQ_INT(FltAllocateContext(filter, type, size, NonPagedPool, &c), STATUS_SUCCESS);
	TAP_CHECK(c != NULL);
	return c;
}

/* ---- Tests ---- */

static void t_registration(void)
{
	static const FLT_CONTEXT_REGISTRATION four_sizes[] = {
	    {FLT_STREAM_CONTEXT, 0, NULL, 8, TAG, NULL, NULL, NULL},
	    {FLT_STREAM_CONTEXT, 0, NULL, 16, TAG, NULL, NULL, NULL},
	    {FLT_STREAM_CONTEXT, 0, NULL, 24, TAG, NULL, NULL, NULL},
	    {FLT_STREAM_CONTEXT, 0, NULL, 32, TAG, NULL, NULL, NULL},
	    {FLT_CONTEXT_END, 0, NULL, 0, 0, NULL, NULL, NULL},
	};
	static const FLT_CONTEXT_REGISTRATION dup_sizes[] = {
	    {FLT_STREAM_CONTEXT, 0, NULL, 8, TAG, NULL, NULL, NULL},
	    {FLT_STREAM_CONTEXT, 0, NULL, 8, TAG, NULL, NULL, NULL},
	    {FLT_STREAM_CONTEXT, 0, NULL, 16, TAG, NULL, NULL, NULL},
	    {FLT_STREAM_CONTEXT, 0, NULL, 24, TAG, NULL, NULL, NULL},
	    {FLT_STREAM_CONTEXT, 0, NULL, FLT_VARIABLE_SIZED_CONTEXTS, TAG, NULL, NULL, NULL},
	    {FLT_STREAM_CONTEXT, 0, NULL, FLT_VARIABLE_SIZED_CONTEXTS, TAG, NULL, NULL, NULL},
	    {FLT_CONTEXT_END, 0, NULL, 0, 0, NULL, NULL, NULL},
	};
	static const FLT_CONTEXT_REGISTRATION too_big[] = {
	    {FLT_STREAM_CONTEXT, 0, NULL, 70000, TAG, NULL, NULL, NULL},
	    {FLT_CONTEXT_END, 0, NULL, 0, 0, NULL, NULL, NULL},
	};
	static const FLT_CONTEXT_REGISTRATION no_tag[] = {
	    {FLT_STREAM_CONTEXT, 0, NULL, 8, 0, NULL, NULL, NULL},
	    {FLT_CONTEXT_END, 0, NULL, 0, 0, NULL, NULL, NULL},
	};
	static const FLT_CONTEXT_REGISTRATION cb_not_alone[] = {
	    {FLT_STREAM_CONTEXT, 0, NULL, 8, TAG, alloc_cb, free_cb, NULL},
	    {FLT_STREAM_CONTEXT, 0, NULL, 16, TAG, NULL, NULL, NULL},
	    {FLT_CONTEXT_END, 0, NULL, 0, 0, NULL, NULL, NULL},
	};
	static const FLT_CONTEXT_REGISTRATION alloc_no_free[] = {
	    {FLT_STREAM_CONTEXT, 0, NULL, 8, TAG, alloc_cb, NULL, NULL},
	    {FLT_CONTEXT_END, 0, NULL, 0, 0, NULL, NULL, NULL},
	};
	static const FLT_CONTEXT_REGISTRATION size_zero[] = {
	    {FLT_INSTANCE_CONTEXT, 0, NULL, 0, TAG, NULL, NULL, NULL},
	    {FLT_CONTEXT_END, 0, NULL, 0, 0, NULL, NULL, NULL},
	};

	TAP_EQ_INT(load(four_sizes), STATUS_INVALID_PARAMETER);
	TAP_EQ_INT(load(too_big), STATUS_INVALID_PARAMETER);
	TAP_EQ_INT(load(no_tag), STATUS_INVALID_PARAMETER);
	TAP_EQ_INT(load(cb_not_alone), STATUS_INVALID_PARAMETER);
	TAP_EQ_INT(load(alloc_no_free), STATUS_INVALID_PARAMETER);
	/* Duplicates do not count against the limits: the first entry wins. */
	TAP_EQ_INT(load(dup_sizes), STATUS_SUCCESS);
	unload();
	/* Size 0 is a valid registration; FltAllocateContext still wants a size > 0. */
	TAP_EQ_INT(load(size_zero), STATUS_SUCCESS);
	{
		PFLT_CONTEXT c = NULL;
		TAP_EQ_INT(FltAllocateContext(filter, FLT_INSTANCE_CONTEXT, 0, PagedPool, &c),
			   STATUS_INVALID_PARAMETER);
		TAP_EQ_INT(FltAllocateContext(filter, FLT_STREAM_CONTEXT, 8, PagedPool, &c),
			   STATUS_FLT_CONTEXT_ALLOCATION_NOT_FOUND);
	}
	unload();
}

static void t_allocate(void)
{
	PFLT_CONTEXT c = NULL;

	reset_counts();
	TAP_EQ_INT(load(good_ctx), STATUS_SUCCESS);
	TAP_EQ_INT(FltAllocateContext(filter, FLT_STREAM_CONTEXT, 0, PagedPool, &c),
		   STATUS_INVALID_PARAMETER);
	TAP_EQ_INT(FltAllocateContext(filter, FLT_STREAM_CONTEXT, 70000, PagedPool, &c),
		   STATUS_INVALID_BUFFER_SIZE);
	TAP_EQ_INT(FltAllocateContext(filter, 0x3, 8, PagedPool, &c), STATUS_INVALID_PARAMETER);
	TAP_EQ_INT(FltAllocateContext(filter, FLT_TRANSACTION_CONTEXT, 8, PagedPool, &c),
		   STATUS_NOT_SUPPORTED);
	TAP_EQ_INT(FltAllocateContext(filter, FLT_SECTION_CONTEXT, 8, PagedPool, &c),
		   STATUS_NOT_SUPPORTED);
	TAP_EQ_INT(
	    FltAllocateContext(filter, FLT_VOLUME_CONTEXT, sizeof(struct tctx), PagedPool, &c),
	    STATUS_INVALID_PARAMETER);
	TAP_CHECK(c == NULL);
	/* Exact size, a smaller size under NO_EXACT_SIZE_MATCH, then the variable-size entry. */
	for (SIZE_T sz = 1; sz <= 200; sz++) {
		NTSTATUS st = FltAllocateContext(filter, FLT_STREAM_CONTEXT, sz, PagedPool, &c);
		TAP_EQ_INT(st, STATUS_SUCCESS);
		if (NT_SUCCESS(st)) {
			memset(c, 0xab, sz);		  /* the whole requested size is usable */
			((struct tctx *)c)->other = NULL; /* every entry holds at least a tctx */
			FltReleaseContext(c);
		}
	}
	/* The file context has one fixed size and no variable entry. */
	TAP_EQ_INT(
	    FltAllocateContext(filter, FLT_FILE_CONTEXT, sizeof(struct tctx) + 1, PagedPool, &c),
	    STATUS_FLT_CONTEXT_ALLOCATION_NOT_FOUND);
	TAP_EQ_INT(
	    FltAllocateContext(filter, FLT_FILE_CONTEXT, sizeof(struct tctx) - 1, PagedPool, &c),
	    STATUS_FLT_CONTEXT_ALLOCATION_NOT_FOUND);
	/* A context never set is freed at its last release, after its cleanup callback. */
	TAP_EQ_INT(atomic_load(&cleanups[FLT_STREAM_CONTEXT]), 200);
	c = alloc_ctx(FLT_FILE_CONTEXT, sizeof(struct tctx));
	FltReferenceContext(c);
	FltReleaseContext(c);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_FILE_CONTEXT]), 0);
	FltReleaseContext(c);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_FILE_CONTEXT]), 1);
	set_in_teardown = alloc_after_unregister = 0;
	try_set_in_teardown = true;
	unload();
	try_set_in_teardown = false;
	TAP_EQ_INT(set_in_teardown, STATUS_FLT_DELETING_OBJECT);
	TAP_EQ_INT(alloc_after_unregister, STATUS_FLT_DELETING_OBJECT);
	/* The context allocated for the refused set was freed like any other. */
	TAP_EQ_INT(atomic_load(&cleanups[FLT_INSTANCE_CONTEXT]), 1);
}

static void t_instance_context(void)
{
	PFLT_CONTEXT a, b, c, old = NULL, got = NULL;

	reset_counts();
	TAP_EQ_INT(load(good_ctx), STATUS_SUCCESS);
	TAP_CHECK(instance != NULL);
	a = alloc_ctx(FLT_INSTANCE_CONTEXT, sizeof(struct tctx));
	b = alloc_ctx(FLT_INSTANCE_CONTEXT, sizeof(struct tctx));
	c = alloc_ctx(FLT_INSTANCE_CONTEXT, sizeof(struct tctx));
	TAP_EQ_INT(FltGetInstanceContext(instance, &got), STATUS_NOT_FOUND);
	TAP_CHECK(got == NULL_CONTEXT);
	TAP_EQ_INT(FltSetInstanceContext(instance, FLT_SET_CONTEXT_KEEP_IF_EXISTS, a, NULL),
		   STATUS_SUCCESS);
	/* Wrong type for the object. */
	TAP_EQ_INT(
	    FltSetStreamHandleContext(instance, NULL, FLT_SET_CONTEXT_KEEP_IF_EXISTS, b, NULL),
	    STATUS_NOT_SUPPORTED);
	TAP_EQ_INT(FltSetInstanceContext(instance, (FLT_SET_CONTEXT_OPERATION)7, b, NULL),
		   STATUS_INVALID_PARAMETER);
	/* KEEP_IF_EXISTS: the existing one comes back referenced. */
	TAP_EQ_INT(FltSetInstanceContext(instance, FLT_SET_CONTEXT_KEEP_IF_EXISTS, b, &old),
		   STATUS_FLT_CONTEXT_ALREADY_DEFINED);
	TAP_CHECK(old == a);
	FltReleaseContext(old);
	TAP_EQ_INT(FltGetInstanceContext(instance, &got), STATUS_SUCCESS);
	TAP_CHECK(got == a);
	FltReleaseContext(got);
	/* REPLACE_IF_EXISTS: the old one comes back with the object's reference. */
	TAP_EQ_INT(FltSetInstanceContext(instance, FLT_SET_CONTEXT_REPLACE_IF_EXISTS, b, &old),
		   STATUS_SUCCESS);
	TAP_CHECK(old == a);
	/* A context is attached once in its life. */
	TAP_EQ_INT(FltSetInstanceContext(instance, FLT_SET_CONTEXT_REPLACE_IF_EXISTS, a, NULL),
		   STATUS_FLT_CONTEXT_ALREADY_LINKED);
	TAP_EQ_INT(FltSetInstanceContext(instance, FLT_SET_CONTEXT_REPLACE_IF_EXISTS, b, NULL),
		   STATUS_FLT_CONTEXT_ALREADY_LINKED);
	FltReleaseContext(old);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_INSTANCE_CONTEXT]), 0);
	FltReleaseContext(a); /* the allocation reference: now it goes */
	TAP_EQ_INT(atomic_load(&cleanups[FLT_INSTANCE_CONTEXT]), 1);
	FltReleaseContext(b); /* b is still attached */
	TAP_EQ_INT(atomic_load(&cleanups[FLT_INSTANCE_CONTEXT]), 1);
	/* Delete with OldContext hands the object's reference over. */
	TAP_EQ_INT(FltDeleteInstanceContext(instance, &old), STATUS_SUCCESS);
	TAP_CHECK(old == b);
	TAP_EQ_INT(FltDeleteInstanceContext(instance, NULL), STATUS_NOT_FOUND);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_INSTANCE_CONTEXT]), 1);
	FltReleaseContext(old);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_INSTANCE_CONTEXT]), 2);
	/* REPLACE without OldContext drops the old one; FltDeleteContext with a held ref. */
	TAP_EQ_INT(FltSetInstanceContext(instance, FLT_SET_CONTEXT_REPLACE_IF_EXISTS, c, NULL),
		   STATUS_SUCCESS);
	FltDeleteContext(c);
	TAP_EQ_INT(FltGetInstanceContext(instance, &got), STATUS_NOT_FOUND);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_INSTANCE_CONTEXT]), 2);
	FltReleaseContext(c);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_INSTANCE_CONTEXT]), 3);
	/* Transactions do not exist here. */
	TAP_EQ_INT(
	    FltSetTransactionContext(instance, NULL, FLT_SET_CONTEXT_KEEP_IF_EXISTS, a, NULL),
	    STATUS_NOT_SUPPORTED);
	TAP_EQ_INT(FltGetTransactionContext(instance, NULL, &got), STATUS_NOT_SUPPORTED);
	TAP_EQ_INT(FltGetSectionContext(instance, NULL, &got), STATUS_NOT_SUPPORTED);
	unload();
	TAP_EQ_INT(atomic_load(&cleanups[FLT_INSTANCE_CONTEXT]), 3);
}

static int stream_a, stream_b; /* their addresses are the streams */

static void t_stream_contexts(void)
{
	PFILE_OBJECT f1, f2, f3;
	PFLT_CONTEXT s1 = NULL, s2 = NULL, h1 = NULL, h2 = NULL, fc, got = NULL;

	reset_counts();
	TAP_EQ_INT(load(good_ctx), STATUS_SUCCESS);
	do_create_ctx = true;
	pre_create_set_status = 0;
	f1 = open_on(&stream_a);
	TAP_EQ_INT(pre_create_set_status, STATUS_NOT_SUPPORTED);
	f2 = open_on(&stream_a);
	f3 = open_on(&stream_b);
	do_create_ctx = false;
	/* The loser of post-create's KEEP_IF_EXISTS was released: one stream context cleaned. */
	TAP_EQ_INT(atomic_load(&cleanups[FLT_STREAM_CONTEXT]), 1);
	/* One stream context per stream, shared by its handles; one handle context each. */
	TAP_EQ_INT(FltGetStreamContext(instance, f1, &s1), STATUS_SUCCESS);
	TAP_EQ_INT(FltGetStreamContext(instance, f2, &s2), STATUS_SUCCESS);
	TAP_CHECK(s1 && s1 == s2);
	FltReleaseContext(s2);
	TAP_EQ_INT(FltGetStreamContext(instance, f3, &s2), STATUS_SUCCESS);
	TAP_CHECK(s2 && s2 != s1);
	FltReleaseContext(s2);
	FltReleaseContext(s1);
	TAP_EQ_INT(FltGetStreamHandleContext(instance, f1, &h1), STATUS_SUCCESS);
	TAP_EQ_INT(FltGetStreamHandleContext(instance, f2, &h2), STATUS_SUCCESS);
	TAP_CHECK(h1 && h2 && h1 != h2);
	FltReleaseContext(h1);
	FltReleaseContext(h2);
	/* File contexts key on the stream too, separately from stream contexts. */
	fc = alloc_ctx(FLT_FILE_CONTEXT, sizeof(struct tctx));
	TAP_EQ_INT(FltGetFileContext(instance, f2, &got), STATUS_NOT_FOUND);
	TAP_EQ_INT(FltSetFileContext(instance, f1, FLT_SET_CONTEXT_KEEP_IF_EXISTS, fc, NULL),
		   STATUS_SUCCESS);
	FltReleaseContext(fc);
	TAP_EQ_INT(FltGetFileContext(instance, f2, &got), STATUS_SUCCESS);
	TAP_CHECK(got == fc);
	FltReleaseContext(got);
	TAP_CHECK(FltSupportsFileContexts(f1));
	TAP_CHECK(FltSupportsStreamHandleContexts(f1));
	/* Freeing a file object deletes its handle context only. */
	fm_file_object_free(f1);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_STREAMHANDLE_CONTEXT]), 1);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_STREAM_CONTEXT]), 1);
	fm_file_object_free(f2);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_STREAMHANDLE_CONTEXT]), 2);
	/* The lower frees the stream: its stream and file contexts go, once. */
	fm_volume_stream_gone(vol, &stream_a);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_STREAM_CONTEXT]), 2);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_FILE_CONTEXT]), 1);
	fm_volume_stream_gone(vol, &stream_a);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_STREAM_CONTEXT]), 2);
	/* stream_b's contexts, and f3's handle context, go with the instance. */
	unload();
	TAP_EQ_INT(atomic_load(&cleanups[FLT_STREAM_CONTEXT]), 3);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_STREAMHANDLE_CONTEXT]), 3);
	fm_file_object_free(f3);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_STREAMHANDLE_CONTEXT]), 3);
}

/* ---- KEEP_IF_EXISTS from two threads at once ---- */

#define RACE_ROUNDS 300

static pthread_barrier_t race_barrier;
static PFILE_OBJECT race_fo;
static int race_wins[2];

static void *racer(void *arg)
{
	int me = (int)(intptr_t)arg;

	for (int i = 0; i < RACE_ROUNDS; i++) {
		PFLT_CONTEXT c = NULL, old = NULL;
		NTSTATUS st;

		TAP_EQ_INT(FltAllocateContext(filter, FLT_STREAM_CONTEXT, sizeof(struct tctx),
					      PagedPool, &c),
			   STATUS_SUCCESS);
		pthread_barrier_wait(&race_barrier);
		st =
		    FltSetStreamContext(instance, race_fo, FLT_SET_CONTEXT_KEEP_IF_EXISTS, c, &old);
		if (st == STATUS_SUCCESS) {
			race_wins[me]++;
			TAP_CHECK(old == NULL);
		} else {
			TAP_EQ_INT(st, STATUS_FLT_CONTEXT_ALREADY_DEFINED);
			TAP_CHECK(old != NULL && old != c);
			if (old)
				FltReleaseContext(old);
		}
		FltReleaseContext(c);
		pthread_barrier_wait(&race_barrier);
		if (me == 0)
			FltDeleteStreamContext(instance, race_fo, NULL);
		pthread_barrier_wait(&race_barrier);
	}
	return NULL;
}

static void t_keep_race(void)
{
	pthread_t th[2];

	reset_counts();
	TAP_EQ_INT(load(good_ctx), STATUS_SUCCESS);
	race_fo = open_on(&stream_a);
	pthread_barrier_init(&race_barrier, NULL, 2);
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, racer, (void *)(intptr_t)i);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&race_barrier);
	/* Exactly one winner per round, and every context cleaned up exactly once. */
	TAP_EQ_INT(race_wins[0] + race_wins[1], RACE_ROUNDS);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_STREAM_CONTEXT]), 2 * RACE_ROUNDS);
	fm_file_object_free(race_fo);
	unload();
	TAP_EQ_INT(atomic_load(&cleanups[FLT_STREAM_CONTEXT]), 2 * RACE_ROUNDS);
}

/* Many threads get/set/release on shared objects; counts must balance. */
static void *hammer(void *arg)
{
	PFILE_OBJECT fo = arg;

	for (int i = 0; i < 2000; i++) {
		PFLT_CONTEXT c = NULL, got = NULL;

		if (FltGetStreamContext(instance, fo, &got) == STATUS_SUCCESS) {
			FltReferenceContext(got);
			FltReleaseContext(got);
			FltReleaseContext(got);
			if (i % 7 == 0)
				FltDeleteStreamContext(instance, fo, NULL);
			continue;
		}
		if (NT_SUCCESS(FltAllocateContext(filter, FLT_STREAM_CONTEXT, sizeof(struct tctx),
						  PagedPool, &c))) {
			(void)FltSetStreamContext(instance, fo, FLT_SET_CONTEXT_REPLACE_IF_EXISTS,
						  c, NULL);
			FltReleaseContext(c);
		}
	}
	return NULL;
}

static void t_threads(void)
{
	pthread_t th[4];
	PFILE_OBJECT fo;

	reset_counts();
	TAP_EQ_INT(load(good_ctx), STATUS_SUCCESS);
	fo = open_on(&stream_b);
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, hammer, fo);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	fm_file_object_free(fo);
	unload();
	/* Nothing left: the unload found no leak (allocations == cleanups is checked by
	 * ASan's leak checker; here, at least, nothing is still attached). */
	TAP_CHECK(atomic_load(&cleanups[FLT_STREAM_CONTEXT]) > 0);
}

static void t_teardown_and_volume(void)
{
	PFLT_CONTEXT i1, v1, s1, h1, got = NULL;
	PFILE_OBJECT fo;
	struct fm_volume *vol2;

	reset_counts();
	TAP_EQ_INT(load(good_ctx), STATUS_SUCCESS);
	fo = open_on(&stream_a);
	i1 = alloc_ctx(FLT_INSTANCE_CONTEXT, sizeof(struct tctx));
	v1 = alloc_ctx(FLT_VOLUME_CONTEXT, sizeof(struct tctx));
	s1 = alloc_ctx(FLT_STREAM_CONTEXT, sizeof(struct tctx));
	h1 = alloc_ctx(FLT_STREAMHANDLE_CONTEXT, sizeof(struct tctx));
	TAP_EQ_INT(FltSetInstanceContext(instance, FLT_SET_CONTEXT_KEEP_IF_EXISTS, i1, NULL),
		   STATUS_SUCCESS);
	TAP_EQ_INT(FltSetVolumeContext(vol, FLT_SET_CONTEXT_KEEP_IF_EXISTS, v1, NULL),
		   STATUS_SUCCESS);
	TAP_EQ_INT(FltSetStreamContext(instance, fo, FLT_SET_CONTEXT_KEEP_IF_EXISTS, s1, NULL),
		   STATUS_SUCCESS);
	TAP_EQ_INT(
	    FltSetStreamHandleContext(instance, fo, FLT_SET_CONTEXT_KEEP_IF_EXISTS, h1, NULL),
	    STATUS_SUCCESS);
	/* A context that holds a reference on another releases it in its cleanup. */
	FltReferenceContext(s1);
	((struct tctx *)i1)->other = s1;
	TAP_EQ_INT(FltGetVolumeContext(filter, vol, &got), STATUS_SUCCESS);
	TAP_CHECK(got == v1);
	FltReleaseContext(got);
	{
		FLT_RELATED_OBJECTS o = {sizeof(o), 0, filter, vol, instance, fo, NULL};
		FLT_RELATED_CONTEXTS rc;

		memset(&rc, 0x5a, sizeof(rc));
		FltGetContexts(&o, FLT_ALL_CONTEXTS, &rc);
		TAP_CHECK(rc.VolumeContext == v1 && rc.InstanceContext == i1);
		TAP_CHECK(rc.StreamContext == s1 && rc.StreamHandleContext == h1);
		TAP_CHECK(rc.FileContext == NULL && rc.TransactionContext == NULL);
		FltReleaseContexts(&rc);
		TAP_CHECK(rc.VolumeContext == NULL && rc.StreamContext == NULL);
		memset(&rc, 0x5a, sizeof(rc));
		FltGetContexts(&o, FLT_INSTANCE_CONTEXT, &rc);
		TAP_CHECK(rc.InstanceContext == i1 && rc.VolumeContext == NULL);
		FltReleaseContexts(&rc);
	}
	FltReleaseContext(i1);
	FltReleaseContext(v1);
	FltReleaseContext(s1);
	FltReleaseContext(h1);
	/* A second volume: its instance's contexts go at dismount, the first's stay. */
	vol2 = fx_make_volume("/mnt/fake2", &fake_ops);
	{
		PFLT_CONTEXT v2 = alloc_ctx(FLT_VOLUME_CONTEXT, sizeof(struct tctx));
		PFLT_CONTEXT i2 = alloc_ctx(FLT_INSTANCE_CONTEXT, sizeof(struct tctx));

		TAP_EQ_INT(FltSetVolumeContext(vol2, FLT_SET_CONTEXT_KEEP_IF_EXISTS, v2, NULL),
			   STATUS_SUCCESS);
		TAP_EQ_INT(
		    FltSetInstanceContext(instance, FLT_SET_CONTEXT_KEEP_IF_EXISTS, i2, NULL),
		    STATUS_SUCCESS);
		FltReleaseContext(v2);
		FltReleaseContext(i2);
	}
	fm_volume_destroy(vol2);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_VOLUME_CONTEXT]), 1);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_INSTANCE_CONTEXT]), 1);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_STREAM_CONTEXT]), 0);
	/* Unload: everything the filter set is deleted after its instances are torn down. */
	unload();
	TAP_EQ_INT(atomic_load(&cleanups[FLT_VOLUME_CONTEXT]), 2);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_INSTANCE_CONTEXT]), 2);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_STREAM_CONTEXT]), 1);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_STREAMHANDLE_CONTEXT]), 1);
	fm_file_object_free(fo);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_STREAMHANDLE_CONTEXT]), 1);
}

static void t_alloc_callbacks_and_leak(void)
{
	static const FLT_CONTEXT_REGISTRATION with_cb[] = {
	    {FLT_STREAM_CONTEXT, 0, cleanup_cb, 0, 0, alloc_cb, free_cb, NULL},
	    {FLT_INSTANCE_CONTEXT, 0, cleanup_cb, sizeof(struct tctx), TAG, NULL, NULL, NULL},
	    {FLT_CONTEXT_END, 0, NULL, 0, 0, NULL, NULL, NULL},
	};
	PFLT_CONTEXT c = NULL, leak;

	reset_counts();
	TAP_EQ_INT(load(with_cb), STATUS_SUCCESS);
	/* Size and tag are the callback's business: any size goes through it. */
	TAP_EQ_INT(FltAllocateContext(filter, FLT_STREAM_CONTEXT, 1234, PagedPool, &c),
		   STATUS_SUCCESS);
	TAP_EQ_INT(atomic_load(&allocs_cb), 1);
	FltReleaseContext(c);
	TAP_EQ_STR(order, "cf"); /* cleanup, then free */
	TAP_EQ_INT(atomic_load(&frees_cb), 1);
	/* A context the filter never releases is freed at unload, its cleanup run once. */
	leak = alloc_ctx(FLT_INSTANCE_CONTEXT, sizeof(struct tctx));
	(void)leak;
	/*
	 * Two more leaked contexts, each holding a reference on the other and using it in its
	 * cleanup (as a stream-handle context keeps its stream context): the forced frees at
	 * unload run every cleanup before freeing anything (ASan sees any use after free).
	 */
	{
		PFLT_CONTEXT a = NULL, b = NULL;

		TAP_EQ_INT(FltAllocateContext(filter, FLT_STREAM_CONTEXT, sizeof(struct tctx),
					      PagedPool, &a),
			   STATUS_SUCCESS);
		b = alloc_ctx(FLT_INSTANCE_CONTEXT, sizeof(struct tctx));
		memset(a, 0, sizeof(struct tctx));
		((struct tctx *)a)->id = 100;
		((struct tctx *)b)->id = 20;
		FltReferenceContext(a);
		FltReferenceContext(b);
		((struct tctx *)a)->other = b;
		((struct tctx *)b)->other = a;
	}
	atomic_store(&other_ids, 0);
	unload();
	TAP_EQ_INT(atomic_load(&cleanups[FLT_INSTANCE_CONTEXT]), 2);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_STREAM_CONTEXT]), 2);
	TAP_EQ_INT(atomic_load(&other_ids), 120); /* each saw the other whole */
	TAP_EQ_INT(atomic_load(&frees_cb), 2);
}

static void t_bad_arguments(void)
{
	PFLT_CONTEXT c = NULL, got = (PFLT_CONTEXT)1;
	PFILE_OBJECT fo;

	reset_counts();
	TAP_EQ_INT(load(good_ctx), STATUS_SUCCESS);
	fo = open_on(&stream_a);
	c = alloc_ctx(FLT_STREAM_CONTEXT, sizeof(struct tctx));
	TAP_EQ_INT(FltAllocateContext(NULL, FLT_STREAM_CONTEXT, 8, PagedPool, &c),
		   STATUS_INVALID_PARAMETER);
	TAP_EQ_INT(FltSetStreamContext(instance, fo, FLT_SET_CONTEXT_KEEP_IF_EXISTS, NULL, NULL),
		   STATUS_INVALID_PARAMETER);
	/* A stream context is not a stream-handle context. */
	c = alloc_ctx(FLT_STREAM_CONTEXT, sizeof(struct tctx));
	TAP_EQ_INT(FltSetStreamHandleContext(instance, fo, FLT_SET_CONTEXT_KEEP_IF_EXISTS, c, NULL),
		   STATUS_INVALID_PARAMETER);
	TAP_EQ_INT(FltSetInstanceContext(instance, FLT_SET_CONTEXT_KEEP_IF_EXISTS, c, NULL),
		   STATUS_INVALID_PARAMETER);
	TAP_EQ_INT(FltGetStreamContext(instance, NULL, &got), STATUS_NOT_SUPPORTED);
	TAP_CHECK(got == NULL);
	/* Not a context at all: logged, nothing happens. */
	FltReleaseContext((PFLT_CONTEXT)&stream_b);
	FltReferenceContext((PFLT_CONTEXT)&stream_b);
	FltReleaseContext(c);
	fm_file_object_free(fo);
	unload();
	/* The first allocation above was overwritten by a failed call's NULL and leaked on
	 * purpose: the unload freed it. */
	TAP_EQ_INT(atomic_load(&cleanups[FLT_STREAM_CONTEXT]), 2);
}

static void t_release_at_dispatch(void)
{
	PFLT_CONTEXT c;
	KIRQL old;

	reset_counts();
	TAP_EQ_INT(load(good_ctx), STATUS_SUCCESS);
	c = alloc_ctx(FLT_INSTANCE_CONTEXT, sizeof(struct tctx));
	atomic_store(&cleanup_irql, 99);
	KeRaiseIrql(DISPATCH_LEVEL, &old);
	FltReleaseContext(c);
	KeLowerIrql(old);
	/* The cleanup was deferred to a worker at PASSIVE_LEVEL (R60). */
	for (int i = 0; i < 2000 && atomic_load(&cleanups[FLT_INSTANCE_CONTEXT]) == 0; i++)
		usleep(1000);
	TAP_EQ_INT(atomic_load(&cleanups[FLT_INSTANCE_CONTEXT]), 1);
	TAP_EQ_INT(atomic_load(&cleanup_irql), PASSIVE_LEVEL);
	unload();
}

static void t_declined_setup(void)
{
	reset_counts();
	setup_declines = true;
	TAP_EQ_INT(load(good_ctx), STATUS_SUCCESS);
	setup_declines = false;
	TAP_CHECK(instance == NULL);
	/* The context set on the instance that declined went with it. */
	TAP_EQ_INT(atomic_load(&cleanups[FLT_INSTANCE_CONTEXT]), 1);
	unload();
	TAP_EQ_INT(atomic_load(&cleanups[FLT_INSTANCE_CONTEXT]), 1);
}

int main(void)
{
	fm_log_open(NULL, FM_LOG_ERROR + 0);
	fm_reg_init(NULL);
	fm_core_init();
	fx_reg_service("cx", "370000", 0);
	vol = fx_make_volume("/mnt/fake", &fake_ops);
	TAP_RUN(t_registration);
	TAP_RUN(t_allocate);
	TAP_RUN(t_instance_context);
	TAP_RUN(t_stream_contexts);
	TAP_RUN(t_keep_race);
	TAP_RUN(t_threads);
	TAP_RUN(t_teardown_and_volume);
	TAP_RUN(t_alloc_callbacks_and_leak);
	TAP_RUN(t_bad_arguments);
	TAP_RUN(t_release_at_dispatch);
	TAP_RUN(t_declined_setup);
	fm_volume_destroy(vol);
	fm_core_shutdown();
	return tap_done();
}
