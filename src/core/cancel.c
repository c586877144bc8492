/* Cancellation of pended operations: cancel routines and cancel-safe callback data queues. */
#include "core/core_i.h"
#include "common/log.h"

#include <string.h>

/*
 * A pended operation has at most one owner of its cancellation at a time: the filter's cancel
 * routine (FltSetCancelCompletion) or the cancel-safe queue it sits in (FltCbdqInsertIo).  The
 * owner is claimed with a compare-and-swap on priv->cancel_state, so a cancel and a removal
 * racing for one operation never both win: exactly one of them handles it.
 */

static struct fm_irp_private *priv_of(PFLT_CALLBACK_DATA data)
{
	return data ? fm_irp_from_data(data)->priv : NULL;
}

/* The cbdq's own state lives in its Csq[] area. */
#define CBDQ_ENABLED(q) ((q)->Csq[0])

bool fm_irp_cancel(struct fm_irp *irp)
{
	struct fm_irp_private *p = irp->priv;
	int st;
	KIRQL irql;

	if (!p)
		return false;
	atomic_store(&p->canceled, true);
	st = atomic_load(&p->cancel_state);
	if (st == FM_CANCEL_ROUTINE) {
		if (!atomic_compare_exchange_strong(&p->cancel_state, &st, FM_CANCEL_RUNNING))
			return false;
		p->cancel_cb(&irp->data);
		return true;
	}
	if (st == FM_CANCEL_QUEUED) {
		PFLT_CALLBACK_DATA_QUEUE q = p->cbdq;
		bool mine;

		q->Acquire(q, &irql);
		mine = atomic_compare_exchange_strong(&p->cancel_state, &st, FM_CANCEL_RUNNING);
		if (mine) {
			q->RemoveIo(q, &irp->data);
			if (p->cbdq_ctx)
				p->cbdq_ctx->Reserved[0] = NULL;
		}
		q->Release(q, irql);
		if (mine) {
			struct fm_filter *prev = fm__enter_filter(q->Instance->filter);
			q->CompleteCanceledIo(q, &irp->data);
			fm__leave_filter(prev);
		}
		return mine;
	}
	return false;
}

BOOLEAN FLTAPI FltCancelIo(PFLT_CALLBACK_DATA CallbackData)
{
	return CallbackData && fm_irp_cancel(fm_irp_from_data(CallbackData)) ? TRUE : FALSE;
}

BOOLEAN FLTAPI FltIsIoCanceled(PFLT_CALLBACK_DATA CallbackData)
{
	struct fm_irp_private *p = priv_of(CallbackData);
	return p && atomic_load(&p->canceled) ? TRUE : FALSE;
}

