/*
 * The dispatch hot path (issue 7): no allocation per IRP_MJ_READ or IRP_MJ_QUERY_INFORMATION
 * through the core and the real lower file system with 0 and 1 no-op filters; and teardown
 * stays safe without the locks the hot path no longer takes (operations on other threads while
 * the filter is detached and attached again, over and over).
 */
#include "core/core.h"
#include "core/registry.h"
#include "common/alloc.h"
#include "common/log.h"
#include "volume/lowerfs.h"

#include "core_fixture.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Every malloc, calloc, realloc and free of the process, libc's included, is counted per
 * thread while `counting` is set: the test binary's definitions interpose on libc's (the
 * library calls them through the PLT) and forward to glibc's own entry points.  Sanitizers
 * own the allocator: under them only the library's fm_* allocations are counted.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define COUNT_LIBC 0
#else
#define COUNT_LIBC 1
#endif

static __thread bool counting;
static __thread unsigned long libc_calls;

#if COUNT_LIBC
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void __libc_free(void *p);
void *__libc_memalign(size_t align, size_t size);

void *malloc(size_t size)
{
	if (counting)
		libc_calls++;
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	if (counting)
		libc_calls++;
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	if (counting)
		libc_calls++;
	return __libc_realloc(p, size);
}

void free(void *p)
{
	if (counting && p)
		libc_calls++;
	__libc_free(p);
}

int posix_memalign(void **out, size_t align, size_t size)
{
	void *p;

	if (counting)
		libc_calls++;
	p = __libc_memalign(align, size);
	if (!p)
		return 12; /* ENOMEM */
	*out = p;
	return 0;
}

void *aligned_alloc(size_t align, size_t size)
{
	if (counting)
		libc_calls++;
	return __libc_memalign(align, size);
}
#endif

static char dir[64];
static struct fm_volume *vol;
static struct fm_lower *lower;
static PFILE_OBJECT fo;

/* ---- The no-op filter ---- */

static PFLT_FILTER filter;
static atomic_long pres, posts, drained, violations, in_callback;
static atomic_bool alive;

static void callback_enter(void)
{
	if (!atomic_load(&alive))
		atomic_fetch_add(&violations, 1);
	atomic_fetch_add(&in_callback, 1);
}

