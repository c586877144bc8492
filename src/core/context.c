/* Minifilter contexts: registration, allocation, reference counting, attachment to objects. */
#include "core/core_i.h"
#include "common/alloc.h"
#include "common/log.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/*
 * Every context a filter allocated lives in `ptab`, found by the pointer the filter holds
 * (FltReferenceContext and friends get nothing else).  A context attached to an object is also
 * in `ktab`, found by the object's key: the instance (instance contexts), the volume (volume
 * contexts, one per filter), the stream FileObject->FsContext (stream and file contexts, one
 * per instance) or the FILE_OBJECT (stream-handle contexts, one per instance).  The object
 * holds one reference on an attached context.
 *
 * Locking: ctx_lock (a leaf lock, never the model lock) guards both tables and every field of
 * struct ctx below.  Cleanup and free callbacks always run with it released, so a cleanup
 * callback may release or delete other contexts.
 */

#define NBUCKETS 4096

struct ctx {
	struct ctx *pnext; /* ptab chain */
	struct ctx *knext; /* ktab chain while linked */
	struct ctx *fnext; /* fm__contexts_filter_free's list of leaked contexts */
	void *data;	   /* what the filter sees */
	struct fm_filter *filter;
	const FLT_CONTEXT_REGISTRATION *reg; /* in filter->ctx_reg */
	FLT_CONTEXT_TYPE type;
	bool own_mem;	  /* data is mem[] below, not from ContextAllocateCallback */
	bool ever_linked; /* a context is attached at most once in its life */
	bool linked;
	long refs;
	void *key;		  /* while linked */
	struct fm_instance *inst; /* while linked; NULL for volume contexts */
	struct fm_volume *vol;	  /* volume contexts while linked: one volume reference */
	unsigned char mem[] __attribute__((aligned(16)));
};

static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ctx *ptab[NBUCKETS], *ktab[NBUCKETS];
/* Attached stream/file contexts: lets fm_volume_stream_gone skip the lock when there are none. */
static atomic_long nstream_links;

static size_t bucket(const void *p)
{
	uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 52) & (NBUCKETS - 1);
}

static const char *type_name(FLT_CONTEXT_TYPE t)
{
	switch (t) {
	case FLT_VOLUME_CONTEXT:
		return "volume";
	case FLT_INSTANCE_CONTEXT:
		return "instance";
	case FLT_FILE_CONTEXT:
		return "file";
	case FLT_STREAM_CONTEXT:
		return "stream";
	case FLT_STREAMHANDLE_CONTEXT:
		return "stream-handle";
	case FLT_TRANSACTION_CONTEXT:
		return "transaction";
	case FLT_SECTION_CONTEXT:
		return "section";
	default:
		return "invalid";
	}
}

static bool valid_type(FLT_CONTEXT_TYPE t)
{
	return t == FLT_VOLUME_CONTEXT || t == FLT_INSTANCE_CONTEXT || t == FLT_FILE_CONTEXT ||
	       t == FLT_STREAM_CONTEXT || t == FLT_STREAMHANDLE_CONTEXT ||
	       t == FLT_TRANSACTION_CONTEXT || t == FLT_SECTION_CONTEXT;
}

/* ---- Registration ---- */

NTSTATUS fm__contexts_register(struct fm_filter *f, const FLT_CONTEXT_REGISTRATION *reg)
{
	const char *who = f->service;
	FLT_CONTEXT_REGISTRATION *copy;
	size_t n = 0, kept = 0;

	f->ctx_reg = NULL;
	f->nctx_reg = 0;
	if (!reg)
		return STATUS_SUCCESS;
	while (reg[n].ContextType != FLT_CONTEXT_END)
		n++;
	copy = fm_calloc(n + 1, sizeof(*copy));
	if (!copy)
		return STATUS_INSUFFICIENT_RESOURCES;
	for (size_t i = 0; i < n; i++) {
		const FLT_CONTEXT_REGISTRATION *r = &reg[i];
		unsigned int fixed = 0, variable = 0, with_cb = 0, same = 0;
		bool cb = r->ContextAllocateCallback || r->ContextFreeCallback;

		if (!valid_type(r->ContextType))
			goto invalid;
		if ((r->ContextAllocateCallback == NULL) != (r->ContextFreeCallback == NULL)) {
			fm_log(FM_LOG_ERROR, who,
			       "context registration #%zu (%s): ContextAllocateCallback and "
			       "ContextFreeCallback go together",
			       i, type_name(r->ContextType));
			goto invalid;
		}
		if (!cb && r->Size != FLT_VARIABLE_SIZED_CONTEXTS && r->Size > MAXUSHORT) {
			fm_log(FM_LOG_ERROR, who,
			       "context registration #%zu (%s): size %zu is larger than MAXUSHORT",
			       i, type_name(r->ContextType), (size_t)r->Size);
			goto invalid;
		}
		if (!cb && r->PoolTag == 0) {
			fm_log(FM_LOG_ERROR, who, "context registration #%zu (%s) has no PoolTag",
			       i, type_name(r->ContextType));
			goto invalid;
		}
		for (size_t k = 0; k < kept; k++) {
			const FLT_CONTEXT_REGISTRATION *o = &copy[k];

			if (o->ContextType != r->ContextType)
				continue;
			if (o->ContextAllocateCallback)
				with_cb++;
			else if (o->Size == FLT_VARIABLE_SIZED_CONTEXTS)
				variable++;
			else
				fixed++;
			if (!o->ContextAllocateCallback && !cb && o->Size == r->Size)
				same++;
		}
		/* A duplicate of an earlier entry: the first one wins (R53). */
		if (same)
			continue;
		if (with_cb || (cb && (fixed || variable))) {
			fm_log(
			    FM_LOG_ERROR, who,
			    "context registration #%zu (%s): an entry with ContextAllocateCallback "
			    "must be the only one of its type",
			    i, type_name(r->ContextType));
			goto invalid;
		}
		if ((r->Size == FLT_VARIABLE_SIZED_CONTEXTS && !cb && variable) ||
		    (r->Size != FLT_VARIABLE_SIZED_CONTEXTS && !cb && fixed >= 3)) {
			fm_log(FM_LOG_ERROR, who,
			       "context registration #%zu (%s): at most 3 fixed sizes and one "
			       "variable size per type",
			       i, type_name(r->ContextType));
			goto invalid;
		}
		copy[kept++] = *r;
	}
	copy[kept].ContextType = FLT_CONTEXT_END;
	f->ctx_reg = copy;
	f->nctx_reg = kept;
	return STATUS_SUCCESS;
invalid:
	fm_free(copy);
	return STATUS_INVALID_PARAMETER;
}

