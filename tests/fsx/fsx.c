/* fsx: a file-system exerciser: random I/O on one file, every byte read checked against a model. */
#include "xorview.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "driver_rng.h"

/*
 * One file, opened read-write, and a model of what it must hold.  Each operation is drawn from
 * a seeded generator: pread, pwrite, mmap read, mmap write, ftruncate, hole punching
 * (fallocate PUNCH_HOLE|KEEP_SIZE), fsync, close and reopen, and a whole-file check.  Every
 * byte read is compared with the model, and the size with fstat after each operation that can
 * change it.  On the first difference it prints the offsets, both byte sequences, and the tail
 * of the operation log, then exits 1.  With -B it also compares, at the end, the file as stored
 * on the backing directory with the xorcrypt transform undone (-K names the key).
 */

enum op_kind {
	OP_READ,
	OP_WRITE,
	OP_MAPREAD,
	OP_MAPWRITE,
	OP_TRUNCATE,
	OP_PUNCH,
	OP_FSYNC,
	OP_REOPEN,
	OP_CHECK,
	OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
    "read", "write", "mapread", "mapwrite", "truncate", "punch", "fsync", "reopen", "check",
};

/* Relative weights of the operations; a disabled one gets 0. */
static unsigned int weights[OP_COUNT] = {25, 25, 10, 10, 8, 8, 2, 2, 1};

struct logent {
	unsigned long n;
	enum op_kind kind;
	uint64_t off, len, size_before;
};

#define LOG_RING 4096
#define LOG_TAIL 40

static struct logent oplog[LOG_RING];
static unsigned long nops;

static const char *path;
static const char *backing;
static const char *key = XORVIEW_DEFAULT_KEY;
static unsigned char *model, *buf, *wbuf;
static uint64_t model_size, max_len = 256 * 1024, max_op = 64 * 1024;
static int fd = -1;
static long page;
static bool quiet;
static unsigned long count[OP_COUNT], skipped_punch;

static void log_tail(void)
{
	unsigned long first = nops > LOG_TAIL ? nops - LOG_TAIL : 0;

	fprintf(stderr, "fsx: last %lu operations (n kind off len size-before):\n", nops - first);
	for (unsigned long i = first; i < nops; i++) {
		const struct logent *e = &oplog[i % LOG_RING];

		fprintf(stderr, "  %8lu %-8s 0x%-8" PRIx64 " 0x%-6" PRIx64 " 0x%" PRIx64 "\n", e->n,
			op_names[e->kind], e->off, e->len, e->size_before);
	}
}

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	fprintf(stderr, "fsx: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (errno %d: %s)\n", e, strerror(e));
	log_tail();
	exit(1);
}

static void dump(const char *what, const unsigned char *p, uint64_t base, uint64_t at, uint64_t n)
{
	uint64_t from = at > 8 ? at - 8 : 0, to = at + 24 < n ? at + 24 : n;

	fprintf(stderr, "  %-8s @0x%" PRIx64 ":", what, base + from);
	for (uint64_t i = from; i < to; i++)
		fprintf(stderr, "%s%02x", i == at ? " [" : " ", p[i]);
	fprintf(stderr, "\n");
}

/* Compare n bytes read at off with the model; report and exit on the first difference. */
static void compare(const char *how, const unsigned char *got, uint64_t off, uint64_t n)
{
	uint64_t i;

	if (memcmp(got, model + off, n) == 0)
		return;
	for (i = 0; i < n && got[i] == model[off + i]; i++)
		;
	fprintf(stderr,
		"fsx: MISMATCH (%s) at offset 0x%" PRIx64 " (op %lu, range 0x%" PRIx64 "+0x%" PRIx64
		", file size 0x%" PRIx64 ")\n",
		how, off + i, nops, off, n, model_size);
	dump("expected", model + off, off, i, n);
	dump("got", got, off, i, n);
	log_tail();
	exit(1);
}

static void check_size(void)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		die("fstat");
	if ((uint64_t)st.st_size != model_size) {
		fprintf(stderr,
			"fsx: SIZE MISMATCH: fstat says 0x%" PRIx64 ", model 0x%" PRIx64 "\n",
			(uint64_t)st.st_size, model_size);
		log_tail();
		exit(1);
	}
}

static void do_read(uint64_t off, uint64_t len)
{
	ssize_t got;
	uint64_t want;

	if (off >= model_size)
		want = 0;
	else
		want = off + len > model_size ? model_size - off : len;
	got = pread(fd, buf, len, (off_t)off);
	if (got < 0)
		die("pread 0x%" PRIx64 "+0x%" PRIx64, off, len);
	if ((uint64_t)got != want) {
		errno = 0;
		die("short pread 0x%" PRIx64 "+0x%" PRIx64 ": %zd bytes, want %" PRIu64, off, len,
		    got, want);
	}
	compare("read", buf, off, want);
}

