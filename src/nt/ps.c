/* Ps/Ob: thread and process objects, system threads, object references, ZwClose. */
#include "nt/ke.h"

#include <ntifs.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "nt/handle.h"

#define THREAD_MAGIC 0x44524854u  /* "THRD" */
#define PROCESS_MAGIC 0x434f5250u /* "PROC" */

/* ---- Threads ------------------------------------------------------------------------------- */

static __thread struct fm_kthread *self_thread;
static pthread_key_t self_key;
static pthread_once_t self_once = PTHREAD_ONCE_INIT;

static void thread_put(struct fm_kthread *t)
{
	if (__atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		t->magic = 0;
		fm_free(t);
	}
}

/* Thread exit: the object becomes signalled and loses the running thread's reference. */
static void self_destructor(void *p)
{
	struct fm_kthread *t = p;

	fm_nt_signal_object(&t->header, 1);
	thread_put(t);
}

static void self_key_init(void)
{
	pthread_key_create(&self_key, self_destructor);
}

static struct fm_kthread *thread_new(int system)
{
	struct fm_kthread *t = fm_calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->header.Type = FM_OBJ_THREAD;
	t->header.Size = sizeof(*t) / sizeof(LONG);
	InitializeListHead(&t->header.WaitListHead);
	t->magic = THREAD_MAGIC;
	t->system = system;
	t->pid = getpid();
	t->refs = 1;
	return t;
}

static void thread_attach(struct fm_kthread *t)
{
	pthread_once(&self_once, self_key_init);
	t->tid = (int)syscall(SYS_gettid);
	self_thread = t;
	pthread_setspecific(self_key, t);
}

struct fm_kthread *fm_nt_current_thread(void)
{
	struct fm_kthread *t = self_thread;

	if (t)
		return t;
	t = thread_new(0);
	if (!t) {
		/* Out of memory: an identity that is unique per thread is all callers need. */
		static __thread struct fm_kthread fallback;
		fallback.magic = THREAD_MAGIC;
		fallback.tid = (int)syscall(SYS_gettid);
		return &fallback;
	}
	thread_attach(t);
	return t;
}

PKTHREAD KeGetCurrentThread(void)
{
	return (PKTHREAD)fm_nt_current_thread();
}

PETHREAD PsGetCurrentThread(void)
{
	return (PETHREAD)fm_nt_current_thread();
}

HANDLE PsGetCurrentThreadId(void)
{
	return (HANDLE)(ULONG_PTR)fm_nt_current_thread()->tid;
}

HANDLE PsGetThreadId(PETHREAD Thread)
{
	struct fm_kthread *t = (struct fm_kthread *)Thread;

	return (t && t->magic == THREAD_MAGIC) ? (HANDLE)(ULONG_PTR)t->tid : NULL;
}

HANDLE PsGetThreadProcessId(PETHREAD Thread)
{
	struct fm_kthread *t = (struct fm_kthread *)Thread;

	return (t && t->magic == THREAD_MAGIC) ? (HANDLE)(ULONG_PTR)t->pid : NULL;
}

PEPROCESS PsGetThreadProcess(PETHREAD Thread)
{
	struct fm_kthread *t = (struct fm_kthread *)Thread;

	return (t && t->magic == THREAD_MAGIC) ? (PEPROCESS)fm_nt_process(t->pid) : NULL;
}

PEPROCESS IoThreadToProcess(PETHREAD Thread)
{
	return PsGetThreadProcess(Thread);
}

BOOLEAN PsIsSystemThread(PETHREAD Thread)
{
	struct fm_kthread *t = (struct fm_kthread *)Thread;

	/* Every thread of fltmgrd is a kernel thread from the filters' point of view. */
	return t && t->magic == THREAD_MAGIC;
}

BOOLEAN PsIsThreadTerminating(PETHREAD Thread)
{
	struct fm_kthread *t = (struct fm_kthread *)Thread;

	return t && t->magic == THREAD_MAGIC && t->header.SignalState != 0;
}