/* The registration FltAllocateContext uses for (type, size), or NULL (R54). */
static const FLT_CONTEXT_REGISTRATION *find_registration(const struct fm_filter *f,
							 FLT_CONTEXT_TYPE type, SIZE_T size)
{
	const FLT_CONTEXT_REGISTRATION *best = NULL, *variable = NULL;

	for (size_t i = 0; i < f->nctx_reg; i++) {
		const FLT_CONTEXT_REGISTRATION *r = &f->ctx_reg[i];

		if (r->ContextType != type)
			continue;
		if (r->ContextAllocateCallback)
			return r;
		if (r->Size == FLT_VARIABLE_SIZED_CONTEXTS) {
			variable = r;
			continue;
		}
		if (r->Size == size)
			return r;
		/* Among the entries that accept smaller sizes, the tightest fit. */
		if ((r->Flags & FLTFL_CONTEXT_REGISTRATION_NO_EXACT_SIZE_MATCH) &&
		    size <= r->Size && (!best || r->Size < best->Size))
			best = r;
	}
	return best ? best : variable;
}

/* ---- The tables (ctx_lock held) ---- */

static struct ctx *lookup_locked(const void *data)
{
	if (!data)
		return NULL;
	for (struct ctx *c = ptab[bucket(data)]; c; c = c->pnext)
		if (c->data == data)
			return c;
	return NULL;
}

static void ptab_remove_locked(struct ctx *c)
{
	struct ctx **pp = &ptab[bucket(c->data)];

	while (*pp && *pp != c)
		pp = &(*pp)->pnext;
	if (*pp)
		*pp = c->pnext;
	c->pnext = NULL;
}

/* The context of `type` attached to `key` for instance `inst` (volume: for filter `f`). */
static struct ctx *find_locked(const void *key, FLT_CONTEXT_TYPE type,
			       const struct fm_instance *inst, const struct fm_filter *f)
{
	for (struct ctx *c = ktab[bucket(key)]; c; c = c->knext) {
		if (c->key != key || c->type != type)
			continue;
		if (type == FLT_VOLUME_CONTEXT ? c->filter == f : c->inst == inst)
			return c;
	}
	return NULL;
}

static void link_locked(struct ctx *c, void *key, struct fm_instance *inst, struct fm_volume *vol)
{
	size_t b = bucket(key);

	c->key = key;
	c->inst = inst;
	c->vol = vol;
	if (vol)
		fm__volume_get(vol);
	c->linked = c->ever_linked = true;
	c->refs++;
	c->knext = ktab[b];
	ktab[b] = c;
	if (c->type == FLT_STREAM_CONTEXT || c->type == FLT_FILE_CONTEXT)
		atomic_fetch_add(&nstream_links, 1);
}

/* Detach from its object.  The object's reference is now the caller's to drop or hand on. */
static void unlink_locked(struct ctx *c)
{
	struct ctx **pp = &ktab[bucket(c->key)];

	while (*pp && *pp != c)
		pp = &(*pp)->knext;
	if (*pp)
		*pp = c->knext;
	c->knext = NULL;
	c->linked = false;
	if (c->type == FLT_STREAM_CONTEXT || c->type == FLT_FILE_CONTEXT)
		atomic_fetch_sub(&nstream_links, 1);
	if (c->vol) {
		/* Only the volume's memory is held: dropping it never calls back into us. */
		fm__volume_put(c->vol);
		c->vol = NULL;
	}
	c->key = NULL;
	c->inst = NULL;
}