static void grow_model(uint64_t size)
{
	if (size > model_size)
		memset(model + model_size, 0, size - model_size);
	model_size = size;
}

static void do_write(uint64_t off, uint64_t len)
{
	ssize_t n;

	for (uint64_t i = 0; i < len; i++)
		wbuf[i] = (unsigned char)next();
	n = pwrite(fd, wbuf, len, (off_t)off);
	if (n < 0 || (uint64_t)n != len)
		die("pwrite 0x%" PRIx64 "+0x%" PRIx64 " returned %zd", off, len, n);
	if (off + len > model_size)
		grow_model(off + len);
	memcpy(model + off, wbuf, len);
}

static void do_truncate(uint64_t size)
{
	if (ftruncate(fd, (off_t)size) < 0)
		die("ftruncate 0x%" PRIx64, size);
	grow_model(size);
}

static void do_mapread(uint64_t off, uint64_t len)
{
	uint64_t base, delta;
	unsigned char *p;

	if (model_size == 0)
		return;
	off %= model_size;
	if (off + len > model_size)
		len = model_size - off;
	base = off & ~(uint64_t)(page - 1);
	delta = off - base;
	p = mmap(NULL, len + delta, PROT_READ, MAP_SHARED, fd, (off_t)base);
	if (p == MAP_FAILED)
		die("mmap read 0x%" PRIx64 "+0x%" PRIx64, off, len);
	compare("mapread", p + delta, off, len);
	if (munmap(p, len + delta) < 0)
		die("munmap");
}

static void do_mapwrite(uint64_t off, uint64_t len)
{
	uint64_t base, delta;
	unsigned char *p;

	/* A mapping cannot extend a file: grow it first, as a program would. */
	if (off + len > model_size)
		do_truncate(off + len);
	base = off & ~(uint64_t)(page - 1);
	delta = off - base;
	p = mmap(NULL, len + delta, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)base);
	if (p == MAP_FAILED)
		die("mmap write 0x%" PRIx64 "+0x%" PRIx64, off, len);
	for (uint64_t i = 0; i < len; i++)
		p[delta + i] = (unsigned char)next();
	memcpy(model + off, p + delta, len);
	/* Half the time the dirty pages go down now, otherwise when the kernel decides. */
	if ((next() & 1) && msync(p, len + delta, MS_SYNC) < 0)
		die("msync");
	if (munmap(p, len + delta) < 0)
		die("munmap");
}

static void do_punch(uint64_t off, uint64_t len)
{
	if (model_size == 0)
		return;
	off %= model_size;
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0) {
		if (errno == EOPNOTSUPP && count[OP_PUNCH] == 0) {
			/* The first punch tells whether the file system can; no model change. */
			fprintf(stderr, "fsx: hole punching not supported here; disabled\n");
			weights[OP_PUNCH] = 0;
			skipped_punch++;
			return;
		}
		die("fallocate punch 0x%" PRIx64 "+0x%" PRIx64, off, len);
	}
	if (off + len > model_size)
		len = model_size - off;
	memset(model + off, 0, len);
}

static void open_file(int flags)
{
	fd = open(path, O_RDWR | flags, 0644);
	if (fd < 0)
		die("open %s", path);
}

static void do_reopen(void)
{
	if (close(fd) < 0)
		die("close");
	open_file(0);
}

static void do_check(void)
{
	uint64_t off = 0;

	check_size();
	while (off < model_size) {
		uint64_t n = model_size - off > max_op ? max_op : model_size - off;

		do_read(off, n);
		off += n;
	}
	/* And nothing past the end. */
	if (pread(fd, buf, 1, (off_t)model_size) != 0)
		die("read past the end returned data");
}

/* Compare the backing file, transform undone, with the model. */
static int check_backing(void)
{
	int bfd = open(backing, O_RDONLY);
	struct stat st;
	uint64_t off = 0;

	if (bfd < 0 || fstat(bfd, &st) < 0)
		die("backing file %s", backing);
	if ((uint64_t)st.st_size != model_size) {
		fprintf(stderr,
			"fsx: BACKING SIZE MISMATCH: %s holds 0x%" PRIx64 " bytes, model 0x%" PRIx64
			"\n",
			backing, (uint64_t)st.st_size, model_size);
		return 1;
	}
	while (off < model_size) {
		uint64_t n = model_size - off > max_op ? max_op : model_size - off;
		ssize_t got = pread(bfd, buf, n, (off_t)off);

		if (got < 0 || (uint64_t)got != n)
			die("pread backing 0x%" PRIx64, off);
		xorview_decode(buf, n, off, key);
		compare("backing", buf, off, n);
		off += n;
	}
	close(bfd);
	return 0;
}

