/* Filter work items: generic and deferred-I/O work items over a small worker pool. */
#include "core/core_i.h"
#include "common/alloc.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

/*
 * The pool: at most POOL_MAX threads, created on demand when an item is queued and no
 * worker is idle, each exiting after IDLE_SEC seconds without work.  One FIFO for every
 * queue type (Critical, Delayed, HyperCritical): the distinction is a priority hint on
 * Windows, and a FIFO keeps items in the order they were queued.
 */
#define POOL_MAX 16
#define IDLE_SEC 5

struct job {
	void (*run)(struct job *j);
	struct job *next;
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;
static struct job *q_head, *q_tail;    /* pool_lock */
static unsigned int n_threads, n_idle; /* pool_lock */

static void *worker_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pool_lock);
	for (;;) {
		struct job *j;

		while (!q_head) {
			struct timespec ts;
			int r;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += IDLE_SEC;
			n_idle++;
			r = pthread_cond_timedwait(&pool_cond, &pool_lock, &ts);
			n_idle--;
			if (r == ETIMEDOUT && !q_head) {
				n_threads--;
				pthread_mutex_unlock(&pool_lock);
				return NULL;
			}
		}
		j = q_head;
		q_head = j->next;
		if (!q_head)
			q_tail = NULL;
		pthread_mutex_unlock(&pool_lock);
		/* The job may free itself: nothing of it is touched after run(). */
		j->run(j);
		pthread_mutex_lock(&pool_lock);
	}
}

/* Queue a job; 0 or -errno (no worker could be started and none exists). */
static int pool_queue(struct job *j)
{
	pthread_attr_t a;
	pthread_t th;
	int r = 0;

	j->next = NULL;
	pthread_mutex_lock(&pool_lock);
	if (q_tail)
		q_tail->next = j;
	else
		q_head = j;
	q_tail = j;
	if (n_idle > 0) {
		pthread_cond_signal(&pool_cond);
	} else if (n_threads < POOL_MAX) {
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		r = pthread_create(&th, &a, worker_main, NULL);
		pthread_attr_destroy(&a);
		if (r == 0) {
			n_threads++;
		} else if (n_threads == 0) {
			/* Nobody would ever run it: take it back. */
			for (struct job **pp = &q_head; *pp; pp = &(*pp)->next) {
				if (*pp == j) {
					*pp = j->next;
					break;
				}
			}
			q_tail = NULL;
			for (struct job *k = q_head; k; k = k->next)
				q_tail = k;
			r = -r;
		} else {
			r = 0; /* a busy worker will get to it */
		}
	}
	pthread_mutex_unlock(&pool_lock);
	return r;
}

/* ---- Rundown references on the object a work item runs for ---- */

/* Take the references a queued item holds: the filter's rundown (R79) and, for an
 * instance, the instance itself.  Fails once teardown or unregistration has started. */
static NTSTATUS object_ref(PVOID obj, struct fm_filter **filter, struct fm_instance **inst)
{
	uint32_t magic;

	*filter = NULL;
	*inst = NULL;
	if (!obj)
		return STATUS_INVALID_PARAMETER;
	magic = *(uint32_t *)obj;
	if (magic == FM_MAGIC_FILTER) {
		struct fm_filter *f = obj;
		atomic_fetch_add(&f->refs, 1);
		if (!f->registered || f->unloading) {
			atomic_fetch_sub(&f->refs, 1);
			return STATUS_FLT_DELETING_OBJECT;
		}
		*filter = f;
		return STATUS_SUCCESS;
	}
	if (magic == FM_MAGIC_INSTANCE) {
		struct fm_instance *i = obj;
		fm__instance_get(i);
		atomic_fetch_add(&i->filter->refs, 1);
		if (atomic_load(&i->tearing_down) || i->filter->unloading) {
			atomic_fetch_sub(&i->filter->refs, 1);
			fm__instance_put(i);
			return STATUS_FLT_DELETING_OBJECT;
		}
		*filter = i->filter;
		*inst = i;
		return STATUS_SUCCESS;
	}
	return STATUS_INVALID_PARAMETER;
}

static void object_unref(struct fm_filter *f, struct fm_instance *i)
{
	if (i)
		fm__instance_put(i);
	if (f)
		atomic_fetch_sub(&f->refs, 1);
}

/* ---- Generic work items ---- */

struct fm_generic_workitem {
	struct job job; /* first: the pool hands it back */
	PFLT_GENERIC_WORKITEM_ROUTINE routine;
	PVOID object;
	PVOID context;
	struct fm_filter *filter;
	struct fm_instance *inst;
	atomic_bool queued;
};

static void generic_run(struct job *j)
{
	struct fm_generic_workitem *w = (struct fm_generic_workitem *)j;
	struct fm_filter *f = w->filter, *prev;
	struct fm_instance *i = w->inst;
	PFLT_GENERIC_WORKITEM_ROUTINE routine = w->routine;
	PVOID obj = w->object, ctx = w->context;

	/* The routine may free or requeue the item: copy what we need first. */
	atomic_store(&w->queued, false);
	prev = fm__enter_filter(f);
	routine(w, obj, ctx);
	fm__leave_filter(prev);
	object_unref(f, i);
}

PFLT_GENERIC_WORKITEM FLTAPI FltAllocateGenericWorkItem(void)
{
	/* From the pool, so the verifier lists a work item a filter never frees. */
	return ExAllocatePoolZero(NonPagedPoolNx, sizeof(struct fm_generic_workitem), 'IWlF');
}