/* Drop one reference; a context that reaches zero moves to *dead for destroy_list. */
/*
 * Contexts taken off the tables for destruction whose cleanup and free have not finished yet
 * (counted under ctx_lock, uncounted after the free): fm__contexts_filter_free waits for none
 * to be left before it looks for leaks, so that no cleanup callback of a filter still runs in
 * another thread when its image goes.
 */
static atomic_long destroying;

static void put_locked(struct ctx *c, struct ctx **dead)
{
	if (--c->refs > 0)
		return;
	atomic_fetch_add(&destroying, 1);
	ptab_remove_locked(c);
	c->pnext = *dead;
	*dead = c;
}

/* Cleanup callback first, then the memory (R57).  ctx_lock not held. */
static void destroy_now(struct ctx *dead)
{
	while (dead) {
		struct ctx *c = dead;
		const FLT_CONTEXT_REGISTRATION *r = c->reg;
		struct fm_filter *prev;

		dead = c->pnext;
		prev = fm__enter_filter(c->filter);
		if (r->ContextCleanupCallback)
			r->ContextCleanupCallback(c->data, c->type);
		if (!c->own_mem)
			r->ContextFreeCallback(c->data, c->type);
		fm__leave_filter(prev);
		fm_free(c);
		atomic_fetch_sub(&destroying, 1);
	}
}

static void *deferred_cb(void *arg)
{
	destroy_now(arg);
	return NULL;
}

/*
 * The last release at DISPATCH_LEVEL or above defers the cleanup callback and the free to a
 * worker at PASSIVE_LEVEL, as FltReleaseContext does (R60): a cleanup callback may touch paged
 * memory.  Below that it runs right away in the caller's thread.
 */
static void destroy_list(struct ctx *dead)
{
	pthread_attr_t attr;
	pthread_t th;
	int r;

	if (!dead)
		return;
	if (KeGetCurrentIrql() < DISPATCH_LEVEL) {
		destroy_now(dead);
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&th, &attr, deferred_cb, dead);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		/* No thread to defer to: running late is worse than running at raised IRQL. */
		destroy_now(dead);
	}
}

/* ---- Allocation and references ---- */

NTSTATUS FLTAPI FltAllocateContext(PFLT_FILTER Filter, FLT_CONTEXT_TYPE ContextType,
				   SIZE_T ContextSize, POOL_TYPE PoolType,
				   PFLT_CONTEXT *ReturnedContext)
{
	struct fm_filter *f = Filter;
	const FLT_CONTEXT_REGISTRATION *r;
	struct ctx *c;
	size_t b;

	if (ReturnedContext)
		*ReturnedContext = NULL;
	if (!f || f->magic != FM_MAGIC_FILTER || !ReturnedContext || !valid_type(ContextType))
		return STATUS_INVALID_PARAMETER;
	if (ContextType == FLT_TRANSACTION_CONTEXT || ContextType == FLT_SECTION_CONTEXT)
		return STATUS_NOT_SUPPORTED;
	if (ContextSize == 0)
		return STATUS_INVALID_PARAMETER;
	if (ContextSize > MAXUSHORT)
		return STATUS_INVALID_BUFFER_SIZE;
	if (ContextType == FLT_VOLUME_CONTEXT && PoolType == PagedPool) {
		fm_log(FM_LOG_ERROR, f->service, "volume contexts must come from nonpaged pool");
		return STATUS_INVALID_PARAMETER;
	}
	if (!f->registered || f->state == FM_FILTER_UNREGISTERED)
		return STATUS_FLT_DELETING_OBJECT;
	r = find_registration(f, ContextType, ContextSize);
	if (!r) {
		fm_log(FM_LOG_WARN, f->service,
		       "FltAllocateContext: no %s context of %zu bytes is registered",
		       type_name(ContextType), (size_t)ContextSize);
		return STATUS_FLT_CONTEXT_ALLOCATION_NOT_FOUND;
	}
	if (r->ContextAllocateCallback) {
		struct fm_filter *prev;

		c = fm_calloc(1, sizeof(*c));
		if (!c)
			return STATUS_INSUFFICIENT_RESOURCES;
		prev = fm__enter_filter(f);
		c->data = r->ContextAllocateCallback(PoolType, ContextSize, ContextType);
		fm__leave_filter(prev);
		if (!c->data) {
			fm_free(c);
			return STATUS_INSUFFICIENT_RESOURCES;
		}
	} else {
		/* A fixed-size entry gets its full registered size, even for a smaller request. */
		size_t sz = r->Size == FLT_VARIABLE_SIZED_CONTEXTS ? ContextSize : r->Size;

		/* Zeroed although the WDK does not promise it: a filter that forgets to
		 * initialise a field then behaves the same on every run. */
		c = fm_calloc(1, sizeof(*c) + (sz ? sz : 1));
		if (!c)
			return STATUS_INSUFFICIENT_RESOURCES;
		c->data = c->mem;
		c->own_mem = true;
	}
	c->filter = f;
	c->reg = r;
	c->type = ContextType;
	c->refs = 1;
	b = bucket(c->data);
	pthread_mutex_lock(&ctx_lock);
	c->pnext = ptab[b];
	ptab[b] = c;
	pthread_mutex_unlock(&ctx_lock);
	*ReturnedContext = c->data;
	return STATUS_SUCCESS;
}

