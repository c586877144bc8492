/* Integration: the `cached` policy is the kernel's write-back cache; what filters see of it. */
#include "vol_fixture.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>

/*
 * A filter built into the test counts, for files whose name starts with "wb", the stats that
 * reach it (IRP_MJ_QUERY_OPEN for a stat by name, IRP_MJ_QUERY_INFORMATION for one by handle:
 * one per FUSE GETATTR) and the reads and writes, paging or not.  The same script runs on a
 * volume mounted with `--cache auto` and one with `--cache cached` (docs/volume.md, "Cache
 * policy"): with `auto` every write reaches the filter as the process makes it and the stat
 * that follows costs a request; with `cached` the write stays in the page cache, the stat
 * costs nothing, and the data reaches the filter as a paging write (IRP_PAGING_IO |
 * IRP_NOCACHE) when the kernel writes it back (here: at fsync and close).
 */

static PFLT_FILTER filter;
static atomic_int n_stat, n_write_user, n_write_paging, n_write_badflags, n_read_paging;
static atomic_int n_read_user;
static atomic_ulong paging_pid;
static char base[64], volpath[128], mnt[128];

static bool is_wb(PFILE_OBJECT fo)
{
	const WCHAR *b = fo ? fo->FileName.Buffer : NULL;
	size_t n = fo ? fo->FileName.Length / sizeof(WCHAR) : 0;

	/* "\wb..." relative to the volume */
	return b && n >= 3 && b[0] == L'\\' && b[1] == L'w' && b[2] == L'b';
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI pre(PFLT_CALLBACK_DATA data, PCFLT_RELATED_OBJECTS objs,
					    PVOID *ctx)
{
	PFLT_IO_PARAMETER_BLOCK iopb = data->Iopb;
	ULONG f = iopb->IrpFlags;
	bool paging = (f & IRP_PAGING_IO) != 0;

	*ctx = NULL;
	if (!is_wb(objs->FileObject))
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	switch (iopb->MajorFunction) {
	case IRP_MJ_QUERY_OPEN:
	case IRP_MJ_QUERY_INFORMATION:
		atomic_fetch_add(&n_stat, 1);
		break;
	case IRP_MJ_WRITE:
		if (!(f & IRP_NOCACHE))
			atomic_fetch_add(&n_write_badflags, 1);
		if (paging) {
			atomic_fetch_add(&n_write_paging, 1);
			atomic_store(&paging_pid, FltGetRequestorProcessId(data));
		} else {
			atomic_fetch_add(&n_write_user, 1);
		}
		break;
	case IRP_MJ_READ:
		atomic_fetch_add(paging ? &n_read_paging : &n_read_user, 1);
		break;
	default:
		break;
	}
	return FLT_PREOP_SUCCESS_NO_CALLBACK;
}

static NTSTATUS FLTAPI f_unload(FLT_FILTER_UNLOAD_FLAGS flags)
{
	(void)flags;
	FltUnregisterFilter(filter);
	return STATUS_SUCCESS;
}

static const FLT_OPERATION_REGISTRATION f_ops[] = {
    {IRP_MJ_QUERY_OPEN, 0, pre, NULL, NULL},	 {IRP_MJ_QUERY_INFORMATION, 0, pre, NULL, NULL},
    {IRP_MJ_READ, 0, pre, NULL, NULL},		 {IRP_MJ_WRITE, 0, pre, NULL, NULL},
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

static void counters_reset(void)
{
	atomic_store(&n_stat, 0);
	atomic_store(&n_write_user, 0);
	atomic_store(&n_write_paging, 0);
	atomic_store(&n_write_badflags, 0);
	atomic_store(&n_read_paging, 0);
	atomic_store(&n_read_user, 0);
	atomic_store(&paging_pid, ~0UL);
}

/* The backing file's bytes [off, off + len) equal `want`. */
static bool backing_is(const char *back, const char *name, off_t off, const void *want, size_t len)
{
	char p[256], *buf = malloc(len ? len : 1);
	bool ok;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", back, name);
	fd = open(p, O_RDONLY);
	ok = buf && fd >= 0 && pread(fd, buf, len, off) == (ssize_t)len && !memcmp(buf, want, len);
	if (fd >= 0)
		close(fd);
	free(buf);
	return ok;
}

static off_t backing_size(const char *back, const char *name)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", back, name);
	return stat(p, &st) == 0 ? st.st_size : -1;
}

/* One policy: mount `back` on `mnt` with it, the checks, unmount. */
static void run_policy(const char *policy)
{
	bool cached = strcmp(policy, "cached") == 0;
	struct fm_vol_options vopts;
	struct fm_vol *vol = NULL;
	char back[160], p[256], desc[128];
	static char page[8192], part[10], got[8192];
	struct stat st, bst;
	int fd, n, r;
	void *m;

	snprintf(back, sizeof(back), "%s/%s-back", base, policy);
	snprintf(mnt, sizeof(mnt), "%s/%s-mnt", base, policy); /* the time-out detaches it */
	mkdir(back, 0755);
	mkdir(mnt, 0755);
	memset(&vopts, 0, sizeof(vopts));
	TAP_EQ_INT(fm_vol_cache_policy_parse(policy, &vopts.cache), 0);
	r = fm_vol_mount(back, mnt, &vopts, &vol);
	TAP_EQ_INT(r, 0);
	if (r < 0)
		return;
	fm_vol_cache_describe(vol, desc, sizeof(desc));
	printf("# %s: %s\n", policy, desc);
	if (cached && !strstr(desc, "write-back")) {
		/* A kernel without FUSE_WRITEBACK_CACHE: `cached` writes through. */
		tap_skip("write-back cache", "the kernel did not offer FUSE_WRITEBACK_CACHE");
		fm_vol_unmount(vol);
		return;
	}
	TAP_CHECK(cached ? strstr(desc, "passthrough off") != NULL : !strstr(desc, "write-back"));

	/* 1. A write, then a stat by name and one by handle. */
	memset(page, 'a', sizeof(page));
	counters_reset();
	snprintf(p, sizeof(p), "%s/wb1", mnt);
	fd = open(p, O_CREAT | O_RDWR, 0644);
	TAP_CHECK(fd >= 0);
	TAP_CHECK(stat(p, &st) == 0);
	TAP_EQ_INT(pwrite(fd, page, 4096, 0), 4096);
	n = atomic_load(&n_stat);
	TAP_CHECK(stat(p, &st) == 0 && st.st_size == 4096);
	TAP_CHECK(fstat(fd, &st) == 0 && st.st_size == 4096);
	printf("# %s: a stat and an fstat after a write reached the filter %d times\n", policy,
	       atomic_load(&n_stat) - n);
	TAP_EQ_INT(atomic_load(&n_stat) - n, cached ? 0 : 1);
	/* The write itself: at once (auto), or only at write-back (cached). */
	TAP_EQ_INT(atomic_load(&n_write_user), cached ? 0 : 1);
	TAP_EQ_INT(atomic_load(&n_write_paging), 0);
	TAP_CHECK(fsync(fd) == 0);
	TAP_EQ_INT(atomic_load(&n_write_paging), cached ? 1 : 0);
	TAP_EQ_INT(atomic_load(&n_write_badflags), 0);
	if (cached)
		printf("# cached: the paging write's requestor pid is %lu\n",
		       atomic_load(&paging_pid));
	TAP_CHECK(backing_is(back, "wb1", 0, page, 4096));
	/* A write past the end of file, then a truncation below it. */
	TAP_EQ_INT(pwrite(fd, "z", 1, 10000), 1);
	TAP_CHECK(fstat(fd, &st) == 0 && st.st_size == 10001);
	TAP_CHECK(ftruncate(fd, 5000) == 0);
	TAP_CHECK(fstat(fd, &st) == 0 && st.st_size == 5000);
	TAP_CHECK(close(fd) == 0);
	TAP_EQ_INT(backing_size(back, "wb1"), 5000);
	TAP_CHECK(backing_is(back, "wb1", 0, page, 4096));
	/* The kernel is authoritative for mtime with the write-back cache: it writes it back at
	 * close (within the 100 ns of NT times). */
	snprintf(p, sizeof(p), "%s/wb1", back);
	TAP_CHECK(stat(p, &bst) == 0);
	snprintf(p, sizeof(p), "%s/wb1", mnt);
	TAP_CHECK(stat(p, &st) == 0);
	TAP_CHECK(st.st_mtim.tv_sec == bst.st_mtim.tv_sec &&
		  labs(st.st_mtim.tv_nsec - bst.st_mtim.tv_nsec) < 100);

	/* 2. Part of a page through a write-only handle: the kernel reads the rest of the page
	 * first (a paging read through that handle), and nothing else changes. */
	memset(page, 'p', sizeof(page));
	snprintf(p, sizeof(p), "%s/wb2", back);
	fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	TAP_CHECK(fd >= 0 && write(fd, page, sizeof(page)) == (ssize_t)sizeof(page));
	if (fd >= 0)
		close(fd);
	counters_reset();
	memset(part, 'Q', sizeof(part));
	snprintf(p, sizeof(p), "%s/wb2", mnt);
	fd = open(p, O_WRONLY);
	TAP_CHECK(fd >= 0);
	TAP_EQ_INT(pwrite(fd, part, sizeof(part), 100), (int)sizeof(part));
	TAP_CHECK(close(fd) == 0);
	memcpy(got, page, sizeof(page));
	memcpy(got + 100, part, sizeof(part));
	TAP_CHECK(backing_is(back, "wb2", 0, got, sizeof(got)));
	if (cached)
		TAP_CHECK(atomic_load(&n_read_paging) >= 1);
	TAP_EQ_INT(atomic_load(&n_read_user), 0);

	/* 3. O_APPEND: the kernel gives the end of file it knows. */
	fd = open(p, O_WRONLY | O_APPEND);
	TAP_CHECK(fd >= 0);
	TAP_EQ_INT(write(fd, "tail", 4), 4);
	TAP_EQ_INT(write(fd, "more", 4), 4);
	TAP_CHECK(close(fd) == 0);
	TAP_EQ_INT(backing_size(back, "wb2"), (int)sizeof(page) + 8);
	TAP_CHECK(backing_is(back, "wb2", sizeof(page), "tailmore", 8));

	/* 4. A shared mapping written and synced: its pages come back as paging writes. */
	counters_reset();
	fd = open(p, O_RDWR);
	m = fd >= 0 ? mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
	TAP_CHECK(m != MAP_FAILED);
	if (m != MAP_FAILED) {
		memcpy((char *)m + 2000, "mapped", 6);
		TAP_CHECK(msync(m, 4096, MS_SYNC) == 0);
		munmap(m, 4096);
	}
	if (fd >= 0)
		close(fd);
	TAP_CHECK(backing_is(back, "wb2", 2000, "mapped", 6));
	/* Under every policy: a mapping's pages are written back from the page cache. */
	TAP_CHECK(atomic_load(&n_write_paging) >= 1);

	/* 5. Read back through the volume after the kernel dropped its pages. */
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			printf("# drop_caches: %s\n", strerror(errno));
		close(fd);
	}
	memcpy(got + 2000, "mapped", 6);
	fd = open(p, O_RDONLY);
	n = fd >= 0 ? (int)pread(fd, page, sizeof(page), 0) : -1;
	TAP_EQ_INT(n, (int)sizeof(page));
	TAP_CHECK(n == (int)sizeof(page) && !memcmp(page, got, sizeof(page)));
	if (fd >= 0)
		close(fd);

	fm_vol_unmount(vol);
}

static void t_auto(void)
{
	run_policy("auto");
}

static void t_cached(void)
{
	run_policy("cached");
}

int main(void)
{
	int r =
	    vf_begin("write-back cache", "wback", 60, base, sizeof(base), volpath, sizeof(volpath));

	if (r)
		return r > 0 ? tap_done() : 1;
	vf_mounted = mnt;
	if (vf_load("wbtest", "370000", f_entry) < 0)
		return 1;
	TAP_RUN(t_auto);
	TAP_RUN(t_cached);
	vf_end(NULL, base);
	return tap_done();
}