VOID FLTAPI FltFreeGenericWorkItem(PFLT_GENERIC_WORKITEM FltWorkItem)
{
	if (!FltWorkItem)
		return;
	if (atomic_load(&FltWorkItem->queued))
		fm_verifier_misuse(NULL, "FltFreeGenericWorkItem on an item that is still queued "
					 "(leaked)");
	else
		ExFreePoolWithTag(FltWorkItem, 'IWlF');
}

NTSTATUS FLTAPI FltQueueGenericWorkItem(PFLT_GENERIC_WORKITEM FltWorkItem, PVOID FltObject,
					PFLT_GENERIC_WORKITEM_ROUTINE WorkerRoutine,
					WORK_QUEUE_TYPE QueueType, PVOID Context)
{
	struct fm_generic_workitem *w = FltWorkItem;
	bool expect = false;
	NTSTATUS st;

	(void)QueueType;
	if (!w || !WorkerRoutine)
		return STATUS_INVALID_PARAMETER;
	st = object_ref(FltObject, &w->filter, &w->inst);
	if (!NT_SUCCESS(st))
		return st;
	if (!atomic_compare_exchange_strong(&w->queued, &expect, true)) {
		object_unref(w->filter, w->inst);
		fm_log(FM_LOG_ERROR, fm_filter_name(fm__tls_filter),
		       "FltQueueGenericWorkItem on an item that is already queued");
		return STATUS_INVALID_PARAMETER;
	}
	w->routine = WorkerRoutine;
	w->object = FltObject;
	w->context = Context;
	w->job.run = generic_run;
	if (pool_queue(&w->job) < 0) {
		atomic_store(&w->queued, false);
		object_unref(w->filter, w->inst);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	return STATUS_SUCCESS;
}

/* ---- Deferred I/O work items ---- */

struct fm_deferred_io_workitem {
	struct job job;
	PFLT_DEFERRED_IO_WORKITEM_ROUTINE routine;
	PFLT_CALLBACK_DATA data;
	PVOID context;
	struct fm_filter *filter;
	struct fm_instance *inst;
	atomic_bool queued;
};

static void deferred_run(struct job *j)
{
	struct fm_deferred_io_workitem *w = (struct fm_deferred_io_workitem *)j;
	struct fm_filter *f = w->filter, *prev;
	struct fm_instance *i = w->inst;
	PFLT_DEFERRED_IO_WORKITEM_ROUTINE routine = w->routine;
	PFLT_CALLBACK_DATA data = w->data;
	PVOID ctx = w->context;

	atomic_store(&w->queued, false);
	prev = fm__enter_filter(f);
	routine(w, data, ctx);
	fm__leave_filter(prev);
	object_unref(f, i);
}

PFLT_DEFERRED_IO_WORKITEM FLTAPI FltAllocateDeferredIoWorkItem(void)
{
	return ExAllocatePoolZero(NonPagedPoolNx, sizeof(struct fm_deferred_io_workitem), 'IWlF');
}

VOID FLTAPI FltFreeDeferredIoWorkItem(PFLT_DEFERRED_IO_WORKITEM FltWorkItem)
{
	if (!FltWorkItem)
		return;
	if (atomic_load(&FltWorkItem->queued))
		fm_verifier_misuse(NULL,
				   "FltFreeDeferredIoWorkItem on an item that is still queued "
				   "(leaked)");
	else
		ExFreePoolWithTag(FltWorkItem, 'IWlF');
}

NTSTATUS FLTAPI FltQueueDeferredIoWorkItem(PFLT_DEFERRED_IO_WORKITEM FltWorkItem,
					   PFLT_CALLBACK_DATA Data,
					   PFLT_DEFERRED_IO_WORKITEM_ROUTINE WorkerRoutine,
					   WORK_QUEUE_TYPE QueueType, PVOID Context)
{
	struct fm_deferred_io_workitem *w = FltWorkItem;
	struct fm_instance *target;
	bool expect = false;
	NTSTATUS st;

	(void)QueueType;
	if (!w || !Data || !WorkerRoutine || !Data->Iopb)
		return STATUS_INVALID_PARAMETER;
	/* R39: only IRP-based, non-paging operations of an instance that is not going away,
	 * and never from under a file system's top-level IRP. */
	if (!(Data->Flags & FLTFL_CALLBACK_DATA_IRP_OPERATION) ||
	    (Data->Iopb->IrpFlags & IRP_PAGING_IO) || IoGetTopLevelIrp() != NULL)
		return STATUS_FLT_NOT_SAFE_TO_POST_OPERATION;
	target = Data->Iopb->TargetInstance;
	if (!target || target->magic != FM_MAGIC_INSTANCE)
		return STATUS_INVALID_PARAMETER;
	st = object_ref(target, &w->filter, &w->inst);
	if (st == STATUS_FLT_DELETING_OBJECT)
		return STATUS_FLT_NOT_SAFE_TO_POST_OPERATION;
	if (!NT_SUCCESS(st))
		return st;
	if (!atomic_compare_exchange_strong(&w->queued, &expect, true)) {
		object_unref(w->filter, w->inst);
		fm_log(FM_LOG_ERROR, fm_filter_name(fm__tls_filter),
		       "FltQueueDeferredIoWorkItem on an item that is already queued");
		return STATUS_INVALID_PARAMETER;
	}
	w->routine = WorkerRoutine;
	w->data = Data;
	w->context = Context;
	w->job.run = deferred_run;
	if (pool_queue(&w->job) < 0) {
		atomic_store(&w->queued, false);
		object_unref(w->filter, w->inst);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	return STATUS_SUCCESS;
}
