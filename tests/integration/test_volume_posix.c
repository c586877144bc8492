/* Integration: a volume with no filters behaves like the backing file system for POSIX callers. */
#include "core/core.h"
#include "core/registry.h"
#include "volume/volume.h"

#include "tap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <linux/falloc.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

/*
 * The script runs in a forked child with its working directory at the root under test and
 * writes one line per step ("step: rc errno extra") into a shared log; sections start with
 * "## name".  It runs once on the volume and once on a native directory; every section whose
 * lines differ is a failed test point, with the differing lines as diagnostics.
 */

#define LOG_CAP (1 << 20)

static char *logbuf;
static size_t loglen;
static char base[64], volpath[128], natpath[128];
static struct fm_vol *vol;

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(logbuf + loglen, LOG_CAP - loglen, fmt, ap);
	va_end(ap);
	if (n > 0 && loglen + (size_t)n < LOG_CAP)
		loglen += (size_t)n;
}

#define SECTION(name) logf_("## %s\n", name)
/* Log a call's result: return value (or -1) and errno when it failed. */
#define STEP(label, expr)                                                                          \
	do {                                                                                       \
		errno = 0;                                                                         \
		long step__r = (long)(expr);                                                       \
		logf_("%s: %ld %s\n", label, step__r < 0 ? -1L : step__r,                          \
		      step__r < 0 ? strerrorname_np(errno) : "-");                                 \
	} while (0)
/* As STEP but the value is only logged as ok / failed (descriptors differ). */
#define STEPOK(label, expr)                                                                        \
	do {                                                                                       \
		errno = 0;                                                                         \
		long step__r = (long)(expr);                                                       \
		logf_("%s: %s %s\n", label, step__r < 0 ? "fail" : "ok",                           \
		      step__r < 0 ? strerrorname_np(errno) : "-");                                 \
	} while (0)

static void log_stat(const char *label, const char *path, bool follow)
{
	struct stat st;
	int r = follow ? stat(path, &st) : lstat(path, &st);

	if (r < 0) {
		logf_("%s: stat %s\n", label, strerrorname_np(errno));
		return;
	}
	logf_("%s: mode=%o nlink=%lu uid=%u gid=%u size=%lld\n", label, st.st_mode,
	      (unsigned long)st.st_nlink, st.st_uid, st.st_gid,
	      S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size);
}

