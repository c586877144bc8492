/* All allocation of the core goes through here, so tests can make it fail. */
#ifndef FM_COMMON_ALLOC_H
#define FM_COMMON_ALLOC_H

#include <stddef.h>

void *fm_malloc(size_t size);
void *fm_calloc(size_t n, size_t size);
void *fm_realloc(void *p, size_t size);
char *fm_strdup(const char *s);
char *fm_strndup(const char *s, size_t n);
void fm_free(void *p);

/* How many allocations (fm_malloc, fm_calloc, fm_realloc, fm_str*dup) the calling thread has
 * made since it started: a test reads it before and after an operation. */
unsigned long fm_alloc_thread_count(void);
/* The same count with the bytes asked for (a realloc counts its new size): tests bound the
 * work of a parser with it. */
struct fm_alloc_stats {
	unsigned long calls;
	unsigned long long bytes;
};
void fm_alloc_thread_stats(struct fm_alloc_stats *out);

/*
 * Fault injection for tests: after `countdown` more successful allocations, the next
 * allocation fails (returns NULL) and injection switches off.  -1 disables.
 */
void fm_alloc_fail_after(long countdown);
/* The countdown left (-1: no one-shot failure is armed, or it has fired). */
long fm_alloc_fail_pending(void);
/*
 * Every n-th allocation from now on fails (n <= 0 stops it).  The environment variable
 * FM_FAIL_ALLOC arms either mode at load: "N" as fm_alloc_fail_after(N), "%N" as
 * fm_alloc_fail_every(N).
 */
void fm_alloc_fail_every(long n);

#endif
