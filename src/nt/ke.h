/* Kernel-runtime internals shared by src/nt files: threads, processes, dispatcher, object refs. */
#ifndef FM_NT_KE_H
#define FM_NT_KE_H

#include <wdm.h>

#include <stdint.h>

/*
 * A thread object: what PKTHREAD/PETHREAD point to.  It starts with a dispatcher header so
 * that KeWaitForSingleObject on a thread waits for its termination.  System threads (from
 * PsCreateSystemThread) and every other thread that asks for KeGetCurrentThread() get one.
 */
struct fm_kthread {
	DISPATCHER_HEADER header; /* ThreadObject; signalled when the thread has exited */
	uint32_t magic;
	int system; /* created by PsCreateSystemThread */
	int tid;
	int pid;
	long refs; /* Ob references + 1 while the thread runs */
};

/* A process object: PEPROCESS.  One per pid, kept for the daemon's life. */
struct fm_eprocess {
	DISPATCHER_HEADER header; /* ProcessObject */
	uint32_t magic;
	int pid;
};

struct fm_kthread *fm_nt_current_thread(void);
struct fm_eprocess *fm_nt_process(int pid);

/*
 * The "current process" the kernel runtime reports (PsGetCurrentProcessId/PsGetCurrentProcess)
 * for the calling thread: the core sets it to the requestor's pid around filter callbacks of a
 * process's request, and back to 0 (meaning fltmgrd itself) afterwards.  Returns the old value.
 */
int fm_nt_set_current_pid(int pid);

/*
 * The per-thread kernel-runtime state that belongs to the work a thread does rather than to the
 * thread: IRQL, critical and guarded region depths, the current process.  A fiber that parks
 * saves it (the thread goes back to PASSIVE_LEVEL, no region, process 0) and loads it where it
 * resumes.
 */
struct fm_nt_tls {
	KIRQL irql;
	int crit_regions;
	int guard_regions;
	int pid;
};
void fm_nt_tls_save(struct fm_nt_tls *t);
void fm_nt_tls_load(const struct fm_nt_tls *t);

/* Dispatcher object types (DISPATCHER_HEADER.Type), the Windows numbers. */
enum {
	FM_OBJ_EVENT_NOTIFICATION = 0,
	FM_OBJ_EVENT_SYNCHRONIZATION = 1,
	FM_OBJ_MUTANT = 2,
	FM_OBJ_PROCESS = 3,
	FM_OBJ_SEMAPHORE = 5,
	FM_OBJ_THREAD = 6,
	FM_OBJ_TIMER_NOTIFICATION = 8,
	FM_OBJ_TIMER_SYNCHRONIZATION = 9,
};

/* Signal a dispatcher object (threads at exit); wakes waiters. */
void fm_nt_signal_object(DISPATCHER_HEADER *h, LONG state);

/* Convert a WDK timeout (100 ns, negative relative, positive absolute) to CLOCK_MONOTONIC ns. */
int64_t fm_nt_deadline_ns(const LARGE_INTEGER *timeout);
int64_t fm_nt_mono_ns(void);

/* Logs a misuse once per call site (verifier-style report, never fatal). */
void fm_nt_misuse(const char *what);

#endif
