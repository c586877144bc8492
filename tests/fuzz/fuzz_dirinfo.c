/*
 * Fuzz target for directory-information buffers as filters may leave them
 * (src/volume/dirinfo.c): the front-end turns them into FUSE directory entries.  Properties:
 * no read outside the buffer (it is an exact-size, unaligned heap copy), and every name handed
 * on is a valid Linux name: not empty, at most NAME_MAX bytes, no '/' and no NUL.
 */
#include "volume/dirinfo.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_dirinfo: property violated: %s\n", what);
		abort();
	}
}

static int check(void *arg, const char *name, size_t len, uint64_t ino, mode_t mode)
{
	size_t *count = arg;

	(void)ino;
	require(len > 0 && len <= NAME_MAX, "name length within 1..NAME_MAX");
	require(strlen(name) == len, "no NUL inside the name");
	require(memchr(name, '/', len) == NULL, "no '/' inside the name");
	require(S_ISREG(mode) || S_ISDIR(mode) || S_ISLNK(mode) || S_ISFIFO(mode) ||
		    S_ISCHR(mode) || S_ISBLK(mode) || S_ISSOCK(mode),
		"a file type");
	(*count)++;
	return *count == 100000 ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* One byte past an aligned block: the walk must not assume alignment. */
	uint8_t *block = malloc(size + 1);
	size_t count = 0;
	int rc;

	if (!block)
		return 0;
	memcpy(block + 1, data, size);
	rc = fm_dirinfo_walk(block + 1, size, check, &count);
	require(rc == 0 || (rc == 1 && count == 100000), "result is 0 or the callback's");
	free(block);
	return 0;
}
