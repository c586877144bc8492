/* stress: many processes of mixed file operations on one directory, each checked against a model. */
#include "../fsx/xorview.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "driver_rng.h"

/*
 * The parent forks -j workers (default 64) on DIR and waits, at most -t seconds plus a grace
 * period; a worker still running then is reported as hung and every worker is killed.
 *
 * Each worker owns SLOTS files named "wNN.sK.a" or "wNN.sK.b" (a rename toggles the letter,
 * or moves a file over another of its slots) and one directory "wNN.d", and keeps a model of
 * them: existence, name, contents, user xattrs.  It runs random operations -- create (O_EXCL),
 * write, append, read, truncate, rename, unlink, mkdir/rmdir, readdir, stat, xattrs, fcntl and
 * flock locks, fsync -- and checks each result against the model, including the errors the
 * backing file system gives (EEXIST, ENOENT, ENODATA).  Any other outcome is reported with
 * the worker's operation log tail and fails the run.  Readdir sees every worker's files and
 * checks only the worker's own.
 *
 * Shared state is exercised too: every worker increments a counter file under an fcntl
 * write lock (F_SETLKW, so workers wait on each other through the volume); at the end the
 * counter must equal the sum of the increments.
 *
 * At the end each worker checks its files through the volume, and with -B (the same
 * directory on the backing store) the stored bytes with xorcrypt's transform undone (-K key),
 * or as they are with -P (no transform).
 */

#define SLOTS 6
#define FMAX (64 * 1024)
#define WMAX (16 * 1024)
#define NXA 2
#define XAMAX 48
#define LOG_RING 64
#define MAX_WORKERS 256

enum op {
	OP_CREATE,
	OP_WRITE,
	OP_APPEND,
	OP_READ,
	OP_TRUNCATE,
	OP_RENAME,
	OP_UNLINK,
	OP_MKDIR,
	OP_READDIR,
	OP_STAT,
	OP_XATTR,
	OP_LOCK,
	OP_COUNTER,
	OP_FSYNC,
	OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
    "create", "write",	 "append", "read",  "truncate", "rename",  "unlink",
    "mkdir",  "readdir", "stat",   "xattr", "lock",	"counter", "fsync",
};
static unsigned int weights[OP_COUNT] = {8, 14, 5, 14, 6, 8, 5, 2, 4, 6, 8, 5, 4, 2};

struct slot {
	bool exists;
	int variant; /* 0: ".a", 1: ".b" */
	size_t size;
	unsigned char data[FMAX];
	struct {
		bool set;
		size_t len;
		char val[XAMAX];
	} xa[NXA];
};

/* One worker's record in memory shared with the parent. */
struct wstat {
	volatile int done;  /* 1 finished cleanly, 2 failed */
	volatile long ops;  /* operations so far (progress) */
	volatile long incs; /* counter increments */
	long per_op[OP_COUNT];
};

static const char *dir, *backing, *key = XORVIEW_DEFAULT_KEY;
static bool plain_backing, use_xattr = true, use_locks = true;
static int nworkers = 64;
static double seconds = 60;
static long maxops;
static uint64_t seed;
static struct wstat *shared;

/* Worker state. */
static int me;
static struct slot slots[SLOTS];
static bool dir_exists;
static unsigned char rbuf[FMAX + 1], wbuf[WMAX];
static struct {
	enum op op;
	int slot;
	long a, b;
} oplog[LOG_RING];
static long nops;

static void name_of(char *out, size_t cap, const char *base, int s, int variant)
{
	snprintf(out, cap, "%s/w%02d.s%d.%c", base, me, s, variant ? 'b' : 'a');
}

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;
	int e = errno;
	long first = nops > 16 ? nops - 16 : 0;

	flockfile(stderr);
	fprintf(stderr, "stress: worker %d (pid %d, seed %" PRIu64 "): ", me, (int)getpid(), seed);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " [errno %d: %s]\n  last operations:", e, strerror(e));
	for (long i = first; i < nops; i++)
		fprintf(stderr, " %s(s%d,%ld,%ld)", op_names[oplog[i % LOG_RING].op],
			oplog[i % LOG_RING].slot, oplog[i % LOG_RING].a, oplog[i % LOG_RING].b);
	fprintf(stderr, "\n");
	funlockfile(stderr);
	shared[me].done = 2;
	_exit(1);
}

