/*
 * manyops DIR NPROC NTHREADS: NPROC processes with NTHREADS threads each; thread number i (over
 * all processes) reads DIR/d<i>/held<i> when i is even (it must hold "payload\n") and unlinks
 * it when i is odd.  One directory each, because Linux holds a directory's lock while an
 * unlink in it waits for the file system.  All start together.  Prints "ok=N bad=M" (and one line per failure) and
 * exits 0 when every operation gave the expected outcome.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *dir;
static atomic_int ok_n, bad_n;
static pthread_barrier_t start;

static void *one(void *arg)
{
	long i = (long)arg;
	char path[4096], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/d%ld/held%ld", dir, i, i);
	pthread_barrier_wait(&start);
	if (i % 2) {
		if (unlink(path) == 0) {
			atomic_fetch_add(&ok_n, 1);
		} else {
			printf("unlink %s: %s\n", path, strerror(errno));
			atomic_fetch_add(&bad_n, 1);
		}
		return NULL;
	}
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("open %s: %s\n", path, strerror(errno));
		atomic_fetch_add(&bad_n, 1);
		return NULL;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n == 8 && memcmp(buf, "payload\n", 8) == 0) {
		atomic_fetch_add(&ok_n, 1);
	} else {
		printf("read %s: %zd bytes\n", path, n);
		atomic_fetch_add(&bad_n, 1);
	}
	return NULL;
}

static int child(long first, int nthreads)
{
	pthread_t *t = calloc((size_t)nthreads, sizeof(*t));
	pthread_attr_t a;
	int k, started = 0;

	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 * 1024);
	pthread_barrier_init(&start, NULL, (unsigned int)nthreads);
	for (k = 0; k < nthreads; k++) {
		if (pthread_create(&t[k], &a, one, (void *)(first + k)) != 0) {
			printf("pthread_create failed after %d threads\n", k);
			return 2;
		}
		started++;
	}
	for (k = 0; k < started; k++)
		pthread_join(t[k], NULL);
	printf("ok=%d bad=%d\n", atomic_load(&ok_n), atomic_load(&bad_n));
	fflush(stdout);
	return atomic_load(&bad_n) ? 1 : 0;
}

int main(int argc, char **argv)
{
	int nproc, nthreads, p, status, ok = 0, bad = 0, fds[2];
	FILE *in;
	char line[4200];

	if (argc != 4) {
		fprintf(stderr, "usage: manyops DIR NPROC NTHREADS\n");
		return 2;
	}
	dir = argv[1];
	nproc = atoi(argv[2]);
	nthreads = atoi(argv[3]);
	if (nproc <= 0 || nthreads <= 0 || pipe(fds) < 0)
		return 2;
	for (p = 0; p < nproc; p++) {
		pid_t pid = fork();

		if (pid < 0)
			return 2;
		if (pid == 0) {
			close(fds[0]);
			dup2(fds[1], 1);
			_exit(child((long)p * nthreads, nthreads));
		}
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	while (in && fgets(line, sizeof(line), in)) {
		int o, b;

		if (sscanf(line, "ok=%d bad=%d", &o, &b) == 2) {
			ok += o;
			bad += b;
		} else {
			fputs(line, stdout);
		}
	}
	while (wait(&status) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
			bad++;
	printf("ok=%d bad=%d\n", ok, bad);
	return bad ? 1 : 0;
}
