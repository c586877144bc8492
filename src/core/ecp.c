/* Extra create parameters (ECPs): GUID-keyed context blocks a create carries down the stack. */
#include "core/core_i.h"
#include "common/alloc.h"
#include "common/log.h"

#include <stddef.h>
#include <string.h>

/*
 * An ECP list is a doubly linked list of ECP blocks.  Each block is a header followed by the
 * context the caller sees (EcpContext points just past the header), so every routine taking
 * an EcpContext finds its header by subtraction and checks its magic first.  Neither lists nor
 * blocks are locked: as on Windows, whoever owns a list serialises its use (a list travels with
 * one create at a time).
 *
 * A list reaches a create in two ways: FltCreateFileEx2's DriverContext->ExtraCreateParameter
 * (fltio.c puts it on the new file object for the duration of the create), or a filter's
 * FltSetEcpListIntoCallbackData from its pre-create (the list then goes to the instances
 * below it).  FltGetEcpListFromCallbackData reads it back.  Opens by processes carry none.
 */

enum { ECP_LIST_MAGIC = 0x4c504345, ECP_MAGIC = 0x20504345, ECP_FREED = 0x46504345 };

struct fm_ecp_list;

struct fm_ecp {
	uint32_t magic;
	ULONG flags; /* FSRTL_ALLOCATE_ECP_FLAG_* */
	GUID type;
	ULONG size;
	bool acknowledged;
	bool from_user;
	PFSRTL_EXTRA_CREATE_PARAMETER_CLEANUP_CALLBACK cleanup;
	struct fm_ecp_list *list; /* the list it is on, NULL when detached */
	struct fm_ecp *next, *prev;
	/* The caller's context follows, 16-byte aligned. */
	unsigned char ctx[] __attribute__((aligned(16)));
};

struct fm_ecp_list {
	uint32_t magic;
	ULONG flags;
	struct fm_ecp *head, *tail;
};

static struct fm_ecp *ecp_of(PVOID ctx)
{
	struct fm_ecp *e;

	if (!ctx)
		return NULL;
	e = (struct fm_ecp *)((unsigned char *)ctx - offsetof(struct fm_ecp, ctx));
	return e->magic == ECP_MAGIC ? e : NULL;
}

static struct fm_ecp_list *list_of(PECP_LIST l)
{
	struct fm_ecp_list *list = (struct fm_ecp_list *)l;

	return list && list->magic == ECP_LIST_MAGIC ? list : NULL;
}

static void misuse(const char *what)
{
	fm_log(FM_LOG_ERROR, fm_filter_name(fm__tls_filter), "%s", what);
}

