/* Ex: executive resources, push locks, rundown protection, work items, interlocked lists. */
#include "nt/ke.h"

#include <fltKernel.h>

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"

/* ---- ERESOURCE -------------------------------------------------------------------------------- */

struct shared_owner {
	PKTHREAD thread;
	unsigned long count;
};

/* The state behind ERESOURCE.OwnerTable. */
struct res_impl {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	PKTHREAD excl_owner;	     /* guarded by lock */
	unsigned long excl_count;    /* guarded by lock */
	struct shared_owner *shared; /* guarded by lock */
	size_t nshared, capshared;   /* guarded by lock */
	unsigned long shared_total;  /* guarded by lock */
	unsigned long excl_waiters;  /* guarded by lock */
	unsigned long shared_waiters;
};

static struct res_impl *res_get(PERESOURCE r)
{
	struct res_impl *ri = (struct res_impl *)r->OwnerTable;

	if (!ri)
		fm_nt_misuse("ERESOURCE used before ExInitializeResourceLite");
	return ri;
}

NTSTATUS ExInitializeResourceLite(PERESOURCE Resource)
{
	struct res_impl *ri;

	memset(Resource, 0, sizeof(*Resource));
	ri = fm_calloc(1, sizeof(*ri));
	if (!ri)
		return STATUS_INSUFFICIENT_RESOURCES;
	pthread_mutex_init(&ri->lock, NULL);
	pthread_cond_init(&ri->cond, NULL);
	InitializeListHead(&Resource->SystemResourcesList);
	Resource->OwnerTable = (POWNER_ENTRY)ri;
	return STATUS_SUCCESS;
}

NTSTATUS ExDeleteResourceLite(PERESOURCE Resource)
{
	struct res_impl *ri = (struct res_impl *)Resource->OwnerTable;

	if (!ri)
		return STATUS_SUCCESS;
	if (ri->excl_owner || ri->shared_total)
		fm_nt_misuse("ExDeleteResourceLite on an acquired resource");
	pthread_mutex_destroy(&ri->lock);
	pthread_cond_destroy(&ri->cond);
	fm_free(ri->shared);
	fm_free(ri);
	Resource->OwnerTable = NULL;
	return STATUS_SUCCESS;
}

NTSTATUS ExReinitializeResourceLite(PERESOURCE Resource)
{
	ExDeleteResourceLite(Resource);
	return ExInitializeResourceLite(Resource);
}

/* Caller holds ri->lock. */
static struct shared_owner *shared_find(struct res_impl *ri, PKTHREAD t)
{
	for (size_t i = 0; i < ri->nshared; i++)
		if (ri->shared[i].thread == t)
			return &ri->shared[i];
	return NULL;
}

static BOOLEAN shared_add(struct res_impl *ri, PKTHREAD t)
{
	struct shared_owner *o = shared_find(ri, t);

	if (!o) {
		if (ri->nshared == ri->capshared) {
			size_t n = ri->capshared ? ri->capshared * 2 : 4;
			struct shared_owner *s = fm_realloc(ri->shared, n * sizeof(*s));
			if (!s)
				return FALSE;
			ri->shared = s;
			ri->capshared = n;
		}
		o = &ri->shared[ri->nshared++];
		o->thread = t;
		o->count = 0;
	}
	o->count++;
	ri->shared_total++;
	return TRUE;
}

static void res_sync_fields(PERESOURCE r, struct res_impl *ri)
{
	r->ActiveCount = (SHORT)((ri->excl_owner ? 1 : 0) + (SHORT)ri->nshared);
	r->ActiveEntries = (ULONG)(ri->excl_count + ri->shared_total);
	r->OwnerEntry.OwnerThread = (ERESOURCE_THREAD)ri->excl_owner;
	r->NumberOfExclusiveWaiters = (ULONG)ri->excl_waiters;
	r->NumberOfSharedWaiters = (ULONG)ri->shared_waiters;
}

