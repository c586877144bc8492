/* I/O dispatch: one operation through the volume's instances and the lower file system. */
#include "core/core_i.h"
#include "common/alloc.h"
#include "common/log.h"
#include "nt/ke.h"

#include <errno.h>
#include <linux/membarrier.h>
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
 * The hot path takes no lock and does no atomic read-modify-write per filter.  An operation
 * with callbacks to run is, while a thread runs it, on that thread's list (the thread's own,
 * uncontended lock, taken once when the operation starts and once when it ends there), and
 * while pended, on the parked list.  A teardown walks both under their locks: it drains its
 * instance's post nodes still ARMED (a compare-and-swap decides between it and the operation
 * claiming the node) and waits while an operation names the instance in `cur` (one of its
 * pre-operations runs, or pended it) or has one of its post nodes RUNNING.
 *
 * `cur` is stored and tearing_down read with plain accesses; the teardown makes that safe with
 * membarrier(2) after setting tearing_down (fm__dispatch_barrier): either the thread saw the
 * flag, or its store of `cur` is visible to the scan.  Without membarrier the hot path pays a
 * full fence instead.
 */
struct fm_dispatch_thread {
	pthread_mutex_t lock;
	struct fm_irp_private *head;		/* lock */
	struct fm_dispatch_thread *next, *prev; /* threads_lock */
	bool registered;
};

static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fm_dispatch_thread threads = {PTHREAD_MUTEX_INITIALIZER, NULL, &threads, &threads,
					    true};
static pthread_mutex_t parked_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fm_irp_private *parked; /* parked_lock */
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

static struct fm_dispatch_thread *thread_self(void)
{
	struct fm_dispatch_thread *td = &tls_thread;

	if (__builtin_expect(!td->registered, 0)) {
		pthread_once(&dispatch_once, dispatch_init);
		pthread_mutex_init(&td->lock, NULL);
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

/* The calling thread now runs p. */
static void thread_list(struct fm_irp_private *p)
{
	struct fm_dispatch_thread *td = thread_self();

	pthread_mutex_lock(&td->lock);
	p->td = td;
	p->tpprev = &td->head;
	p->tnext = td->head;
	if (p->tnext)
		p->tnext->tpprev = &p->tnext;
	td->head = p;
	pthread_mutex_unlock(&td->lock);
}

static void thread_unlist(struct fm_irp_private *p)
{
	struct fm_dispatch_thread *td = p->td;

	if (!td)
		return;
	pthread_mutex_lock(&td->lock);
	*p->tpprev = p->tnext;
	if (p->tnext)
		p->tnext->tpprev = p->tpprev;
	p->td = NULL;
	pthread_mutex_unlock(&td->lock);
}

static void park(struct fm_irp_private *p)
{
	pthread_mutex_lock(&parked_lock);
	p->pended_once = true;
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
	if (use_membarrier)
		atomic_signal_fence(memory_order_seq_cst);
	else
		full_fence();
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
	bool waiter;

	fm__stack_put(p->stack);
	p->stack = NULL;
	thread_unlist(p);
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
 * post-operation pended the operation. */
static bool run_post(struct fm_irp *irp, unsigned int from)
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
		int prev_pid;
		struct fm__tls_op prev_op;

		/* Claim the node; teardown may have drained it already (R29). */
		if (!atomic_compare_exchange_strong(&n->state, &expect, FM_NODE_RUNNING))
			continue;

		/* A buffer the instance swapped in with its own MDL: the filter manager frees
		 * that MDL after the instance's post-operation (R50). */
		p->swapped_mdl = swapped_mdl(irp, &n->snap);
		p->retain_mdl = false;
		/* Each instance's post sees the parameters its pre saw (R49). */
		*irp->data.Iopb = n->snap;
		irp->iopb.TargetInstance = n->inst;
		related(&objs, n->inst, irp->iopb.TargetFileObject);
		p->post_pos = i;
		prev = fm__enter_filter(n->inst->filter);
		prev_op = fm__tls_op;
		fm__tls_op = (struct fm__tls_op){&irp->data, true};
		prev_pid = fm_nt_set_current_pid((int)irp->who.pid);
		r = n->post(&irp->data, &objs, n->ctx, flags);
		fm_nt_set_current_pid(prev_pid);
		fm__tls_op = prev_op;
		fm__leave_filter(prev);
		if (r == FLT_POSTOP_MORE_PROCESSING_REQUIRED) {
			int st = ST_RUNNING;

			/* Findable while nobody runs it; the node stays RUNNING until
			 * FltCompletePendedPostOperation. */
			park(p);
			thread_unlist(p);
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
static bool run(struct fm_irp *irp)
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
		int prev_pid;
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
		prev_pid = fm_nt_set_current_pid((int)irp->who.pid);
		r = e->pre(&irp->data, &objs, &ctx);
		fm_nt_set_current_pid(prev_pid);
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
			thread_unlist(p);
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
			return run_post(irp, p->npost);
	}
	call_lower(irp);
	return run_post(irp, p->npost);
}

NTSTATUS fm_irp_dispatch(struct fm_irp *irp)
{
	struct fm_volume *vol = irp->vol;
	struct fm_stack *st = fm__stack_get(vol);
	const struct fm_cb_list *list = st ? st->lists[irp->iopb.MajorFunction] : NULL;
	struct fm_irp_private *p;
	size_t need;
	bool has_done;

	if (list && irp->issuer && first_below(list, irp->issuer) == list->n)
		list = NULL;
	if (!list) {
		/* Fast path: nobody is interested, no callback data bookkeeping at all. */
		fm__stack_put(st);
		call_lower(irp);
		return irp->data.IoStatus.Status;
	}
	need = sizeof(*p) + list->n * sizeof(struct fm_post_node);
	if (need <= sizeof(irp->inline_priv)) {
		p = (struct fm_irp_private *)irp->inline_priv;
		memset(p, 0, sizeof(*p));
		for (unsigned int i = 0; i < list->n; i++)
			atomic_init(&p->inline_nodes[i].state, FM_NODE_FREE);
	} else {
		p = fm_calloc(1, need);
		if (!p) {
			fm__stack_put(st);
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
	p->wait_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	p->wait_cond = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	atomic_store_explicit(&p->state, ST_RUNNING, memory_order_relaxed);
	irp->priv = p;
	thread_list(p);

	/* Once run() has pended the operation another thread may finish it and, through the
	 * done callback, free the irp: decide now how we will wait. */
	has_done = irp->done != NULL;
	if (run(irp)) {
		NTSTATUS s = irp->data.IoStatus.Status;
		thread_unlist(p);
		fm__stack_put(p->stack);
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

	if (atomic_load_explicit(&p->cur, memory_order_acquire) == inst)
		sc->busy++;
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

	pthread_mutex_lock(&threads_lock);
	for (struct fm_dispatch_thread *td = threads.next; td != &threads; td = td->next) {
		pthread_mutex_lock(&td->lock);
		for (struct fm_irp_private *p = td->head; p; p = p->tnext)
			scan_irp(p, &sc);
		pthread_mutex_unlock(&td->lock);
	}
	pthread_mutex_unlock(&threads_lock);
	pthread_mutex_lock(&parked_lock);
	for (struct fm_irp_private *p = parked; p; p = p->pnext)
		scan_irp(p, &sc);
	pthread_mutex_unlock(&parked_lock);
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
