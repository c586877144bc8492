/* Fuzz target for the Microsoft-semantics formatter: no crash, consistent counts, truncation. */
#include "nt/format.h"

#include <ntdef.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FMT 256

static void require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_format: property violated: %s\n", what);
		abort();
	}
}

/*
 * One object that every argument points to, valid under every reading a conversion may
 * make: as a char string and a WCHAR string its first bytes (04 00 ...) end at once; as an
 * ANSI_STRING or UNICODE_STRING its Length is 4 and its Buffer points at text.  Integer
 * conversions read the pointer's bits.
 */
static char text[] = "abcd\0\0\0\0";
static struct {
	uint16_t length, maximum;
	uint32_t pad;
	char *buffer;
} any = {4, 8, 0, text};

/*
 * Formats are kept to what the argument list below can feed: at most 8 conversions (each
 * takes at most one argument, since '*' is refused: its width would come from pointer bits),
 * and widths and precisions of at most 3 digits so that floating point stays small.
 */
static int acceptable(const char *fmt, size_t len)
{
	int percents = 0, digits = 0;

	for (size_t i = 0; i < len; i++) {
		if (fmt[i] == '*')
			return 0;
		percents += fmt[i] == '%';
		digits = (fmt[i] >= '0' && fmt[i] <= '9') ? digits + 1 : 0;
		if (digits > 3)
			return 0;
	}
	return percents <= 8;
}

#define ARGS8 &any, &any, &any, &any, &any, &any, &any, &any
#define DBL8 1.5, -2.25, 1e300, 0.0, 3.0, -0.0, 1e-300, 42.0

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char fmt[MAX_FMT + 1], full[1 << 16], part[8];
	static uint16_t wfmt[MAX_FMT / 2 + 1], wfull[1 << 16], wpart[8];

	if (size > MAX_FMT)
		return 0;
	memcpy(fmt, data, size);
	fmt[size] = 0;
	if (!acceptable(fmt, strlen(fmt)))
		return 0;

	/* 8 doubles fill the floating-point registers; 24 pointers cover every other read. */
	int n = fm_ms_snprintf(full, sizeof(full), fmt, ARGS8, DBL8, ARGS8, ARGS8);
	int m = fm_ms_snprintf(part, sizeof(part), fmt, ARGS8, DBL8, ARGS8, ARGS8);
	require(n == m, "the count does not depend on the buffer");
	require(n >= -1, "-1 is the only error");
	if (n >= 0 && (size_t)n < sizeof(full)) {
		size_t keep = (size_t)n < sizeof(part) ? (size_t)n : sizeof(part) - 1;
		require(memcmp(full, part, keep) == 0 && part[keep] == 0, "truncation is a prefix");
		require(full[n] == 0, "terminated");
	}

	size_t units = size / 2;
	for (size_t i = 0; i < units; i++) {
		wfmt[i] = (uint16_t)(data[2 * i] | data[2 * i + 1] << 8);
		/* The same limits apply to the wide format. */
		if (wfmt[i] == '*' || (wfmt[i] >= '0' && wfmt[i] <= '9'))
			wfmt[i] = 'x';
	}
	wfmt[units] = 0;
	int percents = 0;
	for (size_t i = 0; i < units; i++)
		percents += wfmt[i] == '%';
	if (percents > 8)
		return 0;
	n = fm_ms_snwprintf(wfull, 1 << 16, wfmt, ARGS8, DBL8, ARGS8, ARGS8);
	m = fm_ms_snwprintf(wpart, 8, wfmt, ARGS8, DBL8, ARGS8, ARGS8);
	require(n == m, "wide: the count does not depend on the buffer");
	if (n >= 0 && n < (1 << 16)) {
		size_t keep = n < 8 ? (size_t)n : 7;
		require(memcmp(wfull, wpart, keep * 2) == 0 && wpart[keep] == 0,
			"wide: truncation is a prefix");
	}
	return 0;
}
