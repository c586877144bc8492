/* Ke: per-thread IRQL, spin locks, dispatcher objects and waits, timers, DPCs, time, regions. */
#include "nt/ke.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "core/core.h"

/* ---- IRQL and regions -------------------------------------------------------------------- */

static __thread KIRQL cur_irql;
static __thread int crit_regions;  /* KeEnterCriticalRegion depth */
static __thread int guard_regions; /* KeEnterGuardedRegion depth */

void fm_nt_misuse(const char *what)
{
	const struct fm_filter *f = fm_current_filter();

	fm_log(FM_LOG_WARN, f ? fm_filter_name(f) : "nt", "misuse: %s", what);
}

void fm_nt_tls_save(struct fm_nt_tls *t)
{
	t->irql = cur_irql;
	t->crit_regions = crit_regions;
	t->guard_regions = guard_regions;
	t->pid = fm_nt_set_current_pid(0);
	cur_irql = PASSIVE_LEVEL;
	crit_regions = 0;
	guard_regions = 0;
}

void fm_nt_tls_load(const struct fm_nt_tls *t)
{
	cur_irql = t->irql;
	crit_regions = t->crit_regions;
	guard_regions = t->guard_regions;
	fm_nt_set_current_pid(t->pid);
}

KIRQL KeGetCurrentIrql(void)
{
	return cur_irql;
}

KIRQL KfRaiseIrql(KIRQL NewIrql)
{
	KIRQL old = cur_irql;

	if (NewIrql < old)
		fm_nt_misuse("KeRaiseIrql to a lower IRQL");
	cur_irql = NewIrql;
	return old;
}

void KeLowerIrql(KIRQL NewIrql)
{
	if (NewIrql > cur_irql)
		fm_nt_misuse("KeLowerIrql to a higher IRQL");
	cur_irql = NewIrql;
}

KIRQL KeRaiseIrqlToDpcLevel(void)
{
	return KfRaiseIrql(DISPATCH_LEVEL);
}

KIRQL KeRaiseIrqlToSynchLevel(void)
{
	return KfRaiseIrql(12);
}

void KeEnterCriticalRegion(void)
{
	crit_regions++;
}

void KeLeaveCriticalRegion(void)
{
	if (crit_regions <= 0) {
		fm_nt_misuse("KeLeaveCriticalRegion without KeEnterCriticalRegion");
		return;
	}
	crit_regions--;
}

void KeEnterGuardedRegion(void)
{
	guard_regions++;
}

void KeLeaveGuardedRegion(void)
{
	if (guard_regions <= 0) {
		fm_nt_misuse("KeLeaveGuardedRegion without KeEnterGuardedRegion");
		return;
	}
	guard_regions--;
}

BOOLEAN KeAreApcsDisabled(void)
{
	return crit_regions > 0 || guard_regions > 0 || cur_irql >= APC_LEVEL;
}

BOOLEAN KeAreAllApcsDisabled(void)
{
	return guard_regions > 0 || cur_irql >= APC_LEVEL;
}

/* ---- Spin locks ---------------------------------------------------------------------------- */

static void spin_acquire(PKSPIN_LOCK lock)
{
	unsigned int spins = 0;

	while (__atomic_exchange_n(lock, (KSPIN_LOCK)1, __ATOMIC_ACQUIRE) != 0) {
		/* A holder may be descheduled: user space cannot disable preemption. */
		while (__atomic_load_n(lock, __ATOMIC_RELAXED) != 0) {
			if (++spins > 100)
				sched_yield();
			else
				__builtin_ia32_pause();
		}
	}
}

static void spin_release(PKSPIN_LOCK lock)
{
	__atomic_store_n(lock, (KSPIN_LOCK)0, __ATOMIC_RELEASE);
}

KIRQL KeAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock)
{
	KIRQL old = KfRaiseIrql(DISPATCH_LEVEL);

	spin_acquire(SpinLock);
	return old;
}

void KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql)
{
	spin_release(SpinLock);
	KeLowerIrql(NewIrql);
}

void KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
	if (cur_irql < DISPATCH_LEVEL)
		fm_nt_misuse("KeAcquireSpinLockAtDpcLevel below DISPATCH_LEVEL");
	spin_acquire(SpinLock);
}

void KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock)
{
	spin_release(SpinLock);
}

BOOLEAN KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
	return __atomic_exchange_n(SpinLock, (KSPIN_LOCK)1, __ATOMIC_ACQUIRE) == 0;
}

