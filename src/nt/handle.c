/* Kernel handle table: a growable array of (type, object, close callback) slots. */
#include "nt/handle.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>

#include "common/alloc.h"

struct slot {
	enum fm_handle_type type; /* FM_HANDLE_ANY: free */
	void *object;
	void (*close_fn)(void *object);
	uint32_t next_free;
};

static pthread_mutex_t h_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot *slots; /* guarded by h_lock */
static uint32_t nslots;	   /* guarded by h_lock */
static uint32_t free_head; /* 1-based index of the first free slot, 0: none */
static size_t open_count;  /* guarded by h_lock */

/* Handles look like Windows kernel handles: high bit set, low two bits clear. */
#define KERNEL_BIT ((uintptr_t)1 << 63)

static HANDLE to_handle(uint32_t idx)
{
	return (HANDLE)(KERNEL_BIT | ((uintptr_t)(idx + 1) << 2));
}

static int from_handle(HANDLE h, uint32_t *idx)
{
	uintptr_t v = (uintptr_t)h;

	if (!(v & KERNEL_BIT) || (v & 3))
		return -1;
	v = (v & ~KERNEL_BIT) >> 2;
	if (v == 0 || v > nslots)
		return -1;
	*idx = (uint32_t)(v - 1);
	return 0;
}

HANDLE fm_handle_create(enum fm_handle_type type, void *object, void (*close_fn)(void *object))
{
	uint32_t idx;

	if (type == FM_HANDLE_ANY)
		return NULL;
	pthread_mutex_lock(&h_lock);
	if (!free_head) {
		uint32_t n = nslots ? nslots * 2 : 64;
		struct slot *s;

		if (n > (1u << 24) || !(s = fm_realloc(slots, n * sizeof(*s)))) {
			pthread_mutex_unlock(&h_lock);
			return NULL;
		}
		for (uint32_t i = nslots; i < n; i++) {
			s[i].type = FM_HANDLE_ANY;
			s[i].object = NULL;
			s[i].close_fn = NULL;
			s[i].next_free = i + 1 < n ? i + 2 : 0;
		}
		free_head = nslots + 1;
		slots = s;
		nslots = n;
	}
	idx = free_head - 1;
	free_head = slots[idx].next_free;
	slots[idx].type = type;
	slots[idx].object = object;
	slots[idx].close_fn = close_fn;
	open_count++;
	pthread_mutex_unlock(&h_lock);
	return to_handle(idx);
}

void *fm_handle_lookup(HANDLE h, enum fm_handle_type type)
{
	uint32_t idx;
	void *o = NULL;

	pthread_mutex_lock(&h_lock);
	if (from_handle(h, &idx) == 0 && slots[idx].type != FM_HANDLE_ANY &&
	    (type == FM_HANDLE_ANY || slots[idx].type == type))
		o = slots[idx].object;
	pthread_mutex_unlock(&h_lock);
	return o;
}

enum fm_handle_type fm_handle_type_of(HANDLE h)
{
	uint32_t idx;
	enum fm_handle_type t = FM_HANDLE_ANY;

	pthread_mutex_lock(&h_lock);
	if (from_handle(h, &idx) == 0)
		t = slots[idx].type;
	pthread_mutex_unlock(&h_lock);
	return t;
}

int fm_handle_close(HANDLE h)
{
	uint32_t idx;
	void *o;
	void (*fn)(void *);

	pthread_mutex_lock(&h_lock);
	if (from_handle(h, &idx) != 0 || slots[idx].type == FM_HANDLE_ANY) {
		pthread_mutex_unlock(&h_lock);
		return -EBADF;
	}
	o = slots[idx].object;
	fn = slots[idx].close_fn;
	slots[idx].type = FM_HANDLE_ANY;
	slots[idx].object = NULL;
	slots[idx].close_fn = NULL;
	slots[idx].next_free = free_head;
	free_head = idx + 1;
	open_count--;
	pthread_mutex_unlock(&h_lock);
	/* Outside the lock: a close callback may close other handles. */
	if (fn)
		fn(o);
	return 0;
}

size_t fm_handle_count(void)
{
	size_t n;

	pthread_mutex_lock(&h_lock);
	n = open_count;
	pthread_mutex_unlock(&h_lock);
	return n;
}
