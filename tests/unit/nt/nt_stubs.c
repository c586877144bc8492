/* Test stand-ins for the core functions the kernel runtime calls (the core is not linked). */
#include "core/core.h"
#include "common/log.h"

#include <stdarg.h>

struct fm_filter *fm_current_filter(void)
{
	return NULL;
}

const char *fm_filter_name(const struct fm_filter *f)
{
	(void)f;
	return "test";
}

void fm_verifier_misuse(struct fm_filter *f, const char *fmt, ...)
{
	va_list ap;

	(void)f;
	va_start(ap, fmt);
	fm_logv(FM_LOG_ERROR, "test", fmt, ap);
	va_end(ap);
}