/* The call must fail with exactly `want`. */
#define EXPECT_ERR(call, want, ...)                                                                \
	do {                                                                                       \
		errno = 0;                                                                         \
		if ((call) >= 0 || errno != (want))                                                \
			fail(__VA_ARGS__);                                                         \
	} while (0)

static void fill(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)next();
}

static int open_slot(int s, int flags)
{
	char p[4096];

	name_of(p, sizeof(p), dir, s, slots[s].variant);
	return open(p, flags | O_CLOEXEC, 0644);
}

static void write_all(int fd, const unsigned char *p, size_t n, off_t off, const char *what)
{
	ssize_t w = pwrite(fd, p, n, off);

	if (w < 0 || (size_t)w != n)
		fail("%s: pwrite %zu at %lld returned %zd", what, n, (long long)off, w);
}

static void model_write(struct slot *sl, const unsigned char *p, size_t n, size_t off)
{
	if (off > sl->size)
		memset(sl->data + sl->size, 0, off - sl->size);
	memcpy(sl->data + off, p, n);
	if (off + n > sl->size)
		sl->size = off + n;
}

/* Read the whole file through fd and compare with the model. */
static void check_contents(int fd, const struct slot *sl, int s, const char *what)
{
	size_t got = 0;
	ssize_t n;
	struct stat st;

	while ((n = pread(fd, rbuf + got, sizeof(rbuf) - got, (off_t)got)) > 0)
		got += (size_t)n;
	if (n < 0)
		fail("%s s%d: read", what, s);
	if (got != sl->size)
		fail("%s s%d: read %zu bytes, model has %zu", what, s, got, sl->size);
	if (memcmp(rbuf, sl->data, got) != 0) {
		size_t i = 0;

		while (rbuf[i] == sl->data[i])
			i++;
		errno = 0;
		fail("%s s%d: contents differ at offset %zu (got %02x, want %02x)", what, s, i,
		     rbuf[i], sl->data[i]);
	}
	if (fstat(fd, &st) < 0)
		fail("%s s%d: fstat", what, s);
	if ((size_t)st.st_size != sl->size || !S_ISREG(st.st_mode))
		fail("%s s%d: fstat size %lld, model %zu", what, s, (long long)st.st_size,
		     sl->size);
}

static void op_create(int s)
{
	struct slot *sl = &slots[s];
	int fd;

	if (sl->exists) {
		EXPECT_ERR(open_slot(s, O_CREAT | O_EXCL | O_WRONLY), EEXIST,
			   "create s%d: O_EXCL on an existing file", s);
		return;
	}
	if (below(2))
		sl->variant = (int)below(2);
	fd = open_slot(s, O_CREAT | O_EXCL | O_WRONLY);
	if (fd < 0)
		fail("create s%d", s);
	sl->exists = true;
	sl->size = 0;
	memset(sl->xa, 0, sizeof(sl->xa));
	if (below(3)) {
		size_t n = 1 + below(8192);

		fill(wbuf, n);
		write_all(fd, wbuf, n, 0, "create");
		model_write(sl, wbuf, n, 0);
	}
	if (close(fd) < 0)
		fail("create s%d: close", s);
}

static void op_write(int s, bool append)
{
	struct slot *sl = &slots[s];
	size_t n = 1 + below(WMAX), off;
	int fd;

	if (!sl->exists) {
		EXPECT_ERR(open_slot(s, O_WRONLY), ENOENT, "write s%d: open of a missing file", s);
		return;
	}
	if (append) {
		if (sl->size + n > FMAX)
			n = FMAX - sl->size;
		if (n == 0)
			return;
		off = sl->size;
	} else {
		off = below(FMAX - n + 1);
	}
	fd = open_slot(s, append ? O_WRONLY | O_APPEND : O_WRONLY);
	if (fd < 0)
		fail("write s%d: open", s);
	fill(wbuf, n);
	if (append) {
		ssize_t w = write(fd, wbuf, n);

		if (w < 0 || (size_t)w != n)
			fail("append s%d: write %zu returned %zd", s, n, w);
	} else {
		write_all(fd, wbuf, n, (off_t)off, "write");
	}
	model_write(sl, wbuf, n, off);
	if (close(fd) < 0)
		fail("write s%d: close", s);
	oplog[nops % LOG_RING].a = (long)off;
	oplog[nops % LOG_RING].b = (long)n;
}

