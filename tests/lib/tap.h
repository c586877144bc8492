/* A tiny TAP producer for the project's C tests: one binary, many numbered cases. */
#ifndef FM_TESTS_TAP_H
#define FM_TESTS_TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Usage:
 *   static void t_something(void) { TAP_CHECK(x == 1); TAP_EQ_INT(f(), 3); }
 *   int main(void) { TAP_RUN(t_something); ...; return tap_done(); }
 * Each TAP_RUN is one TAP test point: "ok N - name" if no check inside it failed.  Checks
 * print a diagnostic line ("# file:line: ...") on failure and let the case continue.
 * tap_skip(name, why) records a skipped point.  The plan is printed at the end.
 */

static int tap__n, tap__failed_cases, tap__case_failed;

#define TAP_CHECK(cond)                                                                            \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);          \
			tap__case_failed = 1;                                                      \
		}                                                                                  \
	} while (0)

#define TAP_EQ_INT(got, want)                                                                      \
	do {                                                                                       \
		long long tap__g = (long long)(got), tap__w = (long long)(want);                   \
		if (tap__g != tap__w) {                                                            \
			printf("# %s:%d: %s == %lld, want %lld (0x%llx vs 0x%llx)\n", __FILE__,    \
			       __LINE__, #got, tap__g, tap__w, (unsigned long long)tap__g,         \
			       (unsigned long long)tap__w);                                        \
			tap__case_failed = 1;                                                      \
		}                                                                                  \
	} while (0)

#define TAP_EQ_STR(got, want)                                                                      \
	do {                                                                                       \
		const char *tap__g = (got), *tap__w = (want);                                      \
		if (!tap__g || !tap__w || strcmp(tap__g, tap__w) != 0) {                           \
			printf("# %s:%d: %s == \"%s\", want \"%s\"\n", __FILE__, __LINE__, #got,   \
			       tap__g ? tap__g : "(null)", tap__w ? tap__w : "(null)");            \
			tap__case_failed = 1;                                                      \
		}                                                                                  \
	} while (0)

static inline void tap__run(void (*fn)(void), const char *name)
{
	tap__case_failed = 0;
	fflush(stdout);
	fn();
	tap__n++;
	if (tap__case_failed)
		tap__failed_cases++;
	printf("%s %d - %s\n", tap__case_failed ? "not ok" : "ok", tap__n, name);
	fflush(stdout);
}

#define TAP_RUN(fn) tap__run(fn, #fn)

static inline void tap_skip(const char *name, const char *why)
{
	tap__n++;
	printf("ok %d - %s # SKIP %s\n", tap__n, name, why);
	fflush(stdout);
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap__n);
	return tap__failed_cases ? 1 : 0;
}

#endif