static void log_content(const char *label, const char *path)
{
	char buf[512];
	int fd = open(path, O_RDONLY);
	ssize_t n;
	size_t i;

	if (fd < 0) {
		logf_("%s: open %s\n", label, strerrorname_np(errno));
		return;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	logf_("%s: %zd [", label, n);
	for (i = 0; n > 0 && i < (size_t)n; i++)
		logf_("%02x", (unsigned char)buf[i]);
	logf_("]\n");
}

static int write_file(const char *path, const char *s, int flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -1 : (int)n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void log_dir(const char *label, const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char *names[512];
	size_t n = 0, i;

	if (!d) {
		logf_("%s: opendir %s\n", label, strerrorname_np(errno));
		return;
	}
	while ((e = readdir(d)) && n < 512) {
		char *s;

		if (asprintf(&s, "%s/%d", e->d_name, e->d_type) < 0)
			break;
		names[n++] = s;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	logf_("%s: %zu entries:", label, n);
	for (i = 0; i < n; i++) {
		size_t j;

		logf_(" ");
		for (j = 0; names[i][j]; j++) {
			unsigned char c = (unsigned char)names[i][j];

			if (c < 0x20 || c >= 0x7f)
				logf_("\\x%02x", c);
			else
				logf_("%c", c);
		}
		free(names[i]);
	}
	logf_("\n");
}

/* ---- the script ------------------------------------------------------------------------------ */

static void s_create(void)
{
	int fd;

	SECTION("create");
	fd = open("c1", O_WRONLY | O_CREAT | O_EXCL, 0640);
	STEPOK("open excl", fd);
	STEP("write", write(fd, "hello", 5));
	STEP("close", close(fd));
	STEPOK("open excl again", open("c1", O_WRONLY | O_CREAT | O_EXCL, 0640));
	log_stat("stat c1", "c1", false);
	log_content("content c1", "c1");
	fd = open("c1", O_RDWR | O_TRUNC);
	STEPOK("open trunc", fd);
	log_stat("stat after trunc", "c1", false);
	STEP("close", close(fd));
	fd = open("c1", O_WRONLY | O_APPEND);
	STEPOK("open append", fd);
	STEP("append 1", write(fd, "abc", 3));
	STEP("lseek 0", lseek(fd, 0, SEEK_SET));
	STEP("append 2", write(fd, "def", 3));
	STEP("close", close(fd));
	log_content("content after append", "c1");
	STEPOK("open missing", open("missing", O_RDONLY));
	STEPOK("open dir for write", open(".", O_WRONLY));
	STEPOK("open file as dir", open("c1", O_RDONLY | O_DIRECTORY));
	STEPOK("open under file", open("c1/x", O_RDONLY));
	fd = open("c2", O_RDWR | O_CREAT, 0600);
	STEPOK("open creat (no excl)", fd);
	STEP("close", close(fd));
	STEPOK("open creat existing", fd = open("c2", O_RDWR | O_CREAT, 0666));
	STEP("close", close(fd));
	log_stat("stat c2", "c2", false);
}

static void s_rw(void)
{
	char buf[200];
	int fd;

	SECTION("read-write");
	fd = open("rw", O_RDWR | O_CREAT, 0644);
	STEPOK("open", fd);
	STEP("pwrite 0", pwrite(fd, "0123456789", 10, 0));
	STEP("pwrite 100", pwrite(fd, "XYZ", 3, 100));
	memset(buf, 'q', sizeof(buf));
	STEP("pread 5", pread(fd, buf, 10, 5));
	logf_("data: %.5s %d %d\n", buf, buf[5], buf[9]);
	STEP("pread at eof", pread(fd, buf, 10, 103));
	STEP("pread past eof", pread(fd, buf, 10, 5000));
	STEP("pread across eof", pread(fd, buf, 50, 90));
	STEP("read seq", read(fd, buf, 4));
	STEP("read seq 2", read(fd, buf, 4));
	STEP("close", close(fd));
	log_stat("stat rw", "rw", false);
	fd = open("rw", O_RDONLY);
	STEP("write on rdonly", write(fd, "x", 1));
	STEP("close", close(fd));
	fd = open("rw", O_RDONLY);
	{
		/* Shared and private mappings of a file (executables are mapped). */
		char *m = mmap(NULL, 10, PROT_READ, MAP_SHARED, fd, 0);

		STEP("mmap shared", m == MAP_FAILED ? -1 : 0);
		if (m != MAP_FAILED) {
			logf_("mapped: %.10s\n", m);
			munmap(m, 10);
		}
		m = mmap(NULL, 10, PROT_READ, MAP_PRIVATE, fd, 0);
		STEP("mmap private", m == MAP_FAILED ? -1 : 0);
		if (m != MAP_FAILED) {
			logf_("mapped: %.10s\n", m);
			munmap(m, 10);
		}
	}
	STEP("close", close(fd));
	fd = open("big", O_RDWR | O_CREAT, 0644);
	{
		static char big[1 << 20];
		size_t i;
		long sum = 0;

		for (i = 0; i < sizeof(big); i++)
			big[i] = (char)(i * 7 + i / 4096);
		STEP("write 1M", write(fd, big, sizeof(big)));
		memset(big, 0, sizeof(big));
		STEP("pread 1M", pread(fd, big, sizeof(big), 0));
		for (i = 0; i < sizeof(big); i++)
			sum += (unsigned char)big[i] * (long)(i % 13 + 1);
		logf_("sum: %ld\n", sum);
	}
	STEP("close", close(fd));
}

static void s_stat(void)
{
	struct timespec ts[2] = {{1000000000, 123456700}, {1200000000, 987654300}};
	struct stat st;

	SECTION("stat");
	STEP("create", write_file("st", "12345", O_TRUNC));
	log_stat("stat", "st", false);
	STEP("utimensat", utimensat(AT_FDCWD, "st", ts, 0));
	if (stat("st", &st) == 0)
		logf_("times: %ld.%09ld %ld.%09ld\n", (long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
		      (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	{
		int fd = open("st", O_RDWR);
		struct timespec t2[2] = {{1300000000, 0}, {0, UTIME_OMIT}};

		STEP("futimens", futimens(fd, t2));
		if (fstat(fd, &st) == 0)
			logf_("ftimes: %ld.%09ld %ld.%09ld\n", (long)st.st_atim.tv_sec,
			      st.st_atim.tv_nsec, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
		if (fstat(fd, &st) == 0)
			logf_("fstat: mode=%o nlink=%lu size=%lld\n", st.st_mode,
			      (unsigned long)st.st_nlink, (long long)st.st_size);
		close(fd);
	}
	STEP("utimensat missing", utimensat(AT_FDCWD, "nope", ts, 0));
	{
		time_t before = time(NULL);

		STEP("utimes now", utimensat(AT_FDCWD, "st", NULL, 0));
		if (stat("st", &st) == 0)
			logf_("now ok: %d\n", st.st_mtim.tv_sec >= before - 1 &&
						  st.st_mtim.tv_sec <= time(NULL) + 1);
	}
}

static void s_truncate(void)
{
	SECTION("truncate");
	STEP("create", write_file("tr", "abcdefghijklmnop", O_TRUNC));
	STEP("truncate 10", truncate("tr", 10));
	log_stat("stat", "tr", false);
	{
		int fd = open("tr", O_RDWR);

		STEP("ftruncate 3", ftruncate(fd, 3));
		log_stat("stat", "tr", false);
		STEP("ftruncate 5000", ftruncate(fd, 5000));
		log_stat("stat", "tr", false);
		STEP("ftruncate 3", ftruncate(fd, 3));
		close(fd);
	}
	log_content("content", "tr");
	STEP("truncate missing", truncate("nope", 1));
	STEP("truncate dir", truncate(".", 1));
}

static void s_chmod(void)
{
	SECTION("chmod-chown");
	STEP("create", write_file("cm", "x", O_TRUNC));
	STEP("chmod 600", chmod("cm", 0600));
	log_stat("stat", "cm", false);
	STEP("chmod 4755", chmod("cm", 04755));
	log_stat("stat", "cm", false);
	STEP("chown nobody", chown("cm", 65534, 65534));
	log_stat("stat", "cm", false);
	STEP("chown gid only", chown("cm", (uid_t)-1, 0));
	log_stat("stat", "cm", false);
	STEP("chmod missing", chmod("nope", 0600));
	STEP("mkdir", mkdir("cmd", 0700));
	STEP("chmod dir", chmod("cmd", 0751));
	log_stat("stat dir", "cmd", false);
	/* IRP_MJ_SET_EA $LXMOD / $LXUID / $LXGID, by path and on an open handle. */
	STEP("chown both", chown("cm", 1000, 1001));
	log_stat("stat", "cm", false);
	STEP("chmod 2755", chmod("cm", 02755));
	STEP("chown uid keeps?", chown("cm", 1002, (gid_t)-1));
	log_stat("stat", "cm", false);
	{
		int fd = open("cm", O_RDWR);

		STEP("fchmod", fchmod(fd, 0604));
		STEP("fchown", fchown(fd, 0, 0));
		log_stat("stat", "cm", false);
		close(fd);
	}
	STEP("symlink", symlink("cm", "cml"));
	STEP("lchown symlink", lchown("cml", 65534, 65534));
	log_stat("stat link", "cml", false);
	log_stat("stat target", "cm", false);
	STEP("chmod through symlink", chmod("cml", 0600));
	log_stat("stat target", "cm", false);
	STEP("fchmodat nofollow symlink", fchmodat(AT_FDCWD, "cml", 0600, AT_SYMLINK_NOFOLLOW));
	STEP("chmod 07777", chmod("cm", 07777));
	log_stat("stat", "cm", false);
}

static void s_dirs(void)
{
	SECTION("dirs");
	STEP("mkdir", mkdir("d", 0755));
	STEP("mkdir again", mkdir("d", 0755));
	log_stat("stat d", "d", false);
	STEP("create d/f", write_file("d/f", "in d", 0));
	STEP("rmdir nonempty", rmdir("d"));
	STEP("unlink dir", unlink("d"));
	STEP("rmdir file", rmdir("d/f"));
	STEP("unlink d/f", unlink("d/f"));
	STEP("unlink d/f again", unlink("d/f"));
	STEP("rmdir d", rmdir("d"));
	STEP("rmdir d again", rmdir("d"));
	STEP("mkdir nested", mkdir("n1", 0777));
	STEP("mkdir nested 2", mkdir("n1/n2", 0700));
	STEP("mkdir missing parent", mkdir("zz/n2", 0700));
	log_stat("stat n1", "n1", false);
	log_stat("stat n1/n2", "n1/n2", false);
	STEP("chdir", chdir("n1/n2"));
	STEP("create here", write_file("inner", "deep", 0));
	STEP("chdir back", chdir("../.."));
	log_content("inner", "n1/n2/inner");
	STEP("unlink missing", unlink("nothing"));
	/* A directory name that names another directory after an rmdir or a rename. */
	STEP("mkdir reuse", mkdir("ru", 0755));
	STEP("create ru/x", write_file("ru/x", "x", 0));
	log_stat("stat ru/x", "ru/x", false);
	STEP("unlink ru/x", unlink("ru/x"));
	STEP("rmdir ru", rmdir("ru"));
	STEP("mkdir ru again", mkdir("ru", 0700));
	log_stat("stat ru/x in the new ru", "ru/x", false);
	STEP("create ru/y", write_file("ru/y", "yy", 0));
	log_stat("stat ru/y", "ru/y", false);
	/* Names missing in ru reach the volume every time: every worker looks into ru. */
	for (int i = 0; i < 32; i++) {
		char miss[32];

		snprintf(miss, sizeof(miss), "ru/missing%d", i);
		log_stat("stat a missing name in ru", miss, false);
	}
	STEP("rename ru -> rv", rename("ru", "rv"));
	STEP("mkdir ru a third time", mkdir("ru", 0750));
	/* Creations and opens by name land in the new ru, not in the one now called rv. */
	STEP("create ru/w after the rename", write_file("ru/w", "w", 0));
	log_stat("stat rv/w, not in the old ru", "rv/w", false);
	log_content("read ru/w", "ru/w");
	STEP("create rv/y2", write_file("rv/y2", "y2", 0));
	for (int i = 0; i < 8; i++)
		log_content("open ru/y2, in the old ru only", "ru/y2");
	log_content("read rv/y2", "rv/y2");
	log_stat("stat ru/y after the rename", "ru/y", false);
	for (int i = 0; i < 8; i++) {
		char name[32];

		snprintf(name, sizeof(name), "ru/missing%d", i);
		log_stat("stat a name the old ru has not", name, false);
	}
	STEP("create rv/z", write_file("rv/z", "z", 0));
	for (int i = 0; i < 8; i++)
		log_stat("stat ru/z, in the old ru only", "ru/z", false);
	log_stat("stat rv/y", "rv/y", false);
	log_stat("stat ru", "ru", false);
}

static void s_rename(void)
{
	SECTION("rename");
	STEP("create a", write_file("ra", "AAA", O_TRUNC));
	STEP("create b", write_file("rb", "BBBBB", O_TRUNC));
	STEP("rename a->b", rename("ra", "rb"));
	log_content("b", "rb");
	log_stat("a", "ra", false);
	STEP("create c", write_file("rc", "C", O_TRUNC));
	STEP("noreplace", renameat2(AT_FDCWD, "rc", AT_FDCWD, "rb", RENAME_NOREPLACE));
	STEP("noreplace free", renameat2(AT_FDCWD, "rc", AT_FDCWD, "rc2", RENAME_NOREPLACE));
	STEP("exchange", renameat2(AT_FDCWD, "rc2", AT_FDCWD, "rb", RENAME_EXCHANGE));
	log_content("rb", "rb");
	log_content("rc2", "rc2");
	STEP("mkdir d1", mkdir("rd1", 0755));
	STEP("mkdir d1/sub", mkdir("rd1/sub", 0755));
	STEP("create d1/sub/x", write_file("rd1/sub/x", "xx", 0));
	STEP("rename d1->d2", rename("rd1", "rd2"));
	log_content("d2/sub/x", "rd2/sub/x");
	log_content("d1/sub/x", "rd1/sub/x");
	STEP("rename into itself", rename("rd2", "rd2/sub/in"));
	STEP("rename file over dir", rename("rb", "rd2"));
	STEP("mkdir e", mkdir("re", 0755));
	STEP("rename dir over empty dir", rename("re", "rd2/sub2"));
	STEP("mkdir e", mkdir("re", 0755));
	STEP("rename dir over nonempty", rename("re", "rd2"));
	STEP("rename missing", rename("nothing", "x"));
	STEP("rename across dirs", rename("rc2", "rd2/sub/moved"));
	log_content("moved", "rd2/sub/moved");
	{
		/* An open file keeps working after its directory is renamed. */
		int fd = open("rd2/sub/x", O_RDWR);

		STEP("rename d2->d3 with open file", rename("rd2", "rd3"));
		STEP("write after rename", pwrite(fd, "yy", 2, 2));
		STEP("close", close(fd));
		log_content("d3/sub/x", "rd3/sub/x");
	}
	log_dir("rd3/sub", "rd3/sub");
	/* RENAME_EXCHANGE: FileRenameInformationEx with the volume's exchange flag. */
	STEP("exchange missing target",
	     renameat2(AT_FDCWD, "rb", AT_FDCWD, "nothing", RENAME_EXCHANGE));
	STEP("exchange missing source",
	     renameat2(AT_FDCWD, "nothing", AT_FDCWD, "rb", RENAME_EXCHANGE));
	STEP("exchange dir and file", renameat2(AT_FDCWD, "rd3", AT_FDCWD, "rb", RENAME_EXCHANGE));
	log_stat("rd3 is the file", "rd3", false);
	log_dir("rb is the dir", "rb/sub");
	STEP("exchange across dirs",
	     renameat2(AT_FDCWD, "rd3", AT_FDCWD, "rb/sub/moved", RENAME_EXCHANGE));
	log_content("rd3 now", "rd3");
	log_content("moved now", "rb/sub/moved");
	STEP("exchange with itself", renameat2(AT_FDCWD, "rd3", AT_FDCWD, "rd3", RENAME_EXCHANGE));
	STEP("exchange into own subdir",
	     renameat2(AT_FDCWD, "rb", AT_FDCWD, "rb/sub/x", RENAME_EXCHANGE));
	STEP("exchange and noreplace",
	     renameat2(AT_FDCWD, "rd3", AT_FDCWD, "rb", RENAME_EXCHANGE | RENAME_NOREPLACE));
	{
		/* An open handle follows its file through an exchange. */
		int fd = open("rd3", O_RDWR);

		STEP("exchange with open file",
		     renameat2(AT_FDCWD, "rd3", AT_FDCWD, "rb/sub/moved", RENAME_EXCHANGE));
		STEP("write after exchange", pwrite(fd, "EX", 2, 0));
		STEP("close", close(fd));
		log_content("moved after", "rb/sub/moved");
		log_content("rd3 after", "rd3");
	}
	STEP("rename dir over file", rename("rb", "rd3"));
}

static void s_readdir(void)
{
	int i;

	SECTION("readdir");
	STEP("mkdir", mkdir("ls", 0755));
	for (i = 0; i < 300; i++) {
		char name[64];

		snprintf(name, sizeof(name), "ls/file-with-a-longish-name-%03d", i);
		if (write_file(name, "", 0) < 0)
			logf_("create %s failed\n", name);
	}
	STEP("mkdir sub", mkdir("ls/sub", 0755));
	STEP("symlink", symlink("file-with-a-longish-name-000", "ls/link"));
	log_dir("ls", "ls");
	log_dir("empty", "n1/n2");
	{
		/* rewinddir and a second pass see the same. */
		DIR *d = opendir("ls");
		int n1 = 0, n2 = 0;

		while (d && readdir(d))
			n1++;
		if (d)
			rewinddir(d);
		while (d && readdir(d))
			n2++;
		if (d)
			closedir(d);
		logf_("passes: %d %d\n", n1, n2);
	}
	{
		/* seekdir to a telldir position resumes there. */
		DIR *d = opendir("ls");
		long pos = -1;
		int i2;
		char after[300] = "";
		struct dirent *e;

		for (i2 = 0; d && i2 < 100 && readdir(d); i2++)
			;
		if (d)
			pos = telldir(d);
		e = d ? readdir(d) : NULL;
		if (e)
			snprintf(after, sizeof(after), "%s", e->d_name);
		if (d) {
			for (i2 = 0; i2 < 50 && readdir(d); i2++)
				;
			seekdir(d, pos);
			e = readdir(d);
			logf_("seekdir same: %d\n", e && !strcmp(e->d_name, after));
			closedir(d);
		}
	}
}

static void s_symlink(void)
{
	char buf[256];
	ssize_t n;

	SECTION("symlink");
	STEP("create target", write_file("sl-target", "target data", O_TRUNC));
	STEP("symlink", symlink("sl-target", "sl"));
	STEP("symlink again", symlink("sl-target", "sl"));
	n = readlink("sl", buf, sizeof(buf) - 1);
	STEP("readlink", n);
	if (n >= 0) {
		buf[n] = '\0';
		logf_("target: %s\n", buf);
	}
	log_stat("lstat", "sl", false);
	log_stat("stat", "sl", true);
	log_content("through link", "sl");
	STEP("dangling", symlink("/nonexistent/abs", "sl-dangling"));
	n = readlink("sl-dangling", buf, sizeof(buf) - 1);
	STEP("readlink dangling", n);
	STEPOK("open dangling", open("sl-dangling", O_RDONLY));
	STEP("readlink on file", readlink("sl-target", buf, sizeof(buf)));
	STEP("unlink link", unlink("sl"));
	log_stat("target still", "sl-target", false);
	STEP("dir link", symlink("n1", "sl-dir"));
	log_content("via dir link", "sl-dir/n2/inner");
	/* Reparse points (FSCTL_SET/GET_REPARSE_POINT): long targets, special files. */
	{
		static char longt[4096], back[4096];

		memset(longt, 'x', 4000);
		memcpy(longt, "a/", 2);
		STEP("symlink 4000", symlink(longt, "sl-long"));
		n = readlink("sl-long", back, sizeof(back));
		STEP("readlink 4000", n);
		STEP("readlink 4000 same", n == 4000 && !memcmp(back, longt, 4000));
		STEP("readlink short buffer", readlink("sl-long", back, 10));
		memset(longt, 'y', 4095);
		STEP("symlink 4095", symlink(longt, "sl-4095"));
		STEP("readlink 4095", readlink("sl-4095", back, sizeof(back)));
	}
	STEP("symlink utf8 target", symlink("d\xc3\xa9j\xc3\xa0 vu/\xff\xfe", "sl-utf8"));
	n = readlink("sl-utf8", buf, sizeof(buf) - 1);
	STEP("readlink utf8", n);
	if (n >= 0)
		logf_("utf8 target bytes: %zd %02x %02x\n", n, (unsigned char)buf[n - 2],
		      (unsigned char)buf[n - 1]);
	STEP("symlink missing dir", symlink("t", "nodir/sl"));
	STEP("symlink over dir", symlink("t", "n1"));
	STEP("rename symlink", rename("sl-utf8", "sl-utf8b"));
	STEP("readlink renamed", readlink("sl-utf8b", buf, sizeof(buf)));
	STEP("lchown symlink", lchown("sl-utf8b", 65534, 65534));
	log_stat("lstat", "sl-utf8b", false);
	STEP("mkfifo", mkfifo("fifo", 0640));
	log_stat("fifo", "fifo", false);
	STEP("mkfifo again", mkfifo("fifo", 0640));
	STEP("readlink fifo", readlink("fifo", buf, sizeof(buf)));
	STEP("mknod chr", mknod("chr", S_IFCHR | 0600, makedev(1, 3)));
	STEP("mknod chr rdev", ({
		     struct stat st;
		     lstat("chr", &st) < 0 ? -1L
					   : (long)(major(st.st_rdev) * 1000 + minor(st.st_rdev));
	     }));
	log_stat("chr", "chr", false);
	STEP("mknod blk", mknod("blk", S_IFBLK | 0600, makedev(7, 200)));
	STEP("mknod blk rdev", ({
		     struct stat st;
		     lstat("blk", &st) < 0 ? -1L
					   : (long)(major(st.st_rdev) * 1000 + minor(st.st_rdev));
	     }));
	STEP("mknod reg", mknod("mkreg", S_IFREG | 0604, 0));
	log_stat("mkreg", "mkreg", false);
	STEP("mknod sock", mknod("sock", S_IFSOCK | 0644, 0));
	log_stat("sock", "sock", false);
	{
		struct sockaddr_un a;
		int sfd = socket(AF_UNIX, SOCK_STREAM, 0);

		memset(&a, 0, sizeof(a));
		a.sun_family = AF_UNIX;
		strcpy(a.sun_path, "bound.sock");
		STEP("bind unix socket", bind(sfd, (struct sockaddr *)&a, sizeof(a)));
		close(sfd);
		log_stat("bound", "bound.sock", false);
	}
	STEP("unlink fifo", unlink("fifo"));
	STEP("unlink chr", unlink("chr"));
}

static void s_link(void)
{
	SECTION("link");
	STEP("create", write_file("ln1", "linked", O_TRUNC));
	STEP("link", link("ln1", "ln2"));
	log_stat("ln1", "ln1", false);
	STEP("link again", link("ln1", "ln2"));
	STEP("link dir", link("n1", "n1link"));
	STEP("unlink ln1", unlink("ln1"));
	log_stat("ln2", "ln2", false);
	log_content("ln2", "ln2");
	STEP("link missing", link("nothing", "x"));
}

static void s_xattr(void)
{
	char buf[256];
	ssize_t n;

	SECTION("xattr");
	STEP("create", write_file("xa", "x", O_TRUNC));
	STEP("setxattr", setxattr("xa", "user.k", "value", 5, 0));
	STEP("setxattr create exists", setxattr("xa", "user.k", "v2", 2, XATTR_CREATE));
	STEP("setxattr replace missing", setxattr("xa", "user.q", "v2", 2, XATTR_REPLACE));
	STEP("getxattr size", getxattr("xa", "user.k", NULL, 0));
	n = getxattr("xa", "user.k", buf, sizeof(buf));
	STEP("getxattr", n);
	if (n > 0)
		logf_("value: %.*s\n", (int)n, buf);
	STEP("getxattr small", getxattr("xa", "user.k", buf, 2));
	STEP("setxattr 2", setxattr("xa", "user.k2", "", 0, 0));
	n = listxattr("xa", buf, sizeof(buf));
	STEP("listxattr", n);
	STEP("removexattr", removexattr("xa", "user.k"));
	STEP("getxattr removed", getxattr("xa", "user.k", buf, sizeof(buf)));
	STEP("removexattr missing", removexattr("xa", "user.k"));
	STEP("dir setxattr", setxattr("n1", "user.d", "dd", 2, 0));
	STEP("dir getxattr", getxattr("n1", "user.d", buf, sizeof(buf)));
	/* Through IRP_MJ_QUERY_EA / SET_EA: empty values, flags, sizes, listing, symlinks. */
	STEP("getxattr empty size", getxattr("xa", "user.k2", NULL, 0));
	STEP("getxattr empty", getxattr("xa", "user.k2", buf, sizeof(buf)));
	STEP("setxattr replace existing", setxattr("xa", "user.k2", "r", 1, XATTR_REPLACE));
	STEP("setxattr create new", setxattr("xa", "user.k3", "c", 1, XATTR_CREATE));
	STEP("listxattr size", listxattr("xa", NULL, 0));
	STEP("listxattr small", listxattr("xa", buf, 3));
	n = listxattr("xa", buf, sizeof(buf));
	STEP("listxattr 2", n);
	if (n > 0)
		logf_("names: %zd bytes, first %s\n", n, buf);
	STEP("getxattr missing", getxattr("xa", "user.none", NULL, 0));
	STEP("getxattr missing file", getxattr("nope", "user.k", NULL, 0));
	STEP("trusted setxattr", setxattr("xa", "trusted.t", "tt", 2, 0));
	STEP("trusted getxattr", getxattr("xa", "trusted.t", buf, sizeof(buf)));
	{
		static char big[65535], back[65536];
		int i;

		for (i = 0; i < (int)sizeof(big); i++)
			big[i] = (char)(i * 7);
		STEP("setxattr 4000", setxattr("xa", "user.big", big, 4000, 0));
		n = getxattr("xa", "user.big", back, sizeof(back));
		STEP("getxattr 4000", n);
		STEP("getxattr 4000 same", n == 4000 && !memcmp(big, back, 4000));
		STEP("getxattr 4000 small", getxattr("xa", "user.big", back, 3999));
		STEP("setxattr 65535", setxattr("xa", "user.huge", big, 65535, 0));
		STEP("getxattr 65535", getxattr("xa", "user.huge", NULL, 0));
		STEP("removexattr 65535", removexattr("xa", "user.huge"));
	}
	STEP("symlink", symlink("xa", "xl"));
	STEP("getxattr via symlink", getxattr("xl", "user.k2", buf, sizeof(buf)));
	STEP("lsetxattr symlink user", lsetxattr("xl", "user.l", "l", 1, 0));
	STEP("lgetxattr symlink", lgetxattr("xl", "user.l", buf, sizeof(buf)));
	STEP("llistxattr symlink", llistxattr("xl", NULL, 0));
	STEP("lsetxattr symlink trusted", lsetxattr("xl", "trusted.l", "l", 1, 0));
	STEP("lgetxattr symlink trusted", lgetxattr("xl", "trusted.l", buf, sizeof(buf)));
	STEP("lremovexattr symlink trusted", lremovexattr("xl", "trusted.l"));
	{
		int fd = open("xa", O_RDONLY);

		STEP("fsetxattr", fsetxattr(fd, "user.f", "ff", 2, 0));
		STEP("fgetxattr", fgetxattr(fd, "user.f", buf, sizeof(buf)));
		STEP("flistxattr", flistxattr(fd, NULL, 0));
		STEP("fremovexattr", fremovexattr(fd, "user.f"));
		close(fd);
	}
	STEP("removexattr all", removexattr("xa", "user.k2") | removexattr("xa", "user.k3") |
				    removexattr("xa", "user.big") | removexattr("xa", "trusted.t"));
	STEP("listxattr none", listxattr("xa", buf, sizeof(buf)));
}

static void s_statfs(void)
{
	struct statvfs a;

	SECTION("statfs");
	STEP("statvfs", statvfs(".", &a));
	logf_("total=%llu namemax=%lu files=%llu\n", (unsigned long long)a.f_blocks * a.f_frsize,
	      a.f_namemax, (unsigned long long)a.f_files);
}

static void s_fsync(void)
{
	int fd;

	SECTION("fsync");
	fd = open("fs", O_RDWR | O_CREAT, 0644);
	STEP("write", write(fd, "data", 4));
	STEP("fsync", fsync(fd));
	STEP("fdatasync", fdatasync(fd));
	STEP("close", close(fd));
	fd = open(".", O_RDONLY | O_DIRECTORY);
	STEP("fsync dir", fsync(fd));
	STEP("close", close(fd));
}

static void s_names(void)
{
	char name[300];
	const char *odd[] = {"\xff\xfe",
			     "caf\xc3\xa9",
			     "a:b*c?d\"e<f>g|h\\i",
			     "\x01ctl",
			     "\xf0\x9f\x98\x80 emoji",
			     "\xef\x80\xaa private",
			     "trailing.",
			     "trailing "};
	size_t i;

	SECTION("names");
	memset(name, 'L', 255);
	name[255] = '\0';
	STEP("create 255", write_file(name, "long", O_TRUNC));
	log_content("read 255", name);
	name[255] = 'L';
	name[256] = '\0';
	STEP("create 256", write_file(name, "long", O_TRUNC));
	STEP("mkdir names", mkdir("nm", 0755));
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		char path[300];

		snprintf(path, sizeof(path), "nm/%s", odd[i]);
		STEP("create odd", write_file(path, odd[i], O_TRUNC));
		log_content("read odd", path);
	}
	log_dir("nm", "nm");
	STEP("rename odd", rename("nm/\xff\xfe", "nm/\xfe\xff"));
	log_dir("nm", "nm");
}

static void s_unlink_open(void)
{
	char buf[16];
	int fd;

	SECTION("unlink-open");
	STEP("create", write_file("uo", "still here", O_TRUNC));
	fd = open("uo", O_RDWR);
	STEP("unlink while open", unlink("uo"));
	STEP("read after unlink", pread(fd, buf, 10, 0));
	STEP("fstat nlink", ({
		     struct stat st;
		     fstat(fd, &st) < 0 ? -1 : (long)st.st_nlink;
	     }));
	/* The file has no name left: metadata still reaches it (fchmod, fchown, fxattrs). */
	STEP("fchmod after unlink", fchmod(fd, 0640));
	STEP("fchown after unlink", fchown(fd, 65534, 65534));
	STEP("fsetxattr after unlink", fsetxattr(fd, "user.u", "uu", 2, 0));
	STEP("fgetxattr after unlink", fgetxattr(fd, "user.u", buf, sizeof(buf)));
	STEP("flistxattr after unlink", flistxattr(fd, NULL, 0));
	STEP("fremovexattr after unlink", fremovexattr(fd, "user.u"));
	STEP("fstat mode", ({
		     struct stat st;
		     fstat(fd, &st) < 0 ? -1 : (long)(st.st_mode | (long)st.st_uid << 20);
	     }));
	STEP("close", close(fd));
	log_stat("gone", "uo", false);
	STEP("chmod readonly", (write_file("ro", "r", O_TRUNC), chmod("ro", 0444)));
	STEP("unlink readonly", unlink("ro"));
}

/* The error cases a POSIX caller relies on, each against the same calls natively. */
static void s_errors(void)
{
	static char longpath[PATH_MAX + 64];
	char comp[201];
	int i, fd, depth = 0;

	SECTION("errors");
	STEP("create f", write_file("ef", "e", O_TRUNC));
	STEP("mkdir ed", mkdir("ed", 0755));
	STEP("create ed/x", write_file("ed/x", "x", O_TRUNC));
	STEPOK("ENOENT open", open("enoent/x", O_RDONLY));
	STEP("ENOENT rmdir", rmdir("enoent"));
	STEP("ENOENT link target dir", link("ef", "enoent/x"));
	STEP("EEXIST mkdir over file", mkdir("ef", 0755));
	STEP("EEXIST link", link("ef", "ed/x"));
	STEP("EEXIST symlink", symlink("t", "ed"));
	STEPOK("ENOTDIR open", open("ef/x", O_RDONLY));
	STEP("ENOTDIR mkdir under file", mkdir("ef/d", 0755));
	STEP("ENOTDIR rename dir over file", rename("ed", "ef"));
	STEPOK("ENOTDIR O_DIRECTORY", open("ef", O_RDONLY | O_DIRECTORY));
	STEPOK("EISDIR open rdwr", open("ed", O_RDWR));
	STEP("EISDIR rename file over dir", rename("ef", "ed"));
	STEP("EISDIR unlink dir", unlink("ed"));
	STEP("ENOTEMPTY rmdir", rmdir("ed"));
	STEP("ENOTEMPTY rename over", (mkdir("ee", 0755), rename("ee", "ed")));
	STEP("EINVAL rmdir dot", rmdir("ed/."));
	/* ENAMETOOLONG: a 256-byte component; a path longer than PATH_MAX. */
	memset(longpath, 'n', 256);
	longpath[256] = '\0';
	STEPOK("ENAMETOOLONG create 256", open(longpath, O_WRONLY | O_CREAT, 0644));
	STEP("ENAMETOOLONG mkdir 256", mkdir(longpath, 0755));
	STEP("ENAMETOOLONG rename to 256", rename("ef", longpath));
	STEP("ENAMETOOLONG symlink 256", symlink("ef", longpath));
	for (i = 0; i + 2 < PATH_MAX + 40; i += 2)
		memcpy(longpath + i, "a/", 2);
	longpath[i] = '\0';
	STEPOK("ENAMETOOLONG path > PATH_MAX", open(longpath, O_RDONLY));
	/*
	 * Deep trees reached with relative paths (chdir), up to just under PATH_MAX bytes from
	 * the volume's root (19 levels of 201 bytes).  Deeper ones are a known limit of the
	 * volume (ENAMETOOLONG: it opens by path from its root; docs/mapping.md).
	 */
	memset(comp, 'd', 200);
	comp[200] = '\0';
	STEP("mkdir deep", mkdir("deep", 0755));
	STEP("chdir deep", chdir("deep"));
	for (i = 0; i < 19; i++) {
		if (mkdir(comp, 0755) < 0 || chdir(comp) < 0) {
			logf_("deep level %d: %s\n", i, strerrorname_np(errno));
			break;
		}
		depth++;
	}
	logf_("depth: %d\n", depth);
	fd = open("bottom", O_RDWR | O_CREAT | O_EXCL, 0640);
	STEPOK("create at the bottom", fd);
	STEP("write at the bottom", write(fd, "deep data", 9));
	STEP("close", close(fd));
	log_stat("stat bottom", "bottom", false);
	log_content("read bottom", "bottom");
	STEP("rename at the bottom", rename("bottom", "bottom2"));
	STEP("link at the bottom", link("bottom2", "bottom3"));
	STEP("symlink at the bottom", symlink("bottom2", "bottom4"));
	log_content("via symlink", "bottom4");
	STEP("setxattr at the bottom", setxattr("bottom2", "user.d", "v", 1, 0));
	STEP("chmod at the bottom", chmod("bottom2", 0600));
	log_stat("stat bottom2", "bottom2", false);
	log_dir("bottom dir", ".");
	STEP("unlink at the bottom", unlink("bottom2") | unlink("bottom3") | unlink("bottom4"));
	for (i = 0; i < depth; i++) {
		if (chdir("..") < 0 || rmdir(comp) < 0) {
			logf_("deep up %d: %s\n", i, strerrorname_np(errno));
			break;
		}
	}
	STEP("chdir back", chdir(".."));
	STEP("rmdir deep", rmdir("deep"));
	/* EXDEV: another mount. */
	STEP("EXDEV rename", rename("ef", "/proc/fm-exdev"));
	STEP("EXDEV link", link("ef", "/dev/shm/fm-exdev"));
	STEP("EXDEV rename from other mount", rename("/dev/shm", "fm-exdev"));
	/* ELOOP: a loop, too many links, O_NOFOLLOW on a link. */
	STEP("symlink loop a", symlink("loop-b", "loop-a"));
	STEP("symlink loop b", symlink("loop-a", "loop-b"));
	STEPOK("ELOOP open loop", open("loop-a", O_RDONLY));
	STEP("ELOOP stat loop", ({
		     struct stat st;
		     stat("loop-a", &st);
	     }));
	STEPOK("ELOOP mkdir through loop", mkdir("loop-a/x", 0755));
	for (i = 0; i < 45; i++) {
		char from[32], to[32];

		snprintf(from, sizeof(from), "chain-%d", i);
		snprintf(to, sizeof(to), i ? "chain-%d" : "ef", i - 1);
		if (symlink(to, from) < 0)
			logf_("chain %d: %s\n", i, strerrorname_np(errno));
	}
	log_content("chain 39", "chain-39");
	STEPOK("ELOOP chain 44", open("chain-44", O_RDONLY));
	STEPOK("ELOOP O_NOFOLLOW", open("chain-0", O_RDONLY | O_NOFOLLOW));
	STEPOK("O_NOFOLLOW|O_PATH on a link", open("chain-0", O_PATH | O_NOFOLLOW));
	/* O_EXCL: on an existing file, on a dangling symlink, on a directory. */
	STEPOK("O_EXCL existing", open("ef", O_WRONLY | O_CREAT | O_EXCL, 0644));
	STEP("dangling", symlink("dangling-target", "dl"));
	STEPOK("O_EXCL dangling symlink", open("dl", O_WRONLY | O_CREAT | O_EXCL, 0644));
	log_stat("dangling target not made", "dangling-target", false);
	STEPOK("O_CREAT dangling symlink", fd = open("dl", O_WRONLY | O_CREAT, 0644));
	STEP("close", close(fd));
	log_stat("dangling target made", "dangling-target", false);
	STEPOK("O_EXCL dir", open("ed", O_WRONLY | O_CREAT | O_EXCL, 0644));
	/* O_APPEND: every write at the end, pwrite too (Linux), and after a truncate. */
	fd = open("ap", O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0644);
	STEPOK("open append", fd);
	STEP("append 1", write(fd, "one", 3));
	STEP("pwrite 0 appends", pwrite(fd, "two", 3, 0));
	STEP("position", lseek(fd, 0, SEEK_CUR));
	STEP("truncate", ftruncate(fd, 2));
	STEP("append after truncate", write(fd, "X", 1));
	{
		int fd2 = open("ap", O_WRONLY);

		STEP("other writer", pwrite(fd2, "0123456789", 10, 0));
		STEP("append after other", write(fd, "Y", 1));
		close(fd2);
	}
	STEP("close", close(fd));
	log_content("append content", "ap");
	STEP("fcntl drop append", ({
		     int f2 = open("ap", O_WRONLY | O_APPEND);
		     long r2 = fcntl(f2, F_SETFL, 0) | pwrite(f2, "Z", 1, 0);
		     close(f2);
		     r2;
	     }));
	log_content("after dropping append", "ap");
}

/* A file beyond 4 GiB: a sparse write at 5 GiB, read back, sizes and seeks. */
static void s_large(void)
{
	const off_t g5 = (off_t)5 << 30;
	char buf[16] = "";
	struct stat st;
	int fd;

	SECTION("large");
	fd = open("large", O_RDWR | O_CREAT | O_TRUNC, 0644);
	STEPOK("create", fd);
	STEP("pwrite at 5 GiB", pwrite(fd, "far away", 8, g5));
	STEP("pread at 5 GiB", pread(fd, buf, 8, g5));
	logf_("data: %.8s\n", buf);
	STEP("pread at 4 GiB reads zeros", ({
		     char z[4] = "qqqq";
		     pread(fd, z, 4, (off_t)4 << 30) == 4 && !memcmp(z, "\0\0\0\0", 4);
	     }));
	STEP("fstat size", fstat(fd, &st) < 0 ? -1 : st.st_size == g5 + 8);
	STEP("seek data from 0", lseek(fd, 0, SEEK_DATA) >= (off_t)4 << 30);
	STEP("seek hole past 4 GiB", lseek(fd, ((off_t)4 << 30) + 1, SEEK_HOLE) < g5);
	STEP("seek end", lseek(fd, 0, SEEK_END) == g5 + 8);
	STEP("read at end", read(fd, buf, 8));
	STEP("ftruncate to 4 GiB + 1", ftruncate(fd, ((off_t)4 << 30) + 1));
	STEP("close", close(fd));
	STEP("stat size", stat("large", &st) < 0 ? -1 : st.st_size == ((off_t)4 << 30) + 1);
	STEP("truncate to 6 GiB", truncate("large", (off_t)6 << 30));
	STEP("stat size 6", stat("large", &st) < 0 ? -1 : st.st_size == (off_t)6 << 30);
	fd = open("large", O_WRONLY | O_APPEND);
	STEP("append at 6 GiB", write(fd, "end", 3));
	STEP("close", close(fd));
	STEP("stat size 6+3", stat("large", &st) < 0 ? -1 : st.st_size == ((off_t)6 << 30) + 3);
	STEP("unlink", unlink("large"));
}

static void s_sparse(void)
{
	static char big[200000];
	char buf[64];
	off_t a, b;
	int fd, fd2;

	SECTION("sparse");
	memset(big, 'q', sizeof(big));
	fd = open("sp", O_RDWR | O_CREAT | O_TRUNC, 0644);
	STEPOK("create", fd);
	STEP("write at 0", pwrite(fd, "head", 4, 0));
	STEP("write at 4M", pwrite(fd, "tail", 4, 4 << 20));
	STEP("seek data 0", lseek(fd, 0, SEEK_DATA));
	STEP("seek hole 0", lseek(fd, 0, SEEK_HOLE) >= 4);
	a = lseek(fd, 8192, SEEK_DATA);
	STEP("seek data 8192 lands in the tail block", a > 8192 && a <= (4 << 20));
	b = lseek(fd, 8192, SEEK_HOLE);
	STEP("seek hole 8192", b);
	STEP("seek data past end", lseek(fd, (4 << 20) + 4, SEEK_DATA));
	STEP("seek hole past end", lseek(fd, (4 << 20) + 100, SEEK_HOLE));
	STEP("seek hole at last byte", lseek(fd, (4 << 20) + 3, SEEK_HOLE));
	STEP("seek data negative", lseek(fd, -1, SEEK_DATA));
	STEP("write 200000 at 1M", pwrite(fd, big, sizeof(big), 1 << 20));
	STEP("punch hole",
	     fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1 << 20, 65536));
	STEP("read punched", ({
		     char z[16];
		     pread(fd, z, sizeof(z), (1 << 20) + 10) == 16 && !memchr(z, 'q', 16);
	     }));
	STEP("read after punched", ({
		     char z[4];
		     pread(fd, z, 4, (1 << 20) + 65536) == 4 && !memcmp(z, "qqqq", 4);
	     }));
	STEP("seek data in hole", lseek(fd, (1 << 20) + 10, SEEK_DATA));
	STEP("punch hole no keep size", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 10));
	STEP("fallocate extend", fallocate(fd, 0, 5 << 20, 4096));
	STEP("fallocate keep size", fallocate(fd, FALLOC_FL_KEEP_SIZE, 6 << 20, 4096));
	log_stat("stat", "sp", false);
	STEP("fallocate inside", fallocate(fd, 0, 0, 8192));
	STEP("zero range", fallocate(fd, FALLOC_FL_ZERO_RANGE, (1 << 20) + 65536, 100));
	STEP("read zeroed", ({
		     char z[104];
		     pread(fd, z, sizeof(z), (1 << 20) + 65534) == 104 && z[0] == 'q' &&
			 z[1] == 'q' && !memchr(z + 2, 'q', 100) && z[102] == 'q';
	     }));
	STEP("zero range extends", fallocate(fd, FALLOC_FL_ZERO_RANGE, 7 << 20, 100));
	STEP("zero range keep size",
	     fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 8 << 20, 100));
	STEP("fallocate zero length", fallocate(fd, 0, 0, 0));
	STEP("fallocate punch and zero",
	     fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0,
		       10));
	log_stat("stat", "sp", false);
	{
		int ro = open("sp", O_RDONLY);

		STEP("fallocate read-only fd", fallocate(ro, 0, 0, 10));
		close(ro);
	}
	fd2 = open("sp-copy", O_RDWR | O_CREAT | O_TRUNC, 0644);
	STEPOK("create copy", fd2);
	{
		loff_t i = 0, o = 0;

		STEP("copy_file_range 4", copy_file_range(fd, &i, fd2, &o, 4, 0));
		STEP("copy offsets", (long)(i * 1000 + o));
		i = 1 << 20;
		o = 100;
		STEP("copy_file_range 200000", copy_file_range(fd, &i, fd2, &o, 200000, 0) > 0);
		i = 10 << 20;
		o = 0;
		STEP("copy_file_range past eof", copy_file_range(fd, &i, fd2, &o, 100, 0));
		STEP("copy_file_range flags", copy_file_range(fd, NULL, fd2, NULL, 4, 1));
	}
	STEP("copy content", pread(fd2, buf, 4, 0) == 4 && !memcmp(buf, "head", 4));
	close(fd2);
	fd2 = open("sp-copy", O_RDONLY);
	{
		loff_t i = 0, o = 0;

		STEP("copy_file_range to read-only fd", copy_file_range(fd, &i, fd2, &o, 4, 0));
	}
	close(fd2);
	fd2 = open("sp-copy", O_WRONLY | O_APPEND);
	STEP("copy_file_range to append fd", copy_file_range(fd, NULL, fd2, NULL, 4, 0));
	close(fd2);
	close(fd);
	log_stat("stat copy", "sp-copy", false);
}

/* A lock request as a logged value: 0, or -1 and errno (EAGAIN...). */
static long setlk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};

	return fcntl(fd, cmd, &fl);
}

