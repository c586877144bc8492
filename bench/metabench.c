/* Metadata workload: create+write 4 KiB+close, stat, open+read+close, unlink of N small files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FILE_SIZE 4096

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void name_of(char *buf, size_t cap, const char *dir, long i)
{
	snprintf(buf, cap, "%s/f%07ld", dir, i);
}

static int fail(const char *what, const char *path)
{
	fprintf(stderr, "metabench: %s %s: %s\n", what, path, strerror(errno));
	return 1;
}

/*
 * With METABENCH_MARKERS set, a lookup of "<dir>/.bench-phase-<phase>" (which does not exist)
 * before each phase and at the end: a tracer of the file system's server sees the name in
 * the LOOKUP request and can split its requests by phase.
 */
static void marker(const char *dir, const char *phase)
{
	char path[4096];
	struct stat st;

	if (!getenv("METABENCH_MARKERS"))
		return;
	snprintf(path, sizeof(path), "%s/.bench-phase-%s", dir, phase);
	(void)stat(path, &st);
}

static void report(const char *label, const char *phase, long n, double secs)
{
	printf("bench: meta_%s_%s %.0f files/s\n", label, phase, secs > 0 ? (double)n / secs : 0.0);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	char path[4096];
	static char buf[FILE_SIZE];
	struct stat st;
	double t0;
	long n, i;

	if (argc != 4) {
		fprintf(stderr, "usage: metabench DIR NFILES LABEL\n");
		return 2;
	}
	n = strtol(argv[2], NULL, 10);
	if (n <= 0)
		return 2;
	memset(buf, 'b', sizeof(buf));

	marker(argv[1], "create");
	t0 = now_s();
	for (i = 0; i < n; i++) {
		int fd;
		name_of(path, sizeof(path), argv[1], i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			return fail("create", path);
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			close(fd);
			return fail("write", path);
		}
		if (close(fd))
			return fail("close", path);
	}
	report(argv[3], "create", n, now_s() - t0);

	marker(argv[1], "stat");
	t0 = now_s();
	for (i = 0; i < n; i++) {
		name_of(path, sizeof(path), argv[1], i);
		if (stat(path, &st))
			return fail("stat", path);
		if (st.st_size != FILE_SIZE) {
			errno = EIO;
			return fail("size of", path);
		}
	}
	report(argv[3], "stat", n, now_s() - t0);

	marker(argv[1], "openread");
	t0 = now_s();
	for (i = 0; i < n; i++) {
		int fd;
		name_of(path, sizeof(path), argv[1], i);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return fail("open", path);
		if (read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			close(fd);
			return fail("read", path);
		}
		if (close(fd))
			return fail("close", path);
	}
	report(argv[3], "openread", n, now_s() - t0);

	marker(argv[1], "unlink");
	t0 = now_s();
	for (i = 0; i < n; i++) {
		name_of(path, sizeof(path), argv[1], i);
		if (unlink(path))
			return fail("unlink", path);
	}
	report(argv[3], "unlink", n, now_s() - t0);
	marker(argv[1], "end");
	return 0;
}