void FLTAPI FltReferenceContext(PFLT_CONTEXT Context)
{
	struct ctx *c;

	pthread_mutex_lock(&ctx_lock);
	c = lookup_locked(Context);
	if (c)
		c->refs++;
	pthread_mutex_unlock(&ctx_lock);
	if (!c)
		fm_log(FM_LOG_ERROR, fm_filter_name(fm__tls_filter),
		       "FltReferenceContext on %p, which is not a live context", Context);
}

void FLTAPI FltReleaseContext(PFLT_CONTEXT Context)
{
	struct ctx *c, *dead = NULL;

	pthread_mutex_lock(&ctx_lock);
	c = lookup_locked(Context);
	if (c)
		put_locked(c, &dead);
	pthread_mutex_unlock(&ctx_lock);
	if (!c) {
		fm_verifier_misuse(
		    NULL, "FltReleaseContext on %p, which is not a live context (released twice?)",
		    Context);
		return;
	}
	destroy_list(dead);
}

void FLTAPI FltDeleteContext(PFLT_CONTEXT Context)
{
	struct ctx *c, *dead = NULL;

	pthread_mutex_lock(&ctx_lock);
	c = lookup_locked(Context);
	/* The caller holds a reference, so the memory stays valid after the object's goes. */
	if (c && c->linked) {
		unlink_locked(c);
		put_locked(c, &dead);
	}
	pthread_mutex_unlock(&ctx_lock);
	if (!c)
		fm_log(FM_LOG_ERROR, fm_filter_name(fm__tls_filter),
		       "FltDeleteContext on %p, which is not a live context", Context);
	destroy_list(dead);
}

/* ---- Set / get / delete on an object ---- */

/* Where a context of `type` hangs for (instance, file object).  NTSTATUS of the refusal. */
static NTSTATUS file_key(struct fm_instance *inst, PFILE_OBJECT fo, FLT_CONTEXT_TYPE type,
			 void **key)
{
	if (!inst || inst->magic != FM_MAGIC_INSTANCE)
		return STATUS_INVALID_PARAMETER;
	/* No file object, or one not opened yet (pre-create, R42/R59) or closed already:
	 * the file system has no stream to hang the context on. */
	if (!fo || !fo->FsContext)
		return STATUS_NOT_SUPPORTED;
	if (fm_file_object_volume(fo) != inst->volume)
		return STATUS_INVALID_PARAMETER;
	*key = type == FLT_STREAMHANDLE_CONTEXT ? (void *)fo : fo->FsContext;
	return STATUS_SUCCESS;
}

static NTSTATUS set_ctx(FLT_CONTEXT_TYPE type, struct fm_filter *f, struct fm_instance *inst,
			struct fm_volume *vol, void *key, FLT_SET_CONTEXT_OPERATION op,
			PFLT_CONTEXT newc, PFLT_CONTEXT *old)
{
	struct ctx *c, *cur, *dead = NULL;
	NTSTATUS st = STATUS_SUCCESS;

	if (op != FLT_SET_CONTEXT_REPLACE_IF_EXISTS && op != FLT_SET_CONTEXT_KEEP_IF_EXISTS)
		return STATUS_INVALID_PARAMETER;
	pthread_mutex_lock(&ctx_lock);
	c = lookup_locked(newc);
	if (!c || c->type != type || c->filter != f) {
		st = STATUS_INVALID_PARAMETER;
		goto out;
	}
	if (c->ever_linked) {
		st = STATUS_FLT_CONTEXT_ALREADY_LINKED;
		goto out;
	}
	/* Checked under ctx_lock: teardown sets these flags before it sweeps the tables, so a
	 * set either sees them or is swept. */
	if ((inst && atomic_load(&inst->tearing_down)) || !f->registered || f->unloading ||
	    (vol && vol->dismounting)) {
		st = STATUS_FLT_DELETING_OBJECT;
		goto out;
	}
	cur = find_locked(key, type, inst, f);
	if (cur && op == FLT_SET_CONTEXT_KEEP_IF_EXISTS) {
		if (old) {
			cur->refs++;
			*old = cur->data;
		}
		st = STATUS_FLT_CONTEXT_ALREADY_DEFINED;
		goto out;
	}
	if (cur) {
		unlink_locked(cur);
		if (old)
			*old = cur->data; /* the object's reference becomes the caller's */
		else
			put_locked(cur, &dead);
	}
	link_locked(c, key, inst, vol);
	if (type == FLT_STREAMHANDLE_CONTEXT)
		atomic_store(&fm__file(key)->has_handle_ctx, true);
out:
	pthread_mutex_unlock(&ctx_lock);
	destroy_list(dead);
	return st;
}

static NTSTATUS get_ctx(FLT_CONTEXT_TYPE type, struct fm_filter *f, struct fm_instance *inst,
			void *key, PFLT_CONTEXT *out)
{
	struct ctx *c;

	pthread_mutex_lock(&ctx_lock);
	c = find_locked(key, type, inst, f);
	if (c)
		c->refs++;
	pthread_mutex_unlock(&ctx_lock);
	*out = c ? c->data : NULL_CONTEXT;
	return c ? STATUS_SUCCESS : STATUS_NOT_FOUND;
}

