/* I/O dispatch: one operation through the volume's instances and the lower file system. */
#include "core/core_i.h"
#include "common/alloc.h"
#include "common/log.h"
#include "nt/ke.h"

#include <errno.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/*
 * Dispatch is a resumable state machine, not a recursion: every step reads and advances
 * irp->priv, so an operation pended by a filter (pre or post) resumes in whichever thread
 * completes it, exactly where it stopped.  States, guarded by atomic compare-and-swap:
 *   RUNNING -> PENDED_PRE / PENDED_POST when a callback pends and returns,
 *   RUNNING -> EARLY when the completion arrives before the pending callback has returned
 *              (the thread that called the callback then continues itself),
 *   PENDED_* -> RUNNING when the completion arrives later (the completing thread continues).
 */
enum { ST_RUNNING = 1, ST_PENDED_PRE, ST_PENDED_POST, ST_EARLY, ST_DONE };

struct fm_irp *fm_irp_from_data(PFLT_CALLBACK_DATA data)
{
	return (struct fm_irp *)((char *)data - offsetof(struct fm_irp, data));
}

const struct fm_requestor *fm_irp_requestor(PFLT_CALLBACK_DATA data)
{
	return &fm_irp_from_data(data)->who;
}

void fm_irp_init(struct fm_irp *irp, struct fm_volume *vol, UCHAR major, UCHAR minor,
		 PFILE_OBJECT fo, const struct fm_requestor *who)
{
	memset(&irp->data, 0, sizeof(irp->data));
	memset(&irp->iopb, 0, sizeof(irp->iopb));
	irp->data.Flags = FLTFL_CALLBACK_DATA_IRP_OPERATION;
	irp->data.Iopb = &irp->iopb;
	irp->data.RequestorMode = who ? UserMode : KernelMode;
	irp->iopb.MajorFunction = major;
	irp->iopb.MinorFunction = minor;
	irp->iopb.TargetFileObject = fo;
	if (who)
		irp->who = *who;
	else
		memset(&irp->who, 0, sizeof(irp->who));
	irp->vol = vol;
	irp->done = NULL;
	irp->done_arg = NULL;
	irp->issuer = NULL;
	irp->cancel_check = NULL;
	irp->cancel_arg = NULL;
	irp->lower_status = 0;
	irp->lower_errno = 0;
	irp->priv = NULL;
}

/* First list entry strictly below the issuing instance, or 0 for I/O from processes. */
static unsigned int first_below(const struct fm_cb_list *list, const struct fm_instance *issuer)
{
	unsigned int i = 0;

	if (!issuer)
		return 0;
	while (i < list->n && fm__altitude_cmp(list->e[i].inst->altitude, issuer->altitude) >= 0)
		i++;
	return i;
}

static void related(FLT_RELATED_OBJECTS *o, struct fm_instance *inst, PFILE_OBJECT fo)
{
	o->Size = sizeof(*o);
	o->TransactionContext = 0;
	o->Filter = inst->filter;
	o->Volume = inst->volume;
	o->Instance = inst;
	o->FileObject = fo;
	o->Transaction = NULL;
}

/* Skip flags of an operation registration (R10) apply to reads and writes only. */
static bool skip_for_flags(const struct fm_cb_entry *e, const FLT_IO_PARAMETER_BLOCK *iopb)
{
	ULONG irpf = iopb->IrpFlags;

	if (iopb->MajorFunction != IRP_MJ_READ && iopb->MajorFunction != IRP_MJ_WRITE)
		return false;
	if ((e->flags & FLTFL_OPERATION_REGISTRATION_SKIP_PAGING_IO) && (irpf & IRP_PAGING_IO))
		return true;
	if ((e->flags & FLTFL_OPERATION_REGISTRATION_SKIP_CACHED_IO) && !(irpf & IRP_NOCACHE))
		return true;
	if ((e->flags & FLTFL_OPERATION_REGISTRATION_SKIP_NON_CACHED_NON_PAGING_IO) &&
	    (irpf & IRP_NOCACHE) && !(irpf & IRP_PAGING_IO))
		return true;
	return false;
}

/*
 * ---- Where a teardown finds the operations in flight ----
 *
 * The hot path takes no lock and does no atomic read-modify-write.  An operation with
 * callbacks to run is, while a thread runs it, on that thread's list, and while pended, on the
 * parked list (under its lock).  A thread's list is changed only by that thread, inside a
 * *list section*: it sets its `busy` word, and goes on only if no scan is in progress
 * (`scanning`); otherwise it waits for the scan on scan_lock and changes its list under that
 * lock.  A scan (teardown, stack reclaim) takes scan_lock, sets `scanning`, issues
 * fm__dispatch_barrier, then reads each thread's list once that thread is out of its section:
 * the barrier makes sure every thread either sees `scanning` or has its `busy` visible to the
 * scan (Dekker's store-then-load on both sides, the hot path's half paying no fence).
 *
 * The same section protects the volume's stack: an operation reads vol->stack inside it and
 * keeps it in p->stack while on a list; a stack a rebuild replaced is retired, and freed by
 * the first scan that finds no operation using it (the operation that drops the last use of a
 * retired stack runs that scan).
 *
 * The teardown of an instance drains its post nodes still ARMED (a compare-and-swap decides
 * between it and an operation that saw the teardown flag) and waits while an operation names
 * the instance in `cur` (one of its callbacks runs, or its pre pended the operation) or has
 * one of its post nodes RUNNING.  `cur` is stored and tearing_down read with plain accesses;
 * the teardown makes that safe with the same barrier after setting tearing_down: either the
 * thread saw the flag, or its store of `cur` is visible to the scan.  Without membarrier(2)
 * the hot path pays a full fence in both places instead.
 */
