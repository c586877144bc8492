/* xorcheck: drive a file on a volume with random I/O and check every byte against a model. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FILE_MAX (1 << 20)

static unsigned char model[FILE_MAX];
static size_t model_size;
static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int fail(const char *what, long a, long b)
{
	fprintf(stderr, "xorcheck: %s (%ld, %ld): %s\n", what, a, b, strerror(errno));
	return 1;
}

/* Compare [off, off+len) of the file with the model through pread. */
static int check_range(int fd, size_t off, size_t len)
{
	static unsigned char buf[FILE_MAX];
	ssize_t got = pread(fd, buf, len, (off_t)off);
	size_t want = off >= model_size ? 0 : (off + len > model_size ? model_size - off : len);

	if (got < 0 || (size_t)got != want)
		return fail("short or failed read", (long)off, (long)got);
	if (memcmp(buf, model + off, want) != 0) {
		for (size_t i = 0; i < want; i++)
			if (buf[i] != model[off + i])
				return fail("mismatch at offset", (long)(off + i), buf[i]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	char path[4096];
	int fd, ops = argc > 2 ? atoi(argv[2]) : 2000;
	unsigned char *map;

	if (argc < 2) {
		fprintf(stderr, "usage: xorcheck DIR [OPS]\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/xorcheck.dat", argv[1]);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fail("open", 0, 0);
	/* Random writes, truncates and reads at any offset and size. */
	for (int i = 0; i < ops; i++) {
		size_t off = next() % (FILE_MAX / 2), len = 1 + next() % 9000;
		unsigned int kind = (unsigned int)(next() % 10);

		if (kind < 5) {
			unsigned char buf[9000];
			for (size_t k = 0; k < len; k++)
				buf[k] = (unsigned char)next();
			if (pwrite(fd, buf, len, (off_t)off) != (ssize_t)len)
				return fail("pwrite", (long)off, (long)len);
			if (off > model_size)
				memset(model + model_size, 0, off - model_size);
			memcpy(model + off, buf, len);
			if (off + len > model_size)
				model_size = off + len;
		} else if (kind == 5) {
			size_t to = next() % (FILE_MAX / 2);
			if (ftruncate(fd, (off_t)to) != 0)
				return fail("ftruncate", (long)to, 0);
			if (to > model_size)
				memset(model + model_size, 0, to - model_size);
			model_size = to;
		} else if (check_range(fd, off, len)) {
			return 1;
		}
	}
	if (check_range(fd, 0, model_size))
		return 1;
	/* A mapping sees the same bytes. */
	if (model_size) {
		map = mmap(NULL, model_size, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			return fail("mmap", (long)model_size, 0);
		if (memcmp(map, model, model_size) != 0)
			return fail("mmap contents differ", 0, 0);
		munmap(map, model_size);
	}
	/* Writes through a shared mapping reach the file transformed, and read back plain. */
	if (model_size >= 8192) {
		map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			return fail("mmap rw", 0, 0);
		for (int k = 0; k < 8192; k++)
			map[k] = model[k] = (unsigned char)(k * 7 + 3);
		if (msync(map, 8192, MS_SYNC) != 0)
			return fail("msync", 0, 0);
		munmap(map, 8192);
	}
	/* Concurrent readers from other processes. */
	for (int r = 0; r < 4; r++) {
		if (fork() == 0) {
			int rfd = open(path, O_RDONLY);
			for (int k = 0; k < 200; k++) {
				size_t off =
				    (size_t)(k * 977 + r * 31) % (model_size ? model_size : 1);
				if (rfd < 0 || check_range(rfd, off, 4096))
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int r = 0; r < 4; r++) {
		int st;
		wait(&st);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return fail("a concurrent reader saw wrong data", r, st);
	}
	close(fd);
	printf("xorcheck: %d operations, final size %zu, all bytes as written\n", ops, model_size);
	return 0;
}