/* F_GETLK as "type start len pid-is-X" (X: self, parent, child, other). */
static void log_getlk(const char *label, int fd, short type, off_t start, off_t len, pid_t child)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};

	if (fcntl(fd, F_GETLK, &fl) < 0) {
		logf_("%s: fail %s\n", label, strerrorname_np(errno));
		return;
	}
	logf_("%s: type=%d start=%lld len=%lld pid=%s\n", label, fl.l_type, (long long)fl.l_start,
	      (long long)fl.l_len,
	      fl.l_type == F_UNLCK    ? "-"
	      : fl.l_pid == getpid()  ? "self"
	      : fl.l_pid == getppid() ? "parent"
	      : fl.l_pid == child     ? "child"
				      : "other");
}

/*
 * The log is this process's memory: a child's steps are handed back through a shared page
 * and appended to the parent's log after it exits.
 */
static char *child_log;
static size_t child_from;

static void child_begin(void)
{
	child_from = loglen;
}

static void child_end(void)
{
	size_t n = loglen - child_from;

	if (n > 4095)
		n = 4095;
	memcpy(child_log, logbuf + child_from, n);
	child_log[n] = '\0';
	_exit(0);
}

static void child_collect(pid_t c)
{
	waitpid(c, NULL, 0);
	logf_("%s", child_log);
	child_log[0] = '\0';
}