BOOLEAN KeTestSpinLock(PKSPIN_LOCK SpinLock)
{
	return __atomic_load_n(SpinLock, __ATOMIC_RELAXED) == 0;
}

KIRQL KeAcquireSpinLockForDpc(PKSPIN_LOCK SpinLock)
{
	return KeAcquireSpinLockRaiseToDpc(SpinLock);
}

void KeReleaseSpinLockForDpc(PKSPIN_LOCK SpinLock, KIRQL OldIrql)
{
	KeReleaseSpinLock(SpinLock, OldIrql);
}

void KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle)
{
	LockHandle->LockQueue.Next = NULL;
	LockHandle->LockQueue.Lock = SpinLock;
	LockHandle->OldIrql = KeAcquireSpinLockRaiseToDpc(SpinLock);
}

void KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle)
{
	KeReleaseSpinLock(LockHandle->LockQueue.Lock, LockHandle->OldIrql);
}

void KeAcquireInStackQueuedSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle)
{
	LockHandle->LockQueue.Next = NULL;
	LockHandle->LockQueue.Lock = SpinLock;
	KeAcquireSpinLockAtDpcLevel(SpinLock);
}

void KeReleaseInStackQueuedSpinLockFromDpcLevel(PKLOCK_QUEUE_HANDLE LockHandle)
{
	spin_release(LockHandle->LockQueue.Lock);
}

void KeAcquireInStackQueuedSpinLockForDpc(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle)
{
	KeAcquireInStackQueuedSpinLock(SpinLock, LockHandle);
}

void KeReleaseInStackQueuedSpinLockForDpc(PKLOCK_QUEUE_HANDLE LockHandle)
{
	KeReleaseInStackQueuedSpinLock(LockHandle);
}

/* ---- Time ------------------------------------------------------------------------------------ */

/* 100 ns intervals between 1601-01-01 and 1970-01-01. */
#define EPOCH_DELTA 116444736000000000LL

int64_t fm_nt_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static LONGLONG system_time(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (LONGLONG)ts.tv_sec * 10000000LL + ts.tv_nsec / 100 + EPOCH_DELTA;
}

void KeQuerySystemTime(PLARGE_INTEGER CurrentTime)
{
	CurrentTime->QuadPart = system_time();
}

void KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime)
{
	CurrentTime->QuadPart = system_time();
}

LARGE_INTEGER KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency)
{
	LARGE_INTEGER r;

	if (PerformanceFrequency)
		PerformanceFrequency->QuadPart = 10000000;
	r.QuadPart = fm_nt_mono_ns() / 100;
	return r;
}

/* The classic 15.625 ms clock tick, in 100 ns units. */
#define TIME_INCREMENT 156250

void KeQueryTickCount(PLARGE_INTEGER TickCount)
{
	TickCount->QuadPart = fm_nt_mono_ns() / 100 / TIME_INCREMENT;
}

ULONG KeQueryTimeIncrement(void)
{
	return TIME_INCREMENT;
}

ULONGLONG KeQueryInterruptTime(void)
{
	return (ULONGLONG)fm_nt_mono_ns() / 100;
}

ULONGLONG KeQueryInterruptTimePrecise(PULONG64 QpcTimeStamp)
{
	ULONGLONG t = (ULONGLONG)fm_nt_mono_ns() / 100;

	if (QpcTimeStamp)
		*QpcTimeStamp = t;
	return t;
}

ULONGLONG KeQueryUnbiasedInterruptTime(void)
{
	return (ULONGLONG)fm_nt_mono_ns() / 100;
}

void ExSystemTimeToLocalTime(PLARGE_INTEGER SystemTime, PLARGE_INTEGER LocalTime)
{
	time_t secs = (time_t)((SystemTime->QuadPart - EPOCH_DELTA) / 10000000LL);
	struct tm tm;

	if (!localtime_r(&secs, &tm)) {
		LocalTime->QuadPart = SystemTime->QuadPart;
		return;
	}
	LocalTime->QuadPart = SystemTime->QuadPart + (LONGLONG)tm.tm_gmtoff * 10000000LL;
}

void ExLocalTimeToSystemTime(PLARGE_INTEGER LocalTime, PLARGE_INTEGER SystemTime)
{
	time_t secs = (time_t)((LocalTime->QuadPart - EPOCH_DELTA) / 10000000LL);
	struct tm tm;

	if (!localtime_r(&secs, &tm)) {
		SystemTime->QuadPart = LocalTime->QuadPart;
		return;
	}
	SystemTime->QuadPart = LocalTime->QuadPart - (LONGLONG)tm.tm_gmtoff * 10000000LL;
}