NTSTATUS FLTAPI FltAllocateExtraCreateParameterList(PFLT_FILTER Filter, ULONG Flags,
						    PECP_LIST *EcpList)
{
	struct fm_ecp_list *l;

	if (!EcpList)
		return STATUS_INVALID_PARAMETER;
	*EcpList = NULL;
	if (!Filter)
		return STATUS_INVALID_PARAMETER;
	l = fm_calloc(1, sizeof(*l));
	if (!l)
		return STATUS_INSUFFICIENT_RESOURCES;
	l->magic = ECP_LIST_MAGIC;
	l->flags = Flags;
	*EcpList = (PECP_LIST)l;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltAllocateExtraCreateParameter(
    PFLT_FILTER Filter, LPCGUID EcpType, ULONG SizeOfContext, ULONG Flags,
    PFSRTL_EXTRA_CREATE_PARAMETER_CLEANUP_CALLBACK CleanupCallback, ULONG PoolTag,
    PVOID *EcpContext)
{
	struct fm_ecp *e;

	(void)PoolTag;
	if (!EcpContext)
		return STATUS_INVALID_PARAMETER;
	*EcpContext = NULL;
	if (!Filter || !EcpType)
		return STATUS_INVALID_PARAMETER;
	e = fm_calloc(1, sizeof(*e) + SizeOfContext);
	if (!e)
		return STATUS_INSUFFICIENT_RESOURCES;
	e->magic = ECP_MAGIC;
	e->flags = Flags;
	e->type = *EcpType;
	e->size = SizeOfContext;
	e->cleanup = CleanupCallback;
	*EcpContext = e->ctx;
	return STATUS_SUCCESS;
}

/* Run the cleanup callback and free a detached ECP. */
static void ecp_delete(struct fm_ecp *e)
{
	if (e->cleanup)
		e->cleanup(e->ctx, &e->type);
	e->magic = ECP_FREED;
	fm_free(e);
}

VOID FLTAPI FltFreeExtraCreateParameter(PFLT_FILTER Filter, PVOID EcpContext)
{
	struct fm_ecp *e = ecp_of(EcpContext);

	(void)Filter;
	if (!e) {
		misuse("FltFreeExtraCreateParameter: not an ECP context");
		return;
	}
	if (e->list) {
		/* Documented: remove it from its list first.  Freeing it would corrupt the list. */
		misuse("FltFreeExtraCreateParameter: the ECP is still on a list (not freed)");
		return;
	}
	ecp_delete(e);
}

VOID FLTAPI FltFreeExtraCreateParameterList(PFLT_FILTER Filter, PECP_LIST EcpList)
{
	struct fm_ecp_list *l = list_of(EcpList);
	struct fm_ecp *e, *next;

	(void)Filter;
	if (!l) {
		if (EcpList)
			misuse("FltFreeExtraCreateParameterList: not an ECP list");
		return;
	}
	for (e = l->head; e; e = next) {
		next = e->next;
		e->list = NULL;
		ecp_delete(e);
	}
	l->magic = ECP_FREED;
	fm_free(l);
}

static struct fm_ecp *find_type(struct fm_ecp_list *l, LPCGUID type)
{
	for (struct fm_ecp *e = l->head; e; e = e->next)
		if (IsEqualGUID(&e->type, type))
			return e;
	return NULL;
}

NTSTATUS FLTAPI FltInsertExtraCreateParameter(PFLT_FILTER Filter, PECP_LIST EcpList,
					      PVOID EcpContext)
{
	struct fm_ecp_list *l = list_of(EcpList);
	struct fm_ecp *e = ecp_of(EcpContext);

	(void)Filter;
	if (!l || !e || e->list)
		return STATUS_INVALID_PARAMETER;
	if (find_type(l, &e->type))
		return STATUS_OBJECT_NAME_COLLISION;
	e->list = l;
	e->next = NULL;
	e->prev = l->tail;
	if (l->tail)
		l->tail->next = e;
	else
		l->head = e;
	l->tail = e;
	return STATUS_SUCCESS;
}

static void unlink_ecp(struct fm_ecp_list *l, struct fm_ecp *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		l->tail = e->prev;
	e->next = e->prev = NULL;
	e->list = NULL;
}

NTSTATUS FLTAPI FltFindExtraCreateParameter(PFLT_FILTER Filter, PECP_LIST EcpList, LPCGUID EcpType,
					    PVOID *EcpContext, ULONG *EcpContextSize)
{
	(void)Filter;
	return FsRtlFindExtraCreateParameter(EcpList, EcpType, EcpContext, EcpContextSize);
}

NTSTATUS FsRtlFindExtraCreateParameter(PECP_LIST EcpList, LPCGUID EcpType, PVOID *EcpContext,
				       ULONG *EcpContextSize)
{
	struct fm_ecp_list *l = list_of(EcpList);
	struct fm_ecp *e;

	if (EcpContext)
		*EcpContext = NULL;
	if (EcpContextSize)
		*EcpContextSize = 0;
	if (!l || !EcpType)
		return STATUS_INVALID_PARAMETER;
	e = find_type(l, EcpType);
	if (!e)
		return STATUS_NOT_FOUND;
	if (EcpContext)
		*EcpContext = e->ctx;
	if (EcpContextSize)
		*EcpContextSize = e->size;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltRemoveExtraCreateParameter(PFLT_FILTER Filter, PECP_LIST EcpList,
					      LPCGUID EcpType, PVOID *EcpContext,
					      ULONG *EcpContextSize)
{
	struct fm_ecp_list *l = list_of(EcpList);
	struct fm_ecp *e;

	(void)Filter;
	if (EcpContext)
		*EcpContext = NULL;
	if (EcpContextSize)
		*EcpContextSize = 0;
	if (!l || !EcpType || !EcpContext)
		return STATUS_INVALID_PARAMETER;
	e = find_type(l, EcpType);
	if (!e)
		return STATUS_NOT_FOUND;
	unlink_ecp(l, e);
	*EcpContext = e->ctx;
	if (EcpContextSize)
		*EcpContextSize = e->size;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltGetNextExtraCreateParameter(PFLT_FILTER Filter, PECP_LIST EcpList,
					       PVOID CurrentEcpContext, LPGUID NextEcpType,
					       PVOID *NextEcpContext, PULONG NextEcpContextSize)
{
	struct fm_ecp_list *l = list_of(EcpList);
	struct fm_ecp *cur = NULL, *e;

	(void)Filter;
	if (NextEcpContext)
		*NextEcpContext = NULL;
	if (NextEcpContextSize)
		*NextEcpContextSize = 0;
	if (!l)
		return STATUS_INVALID_PARAMETER;
	if (CurrentEcpContext) {
		cur = ecp_of(CurrentEcpContext);
		if (!cur || cur->list != l)
			return STATUS_INVALID_PARAMETER;
	}
	e = cur ? cur->next : l->head;
	if (!e)
		return STATUS_NOT_FOUND;
	if (NextEcpType)
		*NextEcpType = e->type;
	if (NextEcpContext)
		*NextEcpContext = e->ctx;
	if (NextEcpContextSize)
		*NextEcpContextSize = e->size;
	return STATUS_SUCCESS;
}

void FsRtlAcknowledgeEcp(PVOID EcpContext)
{
	struct fm_ecp *e = ecp_of(EcpContext);

	if (e)
		e->acknowledged = true;
	else
		misuse("FsRtlAcknowledgeEcp: not an ECP context");
}

BOOLEAN FsRtlIsEcpAcknowledged(PVOID EcpContext)
{
	struct fm_ecp *e = ecp_of(EcpContext);

	return e && e->acknowledged;
}

BOOLEAN FsRtlIsEcpFromUserMode(PVOID EcpContext)
{
	struct fm_ecp *e = ecp_of(EcpContext);

	/* Every ECP here is allocated by kernel-mode code (a filter): user mode has no API
	 * that attaches ECPs to the opens it sends through FUSE. */
	return e && e->from_user;
}

VOID FLTAPI FltAcknowledgeEcp(PFLT_FILTER Filter, PVOID EcpContext)
{
	(void)Filter;
	FsRtlAcknowledgeEcp(EcpContext);
}

BOOLEAN FLTAPI FltIsEcpAcknowledged(PFLT_FILTER Filter, PVOID EcpContext)
{
	(void)Filter;
	return FsRtlIsEcpAcknowledged(EcpContext);
}

BOOLEAN FLTAPI FltIsEcpFromUserMode(PFLT_FILTER Filter, PVOID EcpContext)
{
	(void)Filter;
	return FsRtlIsEcpFromUserMode(EcpContext);
}

/* ---- The list a create carries ---- */

bool fm__ecp_list_valid(PECP_LIST list)
{
	return list_of(list) != NULL;
}

NTSTATUS FLTAPI FltGetEcpListFromCallbackData(PFLT_FILTER Filter, PFLT_CALLBACK_DATA CallbackData,
					      PECP_LIST *EcpList)
{
	PFILE_OBJECT fo;

	if (!Filter || !CallbackData || !EcpList)
		return STATUS_INVALID_PARAMETER;
	*EcpList = NULL;
	if (CallbackData->Iopb->MajorFunction != IRP_MJ_CREATE ||
	    !FLT_IS_IRP_OPERATION(CallbackData))
		return STATUS_INVALID_PARAMETER;
	fo = CallbackData->Iopb->TargetFileObject;
	if (fo)
		*EcpList = fm__file(fo)->create_ecps;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltSetEcpListIntoCallbackData(PFLT_FILTER Filter, PFLT_CALLBACK_DATA CallbackData,
					      PECP_LIST EcpList)
{
	PFILE_OBJECT fo;

	if (!Filter || !list_of(EcpList))
		return STATUS_INVALID_PARAMETER;
	if (!CallbackData || CallbackData->Iopb->MajorFunction != IRP_MJ_CREATE ||
	    !FLT_IS_IRP_OPERATION(CallbackData) || !CallbackData->Iopb->TargetFileObject)
		return STATUS_INVALID_PARAMETER_2;
	fo = CallbackData->Iopb->TargetFileObject;
	if (fm__file(fo)->create_ecps)
		return STATUS_INVALID_PARAMETER_3;
	/* The list stays the filter's: it frees it once the create has completed. */
	fm__file(fo)->create_ecps = EcpList;
	return STATUS_SUCCESS;
}

NTSTATUS FsRtlGetEcpListFromIrp(PIRP Irp, PECP_LIST *EcpList)
{
	if (!EcpList)
		return STATUS_INVALID_PARAMETER;
	*EcpList = NULL;
	if (!Irp)
		return STATUS_INVALID_PARAMETER;
	/* The IRPs a driver can hold here come from IoAllocateIrp: none is a create that went
	 * through a volume, so none carries a list (filters use FltGetEcpListFromCallbackData). */
	return STATUS_SUCCESS;
}