static void s_locks(void)
{
	int fd, fd2, p[2];
	pid_t c;
	char x;

	child_log = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (child_log == MAP_FAILED)
		return;
	child_log[0] = '\0';

	SECTION("locks");
	STEP("create", write_file("lk", "0123456789abcdef", O_TRUNC));
	fd = open("lk", O_RDWR);
	fd2 = open("lk", O_RDWR);
	STEP("setlk write 0-9", setlk(fd, F_SETLK, F_WRLCK, 0, 10));
	STEP("setlk write 5-14 other fd same process", setlk(fd2, F_SETLK, F_WRLCK, 5, 10));
	log_getlk("getlk own", fd, F_WRLCK, 0, 0, 0);
	STEP("setlk read 100-", setlk(fd, F_SETLK, F_RDLCK, 100, 0));
	fflush(stdout);
	c = fork();
	if (c == 0) {
		int cfd = open("lk", O_RDWR);

		child_begin();
		STEP("child setlk write 0", setlk(cfd, F_SETLK, F_WRLCK, 0, 1));
		STEP("child setlk read 12", setlk(cfd, F_SETLK, F_RDLCK, 12, 1));
		STEP("child setlk read 200", setlk(cfd, F_SETLK, F_RDLCK, 200, 1));
		STEP("child setlk write 200", setlk(cfd, F_SETLK, F_WRLCK, 200, 1));
		STEP("child setlk write 20-29", setlk(cfd, F_SETLK, F_WRLCK, 20, 10));
		log_getlk("child getlk 0", cfd, F_RDLCK, 0, 1, 0);
		log_getlk("child getlk 7-", cfd, F_WRLCK, 7, 0, 0);
		log_getlk("child getlk 50", cfd, F_WRLCK, 50, 1, 0);
		STEP("child flock", flock(cfd, LOCK_EX | LOCK_NB));
		child_end();
	}
	child_collect(c);
	STEP("unlock 0-4", setlk(fd, F_SETLK, F_UNLCK, 0, 5));
	log_getlk("getlk after partial unlock", fd, F_WRLCK, 0, 0, 0);
	STEP("flock ex", flock(fd, LOCK_EX | LOCK_NB));
	STEP("flock other fd", flock(fd2, LOCK_SH | LOCK_NB));
	STEP("flock un", flock(fd, LOCK_UN));
	STEP("flock other fd now", flock(fd2, LOCK_SH | LOCK_NB));
	/* A waiting lock is granted when the holder lets go. */
	if (pipe(p) == 0) {
		fflush(stdout);
		c = fork();
		if (c == 0) {
			int cfd = open("lk", O_RDWR);

			setlk(cfd, F_SETLK, F_WRLCK, 300, 1);
			x = 'g';
			if (write(p[1], &x, 1) != 1)
				_exit(1);
			usleep(200000);
			_exit(0); /* exit closes cfd: the lock goes */
		}
		if (read(p[0], &x, 1) == 1) {
			STEP("setlk busy", setlk(fd, F_SETLK, F_WRLCK, 300, 1));
			STEP("setlkw waits", setlk(fd, F_SETLKW, F_WRLCK, 300, 1));
		}
		waitpid(c, NULL, 0);
		close(p[0]);
		close(p[1]);
	}
	/* Closing any descriptor drops all the process's locks on the file. */
	close(fd2);
	fflush(stdout);
	c = fork();
	if (c == 0) {
		int cfd = open("lk", O_RDWR);

		child_begin();
		STEP("child setlk after close", setlk(cfd, F_SETLK, F_WRLCK, 0, 0));
		child_end();
	}
	child_collect(c);
	close(fd);
	munmap(child_log, 4096);
}