struct start_ctx {
	struct fm_kthread *t;
	PKSTART_ROUTINE routine;
	PVOID context;
};

static void *system_thread_main(void *arg)
{
	struct start_ctx sc = *(struct start_ctx *)arg;

	fm_free(arg);
	thread_attach(sc.t);
	sc.routine(sc.context);
	/* Returning from the start routine ends the thread like PsTerminateSystemThread. */
	return NULL;
}

static void thread_handle_close(void *o)
{
	thread_put(o);
}

NTSTATUS PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess,
			      POBJECT_ATTRIBUTES ObjectAttributes, HANDLE ProcessHandle,
			      PCLIENT_ID ClientId, PKSTART_ROUTINE StartRoutine, PVOID StartContext)
{
	struct fm_kthread *t;
	struct start_ctx *sc;
	pthread_t th;
	pthread_attr_t a;
	HANDLE h;
	int rc;

	(void)DesiredAccess;
	(void)ObjectAttributes;
	(void)ProcessHandle;
	if (!ThreadHandle || !StartRoutine)
		return STATUS_INVALID_PARAMETER;
	t = thread_new(1);
	sc = fm_malloc(sizeof(*sc));
	if (!t || !sc) {
		fm_free(t);
		fm_free(sc);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	/* One reference for the running thread (dropped at exit), one for the handle. */
	t->refs = 2;
	h = fm_handle_create(FM_HANDLE_THREAD, t, thread_handle_close);
	if (!h) {
		fm_free(t);
		fm_free(sc);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	sc->t = t;
	sc->routine = StartRoutine;
	sc->context = StartContext;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&th, &a, system_thread_main, sc);
	pthread_attr_destroy(&a);
	if (rc != 0) {
		t->refs = 1;
		fm_handle_close(h);
		fm_free(sc);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	if (ClientId) {
		ClientId->UniqueProcess = (HANDLE)(ULONG_PTR)getpid();
		ClientId->UniqueThread = NULL;
	}
	*ThreadHandle = h;
	return STATUS_SUCCESS;
}

NTSTATUS PsTerminateSystemThread(NTSTATUS ExitStatus)
{
	(void)ExitStatus;
	if (!self_thread || !self_thread->system)
		return STATUS_INVALID_PARAMETER;
	pthread_exit(NULL);
}

/* ---- Processes ------------------------------------------------------------------------------ */

/* Process objects live for the daemon's life: a filter may keep a PEPROCESS it looked up. */
static pthread_mutex_t proc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fm_eprocess **procs; /* guarded by proc_lock */
static size_t nprocs, capprocs;	   /* guarded by proc_lock */
static __thread int current_pid __attribute__((tls_model("initial-exec"))); /* 0: fltmgrd itself */

struct fm_eprocess *fm_nt_process(int pid)
{
	struct fm_eprocess *p = NULL;

	pthread_mutex_lock(&proc_lock);
	for (size_t i = 0; i < nprocs; i++) {
		if (procs[i]->pid == pid) {
			p = procs[i];
			goto out;
		}
	}
	if (nprocs == capprocs) {
		size_t n = capprocs ? capprocs * 2 : 32;
		struct fm_eprocess **np = fm_realloc(procs, n * sizeof(*np));
		if (!np)
			goto out;
		procs = np;
		capprocs = n;
	}
	p = fm_calloc(1, sizeof(*p));
	if (!p)
		goto out;
	p->header.Type = FM_OBJ_PROCESS;
	InitializeListHead(&p->header.WaitListHead);
	p->magic = PROCESS_MAGIC;
	p->pid = pid;
	procs[nprocs++] = p;
out:
	pthread_mutex_unlock(&proc_lock);
	return p;
}

int fm_nt_set_current_pid(int pid)
{
	int old = current_pid;

	current_pid = pid;
	return old;
}

HANDLE PsGetCurrentProcessId(void)
{
	return (HANDLE)(ULONG_PTR)(current_pid ? current_pid : getpid());
}

PEPROCESS PsGetCurrentProcess(void)
{
	return (PEPROCESS)fm_nt_process(current_pid ? current_pid : getpid());
}

PEPROCESS IoGetCurrentProcess(void)
{
	return PsGetCurrentProcess();
}

HANDLE PsGetProcessId(PEPROCESS Process)
{
	struct fm_eprocess *p = (struct fm_eprocess *)Process;

	return (p && p->magic == PROCESS_MAGIC) ? (HANDLE)(ULONG_PTR)p->pid : NULL;
}

ULONG PsGetCurrentProcessSessionId(void)
{
	return 0;
}

NTSTATUS PsLookupProcessByProcessId(HANDLE ProcessId, PEPROCESS *Process)
{
	ULONG_PTR pid = (ULONG_PTR)ProcessId;

	if (!Process)
		return STATUS_INVALID_PARAMETER;
	*Process = NULL;
	if (pid == 0 || pid > 0x7fffffff || (kill((pid_t)pid, 0) != 0 && errno == ESRCH))
		return STATUS_INVALID_PARAMETER;
	*Process = (PEPROCESS)fm_nt_process((int)pid);
	return *Process ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
}

NTSTATUS PsLookupThreadByThreadId(HANDLE ThreadId, PETHREAD *Thread)
{
	(void)ThreadId;
	if (Thread)
		*Thread = NULL;
	/* Threads of other processes have no object here. */
	return STATUS_INVALID_PARAMETER;
}

BOOLEAN PsGetVersion(PULONG MajorVersion, PULONG MinorVersion, PULONG BuildNumber,
		     PUNICODE_STRING CSDVersion)
{
	if (MajorVersion)
		*MajorVersion = 10;
	if (MinorVersion)
		*MinorVersion = 0;
	if (BuildNumber)
		*BuildNumber = 19041;
	if (CSDVersion)
		CSDVersion->Length = 0;
	return FALSE;
}

/* ---- Object references ------------------------------------------------------------------------- */

/*
 * Only thread objects are reference counted here (a thread object must outlive its thread
 * while someone waits on it).  Processes live forever; other objects (file objects, device
 * objects) are owned by the filter manager core, so references on them are accepted and
 * ignored.
 */
LONG_PTR ObfReferenceObject(PVOID Object)
{
	struct fm_kthread *t = Object;

	if (!Object)
		return 0;
	if (t->header.Type == FM_OBJ_THREAD && t->magic == THREAD_MAGIC)
		return __atomic_add_fetch(&t->refs, 1, __ATOMIC_ACQ_REL);
	return 1;
}

LONG_PTR ObfDereferenceObject(PVOID Object)
{
	struct fm_kthread *t = Object;
	long r;

	if (!Object)
		return 0;
	if (t->header.Type == FM_OBJ_THREAD && t->magic == THREAD_MAGIC) {
		r = __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL);
		if (r == 0) {
			t->magic = 0;
			fm_free(t);
		}
		return r;
	}
	return 1;
}

LONG_PTR ObfReferenceObjectWithTag(PVOID Object, ULONG Tag)
{
	(void)Tag;
	return ObfReferenceObject(Object);
}

LONG_PTR ObfDereferenceObjectWithTag(PVOID Object, ULONG Tag)
{
	(void)Tag;
	return ObfDereferenceObject(Object);
}

LONG_PTR ObDereferenceObjectDeferDelete(PVOID Object)
{
	return ObfDereferenceObject(Object);
}

LONG_PTR ObDereferenceObjectDeferDeleteWithTag(PVOID Object, ULONG Tag)
{
	(void)Tag;
	return ObfDereferenceObject(Object);
}

NTSTATUS ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess,
				   POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
				   PVOID *Object, POBJECT_HANDLE_INFORMATION HandleInformation)
{
	enum fm_handle_type want = FM_HANDLE_ANY;
	void *o;

	(void)AccessMode;
	if (!Object)
		return STATUS_INVALID_PARAMETER;
	*Object = NULL;
	if (ObjectType && PsThreadType && ObjectType == *PsThreadType)
		want = FM_HANDLE_THREAD;
	else if (ObjectType && ExEventObjectType && ObjectType == *ExEventObjectType)
		want = FM_HANDLE_EVENT;
	else if (ObjectType && IoFileObjectType && ObjectType == *IoFileObjectType)
		want = FM_HANDLE_FILE;
	if (Handle == NtCurrentThread()) {
		o = fm_nt_current_thread();
	} else if (Handle == NtCurrentProcess()) {
		o = PsGetCurrentProcess();
	} else {
		o = fm_handle_lookup(Handle, want);
		if (!o)
			return fm_handle_lookup(Handle, FM_HANDLE_ANY) ? STATUS_OBJECT_TYPE_MISMATCH
								       : STATUS_INVALID_HANDLE;
	}
	ObfReferenceObject(o);
	*Object = o;
	if (HandleInformation) {
		HandleInformation->HandleAttributes = OBJ_KERNEL_HANDLE;
		HandleInformation->GrantedAccess = DesiredAccess;
	}
	return STATUS_SUCCESS;
}