static void op_read(int s)
{
	int fd;

	if (!slots[s].exists) {
		EXPECT_ERR(open_slot(s, O_RDONLY), ENOENT, "read s%d: open of a missing file", s);
		return;
	}
	fd = open_slot(s, O_RDONLY);
	if (fd < 0)
		fail("read s%d: open", s);
	check_contents(fd, &slots[s], s, "read");
	close(fd);
}

static void op_truncate(int s)
{
	struct slot *sl = &slots[s];
	char p[4096];
	size_t n = below(FMAX + 1);

	name_of(p, sizeof(p), dir, s, sl->variant);
	if (!sl->exists) {
		EXPECT_ERR(truncate(p, (off_t)n), ENOENT, "truncate s%d: missing file", s);
		return;
	}
	if (below(2)) {
		if (truncate(p, (off_t)n) < 0)
			fail("truncate s%d to %zu", s, n);
	} else {
		int fd = open_slot(s, O_WRONLY);

		if (fd < 0 || ftruncate(fd, (off_t)n) < 0)
			fail("ftruncate s%d to %zu", s, n);
		close(fd);
	}
	if (n > sl->size)
		memset(sl->data + sl->size, 0, n - sl->size);
	sl->size = n;
	oplog[nops % LOG_RING].a = (long)n;
}

static void op_rename(int s)
{
	struct slot *sl = &slots[s];
	char from[4096], to[4096];
	int t = (int)below(SLOTS);

	name_of(from, sizeof(from), dir, s, sl->variant);
	if (!sl->exists) {
		name_of(to, sizeof(to), dir, s, !sl->variant);
		EXPECT_ERR(rename(from, to), ENOENT, "rename s%d: missing source", s);
		return;
	}
	if (t != s && slots[t].exists && below(2)) {
		/* Over another of our files: the target's name now holds the source's inode. */
		name_of(to, sizeof(to), dir, t, slots[t].variant);
		if (rename(from, to) < 0)
			fail("rename s%d over s%d", s, t);
		int v = slots[t].variant;
		memcpy(&slots[t], sl, sizeof(*sl));
		slots[t].variant = v;
		sl->exists = false;
		oplog[nops % LOG_RING].a = t;
		return;
	}
	name_of(to, sizeof(to), dir, s, !sl->variant);
	if (rename(from, to) < 0)
		fail("rename s%d", s);
	sl->variant = !sl->variant;
}

static void op_unlink(int s)
{
	char p[4096];

	name_of(p, sizeof(p), dir, s, slots[s].variant);
	if (!slots[s].exists) {
		EXPECT_ERR(unlink(p), ENOENT, "unlink s%d: missing file", s);
		return;
	}
	if (unlink(p) < 0)
		fail("unlink s%d", s);
	slots[s].exists = false;
}

static void op_mkdir(void)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/w%02d.d", dir, me);
	if (dir_exists) {
		if (below(2)) {
			EXPECT_ERR(mkdir(p, 0755), EEXIST, "mkdir of an existing directory");
			return;
		}
		if (rmdir(p) < 0)
			fail("rmdir");
		dir_exists = false;
	} else {
		if (mkdir(p, 0755) < 0)
			fail("mkdir");
		dir_exists = true;
	}
}