static NTSTATUS delete_ctx(FLT_CONTEXT_TYPE type, struct fm_filter *f, struct fm_instance *inst,
			   void *key, PFLT_CONTEXT *old)
{
	struct ctx *c, *dead = NULL;

	pthread_mutex_lock(&ctx_lock);
	c = find_locked(key, type, inst, f);
	if (c) {
		unlink_locked(c);
		if (old)
			*old = c->data;
		else
			put_locked(c, &dead);
	}
	pthread_mutex_unlock(&ctx_lock);
	destroy_list(dead);
	return c ? STATUS_SUCCESS : STATUS_NOT_FOUND;
}

NTSTATUS FLTAPI FltSetVolumeContext(PFLT_VOLUME Volume, FLT_SET_CONTEXT_OPERATION Operation,
				    PFLT_CONTEXT NewContext, PFLT_CONTEXT *OldContext)
{
	struct fm_volume *vol = Volume;
	struct fm_filter *f;
	struct ctx *c;

	if (OldContext)
		*OldContext = NULL;
	if (!vol || vol->magic != FM_MAGIC_VOLUME || !NewContext)
		return STATUS_INVALID_PARAMETER;
	/* The volume names no filter: the context's own does. */
	pthread_mutex_lock(&ctx_lock);
	c = lookup_locked(NewContext);
	f = c ? c->filter : NULL;
	pthread_mutex_unlock(&ctx_lock);
	if (!f)
		return STATUS_INVALID_PARAMETER;
	return set_ctx(FLT_VOLUME_CONTEXT, f, NULL, vol, vol, Operation, NewContext, OldContext);
}

NTSTATUS FLTAPI FltGetVolumeContext(PFLT_FILTER Filter, PFLT_VOLUME Volume, PFLT_CONTEXT *Context)
{
	struct fm_filter *f = Filter;
	struct fm_volume *vol = Volume;

	if (!Context)
		return STATUS_INVALID_PARAMETER;
	*Context = NULL_CONTEXT;
	if (!f || f->magic != FM_MAGIC_FILTER || !vol || vol->magic != FM_MAGIC_VOLUME)
		return STATUS_INVALID_PARAMETER;
	return get_ctx(FLT_VOLUME_CONTEXT, f, NULL, vol, Context);
}

NTSTATUS FLTAPI FltDeleteVolumeContext(PFLT_FILTER Filter, PFLT_VOLUME Volume,
				       PFLT_CONTEXT *OldContext)
{
	struct fm_filter *f = Filter;
	struct fm_volume *vol = Volume;

	if (OldContext)
		*OldContext = NULL;
	if (!f || f->magic != FM_MAGIC_FILTER || !vol || vol->magic != FM_MAGIC_VOLUME)
		return STATUS_INVALID_PARAMETER;
	return delete_ctx(FLT_VOLUME_CONTEXT, f, NULL, vol, OldContext);
}

NTSTATUS FLTAPI FltSetInstanceContext(PFLT_INSTANCE Instance, FLT_SET_CONTEXT_OPERATION Operation,
				      PFLT_CONTEXT NewContext, PFLT_CONTEXT *OldContext)
{
	struct fm_instance *inst = Instance;

	if (OldContext)
		*OldContext = NULL;
	if (!inst || inst->magic != FM_MAGIC_INSTANCE || !NewContext)
		return STATUS_INVALID_PARAMETER;
	return set_ctx(FLT_INSTANCE_CONTEXT, inst->filter, inst, NULL, inst, Operation, NewContext,
		       OldContext);
}

NTSTATUS FLTAPI FltGetInstanceContext(PFLT_INSTANCE Instance, PFLT_CONTEXT *Context)
{
	struct fm_instance *inst = Instance;

	if (!Context)
		return STATUS_INVALID_PARAMETER;
	*Context = NULL_CONTEXT;
	if (!inst || inst->magic != FM_MAGIC_INSTANCE)
		return STATUS_INVALID_PARAMETER;
	return get_ctx(FLT_INSTANCE_CONTEXT, inst->filter, inst, inst, Context);
}

NTSTATUS FLTAPI FltDeleteInstanceContext(PFLT_INSTANCE Instance, PFLT_CONTEXT *OldContext)
{
	struct fm_instance *inst = Instance;

	if (OldContext)
		*OldContext = NULL;
	if (!inst || inst->magic != FM_MAGIC_INSTANCE)
		return STATUS_INVALID_PARAMETER;
	return delete_ctx(FLT_INSTANCE_CONTEXT, inst->filter, inst, inst, OldContext);
}

static NTSTATUS set_file_ctx(FLT_CONTEXT_TYPE type, PFLT_INSTANCE Instance, PFILE_OBJECT fo,
			     FLT_SET_CONTEXT_OPERATION op, PFLT_CONTEXT newc, PFLT_CONTEXT *old)
{
	struct fm_instance *inst = Instance;
	void *key = NULL;
	NTSTATUS st;

	if (old)
		*old = NULL;
	if (!newc)
		return STATUS_INVALID_PARAMETER;
	st = file_key(inst, fo, type, &key);
	if (!NT_SUCCESS(st))
		return st;
	return set_ctx(type, inst->filter, inst, NULL, key, op, newc, old);
}

