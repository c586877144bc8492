/* Integration: file names a filter gets stay true while other processes rename and unlink. */
#include "core/core.h"
#include "core/registry.h"
#include "volume/volume.h"

#include "vol_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * The filter (built in, loaded with fm_filter_load_builtin) asks, in every successful
 * post-create, FltGetFileNameInformation for the normalized and the opened name and
 * FltQueryInformationFile for the file id (the inode), and records them with the requestor's
 * PID.  Meanwhile, forked processes:
 *
 *   - a directory renamer renames "D1" <-> "D2" (in the root) and opens the directory by its
 *     new name after each rename;
 *   - NREN file renamers, renamer i renaming "x<i>" <-> "y<i>" inside that directory (through
 *     a directory descriptor, so the directory's own renames do not disturb it) and opening
 *     the file by its new name after each rename;
 *   - an unlinker that creates, opens and unlinks "u" in the root, and reopens that name after
 *     the unlink (which must fail);
 *   - NOPEN openers that open every possible path of every file over and over.
 *
 * Afterwards, every record must name a file by a name it really had: a file's normalized and
 * opened names are among its four possible paths (D1 or D2, x<i> or y<i>), a directory's
 * among D1 and D2.  And no name is stale after the rename that changed it completed: the
 * renamers' own creates, in order, see exactly the names their renames gave (the rename's
 * source open sees the old name, the open after it the new one).
 */

#define NREN 4
#define NOPEN 3
#define ROUNDS 150
#define MAXREC 200000
#define NAMECAP 96

struct rec {
	int pid;
	int dir;
	int del; /* opened for DELETE (a rename's source) */
	unsigned long long ino;
	char norm[NAMECAP];
	char opened[NAMECAP];
	NTSTATUS nst, ost;
};

static PFLT_FILTER filter;
/* t_odd_names: the normalized names of creates, as the UTF-16 the filter got. */
#define NCAP 64
static atomic_int capture, ncap;
static WCHAR cap_name[NCAP][300];
static size_t cap_len[NCAP];
static struct rec *recs;
static atomic_int nrec, n_lost;
static char base[64], volpath[128];
static struct fm_vol *vol;

/* The volume-relative part of a name ("\D1\x0"), as ASCII. */
static void rel_name(PFLT_FILE_NAME_INFORMATION ni, char *out)
{
	size_t from = ni->Volume.Length / sizeof(WCHAR), n = ni->Name.Length / sizeof(WCHAR), i;
	size_t k = 0;

	for (i = from; i < n && k + 1 < NAMECAP; i++)
		out[k++] = ni->Name.Buffer[i] < 0x80 ? (char)ni->Name.Buffer[i] : '?';
	out[k] = '\0';
}