static void op_readdir(void)
{
	bool seen[SLOTS][2] = {{false}}, seen_dir = false;
	char prefix[16];
	size_t plen = (size_t)snprintf(prefix, sizeof(prefix), "w%02d.", me);
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		fail("opendir");
	errno = 0;
	while ((e = readdir(d)) != NULL) {
		int s;
		char v;

		if (strncmp(e->d_name, prefix, plen) != 0)
			continue;
		if (strcmp(e->d_name + plen, "d") == 0) {
			if (seen_dir)
				fail("readdir: directory listed twice");
			seen_dir = true;
		} else if (sscanf(e->d_name + plen, "s%d.%c", &s, &v) == 2 && s >= 0 && s < SLOTS &&
			   (v == 'a' || v == 'b')) {
			if (seen[s][v == 'b'])
				fail("readdir: %s listed twice", e->d_name);
			seen[s][v == 'b'] = true;
		} else {
			errno = 0;
			fail("readdir: unexpected entry %s", e->d_name);
		}
		errno = 0;
	}
	if (errno)
		fail("readdir");
	closedir(d);
	if (seen_dir != dir_exists) {
		errno = 0;
		fail("readdir: directory %s, model says %s", seen_dir ? "listed" : "missing",
		     dir_exists ? "present" : "absent");
	}
	for (int s = 0; s < SLOTS; s++)
		for (int v = 0; v < 2; v++)
			if (seen[s][v] != (slots[s].exists && slots[s].variant == v)) {
				errno = 0;
				fail("readdir: s%d.%c %s", s, v ? 'b' : 'a',
				     seen[s][v] ? "listed but not in the model" : "missing");
			}
}

static void check_stat(const char *base, int s, const char *what)
{
	char p[4096];
	struct stat st;
	const struct slot *sl = &slots[s];

	for (int v = 0; v < 2; v++) {
		name_of(p, sizeof(p), base, s, v);
		if (sl->exists && sl->variant == v) {
			if (stat(p, &st) < 0)
				fail("%s s%d: stat %s", what, s, p);
			if ((size_t)st.st_size != sl->size || !S_ISREG(st.st_mode))
				fail("%s s%d: size %lld, model %zu", what, s, (long long)st.st_size,
				     sl->size);
		} else {
			EXPECT_ERR(stat(p, &st), ENOENT, "%s s%d: %s should not exist", what, s, p);
		}
	}
}

static void xa_name(char *out, int i)
{
	sprintf(out, "user.stress%d", i);
}

/* Check every user.stress* attribute of the slot through path p against the model. */
static void check_xattrs(const char *p, int s, const char *what)
{
	char list[1024], name[32], val[XAMAX + 1];
	ssize_t n = listxattr(p, list, sizeof(list));
	int listed[NXA] = {0};

	if (n < 0)
		fail("%s s%d: listxattr", what, s);
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1) {
		int k;

		if (sscanf(list + i, "user.stress%d", &k) == 1 && k >= 0 && k < NXA)
			listed[k]++;
	}
	for (int k = 0; k < NXA; k++) {
		xa_name(name, k);
		if (listed[k] != (slots[s].xa[k].set ? 1 : 0)) {
			errno = 0;
			fail("%s s%d: %s listed %d times, model %s", what, s, name, listed[k],
			     slots[s].xa[k].set ? "set" : "unset");
		}
		if (!slots[s].xa[k].set) {
			EXPECT_ERR(getxattr(p, name, val, sizeof(val)), ENODATA,
				   "%s s%d: getxattr of unset %s", what, s, name);
			continue;
		}
		n = getxattr(p, name, val, sizeof(val));
		if (n < 0)
			fail("%s s%d: getxattr %s", what, s, name);
		if ((size_t)n != slots[s].xa[k].len || memcmp(val, slots[s].xa[k].val, (size_t)n)) {
			errno = 0;
			fail("%s s%d: %s has a different value", what, s, name);
		}
	}
}

static void op_xattr(int s)
{
	struct slot *sl = &slots[s];
	char p[4096], name[32];
	int k = (int)below(NXA);

	name_of(p, sizeof(p), dir, s, sl->variant);
	xa_name(name, k);
	if (!sl->exists) {
		EXPECT_ERR(setxattr(p, name, "x", 1, 0), ENOENT, "setxattr s%d: missing file", s);
		return;
	}
	switch (below(4)) {
	case 0:
	case 1: {
		size_t n = 1 + below(XAMAX);

		for (size_t i = 0; i < n; i++)
			sl->xa[k].val[i] = (char)('a' + below(26));
		if (setxattr(p, name, sl->xa[k].val, n, 0) < 0)
			fail("setxattr s%d %s", s, name);
		sl->xa[k].set = true;
		sl->xa[k].len = n;
		break;
	}
	case 2:
		if (!sl->xa[k].set) {
			EXPECT_ERR(removexattr(p, name), ENODATA, "removexattr s%d: unset %s", s,
				   name);
			break;
		}
		if (removexattr(p, name) < 0)
			fail("removexattr s%d %s", s, name);
		sl->xa[k].set = false;
		break;
	default:
		check_xattrs(p, s, "xattr");
	}
}