static NTSTATUS get_file_ctx(FLT_CONTEXT_TYPE type, PFLT_INSTANCE Instance, PFILE_OBJECT fo,
			     PFLT_CONTEXT *out)
{
	struct fm_instance *inst = Instance;
	void *key = NULL;
	NTSTATUS st;

	if (!out)
		return STATUS_INVALID_PARAMETER;
	*out = NULL_CONTEXT;
	st = file_key(inst, fo, type, &key);
	if (!NT_SUCCESS(st))
		return st;
	return get_ctx(type, inst->filter, inst, key, out);
}

static NTSTATUS delete_file_ctx(FLT_CONTEXT_TYPE type, PFLT_INSTANCE Instance, PFILE_OBJECT fo,
				PFLT_CONTEXT *old)
{
	struct fm_instance *inst = Instance;
	void *key = NULL;
	NTSTATUS st;

	if (old)
		*old = NULL;
	st = file_key(inst, fo, type, &key);
	if (!NT_SUCCESS(st))
		return st;
	return delete_ctx(type, inst->filter, inst, key, old);
}

NTSTATUS FLTAPI FltSetFileContext(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				  FLT_SET_CONTEXT_OPERATION Operation, PFLT_CONTEXT NewContext,
				  PFLT_CONTEXT *OldContext)
{
	return set_file_ctx(FLT_FILE_CONTEXT, Instance, FileObject, Operation, NewContext,
			    OldContext);
}

NTSTATUS FLTAPI FltGetFileContext(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				  PFLT_CONTEXT *Context)
{
	return get_file_ctx(FLT_FILE_CONTEXT, Instance, FileObject, Context);
}

NTSTATUS FLTAPI FltDeleteFileContext(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				     PFLT_CONTEXT *OldContext)
{
	return delete_file_ctx(FLT_FILE_CONTEXT, Instance, FileObject, OldContext);
}

NTSTATUS FLTAPI FltSetStreamContext(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				    FLT_SET_CONTEXT_OPERATION Operation, PFLT_CONTEXT NewContext,
				    PFLT_CONTEXT *OldContext)
{
	return set_file_ctx(FLT_STREAM_CONTEXT, Instance, FileObject, Operation, NewContext,
			    OldContext);
}

NTSTATUS FLTAPI FltGetStreamContext(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				    PFLT_CONTEXT *Context)
{
	return get_file_ctx(FLT_STREAM_CONTEXT, Instance, FileObject, Context);
}

NTSTATUS FLTAPI FltDeleteStreamContext(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				       PFLT_CONTEXT *OldContext)
{
	return delete_file_ctx(FLT_STREAM_CONTEXT, Instance, FileObject, OldContext);
}

NTSTATUS FLTAPI FltSetStreamHandleContext(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
					  FLT_SET_CONTEXT_OPERATION Operation,
					  PFLT_CONTEXT NewContext, PFLT_CONTEXT *OldContext)
{
	return set_file_ctx(FLT_STREAMHANDLE_CONTEXT, Instance, FileObject, Operation, NewContext,
			    OldContext);
}

NTSTATUS FLTAPI FltGetStreamHandleContext(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
					  PFLT_CONTEXT *Context)
{
	return get_file_ctx(FLT_STREAMHANDLE_CONTEXT, Instance, FileObject, Context);
}

NTSTATUS FLTAPI FltDeleteStreamHandleContext(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
					     PFLT_CONTEXT *OldContext)
{
	return delete_file_ctx(FLT_STREAMHANDLE_CONTEXT, Instance, FileObject, OldContext);
}

/* Transactions and sections do not exist here (no KTM, no data-scan sections). */

NTSTATUS FLTAPI FltSetTransactionContext(PFLT_INSTANCE Instance, PKTRANSACTION Transaction,
					 FLT_SET_CONTEXT_OPERATION Operation,
					 PFLT_CONTEXT NewContext, PFLT_CONTEXT *OldContext)
{
	(void)Instance;
	(void)Transaction;
	(void)Operation;
	(void)NewContext;
	if (OldContext)
		*OldContext = NULL;
	return STATUS_NOT_SUPPORTED;
}

NTSTATUS FLTAPI FltGetTransactionContext(PFLT_INSTANCE Instance, PKTRANSACTION Transaction,
					 PFLT_CONTEXT *Context)
{
	(void)Instance;
	(void)Transaction;
	if (Context)
		*Context = NULL_CONTEXT;
	return STATUS_NOT_SUPPORTED;
}

NTSTATUS FLTAPI FltDeleteTransactionContext(PFLT_INSTANCE Instance, PKTRANSACTION Transaction,
					    PFLT_CONTEXT *OldContext)
{
	(void)Instance;
	(void)Transaction;
	if (OldContext)
		*OldContext = NULL;
	return STATUS_NOT_SUPPORTED;
}

