/* Pool allocations of the kernel runtime: tagged, tracked, reportable (for the verifier). */
#ifndef FM_NT_POOL_H
#define FM_NT_POOL_H

#include <stddef.h>
#include <stdint.h>

/* One live allocation as the iterator reports it. */
struct fm_pool_block {
	const void *ptr;    /* what the caller got */
	size_t size;	    /* bytes requested */
	uint32_t tag;	    /* pool tag, as the multi-char constant ('ypsM') */
	const void *caller; /* return address of the allocating call */
	const void *owner;  /* fm_current_filter() at allocation time, may be NULL */
};

/* Number and total bytes of live pool allocations (all filters). */
size_t fm_pool_live_count(void);
size_t fm_pool_live_bytes(void);

/*
 * Call fn for each live allocation (owner NULL: all; else only that owner's) under the pool
 * lock: fn must not allocate or free pool.  Returns the number visited.
 */
size_t fm_pool_foreach(const void *owner, void (*fn)(const struct fm_pool_block *b, void *arg),
		       void *arg);

/* "ypsM" -> "Mspy" style printable tag (4 chars + NUL) into out[5]. */
void fm_pool_tag_str(uint32_t tag, char out[5]);

#endif