static void op_lock(int s)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int fd;

	if (!slots[s].exists)
		return;
	fd = open_slot(s, O_RDWR);
	if (fd < 0)
		fail("lock s%d: open", s);
	fl.l_start = (off_t)below(FMAX);
	fl.l_len = (off_t)(1 + below(4096));
	if (fcntl(fd, F_SETLK, &fl) < 0)
		fail("lock s%d: F_SETLK on our own file", s);
	/* Our own lock never conflicts with us. */
	fl.l_type = F_WRLCK;
	if (fcntl(fd, F_GETLK, &fl) < 0 || fl.l_type != F_UNLCK)
		fail("lock s%d: F_GETLK reports a conflict with ourselves (type %d)", s, fl.l_type);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		fail("lock s%d: flock", s);
	if (flock(fd, LOCK_UN) < 0)
		fail("lock s%d: flock unlock", s);
	fl.l_type = F_UNLCK;
	if (fcntl(fd, F_SETLK, &fl) < 0)
		fail("lock s%d: unlock", s);
	close(fd);
}

/* Increment the shared counter under a blocking fcntl lock. */
static void op_counter(void)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	char p[4096];
	uint64_t v;
	int fd;

	snprintf(p, sizeof(p), "%s/counter", dir);
	fd = open(p, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fail("counter: open");
	while (fcntl(fd, F_SETLKW, &fl) < 0)
		if (errno != EINTR)
			fail("counter: F_SETLKW");
	if (pread(fd, &v, sizeof(v), 0) != (ssize_t)sizeof(v))
		fail("counter: read");
	v++;
	if (pwrite(fd, &v, sizeof(v), 0) != (ssize_t)sizeof(v))
		fail("counter: write");
	fl.l_type = F_UNLCK;
	if (fcntl(fd, F_SETLK, &fl) < 0)
		fail("counter: unlock");
	/* Close only after the increment is counted: close releases the lock anyway. */
	shared[me].incs++;
	close(fd);
}

static void op_fsync(int s)
{
	int fd;

	if (!slots[s].exists)
		return;
	fd = open_slot(s, O_RDONLY);
	if (fd < 0 || fsync(fd) < 0)
		fail("fsync s%d", s);
	close(fd);
}