BOOLEAN ExAcquireResourceExclusiveLite(PERESOURCE Resource, BOOLEAN Wait)
{
	struct res_impl *ri = res_get(Resource);
	PKTHREAD me = KeGetCurrentThread();

	if (!ri)
		return FALSE;
	pthread_mutex_lock(&ri->lock);
	if (ri->excl_owner == me) {
		ri->excl_count++;
		goto ok;
	}
	if (shared_find(ri, me))
		fm_nt_misuse("exclusive acquisition of an ERESOURCE held shared (deadlock)");
	while (ri->excl_owner || ri->shared_total) {
		if (!Wait) {
			pthread_mutex_unlock(&ri->lock);
			return FALSE;
		}
		ri->excl_waiters++;
		Resource->ContentionCount++;
		pthread_cond_wait(&ri->cond, &ri->lock);
		ri->excl_waiters--;
	}
	ri->excl_owner = me;
	ri->excl_count = 1;
ok:
	res_sync_fields(Resource, ri);
	pthread_mutex_unlock(&ri->lock);
	return TRUE;
}

BOOLEAN ExTryToAcquireResourceExclusiveLite(PERESOURCE Resource)
{
	return ExAcquireResourceExclusiveLite(Resource, FALSE);
}

/* starve: 0 waits for exclusive waiters, 1 does not (StarveExclusive), 2 waits always. */
static BOOLEAN acquire_shared(PERESOURCE Resource, BOOLEAN Wait, int starve)
{
	struct res_impl *ri = res_get(Resource);
	PKTHREAD me = KeGetCurrentThread();
	BOOLEAN ok;

	if (!ri)
		return FALSE;
	pthread_mutex_lock(&ri->lock);
	/* An exclusive owner may acquire shared: it counts as exclusive recursion. */
	if (ri->excl_owner == me) {
		ri->excl_count++;
		res_sync_fields(Resource, ri);
		pthread_mutex_unlock(&ri->lock);
		return TRUE;
	}
	/* A thread that already holds it shared is granted again even with exclusive waiters
	 * (otherwise it would deadlock against them). */
	if (starve != 2 && shared_find(ri, me)) {
		ok = shared_add(ri, me);
		res_sync_fields(Resource, ri);
		pthread_mutex_unlock(&ri->lock);
		return ok;
	}
	while (ri->excl_owner || (starve != 1 && ri->excl_waiters)) {
		if (!Wait) {
			pthread_mutex_unlock(&ri->lock);
			return FALSE;
		}
		ri->shared_waiters++;
		Resource->ContentionCount++;
		pthread_cond_wait(&ri->cond, &ri->lock);
		ri->shared_waiters--;
	}
	ok = shared_add(ri, me);
	res_sync_fields(Resource, ri);
	pthread_mutex_unlock(&ri->lock);
	return ok;
}

BOOLEAN ExAcquireResourceSharedLite(PERESOURCE Resource, BOOLEAN Wait)
{
	return acquire_shared(Resource, Wait, 0);
}

BOOLEAN ExAcquireSharedStarveExclusive(PERESOURCE Resource, BOOLEAN Wait)
{
	return acquire_shared(Resource, Wait, 1);
}

BOOLEAN ExAcquireSharedWaitForExclusive(PERESOURCE Resource, BOOLEAN Wait)
{
	return acquire_shared(Resource, Wait, 0);
}

