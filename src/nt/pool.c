/* Pool: ExAllocatePool* / ExFreePool* / lookaside lists over malloc, with a tracking header. */
#include "nt/pool.h"

#include <wdm.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"
#include "core/core.h"

#define POOL_MAGIC 0x4c4f4f50u /* "POOL" */
#define POOL_DEAD 0x44414544u  /* "DEAD" */

/*
 * Every block is preceded by this header, 16-byte aligned so the caller's pointer keeps
 * malloc's alignment.  The list lets the verifier report leaks by tag and caller.
 */
struct pool_hdr {
	struct pool_hdr *next, *prev; /* guarded by pool_lock */
	size_t size;
	const void *caller;
	const void *owner;
	uint32_t tag;
	uint32_t magic;
} __attribute__((aligned(16)));

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pool_hdr pool_head = {&pool_head, &pool_head, 0, NULL, NULL, 0, 0};
static size_t pool_count, pool_bytes; /* guarded by pool_lock */

void fm_pool_tag_str(uint32_t tag, char out[5])
{
	/* A multi-char constant 'ypsM' stores 'M' in the low byte: print low to high. */
	for (int i = 0; i < 4; i++) {
		unsigned char c = (unsigned char)(tag >> (8 * i));
		out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '.';
	}
	out[4] = 0;
}

static void *pool_alloc(size_t size, uint32_t tag, int zero, const void *caller)
{
	struct pool_hdr *h;

	if (size > SIZE_MAX - sizeof(*h))
		return NULL;
	h = zero ? fm_calloc(1, sizeof(*h) + size) : fm_malloc(sizeof(*h) + size);
	if (!h)
		return NULL;
	h->size = size;
	h->tag = tag;
	h->caller = caller;
	h->owner = fm_current_filter();
	h->magic = POOL_MAGIC;
	pthread_mutex_lock(&pool_lock);
	h->next = &pool_head;
	h->prev = pool_head.prev;
	pool_head.prev->next = h;
	pool_head.prev = h;
	pool_count++;
	pool_bytes += size;
	pthread_mutex_unlock(&pool_lock);
	return h + 1;
}

static void pool_free(void *p, uint32_t tag, int check_tag, const void *caller)
{
	struct pool_hdr *h;
	char want[5], got[5];

	if (!p)
		return;
	h = (struct pool_hdr *)p - 1;
	if (h->magic != POOL_MAGIC) {
		/* Not ours, or freed twice: leaking is the only safe thing to do. */
		fm_log(FM_LOG_ERROR, "pool", "ExFreePool(%p) from %p: %s", p, caller,
		       h->magic == POOL_DEAD ? "double free" : "not a pool block");
		return;
	}
	if (check_tag && (h->tag & 0x7fffffffu) != (tag & 0x7fffffffu)) {
		fm_pool_tag_str(h->tag, want);
		fm_pool_tag_str(tag, got);
		fm_log(FM_LOG_WARN, "pool",
		       "ExFreePoolWithTag(%p, '%s') from %p: block has tag '%s'", p, got, caller,
		       want);
	}
	pthread_mutex_lock(&pool_lock);
	h->prev->next = h->next;
	h->next->prev = h->prev;
	pool_count--;
	pool_bytes -= h->size;
	pthread_mutex_unlock(&pool_lock);
	h->magic = POOL_DEAD;
	fm_free(h);
}

size_t fm_pool_live_count(void)
{
	size_t n;

	pthread_mutex_lock(&pool_lock);
	n = pool_count;
	pthread_mutex_unlock(&pool_lock);
	return n;
}

size_t fm_pool_live_bytes(void)
{
	size_t n;

	pthread_mutex_lock(&pool_lock);
	n = pool_bytes;
	pthread_mutex_unlock(&pool_lock);
	return n;
}

size_t fm_pool_foreach(const void *owner, void (*fn)(const struct fm_pool_block *b, void *arg),
		       void *arg)
{
	struct fm_pool_block b;
	size_t n = 0;

	pthread_mutex_lock(&pool_lock);
	for (struct pool_hdr *h = pool_head.next; h != &pool_head; h = h->next) {
		if (owner && h->owner != owner)
			continue;
		b.ptr = h + 1;
		b.size = h->size;
		b.tag = h->tag;
		b.caller = h->caller;
		b.owner = h->owner;
		fn(&b, arg);
		n++;
	}
	pthread_mutex_unlock(&pool_lock);
	return n;
}

#define CALLER __builtin_return_address(0)

PVOID ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
	(void)PoolType;
	return pool_alloc(NumberOfBytes, Tag, 0, CALLER);
}

PVOID ExAllocatePoolWithQuotaTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
	(void)PoolType;
	return pool_alloc(NumberOfBytes, Tag, 0, CALLER);
}

PVOID ExAllocatePoolWithTagPriority(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
				    EX_POOL_PRIORITY Priority)
{
	(void)PoolType;
	(void)Priority;
	return pool_alloc(NumberOfBytes, Tag, 0, CALLER);
}

