/* alloc: the one place libfltmgr allocates, with a fault-injection countdown for tests. */
#include "common/alloc.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/*
 * Successful allocations left before the next one fails; -1 when injection is off.  Every
 * allocation decrements it atomically, so concurrent callers see exactly one failure.
 */
static _Atomic long fail_countdown = -1;

/* True when this allocation must fail (and injection then switches itself off). */
static int inject_failure(void)
{
	long cur = atomic_load_explicit(&fail_countdown, memory_order_relaxed);

	while (cur >= 0) {
		long next = cur == 0 ? -1 : cur - 1;

		if (atomic_compare_exchange_weak(&fail_countdown, &cur, next)) {
			if (cur == 0) {
				errno = ENOMEM;
				return 1;
			}
			return 0;
		}
	}
	return 0;
}

void fm_alloc_fail_after(long countdown)
{
	atomic_store(&fail_countdown, countdown < 0 ? -1 : countdown);
}

void *fm_malloc(size_t size)
{
	if (inject_failure())
		return NULL;
	/* malloc(0) may return NULL, which callers would take for a failure. */
	return malloc(size ? size : 1);
}

void *fm_calloc(size_t n, size_t size)
{
	if (inject_failure())
		return NULL;
	if (n == 0 || size == 0)
		n = size = 1;
	return calloc(n, size);
}

void *fm_realloc(void *p, size_t size)
{
	if (inject_failure())
		return NULL;
	return realloc(p, size ? size : 1);
}

char *fm_strdup(const char *s)
{
	if (!s)
		return NULL;
	return fm_strndup(s, strlen(s));
}

char *fm_strndup(const char *s, size_t n)
{
	size_t len;
	char *d;

	if (!s)
		return NULL;
	len = strnlen(s, n);
	d = fm_malloc(len + 1);
	if (!d)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

void fm_free(void *p)
{
	free(p);
}