NTSTATUS FLTAPI FltSetCancelCompletion(PFLT_CALLBACK_DATA CallbackData,
				       PFLT_COMPLETE_CANCELED_CALLBACK CanceledCallback)
{
	struct fm_irp_private *p = priv_of(CallbackData);
	int expect = FM_CANCEL_NONE;

	if (!p || !CanceledCallback || !FLT_IS_IRP_OPERATION(CallbackData))
		return STATUS_INVALID_PARAMETER;
	p->cancel_cb = CanceledCallback;
	if (!atomic_compare_exchange_strong(&p->cancel_state, &expect, FM_CANCEL_ROUTINE))
		return STATUS_INVALID_PARAMETER;
	/* Already cancelled before the routine was set: run it now, as the I/O manager does. */
	if (atomic_load(&p->canceled)) {
		expect = FM_CANCEL_ROUTINE;
		if (atomic_compare_exchange_strong(&p->cancel_state, &expect, FM_CANCEL_RUNNING))
			CanceledCallback(CallbackData);
		return STATUS_CANCELLED;
	}
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltClearCancelCompletion(PFLT_CALLBACK_DATA CallbackData)
{
	struct fm_irp_private *p = priv_of(CallbackData);
	int expect = FM_CANCEL_ROUTINE;

	if (!p)
		return STATUS_INVALID_PARAMETER;
	if (atomic_compare_exchange_strong(&p->cancel_state, &expect, FM_CANCEL_NONE))
		return STATUS_SUCCESS;
	/* Too late: the cancel routine owns the operation now. */
	return expect == FM_CANCEL_RUNNING ? STATUS_CANCELLED : STATUS_SUCCESS;
}

/* ---- Cancel-safe callback data queues ---- */

NTSTATUS FLTAPI FltCbdqInitialize(
    PFLT_INSTANCE Instance, PFLT_CALLBACK_DATA_QUEUE Cbdq,
    PFLT_CALLBACK_DATA_QUEUE_INSERT_IO CbdqInsertIo,
    PFLT_CALLBACK_DATA_QUEUE_REMOVE_IO CbdqRemoveIo,
    PFLT_CALLBACK_DATA_QUEUE_PEEK_NEXT_IO CbdqPeekNextIo,
    PFLT_CALLBACK_DATA_QUEUE_ACQUIRE CbdqAcquire, PFLT_CALLBACK_DATA_QUEUE_RELEASE CbdqRelease,
    PFLT_CALLBACK_DATA_QUEUE_COMPLETE_CANCELED_IO CbdqCompleteCanceledIo)
{
	if (!Instance || !Cbdq || !CbdqInsertIo || !CbdqRemoveIo || !CbdqPeekNextIo ||
	    !CbdqAcquire || !CbdqRelease || !CbdqCompleteCanceledIo)
		return STATUS_INVALID_PARAMETER;
	memset(Cbdq->Csq, 0, sizeof(Cbdq->Csq));
	Cbdq->Flags = 0;
	Cbdq->Instance = Instance;
	Cbdq->InsertIo = CbdqInsertIo;
	Cbdq->RemoveIo = CbdqRemoveIo;
	Cbdq->PeekNextIo = CbdqPeekNextIo;
	Cbdq->Acquire = CbdqAcquire;
	Cbdq->Release = CbdqRelease;
	Cbdq->CompleteCanceledIo = CbdqCompleteCanceledIo;
	CBDQ_ENABLED(Cbdq) = (PVOID)1;
	return STATUS_SUCCESS;
}

VOID FLTAPI FltCbdqEnable(PFLT_CALLBACK_DATA_QUEUE Cbdq)
{
	KIRQL irql;

	Cbdq->Acquire(Cbdq, &irql);
	CBDQ_ENABLED(Cbdq) = (PVOID)1;
	Cbdq->Release(Cbdq, irql);
}

VOID FLTAPI FltCbdqDisable(PFLT_CALLBACK_DATA_QUEUE Cbdq)
{
	KIRQL irql;

	Cbdq->Acquire(Cbdq, &irql);
	CBDQ_ENABLED(Cbdq) = NULL;
	Cbdq->Release(Cbdq, irql);
}

NTSTATUS FLTAPI FltCbdqInsertIo(PFLT_CALLBACK_DATA_QUEUE Cbdq, PFLT_CALLBACK_DATA Cbd,
				PFLT_CALLBACK_DATA_QUEUE_IO_CONTEXT Context, PVOID InsertContext)
{
	struct fm_irp_private *p = priv_of(Cbd);
	NTSTATUS st;
	KIRQL irql;
	int expect = FM_CANCEL_NONE;

	if (!Cbdq || !p)
		return STATUS_INVALID_PARAMETER;
	Cbdq->Acquire(Cbdq, &irql);
	if (!CBDQ_ENABLED(Cbdq)) {
		Cbdq->Release(Cbdq, irql);
		return STATUS_FLT_CBDQ_DISABLED;
	}
	st = Cbdq->InsertIo(Cbdq, Cbd, InsertContext);
	if (NT_SUCCESS(st)) {
		p->cbdq = Cbdq;
		p->cbdq_ctx = Context;
		if (Context) {
			Context->Reserved[0] = Cbd;
			Context->Reserved[1] = Cbdq;
		}
		if (!atomic_compare_exchange_strong(&p->cancel_state, &expect, FM_CANCEL_QUEUED))
			fm_verifier_misuse(
			    NULL,
			    "FltCbdqInsertIo on an operation that already has a cancel routine");
	}
	Cbdq->Release(Cbdq, irql);
	/* Cancelled while it was being queued: take it straight back out. */
	if (NT_SUCCESS(st) && atomic_load(&p->canceled))
		fm_irp_cancel(fm_irp_from_data(Cbd));
	return st;
}

/* Take a queued operation away from cancellation; true if we won it.  Queue lock held. */
static bool claim(PFLT_CALLBACK_DATA Cbd)
{
	struct fm_irp_private *p = priv_of(Cbd);
	int expect = FM_CANCEL_QUEUED;

	if (!p || !atomic_compare_exchange_strong(&p->cancel_state, &expect, FM_CANCEL_NONE))
		return false;
	if (p->cbdq_ctx)
		p->cbdq_ctx->Reserved[0] = NULL;
	p->cbdq = NULL;
	p->cbdq_ctx = NULL;
	return true;
}

PFLT_CALLBACK_DATA FLTAPI FltCbdqRemoveIo(PFLT_CALLBACK_DATA_QUEUE Cbdq,
					  PFLT_CALLBACK_DATA_QUEUE_IO_CONTEXT Context)
{
	PFLT_CALLBACK_DATA cbd;
	KIRQL irql;

	if (!Cbdq || !Context)
		return NULL;
	Cbdq->Acquire(Cbdq, &irql);
	cbd = Context->Reserved[0];
	if (cbd && claim(cbd))
		Cbdq->RemoveIo(Cbdq, cbd);
	else
		cbd = NULL;
	Cbdq->Release(Cbdq, irql);
	return cbd;
}

PFLT_CALLBACK_DATA FLTAPI FltCbdqRemoveNextIo(PFLT_CALLBACK_DATA_QUEUE Cbdq, PVOID PeekContext)
{
	PFLT_CALLBACK_DATA cbd;
	KIRQL irql;

	if (!Cbdq)
		return NULL;
	Cbdq->Acquire(Cbdq, &irql);
	for (cbd = Cbdq->PeekNextIo(Cbdq, NULL, PeekContext); cbd;
	     cbd = Cbdq->PeekNextIo(Cbdq, cbd, PeekContext)) {
		if (claim(cbd)) {
			Cbdq->RemoveIo(Cbdq, cbd);
			break;
		}
	}
	Cbdq->Release(Cbdq, irql);
	return cbd;
}