int64_t fm_nt_deadline_ns(const LARGE_INTEGER *timeout)
{
	int64_t now = fm_nt_mono_ns();
	LONGLONG t;

	if (!timeout)
		return INT64_MAX;
	t = timeout->QuadPart;
	if (t <= 0) {
		/* Relative: -t hundreds of nanoseconds from now. */
		if (-t > INT64_MAX / 200)
			return INT64_MAX;
		return now + (-t) * 100;
	}
	/* Absolute system time: convert through the current wall clock. */
	t -= system_time();
	if (t <= 0)
		return now;
	if (t > INT64_MAX / 200)
		return INT64_MAX;
	return now + t * 100;
}

/* ---- Dispatcher objects and waits ------------------------------------------------------------ */

/*
 * One lock and one condition variable for every dispatcher object: waits on several objects
 * (WaitAll / WaitAny) then need no per-object wait lists.  Every state change broadcasts.
 */
static pthread_mutex_t disp_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t disp_cond;
static pthread_once_t disp_once = PTHREAD_ONCE_INIT;

static void disp_init(void)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&disp_cond, &a);
	pthread_condattr_destroy(&a);
}

static void disp_enter(void)
{
	pthread_once(&disp_once, disp_init);
	pthread_mutex_lock(&disp_lock);
}

static void disp_leave_wake(void)
{
	pthread_cond_broadcast(&disp_cond);
	pthread_mutex_unlock(&disp_lock);
}

static void header_init(DISPATCHER_HEADER *h, UCHAR type, UCHAR size, LONG state)
{
	h->Type = type;
	h->Signalling = 0;
	h->Size = size;
	h->Reserved1 = 0;
	h->SignalState = state;
	InitializeListHead(&h->WaitListHead);
}

void fm_nt_signal_object(DISPATCHER_HEADER *h, LONG state)
{
	disp_enter();
	h->SignalState = state;
	disp_leave_wake();
}

void KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State)
{
	header_init(&Event->Header,
		    Type == NotificationEvent ? FM_OBJ_EVENT_NOTIFICATION
					      : FM_OBJ_EVENT_SYNCHRONIZATION,
		    sizeof(KEVENT) / sizeof(LONG), State ? 1 : 0);
}

LONG KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
	LONG old;

	(void)Increment;
	(void)Wait;
	disp_enter();
	old = Event->Header.SignalState;
	Event->Header.SignalState = 1;
	disp_leave_wake();
	return old;
}

LONG KePulseEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
	LONG old;

	(void)Increment;
	(void)Wait;
	/* Waiters re-check under the lock, so a pulse that resets at once wakes nobody; the
	 * documentation discourages KePulseEvent and its timing is not guaranteed anyway. */
	disp_enter();
	old = Event->Header.SignalState;
	Event->Header.SignalState = 0;
	disp_leave_wake();
	return old;
}

LONG KeResetEvent(PRKEVENT Event)
{
	LONG old;

	disp_enter();
	old = Event->Header.SignalState;
	Event->Header.SignalState = 0;
	pthread_mutex_unlock(&disp_lock);
	return old;
}

void KeClearEvent(PRKEVENT Event)
{
	__atomic_store_n(&Event->Header.SignalState, 0, __ATOMIC_SEQ_CST);
}

LONG KeReadStateEvent(PRKEVENT Event)
{
	return __atomic_load_n(&Event->Header.SignalState, __ATOMIC_SEQ_CST);
}

void KeInitializeSemaphore(PRKSEMAPHORE Semaphore, LONG Count, LONG Limit)
{
	header_init(&Semaphore->Header, FM_OBJ_SEMAPHORE, sizeof(KSEMAPHORE) / sizeof(LONG), Count);
	Semaphore->Limit = Limit;
}

LONG KeReleaseSemaphore(PRKSEMAPHORE Semaphore, KPRIORITY Increment, LONG Adjustment, BOOLEAN Wait)
{
	LONG old;

	(void)Increment;
	(void)Wait;
	disp_enter();
	old = Semaphore->Header.SignalState;
	if (Adjustment <= 0 || old > Semaphore->Limit - Adjustment) {
		/* Windows raises STATUS_SEMAPHORE_LIMIT_EXCEEDED; we report and leave it. */
		pthread_mutex_unlock(&disp_lock);
		fm_nt_misuse("KeReleaseSemaphore beyond the semaphore's limit");
		return old;
	}
	Semaphore->Header.SignalState = old + Adjustment;
	disp_leave_wake();
	return old;
}

