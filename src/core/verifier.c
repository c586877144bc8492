/* The verifier: names a filter's misuse with a backtrace, and its leaks at unload. */
#include "core/core_i.h"
#include "common/alloc.h"
#include "common/log.h"
#include "nt/pool.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * Misuse is always logged (an error line tagged with the filter).  With the verifier on for
 * that filter (registry value Verifier = 1 under its service key, read at load; `fltmc verifier
 * on <filter>` sets it) the line starts with "VERIFIER:" and is followed by a backtrace, and
 * at unload every allocation, name reference and context the filter still holds is listed with
 * its tag, size and allocation site.  In every case the filter manager recovers: the operation
 * fails or is ignored safely and the unload completes.
 */

#define BT_MAX 24

/* "image+0x1234 (symbol)" for a code address, into buf. */
static void describe_addr(const void *addr, char *buf, size_t cap)
{
	Dl_info di;

	if (addr && dladdr(addr, &di) && di.dli_fname) {
		const char *img = strrchr(di.dli_fname, '/');
		img = img ? img + 1 : di.dli_fname;
		if (di.dli_sname)
			snprintf(buf, cap, "%s!%s+0x%lx", img, di.dli_sname,
				 (unsigned long)((const char *)addr - (const char *)di.dli_saddr));
		else
			snprintf(buf, cap, "%s+0x%lx", img,
				 (unsigned long)((const char *)addr - (const char *)di.dli_fbase));
	} else {
		snprintf(buf, cap, "%p", addr);
	}
}

static void log_backtrace(const char *tag)
{
	void *frames[BT_MAX];
	int n = backtrace(frames, BT_MAX);
	char where[256];

	/* Skip this function and the report function itself. */
	for (int i = 2; i < n; i++) {
		describe_addr(frames[i], where, sizeof(where));
		fm_log(FM_LOG_ERROR, tag, "VERIFIER:   #%d %s", i - 2, where);
	}
}

bool fm_verifier_enabled(const struct fm_filter *f)
{
	return f && f->verifier;
}

void fm_verifier_misuse(struct fm_filter *f, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!f)
		f = fm__tls_filter;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!fm_verifier_enabled(f)) {
		fm_log(FM_LOG_ERROR, fm_filter_name(f), "%s", msg);
		return;
	}
	atomic_fetch_add(&f->verifier_reports, 1);
	fm_log(FM_LOG_ERROR, f->service, "VERIFIER: %s", msg);
	log_backtrace(f->service);
}

/* ---- Leaks at unload ---- */

struct leak_walk {
	struct fm_filter *f;
	size_t n, bytes, cap;
	void **ptrs;
	uint32_t *tags;
};

static void report_block(const struct fm_pool_block *b, void *arg)
{
	struct leak_walk *w = arg;
	char tag[5], site[256];

	fm_pool_tag_str(b->tag, tag);
	describe_addr(b->caller, site, sizeof(site));
	fm_log(FM_LOG_ERROR, w->f->service,
	       "VERIFIER: leaked pool allocation: tag '%s', %zu bytes at %p, allocated at %s", tag,
	       b->size, b->ptr, site);
	w->bytes += b->size;
	/* Collected here, freed after the walk: the pool lock is held now. */
	if (w->n < w->cap) {
		w->ptrs[w->n] = (void *)b->ptr;
		w->tags[w->n] = b->tag;
	}
	w->n++;
}

static void count_block(const struct fm_pool_block *b, void *arg)
{
	(void)b;
	(void)arg;
}

void fm__verifier_unload(struct fm_filter *f)
{
	struct leak_walk w = {.f = f};
	size_t names;

	if (!fm_verifier_enabled(f))
		return;
	w.cap = fm_pool_foreach(f, count_block, NULL) + 16;
	w.ptrs = fm_calloc(w.cap, sizeof(*w.ptrs));
	w.tags = fm_calloc(w.cap, sizeof(*w.tags));
	if (!w.ptrs || !w.tags)
		w.cap = 0;
	fm_pool_foreach(f, report_block, &w);
	/* The filter is gone: what it leaked can only be freed by us. */
	for (size_t i = 0; i < w.n && i < w.cap; i++)
		ExFreePoolWithTag(w.ptrs[i], w.tags[i]);
	fm_free(w.ptrs);
	fm_free(w.tags);
	names = fm__names_orphan(f);
	fm_log(w.n || names ? FM_LOG_ERROR : FM_LOG_INFO, f->service,
	       "VERIFIER: unload report: %zu leaked pool allocation(s) (%zu bytes), %zu file name "
	       "information reference(s), %ld misuse report(s)",
	       w.n, w.bytes, names, atomic_load(&f->verifier_reports));
}