NTSTATUS ObReferenceObjectByHandleWithTag(HANDLE Handle, ACCESS_MASK DesiredAccess,
					  POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
					  ULONG Tag, PVOID *Object,
					  POBJECT_HANDLE_INFORMATION HandleInformation)
{
	(void)Tag;
	return ObReferenceObjectByHandle(Handle, DesiredAccess, ObjectType, AccessMode, Object,
					 HandleInformation);
}

NTSTATUS ObReferenceObjectByPointer(PVOID Object, ACCESS_MASK DesiredAccess,
				    POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode)
{
	(void)DesiredAccess;
	(void)ObjectType;
	(void)AccessMode;
	if (!Object)
		return STATUS_INVALID_PARAMETER;
	ObfReferenceObject(Object);
	return STATUS_SUCCESS;
}

NTSTATUS ZwClose(HANDLE Handle)
{
	return fm_handle_close(Handle) == 0 ? STATUS_SUCCESS : STATUS_INVALID_HANDLE;
}

NTSTATUS NtClose(HANDLE Handle)
{
	return ZwClose(Handle);
}

/* The object type objects: distinct addresses so type checks by comparison work. */
static struct {
	int id;
} type_objs[8];
static POBJECT_TYPE type_ptrs[8] = {
    (POBJECT_TYPE)&type_objs[0], (POBJECT_TYPE)&type_objs[1], (POBJECT_TYPE)&type_objs[2],
    (POBJECT_TYPE)&type_objs[3], (POBJECT_TYPE)&type_objs[4], (POBJECT_TYPE)&type_objs[5],
    (POBJECT_TYPE)&type_objs[6], (POBJECT_TYPE)&type_objs[7],
};
POBJECT_TYPE *IoFileObjectType = &type_ptrs[0];
POBJECT_TYPE *IoDeviceObjectType = &type_ptrs[1];
POBJECT_TYPE *IoDriverObjectType = &type_ptrs[2];
POBJECT_TYPE *ExEventObjectType = &type_ptrs[3];
POBJECT_TYPE *ExSemaphoreObjectType = &type_ptrs[4];
POBJECT_TYPE *PsProcessType = &type_ptrs[5];
POBJECT_TYPE *PsThreadType = &type_ptrs[6];
POBJECT_TYPE *TmTransactionObjectType = &type_ptrs[7];
POBJECT_TYPE *SeTokenObjectType = &type_ptrs[7];
POBJECT_TYPE *TmEnlistmentObjectType = &type_ptrs[7];
POBJECT_TYPE *TmResourceManagerObjectType = &type_ptrs[7];
POBJECT_TYPE *TmTransactionManagerObjectType = &type_ptrs[7];
POBJECT_TYPE *CmKeyObjectType = &type_ptrs[7];
POBJECT_TYPE *MmSectionObjectType = &type_ptrs[7];

BOOLEAN KdDebuggerEnabled = FALSE;
BOOLEAN KdDebuggerNotPresent = TRUE;