static enum op pick(void)
{
	return (enum op)weighted_pick(weights, OP_COUNT, OP_READ);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Compare the backing copy of each file, transform undone, with the model. */
static void check_backing(void)
{
	for (int s = 0; s < SLOTS; s++) {
		const struct slot *sl = &slots[s];
		char p[4096];
		size_t got = 0;
		ssize_t n;
		int fd;

		/* Data may still be cached above the volume: push it down first. */
		if (sl->exists) {
			fd = open_slot(s, O_RDONLY);
			if (fd < 0 || fsync(fd) < 0)
				fail("final fsync s%d", s);
			close(fd);
		}
		check_stat(backing, s, "backing");
		if (!sl->exists)
			continue;
		name_of(p, sizeof(p), backing, s, sl->variant);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fail("backing s%d: open %s", s, p);
		while ((n = pread(fd, rbuf + got, sizeof(rbuf) - got, (off_t)got)) > 0)
			got += (size_t)n;
		close(fd);
		if (n < 0 || got != sl->size)
			fail("backing s%d: %zu bytes, model %zu", s, got, sl->size);
		if (!plain_backing)
			xorview_decode(rbuf, got, 0, key);
		if (memcmp(rbuf, sl->data, got) != 0) {
			size_t i = 0;

			while (rbuf[i] == sl->data[i])
				i++;
			errno = 0;
			fail("backing s%d: stored bytes differ at offset %zu", s, i);
		}
	}
}

static void final_check(void)
{
	char p[4096];

	for (int s = 0; s < SLOTS; s++) {
		check_stat(dir, s, "final");
		if (!slots[s].exists)
			continue;
		int fd = open_slot(s, O_RDONLY);

		if (fd < 0)
			fail("final s%d: open", s);
		check_contents(fd, &slots[s], s, "final");
		close(fd);
		if (use_xattr) {
			name_of(p, sizeof(p), dir, s, slots[s].variant);
			check_xattrs(p, s, "final");
		}
	}
	op_readdir();
	if (backing)
		check_backing();
}

static void worker(double deadline)
{
	rng = seed * 1000003u + (uint64_t)me * 7919u + 1;
	while (now() < deadline && (maxops == 0 || nops < maxops)) {
		enum op op = pick();
		int s = (int)below(SLOTS);

		oplog[nops % LOG_RING].op = op;
		oplog[nops % LOG_RING].slot = s;
		oplog[nops % LOG_RING].a = oplog[nops % LOG_RING].b = 0;
		switch (op) {
		case OP_CREATE:
			op_create(s);
			break;
		case OP_WRITE:
			op_write(s, false);
			break;
		case OP_APPEND:
			op_write(s, true);
			break;
		case OP_READ:
			op_read(s);
			break;
		case OP_TRUNCATE:
			op_truncate(s);
			break;
		case OP_RENAME:
			op_rename(s);
			break;
		case OP_UNLINK:
			op_unlink(s);
			break;
		case OP_MKDIR:
			op_mkdir();
			break;
		case OP_READDIR:
			op_readdir();
			break;
		case OP_STAT:
			check_stat(dir, s, "stat");
			break;
		case OP_XATTR:
			op_xattr(s);
			break;
		case OP_LOCK:
			op_lock(s);
			break;
		case OP_COUNTER:
			op_counter();
			break;
		case OP_FSYNC:
			op_fsync(s);
			break;
		default:
			break;
		}
		nops++;
		shared[me].ops = nops;
		shared[me].per_op[op]++;
	}
	final_check();
	shared[me].done = 1;
	_exit(0);
}

static uint64_t read_counter(const char *base, bool decode)
{
	char p[4096];
	uint64_t v = 0;
	int fd;

	snprintf(p, sizeof(p), "%s/counter", base);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, &v, sizeof(v), 0) != (ssize_t)sizeof(v)) {
		fprintf(stderr, "stress: cannot read %s: %s\n", p, strerror(errno));
		v = UINT64_MAX;
	} else if (decode) {
		xorview_decode((unsigned char *)&v, sizeof(v), 0, key);
	}
	if (fd >= 0)
		close(fd);
	return v;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: stress [-j workers] [-t seconds] [-n ops] [-s seed] [-X] [-L]\n"
		"              [-B backing-dir [-K key | -P]] DIR\n"
		"  -j N      worker processes (default 64, at most %d)\n"
		"  -t S      run time in seconds (default 60)\n"
		"  -n N      at most N operations per worker (default: no limit)\n"
		"  -s SEED   seed (default: time; printed)\n"
		"  -X        no xattr operations     -L  no lock operations\n"
		"  -B DIR    DIR as seen on the backing store: check the stored bytes at the end\n"
		"  -K KEY    xorcrypt's key (default \"" XORVIEW_DEFAULT_KEY "\")\n"
		"  -P        the backing stores plain bytes (no xorcrypt)\n",
		MAX_WORKERS);
	exit(2);
}