static void release_for(PERESOURCE Resource, PKTHREAD t)
{
	struct res_impl *ri = res_get(Resource);
	struct shared_owner *o;

	if (!ri)
		return;
	pthread_mutex_lock(&ri->lock);
	if (ri->excl_owner == t) {
		if (--ri->excl_count == 0) {
			ri->excl_owner = NULL;
			pthread_cond_broadcast(&ri->cond);
		}
	} else if ((o = shared_find(ri, t)) != NULL) {
		ri->shared_total--;
		if (--o->count == 0) {
			*o = ri->shared[--ri->nshared];
			if (ri->shared_total == 0)
				pthread_cond_broadcast(&ri->cond);
		}
	} else if (ri->nshared == 1 && !ri->excl_owner) {
		/* ExReleaseResourceForThreadLite with an owner id set by
		 * ExSetResourceOwnerPointer-style hand-off: release the only shared owner. */
		ri->shared_total--;
		if (--ri->shared[0].count == 0) {
			ri->nshared = 0;
			pthread_cond_broadcast(&ri->cond);
		}
	} else {
		pthread_mutex_unlock(&ri->lock);
		fm_nt_misuse("ExReleaseResourceLite on an ERESOURCE the thread does not hold");
		return;
	}
	res_sync_fields(Resource, ri);
	pthread_mutex_unlock(&ri->lock);
}

void ExReleaseResourceLite(PERESOURCE Resource)
{
	release_for(Resource, KeGetCurrentThread());
}

void ExReleaseResourceForThreadLite(PERESOURCE Resource, ERESOURCE_THREAD ResourceThreadId)
{
	release_for(Resource, (PKTHREAD)ResourceThreadId);
}

void ExConvertExclusiveToSharedLite(PERESOURCE Resource)
{
	struct res_impl *ri = res_get(Resource);
	PKTHREAD me = KeGetCurrentThread();
	unsigned long n;

	if (!ri)
		return;
	pthread_mutex_lock(&ri->lock);
	if (ri->excl_owner != me) {
		pthread_mutex_unlock(&ri->lock);
		fm_nt_misuse("ExConvertExclusiveToSharedLite without exclusive ownership");
		return;
	}
	n = ri->excl_count;
	ri->excl_owner = NULL;
	ri->excl_count = 0;
	while (n--)
		shared_add(ri, me);
	res_sync_fields(Resource, ri);
	pthread_cond_broadcast(&ri->cond);
	pthread_mutex_unlock(&ri->lock);
}

BOOLEAN ExIsResourceAcquiredExclusiveLite(PERESOURCE Resource)
{
	struct res_impl *ri = res_get(Resource);
	BOOLEAN r;

	if (!ri)
		return FALSE;
	pthread_mutex_lock(&ri->lock);
	r = ri->excl_owner == KeGetCurrentThread();
	pthread_mutex_unlock(&ri->lock);
	return r;
}

ULONG ExIsResourceAcquiredSharedLite(PERESOURCE Resource)
{
	struct res_impl *ri = res_get(Resource);
	PKTHREAD me = KeGetCurrentThread();
	struct shared_owner *o;
	ULONG n = 0;

	if (!ri)
		return 0;
	pthread_mutex_lock(&ri->lock);
	if (ri->excl_owner == me)
		n = (ULONG)ri->excl_count;
	else if ((o = shared_find(ri, me)) != NULL)
		n = (ULONG)o->count;
	pthread_mutex_unlock(&ri->lock);
	return n;
}

ULONG ExGetExclusiveWaiterCount(PERESOURCE Resource)
{
	struct res_impl *ri = res_get(Resource);

	return ri ? (ULONG)__atomic_load_n(&ri->excl_waiters, __ATOMIC_RELAXED) : 0;
}

ULONG ExGetSharedWaiterCount(PERESOURCE Resource)
{
	struct res_impl *ri = res_get(Resource);

	return ri ? (ULONG)__atomic_load_n(&ri->shared_waiters, __ATOMIC_RELAXED) : 0;
}

PVOID ExEnterCriticalRegionAndAcquireResourceExclusive(PERESOURCE Resource)
{
	KeEnterCriticalRegion();
	ExAcquireResourceExclusiveLite(Resource, TRUE);
	return KeGetCurrentThread();
}

PVOID ExEnterCriticalRegionAndAcquireResourceShared(PERESOURCE Resource)
{
	KeEnterCriticalRegion();
	ExAcquireResourceSharedLite(Resource, TRUE);
	return KeGetCurrentThread();
}