struct fm_dispatch_thread {
	atomic_int busy;			/* in a fast list section */
	struct fm_irp_private *head;		/* its own list section, or a scan */
	struct fm_dispatch_thread *next, *prev; /* threads_lock */
	bool registered;
};

static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fm_dispatch_thread threads = {0, NULL, &threads, &threads, true};
static pthread_mutex_t scan_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int scanning;
static pthread_mutex_t parked_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fm_irp_private *parked; /* parked_lock */
static pthread_mutex_t retired_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fm_stack *retired; /* retired_lock */
static pthread_key_t thread_key;
static pthread_once_t dispatch_once = PTHREAD_ONCE_INIT;
static bool use_membarrier;
static __thread struct fm_dispatch_thread tls_thread __attribute__((tls_model("initial-exec")));

static void thread_exit_cb(void *arg)
{
	struct fm_dispatch_thread *td = arg;

	pthread_mutex_lock(&threads_lock);
	td->prev->next = td->next;
	td->next->prev = td->prev;
	td->registered = false;
	pthread_mutex_unlock(&threads_lock);
}

static void dispatch_init(void)
{
	pthread_key_create(&thread_key, thread_exit_cb);
	use_membarrier =
	    syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
}

/*
 * A full fence.  ThreadSanitizer does not support atomic_thread_fence (GCC refuses it with
 * -fsanitize=thread): there, a sequentially consistent read-modify-write of a shared word
 * orders the same way (a locked instruction on x86) and is something TSan models.
 */
static inline void full_fence(void)
{
#if defined(__SANITIZE_THREAD__)
	static atomic_int fence_word;

	atomic_fetch_add_explicit(&fence_word, 0, memory_order_seq_cst);
#else
	atomic_thread_fence(memory_order_seq_cst);
#endif
}

void fm__dispatch_barrier(void)
{
	pthread_once(&dispatch_once, dispatch_init);
	full_fence();
	if (use_membarrier && syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0)
		fm_log(FM_LOG_ERROR, NULL, "membarrier failed: %s", strerror(errno));
}

/* The hot path's half of a store-then-load pair whose other half is fm__dispatch_barrier. */
static inline void light_fence(void)
{
	if (use_membarrier)
		atomic_signal_fence(memory_order_seq_cst);
	else
		full_fence();
}

static struct fm_dispatch_thread *thread_self(void)
{
	struct fm_dispatch_thread *td = &tls_thread;

	if (__builtin_expect(!td->registered, 0)) {
		pthread_once(&dispatch_once, dispatch_init);
		pthread_mutex_lock(&threads_lock);
		td->next = &threads;
		td->prev = threads.prev;
		td->prev->next = td;
		threads.prev = td;
		td->registered = true;
		pthread_mutex_unlock(&threads_lock);
		pthread_setspecific(thread_key, td);
	}
	return td;
}

/*
 * Enter the calling thread's list section; returns true on the fast path (no scan running).
 * Nothing inside a section blocks or calls a filter.  ThreadSanitizer does not model the
 * membarrier pairing, so its builds always take the lock.
 */
static inline bool section_enter(struct fm_dispatch_thread *td)
{
#if !defined(__SANITIZE_THREAD__)
	atomic_store_explicit(&td->busy, 1, memory_order_relaxed);
	light_fence();
	if (__builtin_expect(!atomic_load_explicit(&scanning, memory_order_relaxed), 1))
		return true;
	atomic_store_explicit(&td->busy, 0, memory_order_release);
#else
	(void)td;
#endif
	pthread_mutex_lock(&scan_lock);
	return false;
}

static inline void section_leave(struct fm_dispatch_thread *td, bool fast)
{
	if (fast)
		atomic_store_explicit(&td->busy, 0, memory_order_release);
	else
		pthread_mutex_unlock(&scan_lock);
}

/* Start a scan of every thread's list and the parked list; scan_end ends it. */
static void scan_begin(void)
{
	pthread_mutex_lock(&scan_lock);
	atomic_store(&scanning, 1);
	fm__dispatch_barrier();
	pthread_mutex_lock(&threads_lock);
	pthread_mutex_lock(&parked_lock);
}

static void scan_end(void)
{
	pthread_mutex_unlock(&parked_lock);
	pthread_mutex_unlock(&threads_lock);
	atomic_store_explicit(&scanning, 0, memory_order_release);
	pthread_mutex_unlock(&scan_lock);
}

/* During a scan: td's list, once td is out of its section. */
static struct fm_irp_private *scan_thread(struct fm_dispatch_thread *td)
{
	while (atomic_load_explicit(&td->busy, memory_order_acquire))
		sched_yield();
	return td->head;
}

