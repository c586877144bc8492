/* Ke/Ex/Ps synchronisation: IRQL and spin locks, events and timeouts, ERESOURCE, push locks, timers. */
#include <fltKernel.h>

#include <pthread.h>
#include <unistd.h>

#include "tap.h"
#include "nt/handle.h"

static LARGE_INTEGER ms(LONGLONG n)
{
	LARGE_INTEGER t;

	t.QuadPart = -n * 10000;
	return t;
}

static void t_irql_spinlock(void)
{
	KSPIN_LOCK lock;
	KIRQL old, old2;
	KLOCK_QUEUE_HANDLE qh;

	TAP_EQ_INT(KeGetCurrentIrql(), PASSIVE_LEVEL);
	KeInitializeSpinLock(&lock);
	KeAcquireSpinLock(&lock, &old);
	TAP_EQ_INT(old, PASSIVE_LEVEL);
	TAP_EQ_INT(KeGetCurrentIrql(), DISPATCH_LEVEL);
	TAP_CHECK(!KeTryToAcquireSpinLockAtDpcLevel(&lock));
	KeReleaseSpinLock(&lock, old);
	TAP_EQ_INT(KeGetCurrentIrql(), PASSIVE_LEVEL);
	KeAcquireInStackQueuedSpinLock(&lock, &qh);
	TAP_EQ_INT(KeGetCurrentIrql(), DISPATCH_LEVEL);
	KeReleaseInStackQueuedSpinLock(&qh);
	TAP_EQ_INT(KeGetCurrentIrql(), PASSIVE_LEVEL);
	KeRaiseIrql(APC_LEVEL, &old2);
	TAP_EQ_INT(KeGetCurrentIrql(), APC_LEVEL);
	KeLowerIrql(old2);
	TAP_EQ_INT(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

static KSPIN_LOCK counter_lock;
static long counter;

static void *spin_worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++) {
		KIRQL old;
		KeAcquireSpinLock(&counter_lock, &old);
		counter++;
		KeReleaseSpinLock(&counter_lock, old);
	}
	return NULL;
}

static void t_spinlock_contention(void)
{
	pthread_t th[4];

	KeInitializeSpinLock(&counter_lock);
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, spin_worker, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	TAP_EQ_INT(counter, 80000);
}

static KEVENT ev;

static void *set_later(void *arg)
{
	LARGE_INTEGER d = ms(50);

	(void)arg;
	KeDelayExecutionThread(KernelMode, FALSE, &d);
	KeSetEvent(&ev, IO_NO_INCREMENT, FALSE);
	return NULL;
}

