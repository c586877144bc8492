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
/* With fail_every > 0, every fail_every-th allocation fails (alloc_seq counts them). */
static _Atomic long fail_every;
static _Atomic unsigned long alloc_seq;
/* Allocations made by the calling thread (tests prove hot paths allocate nothing). */
static __thread unsigned long thread_allocs __attribute__((tls_model("initial-exec")));

/* And the bytes they asked for (a realloc counts its new size). */
static __thread unsigned long long thread_bytes __attribute__((tls_model("initial-exec")));

unsigned long fm_alloc_thread_count(void)
{
	return thread_allocs;
}

void fm_alloc_thread_stats(struct fm_alloc_stats *out)
{
	out->calls = thread_allocs;
	out->bytes = thread_bytes;
}

/* True when this allocation must fail (and a one-shot injection then switches itself off). */
static int inject_failure(void)
{
	long cur = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
	long every = atomic_load_explicit(&fail_every, memory_order_relaxed);

	if (every > 0 && (atomic_fetch_add_explicit(&alloc_seq, 1, memory_order_relaxed) + 1) %
				 (unsigned long)every ==
			     0) {
		errno = ENOMEM;
		return 1;
	}
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

long fm_alloc_fail_pending(void)
{
	return atomic_load(&fail_countdown);
}

void fm_alloc_fail_every(long n)
{
	atomic_store(&alloc_seq, 0);
	atomic_store(&fail_every, n > 0 ? n : 0);
}

/*
 * FM_FAIL_ALLOC in the environment arms injection for a whole process (fltmgrd, a test):
 * "N" makes the allocation after the next N successful ones fail, once; "%N" makes every
 * N-th allocation fail.
 */
__attribute__((constructor)) static void fail_alloc_from_env(void)
{
	const char *v = getenv("FM_FAIL_ALLOC");
	char *end;
	long n;

	if (!v || !*v)
		return;
	n = strtol(v + (*v == '%'), &end, 10);
	if (*end || n < 0)
		return;
	if (*v == '%')
		fm_alloc_fail_every(n);
	else
		fm_alloc_fail_after(n);
}

void *fm_malloc(size_t size)
{
	thread_allocs++;
	thread_bytes += size;
	if (inject_failure())
		return NULL;
	/* malloc(0) may return NULL, which callers would take for a failure. */
	return malloc(size ? size : 1);
}

void *fm_calloc(size_t n, size_t size)
{
	thread_allocs++;
	thread_bytes += (unsigned long long)n * size;
	if (inject_failure())
		return NULL;
	if (n == 0 || size == 0)
		n = size = 1;
	return calloc(n, size);
}

void *fm_realloc(void *p, size_t size)
{
	thread_allocs++;
	thread_bytes += size;
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