LONG KeReadStateSemaphore(PRKSEMAPHORE Semaphore)
{
	return __atomic_load_n(&Semaphore->Header.SignalState, __ATOMIC_SEQ_CST);
}

void KeInitializeMutex(PRKMUTEX Mutex, ULONG Level)
{
	(void)Level;
	header_init(&Mutex->Header, FM_OBJ_MUTANT, sizeof(KMUTEX) / sizeof(LONG), 1);
	InitializeListHead(&Mutex->MutantListEntry);
	Mutex->OwnerThread = NULL;
	Mutex->Abandoned = FALSE;
	Mutex->ApcDisable = 1;
}

LONG KeReleaseMutex(PRKMUTEX Mutex, BOOLEAN Wait)
{
	LONG old;

	(void)Wait;
	disp_enter();
	old = Mutex->Header.SignalState;
	if (Mutex->OwnerThread != (PKTHREAD)fm_nt_current_thread() || old > 0) {
		pthread_mutex_unlock(&disp_lock);
		fm_nt_misuse("KeReleaseMutex by a thread that does not own the mutex");
		return old;
	}
	Mutex->Header.SignalState = old + 1;
	if (Mutex->Header.SignalState == 1) {
		Mutex->OwnerThread = NULL;
		KeLeaveCriticalRegion();
	}
	disp_leave_wake();
	return old;
}

LONG KeReadStateMutex(PRKMUTEX Mutex)
{
	return __atomic_load_n(&Mutex->Header.SignalState, __ATOMIC_SEQ_CST);
}

/* Caller holds disp_lock. */
static int is_signaled(DISPATCHER_HEADER *h, PKTHREAD self)
{
	if (h->Type == FM_OBJ_MUTANT)
		return h->SignalState > 0 || ((PKMUTEX)h)->OwnerThread == self;
	return h->SignalState > 0;
}

/* Caller holds disp_lock; the object is signalled.  Apply the side effect of a satisfied wait. */
static void satisfy(DISPATCHER_HEADER *h, PKTHREAD self)
{
	switch (h->Type) {
	case FM_OBJ_EVENT_SYNCHRONIZATION:
	case FM_OBJ_TIMER_SYNCHRONIZATION:
		h->SignalState = 0;
		break;
	case FM_OBJ_SEMAPHORE:
		h->SignalState--;
		break;
	case FM_OBJ_MUTANT:
		if (h->SignalState == 1)
			KeEnterCriticalRegion();
		h->SignalState--;
		((PKMUTEX)h)->OwnerThread = self;
		break;
	default:
		break;
	}
}

/*
 * Waitable objects start with a dispatcher header, except file objects, which are waited on
 * through their embedded event (as on Windows).  A file object is recognised by its Type
 * (IO_TYPE_FILE) and Size (sizeof(FILE_OBJECT)) fields, which no dispatcher header has.
 */
static DISPATCHER_HEADER *header_of(PVOID Object)
{
	const CSHORT *w = Object;

	if (w[0] == IO_TYPE_FILE && w[1] == (CSHORT)sizeof(FILE_OBJECT))
		return &((PFILE_OBJECT)Object)->Event.Header;
	return (DISPATCHER_HEADER *)Object;
}