static void run_script(void)
{
	umask(022);
	s_create();
	s_rw();
	s_stat();
	s_truncate();
	s_chmod();
	s_dirs();
	s_rename();
	s_readdir();
	s_symlink();
	s_link();
	s_xattr();
	s_sparse();
	s_errors();
	s_large();
	s_locks();
	s_statfs();
	s_fsync();
	s_names();
	s_unlink_open();
}

/* ---- harness ------------------------------------------------------------------------------- */

/* Supplementary group of the unprivileged child (a group with no name is fine). */
#define TEST_GROUP 4242

/*
 * Run fn in a child with cwd `dir`, as uid = gid (0 = root, otherwise with TEST_GROUP as its
 * only supplementary group); its log in *out (malloc'ed).
 */
static int run_child(const char *dir, uid_t uid, void (*fn)(void), char **out)
{
	char *shared = mmap(NULL, LOG_CAP + sizeof(size_t), PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid;
	int status;

	if (shared == MAP_FAILED)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		logbuf = shared + sizeof(size_t);
		loglen = 0;
		alarm(20);
		if (uid) {
			gid_t g = TEST_GROUP;

			if (setgroups(1, &g) < 0 || setresgid(uid, uid, uid) < 0 ||
			    setresuid(uid, uid, uid) < 0)
				_exit(3);
		}
		if (chdir(dir) < 0)
			_exit(2);
		fn();
		memcpy(shared, &loglen, sizeof(size_t));
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		munmap(shared, LOG_CAP + sizeof(size_t));
		return -1;
	}
	{
		size_t n;

		memcpy(&n, shared, sizeof(n));
		*out = strndup(shared + sizeof(size_t), n);
	}
	munmap(shared, LOG_CAP + sizeof(size_t));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("# child in %s: status 0x%x\n", dir, status);
		return -1;
	}
	return 0;
}