int main(int argc, char **argv)
{
	pid_t pids[MAX_WORKERS];
	double start, deadline, last = 0;
	uint64_t zero = 0, counter, incs = 0;
	long total = 0, per_op[OP_COUNT] = {0};
	int c, fd, failed = 0, running;
	char p[4096];

	while ((c = getopt(argc, argv, "j:t:n:s:XLB:K:P")) != -1) {
		switch (c) {
		case 'j':
			nworkers = atoi(optarg);
			break;
		case 't':
			seconds = atof(optarg);
			break;
		case 'n':
			maxops = atol(optarg);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'X':
			use_xattr = false;
			weights[OP_XATTR] = 0;
			break;
		case 'L':
			use_locks = false;
			weights[OP_LOCK] = weights[OP_COUNTER] = 0;
			break;
		case 'B':
			backing = optarg;
			break;
		case 'K':
			key = optarg;
			break;
		case 'P':
			plain_backing = true;
			break;
		default:
			usage();
		}
	}
	if (optind + 1 != argc || nworkers < 1 || nworkers > MAX_WORKERS || seconds <= 0 ||
	    maxops < 0 || !*key)
		usage();
	dir = argv[optind];
	if (!seed)
		seed = (uint64_t)time(NULL);
	shared = mmap(NULL, sizeof(*shared) * MAX_WORKERS, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		perror("stress: mmap");
		return 1;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "stress: mkdir %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(p, sizeof(p), "%s/counter", dir);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || pwrite(fd, &zero, sizeof(zero), 0) != (ssize_t)sizeof(zero) ||
	    close(fd) < 0) {
		fprintf(stderr, "stress: cannot create %s: %s\n", p, strerror(errno));
		return 1;
	}
	printf("stress: %d workers, %.0f s, seed %" PRIu64 ", on %s%s%s\n", nworkers, seconds, seed,
	       dir, backing ? ", backing " : "", backing ? backing : "");
	fflush(stdout);
	start = now();
	deadline = start + seconds;
	for (int w = 0; w < nworkers; w++) {
		pids[w] = fork();
		if (pids[w] < 0) {
			perror("stress: fork");
			for (int k = 0; k < w; k++)
				kill(pids[k], SIGKILL);
			return 1;
		}
		if (pids[w] == 0) {
			me = w;
			worker(deadline);
		}
	}
	/* Wait, with a watchdog: the final checks get 120 s after the deadline. */
	running = nworkers;
	while (running > 0) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid > 0) {
			running--;
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				failed++;
				if (WIFSIGNALED(status))
					fprintf(stderr,
						"stress: worker pid %d killed by signal %d\n",
						(int)pid, WTERMSIG(status));
			}
			continue;
		}
		if (now() > deadline + 120) {
			fprintf(stderr,
				"stress: HANG: %d workers still running 120 s after the "
				"deadline:",
				running);
			for (int w = 0; w < nworkers; w++)
				if (!shared[w].done)
					fprintf(stderr, " w%02d(pid %d, %ld ops)", w, (int)pids[w],
						shared[w].ops);
			fprintf(stderr, "\n");
			for (int w = 0; w < nworkers; w++)
				kill(pids[w], SIGKILL);
			/* A worker stuck in a file system request dies only once it is answered:
			 * give up on reaping after a while rather than hang here too. */
			for (int i = 0; i < 500 && waitpid(-1, NULL, WNOHANG) >= 0; i++)
				usleep(20000);
			return 1;
		}
		if (now() - last >= 10) {
			long sum = 0;

			for (int w = 0; w < nworkers; w++)
				sum += shared[w].ops;
			if (last > 0)
				printf("stress: %.0f s: %ld operations\n", now() - start, sum);
			fflush(stdout);
			last = now();
		}
		usleep(20000);
	}
	for (int w = 0; w < nworkers; w++) {
		total += shared[w].ops;
		incs += (uint64_t)shared[w].incs;
		for (int k = 0; k < OP_COUNT; k++)
			per_op[k] += shared[w].per_op[k];
	}
	if (use_locks) {
		/* Push the counter down to the backing store before it is read there. */
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) < 0)
			fprintf(stderr, "stress: fsync %s: %s\n", p, strerror(errno));
		if (fd >= 0)
			close(fd);
		counter = read_counter(dir, false);
		if (counter != incs) {
			fprintf(stderr,
				"stress: counter reads %" PRIu64 ", %" PRIu64
				" increments were made under the lock\n",
				counter, incs);
			failed++;
		}
		if (backing && read_counter(backing, !plain_backing) != incs) {
			fprintf(stderr, "stress: the backing counter differs from %" PRIu64 "\n",
				incs);
			failed++;
		}
	}
	printf("stress: %ld operations in %.1f s by %d workers, %d failed; counter %" PRIu64 " (",
	       total, now() - start, nworkers, failed, incs);
	for (int k = 0; k < OP_COUNT; k++)
		printf("%s%s %ld", k ? ", " : "", op_names[k], per_op[k]);
	printf(")\n");
	return failed ? 1 : 0;
}