/* Link p on td's list (td is the calling thread, in its section). */
static inline void link_thread(struct fm_dispatch_thread *td, struct fm_irp_private *p)
{
	p->td = td;
	p->tpprev = &td->head;
	p->tnext = td->head;
	if (p->tnext)
		p->tnext->tpprev = &p->tnext;
	td->head = p;
}

static inline void unlink_thread(struct fm_irp_private *p)
{
	*p->tpprev = p->tnext;
	if (p->tnext)
		p->tnext->tpprev = p->tpprev;
	p->td = NULL;
}

/* The calling thread now runs p. */
static void thread_list(struct fm_irp_private *p)
{
	struct fm_dispatch_thread *td = thread_self();
	bool fast = section_enter(td);

	link_thread(td, p);
	section_leave(td, fast);
}

/*
 * The calling thread no longer runs p (it was listed by this thread).  With `last`, p also
 * lets go of its stack: returns true if that stack was retired meanwhile (the caller then
 * runs fm__stack_reclaim, since a scan may have kept it for p).
 */
static bool thread_unlist(struct fm_irp_private *p, bool last)
{
	struct fm_dispatch_thread *td = p->td;
	bool fast, was_retired = false;

	if (!td)
		return false;
	fast = section_enter(td);
	unlink_thread(p);
	if (last && p->stack)
		was_retired = atomic_load_explicit(&p->stack->retired, memory_order_relaxed);
	section_leave(td, fast);
	return was_retired;
}

/* Free the retired stacks no operation uses any more. */
static void stack_reclaim(void)
{
	struct fm_stack *done = NULL;

	pthread_mutex_lock(&retired_lock);
	if (!retired) {
		pthread_mutex_unlock(&retired_lock);
		return;
	}
	for (struct fm_stack *r = retired; r; r = r->retired_next)
		r->in_use = false;
	scan_begin();
	for (struct fm_dispatch_thread *td = threads.next; td != &threads; td = td->next)
		for (struct fm_irp_private *p = scan_thread(td); p; p = p->tnext)
			if (p->stack &&
			    atomic_load_explicit(&p->stack->retired, memory_order_relaxed))
				p->stack->in_use = true;
	for (struct fm_irp_private *p = parked; p; p = p->pnext)
		if (p->stack && atomic_load_explicit(&p->stack->retired, memory_order_relaxed))
			p->stack->in_use = true;
	scan_end();
	for (struct fm_stack **pp = &retired; *pp;) {
		struct fm_stack *r = *pp;

		if (r->in_use) {
			pp = &r->retired_next;
			continue;
		}
		*pp = r->retired_next;
		r->retired_next = done;
		done = r;
	}
	pthread_mutex_unlock(&retired_lock);
	/* Freeing a stack drops instance references: outside our locks. */
	while (done) {
		struct fm_stack *r = done;

		done = r->retired_next;
		fm__stack_free(r);
	}
}

void fm__stack_retire(struct fm_stack *st)
{
	pthread_once(&dispatch_once, dispatch_init);
	atomic_store(&st->retired, true);
	pthread_mutex_lock(&retired_lock);
	st->retired_next = retired;
	retired = st;
	pthread_mutex_unlock(&retired_lock);
	stack_reclaim();
}

bool fm_volume_unfiltered(const struct fm_volume *vol, UCHAR major)
{
	struct fm_dispatch_thread *td = thread_self();
	bool fast = section_enter(td);
	struct fm_stack *st =
	    atomic_load_explicit(&((struct fm_volume *)vol)->stack, memory_order_acquire);
	bool r = !st || !st->lists[major];

	section_leave(td, fast);
	return r;
}

static void park(struct fm_irp_private *p)
{
	pthread_mutex_lock(&parked_lock);
	if (!p->pended_once) {
		/* Only pended operations finish in another thread or wait: set up on first use. */
		pthread_mutex_init(&p->wait_lock, NULL);
		pthread_cond_init(&p->wait_cond, NULL);
		p->pended_once = true;
	}
	p->parked = true;
	p->ppprev = &parked;
	p->pnext = parked;
	if (p->pnext)
		p->pnext->ppprev = &p->pnext;
	parked = p;
	pthread_mutex_unlock(&parked_lock);
}

static void unpark(struct fm_irp_private *p)
{
	pthread_mutex_lock(&parked_lock);
	if (p->parked) {
		*p->ppprev = p->pnext;
		if (p->pnext)
			p->pnext->ppprev = p->ppprev;
		p->parked = false;
	}
	p->pended_by = NULL;
	pthread_mutex_unlock(&parked_lock);
}

/* Store `cur`, then read the teardown flag (see above for why no stronger barrier). */
static inline bool enter_instance(struct fm_irp_private *p, struct fm_instance *inst)
{
	atomic_store_explicit(&p->cur, inst, memory_order_relaxed);
	light_fence();
	return !atomic_load_explicit(&inst->tearing_down, memory_order_relaxed);
}

static inline void leave_instance(struct fm_irp_private *p)
{
	atomic_store_explicit(&p->cur, NULL, memory_order_release);
}