static char *vol_log, *nat_log;

static void compare_sections(void)
{
	char *a = vol_log, *b = nat_log;

	while (a && b && *a && *b) {
		char *ea = strstr(a + 1, "\n## "), *eb = strstr(b + 1, "\n## ");
		size_t la = ea ? (size_t)(ea - a + 1) : strlen(a);
		size_t lb = eb ? (size_t)(eb - b + 1) : strlen(b);
		char name[64] = "?";
		int ok;

		sscanf(a, "## %63s", name);
		ok = la == lb && !memcmp(a, b, la);
		if (!ok) {
			/* Print the differing lines of the section. */
			char *pa = a, *pb = b;

			while (pa < a + la || pb < b + lb) {
				char *na = memchr(pa, '\n', (size_t)(a + la - pa));
				char *nb = memchr(pb, '\n', (size_t)(b + lb - pb));
				int lna = na ? (int)(na - pa) : 0, lnb = nb ? (int)(nb - pb) : 0;

				if (lna != lnb || memcmp(pa, pb, (size_t)lna))
					printf("#   volume: %.*s\n#   native: %.*s\n", lna, pa, lnb,
					       pb);
				pa = na ? na + 1 : a + la;
				pb = nb ? nb + 1 : b + lb;
			}
		}
		tap__n++;
		if (!ok)
			tap__failed_cases++;
		printf("%s %d - posix section %s matches native\n", ok ? "ok" : "not ok", tap__n,
		       name);
		a += la;
		b += lb;
	}
}

static void t_script_ran(void)
{
	TAP_CHECK(run_child(volpath, 0, run_script, &vol_log) == 0);
	TAP_CHECK(run_child(natpath, 0, run_script, &nat_log) == 0);
	TAP_CHECK(vol_log && nat_log && strlen(vol_log) > 1000);
}

/* ---- permissions ----------------------------------------------------------------------------- */

static void perm_script(void)
{
	int fd;

	SECTION("nobody");
	STEPOK("read root 0600", open("secret", O_RDONLY));
	STEPOK("create in root dir", open("rootdir/newfile", O_WRONLY | O_CREAT, 0644));
	STEP("mkdir in root dir", mkdir("rootdir/sub", 0755));
	STEP("unlink in root dir", unlink("rootdir/f"));
	STEP("rename in root dir", rename("rootdir/f", "rootdir/g"));
	STEP("chmod root file", chmod("secret", 0666));
	STEP("utimes root file", utimensat(AT_FDCWD, "secret", NULL, 0));
	STEP("truncate root file", truncate("rootdir/f", 0));
	fd = open("pub/mine", O_WRONLY | O_CREAT | O_EXCL, 0640);
	STEPOK("create in 0777 dir", fd);
	STEP("write", write(fd, "nobody's", 8));
	STEP("close", close(fd));
	log_stat("stat mine", "pub/mine", false);
	STEP("mkdir in 0777 dir", mkdir("pub/mydir", 0700));
	log_stat("stat mydir", "pub/mydir", false);
	STEP("symlink in 0777 dir", symlink("mine", "pub/mylink"));
	log_stat("stat mylink", "pub/mylink", false);
	STEP("utimes own file", utimensat(AT_FDCWD, "pub/mine", NULL, 0));
	STEP("chmod own file", chmod("pub/mine", 0604));
	log_stat("stat mine", "pub/mine", false);
	STEP("unlink root file in sticky dir", unlink("pub/rootfile"));
	/* Writing clears set-user-ID and set-group-ID bits for an unprivileged writer. */
	fd = open("pub/suid", O_WRONLY);
	STEPOK("open suid file", fd);
	STEP("write suid file", write(fd, "x", 1));
	STEP("close", close(fd));
	log_stat("stat suid", "pub/suid", false);
	/* Allowed only through the supplementary group. */
	fd = open("grpdir/bygroup", O_WRONLY | O_CREAT | O_EXCL, 0600);
	STEPOK("create via supplementary group", fd);
	STEP("close", close(fd));
	log_stat("stat bygroup", "grpdir/bygroup", false);
	/* Reparse points and EAs as nobody: owners, denials, the kernel's checks. */
	STEP("symlink in root dir", symlink("x", "rootdir/l"));
	STEP("mkfifo in root dir", mkfifo("rootdir/fifo", 0644));
	STEP("mkfifo in 0777 dir", mkfifo("pub/myfifo", 0644));
	log_stat("stat myfifo", "pub/myfifo", false);
	STEP("mknod chr as nobody", mknod("pub/mychr", S_IFCHR | 0600, makedev(1, 3)));
	STEP("symlink via group", symlink("bygroup", "grpdir/glink"));
	log_stat("stat glink", "grpdir/glink", false);
	STEP("readlink own", ({
		     char b[64];
		     readlink("pub/mylink", b, sizeof(b));
	     }));
	STEP("chown own file away", chown("pub/mine", 0, (gid_t)-1));
	STEP("chgrp own file to own group", chown("pub/mine", (uid_t)-1, 65534));
	STEP("chgrp own file to supp group", chown("pub/mine", (uid_t)-1, TEST_GROUP));
	log_stat("stat mine", "pub/mine", false);
	STEP("chgrp own file to other group", chown("pub/mine", (uid_t)-1, 0));
	STEP("setxattr own file", setxattr("pub/mine", "user.n", "v", 1, 0));
	STEP("getxattr own file", getxattr("pub/mine", "user.n", NULL, 0));
	STEP("setxattr root file", setxattr("secret", "user.n", "v", 1, 0));
	STEP("getxattr root file", getxattr("secret", "user.n", NULL, 0));
	STEP("listxattr root file", listxattr("secret", NULL, 0));
	STEP("setxattr trusted", setxattr("pub/mine", "trusted.n", "v", 1, 0));
	STEP("removexattr own", removexattr("pub/mine", "user.n"));
	/* EPERM and the sticky bit: a file of another user in a sticky directory. */
	STEP("rename root file in sticky dir", rename("pub/rootfile", "pub/stolen"));
	STEP("rename over root file in sticky dir", rename("pub/mine", "pub/rootfile"));
	STEP("utimes root file explicit",
	     utimensat(AT_FDCWD, "secret", (struct timespec[2]){{1, 0}, {1, 0}}, 0));
	STEP("link root file", link("secret", "pub/hard"));
	STEP("chown root file", chown("secret", 65534, 65534));
	fd = open("pub/mine2", O_WRONLY | O_CREAT | O_EXCL, 0644);
	STEP("close", close(fd));
	STEP("unlink own file in sticky dir", unlink("pub/mine2"));
	/* setgid directory: files take its group, directories its group and the bit. */
	fd = open("sgid/f", O_WRONLY | O_CREAT | O_EXCL, 0664);
	STEPOK("create in setgid dir", fd);
	STEP("close", close(fd));
	log_stat("stat sgid/f", "sgid/f", false);
	STEP("mkdir in setgid dir", mkdir("sgid/d", 0755));
	log_stat("stat sgid/d", "sgid/d", false);
	STEP("mkfifo in setgid dir", mkfifo("sgid/p", 0644));
	log_stat("stat sgid/p", "sgid/p", false);
	STEP("symlink in setgid dir", symlink("f", "sgid/l"));
	log_stat("stat sgid/l", "sgid/l", false);
	/* A non-member cannot set the setgid bit on its file of another group: dropped. */
	STEP("chmod g+s, group not mine",
	     (chown("sgid/f", (uid_t)-1, 65534), chmod("sgid/f", 02775)));
	log_stat("stat after g+s", "sgid/f", false);
	STEP("chgrp to supp group", chown("sgid/f", (uid_t)-1, TEST_GROUP));
	STEP("chmod g+s, supp group", chmod("sgid/f", 02775));
	log_stat("stat g+s kept", "sgid/f", false);
	/* chown by the (non-root) owner clears set-group-ID. */
	STEP("chgrp by owner", chown("sgid/f", (uid_t)-1, 65534));
	log_stat("stat after chgrp", "sgid/f", false);
	STEP("chmod g+s again", chmod("sgid/f", 02775));
	fd = open("sgid/f", O_WRONLY);
	STEP("write by owner", write(fd, "w", 1));
	STEP("close", close(fd));
	log_stat("stat after write", "sgid/f", false);
	STEP("truncate by owner", (chmod("sgid/f", 06775), truncate("sgid/f", 0)));
	log_stat("stat after truncate", "sgid/f", false);
}