NTSTATUS FLTAPI FltGetSectionContext(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				     PFLT_CONTEXT *Context)
{
	(void)Instance;
	(void)FileObject;
	if (Context)
		*Context = NULL_CONTEXT;
	return STATUS_NOT_SUPPORTED;
}

/*
 * The WDK declares these BOOLEAN (TRUE when supported); include/fltKernel.h says NTSTATUS, so
 * the value returned is TRUE/FALSE either way and `if (FltSupports...(fo))` works.
 */
NTSTATUS FLTAPI FltSupportsFileContexts(PFILE_OBJECT FileObject)
{
	return FileObject && FileObject->FsContext ? TRUE : FALSE;
}

NTSTATUS FLTAPI FltSupportsFileContextsEx(PFILE_OBJECT FileObject, PFLT_INSTANCE Instance)
{
	(void)Instance;
	return FltSupportsFileContexts(FileObject);
}

NTSTATUS FLTAPI FltSupportsStreamHandleContexts(PFILE_OBJECT FileObject)
{
	return FltSupportsFileContexts(FileObject);
}

/* ---- Several at once ---- */

void FLTAPI FltGetContextsEx(PCFLT_RELATED_OBJECTS FltObjects, FLT_CONTEXT_TYPE DesiredContexts,
			     SIZE_T ContextsSize, PFLT_RELATED_CONTEXTS_EX Contexts)
{
	FLT_RELATED_CONTEXTS_EX all;

	if (!Contexts || !ContextsSize)
		return;
	memset(&all, 0, sizeof(all));
	if (FltObjects) {
		if (DesiredContexts & FLT_VOLUME_CONTEXT)
			(void)FltGetVolumeContext(FltObjects->Filter, FltObjects->Volume,
						  &all.VolumeContext);
		if (DesiredContexts & FLT_INSTANCE_CONTEXT)
			(void)FltGetInstanceContext(FltObjects->Instance, &all.InstanceContext);
		if (DesiredContexts & FLT_FILE_CONTEXT)
			(void)FltGetFileContext(FltObjects->Instance, FltObjects->FileObject,
						&all.FileContext);
		if (DesiredContexts & FLT_STREAM_CONTEXT)
			(void)FltGetStreamContext(FltObjects->Instance, FltObjects->FileObject,
						  &all.StreamContext);
		if (DesiredContexts & FLT_STREAMHANDLE_CONTEXT)
			(void)FltGetStreamHandleContext(
			    FltObjects->Instance, FltObjects->FileObject, &all.StreamHandleContext);
	}
	/* An older, shorter structure gets the members it has; references taken for members
	 * it lacks are dropped again. */
	if (ContextsSize < sizeof(all)) {
		FLT_RELATED_CONTEXTS_EX extra;

		memset(&extra, 0, sizeof(extra));
		memcpy((char *)&extra + ContextsSize, (char *)&all + ContextsSize,
		       sizeof(all) - ContextsSize);
		FltReleaseContextsEx(sizeof(extra), &extra);
		memcpy(Contexts, &all, ContextsSize);
	} else {
		memset(Contexts, 0, ContextsSize);
		memcpy(Contexts, &all, sizeof(all));
	}
}

void FLTAPI FltGetContexts(PCFLT_RELATED_OBJECTS FltObjects, FLT_CONTEXT_TYPE DesiredContexts,
			   PFLT_RELATED_CONTEXTS Contexts)
{
	FltGetContextsEx(FltObjects, DesiredContexts, sizeof(*Contexts),
			 (PFLT_RELATED_CONTEXTS_EX)Contexts);
}

void FLTAPI FltReleaseContextsEx(SIZE_T ContextsSize, PFLT_RELATED_CONTEXTS_EX Contexts)
{
	PFLT_CONTEXT *slot = (PFLT_CONTEXT *)Contexts;
	size_t n = ContextsSize / sizeof(PFLT_CONTEXT);

	if (!Contexts)
		return;
	if (n > sizeof(*Contexts) / sizeof(PFLT_CONTEXT))
		n = sizeof(*Contexts) / sizeof(PFLT_CONTEXT);
	for (size_t i = 0; i < n; i++) {
		if (slot[i]) {
			FltReleaseContext(slot[i]);
			slot[i] = NULL_CONTEXT;
		}
	}
}

void FLTAPI FltReleaseContexts(PFLT_RELATED_CONTEXTS Contexts)
{
	FltReleaseContextsEx(sizeof(*Contexts), (PFLT_RELATED_CONTEXTS_EX)Contexts);
}

/* ---- Objects going away ---- */

/* Detach every linked context for which `match` is true; release the objects' references. */
static void sweep(bool (*match)(const struct ctx *c, const void *arg), const void *arg)
{
	struct ctx *dead = NULL;

	pthread_mutex_lock(&ctx_lock);
	for (size_t b = 0; b < NBUCKETS; b++) {
		struct ctx *c = ktab[b], *next;

		for (; c; c = next) {
			next = c->knext;
			if (!match(c, arg))
				continue;
			unlink_locked(c);
			put_locked(c, &dead);
		}
	}
	pthread_mutex_unlock(&ctx_lock);
	destroy_list(dead);
}