static void finish(struct fm_irp *irp)
{
	struct fm_irp_private *p = irp->priv;
	fm_irp_done_cb done = irp->done;
	void *arg = irp->done_arg;
	bool waiter, reclaim;

	reclaim = thread_unlist(p, true);
	p->stack = NULL;
	if (reclaim)
		stack_reclaim();
	pthread_mutex_lock(&p->wait_lock);
	atomic_store(&p->state, ST_DONE);
	waiter = p->waiter;
	if (waiter)
		pthread_cond_broadcast(&p->wait_cond);
	pthread_mutex_unlock(&p->wait_lock);
	/* After `done` or the waiter wakes, the irp may be freed: touch nothing below. */
	if (!waiter && done)
		done(irp, arg);
}

static void call_lower(struct fm_irp *irp)
{
	struct fm_volume *vol = irp->vol;
	PFILE_OBJECT fo = irp->iopb.TargetFileObject;

	vol->lower->dispatch(vol, &irp->data);
	if (irp->iopb.MajorFunction == IRP_MJ_CLEANUP && fo &&
	    NT_SUCCESS(irp->data.IoStatus.Status))
		fo->Flags |= FO_CLEANUP_COMPLETE;
}

/* The MDL of the operation's buffer now, if a pre-operation put in one its snapshot lacks. */
static PMDL swapped_mdl(struct fm_irp *irp, const FLT_IO_PARAMETER_BLOCK *snap)
{
	PMDL *now;
	size_t off;

	if (!NT_SUCCESS(FltDecodeParameters(&irp->data, &now, NULL, NULL, NULL)) || !*now)
		return NULL;
	off = (size_t)((char *)now - (char *)irp->data.Iopb);
	return *(PMDL *)((char *)snap + off) == *now ? NULL : *now;
}

static void release_swapped(struct fm_irp_private *p)
{
	if (p->swapped_mdl && !p->retain_mdl)
		IoFreeMdl(p->swapped_mdl);
	p->swapped_mdl = NULL;
}

/* Walk post-operations upward from node `from` (exclusive upper bound). Returns false if a
 * post-operation pended the operation.  The requestor is the current process (run_post). */
static bool walk_post(struct fm_irp *irp, unsigned int from)
{
	struct fm_irp_private *p = irp->priv;
	FLT_RELATED_OBJECTS objs;

	irp->data.Flags |= FLTFL_CALLBACK_DATA_POST_OPERATION;
	for (unsigned int i = from; i-- > 0;) {
		struct fm_post_node *n = &p->nodes[i];
		struct fm_filter *prev;
		FLT_POSTOP_CALLBACK_STATUS r;
		FLT_POST_OPERATION_FLAGS flags = 0;
		int expect = FM_NODE_ARMED;
		struct fm__tls_op prev_op;

		/*
		 * Claim the node; teardown may have drained it already (R29).  Naming the
		 * instance in `cur` keeps its teardown away from the node, unless the teardown
		 * started first: then a compare-and-swap decides.
		 */
		if (atomic_load_explicit(&n->state, memory_order_relaxed) != FM_NODE_ARMED)
			continue;
		if (enter_instance(p, n->inst)) {
			atomic_store_explicit(&n->state, FM_NODE_RUNNING, memory_order_relaxed);
		} else if (!atomic_compare_exchange_strong(&n->state, &expect, FM_NODE_RUNNING)) {
			leave_instance(p);
			continue;
		}

		/* A buffer the instance swapped in with its own MDL: the filter manager frees
		 * that MDL after the instance's post-operation (R50).  Only a pre-operation
		 * that kept its changes (dirty) can have put one in. */
		p->swapped_mdl = p->params_changed ? swapped_mdl(irp, &n->snap) : NULL;
		p->retain_mdl = false;
		/* Each instance's post sees the parameters its pre saw (R49). */
		*irp->data.Iopb = n->snap;
		irp->iopb.TargetInstance = n->inst;
		related(&objs, n->inst, irp->iopb.TargetFileObject);
		p->post_pos = i;
		prev = fm__enter_filter(n->inst->filter);
		prev_op = fm__tls_op;
		fm__tls_op = (struct fm__tls_op){&irp->data, true};
		r = n->post(&irp->data, &objs, n->ctx, flags);
		fm__tls_op = prev_op;
		fm__leave_filter(prev);
		/* The node is RUNNING: the teardown keeps waiting for it without `cur`. */
		leave_instance(p);
		if (r == FLT_POSTOP_MORE_PROCESSING_REQUIRED) {
			int st = ST_RUNNING;

			/* Findable while nobody runs it; the node stays RUNNING until
			 * FltCompletePendedPostOperation. */
			park(p);
			thread_unlist(p, false);
			if (atomic_compare_exchange_strong(&p->state, &st, ST_PENDED_POST))
				return false;
			/* Completed before we got here: go on in this thread. */
			thread_list(p);
			unpark(p);
			release_swapped(p);
			atomic_store(&p->state, ST_RUNNING);
		} else if (r != FLT_POSTOP_FINISHED_PROCESSING) {
			fm_verifier_misuse(
			    n->inst->filter,
			    "post-operation returned undefined status %d; treated as finished",
			    (int)r);
			release_swapped(p);
		} else {
			release_swapped(p);
		}
		atomic_store_explicit(&n->state, FM_NODE_DONE, memory_order_release);
	}
	return true;
}

/*
 * Apply what entry `pos`'s pre-operation decided.  Returns 1 to go on down, 0 when the
 * operation completed there (post-ops of the nodes above still run).
 */