void ExReleaseResourceAndLeaveCriticalRegion(PERESOURCE Resource)
{
	ExReleaseResourceLite(Resource);
	KeLeaveCriticalRegion();
}

void FLTAPI FltAcquireResourceExclusive(PERESOURCE Resource)
{
	KeEnterCriticalRegion();
	ExAcquireResourceExclusiveLite(Resource, TRUE);
}

void FLTAPI FltAcquireResourceShared(PERESOURCE Resource)
{
	KeEnterCriticalRegion();
	ExAcquireResourceSharedLite(Resource, TRUE);
}

void FLTAPI FltReleaseResource(PERESOURCE Resource)
{
	ExReleaseResourceLite(Resource);
	KeLeaveCriticalRegion();
}

/* ---- Push locks ------------------------------------------------------------------------------ */

/*
 * A push lock is one word; the low 32 bits are a futex: bit 31 writer, bit 30 "someone
 * sleeps", bits 0-29 the reader count.  A zeroed word is a free lock, as on Windows.
 */
#define PL_WRITER 0x80000000u
#define PL_WAITERS 0x40000000u
#define PL_READERS 0x3fffffffu

static uint32_t *pl_word(PEX_PUSH_LOCK l)
{
	return (uint32_t *)&l->Value;
}

static void pl_wait(uint32_t *w, uint32_t seen)
{
	/* Announce the sleeper, then sleep only if nothing changed in between. */
	if (!(seen & PL_WAITERS) &&
	    !__atomic_compare_exchange_n(w, &seen, seen | PL_WAITERS, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return;
	syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, seen | PL_WAITERS, NULL, NULL, 0);
}

static void pl_wake(uint32_t *w)
{
	syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

void FLTAPI FltInitializePushLock(PEX_PUSH_LOCK PushLock)
{
	PushLock->Value = 0;
}

void FLTAPI FltDeletePushLock(PEX_PUSH_LOCK PushLock)
{
	if (*pl_word(PushLock) & (PL_WRITER | PL_READERS))
		fm_nt_misuse("FltDeletePushLock on a held push lock");
}

void FLTAPI FltAcquirePushLockExclusiveEx(PEX_PUSH_LOCK PushLock, ULONG Flags)
{
	uint32_t *w = pl_word(PushLock);
	uint32_t v;

	(void)Flags;
	KeEnterCriticalRegion();
	for (;;) {
		v = __atomic_load_n(w, __ATOMIC_RELAXED);
		if (!(v & (PL_WRITER | PL_READERS))) {
			if (__atomic_compare_exchange_n(w, &v, v | PL_WRITER, 0, __ATOMIC_ACQUIRE,
							__ATOMIC_RELAXED))
				return;
			continue;
		}
		pl_wait(w, v);
	}
}

void FLTAPI FltAcquirePushLockSharedEx(PEX_PUSH_LOCK PushLock, ULONG Flags)
{
	uint32_t *w = pl_word(PushLock);
	uint32_t v;

	(void)Flags;
	KeEnterCriticalRegion();
	for (;;) {
		v = __atomic_load_n(w, __ATOMIC_RELAXED);
		if (!(v & PL_WRITER) && (v & PL_READERS) != PL_READERS) {
			if (__atomic_compare_exchange_n(w, &v, v + 1, 0, __ATOMIC_ACQUIRE,
							__ATOMIC_RELAXED))
				return;
			continue;
		}
		pl_wait(w, v);
	}
}

void FLTAPI FltReleasePushLockEx(PEX_PUSH_LOCK PushLock, ULONG Flags)
{
	uint32_t *w = pl_word(PushLock);
	uint32_t v, nv;

	(void)Flags;
	v = __atomic_load_n(w, __ATOMIC_RELAXED);
	do {
		if (v & PL_WRITER)
			nv = v & ~PL_WRITER;
		else if (v & PL_READERS)
			nv = v - 1;
		else {
			fm_nt_misuse("FltReleasePushLock on a push lock that is not held");
			return;
		}
		/* The last holder out clears the sleeper mark and wakes everyone to retry. */
		if (!(nv & (PL_WRITER | PL_READERS)))
			nv &= ~PL_WAITERS;
	} while (!__atomic_compare_exchange_n(w, &v, nv, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	if ((v & PL_WAITERS) && !(nv & PL_WAITERS))
		pl_wake(w);
	KeLeaveCriticalRegion();
}

void FLTAPI FltAcquirePushLockExclusive(PEX_PUSH_LOCK PushLock)
{
	FltAcquirePushLockExclusiveEx(PushLock, 0);
}

void FLTAPI FltAcquirePushLockShared(PEX_PUSH_LOCK PushLock)
{
	FltAcquirePushLockSharedEx(PushLock, 0);
}

void FLTAPI FltReleasePushLock(PEX_PUSH_LOCK PushLock)
{
	FltReleasePushLockEx(PushLock, 0);
}

void ExInitializePushLock(PEX_PUSH_LOCK PushLock)
{
	PushLock->Value = 0;
}

void ExAcquirePushLockExclusiveEx(PEX_PUSH_LOCK PushLock, ULONG Flags)
{
	/* The Ex forms leave the critical region to the caller. */
	FltAcquirePushLockExclusiveEx(PushLock, Flags);
	KeLeaveCriticalRegion();
}

void ExAcquirePushLockSharedEx(PEX_PUSH_LOCK PushLock, ULONG Flags)
{
	FltAcquirePushLockSharedEx(PushLock, Flags);
	KeLeaveCriticalRegion();
}

void ExReleasePushLockExclusiveEx(PEX_PUSH_LOCK PushLock, ULONG Flags)
{
	KeEnterCriticalRegion();
	FltReleasePushLockEx(PushLock, Flags);
}

void ExReleasePushLockSharedEx(PEX_PUSH_LOCK PushLock, ULONG Flags)
{
	KeEnterCriticalRegion();
	FltReleasePushLockEx(PushLock, Flags);
}

/* Executive spin locks (reader/writer) reuse the push lock word at DISPATCH_LEVEL. */
_Static_assert(sizeof(EX_SPIN_LOCK) == sizeof(uint32_t), "ex spin lock");

KIRQL ExAcquireSpinLockShared(PEX_SPIN_LOCK SpinLock)
{
	KIRQL old = KfRaiseIrql(DISPATCH_LEVEL);
	uint32_t *w = (uint32_t *)SpinLock, v;

	for (;;) {
		v = __atomic_load_n(w, __ATOMIC_RELAXED);
		if (!(v & PL_WRITER) && __atomic_compare_exchange_n(
					    w, &v, v + 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return old;
		sched_yield();
	}
}

void ExReleaseSpinLockShared(PEX_SPIN_LOCK SpinLock, KIRQL OldIrql)
{
	__atomic_sub_fetch((uint32_t *)SpinLock, 1, __ATOMIC_RELEASE);
	KeLowerIrql(OldIrql);
}

KIRQL ExAcquireSpinLockExclusive(PEX_SPIN_LOCK SpinLock)
{
	KIRQL old = KfRaiseIrql(DISPATCH_LEVEL);
	uint32_t *w = (uint32_t *)SpinLock, v;

	for (;;) {
		v = 0;
		if (__atomic_compare_exchange_n(w, &v, PL_WRITER, 0, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return old;
		sched_yield();
	}
}

void ExReleaseSpinLockExclusive(PEX_SPIN_LOCK SpinLock, KIRQL OldIrql)
{
	__atomic_store_n((uint32_t *)SpinLock, 0, __ATOMIC_RELEASE);
	KeLowerIrql(OldIrql);
}

/* ---- Rundown protection --------------------------------------------------------------------- */

#define RUNDOWN_ACTIVE ((ULONG_PTR)1)

void ExInitializeRundownProtection(PEX_RUNDOWN_REF RunRef)
{
	RunRef->Count = 0;
}

void ExReInitializeRundownProtection(PEX_RUNDOWN_REF RunRef)
{
	__atomic_store_n(&RunRef->Count, 0, __ATOMIC_RELEASE);
}

BOOLEAN ExAcquireRundownProtection(PEX_RUNDOWN_REF RunRef)
{
	ULONG_PTR v = __atomic_load_n(&RunRef->Count, __ATOMIC_RELAXED);

	do {
		if (v & RUNDOWN_ACTIVE)
			return FALSE;
	} while (!__atomic_compare_exchange_n(&RunRef->Count, &v, v + 2, 0, __ATOMIC_ACQUIRE,
					      __ATOMIC_RELAXED));
	return TRUE;
}

void ExReleaseRundownProtection(PEX_RUNDOWN_REF RunRef)
{
	ULONG_PTR v = __atomic_sub_fetch(&RunRef->Count, 2, __ATOMIC_RELEASE);

	if (v == RUNDOWN_ACTIVE)
		syscall(SYS_futex, (uint32_t *)&RunRef->Count, FUTEX_WAKE_PRIVATE, INT_MAX, NULL,
			NULL, 0);
}

void ExWaitForRundownProtectionRelease(PEX_RUNDOWN_REF RunRef)
{
	ULONG_PTR v = __atomic_or_fetch(&RunRef->Count, RUNDOWN_ACTIVE, __ATOMIC_ACQ_REL);

	while (v != RUNDOWN_ACTIVE) {
		struct timespec ts = {0, 10 * 1000 * 1000};

		/* The futex word is the low half; a short timeout covers counts above 2^31. */
		syscall(SYS_futex, (uint32_t *)&RunRef->Count, FUTEX_WAIT_PRIVATE, (uint32_t)v, &ts,
			NULL, 0);
		v = __atomic_load_n(&RunRef->Count, __ATOMIC_ACQUIRE);
	}
}

void ExRundownCompleted(PEX_RUNDOWN_REF RunRef)
{
	__atomic_store_n(&RunRef->Count, RUNDOWN_ACTIVE, __ATOMIC_RELEASE);
}

/* ---- Work items ---------------------------------------------------------------------------- */

static void *work_main(void *arg)
{
	PWORK_QUEUE_ITEM item = arg;

	/* The routine may free or reuse the item: read nothing from it after the call. */
	item->WorkerRoutine(item->Parameter);
	return NULL;
}

void ExQueueWorkItem(PWORK_QUEUE_ITEM WorkItem, WORK_QUEUE_TYPE QueueType)
{
	pthread_t th;
	pthread_attr_t a;

	(void)QueueType;
	/* One short-lived system thread per item: simple, and a blocking item cannot starve
	 * the others (Windows' worker pool grows for the same reason). */
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	while (pthread_create(&th, &a, work_main, WorkItem) == EAGAIN)
		sched_yield();
	pthread_attr_destroy(&a);
}

/* ---- Interlocked lists ------------------------------------------------------------------------ */

/* SLISTs are rare and short: one global lock keeps them correct without a 128-bit CAS. */
static pthread_mutex_t slist_lock = PTHREAD_MUTEX_INITIALIZER;

void InitializeSListHead(PSLIST_HEADER SListHead)
{
	SListHead->Alignment = 0;
	SListHead->Region = 0;
}

PSLIST_ENTRY InterlockedPushEntrySList(PSLIST_HEADER ListHead, PSLIST_ENTRY ListEntry)
{
	PSLIST_ENTRY old;

	pthread_mutex_lock(&slist_lock);
	old = (PSLIST_ENTRY)(ULONG_PTR)ListHead->Region;
	ListEntry->Next = old;
	ListHead->Region = (ULONGLONG)(ULONG_PTR)ListEntry;
	ListHead->Alignment =
	    (ListHead->Alignment & ~0xffffULL) | ((ListHead->Alignment + 1) & 0xffffULL);
	pthread_mutex_unlock(&slist_lock);
	return old;
}

PSLIST_ENTRY InterlockedPopEntrySList(PSLIST_HEADER ListHead)
{
	PSLIST_ENTRY e;

	pthread_mutex_lock(&slist_lock);
	e = (PSLIST_ENTRY)(ULONG_PTR)ListHead->Region;
	if (e) {
		ListHead->Region = (ULONGLONG)(ULONG_PTR)e->Next;
		ListHead->Alignment =
		    (ListHead->Alignment & ~0xffffULL) | ((ListHead->Alignment - 1) & 0xffffULL);
	}
	pthread_mutex_unlock(&slist_lock);
	return e;
}

PSLIST_ENTRY InterlockedFlushSList(PSLIST_HEADER ListHead)
{
	PSLIST_ENTRY e;

	pthread_mutex_lock(&slist_lock);
	e = (PSLIST_ENTRY)(ULONG_PTR)ListHead->Region;
	ListHead->Region = 0;
	ListHead->Alignment &= ~0xffffULL;
	pthread_mutex_unlock(&slist_lock);
	return e;
}

USHORT QueryDepthSList(PSLIST_HEADER ListHead)
{
	USHORT d;

	pthread_mutex_lock(&slist_lock);
	d = (USHORT)(ListHead->Alignment & 0xffff);
	pthread_mutex_unlock(&slist_lock);
	return d;
}

PLIST_ENTRY ExInterlockedInsertHeadList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry,
					PKSPIN_LOCK Lock)
{
	KIRQL irql;
	PLIST_ENTRY first;

	KeAcquireSpinLock(Lock, &irql);
	first = IsListEmpty(ListHead) ? NULL : ListHead->Flink;
	InsertHeadList(ListHead, ListEntry);
	KeReleaseSpinLock(Lock, irql);
	return first;
}

PLIST_ENTRY ExInterlockedInsertTailList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry,
					PKSPIN_LOCK Lock)
{
	KIRQL irql;
	PLIST_ENTRY last;

	KeAcquireSpinLock(Lock, &irql);
	last = IsListEmpty(ListHead) ? NULL : ListHead->Blink;
	InsertTailList(ListHead, ListEntry);
	KeReleaseSpinLock(Lock, irql);
	return last;
}

PLIST_ENTRY ExInterlockedRemoveHeadList(PLIST_ENTRY ListHead, PKSPIN_LOCK Lock)
{
	KIRQL irql;
	PLIST_ENTRY e = NULL;

	KeAcquireSpinLock(Lock, &irql);
	if (!IsListEmpty(ListHead))
		e = RemoveHeadList(ListHead);
	KeReleaseSpinLock(Lock, irql);
	return e;
}

/* ---- Miscellaneous ------------------------------------------------------------------------------ */

KPROCESSOR_MODE ExGetPreviousMode(void)
{
	return KernelMode;
}

NTSTATUS ExUuidCreate(UUID *Uuid)
{
	if (!Uuid)
		return STATUS_INVALID_PARAMETER;
	if (getrandom(Uuid, sizeof(*Uuid), 0) != (ssize_t)sizeof(*Uuid))
		return STATUS_UNSUCCESSFUL;
	/* Version 4, variant 1 (RFC 4122). */
	Uuid->Data3 = (USHORT)((Uuid->Data3 & 0x0fff) | 0x4000);
	Uuid->Data4[0] = (UCHAR)((Uuid->Data4[0] & 0x3f) | 0x80);
	return STATUS_SUCCESS;
}

BOOLEAN ExIsProcessorFeaturePresent(ULONG ProcessorFeature)
{
	(void)ProcessorFeature;
	return FALSE;
}

void fm_nt_raise_status(NTSTATUS Status, const char *file, int line)
{
	/* No SEH: an exception nobody can catch would bugcheck; log it and carry on. */
	fm_log(FM_LOG_ERROR, "nt", "ExRaiseStatus(0x%08x) at %s:%d (not raised: no SEH)",
	       (unsigned)Status, file, line);
}