PVOID ExAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes)
{
	(void)PoolType;
	return pool_alloc(NumberOfBytes, 'enoN', 0, CALLER);
}

PVOID ExAllocatePoolWithQuota(POOL_TYPE PoolType, SIZE_T NumberOfBytes)
{
	(void)PoolType;
	return pool_alloc(NumberOfBytes, 'enoN', 0, CALLER);
}

/* Flags that select a pool type; exactly one is required by ExAllocatePool2. */
#define POOL2_TYPE_FLAGS (POOL_FLAG_NON_PAGED | POOL_FLAG_NON_PAGED_EXECUTE | POOL_FLAG_PAGED)
#define POOL2_KNOWN_REQUIRED                                                                       \
	(POOL_FLAG_USE_QUOTA | POOL_FLAG_UNINITIALIZED | POOL_FLAG_SESSION |                       \
	 POOL_FLAG_CACHE_ALIGNED | POOL_FLAG_RAISE_ON_FAILURE | POOL2_TYPE_FLAGS)

static PVOID pool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag, const void *caller)
{
	POOL_FLAGS type = Flags & POOL2_TYPE_FLAGS;

	/* Tag 0 and an unknown required flag are rejected, as the documentation says. */
	if (Tag == 0 || (type & (type - 1)) != 0 || type == 0 ||
	    (Flags & 0xffffffffULL & ~POOL2_KNOWN_REQUIRED) != 0) {
		fm_log(FM_LOG_WARN, "pool", "ExAllocatePool2: invalid flags 0x%llx or tag",
		       (unsigned long long)Flags);
		return NULL;
	}
	return pool_alloc(NumberOfBytes, Tag, !(Flags & POOL_FLAG_UNINITIALIZED), caller);
}

PVOID ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag)
{
	return pool2(Flags, NumberOfBytes, Tag, CALLER);
}

PVOID ExAllocatePool3(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag,
		      PCPOOL_EXTENDED_PARAMETER ExtendedParameters, ULONG ExtendedParametersCount)
{
	(void)ExtendedParameters;
	(void)ExtendedParametersCount;
	return pool2(Flags, NumberOfBytes, Tag, CALLER);
}

PVOID ExAllocatePoolZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
	(void)PoolType;
	return pool_alloc(NumberOfBytes, Tag, 1, CALLER);
}

PVOID ExAllocatePoolUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
	(void)PoolType;
	return pool_alloc(NumberOfBytes, Tag, 0, CALLER);
}

PVOID ExAllocatePoolQuotaZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
	(void)PoolType;
	return pool_alloc(NumberOfBytes, Tag, 1, CALLER);
}

PVOID ExAllocatePoolQuotaUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
	(void)PoolType;
	return pool_alloc(NumberOfBytes, Tag, 0, CALLER);
}

PVOID ExAllocatePoolPriorityZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
				 EX_POOL_PRIORITY Priority)
{
	(void)PoolType;
	(void)Priority;
	return pool_alloc(NumberOfBytes, Tag, 1, CALLER);
}

PVOID ExAllocatePoolPriorityUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
					  EX_POOL_PRIORITY Priority)
{
	(void)PoolType;
	(void)Priority;
	return pool_alloc(NumberOfBytes, Tag, 0, CALLER);
}

void ExFreePoolWithTag(PVOID P, ULONG Tag)
{
	pool_free(P, Tag, 1, CALLER);
}

void ExFreePool(PVOID P)
{
	pool_free(P, 0, 0, CALLER);
}

void ExFreePool2(PVOID P, ULONG Tag, PCPOOL_EXTENDED_PARAMETER ExtendedParameters,
		 ULONG ExtendedParametersCount)
{
	(void)ExtendedParameters;
	(void)ExtendedParametersCount;
	pool_free(P, Tag, 1, CALLER);
}

void ExInitializeDriverRuntime(ULONG RuntimeFlags)
{
	/* Pool is never executable here: opting in to NX changes nothing. */
	(void)RuntimeFlags;
}

SIZE_T ExQueryPoolBlockSize(PVOID PoolBlock, PBOOLEAN QuotaCharged)
{
	struct pool_hdr *h = (struct pool_hdr *)PoolBlock - 1;

	if (QuotaCharged)
		*QuotaCharged = FALSE;
	return (PoolBlock && h->magic == POOL_MAGIC) ? h->size : 0;
}

/*
 * Lookaside lists: no caching (the allocator is fast enough and tracking stays exact); each
 * allocation goes to the list's Allocate routine or to the pool with the list's tag.
 */
static void lookaside_init(GENERAL_LOOKASIDE_POOL *L, POOL_TYPE type, SIZE_T size, ULONG tag,
			   USHORT depth)
{
	memset(L, 0, sizeof(*L));
	L->Type = type;
	L->Tag = tag;
	L->Size = (ULONG)size;
	L->Depth = depth;
	L->MaximumDepth = depth;
	InitializeListHead(&L->ListEntry);
}

void ExInitializeNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside, PALLOCATE_FUNCTION Allocate,
				     PFREE_FUNCTION Free, ULONG Flags, SIZE_T Size, ULONG Tag,
				     USHORT Depth)
{
	(void)Flags;
	lookaside_init((GENERAL_LOOKASIDE_POOL *)&Lookaside->L, NonPagedPool, Size, Tag, Depth);
	Lookaside->L.Allocate = Allocate;
	Lookaside->L.Free = Free;
}

void ExInitializePagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside, PALLOCATE_FUNCTION Allocate,
				    PFREE_FUNCTION Free, ULONG Flags, SIZE_T Size, ULONG Tag,
				    USHORT Depth)
{
	(void)Flags;
	lookaside_init((GENERAL_LOOKASIDE_POOL *)&Lookaside->L, PagedPool, Size, Tag, Depth);
	Lookaside->L.Allocate = Allocate;
	Lookaside->L.Free = Free;
}

void ExDeleteNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside)
{
	(void)Lookaside;
}

void ExDeletePagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside)
{
	(void)Lookaside;
}

PVOID ExAllocateFromNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside)
{
	__atomic_add_fetch(&Lookaside->L.TotalAllocates, 1, __ATOMIC_RELAXED);
	if (Lookaside->L.Allocate)
		return Lookaside->L.Allocate(Lookaside->L.Type, Lookaside->L.Size,
					     Lookaside->L.Tag);
	return pool_alloc(Lookaside->L.Size, Lookaside->L.Tag, 0, CALLER);
}

PVOID ExAllocateFromPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside)
{
	__atomic_add_fetch(&Lookaside->L.TotalAllocates, 1, __ATOMIC_RELAXED);
	if (Lookaside->L.Allocate)
		return Lookaside->L.Allocate(Lookaside->L.Type, Lookaside->L.Size,
					     Lookaside->L.Tag);
	return pool_alloc(Lookaside->L.Size, Lookaside->L.Tag, 0, CALLER);
}

void ExFreeToNPagedLookasideList(PNPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry)
{
	__atomic_add_fetch(&Lookaside->L.TotalFrees, 1, __ATOMIC_RELAXED);
	if (Lookaside->L.Free)
		Lookaside->L.Free(Entry);
	else
		pool_free(Entry, Lookaside->L.Tag, 1, CALLER);
}

void ExFreeToPagedLookasideList(PPAGED_LOOKASIDE_LIST Lookaside, PVOID Entry)
{
	__atomic_add_fetch(&Lookaside->L.TotalFrees, 1, __ATOMIC_RELAXED);
	if (Lookaside->L.Free)
		Lookaside->L.Free(Entry);
	else
		pool_free(Entry, Lookaside->L.Tag, 1, CALLER);
}

NTSTATUS ExInitializeLookasideListEx(PLOOKASIDE_LIST_EX Lookaside, PALLOCATE_FUNCTION_EX Allocate,
				     PFREE_FUNCTION_EX Free, POOL_TYPE PoolType, ULONG Flags,
				     SIZE_T Size, ULONG Tag, USHORT Depth)
{
	if (!Lookaside || Size == 0 || Size > MAXULONG || (Flags & ~3u) || (Flags & 3u) == 3u)
		return STATUS_INVALID_PARAMETER;
	lookaside_init(&Lookaside->L, PoolType, Size, Tag, Depth);
	Lookaside->L.AllocateEx = Allocate;
	Lookaside->L.FreeEx = Free;
	return STATUS_SUCCESS;
}

void ExDeleteLookasideListEx(PLOOKASIDE_LIST_EX Lookaside)
{
	(void)Lookaside;
}

void ExFlushLookasideListEx(PLOOKASIDE_LIST_EX Lookaside)
{
	(void)Lookaside;
}

PVOID ExAllocateFromLookasideListEx(PLOOKASIDE_LIST_EX Lookaside)
{
	__atomic_add_fetch(&Lookaside->L.TotalAllocates, 1, __ATOMIC_RELAXED);
	if (Lookaside->L.AllocateEx)
		return Lookaside->L.AllocateEx(Lookaside->L.Type, Lookaside->L.Size,
					       Lookaside->L.Tag, Lookaside);
	return pool_alloc(Lookaside->L.Size, Lookaside->L.Tag, 0, CALLER);
}

void ExFreeToLookasideListEx(PLOOKASIDE_LIST_EX Lookaside, PVOID Entry)
{
	__atomic_add_fetch(&Lookaside->L.TotalFrees, 1, __ATOMIC_RELAXED);
	if (Lookaside->L.FreeEx)
		Lookaside->L.FreeEx(Entry, Lookaside);
	else
		pool_free(Entry, Lookaside->L.Tag, 1, CALLER);
}