NTSTATUS KeWaitForMultipleObjects(ULONG Count, PVOID Object[], WAIT_TYPE WaitType,
				  KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
				  BOOLEAN Alertable, PLARGE_INTEGER Timeout,
				  PKWAIT_BLOCK WaitBlockArray)
{
	PKTHREAD self = (PKTHREAD)fm_nt_current_thread();
	int64_t deadline;
	NTSTATUS st = STATUS_TIMEOUT;
	struct timespec ts;

	(void)WaitReason;
	(void)WaitMode;
	(void)Alertable;
	(void)WaitBlockArray;
	if (Count == 0 || Count > MAXIMUM_WAIT_OBJECTS || !Object ||
	    (WaitType != WaitAll && WaitType != WaitAny))
		return STATUS_INVALID_PARAMETER;
	if (cur_irql >= DISPATCH_LEVEL && !(Timeout && Timeout->QuadPart == 0))
		fm_nt_misuse("KeWaitFor*Object(s) at DISPATCH_LEVEL with a non-zero timeout");
	deadline = fm_nt_deadline_ns(Timeout);
	disp_enter();
	for (;;) {
		if (WaitType == WaitAny) {
			for (ULONG i = 0; i < Count; i++) {
				DISPATCHER_HEADER *h = header_of(Object[i]);
				if (is_signaled(h, self)) {
					satisfy(h, self);
					st = STATUS_WAIT_0 + (NTSTATUS)i;
					goto done;
				}
			}
		} else {
			ULONG n = 0;
			for (ULONG i = 0; i < Count; i++)
				n += is_signaled(header_of(Object[i]), self) ? 1 : 0;
			if (n == Count) {
				for (ULONG i = 0; i < Count; i++)
					satisfy(header_of(Object[i]), self);
				st = STATUS_WAIT_0;
				goto done;
			}
		}
		if (fm_nt_mono_ns() >= deadline) {
			st = STATUS_TIMEOUT;
			goto done;
		}
		if (deadline == INT64_MAX) {
			pthread_cond_wait(&disp_cond, &disp_lock);
		} else {
			ts.tv_sec = deadline / 1000000000LL;
			ts.tv_nsec = deadline % 1000000000LL;
			pthread_cond_timedwait(&disp_cond, &disp_lock, &ts);
		}
	}
done:
	/* Satisfying a synchronization object changes state others may be polling for. */
	disp_leave_wake();
	return st;
}

NTSTATUS KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
			       BOOLEAN Alertable, PLARGE_INTEGER Timeout)
{
	PVOID objs[1] = {Object};

	if (!Object)
		return STATUS_INVALID_PARAMETER;
	return KeWaitForMultipleObjects(1, objs, WaitAny, WaitReason, WaitMode, Alertable, Timeout,
					NULL);
}

NTSTATUS KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
				PLARGE_INTEGER Interval)
{
	int64_t deadline;
	struct timespec ts;

	(void)WaitMode;
	(void)Alertable;
	if (!Interval)
		return STATUS_INVALID_PARAMETER;
	if (cur_irql > APC_LEVEL)
		fm_nt_misuse("KeDelayExecutionThread above APC_LEVEL");
	deadline = fm_nt_deadline_ns(Interval);
	if (deadline == INT64_MAX)
		deadline = fm_nt_mono_ns() + 1000000000LL * 3600 * 24 * 365;
	ts.tv_sec = deadline / 1000000000LL;
	ts.tv_nsec = deadline % 1000000000LL;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
	return STATUS_SUCCESS;
}

void KeStallExecutionProcessor(ULONG MicroSeconds)
{
	int64_t end = fm_nt_mono_ns() + (int64_t)MicroSeconds * 1000;

	while (fm_nt_mono_ns() < end)
		__builtin_ia32_pause();
}

/* ---- Fast and guarded mutexes ------------------------------------------------------------------ */

void ExInitializeFastMutex(PFAST_MUTEX FastMutex)
{
	FastMutex->Count = 1;
	FastMutex->Owner = NULL;
	FastMutex->Contention = 0;
	FastMutex->OldIrql = 0;
	KeInitializeEvent(&FastMutex->Event, SynchronizationEvent, FALSE);
}

/*
 * Owner is read by threads that do not hold the mutex (the recursion check, before they
 * wait), so every access to it is atomic; relaxed is enough, since only the owner itself can
 * find its own pointer there.
 */
static void fast_set_owner(PFAST_MUTEX m, PVOID owner)
{
	__atomic_store_n(&m->Owner, owner, __ATOMIC_RELAXED);
}

static void fast_acquire(PFAST_MUTEX m)
{
	if (__atomic_load_n(&m->Owner, __ATOMIC_RELAXED) == (PVOID)fm_nt_current_thread())
		fm_nt_misuse("recursive acquisition of a FAST_MUTEX (deadlock)");
	if (__atomic_sub_fetch(&m->Count, 1, __ATOMIC_ACQUIRE) != 0) {
		__atomic_add_fetch(&m->Contention, 1, __ATOMIC_RELAXED);
		KeWaitForSingleObject(&m->Event, WrExecutive, KernelMode, FALSE, NULL);
	}
	fast_set_owner(m, fm_nt_current_thread());
}

static void fast_release(PFAST_MUTEX m)
{
	fast_set_owner(m, NULL);
	if (__atomic_add_fetch(&m->Count, 1, __ATOMIC_RELEASE) != 1)
		KeSetEvent(&m->Event, 0, FALSE);
}