static void prepare_perm(const char *root)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/secret", root);
	close(open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600));
	chmod(p, 0600);
	snprintf(p, sizeof(p), "%s/rootdir", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/rootdir/f", root);
	close(open(p, O_WRONLY | O_CREAT | O_TRUNC, 0666));
	chmod(p, 0666);
	snprintf(p, sizeof(p), "%s/pub", root);
	mkdir(p, 0777);
	chmod(p, 01777);
	snprintf(p, sizeof(p), "%s/pub/rootfile", root);
	close(open(p, O_WRONLY | O_CREAT | O_TRUNC, 0666));
	snprintf(p, sizeof(p), "%s/pub/suid", root);
	close(open(p, O_WRONLY | O_CREAT | O_TRUNC, 0666));
	chmod(p, 06777);
	snprintf(p, sizeof(p), "%s/sgid", root);
	mkdir(p, 0777);
	if (chown(p, 0, TEST_GROUP) < 0)
		printf("# chown %s failed\n", p);
	chmod(p, 02777);
	snprintf(p, sizeof(p), "%s/grpdir", root);
	mkdir(p, 0770);
	chmod(p, 0770);
	if (chown(p, 0, TEST_GROUP) < 0)
		printf("# chown %s failed\n", p);
}

static void t_permissions(void)
{
	char *a = NULL, *b = NULL;

	prepare_perm(volpath);
	prepare_perm(natpath);
	TAP_CHECK(run_child(volpath, 65534, perm_script, &a) == 0);
	TAP_CHECK(run_child(natpath, 65534, perm_script, &b) == 0);
	if (a && b && strcmp(a, b)) {
		printf("# volume:\n%s# native:\n%s", a, b);
		TAP_CHECK(!"nobody's view differs");
	}
	/* The file really belongs to nobody and the denials really happened. */
	TAP_CHECK(a && strstr(a, "stat mine: mode=100640 nlink=1 uid=65534 gid=65534"));
	TAP_CHECK(a && strstr(a, "read root 0600: fail EACCES"));
	TAP_CHECK(a && strstr(a, "create in root dir: fail EACCES"));
	TAP_CHECK(a && strstr(a, "create via supplementary group: ok"));
	TAP_CHECK(a && strstr(a, "stat bygroup: mode=100600 nlink=1 uid=65534 gid=65534"));
	/* Special files made through FSCTL_SET_REPARSE_POINT belong to their creator too. */
	TAP_CHECK(a && strstr(a, "stat myfifo: mode=10644 nlink=1 uid=65534 gid=65534"));
	TAP_CHECK(a && strstr(a, "stat glink: mode=120777 nlink=1 uid=65534 gid="));
	{
		/* The workers are root again: root creates inside nobody's 0700 directory. */
		char p[256];
		int fd;

		snprintf(p, sizeof(p), "%s/pub/mydir/rootfile", volpath);
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
		TAP_CHECK(fd >= 0);
		if (fd >= 0)
			close(fd);
		snprintf(p, sizeof(p), "%s/pub/mydir/rootfile", natpath);
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd >= 0)
			close(fd);
	}
	free(a);
	free(b);
}

/* ---- backing directory check (after unmount) --------------------------------------------------- */

static int tree_diff(const char *x, const char *y, int depth)
{
	DIR *d = opendir(x);
	struct dirent *e;
	int diffs = 0;

	if (!d)
		return 1;
	while ((e = readdir(d))) {
		char px[1024], py[1024];
		struct stat sx, sy;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(px, sizeof(px), "%s/%s", x, e->d_name);
		snprintf(py, sizeof(py), "%s/%s", y, e->d_name);
		if (lstat(px, &sx) < 0 || lstat(py, &sy) < 0) {
			printf("#   only in %s: %s\n", x, e->d_name);
			diffs++;
			continue;
		}
		if (sx.st_mode != sy.st_mode || sx.st_uid != sy.st_uid || sx.st_gid != sy.st_gid ||
		    (!S_ISDIR(sx.st_mode) && sx.st_size != sy.st_size) ||
		    sx.st_nlink != sy.st_nlink) {
			printf("#   differs: %s (mode %o/%o uid %u/%u size %lld/%lld)\n", px,
			       sx.st_mode, sy.st_mode, sx.st_uid, sy.st_uid, (long long)sx.st_size,
			       (long long)sy.st_size);
			diffs++;
		} else if (S_ISREG(sx.st_mode) && sx.st_size < (1 << 21)) {
			static char bx[1 << 21], by[1 << 21];
			int fx = open(px, O_RDONLY), fy = open(py, O_RDONLY);
			ssize_t nx = read(fx, bx, sizeof(bx)), ny = read(fy, by, sizeof(by));

			close(fx);
			close(fy);
			if (nx != ny || (nx > 0 && memcmp(bx, by, (size_t)nx))) {
				printf("#   content differs: %s\n", px);
				diffs++;
			}
		}
		if (S_ISDIR(sx.st_mode) && depth < 8)
			diffs += tree_diff(px, py, depth + 1);
	}
	closedir(d);
	return diffs;
}

static bool mounted(const char *path)
{
	FILE *f = fopen("/proc/mounts", "r");
	char line[4096];
	bool found = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char dev[1024], mp[1024];

		if (sscanf(line, "%1023s %1023s", dev, mp) == 2 && !strcmp(mp, path))
			found = true;
	}
	fclose(f);
	return found;
}

static void t_mounted(void)
{
	TAP_CHECK(mounted(volpath));
	TAP_EQ_STR(fm_vol_mount_point(vol), volpath);
	TAP_EQ_STR(fm_vol_backing_dir(vol), volpath);
	TAP_CHECK(fm_vol_core(vol) != NULL);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

/* The child opens files until the daemon (this process) runs out of descriptors. */
static int emfile_child(void)
{
	struct rlimit rl = {4096, 4096};
	int i, fds[64], n = 0, emfile = 0, other = 0;

	setrlimit(RLIMIT_NOFILE, &rl);
	if (chdir(volpath) < 0)
		return 100;
	for (i = 0; i < 64; i++) {
		char name[32];

		snprintf(name, sizeof(name), "emfile-%d", i);
		fds[n] = open(name, O_RDWR | O_CREAT, 0644);
		if (fds[n] >= 0)
			n++;
		else if (errno == EMFILE)
			emfile++;
		else
			other++;
	}
	for (i = 0; i < n; i++)
		close(fds[i]);
	return (emfile > 0 ? 0 : 1) | (other ? 2 : 0) | (n > 0 ? 0 : 4);
}

static void t_emfile(void)
{
	struct rlimit old, rl;
	pid_t pid;
	int status = -1, fd;
	char p[256];

	getrlimit(RLIMIT_NOFILE, &old);
	rl = old;
	rl.rlim_cur = (rlim_t)count_fds() + 24;
	TAP_CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		alarm(20);
		_exit(emfile_child());
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	setrlimit(RLIMIT_NOFILE, &old);
	TAP_CHECK(WIFEXITED(status));
	TAP_EQ_INT(WEXITSTATUS(status), 0);
	/* And the volume still works. */
	snprintf(p, sizeof(p), "%s/after-emfile", volpath);
	fd = open(p, O_RDWR | O_CREAT, 0644);
	TAP_CHECK(fd >= 0);
	TAP_EQ_INT(write(fd, "ok", 2), 2);
	if (fd >= 0)
		close(fd);
	snprintf(p, sizeof(p), "%s/after-emfile", natpath);
	fd = open(p, O_RDWR | O_CREAT, 0644);
	if (fd >= 0) {
		TAP_EQ_INT(write(fd, "ok", 2), 2);
		close(fd);
	}
	for (int i = 0; i < 64; i++) {
		char src[256];

		snprintf(src, sizeof(src), "%s/emfile-%d", volpath, i);
		unlink(src);
	}
}

/* A second volume at a mount point of its own, next to the first: writes land in its backing. */
static void t_second_volume(void)
{
	struct fm_vol *v2 = NULL;
	char b2[160], mp2[160], p[256], buf[16] = "";
	int fd;

	snprintf(b2, sizeof(b2), "%s/b2", base);
	snprintf(mp2, sizeof(mp2), "%s/mp2", base);
	TAP_CHECK(mkdir(b2, 0755) == 0 && mkdir(mp2, 0755) == 0);
	TAP_EQ_INT(fm_vol_mount(b2, mp2, NULL, &v2), 0);
	if (!v2)
		return;
	TAP_CHECK(mounted(mp2) && !mounted(b2));
	TAP_CHECK(strcmp(fm_volume_device_name(fm_vol_core(v2)),
			 fm_volume_device_name(fm_vol_core(vol))) != 0);
	snprintf(p, sizeof(p), "%s/through", mp2);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	TAP_CHECK(fd >= 0 && write(fd, "second", 6) == 6);
	if (fd >= 0)
		close(fd);
	snprintf(p, sizeof(p), "%s/through", b2);
	fd = open(p, O_RDONLY);
	TAP_CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 6);
	if (fd >= 0)
		close(fd);
	TAP_EQ_STR(buf, "second");
	fm_vol_unmount(v2);
	TAP_CHECK(!mounted(mp2));
	snprintf(p, sizeof(p), "%s/through", mp2);
	TAP_CHECK(access(p, F_OK) != 0);
}

