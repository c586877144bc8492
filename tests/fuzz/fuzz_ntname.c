/* Fuzz target for the Linux <-> NT name mapping: no crash, and every Linux name round-trips. */
#include "common/ntname.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_NAME 4096

/* A violated property is a crash, which is how a fuzzer reports it. */
static void require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_ntname: property violated: %s\n", what);
		abort();
	}
}

/*
 * Input: one mode byte (bit 0: path mode, bit 1: also read the rest as UTF-16) and a name.
 * Linux -> NT must accept every name without NUL (and without '/' in a component), and
 * NT -> Linux must give the bytes back.  Read as UTF-16, the rest must either be rejected or
 * convert back to exactly the same units.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint16_t nt[MAX_NAME + 1], nt2[MAX_NAME + 1];
	static char lx[4 * MAX_NAME + 1];

	if (size < 1 || size - 1 > MAX_NAME)
		return 0;
	int is_path = data[0] & 1;
	const char *name = (const char *)data + 1;
	size_t len = size - 1;
	int valid = memchr(name, 0, len) == NULL && (is_path || memchr(name, '/', len) == NULL);

	long n = fm_name_to_nt(name, len, nt, MAX_NAME + 1, is_path);
	require(valid ? n >= 0 : n == -EINVAL, "Linux -> NT accepts exactly the Linux names");
	if (n >= 0) {
		require((size_t)n <= len, "never more units than bytes");
		long m = fm_name_from_nt(nt, (size_t)n, lx, sizeof(lx), is_path);
		require(m == (long)len && memcmp(lx, name, len) == 0, "Linux name round-trips");
		/* One unit short must be a capacity error, never a write past the end. */
		if (n > 0)
			require(fm_name_to_nt(name, len, nt2, (size_t)n - 1, is_path) ==
				    -ENAMETOOLONG,
				"capacity error");
	}

	if (data[0] & 2) {
		size_t units = len / 2;
		for (size_t i = 0; i < units; i++)
			nt[i] = (uint16_t)(data[1 + 2 * i] | data[2 + 2 * i] << 8);
		long m = fm_name_from_nt(nt, units, lx, sizeof(lx), is_path);
		require(m >= 0 || m == -EINVAL, "NT -> Linux fails only as -EINVAL");
		if (m >= 0) {
			long k = fm_name_to_nt(lx, (size_t)m, nt2, MAX_NAME + 1, is_path);
			require(k == (long)units && memcmp(nt2, nt, units * 2) == 0,
				"an accepted NT name is the image of its Linux name");
		}
	}
	return 0;
}