static int apply_pre(struct fm_irp *irp, FLT_PREOP_CALLBACK_STATUS r, PVOID ctx, ULONG prev_dirty)
{
	struct fm_irp_private *p = irp->priv;
	const struct fm_cb_entry *e = &p->list->e[p->pos];
	struct fm_post_node *n = &p->nodes[p->npost];

	/* Changes to the parameters count only when the filter said so (R48). */
	if (!(irp->data.Flags & FLTFL_CALLBACK_DATA_DIRTY))
		*irp->data.Iopb = n->snap;
	else
		p->params_changed = true;
	irp->data.Flags |= prev_dirty;

	switch (r) {
	case FLT_PREOP_SUCCESS_WITH_CALLBACK:
	case FLT_PREOP_SYNCHRONIZE:
		if (e->post) {
			n->post = e->post;
			n->ctx = ctx;
			n->data_flags = irp->data.Flags & ~FLTFL_CALLBACK_DATA_DIRTY;
			n->requestor_mode = irp->data.RequestorMode;
			/* Armed before `cur` is cleared: a teardown always sees one of them. */
			atomic_store_explicit(&n->state, FM_NODE_ARMED, memory_order_release);
			p->npost++;
			p->pos++;
			leave_instance(p);
			return 1;
		}
		fm_verifier_misuse(
		    e->inst->filter,
		    "pre-operation asked for a post-operation it has not registered");
		break;
	case FLT_PREOP_SUCCESS_NO_CALLBACK:
		break;
	case FLT_PREOP_COMPLETE:
		if (irp->data.IoStatus.Status == STATUS_PENDING) {
			fm_verifier_misuse(e->inst->filter,
					   "completed an operation with STATUS_PENDING");
			irp->data.IoStatus.Status = STATUS_INTERNAL_ERROR;
		}
		if ((irp->iopb.MajorFunction == IRP_MJ_CLEANUP ||
		     irp->iopb.MajorFunction == IRP_MJ_CLOSE) &&
		    !NT_SUCCESS(irp->data.IoStatus.Status)) {
			/* R36: cleanup and close never fail. */
			fm_verifier_misuse(e->inst->filter,
					   "failed IRP_MJ_CLEANUP/CLOSE; forced to success");
			irp->data.IoStatus.Status = STATUS_SUCCESS;
		}
		leave_instance(p);
		return 0;
	case FLT_PREOP_DISALLOW_FASTIO:
		fm_verifier_misuse(
		    e->inst->filter,
		    "returned FLT_PREOP_DISALLOW_FASTIO for an IRP operation; treated as "
		    "FLT_PREOP_SUCCESS_NO_CALLBACK");
		break;
	default:
		fm_verifier_misuse(e->inst->filter,
				   "pre-operation returned undefined status %d; treated as "
				   "FLT_PREOP_SUCCESS_NO_CALLBACK",
				   (int)r);
		break;
	}
	leave_instance(p);
	p->pos++;
	return 1;
}

size_t fm__instance_release_pended(struct fm_instance *inst)
{
	size_t n = 0;

	for (;;) {
		struct fm_irp *irp = NULL;

		pthread_mutex_lock(&parked_lock);
		for (struct fm_irp_private *p = parked; p; p = p->pnext) {
			if (p->pended_by == inst && atomic_load(&p->state) == ST_PENDED_PRE) {
				irp = p->irp;
				break;
			}
		}
		pthread_mutex_unlock(&parked_lock);
		if (!irp)
			return n;
		fm_verifier_misuse(inst->filter,
				   "an operation (%s) pended by instance '%s' was never completed; "
				   "completing it as FLT_PREOP_SUCCESS_NO_CALLBACK",
				   FltGetIrpName(irp->iopb.MajorFunction), inst->name);
		FltCompletePendedPreOperation(&irp->data, FLT_PREOP_SUCCESS_NO_CALLBACK, NULL);
		n++;
	}
}

