/*
 * Fuzz target for the registry file reader (src/core/registry.c; docs/registry.md): the file
 * fltmgrd loads at start, which an administrator may have edited by hand.  Properties: no
 * crash, leak or overread; and a file that loads is written back (fm_reg_flush) in a canonical
 * form that loads again and writes back byte for byte the same.
 */
#include "core/registry.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_registry: property violated: %s\n", what);
		abort();
	}
}

static char dir[64];
static char file[96];

static void write_file(const uint8_t *data, size_t size)
{
	FILE *f = fopen(file, "wb");

	require(f != NULL, "scratch file can be written");
	require(fwrite(data, 1, size, f) == size, "scratch file written whole");
	fclose(f);
}

static uint8_t *read_file(size_t *len)
{
	FILE *f = fopen(file, "rb");
	uint8_t *buf = NULL;
	long n;

	require(f != NULL, "written registry can be read");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	require(buf && fread(buf, 1, (size_t)n, f) == (size_t)n, "read it whole");
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void cleanup(void)
{
	unlink(file);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *first, *second;
	size_t flen, slen;

	if (!dir[0]) {
		/* tmpfs when there is one: the flush fsyncs. */
		snprintf(dir, sizeof(dir), "%s/fuzzreg.XXXXXX",
			 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		require(mkdtemp(dir) != NULL, "scratch directory");
		snprintf(file, sizeof(file), "%s/registry", dir);
		atexit(cleanup);
	}
	write_file(data, size);
	if (fm_reg_init(file) != 0)
		return 0;
	require(fm_reg_flush() == 0, "a loaded registry can be written back");
	fm_reg_fini();
	first = read_file(&flen);
	require(fm_reg_init(file) == 0, "what we wrote loads again");
	require(fm_reg_flush() == 0, "and writes back");
	fm_reg_fini();
	second = read_file(&slen);
	require(flen == slen && memcmp(first, second, flen) == 0, "the written form is canonical");
	free(first);
	free(second);
	return 0;
}