void ExAcquireFastMutex(PFAST_MUTEX FastMutex)
{
	KIRQL old = KfRaiseIrql(APC_LEVEL);

	fast_acquire(FastMutex);
	FastMutex->OldIrql = old;
}

void ExReleaseFastMutex(PFAST_MUTEX FastMutex)
{
	KIRQL old = (KIRQL)FastMutex->OldIrql;

	fast_release(FastMutex);
	KeLowerIrql(old);
}

BOOLEAN ExTryToAcquireFastMutex(PFAST_MUTEX FastMutex)
{
	LONG one = 1;
	KIRQL old = KfRaiseIrql(APC_LEVEL);

	if (!__atomic_compare_exchange_n(&FastMutex->Count, &one, 0, 0, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED)) {
		KeLowerIrql(old);
		return FALSE;
	}
	fast_set_owner(FastMutex, fm_nt_current_thread());
	FastMutex->OldIrql = old;
	return TRUE;
}

void ExAcquireFastMutexUnsafe(PFAST_MUTEX FastMutex)
{
	fast_acquire(FastMutex);
}

void ExReleaseFastMutexUnsafe(PFAST_MUTEX FastMutex)
{
	fast_release(FastMutex);
}

/* A guarded mutex has the fast mutex's shape with a gate for the event. */
_Static_assert(offsetof(KGUARDED_MUTEX, Gate) == offsetof(FAST_MUTEX, Event), "gate");
_Static_assert(sizeof(KGATE) == sizeof(KEVENT), "gate size");

void KeInitializeGuardedMutex(PKGUARDED_MUTEX Mutex)
{
	Mutex->Count = 1;
	Mutex->Owner = NULL;
	Mutex->Contention = 0;
	KeInitializeEvent((PKEVENT)&Mutex->Gate, SynchronizationEvent, FALSE);
	Mutex->CombinedApcDisable = 0;
}

void KeAcquireGuardedMutex(PKGUARDED_MUTEX Mutex)
{
	KeEnterGuardedRegion();
	fast_acquire((PFAST_MUTEX)Mutex);
}

void KeReleaseGuardedMutex(PKGUARDED_MUTEX Mutex)
{
	fast_release((PFAST_MUTEX)Mutex);
	KeLeaveGuardedRegion();
}

BOOLEAN KeTryToAcquireGuardedMutex(PKGUARDED_MUTEX Mutex)
{
	LONG one = 1;

	KeEnterGuardedRegion();
	if (!__atomic_compare_exchange_n(&Mutex->Count, &one, 0, 0, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED)) {
		KeLeaveGuardedRegion();
		return FALSE;
	}
	fast_set_owner((PFAST_MUTEX)Mutex, fm_nt_current_thread());
	return TRUE;
}

void KeAcquireGuardedMutexUnsafe(PKGUARDED_MUTEX FastMutex)
{
	fast_acquire((PFAST_MUTEX)FastMutex);
}

void KeReleaseGuardedMutexUnsafe(PKGUARDED_MUTEX FastMutex)
{
	fast_release((PFAST_MUTEX)FastMutex);
}

/* ---- Timers and DPCs ------------------------------------------------------------------------- */

/*
 * One "DPC thread" runs expired timers and queued DPCs, at DISPATCH_LEVEL.  Timers are kept
 * in an unsorted list (filters have a handful); DueTime holds the monotonic deadline in ns
 * while the timer is set.  Both lists are guarded by disp_lock.
 */
static LIST_ENTRY timer_list = {&timer_list, &timer_list};
static PKDPC dpc_head, dpc_tail;
static pthread_cond_t dpc_cond;
static int dpc_thread_started;