/* Run pre-operations from p->pos down, then the lower, then posts.  Returns false if pended. */
static bool walk(struct fm_irp *irp)
{
	struct fm_irp_private *p = irp->priv;

	while (p->pos < p->list->n) {
		const struct fm_cb_entry *e = &p->list->e[p->pos];
		struct fm_instance *inst = e->inst;
		struct fm_post_node *n = &p->nodes[p->npost];
		FLT_RELATED_OBJECTS objs;
		FLT_PREOP_CALLBACK_STATUS r;
		struct fm_filter *prev;
		ULONG prev_dirty;
		PVOID ctx = NULL;
		struct fm__tls_op prev_op;
		int expect;

		if (skip_for_flags(e, &irp->iopb) || !enter_instance(p, inst)) {
			leave_instance(p);
			p->pos++;
			continue;
		}
		n->inst = inst;
		n->post = NULL;
		n->ctx = NULL;
		n->snap = irp->iopb;
		if (!e->pre) {
			/* Post only: as if the pre-op returned SUCCESS_WITH_CALLBACK. */
			apply_pre(irp, FLT_PREOP_SUCCESS_WITH_CALLBACK, NULL, 0);
			continue;
		}
		prev_dirty = irp->data.Flags & FLTFL_CALLBACK_DATA_DIRTY;
		irp->data.Flags &= ~FLTFL_CALLBACK_DATA_DIRTY;
		irp->iopb.TargetInstance = inst;
		related(&objs, inst, irp->iopb.TargetFileObject);
		p->pend_dirty = prev_dirty;
		prev = fm__enter_filter(inst->filter);
		prev_op = fm__tls_op;
		fm__tls_op = (struct fm__tls_op){&irp->data, false};
		r = e->pre(&irp->data, &objs, &ctx);
		fm__tls_op = prev_op;
		fm__leave_filter(prev);
		if (r == FLT_PREOP_PENDING) {
			if (ctx)
				fm_verifier_misuse(inst->filter,
						   "pended with a non-NULL completion context");
			/* Parked before the state says pended, so a completion racing in finds it
			 * findable; `cur` keeps naming the instance until it is completed. */
			p->pended_by = inst;
			park(p);
			thread_unlist(p, false);
			expect = ST_RUNNING;
			if (atomic_compare_exchange_strong(&p->state, &expect, ST_PENDED_PRE))
				return false;
			/* FltCompletePendedPreOperation already ran: continue here. */
			thread_list(p);
			unpark(p);
			atomic_store(&p->state, ST_RUNNING);
			r = p->pend_status;
			ctx = p->pend_ctx;
		}
		if (!apply_pre(irp, r, ctx, prev_dirty))
			return walk_post(irp, p->npost);
	}
	call_lower(irp);
	return walk_post(irp, p->npost);
}

/*
 * walk and walk_post with the requestor as the current process (PsGetCurrentProcessId) for
 * the callbacks and the lower file system, as on Windows, where they run in its context.
 */
static bool run(struct fm_irp *irp)
{
	int prev_pid = fm_nt_set_current_pid((int)irp->who.pid);
	bool r = walk(irp);

	fm_nt_set_current_pid(prev_pid);
	return r;
}

static bool run_post(struct fm_irp *irp, unsigned int from)
{
	int prev_pid = fm_nt_set_current_pid((int)irp->who.pid);
	bool r = walk_post(irp, from);

	fm_nt_set_current_pid(prev_pid);
	return r;
}

/* The zero state of an inline private block, field by field (cheaper than a memset of the
 * whole block; wait_lock/wait_cond are set up at the first pend, td and the list links when
 * listed or parked). */
static inline void priv_init(struct fm_irp_private *p)
{
	p->npost = 0;
	p->post_pos = 0;
	p->pend_status = 0;
	p->pend_ctx = NULL;
	p->pend_dirty = 0;
	p->heap = false;
	p->pended_once = false;
	p->params_changed = false;
	p->waiter = false;
	atomic_init(&p->cur, NULL);
	p->td = NULL;
	p->parked = false;
	atomic_init(&p->cancel_state, 0);
	atomic_init(&p->canceled, false);
	p->cancel_cb = NULL;
	p->cbdq = NULL;
	p->cbdq_ctx = NULL;
	p->locked_mdl = NULL;
	p->pended_by = NULL;
	p->pnext = NULL;
	p->ppprev = NULL;
	p->swapped_mdl = NULL;
	p->retain_mdl = false;
}

NTSTATUS fm_irp_dispatch(struct fm_irp *irp)
{
	struct fm_volume *vol = irp->vol;
	struct fm_dispatch_thread *td = thread_self();
	bool fast = section_enter(td);
	struct fm_stack *st = atomic_load_explicit(&vol->stack, memory_order_acquire);
	const struct fm_cb_list *list = st ? st->lists[irp->iopb.MajorFunction] : NULL;
	struct fm_irp_private *p;
	size_t need;
	bool has_done;

	if (list && irp->issuer && first_below(list, irp->issuer) == list->n)
		list = NULL;
	if (!list) {
		/* Fast path: nobody is interested, no callback data bookkeeping at all. */
		section_leave(td, fast);
		call_lower(irp);
		return irp->data.IoStatus.Status;
	}
	/* Still in the section: the stack stays valid while the operation is on the list. */
	need = sizeof(*p) + list->n * sizeof(struct fm_post_node);
	if (need <= sizeof(irp->inline_priv)) {
		p = (struct fm_irp_private *)irp->inline_priv;
		priv_init(p);
		for (unsigned int i = 0; i < list->n; i++)
			atomic_init(&p->inline_nodes[i].state, FM_NODE_FREE);
	} else {
		p = fm_calloc(1, need);
		if (!p) {
			section_leave(td, fast);
			irp->data.IoStatus.Status = STATUS_INSUFFICIENT_RESOURCES;
			irp->data.IoStatus.Information = 0;
			return STATUS_INSUFFICIENT_RESOURCES;
		}
		p->heap = true;
	}
	p->stack = st;
	p->irp = irp;
	p->list = list;
	p->pos = first_below(list, irp->issuer);
	p->nodes = p->inline_nodes;
	p->nslots = list->n;
	atomic_store_explicit(&p->state, ST_RUNNING, memory_order_relaxed);
	irp->priv = p;
	link_thread(td, p);
	section_leave(td, fast);

	/* Once run() has pended the operation another thread may finish it and, through the
	 * done callback, free the irp: decide now how we will wait. */
	has_done = irp->done != NULL;
	if (run(irp)) {
		NTSTATUS s = irp->data.IoStatus.Status;

		if (thread_unlist(p, true))
			stack_reclaim();
		p->stack = NULL;
		atomic_store_explicit(&p->state, ST_DONE, memory_order_relaxed);
		return s;
	}
	if (has_done)
		return STATUS_PENDING;
	/* No completion callback: the caller wants the outcome, so wait for it here. */
	pthread_mutex_lock(&p->wait_lock);
	p->waiter = true;
	while (atomic_load(&p->state) != ST_DONE) {
		struct timespec ts;

		if (!irp->cancel_check) {
			pthread_cond_wait(&p->wait_cond, &p->wait_lock);
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&p->wait_cond, &p->wait_lock, &ts);
		if (atomic_load(&p->state) != ST_DONE && !atomic_load(&p->canceled) &&
		    irp->cancel_check(irp->cancel_arg)) {
			/* The cancel routine may complete the operation: not under our lock. */
			pthread_mutex_unlock(&p->wait_lock);
			fm_irp_cancel(irp);
			pthread_mutex_lock(&p->wait_lock);
		}
	}
	pthread_mutex_unlock(&p->wait_lock);
	return irp->data.IoStatus.Status;
}