static void t_bad_mounts(void)
{
	struct fm_vol *v = NULL;
	char p[256];

	snprintf(p, sizeof(p), "%s/nonexistent", base);
	TAP_EQ_INT(fm_vol_mount(p, NULL, NULL, &v), -ENOENT);
	snprintf(p, sizeof(p), "%s/vol/c1", base);
	TAP_EQ_INT(fm_vol_mount(natpath, p, NULL, &v), -ENOTDIR);
	/* Twice on the same directory. */
	TAP_EQ_INT(fm_vol_mount(volpath, NULL, NULL, &v), -EBUSY);
}

static void t_unmount(void)
{
	char p[256], buf[8], dents[1024], cache[96];
	int fd, dfd;

	/*
	 * Handles still open at dismount are closed by it; the descriptors fail afterwards.  A
	 * file open in kernel passthrough (no filter reads it, docs/volume.md) is the exception:
	 * the kernel keeps reading its backing file, so only a direct-I/O open is checked here.
	 */
	snprintf(p, sizeof(p), "%s/c1", volpath);
	fd = open(p, O_RDONLY);
	dfd = open(volpath, O_RDONLY | O_DIRECTORY);
	TAP_CHECK(fd >= 0 && dfd >= 0);
	fm_vol_cache_describe(vol, cache, sizeof(cache));
	fm_vol_unmount(vol);
	vol = NULL;
	TAP_CHECK(!mounted(volpath));
	TAP_CHECK(getdents64(dfd, dents, sizeof(dents)) < 0);
	if (!strstr(cache, "passthrough on (1 open)"))
		TAP_CHECK(pread(fd, buf, sizeof(buf), 0) < 0);
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
}

static void t_backing_matches_native(void)
{
	int d1 = tree_diff(volpath, natpath, 0), d2 = tree_diff(natpath, volpath, 0);

	TAP_EQ_INT(d1, 0);
	TAP_EQ_INT(d2, 0);
}

/*
 * FM_POSIX_TRANSPORT=uring: the volume serves requests over io_uring.  The kernel offers it
 * only while its module parameter is Y when the volume mounts (a connection keeps it): the
 * test sets Y for the mount and puts the old value back right after it, and on a timeout.
 */
#define URING_PARAM "/sys/module/fuse/parameters/enable_uring"
static char uring_saved; /* the parameter's value before, or 0 when untouched */

static int uring_param_set(char c)
{
	int fd = open(URING_PARAM, O_WRONLY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, &c, 1) != 1)
		r = -errno;
	close(fd);
	return r;
}

static void uring_param_restore(void)
{
	if (uring_saved)
		uring_param_set(uring_saved);
	uring_saved = 0;
}

/* 1: set to Y (saved); 0: skip (reason printed); -1: error. */
static int uring_param_enable(void)
{
	char v = 0, dis = '0';
	int fd = open(URING_PARAM, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0) {
		tap_skip("volume posix over io_uring",
			 "no " URING_PARAM " (kernel without FUSE io_uring)");
		return 0;
	}
	r = (int)read(fd, &v, 1);
	close(fd);
	fd = open("/proc/sys/kernel/io_uring_disabled", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, &dis, 1) != 1)
			dis = '0';
		close(fd);
	}
	if (dis != '0') {
		tap_skip("volume posix over io_uring", "kernel.io_uring_disabled is set");
		return 0;
	}
	if (r != 1 || (v != 'Y' && v != 'N'))
		return -1;
	uring_saved = v;
	return uring_param_set('Y') < 0 ? -1 : 1;
}

static void t_transport(void)
{
	char t[96];

	fm_vol_transport_describe(vol, t, sizeof(t));
	printf("# transport: %s\n", t);
	TAP_CHECK(strncmp(t, "io_uring (", 10) == 0);
}

static void on_timeout(int sig)
{
	(void)sig;
	uring_param_restore();
	if (volpath[0])
		umount2(volpath, MNT_DETACH);
	printf("Bail out! timed out\n");
	_exit(1);
}

static void rm_rf(const char *path)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", path);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", path);
}

/*
 * FM_POSIX_FILTER=/path/filter.so: register that minifilter (service "posixflt", altitude
 * 370030) and load it before mounting, so the whole comparison runs with it attached: the
 * processes must see exactly what they see without it (the passthrough sample's test).
 */
static int load_env_filter(void)
{
	const char *img = getenv("FM_POSIX_FILTER");
	struct fm_regkey *svc = NULL, *inst = NULL, *def = NULL;
	char msg[256] = "";
	NTSTATUS st;
	int rc;

	if (!img || !*img)
		return 0;
	rc = fm_reg_open(FM_REG_SERVICES "\\posixflt", 1, &svc);
	if (!rc)
		rc = fm_reg_set_string_type(svc, "ImagePath", FM_REG_EXPAND_SZ, img);
	if (!rc)
		rc = fm_reg_set_dword(svc, "Type", 2);
	if (!rc)
		rc = fm_reg_set_dword(svc, "Start", 3);
	if (!rc)
		rc = fm_reg_open_sub(svc, "Instances", 1, &inst);
	if (!rc)
		rc = fm_reg_set_string(inst, "DefaultInstance", "posixflt Instance");
	if (!rc)
		rc = fm_reg_open_sub(inst, "posixflt Instance", 1, &def);
	if (!rc)
		rc = fm_reg_set_string(def, "Altitude", "370030");
	if (!rc)
		rc = fm_reg_set_dword(def, "Flags", 0);
	if (def)
		fm_reg_close(def);
	if (inst)
		fm_reg_close(inst);
	if (svc)
		fm_reg_close(svc);
	if (rc)
		return rc;
	st = fm_filter_load("posixflt", msg, sizeof(msg));
	if (!NT_SUCCESS(st)) {
		printf("# loading %s: 0x%08x %s\n", img, (unsigned)st, msg);
		return -EIO;
	}
	printf("# filter %s attached for the whole comparison\n", img);
	return 0;
}

int main(void)
{
	struct fm_vol_options vopts = {0};
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		tap_skip("volume posix", "needs root to mount FUSE");
		return tap_done();
	}
	if (access("/dev/fuse", R_OK | W_OK) != 0) {
		tap_skip("volume posix", "no /dev/fuse");
		return tap_done();
	}
	signal(SIGALRM, on_timeout);
	alarm(90);
	snprintf(base, sizeof(base), "/tmp/fm-vol-XXXXXX");
	if (!mkdtemp(base)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	chmod(base, 0755);
	snprintf(volpath, sizeof(volpath), "%s/vol", base);
	snprintf(natpath, sizeof(natpath), "%s/native", base);
	mkdir(volpath, 0755);
	mkdir(natpath, 0755);
	r = fm_reg_init(NULL);
	if (r == 0)
		r = fm_core_init();
	if (r < 0) {
		printf("Bail out! core init: %s\n", strerror(-r));
		rm_rf(base);
		return 1;
	}
	r = load_env_filter();
	if (r < 0) {
		printf("Bail out! filter from FM_POSIX_FILTER: %s\n", strerror(-r));
		rm_rf(base);
		return 1;
	}
	/* FM_POSIX_CACHE=auto|cached|direct: the volume's cache policy (docs/volume.md). */
	if (getenv("FM_POSIX_CACHE") &&
	    fm_vol_cache_policy_parse(getenv("FM_POSIX_CACHE"), &vopts.cache) < 0) {
		printf("Bail out! FM_POSIX_CACHE: unknown policy\n");
		rm_rf(base);
		return 1;
	}
	if (getenv("FM_POSIX_TRANSPORT") &&
	    fm_vol_transport_parse(getenv("FM_POSIX_TRANSPORT"), &vopts.transport) < 0) {
		printf("Bail out! FM_POSIX_TRANSPORT: unknown transport\n");
		rm_rf(base);
		return 1;
	}
	if (vopts.transport == FM_TRANSPORT_URING) {
		r = uring_param_enable();
		if (r <= 0) {
			if (r < 0)
				printf("Bail out! cannot set %s\n", URING_PARAM);
			fm_core_shutdown();
			rm_rf(base);
			return r < 0 ? 1 : tap_done();
		}
	}
	r = fm_vol_mount(volpath, NULL, &vopts, &vol);
	uring_param_restore();
	if (r < 0) {
		printf("Bail out! fm_vol_mount: %s\n", strerror(-r));
		rm_rf(base);
		return 1;
	}
	TAP_RUN(t_mounted);
	if (vopts.transport == FM_TRANSPORT_URING)
		TAP_RUN(t_transport);
	TAP_RUN(t_script_ran);
	compare_sections();
	TAP_RUN(t_permissions);
	TAP_RUN(t_emfile);
	TAP_RUN(t_second_volume);
	TAP_RUN(t_bad_mounts);
	TAP_RUN(t_unmount);
	TAP_RUN(t_backing_matches_native);
	free(vol_log);
	free(nat_log);
	fm_core_shutdown();
	rm_rf(base);
	return tap_done();
}