static void t_events(void)
{
	LARGE_INTEGER t = ms(30), zero = {.QuadPart = 0}, start, end;
	pthread_t th;
	PVOID objs[2];
	KEVENT n;

	KeInitializeEvent(&ev, SynchronizationEvent, FALSE);
	KeQuerySystemTime(&start);
	TAP_EQ_INT(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &t), STATUS_TIMEOUT);
	KeQuerySystemTime(&end);
	TAP_CHECK(end.QuadPart - start.QuadPart >= 250000);
	TAP_EQ_INT(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT);
	pthread_create(&th, NULL, set_later, NULL);
	TAP_EQ_INT(KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
	pthread_join(th, NULL);
	/* A synchronization event resets when a wait is satisfied. */
	TAP_EQ_INT(KeReadStateEvent(&ev), 0);
	KeInitializeEvent(&n, NotificationEvent, TRUE);
	TAP_EQ_INT(KeWaitForSingleObject(&n, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS);
	TAP_EQ_INT(KeReadStateEvent(&n), 1);
	objs[0] = &ev;
	objs[1] = &n;
	TAP_EQ_INT(
	    KeWaitForMultipleObjects(2, objs, WaitAny, Executive, KernelMode, FALSE, &zero, NULL),
	    STATUS_WAIT_1);
	TAP_EQ_INT(
	    KeWaitForMultipleObjects(2, objs, WaitAll, Executive, KernelMode, FALSE, &zero, NULL),
	    STATUS_TIMEOUT);
	KeSetEvent(&ev, 0, FALSE);
	TAP_EQ_INT(
	    KeWaitForMultipleObjects(2, objs, WaitAll, Executive, KernelMode, FALSE, &zero, NULL),
	    STATUS_WAIT_0);
	KeClearEvent(&n);
	TAP_EQ_INT(KeReadStateEvent(&n), 0);
	/* An absolute timeout in the past is an immediate poll. */
	KeQuerySystemTime(&t);
	t.QuadPart -= 10000000;
	TAP_EQ_INT(KeWaitForSingleObject(&n, Executive, KernelMode, FALSE, &t), STATUS_TIMEOUT);
}

static void t_semaphore_mutex(void)
{
	KSEMAPHORE s;
	KMUTEX m;
	LARGE_INTEGER zero = {.QuadPart = 0};

	KeInitializeSemaphore(&s, 2, 3);
	TAP_EQ_INT(KeWaitForSingleObject(&s, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS);
	TAP_EQ_INT(KeWaitForSingleObject(&s, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS);
	TAP_EQ_INT(KeWaitForSingleObject(&s, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT);
	TAP_EQ_INT(KeReleaseSemaphore(&s, 0, 1, FALSE), 0);
	TAP_EQ_INT(KeReadStateSemaphore(&s), 1);
	KeInitializeMutex(&m, 0);
	TAP_EQ_INT(KeWaitForSingleObject(&m, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
	/* Recursive acquisition by the owner. */
	TAP_EQ_INT(KeWaitForSingleObject(&m, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS);
	KeReleaseMutex(&m, FALSE);
	KeReleaseMutex(&m, FALSE);
	TAP_EQ_INT(KeReadStateMutex(&m), 1);
}

static ERESOURCE res;
static volatile int in_excl;

static void *res_worker(void *arg)
{
	long bad = 0;

	(void)arg;
	for (int i = 0; i < 2000; i++) {
		if (i % 3 == 0) {
			FltAcquireResourceExclusive(&res);
			if (in_excl++)
				bad++;
			in_excl--;
			FltReleaseResource(&res);
		} else {
			FltAcquireResourceShared(&res);
			if (in_excl)
				bad++;
			FltReleaseResource(&res);
		}
	}
	return (void *)bad;
}

static void t_eresource(void)
{
	pthread_t th[4];
	void *bad;
	long total = 0;

	TAP_EQ_INT(ExInitializeResourceLite(&res), STATUS_SUCCESS);
	TAP_CHECK(ExAcquireResourceExclusiveLite(&res, TRUE));
	TAP_CHECK(ExAcquireResourceExclusiveLite(&res, TRUE));
	TAP_CHECK(ExIsResourceAcquiredExclusiveLite(&res));
	TAP_EQ_INT(ExIsResourceAcquiredSharedLite(&res), 2);
	TAP_CHECK(ExAcquireResourceSharedLite(&res, TRUE));
	ExReleaseResourceLite(&res);
	ExReleaseResourceLite(&res);
	ExReleaseResourceLite(&res);
	TAP_CHECK(!ExIsResourceAcquiredExclusiveLite(&res));
	TAP_CHECK(ExAcquireResourceSharedLite(&res, TRUE));
	TAP_CHECK(ExAcquireResourceSharedLite(&res, FALSE));
	TAP_EQ_INT(ExIsResourceAcquiredSharedLite(&res), 2);
	ExReleaseResourceLite(&res);
	ExReleaseResourceLite(&res);
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, res_worker, NULL);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], &bad);
		total += (long)bad;
	}
	TAP_EQ_INT(total, 0);
	TAP_EQ_INT(ExDeleteResourceLite(&res), STATUS_SUCCESS);
}

static EX_PUSH_LOCK pl;
static long pl_counter;

static void *pl_worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++) {
		if (i % 4 == 0) {
			FltAcquirePushLockExclusive(&pl);
			pl_counter++;
			FltReleasePushLock(&pl);
		} else {
			FltAcquirePushLockShared(&pl);
			FltReleasePushLock(&pl);
		}
	}
	return NULL;
}

static void t_push_lock(void)
{
	pthread_t th[4];

	FltInitializePushLock(&pl);
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, pl_worker, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	TAP_EQ_INT(pl_counter, 4 * 5000);
	TAP_EQ_INT(pl.Value, 0);
	FltDeletePushLock(&pl);
}

static KEVENT dpc_done;
static volatile KIRQL dpc_irql = 0xff;

static void dpc_routine(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
	(void)Dpc;
	(void)A1;
	(void)A2;
	dpc_irql = KeGetCurrentIrql();
	KeSetEvent((PKEVENT)Context, 0, FALSE);
}

static void t_timer_dpc(void)
{
	KTIMER timer;
	KDPC dpc;
	LARGE_INTEGER due = ms(20), wait = ms(2000);

	KeInitializeEvent(&dpc_done, NotificationEvent, FALSE);
	KeInitializeDpc(&dpc, dpc_routine, &dpc_done);
	KeInitializeTimer(&timer);
	TAP_CHECK(!KeSetTimer(&timer, due, &dpc));
	TAP_EQ_INT(KeWaitForSingleObject(&timer, Executive, KernelMode, FALSE, &wait),
		   STATUS_SUCCESS);
	TAP_EQ_INT(KeWaitForSingleObject(&dpc_done, Executive, KernelMode, FALSE, &wait),
		   STATUS_SUCCESS);
	TAP_EQ_INT(dpc_irql, DISPATCH_LEVEL);
	TAP_CHECK(KeReadStateTimer(&timer));
	due = ms(5000);
	KeSetTimer(&timer, due, NULL);
	TAP_CHECK(KeCancelTimer(&timer));
	TAP_CHECK(!KeCancelTimer(&timer));
}

static volatile LONG periodic_hits;
static KEVENT periodic_done;

static void periodic_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
	(void)Dpc;
	(void)Context;
	(void)A1;
	(void)A2;
	if (InterlockedIncrement(&periodic_hits) == 3)
		KeSetEvent(&periodic_done, 0, FALSE);
}