void fm_irp_cleanup(struct fm_irp *irp)
{
	struct fm_irp_private *p = irp->priv;

	if (!p)
		return;
	if (p->locked_mdl)
		IoFreeMdl(p->locked_mdl);
	if (p->pended_once) {
		pthread_mutex_destroy(&p->wait_lock);
		pthread_cond_destroy(&p->wait_cond);
	}
	if (p->heap)
		fm_free(p);
	irp->priv = NULL;
}

VOID FLTAPI FltCompletePendedPreOperation(PFLT_CALLBACK_DATA Data,
					  FLT_PREOP_CALLBACK_STATUS CallbackStatus, PVOID Context)
{
	struct fm_irp *irp;
	struct fm_irp_private *p;
	int expect;

	if (!Data)
		return;
	irp = fm_irp_from_data(Data);
	p = irp->priv;
	if (!p) {
		fm_verifier_misuse(
		    NULL, "FltCompletePendedPreOperation on an operation that was not pended");
		return;
	}
	if (CallbackStatus != FLT_PREOP_SUCCESS_WITH_CALLBACK &&
	    CallbackStatus != FLT_PREOP_SUCCESS_NO_CALLBACK &&
	    CallbackStatus != FLT_PREOP_COMPLETE) {
		fm_verifier_misuse(
		    NULL,
		    "FltCompletePendedPreOperation with invalid status %d; treated as "
		    "FLT_PREOP_SUCCESS_NO_CALLBACK",
		    (int)CallbackStatus);
		CallbackStatus = FLT_PREOP_SUCCESS_NO_CALLBACK;
	}
	p->pend_status = CallbackStatus;
	p->pend_ctx = Context;
	expect = ST_PENDED_PRE;
	if (!atomic_compare_exchange_strong(&p->state, &expect, ST_RUNNING)) {
		expect = ST_RUNNING;
		if (atomic_compare_exchange_strong(&p->state, &expect, ST_EARLY))
			return; /* the pre-operation has not returned yet; its thread goes on */
		fm_verifier_misuse(NULL, "FltCompletePendedPreOperation on an operation that is "
					 "not pended (completed twice?)");
		return;
	}
	thread_list(p);
	unpark(p);
	if (!apply_pre(irp, CallbackStatus, Context, p->pend_dirty)) {
		if (run_post(irp, p->npost))
			finish(irp);
		return;
	}
	if (run(irp))
		finish(irp);
}

VOID FLTAPI FltCompletePendedPostOperation(PFLT_CALLBACK_DATA Data)
{
	struct fm_irp *irp;
	struct fm_irp_private *p;
	int expect;

	if (!Data)
		return;
	irp = fm_irp_from_data(Data);
	p = irp->priv;
	if (!p)
		return;
	expect = ST_PENDED_POST;
	if (!atomic_compare_exchange_strong(&p->state, &expect, ST_RUNNING)) {
		expect = ST_RUNNING;
		if (atomic_compare_exchange_strong(&p->state, &expect, ST_EARLY))
			return;
		fm_verifier_misuse(
		    NULL, "FltCompletePendedPostOperation on an operation that is not pended");
		return;
	}
	thread_list(p);
	unpark(p);
	release_swapped(p);
	atomic_store_explicit(&p->nodes[p->post_pos].state, FM_NODE_DONE, memory_order_release);
	if (run_post(irp, p->post_pos))
		finish(irp);
}

/* ---- Callback data queries ---- */

VOID FLTAPI FltSetCallbackDataDirty(PFLT_CALLBACK_DATA Data)
{
	Data->Flags |= FLTFL_CALLBACK_DATA_DIRTY;
}

VOID FLTAPI FltClearCallbackDataDirty(PFLT_CALLBACK_DATA Data)
{
	Data->Flags &= ~FLTFL_CALLBACK_DATA_DIRTY;
}

BOOLEAN FLTAPI FltIsCallbackDataDirty(PFLT_CALLBACK_DATA Data)
{
	return (Data->Flags & FLTFL_CALLBACK_DATA_DIRTY) ? TRUE : FALSE;
}