static NTSTATUS get_name(PFLT_CALLBACK_DATA data, FLT_FILE_NAME_OPTIONS fmt, char *out)
{
	PFLT_FILE_NAME_INFORMATION ni = NULL;
	NTSTATUS st = FltGetFileNameInformation(data, fmt | FLT_FILE_NAME_QUERY_DEFAULT, &ni);

	out[0] = '\0';
	if (!NT_SUCCESS(st))
		return st;
	st = FltParseFileNameInformation(ni);
	if (NT_SUCCESS(st))
		rel_name(ni, out);
	FltReleaseFileNameInformation(ni);
	return st;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI post_create(PFLT_CALLBACK_DATA data,
						     PCFLT_RELATED_OBJECTS objs, PVOID ctx,
						     FLT_POST_OPERATION_FLAGS flags)
{
	FILE_INTERNAL_INFORMATION ii;
	FILE_STANDARD_INFORMATION si;
	ULONG got;
	struct rec *r;
	int i;

	(void)ctx;
	if ((flags & FLTFL_POST_OPERATION_DRAINING) || !NT_SUCCESS(data->IoStatus.Status))
		return FLT_POSTOP_FINISHED_PROCESSING;
	i = atomic_fetch_add(&nrec, 1);
	if (i >= MAXREC) {
		atomic_fetch_add(&n_lost, 1);
		return FLT_POSTOP_FINISHED_PROCESSING;
	}
	r = &recs[i];
	if (atomic_load(&capture)) {
		PFLT_FILE_NAME_INFORMATION ni = NULL;
		int c = atomic_fetch_add(&ncap, 1);

		if (c < NCAP &&
		    NT_SUCCESS(FltGetFileNameInformation(
			data, FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT, &ni))) {
			cap_len[c] = ni->Name.Length / sizeof(WCHAR);
			if (cap_len[c] > 300)
				cap_len[c] = 300;
			memcpy(cap_name[c], ni->Name.Buffer, cap_len[c] * sizeof(WCHAR));
			FltReleaseFileNameInformation(ni);
		}
	}
	r->pid = (int)FltGetRequestorProcessId(data);
	r->del = data->Iopb->Parameters.Create.SecurityContext &&
		 (data->Iopb->Parameters.Create.SecurityContext->DesiredAccess & DELETE);
	r->nst = get_name(data, FLT_FILE_NAME_NORMALIZED, r->norm);
	r->ost = get_name(data, FLT_FILE_NAME_OPENED, r->opened);
	r->ino = 0;
	if (NT_SUCCESS(FltQueryInformationFile(objs->Instance, objs->FileObject, &ii, sizeof(ii),
					       FileInternalInformation, &got)))
		r->ino = (unsigned long long)ii.IndexNumber.QuadPart;
	r->dir = NT_SUCCESS(FltQueryInformationFile(objs->Instance, objs->FileObject, &si,
						    sizeof(si), FileStandardInformation, &got)) &&
		 si.Directory;
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static NTSTATUS FLTAPI f_unload(FLT_FILTER_UNLOAD_FLAGS flags)
{
	(void)flags;
	FltUnregisterFilter(filter);
	return STATUS_SUCCESS;
}

static const FLT_OPERATION_REGISTRATION f_ops[] = {
    {IRP_MJ_CREATE, 0, NULL, post_create, NULL},
    {IRP_MJ_OPERATION_END, 0, NULL, NULL, NULL},
};

static FLT_REGISTRATION f_reg = {
    sizeof(FLT_REGISTRATION),
    FLT_REGISTRATION_VERSION,
    0,
    NULL,
    f_ops,
    f_unload,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
};

static NTSTATUS FLTAPI f_entry(PDRIVER_OBJECT drv, PUNICODE_STRING regpath)
{
	(void)regpath;
	return fx_register_and_start(drv, &f_reg, &filter);
}

/* ---- the processes ---------------------------------------------------------------------------- */

static pid_t pids[NREN + NOPEN + 2];
static unsigned long long file_ino[NREN], dir_ino;

static int dir_renamer(void)
{
	int i, fd, bad = 0;

	for (i = 0; i < ROUNDS; i++) {
		const char *from = i % 2 ? "D2" : "D1", *to = i % 2 ? "D1" : "D2";

		if (rename(from, to) < 0) {
			printf("# directory renamer: rename %s -> %s: %s\n", from, to,
			       strerror(errno));
			return 10;
		}
		fd = open(to, O_RDONLY | O_DIRECTORY);
		if (fd < 0)
			bad++;
		else
			close(fd);
	}
	return bad ? 11 : 0;
}

static int file_renamer(int n)
{
	char x[16], y[16];
	int i, fd, dfd = -1, bad = 0;

	/* The directory is D1 or D2, whichever exists now (the renamer keeps the descriptor). */
	for (i = 0; i < 100 && dfd < 0; i++)
		dfd = open(i % 2 ? "D2" : "D1", O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return 20;
	snprintf(x, sizeof(x), "x%d", n);
	snprintf(y, sizeof(y), "y%d", n);
	for (i = 0; i < ROUNDS; i++) {
		const char *from = i % 2 ? y : x, *to = i % 2 ? x : y;

		if (renameat(dfd, from, dfd, to) < 0) {
			printf("# renamer %d: renameat %s -> %s: %s\n", n, from, to,
			       strerror(errno));
			return 21;
		}
		fd = openat(dfd, to, O_RDONLY);
		if (fd < 0)
			bad++;
		else
			close(fd);
	}
	close(dfd);
	return bad ? 22 : 0;
}

static int unlinker(void)
{
	int i, fd, bad = 0;

	for (i = 0; i < ROUNDS; i++) {
		fd = open("u", O_RDWR | O_CREAT | O_EXCL, 0644);
		if (fd < 0)
			return 30;
		if (unlink("u") < 0)
			return 31;
		if (open("u", O_RDONLY) >= 0)
			bad++;
		close(fd);
	}
	return bad ? 32 : 0;
}

static int opener(int seed)
{
	static const char *const dirs[] = {"D1", "D2"};
	unsigned s = (unsigned)seed * 2654435761u;
	time_t end = time(NULL) + 30;
	int i, fd, opened = 0;

	for (i = 0; i < 4000 && time(NULL) < end; i++) {
		char p[32];

		s = s * 1103515245u + 12345u;
		snprintf(p, sizeof(p), "%s/%c%u", dirs[(s >> 8) & 1], (s >> 9) & 1 ? 'x' : 'y',
			 (s >> 10) % NREN);
		fd = open(p, O_RDONLY);
		if (fd >= 0) {
			opened++;
			close(fd);
		}
		if (kill(getppid(), 0) < 0)
			break;
		/* Stop once every renamer is done (the parent tells by removing "run"). */
		if ((i & 63) == 0 && access("run", F_OK) < 0)
			break;
	}
	return opened ? 0 : 40;
}

static pid_t spawn(int (*fn)(int), int arg)
{
	pid_t p;

	fflush(stdout);
	p = fork();
	if (p == 0) {
		alarm(60);
		if (chdir(volpath) < 0)
			_exit(2);
		_exit(fn(arg));
	}
	return p;
}

static int dir_renamer_(int a)
{
	(void)a;
	return dir_renamer();
}

static int unlinker_(int a)
{
	(void)a;
	return unlinker();
}

/* ---- the checks --------------------------------------------------------------------------- */

static bool dir_ok(const char *s, size_t n)
{
	return n == 3 && s[0] == '\\' && s[1] == 'D' && (s[2] == '1' || s[2] == '2');
}

/* A name file i really had: \D1|D2\x<i>|y<i>. */
static bool file_name_ok(const char *s, int i)
{
	char want[8];

	if (strlen(s) < 5 || !dir_ok(s, 3) || s[3] != '\\')
		return false;
	snprintf(want, sizeof(want), "%d", i);
	return (s[4] == 'x' || s[4] == 'y') && !strcmp(s + 5, want);
}

static int role_of(int pid)
{
	int i;

	for (i = 0; i < NREN + NOPEN + 2; i++)
		if (pids[i] == pid)
			return i;
	return -1;
}

static void t_concurrent(void)
{
	int i, n, status, failed = 0, bad_names = 0, stale = 0, checked = 0, unknown = 0;
	int seen[NREN + 2] = {0}, plain[NREN + 2] = {0};
	char runp[256];

	snprintf(runp, sizeof(runp), "%s/run", volpath);
	close(open(runp, O_WRONLY | O_CREAT, 0644));
	atomic_store(&nrec, 0);
	/* Roles: 0..NREN-1 file renamers, NREN the directory renamer, NREN+1 the unlinker. */
	for (i = 0; i < NREN; i++)
		pids[i] = spawn(file_renamer, i);
	pids[NREN] = spawn(dir_renamer_, 0);
	pids[NREN + 1] = spawn(unlinker_, 0);
	for (i = 0; i < NOPEN; i++)
		pids[NREN + 2 + i] = spawn(opener, i + 1);
	for (i = 0; i < NREN + 2; i++) {
		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			printf("# worker %d: status 0x%x\n", i, status);
			failed++;
		}
	}
	unlink(runp);
	for (i = NREN + 2; i < NREN + NOPEN + 2; i++) {
		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			printf("# opener %d: status 0x%x\n", i, status);
			failed++;
		}
	}
	TAP_EQ_INT(failed, 0);
	n = atomic_load(&nrec);
	TAP_EQ_INT(atomic_load(&n_lost), 0);
	if (n > MAXREC)
		n = MAXREC;
	printf("# %d creates recorded\n", n);
	for (i = 0; i < n; i++) {
		struct rec *r = &recs[i];
		int role = role_of(r->pid), f = -1, k;

		for (k = 0; k < NREN; k++)
			if (file_ino[k] && r->ino == file_ino[k])
				f = k;
		if (!NT_SUCCESS(r->nst) || !NT_SUCCESS(r->ost)) {
			/* Only the unlinker's file may lose its name (then the opened name). */
			if (role != NREN + 1) {
				if (bad_names++ < 10)
					printf("# name query failed: 0x%08x 0x%08x %s\n",
					       (unsigned)r->nst, (unsigned)r->ost, r->opened);
			}
			continue;
		}
		if (f >= 0) {
			checked++;
			if (!file_name_ok(r->norm, f) || !file_name_ok(r->opened, f)) {
				if (bad_names++ < 10)
					printf("# file %d named %s (opened %s)\n", f, r->norm,
					       r->opened);
			}
		} else if (r->ino == dir_ino) {
			checked++;
			if (!dir_ok(r->norm, strlen(r->norm)) ||
			    !dir_ok(r->opened, strlen(r->opened))) {
				if (bad_names++ < 10)
					printf("# directory named %s (opened %s)\n", r->norm,
					       r->opened);
			}
		} else if (role == NREN + 1) {
			if (strcmp(r->norm, "\\u") && strcmp(r->opened, "\\u") && bad_names++ < 10)
				printf("# unlinker's file named %s (opened %s)\n", r->norm,
				       r->opened);
		} else if (strcmp(r->norm, "\\run") && strcmp(r->norm, "\\")) {
			unknown++;
		}
		/*
		 * The renamers' own creates, in order: after k renames (k plain opens seen),
		 * the source open of rename k+1 (DELETE; retried when a directory rename made
		 * its path stale) sees the name rename k gave, and so does the open after rename
		 * k+1 ... : plain open k sees x for k odd, y for k even; a source open after k
		 * plain opens sees x for k even, y for k odd.
		 */
		if (role >= 0 && role <= NREN && (role == NREN ? r->dir : f == role)) {
			const char *last = strrchr(r->norm, '\\');
			int j = r->del ? plain[role] : plain[role]++;
			int after = r->del ? j % 2 : !(j % 2);
			char want[8];

			seen[role]++;

			if (role == NREN)
				snprintf(want, sizeof(want), "D%d", after ? 2 : 1);
			else
				snprintf(want, sizeof(want), "%c%d", after ? 'y' : 'x', role);
			if (!last || strcmp(last + 1, want)) {
				if (stale++ < 10)
					printf("# renamer %d, create %d: %s, expected %s\n", role,
					       j, r->norm, want);
			}
		}
	}
	printf("# %d names checked, renamer creates:", checked);
	for (i = 0; i <= NREN; i++)
		printf(" %d", seen[i]);
	printf("\n");
	TAP_EQ_INT(bad_names, 0);
	TAP_EQ_INT(stale, 0);
	TAP_EQ_INT(unknown, 0);
	for (i = 0; i <= NREN; i++) {
		TAP_EQ_INT(plain[i], ROUNDS);
		TAP_CHECK(seen[i] >= 2 * ROUNDS);
	}
	TAP_CHECK(checked > 2 * NREN * ROUNDS);
}

/* After the storm, each name the volume gives is the file's final name. */
static void t_final_names(void)
{
	char p[256];
	struct stat st;
	int i;

	/* ROUNDS is even: everything is back under its first name. */
	for (i = 0; i < NREN; i++) {
		snprintf(p, sizeof(p), "%s/D1/x%d", volpath, i);
		TAP_CHECK(stat(p, &st) == 0 && st.st_ino == file_ino[i]);
	}
	snprintf(p, sizeof(p), "%s/u", volpath);
	TAP_CHECK(access(p, F_OK) < 0 && errno == ENOENT);
}

/* Did the filter get a name whose last component is exactly `want` (n units)? */
static bool captured(const WCHAR *want, size_t n)
{
	int i, c = atomic_load(&ncap);

	for (i = 0; i < c && i < NCAP; i++) {
		size_t l = cap_len[i];

		if (l > n && cap_name[i][l - n - 1] == L'\\' &&
		    !memcmp(cap_name[i] + l - n, want, n * sizeof(WCHAR)))
			return true;
	}
	return false;
}

/*
 * Names a filter gets for Linux names NT cannot spell (docs/names.md): forbidden characters as
 * U+F000 + byte, bytes that are not UTF-8 as U+DC00 + byte, the UTF-8 of U+F03A as three
 * escaped bytes, a 255-byte name as 255 units.
 */
static void t_odd_names(void)
{
	static const char *const names[] = {"a:b*c?d\"e<f>g|h\\i", "\xff\xfe", "caf\xc3\xa9",
					    "\xef\x80\xba", "tab\there"};
	static const WCHAR w0[] = {'a', 0xf03a, 'b', 0xf02a, 'c', 0xf03f, 'd', 0xf022, 'e', 0xf03c,
				   'f', 0xf03e, 'g', 0xf07c, 'h', 0xf05c, 'i'};
	static const WCHAR w1[] = {0xdcff, 0xdcfe};
	static const WCHAR w2[] = {'c', 'a', 'f', 0xe9};
	static const WCHAR w3[] = {0xdcef, 0xdc80, 0xdcba};
	static const WCHAR w4[] = {'t', 'a', 'b', 0xf009, 'h', 'e', 'r', 'e'};
	static WCHAR wl[255];
	char longname[256];
	pid_t pid;
	int status = -1;
	size_t i;

	memset(longname, 'L', 255);
	longname[255] = '\0';
	for (i = 0; i < 255; i++)
		wl[i] = 'L';
	atomic_store(&ncap, 0);
	atomic_store(&capture, 1);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int bad = 0;

		if (chdir(volpath) < 0)
			_exit(2);
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			int fd = open(names[i], O_WRONLY | O_CREAT | O_EXCL, 0644);

			bad += fd < 0;
			close(fd);
		}
		bad += close(open(longname, O_WRONLY | O_CREAT | O_EXCL, 0644)) < 0;
		_exit(bad);
	}
	waitpid(pid, &status, 0);
	atomic_store(&capture, 0);
	TAP_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	TAP_CHECK(captured(w0, sizeof(w0) / sizeof(WCHAR)));
	TAP_CHECK(captured(w1, sizeof(w1) / sizeof(WCHAR)));
	TAP_CHECK(captured(w2, sizeof(w2) / sizeof(WCHAR)));
	TAP_CHECK(captured(w3, sizeof(w3) / sizeof(WCHAR)));
	TAP_CHECK(captured(w4, sizeof(w4) / sizeof(WCHAR)));
	TAP_CHECK(captured(wl, 255));
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char p[300];

		snprintf(p, sizeof(p), "%s/%s", volpath, names[i]);
		TAP_CHECK(unlink(p) == 0);
	}
}

int main(void)
{
	char p[256];
	struct stat st;
	int r, i;

	r = vf_begin("concurrent names", "names", 150, base, sizeof(base), volpath,
		     sizeof(volpath));
	if (r)
		return r > 0 ? tap_done() : 1;
	recs = calloc(MAXREC, sizeof(*recs));
	if (!recs) {
		printf("Bail out! setup\n");
		return 1;
	}
	snprintf(p, sizeof(p), "%s/D1", volpath);
	mkdir(p, 0755);
	if (stat(p, &st) == 0)
		dir_ino = st.st_ino;
	for (i = 0; i < NREN; i++) {
		snprintf(p, sizeof(p), "%s/D1/x%d", volpath, i);
		close(open(p, O_WRONLY | O_CREAT, 0644));
		if (stat(p, &st) == 0)
			file_ino[i] = st.st_ino;
	}
	if (vf_load("namestest", "370000", f_entry) < 0 || vf_mount(volpath, &vol) < 0)
		return 1;
	TAP_RUN(t_odd_names);
	TAP_RUN(t_concurrent);
	TAP_RUN(t_final_names);
	vf_end(vol, base);
	free(recs);
	return tap_done();
}