static FLT_PREOP_CALLBACK_STATUS noop_pre(PFLT_CALLBACK_DATA d, PCFLT_RELATED_OBJECTS o, PVOID *ctx)
{
	(void)d;
	(void)o;
	callback_enter();
	atomic_fetch_add(&pres, 1);
	*ctx = (PVOID)0x5a;
	atomic_fetch_sub(&in_callback, 1);
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS noop_post(PFLT_CALLBACK_DATA d, PCFLT_RELATED_OBJECTS o,
					    PVOID ctx, FLT_POST_OPERATION_FLAGS flags)
{
	(void)d;
	(void)o;
	callback_enter();
	if (ctx != (PVOID)0x5a)
		atomic_fetch_add(&violations, 1);
	atomic_fetch_add(&posts, 1);
	if (flags & FLTFL_POST_OPERATION_DRAINING)
		atomic_fetch_add(&drained, 1);
	atomic_fetch_sub(&in_callback, 1);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static NTSTATUS noop_setup(PCFLT_RELATED_OBJECTS o, FLT_INSTANCE_SETUP_FLAGS f, DEVICE_TYPE dt,
			   FLT_FILESYSTEM_TYPE fs)
{
	(void)o;
	(void)f;
	(void)dt;
	(void)fs;
	atomic_store(&alive, true);
	return STATUS_SUCCESS;
}

static void noop_teardown_complete(PCFLT_RELATED_OBJECTS o, FLT_INSTANCE_TEARDOWN_FLAGS r)
{
	(void)o;
	(void)r;
	/* R29: nothing of the instance runs any more, and nothing will. */
	if (atomic_load(&in_callback) != 0)
		atomic_fetch_add(&violations, 1);
	atomic_store(&alive, false);
}

static NTSTATUS noop_query_teardown(PCFLT_RELATED_OBJECTS o, FLT_INSTANCE_QUERY_TEARDOWN_FLAGS f)
{
	(void)o;
	(void)f;
	return STATUS_SUCCESS;
}

static NTSTATUS noop_unload(FLT_FILTER_UNLOAD_FLAGS flags)
{
	(void)flags;
	FltUnregisterFilter(filter);
	return STATUS_SUCCESS;
}

static const FLT_OPERATION_REGISTRATION noop_ops[] = {
    {IRP_MJ_CREATE, 0, noop_pre, noop_post, NULL},
    {IRP_MJ_READ, 0, noop_pre, noop_post, NULL},
    {IRP_MJ_QUERY_INFORMATION, 0, noop_pre, noop_post, NULL},
    {IRP_MJ_CLEANUP, 0, noop_pre, noop_post, NULL},
    {IRP_MJ_CLOSE, 0, noop_pre, noop_post, NULL},
    {IRP_MJ_OPERATION_END, 0, NULL, NULL, NULL},
};

static const FLT_REGISTRATION noop_reg = {
    .Size = sizeof(FLT_REGISTRATION),
    .Version = FLT_REGISTRATION_VERSION,
    .OperationRegistration = noop_ops,
    .FilterUnloadCallback = noop_unload,
    .InstanceSetupCallback = noop_setup,
    .InstanceQueryTeardownCallback = noop_query_teardown,
    .InstanceTeardownCompleteCallback = noop_teardown_complete,
};

static NTSTATUS noop_entry(PDRIVER_OBJECT drv, PUNICODE_STRING regpath)
{
	(void)regpath;
	return fx_register_and_start(drv, &noop_reg, &filter);
}

/* ---- Operations ---- */

static const struct fm_requestor who = {.pid = 4242, .uid = 0, .gid = 0, .umask = 022};

static NTSTATUS do_read(void)
{
	char buf[4096]; /* each thread reads into its own */
	struct fm_irp irp;
	NTSTATUS st;

	fm_irp_init(&irp, vol, IRP_MJ_READ, 0, fo, &who);
	irp.data.Iopb->Parameters.Read.Length = sizeof(buf);
	irp.data.Iopb->Parameters.Read.ByteOffset.QuadPart = 0;
	irp.data.Iopb->Parameters.Read.ReadBuffer = buf;
	st = fm_irp_dispatch(&irp);
	fm_irp_cleanup(&irp);
	return st;
}

static NTSTATUS do_query(FILE_INFORMATION_CLASS cls)
{
	union {
		FILE_STANDARD_INFORMATION std;
		FILE_BASIC_INFORMATION basic;
		FILE_NETWORK_OPEN_INFORMATION net;
		char raw[512];
	} out;
	struct fm_irp irp;
	NTSTATUS st;

	fm_irp_init(&irp, vol, IRP_MJ_QUERY_INFORMATION, 0, fo, &who);
	irp.data.Iopb->Parameters.QueryFileInformation.FileInformationClass = cls;
	irp.data.Iopb->Parameters.QueryFileInformation.Length = sizeof(out);
	irp.data.Iopb->Parameters.QueryFileInformation.InfoBuffer = &out;
	st = fm_irp_dispatch(&irp);
	fm_irp_cleanup(&irp);
	return st;
}

static NTSTATUS simple(UCHAR major)
{
	struct fm_irp irp;
	NTSTATUS st;

	fm_irp_init(&irp, vol, major, 0, fo, &who);
	st = fm_irp_dispatch(&irp);
	fm_irp_cleanup(&irp);
	return st;
}

static NTSTATUS open_file(void)
{
	IO_SECURITY_CONTEXT sc;
	struct fm_irp irp;
	NTSTATUS st;

	fo = fm_file_object_alloc(vol, u"\\f.txt", 6);
	if (!fo)
		return STATUS_INSUFFICIENT_RESOURCES;
	memset(&sc, 0, sizeof(sc));
	sc.DesiredAccess = FILE_READ_DATA | FILE_READ_ATTRIBUTES | SYNCHRONIZE;
	fm_irp_init(&irp, vol, IRP_MJ_CREATE, 0, fo, &who);
	irp.data.Iopb->Parameters.Create.SecurityContext = &sc;
	irp.data.Iopb->Parameters.Create.Options =
	    ((ULONG)FILE_OPEN << 24) | FILE_NON_DIRECTORY_FILE | FILE_SYNCHRONOUS_IO_NONALERT;
	irp.data.Iopb->Parameters.Create.ShareAccess = FILE_SHARE_READ | FILE_SHARE_WRITE;
	st = fm_irp_dispatch(&irp);
	fm_irp_cleanup(&irp);
	return st;
}

static void close_file(void)
{
	simple(IRP_MJ_CLEANUP);
	simple(IRP_MJ_CLOSE);
	fm_file_object_free(fo);
	fo = NULL;
}

/* Allocations (library, and libc when counted) per operation over n operations. */
struct allocs {
	unsigned long fm, libc;
	bool failed;
};

static struct allocs count_ops(int which, long n)
{
	struct allocs a = {0, 0, false};
	unsigned long fm0;

	/* Warm: the first operation of a thread registers it, and sees the process object. */
	a.failed |= (which == 0 ? do_read() : do_query(FileStandardInformation)) != STATUS_SUCCESS;
	libc_calls = 0;
	fm0 = fm_alloc_thread_count();
	counting = true;
	for (long i = 0; i < n; i++) {
		NTSTATUS st;

		if (which == 0)
			st = do_read();
		else
			st = do_query(i % 3 == 0   ? FileStandardInformation
				      : i % 3 == 1 ? FileBasicInformation
						   : FileNetworkOpenInformation);
		if (st != STATUS_SUCCESS)
			a.failed = true;
	}
	counting = false;
	a.fm = fm_alloc_thread_count() - fm0;
	a.libc = libc_calls;
	return a;
}

static void check_no_allocs(const char *what)
{
	const long n = 2000;
	struct allocs r = count_ops(0, n), q = count_ops(1, n);

	TAP_CHECK(!r.failed && !q.failed);
	printf("# %s: %ld reads: %lu fm allocations, %lu libc calls%s; %ld queries: %lu, %lu\n",
	       what, n, r.fm, r.libc, COUNT_LIBC ? "" : " (not counted under sanitizers)", n, q.fm,
	       q.libc);
	TAP_CHECK(r.fm == 0);
	TAP_CHECK(r.libc == 0);
	TAP_CHECK(q.fm == 0);
	TAP_CHECK(q.libc == 0);
}

static void t_no_allocation(void)
{
	char msg[256] = "";
	NTSTATUS st;

	TAP_CHECK(open_file() == STATUS_SUCCESS);
	check_no_allocs("0 filters");
	st = fm_filter_load_builtin("hotnoop", noop_entry, msg, sizeof(msg));
	if (!NT_SUCCESS(st))
		printf("# load: 0x%08x %s\n", (unsigned int)st, msg);
	TAP_CHECK(NT_SUCCESS(st));
	TAP_CHECK(!fm_volume_unfiltered(vol, IRP_MJ_READ));
	check_no_allocs("1 filter");
	TAP_CHECK(atomic_load(&pres) > 0 && atomic_load(&pres) == atomic_load(&posts));
}

/*
 * File objects (one per open, and per IRP_MJ_QUERY_OPEN of a lookup or getattr) come from a
 * per-thread cache: none allocated once warm, except under AddressSanitizer (no cache).  A
 * whole open + cleanup + close through the lower is reported, not required to be 0: the lower
 * allocates its handle.
 */
static void t_file_objects(void)
{
	PFILE_OBJECT saved = fo, tmp;
	unsigned long fm0, opens_fm, opens_libc;

	tmp = fm_file_object_alloc(vol, u"\\f.txt", 6);
	fm_file_object_free(tmp);
	libc_calls = 0;
	fm0 = fm_alloc_thread_count();
	counting = true;
	for (int i = 0; i < 1000; i++) {
		tmp = fm_file_object_alloc(vol, u"\\some\\longer\\name.txt", 21);
		fm_file_object_free(tmp);
	}
	counting = false;
	printf("# 1000 file objects: %lu fm allocations, %lu libc calls\n",
	       fm_alloc_thread_count() - fm0, libc_calls);
#if !defined(__SANITIZE_ADDRESS__)
	TAP_CHECK(fm_alloc_thread_count() - fm0 == 0);
	TAP_CHECK(libc_calls == 0);
#endif
	libc_calls = 0;
	fm0 = fm_alloc_thread_count();
	counting = true;
	for (int i = 0; i < 100; i++) {
		TAP_CHECK(open_file() == STATUS_SUCCESS);
		close_file();
	}
	counting = false;
	opens_fm = fm_alloc_thread_count() - fm0;
	opens_libc = libc_calls;
	printf("# 100 opens + cleanups + closes (1 filter): %lu fm allocations, %lu libc calls\n",
	       opens_fm, opens_libc);
	fo = saved;
}

/* ---- Teardown while other threads dispatch ---- */

static atomic_bool stop;
static atomic_long reader_ops, reader_errors;

static void *reader(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		if (do_read() != STATUS_SUCCESS ||
		    do_query(FileStandardInformation) != STATUS_SUCCESS)
			atomic_fetch_add(&reader_errors, 1);
		atomic_fetch_add(&reader_ops, 2);
	}
	return NULL;
}

static void t_teardown_under_load(void)
{
	const char *dev = fm_volume_device_name(vol);
	pthread_t th[3];
	int cycles = 0, failures = 0;
	char msg[256];

	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, reader, NULL);
	for (int i = 0; i < 150; i++) {
		msg[0] = '\0';
		if (!NT_SUCCESS(fm_instance_detach("hotnoop", dev, NULL, msg, sizeof(msg))) &&
		    failures++ < 3)
			printf("# detach: %s\n", msg);
		usleep(200);
		msg[0] = '\0';
		if (!NT_SUCCESS(fm_instance_attach("hotnoop", dev, NULL, NULL, msg, sizeof(msg))) &&
		    failures++ < 3)
			printf("# attach: %s\n", msg);
		usleep(200);
		cycles++;
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	printf("# %d detach/attach cycles under %ld operations: %ld pre, %ld post (%ld draining)\n",
	       cycles, atomic_load(&reader_ops), atomic_load(&pres), atomic_load(&posts),
	       atomic_load(&drained));
	TAP_CHECK(failures == 0);
	TAP_CHECK(atomic_load(&reader_errors) == 0);
	TAP_CHECK(atomic_load(&violations) == 0);
	/* Every pre-operation that asked for its post-operation got exactly one. */
	TAP_CHECK(atomic_load(&pres) == atomic_load(&posts));
	TAP_CHECK(atomic_load(&in_callback) == 0);
}

int main(void)
{
	struct fm_volume_params p;
	char cmd[128], path[128];
	int fd, r;

	fm_log_open(NULL, FM_LOG_WARN);
	snprintf(dir, sizeof(dir), "/tmp/fm-hotpath-XXXXXX");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/f.txt", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "hot path\n", 9) != 9) {
		printf("Bail out! %s\n", path);
		return 1;
	}
	close(fd);
	r = fm_reg_init(NULL);
	if (r == 0)
		r = fm_core_init();
	if (r == 0)
		fx_reg_service("hotnoop", "370100", 0);
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r == 0)
		r = fm_lower_create(fd, &lower);
	memset(&p, 0, sizeof(p));
	p.mount_point = dir;
	p.backing_dir = dir;
	p.backing_fs = "tmpfs";
	p.lower = &fm_lowerfs_ops;
	p.lower_ctx = lower;
	if (r == 0)
		r = fm_volume_create(&p, &vol);
	if (r < 0) {
		printf("Bail out! setup: %s\n", strerror(-r));
		return 1;
	}
	TAP_RUN(t_no_allocation);
	TAP_RUN(t_file_objects);
	TAP_RUN(t_teardown_under_load);
	close_file();
	fm_filter_unload("hotnoop", true, NULL, 0);
	fm_volume_destroy(vol);
	fm_lower_destroy(lower);
	fm_core_shutdown();
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