ULONG FLTAPI FltGetRequestorProcessId(PFLT_CALLBACK_DATA CallbackData)
{
	return CallbackData ? fm_irp_requestor(CallbackData)->pid : 0;
}

HANDLE FLTAPI FltGetRequestorProcessIdEx(PFLT_CALLBACK_DATA CallbackData)
{
	return (HANDLE)(uintptr_t)FltGetRequestorProcessId(CallbackData);
}

PEPROCESS FLTAPI FltGetRequestorProcess(PFLT_CALLBACK_DATA CallbackData)
{
	/* The same process object PsGetCurrentProcess gives for that PID. */
	return (PEPROCESS)fm_nt_process((int)FltGetRequestorProcessId(CallbackData));
}

BOOLEAN FLTAPI FltIsOperationSynchronous(PFLT_CALLBACK_DATA CallbackData)
{
	(void)CallbackData;
	/* Every request a process makes through FUSE waits for its answer. */
	return TRUE;
}

/* A post-operation teardown runs on a copy of the callback data (R31). */
struct drained {
	PFLT_POST_OPERATION_CALLBACK post;
	PVOID ctx;
	FLT_CALLBACK_DATA data;
	FLT_IO_PARAMETER_BLOCK iopb;
};

struct scan {
	struct fm_instance *inst;
	struct drained *d;
	size_t n, cap;
	unsigned long busy;
};

/* One operation, under the lock of the list it is on: drain inst's ARMED nodes, count what
 * of inst still runs in it. */
static void scan_irp(struct fm_irp_private *p, struct scan *sc)
{
	struct fm_instance *inst = sc->inst;

	/* One of inst's callbacks runs in p (or its pre pended p): p's node for inst, if any,
	 * is the operation's to run (run_post). */
	if (atomic_load_explicit(&p->cur, memory_order_acquire) == inst) {
		sc->busy++;
		return;
	}
	for (unsigned int i = 0; i < p->nslots; i++) {
		struct fm_post_node *n = &p->nodes[i];
		int s = atomic_load_explicit(&n->state, memory_order_acquire);
		struct drained *d;

		if (s == FM_NODE_FREE || n->inst != inst)
			continue;
		if (s == FM_NODE_RUNNING)
			sc->busy++;
		if (s != FM_NODE_ARMED)
			continue;
		if (sc->n == sc->cap) {
			size_t cap = sc->cap ? 2 * sc->cap : 8;
			d = fm_realloc(sc->d, cap * sizeof(*d));
			if (!d) {
				/* Without memory to copy, wait for the operation instead. */
				sc->busy++;
				continue;
			}
			sc->d = d;
			sc->cap = cap;
		}
		if (!atomic_compare_exchange_strong(&n->state, &s, FM_NODE_DRAINED)) {
			sc->busy++;
			continue;
		}
		/* Only what was fixed when the pre-operation ran: the operation itself is live. */
		d = &sc->d[sc->n++];
		memset(&d->data, 0, sizeof(d->data));
		d->post = n->post;
		d->ctx = n->ctx;
		d->data.Flags = n->data_flags | FLTFL_CALLBACK_DATA_POST_OPERATION |
				FLTFL_CALLBACK_DATA_DRAINING_IO;
		d->data.RequestorMode = n->requestor_mode;
		d->iopb = n->snap;
		d->iopb.TargetInstance = inst;
	}
}

/* Drain once; returns how many operations still hold inst. */
static unsigned long drain_once(struct fm_instance *inst)
{
	struct scan sc = {inst, NULL, 0, 0, 0};

	scan_begin();
	for (struct fm_dispatch_thread *td = threads.next; td != &threads; td = td->next)
		for (struct fm_irp_private *p = scan_thread(td); p; p = p->tnext)
			scan_irp(p, &sc);
	for (struct fm_irp_private *p = parked; p; p = p->pnext)
		scan_irp(p, &sc);
	scan_end();
	/* The operations go on upward without this instance. */
	for (size_t i = 0; i < sc.n; i++) {
		struct drained *d = &sc.d[i];
		FLT_RELATED_OBJECTS objs;
		struct fm_filter *prev;

		d->data.Iopb = &d->iopb;
		related(&objs, inst, d->iopb.TargetFileObject);
		prev = fm__enter_filter(inst->filter);
		d->post(&d->data, &objs, d->ctx, FLTFL_POST_OPERATION_DRAINING);
		fm__leave_filter(prev);
	}
	fm_free(sc.d);
	return sc.busy;
}

void fm__instance_quiesce(struct fm_instance *inst)
{
	struct timespec ts = {0, 1000000};
	unsigned int waited = 0;
	unsigned long busy;

	fm__dispatch_barrier();
	while ((busy = drain_once(inst)) > 0) {
		nanosleep(&ts, NULL);
		/* The verifier does not let a filter hang its own unload with operations it
		 * pended and forgot (R30): after 2 s they are named and completed. */
		if (++waited == 2000 && fm_verifier_enabled(inst->filter))
			fm__instance_release_pended(inst);
		if (waited % 5000 == 0)
			fm_log(FM_LOG_WARN, inst->filter->service,
			       "teardown of '%s' waits for %lu operation(s) after %u s", inst->name,
			       busy, waited / 1000);
	}
}