static void *dpc_thread_main(void *arg)
{
	struct timespec ts;

	(void)arg;
	cur_irql = DISPATCH_LEVEL;
	pthread_mutex_lock(&disp_lock);
	for (;;) {
		int64_t now = fm_nt_mono_ns(), next = INT64_MAX;
		PLIST_ENTRY e;

		for (e = timer_list.Flink; e != &timer_list;) {
			PKTIMER t = CONTAINING_RECORD(e, KTIMER, TimerListEntry);
			e = e->Flink;
			if ((int64_t)t->DueTime.QuadPart <= now) {
				t->Header.SignalState = 1;
				RemoveEntryList(&t->TimerListEntry);
				t->Header.Signalling = 0;
				if (t->Period) {
					t->DueTime.QuadPart =
					    (ULONGLONG)(now + (int64_t)t->Period * 1000000LL);
					InsertTailList(&timer_list, &t->TimerListEntry);
					t->Header.Signalling = 1;
				}
				if (t->Dpc && !t->Dpc->DpcData) {
					t->Dpc->DpcData = (PVOID)1;
					t->Dpc->SystemArgument1 = (PVOID)(ULONG_PTR)(now / 100);
					t->Dpc->SystemArgument2 = NULL;
					t->Dpc->DpcListEntry.Next = NULL;
					if (dpc_tail)
						dpc_tail->DpcListEntry.Next = &t->Dpc->DpcListEntry;
					else
						dpc_head = t->Dpc;
					dpc_tail = t->Dpc;
				}
				pthread_cond_broadcast(&disp_cond);
			}
		}
		while (dpc_head) {
			PKDPC d = dpc_head;
			PKDEFERRED_ROUTINE fn = d->DeferredRoutine;
			PVOID ctx = d->DeferredContext, a1 = d->SystemArgument1,
			      a2 = d->SystemArgument2;

			dpc_head = d->DpcListEntry.Next
				       ? CONTAINING_RECORD(d->DpcListEntry.Next, KDPC, DpcListEntry)
				       : NULL;
			if (!dpc_head)
				dpc_tail = NULL;
			d->DpcData = NULL;
			pthread_mutex_unlock(&disp_lock);
			/* The routine may requeue or free its DPC: nothing of d is touched after. */
			fn(d, ctx, a1, a2);
			cur_irql = DISPATCH_LEVEL;
			pthread_mutex_lock(&disp_lock);
		}
		for (e = timer_list.Flink; e != &timer_list; e = e->Flink) {
			PKTIMER t = CONTAINING_RECORD(e, KTIMER, TimerListEntry);
			if ((int64_t)t->DueTime.QuadPart < next)
				next = (int64_t)t->DueTime.QuadPart;
		}
		if (next == INT64_MAX) {
			pthread_cond_wait(&dpc_cond, &disp_lock);
		} else {
			ts.tv_sec = next / 1000000000LL;
			ts.tv_nsec = next % 1000000000LL;
			pthread_cond_timedwait(&dpc_cond, &disp_lock, &ts);
		}
	}
	return NULL;
}

/* Caller holds disp_lock. */
static void dpc_thread_kick(void)
{
	pthread_t th;
	pthread_attr_t a;

	if (!dpc_thread_started) {
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&dpc_cond, &ca);
		pthread_condattr_destroy(&ca);
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &a, dpc_thread_main, NULL) == 0)
			dpc_thread_started = 1;
		else
			fm_log(FM_LOG_ERROR, "nt", "cannot start the DPC thread");
		pthread_attr_destroy(&a);
		return;
	}
	pthread_cond_signal(&dpc_cond);
}

void KeInitializeTimer(PKTIMER Timer)
{
	KeInitializeTimerEx(Timer, NotificationTimer);
}

void KeInitializeTimerEx(PKTIMER Timer, TIMER_TYPE Type)
{
	header_init(&Timer->Header,
		    Type == NotificationTimer ? FM_OBJ_TIMER_NOTIFICATION
					      : FM_OBJ_TIMER_SYNCHRONIZATION,
		    sizeof(KTIMER) / sizeof(LONG), 0);
	Timer->DueTime.QuadPart = 0;
	InitializeListHead(&Timer->TimerListEntry);
	Timer->Dpc = NULL;
	Timer->Processor = 0;
	Timer->Period = 0;
}

BOOLEAN KeSetTimerEx(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc)
{
	BOOLEAN was_set;

	disp_enter();
	/* Header.Signalling marks "in the timer list". */
	was_set = Timer->Header.Signalling != 0;
	if (was_set)
		RemoveEntryList(&Timer->TimerListEntry);
	Timer->Header.SignalState = 0;
	Timer->DueTime.QuadPart = (ULONGLONG)fm_nt_deadline_ns(&DueTime);
	Timer->Period = Period > 0 ? (ULONG)Period : 0;
	Timer->Dpc = Dpc;
	InsertTailList(&timer_list, &Timer->TimerListEntry);
	Timer->Header.Signalling = 1;
	dpc_thread_kick();
	pthread_mutex_unlock(&disp_lock);
	return was_set;
}

BOOLEAN KeSetTimer(PKTIMER Timer, LARGE_INTEGER DueTime, PKDPC Dpc)
{
	return KeSetTimerEx(Timer, DueTime, 0, Dpc);
}