static void t_periodic_timer_and_queued_dpc(void)
{
	KTIMER timer;
	KDPC dpc, dpc2;
	LARGE_INTEGER due = ms(5), wait = ms(5000);

	KeInitializeEvent(&periodic_done, NotificationEvent, FALSE);
	KeInitializeDpc(&dpc, periodic_dpc, NULL);
	KeInitializeTimerEx(&timer, SynchronizationTimer);
	KeSetTimerEx(&timer, due, 10, &dpc);
	TAP_EQ_INT(KeWaitForSingleObject(&periodic_done, Executive, KernelMode, FALSE, &wait),
		   STATUS_SUCCESS);
	TAP_CHECK(KeCancelTimer(&timer));
	KeFlushQueuedDpcs();
	TAP_CHECK(periodic_hits >= 3);
	/* A DPC queued directly runs once with its arguments. */
	KeInitializeEvent(&dpc_done, NotificationEvent, FALSE);
	KeInitializeDpc(&dpc2, dpc_routine, &dpc_done);
	TAP_CHECK(KeInsertQueueDpc(&dpc2, NULL, NULL));
	TAP_EQ_INT(KeWaitForSingleObject(&dpc_done, Executive, KernelMode, FALSE, &wait),
		   STATUS_SUCCESS);
}

static volatile int thread_ran;

static void sys_thread(PVOID ctx)
{
	thread_ran = (int)(ULONG_PTR)ctx;
	TAP_CHECK(PsIsSystemThread(PsGetCurrentThread()));
	PsTerminateSystemThread(STATUS_SUCCESS);
}

static void t_system_thread(void)
{
	HANDLE h;
	PVOID obj = NULL;
	LARGE_INTEGER wait = ms(5000);

	TAP_EQ_INT(
	    PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, sys_thread, (PVOID)7),
	    STATUS_SUCCESS);
	TAP_EQ_INT(ObReferenceObjectByHandle(h, SYNCHRONIZE, *PsThreadType, KernelMode, &obj, NULL),
		   STATUS_SUCCESS);
	TAP_EQ_INT(ZwClose(h), STATUS_SUCCESS);
	TAP_EQ_INT(KeWaitForSingleObject(obj, Executive, KernelMode, FALSE, &wait), STATUS_SUCCESS);
	TAP_EQ_INT(thread_ran, 7);
	ObDereferenceObject(obj);
	TAP_EQ_INT(ZwClose(h), STATUS_INVALID_HANDLE);
	TAP_CHECK(PsGetCurrentProcessId() == (HANDLE)(ULONG_PTR)getpid());
	TAP_CHECK(PsGetCurrentProcess() != NULL);
	TAP_CHECK(PsGetCurrentProcess() == IoGetCurrentProcess());
	TAP_CHECK(PsGetCurrentThreadId() != NULL);
}

static void t_fast_mutex(void)
{
	FAST_MUTEX m;

	ExInitializeFastMutex(&m);
	ExAcquireFastMutex(&m);
	TAP_EQ_INT(KeGetCurrentIrql(), APC_LEVEL);
	TAP_CHECK(!ExTryToAcquireFastMutex(&m));
	ExReleaseFastMutex(&m);
	TAP_EQ_INT(KeGetCurrentIrql(), PASSIVE_LEVEL);
	TAP_CHECK(ExTryToAcquireFastMutex(&m));
	ExReleaseFastMutex(&m);
	TAP_EQ_INT(m.Count, 1);
}

int main(void)
{
	TAP_RUN(t_irql_spinlock);
	TAP_RUN(t_spinlock_contention);
	TAP_RUN(t_events);
	TAP_RUN(t_semaphore_mutex);
	TAP_RUN(t_eresource);
	TAP_RUN(t_push_lock);
	TAP_RUN(t_timer_dpc);
	TAP_RUN(t_periodic_timer_and_queued_dpc);
	TAP_RUN(t_system_thread);
	TAP_RUN(t_fast_mutex);
	return tap_done();
}