static bool of_instance(const struct ctx *c, const void *arg)
{
	const struct fm_instance *inst = arg;

	if (c->inst == inst)
		return true;
	/* The filter's volume context goes with its instance when the volume dismounts or the
	 * filter unloads; a manual detach keeps it for the next attach. */
	return c->type == FLT_VOLUME_CONTEXT && c->filter == inst->filter &&
	       c->key == inst->volume && (inst->volume->dismounting || inst->filter->unloading);
}

void fm__contexts_instance_teardown(struct fm_instance *inst)
{
	sweep(of_instance, inst);
}

static bool of_filter(const struct ctx *c, const void *arg)
{
	return c->filter == arg;
}

void fm__contexts_unregister(struct fm_filter *f)
{
	sweep(of_filter, f);
}

/*
 * A context whose last reference the filter never dropped, at unload: the filter manager
 * frees it.  Its cleanup callback may still use or release another leaked context (a
 * stream-handle context that keeps its stream context, say), so every leaked context stays
 * allocated and findable while all their cleanup callbacks run, and only then is any memory
 * freed.  A release from a cleanup callback just drops a count here.
 */
#define FORCED_REFS (LONG_MAX / 2)

void fm__contexts_filter_free(struct fm_filter *f)
{
	struct ctx *leaked_list = NULL, *c, *next;
	unsigned int leaked = 0;
	struct timespec ts = {0, 1000000};

	/*
	 * Cleanups another thread started (a last release, a closing handle, a deferred
	 * release) may still be about to call into the image, and may release one of the
	 * contexts found below: wait, with the lock, until none is in progress (10 s at most).
	 */
	for (unsigned int ms = 0;; ms++) {
		pthread_mutex_lock(&ctx_lock);
		if (atomic_load(&destroying) == 0 || ms >= 10000)
			break;
		pthread_mutex_unlock(&ctx_lock);
		nanosleep(&ts, NULL);
	}
	for (size_t b = 0; b < NBUCKETS; b++) {
		for (c = ptab[b]; c; c = c->pnext) {
			if (c->filter != f)
				continue;
			fm_log(FM_LOG_ERROR, f->service,
			       "%s context %p leaked: %ld reference(s) not released at unload",
			       type_name(c->type), c->data, c->refs);
			leaked++;
			if (c->linked)
				unlink_locked(c);
			c->refs = FORCED_REFS;
			c->fnext = leaked_list;
			leaked_list = c;
		}
	}
	pthread_mutex_unlock(&ctx_lock);
	/* The image is still mapped: its cleanup callbacks can run, once, as they would have. */
	for (c = leaked_list; c; c = c->fnext) {
		struct fm_filter *prev = fm__enter_filter(c->filter);

		if (c->reg->ContextCleanupCallback)
			c->reg->ContextCleanupCallback(c->data, c->type);
		fm__leave_filter(prev);
	}
	pthread_mutex_lock(&ctx_lock);
	for (c = leaked_list; c; c = c->fnext)
		ptab_remove_locked(c);
	pthread_mutex_unlock(&ctx_lock);
	for (c = leaked_list; c; c = next) {
		struct fm_filter *prev = fm__enter_filter(c->filter);

		next = c->fnext;
		if (!c->own_mem)
			c->reg->ContextFreeCallback(c->data, c->type);
		fm__leave_filter(prev);
		fm_free(c);
	}
	if (leaked)
		fm_log(FM_LOG_ERROR, f->service,
		       "%u context(s) freed by the filter manager at unload", leaked);
	fm_free(f->ctx_reg);
	f->ctx_reg = NULL;
	f->nctx_reg = 0;
}

struct stream_key {
	const struct fm_volume *vol;
	const void *fs_context;
};

static bool of_stream(const struct ctx *c, const void *arg)
{
	const struct stream_key *k = arg;

	return (c->type == FLT_STREAM_CONTEXT || c->type == FLT_FILE_CONTEXT) &&
	       c->key == k->fs_context && (!k->vol || c->inst->volume == k->vol);
}

static void sweep_key(const void *key, bool (*match)(const struct ctx *c, const void *arg),
		      const void *arg)
{
	struct ctx *dead = NULL, **pp;

	pthread_mutex_lock(&ctx_lock);
	pp = &ktab[bucket(key)];
	while (*pp) {
		struct ctx *c = *pp;

		if (!match(c, arg)) {
			pp = &c->knext;
			continue;
		}
		unlink_locked(c); /* removes *pp: look at the same slot again */
		put_locked(c, &dead);
	}
	pthread_mutex_unlock(&ctx_lock);
	destroy_list(dead);
}

void fm_volume_stream_gone(struct fm_volume *vol, void *fs_context)
{
	struct stream_key k = {vol, fs_context};

	if (!fs_context || atomic_load(&nstream_links) == 0)
		return;
	sweep_key(fs_context, of_stream, &k);
}

static bool of_handle(const struct ctx *c, const void *arg)
{
	return c->type == FLT_STREAMHANDLE_CONTEXT && c->key == arg;
}

void fm__contexts_file_object_free(PFILE_OBJECT fo)
{
	if (!atomic_load(&fm__file(fo)->has_handle_ctx))
		return;
	sweep_key(fo, of_handle, fo);
}