BOOLEAN KeCancelTimer(PKTIMER Timer)
{
	BOOLEAN was_set;

	disp_enter();
	was_set = Timer->Header.Signalling != 0;
	if (was_set) {
		RemoveEntryList(&Timer->TimerListEntry);
		InitializeListHead(&Timer->TimerListEntry);
		Timer->Header.Signalling = 0;
	}
	pthread_mutex_unlock(&disp_lock);
	return was_set;
}

BOOLEAN KeReadStateTimer(PKTIMER Timer)
{
	return __atomic_load_n(&Timer->Header.SignalState, __ATOMIC_SEQ_CST) != 0;
}

void KeInitializeDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext)
{
	memset(Dpc, 0, sizeof(*Dpc));
	Dpc->Type = 19; /* DpcObject */
	Dpc->Importance = MediumImportance;
	Dpc->DeferredRoutine = DeferredRoutine;
	Dpc->DeferredContext = DeferredContext;
}

void KeInitializeThreadedDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID DeferredContext)
{
	KeInitializeDpc(Dpc, DeferredRoutine, DeferredContext);
	Dpc->Type = 24; /* ThreadedDpcObject */
}

void KeSetImportanceDpc(PRKDPC Dpc, KDPC_IMPORTANCE Importance)
{
	Dpc->Importance = (UCHAR)Importance;
}

BOOLEAN KeInsertQueueDpc(PRKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2)
{
	disp_enter();
	if (Dpc->DpcData) {
		pthread_mutex_unlock(&disp_lock);
		return FALSE;
	}
	Dpc->DpcData = (PVOID)1;
	Dpc->SystemArgument1 = SystemArgument1;
	Dpc->SystemArgument2 = SystemArgument2;
	Dpc->DpcListEntry.Next = NULL;
	if (dpc_tail)
		dpc_tail->DpcListEntry.Next = &Dpc->DpcListEntry;
	else
		dpc_head = Dpc;
	dpc_tail = Dpc;
	dpc_thread_kick();
	pthread_mutex_unlock(&disp_lock);
	return TRUE;
}

BOOLEAN KeRemoveQueueDpc(PRKDPC Dpc)
{
	PKDPC prev = NULL;

	disp_enter();
	for (PKDPC d = dpc_head; d;
	     prev = d, d = d->DpcListEntry.Next
			       ? CONTAINING_RECORD(d->DpcListEntry.Next, KDPC, DpcListEntry)
			       : NULL) {
		if (d != Dpc)
			continue;
		if (prev)
			prev->DpcListEntry.Next = d->DpcListEntry.Next;
		else
			dpc_head = d->DpcListEntry.Next
				       ? CONTAINING_RECORD(d->DpcListEntry.Next, KDPC, DpcListEntry)
				       : NULL;
		if (dpc_tail == d)
			dpc_tail = prev;
		d->DpcData = NULL;
		pthread_mutex_unlock(&disp_lock);
		return TRUE;
	}
	pthread_mutex_unlock(&disp_lock);
	return FALSE;
}

void KeFlushQueuedDpcs(void)
{
	/* Wait until the queue is empty; a DPC still running is not waited for beyond that. */
	for (;;) {
		int empty;

		disp_enter();
		empty = dpc_head == NULL;
		pthread_mutex_unlock(&disp_lock);
		if (empty)
			return;
		sched_yield();
	}
}

/* ---- Processors ----------------------------------------------------------------------------- */

ULONG KeGetCurrentProcessorNumber(void)
{
	int c = sched_getcpu();

	return c < 0 ? 0 : (ULONG)c;
}

ULONG KeGetCurrentProcessorNumberEx(PPROCESSOR_NUMBER ProcNumber)
{
	ULONG n = KeGetCurrentProcessorNumber();

	if (ProcNumber) {
		ProcNumber->Group = 0;
		ProcNumber->Number = (UCHAR)n;
		ProcNumber->Reserved = 0;
	}
	return n;
}

ULONG KeQueryActiveProcessorCount(PKAFFINITY ActiveProcessors)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	if (n > 64)
		n = 64;
	if (ActiveProcessors)
		*ActiveProcessors = n == 64 ? ~(KAFFINITY)0 : (((KAFFINITY)1 << n) - 1);
	return (ULONG)n;
}

ULONG KeQueryActiveProcessorCountEx(USHORT GroupNumber)
{
	(void)GroupNumber;
	return KeQueryActiveProcessorCount(NULL);
}

ULONG KeQueryMaximumProcessorCount(void)
{
	return KeQueryActiveProcessorCount(NULL);
}