static enum op_kind pick(void)
{
	return (enum op_kind)weighted_pick(weights, OP_COUNT, OP_READ);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: fsx [-N ops] [-S seed] [-l maxlen] [-o maxoplen] [-M] [-H] [-q]\n"
		"           [-B backing-file [-K key]] FILE\n"
		"  -N ops      operations to run (default 10000)\n"
		"  -S seed     generator seed (default: time; printed)\n"
		"  -l maxlen   largest file size (default 262144)\n"
		"  -o maxoplen largest read/write/punch (default 65536)\n"
		"  -M          no mmap reads or writes\n"
		"  -H          no hole punching\n"
		"  -B file     at the end, compare this backing file (xorcrypt undone) too\n"
		"  -K key      the xorcrypt key (default \"" XORVIEW_DEFAULT_KEY "\")\n"
		"  -q          no progress lines\n");
	exit(2);
}

static uint64_t number(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || end == s) {
		fprintf(stderr, "fsx: not a number: %s\n", s);
		usage();
	}
	return v;
}

int main(int argc, char **argv)
{
	unsigned long total = 10000;
	uint64_t seed = 0;
	bool seeded = false;
	struct timespec t0, t1;
	double secs;
	int c;

	while ((c = getopt(argc, argv, "N:S:l:o:MHB:K:q")) != -1) {
		switch (c) {
		case 'N':
			total = (unsigned long)number(optarg);
			break;
		case 'S':
			seed = number(optarg);
			seeded = true;
			break;
		case 'l':
			max_len = number(optarg);
			break;
		case 'o':
			max_op = number(optarg);
			break;
		case 'M':
			weights[OP_MAPREAD] = weights[OP_MAPWRITE] = 0;
			break;
		case 'H':
			weights[OP_PUNCH] = 0;
			break;
		case 'B':
			backing = optarg;
			break;
		case 'K':
			key = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		default:
			usage();
		}
	}
	if (optind + 1 != argc)
		usage();
	if (max_len == 0 || max_op == 0 || max_op > max_len || max_len > (1ull << 30) || !*key) {
		fprintf(stderr, "fsx: need 0 < maxoplen <= maxlen <= 1 GiB and a non-empty key\n");
		return 2;
	}
	path = argv[optind];
	if (!seeded) {
		struct timeval tv;

		gettimeofday(&tv, NULL);
		seed = (uint64_t)tv.tv_sec * 1000003u ^ (uint64_t)tv.tv_usec ^ (uint64_t)getpid();
	}
	rng = seed ? seed : 1;
	page = sysconf(_SC_PAGESIZE);
	model = calloc(1, max_len + max_op);
	buf = malloc(max_op);
	wbuf = malloc(max_op);
	if (!model || !buf || !wbuf) {
		fprintf(stderr, "fsx: out of memory\n");
		return 1;
	}
	printf("fsx: %s: seed %" PRIu64 ", %lu operations, maxlen %" PRIu64 ", maxoplen %" PRIu64
	       "\n",
	       path, seed, total, max_len, max_op);
	fflush(stdout);
	open_file(O_CREAT | O_TRUNC);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (nops = 0; nops < total;) {
		enum op_kind k = pick();
		uint64_t off = below(max_len), len = 1 + below(max_op);
		struct logent *e = &oplog[nops % LOG_RING];

		if (off + len > max_len)
			len = max_len - off;
		if (len == 0)
			len = 1, off = max_len - 1;
		if (k == OP_TRUNCATE)
			off = below(max_len + 1), len = 0;
		*e = (struct logent){nops + 1, k, off, len, model_size};
		nops++;
		count[k]++;
		switch (k) {
		case OP_READ:
			do_read(off, len);
			break;
		case OP_WRITE:
			do_write(off, len);
			break;
		case OP_MAPREAD:
			do_mapread(off, len);
			break;
		case OP_MAPWRITE:
			do_mapwrite(off, len);
			break;
		case OP_TRUNCATE:
			do_truncate(off);
			break;
		case OP_PUNCH:
			do_punch(off, len);
			break;
		case OP_FSYNC:
			if (fsync(fd) < 0)
				die("fsync");
			break;
		case OP_REOPEN:
			do_reopen();
			break;
		case OP_CHECK:
			do_check();
			break;
		default:
			break;
		}
		if (k == OP_WRITE || k == OP_TRUNCATE || k == OP_MAPWRITE)
			check_size();
		if (!quiet && nops % 100000 == 0) {
			printf("fsx: %lu operations\n", nops);
			fflush(stdout);
		}
	}
	do_check();
	if (fsync(fd) < 0 || close(fd) < 0)
		die("fsync/close at the end");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (backing && check_backing())
		return 1;
	printf("fsx: %lu operations, 0 mismatches, %.1f s (", nops, secs);
	for (int i = 0; i < OP_COUNT; i++)
		printf("%s%s %lu", i ? ", " : "", op_names[i], count[i]);
	printf(")%s%s\n", backing ? "; backing file matches" : "",
	       skipped_punch ? "; hole punching unsupported" : "");
	return 0;
}
