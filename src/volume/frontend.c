/* The FUSE front-end: each kernel request becomes the IRP sequence a Windows file system would see. */
#include "volume/frontend.h"

#include "common/alloc.h"
#include "common/log.h"
#include "common/ntname.h"
#include "common/status.h"
#include "volume/dirinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

/* FUSE_INIT capability bits we add (kernel protocol values, 7.39 and 7.20). */
#define FE_FUSE_DIRECT_IO_ALLOW_MMAP (1ULL << 36)
#define FE_FUSE_AUTO_INVAL_DATA (1ULL << 12)
#define FE_FUSE_WRITEBACK_CACHE (1ULL << 16)

/*
 * How long the kernel may trust an entry or attributes we sent (seconds): the `direct` cache
 * policy keeps libfuse's default; `auto` trusts them longer, since every change made through
 * the volume updates or invalidates the kernel's copy itself (docs/volume.md, "Cache policy").
 */
#define STRICT_TIMEOUT 1.0
#define AUTO_TIMEOUT 30.0
#define ENTRY_TIMEOUT (fe->timeout)
#define ATTR_TIMEOUT (fe->timeout)
#define QUERY_BUF (64 * 1024)

struct fe_dirent {
	char *name;
	uint64_t ino;
	mode_t mode;
};

/* One FUSE file handle (fh): the FILE_OBJECT of the open plus the readdir cursor. */
struct fe_handle {
	struct fe_handle *prev, *next; /* fm_fe.lock */
	PFILE_OBJECT fo;
	/* Who opened it: FUSE sends the final release without a process, but filters expect
	 * IRP_MJ_CLEANUP and IRP_MJ_CLOSE to name the process that had the file open. */
	struct fm_requestor opener;
	bool dead; /* closed by a forced dismount; fm_fe.lock */
	int mode;  /* fm_lower_open_mode: backing id (passthrough), FM_OPEN_CACHED or _DIRECT */
	pthread_mutex_t lock; /* the cursor below */
	bool started, eof;
	off_t next_off; /* offset the kernel gives back to continue where we stopped */
	struct fe_dirent *pend;
	size_t npend, ipend;
};

struct fm_fe {
	struct fm_volume *vol;
	struct fm_lower *lw;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	_Atomic unsigned long inflight; /* requests between fe_enter and fe_leave */
	_Atomic bool closing;
	struct fe_handle handles; /* list head, lock */
	enum fm_cache_policy cache;
	double timeout; /* entry and attribute timeout of our replies */
	/* Kernel passthrough: the session backing ids belong to, and the opens using it. */
	struct fm_fuse_session *_Atomic pt_session;
	atomic_ulong pt_opens;
};

/* ---- bookkeeping ---------------------------------------------------------------------------- */

int fm_fe_create(struct fm_lower *lw, struct fm_fe **out)
{
	struct fm_fe *fe = fm_calloc(1, sizeof(*fe));

	if (!fe)
		return -ENOMEM;
	fe->lw = lw;
	pthread_mutex_init(&fe->lock, NULL);
	pthread_cond_init(&fe->idle, NULL);
	fe->handles.next = fe->handles.prev = &fe->handles;
	fe->timeout = AUTO_TIMEOUT;
	*out = fe;
	return 0;
}

void fm_fe_set_volume(struct fm_fe *fe, struct fm_volume *vol)
{
	fe->vol = vol;
}

void fm_fe_set_cache_policy(struct fm_fe *fe, enum fm_cache_policy policy)
{
	fe->cache = policy;
	fe->timeout = policy == FM_CACHE_DIRECT ? STRICT_TIMEOUT : AUTO_TIMEOUT;
}

unsigned long fm_fe_passthrough_opens(struct fm_fe *fe)
{
	return atomic_load(&fe->pt_opens);
}

static void fe_leave(struct fm_fe *fe);

/*
 * Every request runs between fe_enter and fe_leave, so that a dismount can wait for them.
 * No lock: the count goes up before `closing` is read, and fm_fe_shutdown sets `closing`
 * before it reads the count (both sequentially consistent), so one of the two sees the other.
 */
static bool fe_enter(struct fm_fe *fe)
{
	atomic_fetch_add(&fe->inflight, 1);
	if (!atomic_load(&fe->closing) && fe->vol) {
		/* This thread serves this volume: its lookups may keep a parent directory. */
		fm_lower_thread_keep_dirs(fe->lw);
		return true;
	}
	fe_leave(fe);
	return false;
}

static void fe_leave(struct fm_fe *fe)
{
	if (atomic_fetch_sub(&fe->inflight, 1) == 1 && atomic_load(&fe->closing)) {
		pthread_mutex_lock(&fe->lock);
		pthread_cond_broadcast(&fe->idle);
		pthread_mutex_unlock(&fe->lock);
	}
}

static struct fe_handle *fh_new(struct fm_fe *fe, PFILE_OBJECT fo, const struct fm_requestor *who)
{
	struct fe_handle *h = fm_calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->fo = fo;
	h->opener = *who;
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_lock(&fe->lock);
	h->next = &fe->handles;
	h->prev = fe->handles.prev;
	h->prev->next = h;
	fe->handles.prev = h;
	pthread_mutex_unlock(&fe->lock);
	return h;
}

static void pend_clear(struct fe_handle *h)
{
	size_t i;

	for (i = 0; i < h->npend; i++)
		fm_free(h->pend[i].name);
	fm_free(h->pend);
	h->pend = NULL;
	h->npend = h->ipend = 0;
}

static void fh_free_locked(struct fe_handle *h)
{
	h->prev->next = h->next;
	h->next->prev = h->prev;
	pend_clear(h);
	pthread_mutex_destroy(&h->lock);
	fm_free(h);
}

static struct fe_handle *fh_of(uint64_t fh)
{
	return (struct fe_handle *)(uintptr_t)fh;
}

static struct fm_fe *fe_of(struct fm_fuse_req *req)
{
	return fm_fuse_req_userdata(req);
}

static struct fm_stream *node_stream(struct fm_fe *fe, uint64_t nodeid)
{
	return nodeid == 1 ? fm_lower_root(fe->lw) : (struct fm_stream *)(uintptr_t)nodeid;
}

static uint64_t node_id(struct fm_fe *fe, struct fm_stream *s)
{
	return s == fm_lower_root(fe->lw) ? 1 : (uint64_t)(uintptr_t)s;
}

static struct fm_requestor who_of(struct fm_fuse_req *req)
{
	const struct fm_fuse_ctx *c = fm_fuse_req_ctx(req);
	struct fm_requestor w = {c->pid, c->uid, c->gid, c->umask};

	return w;
}

static bool interrupted(void *req)
{
	return fm_fuse_req_interrupted(req);
}

/* The operation finished on whichever thread completed it: continue the request's fiber. */
static void dispatch_done(struct fm_irp *irp, void *req)
{
	(void)irp;
	fm_fuse_req_resume(req);
}

static void dispatch_cancel(void *irp)
{
	fm_irp_cancel(irp);
}

/*
 * Run an operation through the filters and the lower.  If a filter pends it, the request's
 * fiber suspends (no thread waits) and continues when the operation completes; if the process
 * gives up meanwhile (a signal: FUSE_INTERRUPT), the operation is cancelled.  A request without
 * a fiber waits in the core, which polls for the interrupt.
 */
static NTSTATUS dispatch(struct fm_irp *irp)
{
	struct fm_fuse_req *req = fm_fuse_current_req();
	NTSTATUS st;

	if (!req)
		return fm_irp_dispatch(irp);
	if (!fm_fuse_req_can_suspend(req)) {
		if (!irp->cancel_check) {
			irp->cancel_check = interrupted;
			irp->cancel_arg = req;
		}
		return fm_irp_dispatch(irp);
	}
	irp->done = dispatch_done;
	irp->done_arg = req;
	st = fm_irp_dispatch(irp);
	if (st != STATUS_PENDING)
		return st;
	fm_fuse_req_suspend(req, dispatch_cancel, irp);
	return irp->data.IoStatus.Status;
}

/* errno for a final status: the lower's exact errno when the status is still its own. */
static int status_errno(struct fm_irp *irp, NTSTATUS st)
{
	int e;

	if (NT_SUCCESS(st))
		return 0;
	e = fm_lower_last_errno(&irp->data, st);
	if (!e)
		e = fm_errno_from_status(st);
	/*
	 * The kernel takes one ENOSYS from a FUSE server as "never send this request again on
	 * this mount"; a filter's STATUS_NOT_IMPLEMENTED only fails this one (status-errno.md).
	 */
	if (e == ENOSYS)
		e = EOPNOTSUPP;
	return e ? e : EIO;
}

/* "\dir\name" for a name in a directory stream (name NULL: the stream itself). */
static int nt_path(struct fm_fe *fe, struct fm_stream *dir, const char *name, WCHAR *out,
		   size_t cap, size_t *len)
{
	char path[PATH_MAX];
	int n = fm_lower_stream_path(fe->lw, dir, path, sizeof(path));
	long w;

	if (n < 0)
		return n;
	if (name) {
		size_t nl = strlen(name);

		if ((size_t)n + nl + 2 > sizeof(path))
			return -ENAMETOOLONG;
		if (n)
			path[n++] = '/';
		memcpy(path + n, name, nl + 1);
		n += (int)nl;
	}
	out[0] = L'\\';
	if (n == 0) {
		*len = 1;
		return 0;
	}
	w = fm_name_to_nt(path, (size_t)n, (uint16_t *)out + 1, cap - 1, 1);
	if (w < 0)
		return (int)w;
	*len = (size_t)w + 1;
	return 0;
}

static void stat_from_lx(const FILE_STAT_LX_INFORMATION *b, struct stat *st)
{
	LONGLONG t[3] = {b->LastAccessTime.QuadPart, b->LastWriteTime.QuadPart,
			 b->ChangeTime.QuadPart};
	struct timespec *ts[3] = {&st->st_atim, &st->st_mtim, &st->st_ctim};
	int i;

	memset(st, 0, sizeof(*st));
	st->st_ino = (ino_t)b->FileId.QuadPart;
	st->st_mode = b->LxMode;
	st->st_nlink = b->NumberOfLinks;
	st->st_uid = b->LxUid;
	st->st_gid = b->LxGid;
	st->st_rdev = makedev(b->LxDeviceIdMajor, b->LxDeviceIdMinor);
	st->st_size = b->EndOfFile.QuadPart;
	st->st_blocks = b->AllocationSize.QuadPart / 512;
	st->st_blksize = 4096;
	for (i = 0; i < 3; i++) {
		LONGLONG rel = t[i] - 11644473600LL * 10000000LL;
		LONGLONG sec = rel / 10000000LL, rem = rel % 10000000LL;

		if (rem < 0) {
			rem += 10000000LL;
			sec--;
		}
		ts[i]->tv_sec = (time_t)sec;
		ts[i]->tv_nsec = (long)(rem * 100);
	}
}

/* ---- IRP sequences ----------------------------------------------------------------------------- */

static int do_create_dev(struct fm_fe *fe, const struct fm_requestor *who, const WCHAR *nt,
			 size_t ntlen, ULONG disp, ULONG copt, ACCESS_MASK access, long lxmode,
			 const ULONG *lxdev, PFILE_OBJECT *out, ULONG_PTR *info);

/*
 * Create redirection: a pre-create replaced FileObject->FileName and completed with
 * STATUS_REPARSE / IO_REPARSE.  The create restarts from the top of the stack on a fresh
 * FILE_OBJECT named by the new name: "\\Device\\HarddiskVolumeN\\..." of this volume (the
 * device prefix is dropped) or a volume-relative "\\...".  Another device is EXDEV.  At most
 * FE_MAX_REPARSE restarts per create, then ELOOP (STATUS_REPARSE_POINT_NOT_RESOLVED).
 */
#define FE_MAX_REPARSE 32

static int reparse_fo(struct fm_fe *fe, PFILE_OBJECT *fop)
{
	PFILE_OBJECT fo = *fop, nfo;
	const UNICODE_STRING *dev = fm_volume_device_name_w(fe->vol);
	const WCHAR *name = fo->FileName.Buffer;
	size_t len = fo->FileName.Length / sizeof(WCHAR), dl = dev->Length / sizeof(WCHAR);
	static const WCHAR device[] = u"\\Device\\", root[] = u"\\";

	if (!name || !len)
		return EINVAL;
	if (len >= dl && !memcmp(name, dev->Buffer, dl * sizeof(WCHAR)) &&
	    (len == dl || name[dl] == L'\\')) {
		name += dl;
		len -= dl;
	} else if (len >= 8 && !memcmp(name, device, 8 * sizeof(WCHAR))) {
		return EXDEV;
	}
	if (!len) {
		name = root;
		len = 1;
	}
	if (name[0] != L'\\')
		return EINVAL;
	nfo = fm_file_object_alloc(fe->vol, name, len);
	if (!nfo)
		return ENOMEM;
	fm_file_object_free(fo);
	*fop = nfo;
	return 0;
}

/*
 * IRP_MJ_CREATE of `nt` (volume-relative NT path).  On success *out is the open FILE_OBJECT
 * (release with close_fo); returns 0 or a positive errno.  lxmode < 0: no $LXMOD EA.
 */
static int do_create(struct fm_fe *fe, const struct fm_requestor *who, const WCHAR *nt,
		     size_t ntlen, ULONG disp, ULONG copt, ACCESS_MASK access, long lxmode,
		     PFILE_OBJECT *out, ULONG_PTR *info)
{
	return do_create_dev(fe, who, nt, ntlen, disp, copt, access, lxmode, NULL, out, info);
}

/* As do_create; `lxdev` (major, minor; NULL: none) adds a $LXDEV EA after $LXMOD. */
static int do_create_dev(struct fm_fe *fe, const struct fm_requestor *who, const WCHAR *nt,
			 size_t ntlen, ULONG disp, ULONG copt, ACCESS_MASK access, long lxmode,
			 const ULONG *lxdev, PFILE_OBJECT *out, ULONG_PTR *info)
{
	unsigned int restarts = 0;
	union {
		FILE_FULL_EA_INFORMATION ea;
		char raw[64];
	} eab;
	IO_SECURITY_CONTEXT sc;
	struct fm_irp irp;
	PFILE_OBJECT fo;
	NTSTATUS st;
	int err;

	fo = fm_file_object_alloc(fe->vol, nt, ntlen);
	if (!fo)
		return ENOMEM;
	memset(&sc, 0, sizeof(sc));
	sc.DesiredAccess = access;
restart:
	fm_irp_init(&irp, fe->vol, IRP_MJ_CREATE, 0, fo, who);
	irp.data.Iopb->Parameters.Create.SecurityContext = &sc;
	irp.data.Iopb->Parameters.Create.Options = (disp << 24) | (copt & 0xffffff);
	irp.data.Iopb->Parameters.Create.ShareAccess =
	    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
	if (lxmode >= 0) {
		ULONG m = (ULONG)lxmode;
		size_t off = offsetof(FILE_FULL_EA_INFORMATION, EaName), len = off + 7 + sizeof(m);

		memset(&eab, 0, sizeof(eab));
		eab.ea.EaNameLength = 6;
		eab.ea.EaValueLength = sizeof(ULONG);
		memcpy(eab.raw + off, "$LXMOD", 7);
		memcpy(eab.raw + off + 7, &m, sizeof(m));
		if (lxdev) {
			/* WSL's $LXDEV: the device's major then minor number, two ULONGs. */
			FILE_FULL_EA_INFORMATION *d = (void *)(eab.raw + 20);

			eab.ea.NextEntryOffset = 20;
			d->EaNameLength = 6;
			d->EaValueLength = 2 * sizeof(ULONG);
			memcpy(d->EaName, "$LXDEV", 7);
			memcpy(d->EaName + 7, lxdev, 2 * sizeof(ULONG));
			len = 20 + off + 7 + 2 * sizeof(ULONG);
		}
		irp.data.Iopb->Parameters.Create.EaBuffer = &eab;
		irp.data.Iopb->Parameters.Create.EaLength = (ULONG)len;
	}
	st = dispatch(&irp);
	err = status_errno(&irp, st);
	if (info)
		*info = irp.data.IoStatus.Information;
	if (st == STATUS_REPARSE && !fo->FsContext2) {
		ULONG_PTR how = irp.data.IoStatus.Information;

		fm_irp_cleanup(&irp);
		if (how != IO_REPARSE) {
			/* A reparse tag: a reparse point we would have to interpret; we cannot. */
			fm_warn(
			    "frontend: IRP_MJ_CREATE returned STATUS_REPARSE with tag 0x%lx; EIO",
			    (unsigned long)how);
			fm_file_object_free(fo);
			return EIO;
		}
		/* A filter renamed the target (IoReplaceFileObjectName): open that instead. */
		err = restarts++ < FE_MAX_REPARSE ? reparse_fo(fe, &fo) : ELOOP;
		if (err) {
			fm_file_object_free(fo);
			return err;
		}
		goto restart;
	}
	fm_irp_cleanup(&irp);
	if (!err && !fo->FsContext2) {
		/* A filter completed the create without the file system: nothing to serve. */
		fm_warn("frontend: a filter completed IRP_MJ_CREATE without opening; EIO");
		err = EIO;
	}
	if (err) {
		fm_file_object_free(fo);
		return err;
	}
	*out = fo;
	return 0;
}

/*
 * IRP_MJ_QUERY_OPEN for a name (name NULL: the stream itself), when some instance registered
 * for it: a filter may deny or hide the file before the kernel learns of it.  Returns 0 (also
 * when no filter is interested: nothing is sent) or a positive errno.
 */
static int query_open(struct fm_fe *fe, const struct fm_requestor *who, struct fm_stream *dir,
		      const char *name)
{
	FILE_STAT_LX_INFORMATION lx;
	ULONG len = sizeof(lx);
	WCHAR nt[PATH_MAX + 2];
	struct fm_irp irp;
	PFILE_OBJECT fo;
	size_t ntlen = 0;
	NTSTATUS st;
	int r;

	if (fm_volume_unfiltered(fe->vol, IRP_MJ_QUERY_OPEN))
		return 0;
	r = nt_path(fe, dir, name, nt, PATH_MAX + 2, &ntlen);
	if (r < 0)
		return -r;
	fo = fm_file_object_alloc(fe->vol, nt, ntlen);
	if (!fo)
		return ENOMEM;
	fm_irp_init(&irp, fe->vol, IRP_MJ_QUERY_OPEN, 0, fo, who);
	irp.iopb.Parameters.QueryOpen.FileInformation = &lx;
	irp.iopb.Parameters.QueryOpen.Length = &len;
	irp.iopb.Parameters.QueryOpen.FileInformationClass = FileStatLxInformation;
	st = dispatch(&irp);
	r = status_errno(&irp, st);
	fm_irp_cleanup(&irp);
	fm_file_object_free(fo);
	return r;
}

/*
 * After a failure with ENOENT / ENOTDIR: did a rename since `gen` (fm_lower_rename_gen) maybe
 * make the path the front-end built stale?  Then the caller builds it again and retries (a
 * directory above was renamed while the request was on its way: the process named the file by
 * its parent, which the kernel holds, not by that path).  Waits a little while a rename is in
 * progress.
 */
static bool path_maybe_stale(struct fm_fe *fe, int err, unsigned long gen, unsigned int *tries)
{
	unsigned long now;

	if ((err != ENOENT && err != ENOTDIR) || ++*tries > 64)
		return false;
	now = fm_lower_rename_gen(fe->lw);
	if (now == FM_RENAME_GEN_BUSY || gen == FM_RENAME_GEN_BUSY) {
		usleep(100);
		return true;
	}
	return now != gen;
}

static int create_at(struct fm_fe *fe, const struct fm_requestor *who, struct fm_stream *dir,
		     const char *name, ULONG disp, ULONG copt, ACCESS_MASK access, long lxmode,
		     PFILE_OBJECT *out, ULONG_PTR *info)
{
	WCHAR nt[PATH_MAX + 2];
	unsigned int tries = 0;
	unsigned long gen;
	size_t len = 0;
	int r;

	do {
		gen = fm_lower_rename_gen(fe->lw);
		r = nt_path(fe, dir, name, nt, PATH_MAX + 2, &len);
		if (r < 0)
			return -r;
		r = do_create(fe, who, nt, len, disp, copt, access, lxmode, out, info);
	} while (r && path_maybe_stale(fe, r, gen, &tries));
	return r;
}

/* A one-IRP operation on an open file object; returns 0 or errno. */
static int simple_irp(struct fm_fe *fe, const struct fm_requestor *who, PFILE_OBJECT fo,
		      UCHAR major, UCHAR minor)
{
	struct fm_irp irp;
	NTSTATUS st;
	int err;

	fm_irp_init(&irp, fe->vol, major, minor, fo, who);
	st = dispatch(&irp);
	err = status_errno(&irp, st);
	fm_irp_cleanup(&irp);
	return err;
}

/* IRP_MJ_CLEANUP then IRP_MJ_CLOSE, then the FILE_OBJECT is freed. */
static void close_fo(struct fm_fe *fe, const struct fm_requestor *who, PFILE_OBJECT fo)
{
	simple_irp(fe, who, fo, IRP_MJ_CLEANUP, 0);
	simple_irp(fe, who, fo, IRP_MJ_CLOSE, 0);
	if (fo->FsContext2) {
		/* A filter failed the close before the file system saw it: close below it. */
		struct fm_irp irp;

		fm_irp_init(&irp, fe->vol, IRP_MJ_CLOSE, 0, fo, NULL);
		fm_lowerfs_ops.dispatch(fe->vol, &irp.data);
	}
	fm_file_object_free(fo);
}

static int set_info(struct fm_fe *fe, const struct fm_requestor *who, PFILE_OBJECT fo,
		    FILE_INFORMATION_CLASS cls, void *buf, ULONG len, bool replace)
{
	struct fm_irp irp;
	NTSTATUS st;
	int err;

	fm_irp_init(&irp, fe->vol, IRP_MJ_SET_INFORMATION, 0, fo, who);
	irp.data.Iopb->Parameters.SetFileInformation.Length = len;
	irp.data.Iopb->Parameters.SetFileInformation.FileInformationClass = cls;
	irp.data.Iopb->Parameters.SetFileInformation.InfoBuffer = buf;
	irp.data.Iopb->Parameters.SetFileInformation.ReplaceIfExists = replace;
	st = dispatch(&irp);
	err = status_errno(&irp, st);
	fm_irp_cleanup(&irp);
	return err;
}

static int query_lx(struct fm_fe *fe, const struct fm_requestor *who, PFILE_OBJECT fo,
		    struct stat *st)
{
	FILE_STAT_LX_INFORMATION b;
	struct fm_irp irp;
	NTSTATUS s;
	int err;

	memset(&b, 0, sizeof(b));
	fm_irp_init(&irp, fe->vol, IRP_MJ_QUERY_INFORMATION, 0, fo, who);
	irp.data.Iopb->Parameters.QueryFileInformation.Length = sizeof(b);
	irp.data.Iopb->Parameters.QueryFileInformation.FileInformationClass = FileStatLxInformation;
	irp.data.Iopb->Parameters.QueryFileInformation.InfoBuffer = &b;
	s = dispatch(&irp);
	err = status_errno(&irp, s);
	fm_irp_cleanup(&irp);
	if (!err)
		stat_from_lx(&b, st);
	return err;
}

/* Reply an entry for an open file object's stream, taking a lookup count for the kernel. */
static void reply_entry_fo(struct fm_fe *fe, struct fm_fuse_req *req, PFILE_OBJECT fo,
			   const struct fm_fuse_open *open)
{
	struct fm_stream *s = fm_lower_handle_stream(fo);
	struct fm_fuse_entry e;
	int r;

	memset(&e, 0, sizeof(e));
	r = fm_lower_handle_stat(fo, &e.attr);
	if (r < 0 || !s) {
		fm_fuse_reply_err(req, r < 0 ? -r : EIO);
		return;
	}
	fm_lower_remember(fe->lw, s);
	e.nodeid = node_id(fe, s);
	e.entry_timeout = ENTRY_TIMEOUT;
	e.attr_timeout = ATTR_TIMEOUT;
	r = open ? fm_fuse_reply_create(req, &e, open) : fm_fuse_reply_entry(req, &e);
	if (r < 0)
		fm_lower_forget(fe->lw, s, 1);
}

/* ---- operations ------------------------------------------------------------------------------ */

/*
 * direct_io files must still be mmap-able (executables).  Set-user-ID bits on write and
 * truncation are cleared by the lower (the transport lets the server handle them).
 */
static void op_init(void *ud, struct fm_fuse_conn *conn)
{
	struct fm_fe *fe = ud;

	if (conn->kernel_flags & FE_FUSE_DIRECT_IO_ALLOW_MMAP)
		conn->want_flags |= FE_FUSE_DIRECT_IO_ALLOW_MMAP;
	/* Page-cache opens keep their pages across opens; the kernel drops them when it sees
	 * the file's size or mtime change behind its back (cache policy `cached`). */
	if (fe->cache == FM_CACHE_CACHED && (conn->kernel_flags & FE_FUSE_AUTO_INVAL_DATA))
		conn->want_flags |= FE_FUSE_AUTO_INVAL_DATA;
	/* `cached` is the kernel's write-back cache: writes stay in the page cache and reach
	 * the filters as paging writes when the kernel writes the pages back; the kernel is then
	 * authoritative for the size and times of regular files, so a stat after a write costs
	 * no request.  The kernel refuses passthrough with it: every file uses the page cache. */
	if (fe->cache == FM_CACHE_CACHED && (conn->kernel_flags & FE_FUSE_WRITEBACK_CACHE))
		conn->want_flags |= FE_FUSE_WRITEBACK_CACHE;
}

static void op_lookup(struct fm_fuse_req *req, uint64_t parent, const char *name)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who;
	struct fm_fuse_entry e;
	struct fm_stream *s;
	int r;

	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	memset(&e, 0, sizeof(e));
	who = who_of(req);
	r = -query_open(fe, &who, node_stream(fe, parent), name);
	if (r == 0)
		r = fm_lower_lookup(fe->lw, node_stream(fe, parent), name, &s, &e.attr);
	if (r < 0) {
		fm_fuse_reply_err(req, -r);
	} else {
		e.nodeid = node_id(fe, s);
		e.entry_timeout = ENTRY_TIMEOUT;
		e.attr_timeout = ATTR_TIMEOUT;
		if (fm_fuse_reply_entry(req, &e) < 0)
			fm_lower_forget(fe->lw, s, 1);
	}
	fe_leave(fe);
}

static void op_forget(void *ud, uint64_t nodeid, uint64_t nlookup)
{
	struct fm_fe *fe = ud;

	if (nodeid != 1)
		fm_lower_forget(fe->lw, node_stream(fe, nodeid), nlookup);
}

static void op_getattr(struct fm_fuse_req *req, uint64_t nodeid, const uint64_t *fh)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	struct stat st;
	int r;

	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	if (fh && fh_of(*fh)) {
		r = query_lx(fe, &who, fh_of(*fh)->fo, &st);
	} else {
		r = query_open(fe, &who, node_stream(fe, nodeid), NULL);
		if (!r)
			r = -fm_lower_getattr(fe->lw, node_stream(fe, nodeid), &st);
	}
	if (r)
		fm_fuse_reply_err(req, r);
	else
		fm_fuse_reply_attr(req, &st, ATTR_TIMEOUT);
	fe_leave(fe);
}

/* ---- extended attributes ---------------------------------------------------------------------- */

/* Private FILE_FULL_EA_INFORMATION.Flags bits the lower understands (see lowerfs.c). */
#define FM_EA_CREATE 0x01
#define FM_EA_REPLACE 0x02
#define FM_EA_KEEP_EMPTY 0x04
#define EA_FIXED offsetof(FILE_FULL_EA_INFORMATION, EaName)
/* Room for one entry of the largest name and value. */
#define EA_ONE_MAX ((EA_FIXED + 256 + 0xffff + 7) & ~(size_t)7)

/*
 * Append a FILE_FULL_EA_INFORMATION to a chain being built in buf (4-aligned entries); the
 * caller guarantees room (EA_FIXED + name + 1 + value + 3 per entry).
 */
static void ea_append(UCHAR *buf, size_t *pos, FILE_FULL_EA_INFORMATION **prev, const char *name,
		      const void *val, size_t vlen, UCHAR flags)
{
	size_t at = (*pos + 3) & ~(size_t)3, nl = strlen(name);
	FILE_FULL_EA_INFORMATION *ea = (void *)(buf + at);

	memset(ea, 0, EA_FIXED);
	ea->Flags = flags;
	ea->EaNameLength = (UCHAR)nl;
	ea->EaValueLength = (USHORT)vlen;
	memcpy(ea->EaName, name, nl + 1);
	if (vlen)
		memcpy(ea->EaName + nl + 1, val, vlen);
	if (*prev)
		(*prev)->NextEntryOffset = (ULONG)((UCHAR *)ea - (UCHAR *)*prev);
	*prev = ea;
	*pos = at + EA_FIXED + nl + 1 + vlen;
}

static int set_ea(struct fm_fe *fe, const struct fm_requestor *who, PFILE_OBJECT fo, void *buf,
		  ULONG len)
{
	struct fm_irp irp;
	NTSTATUS st;
	int err;

	fm_irp_init(&irp, fe->vol, IRP_MJ_SET_EA, 0, fo, who);
	irp.data.Iopb->Parameters.SetEa.Length = len;
	irp.data.Iopb->Parameters.SetEa.EaBuffer = buf;
	st = dispatch(&irp);
	err = status_errno(&irp, st);
	fm_irp_cleanup(&irp);
	return err;
}

/* One IRP_MJ_QUERY_EA; *st the final status, *got IoStatus.Information.  0 or errno. */
static int query_ea(struct fm_fe *fe, const struct fm_requestor *who, PFILE_OBJECT fo, void *list,
		    ULONG llen, UCHAR flags, void *buf, ULONG len, NTSTATUS *st, ULONG *got)
{
	struct fm_irp irp;
	int err;

	fm_irp_init(&irp, fe->vol, IRP_MJ_QUERY_EA, 0, fo, who);
	irp.data.Iopb->OperationFlags = flags;
	irp.data.Iopb->Parameters.QueryEa.Length = len;
	irp.data.Iopb->Parameters.QueryEa.EaList = list;
	irp.data.Iopb->Parameters.QueryEa.EaListLength = llen;
	irp.data.Iopb->Parameters.QueryEa.EaBuffer = buf;
	*st = dispatch(&irp);
	err = status_errno(&irp, *st);
	*got = (ULONG)irp.data.IoStatus.Information;
	fm_irp_cleanup(&irp);
	return err;
}

/*
 * A short-lived FILE_OBJECT on a node for metadata (the file itself, not a symlink's target):
 * IRP_MJ_CREATE FILE_OPEN | FILE_OPEN_REPARSE_POINT with `access`.  0 or errno; ENOENT when
 * the node has no name left (unlinked but open), where the caller falls back to the lower.
 */
static int meta_open(struct fm_fe *fe, const struct fm_requestor *who, struct fm_stream *s,
		     ACCESS_MASK access, PFILE_OBJECT *out)
{
	return create_at(fe, who, s, NULL, FILE_OPEN, FILE_OPEN_REPARSE_POINT, access | SYNCHRONIZE,
			 -1, out, NULL);
}

/* True when a failed meta_open was for a node without a name (deleted, still reachable). */
static bool nameless(struct fm_fe *fe, struct fm_stream *s, int err)
{
	char p[8];

	return err == ENOENT && fm_lower_stream_path(fe->lw, s, p, sizeof(p)) == -ENOENT;
}

/*
 * chmod / chown: IRP_MJ_SET_EA with $LXMOD, $LXUID, $LXGID (WSL's names, ULONG values) on the
 * handle FUSE gave, or on a short-lived open (FILE_WRITE_EA | FILE_WRITE_ATTRIBUTES).
 */
static int set_owner_mode(struct fm_fe *fe, const struct fm_requestor *who, struct fm_stream *s,
			  PFILE_OBJECT fo, const struct stat *attr, int to_set)
{
	UCHAR buf[3 * 32] __attribute__((aligned(8)));
	FILE_FULL_EA_INFORMATION *prev = NULL;
	PFILE_OBJECT tmp = NULL;
	size_t pos = 0;
	ULONG v;
	int r = 0;

	if (to_set & FM_SET_MODE) {
		v = attr->st_mode;
		ea_append(buf, &pos, &prev, "$LXMOD", &v, sizeof(v), 0);
	}
	if (to_set & FM_SET_UID) {
		v = attr->st_uid;
		ea_append(buf, &pos, &prev, "$LXUID", &v, sizeof(v), 0);
	}
	if (to_set & FM_SET_GID) {
		v = attr->st_gid;
		ea_append(buf, &pos, &prev, "$LXGID", &v, sizeof(v), 0);
	}
	if (!fo) {
		r = meta_open(fe, who, s, FILE_WRITE_EA | FILE_WRITE_ATTRIBUTES, &tmp);
		if (r && nameless(fe, s, r)) {
			/* No name to open it by: below the filters, as before this mapping. */
			r = (to_set & FM_SET_MODE) ? -fm_lower_chmod(fe->lw, s, attr->st_mode) : 0;
			if (!r && (to_set & (FM_SET_UID | FM_SET_GID)))
				r = -fm_lower_chown(
				    fe->lw, s, (to_set & FM_SET_UID) ? attr->st_uid : (uid_t)-1,
				    (to_set & FM_SET_GID) ? attr->st_gid : (gid_t)-1);
			return r;
		}
		if (r)
			return r;
	}
	r = set_ea(fe, who, fo ? fo : tmp, buf, (ULONG)pos);
	if (tmp)
		close_fo(fe, who, tmp);
	return r;
}

static void op_setxattr(struct fm_fuse_req *req, uint64_t nodeid, const char *name,
			const void *value, size_t size, int flags)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	struct fm_stream *s = node_stream(fe, nodeid);
	size_t nl = strlen(name), pos = 0;
	FILE_FULL_EA_INFORMATION *prev = NULL;
	PFILE_OBJECT fo;
	UCHAR *buf = NULL;
	int r;

	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	if (nl > 255 || !nl) {
		r = ERANGE;
		goto out;
	}
	if (size > 0xffff) {
		r = E2BIG; /* EaValueLength is 16 bits; Linux allows one byte more */
		goto out;
	}
	buf = fm_malloc(EA_FIXED + nl + 1 + size + 8);
	if (!buf) {
		r = ENOMEM;
		goto out;
	}
	ea_append(buf, &pos, &prev, name, value, size,
		  (UCHAR)(((flags & XATTR_CREATE) ? FM_EA_CREATE : 0) |
			  ((flags & XATTR_REPLACE) ? FM_EA_REPLACE : 0) |
			  (size ? 0 : FM_EA_KEEP_EMPTY)));
	r = meta_open(fe, &who, s, FILE_WRITE_EA, &fo);
	if (r && nameless(fe, s, r)) {
		r = -fm_lower_setxattr(fe->lw, s, name, value, size, flags);
		goto out;
	}
	if (!r) {
		r = set_ea(fe, &who, fo, buf, (ULONG)pos);
		close_fo(fe, &who, fo);
	}
out:
	fm_free(buf);
	fm_fuse_reply_err(req, r);
	fe_leave(fe);
}

static void op_removexattr(struct fm_fuse_req *req, uint64_t nodeid, const char *name)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	struct fm_stream *s = node_stream(fe, nodeid);
	UCHAR buf[EA_FIXED + 256 + 8] __attribute__((aligned(8)));
	FILE_FULL_EA_INFORMATION *prev = NULL;
	size_t pos = 0;
	PFILE_OBJECT fo;
	int r;

	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	if (strlen(name) > 255 || !*name) {
		fm_fuse_reply_err(req, ERANGE);
		fe_leave(fe);
		return;
	}
	/* NT deletes an EA by setting it with no value. */
	ea_append(buf, &pos, &prev, name, NULL, 0, 0);
	r = meta_open(fe, &who, s, FILE_WRITE_EA, &fo);
	if (r && nameless(fe, s, r)) {
		r = -fm_lower_removexattr(fe->lw, s, name);
	} else if (!r) {
		r = set_ea(fe, &who, fo, buf, (ULONG)pos);
		close_fo(fe, &who, fo);
	}
	fm_fuse_reply_err(req, r);
	fe_leave(fe);
}

static void op_getxattr(struct fm_fuse_req *req, uint64_t nodeid, const char *name, size_t size)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	struct fm_stream *s = node_stream(fe, nodeid);
	UCHAR list[offsetof(FILE_GET_EA_INFORMATION, EaName) + 256 + 8] __attribute__((aligned(8)));
	FILE_GET_EA_INFORMATION *g = (void *)list;
	size_t nl = strlen(name), want = size > 0xffff || !size ? 0xffff : size;
	ULONG len = (ULONG)(EA_FIXED + nl + 1 + want), got = 0;
	FILE_FULL_EA_INFORMATION *ea;
	PFILE_OBJECT fo;
	NTSTATUS st;
	UCHAR *buf = NULL;
	bool direct;
	long n;
	int r;

	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	if (nl > 255 || !nl) {
		r = ERANGE;
		goto out;
	}
	buf = fm_malloc(len);
	if (!buf) {
		r = ENOMEM;
		goto out;
	}
	memset(g, 0, sizeof(list));
	g->EaNameLength = (UCHAR)nl;
	memcpy(g->EaName, name, nl + 1);
	/*
	 * The kernel asks for security.capability before the first write of every file (to
	 * drop it).  When no instance would see the IRPs of a query, the lower answers directly
	 * (the kernel already checked the caller's access to the xattr).
	 */
	direct = strncmp(name, "security.", 9) == 0 &&
		 fm_volume_unfiltered(fe->vol, IRP_MJ_CREATE) &&
		 fm_volume_unfiltered(fe->vol, IRP_MJ_QUERY_EA) &&
		 fm_volume_unfiltered(fe->vol, IRP_MJ_CLEANUP) &&
		 fm_volume_unfiltered(fe->vol, IRP_MJ_CLOSE);
	r = direct ? 0 : meta_open(fe, &who, s, FILE_READ_EA, &fo);
	if (direct || (r && nameless(fe, s, r))) {
		n = fm_lower_getxattr(fe->lw, s, name, size ? buf : NULL, size ? size : 0);
		if (n < 0) {
			r = (int)-n;
		} else if (!size) {
			fm_fuse_reply_xattr(req, (size_t)n);
			goto done;
		} else {
			fm_fuse_reply_buf(req, buf, (size_t)n);
			goto done;
		}
		goto out;
	}
	if (r)
		goto out;
	r = query_ea(fe, &who, fo, list,
		     (ULONG)(offsetof(FILE_GET_EA_INFORMATION, EaName) + nl + 1),
		     SL_RETURN_SINGLE_ENTRY, buf, len, &st, &got);
	close_fo(fe, &who, fo);
	if (st == STATUS_BUFFER_TOO_SMALL || st == STATUS_BUFFER_OVERFLOW)
		r = ERANGE;
	if (r)
		goto out;
	ea = (void *)buf;
	if (got < EA_FIXED || (size_t)ea->EaNameLength + 1 + ea->EaValueLength + EA_FIXED > got) {
		r = EIO; /* a filter handed back a malformed buffer */
		goto out;
	}
	if (!size)
		fm_fuse_reply_xattr(req, ea->EaValueLength);
	else if (ea->EaValueLength > size)
		r = ERANGE;
	else
		fm_fuse_reply_buf(req, ea->EaName + ea->EaNameLength + 1, ea->EaValueLength);
out:
	if (r)
		fm_fuse_reply_err(req, r);
done:
	fm_free(buf);
	fe_leave(fe);
}

/*
 * listxattr: IRP_MJ_QUERY_EA without a list, SL_RESTART_SCAN first then from the cursor, until
 * STATUS_NO_MORE_EAS (STATUS_NO_EAS_ON_FILE: none); the names are collected NUL-separated.
 */
static void op_listxattr(struct fm_fuse_req *req, uint64_t nodeid, size_t size)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	struct fm_stream *s = node_stream(fe, nodeid);
	UCHAR *buf = NULL;
	char *names = NULL;
	size_t nlen = 0, ncap = 0;
	UCHAR flags = SL_RESTART_SCAN;
	unsigned int rounds = 0;
	PFILE_OBJECT fo;
	int r;

	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	r = meta_open(fe, &who, s, FILE_READ_EA, &fo);
	if (r && nameless(fe, s, r)) {
		long n;

		names = size ? fm_malloc(size) : NULL;
		if (size && !names) {
			r = ENOMEM;
			goto out;
		}
		n = fm_lower_listxattr(fe->lw, s, names, size);
		r = n < 0 ? (int)-n : 0;
		if (n >= 0)
			nlen = (size_t)n;
		goto out;
	}
	if (r)
		goto out;
	buf = fm_malloc(EA_ONE_MAX);
	if (!buf)
		r = ENOMEM;
	/* Bounded: a filter that keeps answering the same entries must not hold us forever. */
	while (!r && rounds++ < 65536) {
		ULONG got = 0, off = 0;
		NTSTATUS st;

		r = query_ea(fe, &who, fo, NULL, 0, flags, buf, EA_ONE_MAX, &st, &got);
		flags = 0;
		if (st == STATUS_NO_MORE_EAS || st == STATUS_NO_EAS_ON_FILE) {
			r = 0;
			break;
		}
		if (st == STATUS_BUFFER_OVERFLOW)
			r = 0; /* whole entries came back; the cursor is after them */
		if (r)
			break;
		while (got >= EA_FIXED && off <= got - EA_FIXED) {
			FILE_FULL_EA_INFORMATION *ea = (void *)(buf + off);
			size_t nl = ea->EaNameLength;

			if (off + EA_FIXED + nl > got)
				break;
			if (nlen + nl + 1 > ncap) {
				size_t nc = ncap ? ncap * 2 : 1024;
				char *nn;

				while (nc < nlen + nl + 1)
					nc *= 2;
				nn = fm_realloc(names, nc);
				if (!nn) {
					r = ENOMEM;
					break;
				}
				names = nn;
				ncap = nc;
			}
			memcpy(names + nlen, ea->EaName, nl);
			names[nlen + nl] = '\0';
			nlen += nl + 1;
			if (!ea->NextEntryOffset)
				break;
			off += ea->NextEntryOffset;
		}
		if (!got)
			break; /* a filter answered success with nothing: do not loop forever */
	}
	close_fo(fe, &who, fo);
	if (!r && size && nlen > size)
		r = ERANGE;
out:
	if (r)
		fm_fuse_reply_err(req, r);
	else if (!size)
		fm_fuse_reply_xattr(req, nlen);
	else
		fm_fuse_reply_buf(req, names, nlen);
	fm_free(names);
	fm_free(buf);
	fe_leave(fe);
}

/* ---- symbolic links and special files: WSL reparse points -------------------------------------- */

#define LX_SYMLINK_VERSION 2

/* One FSCTL (METHOD_BUFFERED: one system buffer for input and output); 0 or errno. */
static int fsctl(struct fm_fe *fe, const struct fm_requestor *who, PFILE_OBJECT fo, ULONG code,
		 void *buf, ULONG inlen, ULONG outlen, ULONG *got)
{
	struct fm_irp irp;
	NTSTATUS st;
	int err;

	fm_irp_init(&irp, fe->vol, IRP_MJ_FILE_SYSTEM_CONTROL, IRP_MN_USER_FS_REQUEST, fo, who);
	irp.data.Iopb->Parameters.FileSystemControl.Buffered.FsControlCode = code;
	irp.data.Iopb->Parameters.FileSystemControl.Buffered.InputBufferLength = inlen;
	irp.data.Iopb->Parameters.FileSystemControl.Buffered.OutputBufferLength = outlen;
	irp.data.Iopb->Parameters.FileSystemControl.Buffered.SystemBuffer = buf;
	st = dispatch(&irp);
	err = status_errno(&irp, st);
	if (got)
		*got = (ULONG)irp.data.IoStatus.Information;
	fm_irp_cleanup(&irp);
	return err;
}

/*
 * readlink: IRP_MJ_CREATE (FILE_OPEN_REPARSE_POINT) -> FSCTL_GET_REPARSE_POINT -> cleanup ->
 * close; the IO_REPARSE_TAG_LX_SYMLINK data after its version ULONG is the target.
 */
static void op_readlink(struct fm_fuse_req *req, uint64_t nodeid)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	struct fm_stream *s = node_stream(fe, nodeid);
	const ULONG hdr = (ULONG)REPARSE_DATA_BUFFER_HEADER_SIZE;
	char target[PATH_MAX + 1];
	REPARSE_DATA_BUFFER *rb;
	UCHAR *buf = NULL;
	PFILE_OBJECT fo;
	ULONG got = 0, version, tlen;
	int r;

	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	r = meta_open(fe, &who, s, FILE_READ_ATTRIBUTES, &fo);
	if (r && nameless(fe, s, r)) {
		r = fm_lower_readlink(fe->lw, s, target, sizeof(target));
		if (r >= 0) {
			fm_fuse_reply_readlink(req, target);
			goto done;
		}
		r = -r;
		goto out;
	}
	if (r)
		goto out;
	buf = fm_malloc(MAXIMUM_REPARSE_DATA_BUFFER_SIZE);
	r = buf ? fsctl(fe, &who, fo, FSCTL_GET_REPARSE_POINT, buf, 0,
			MAXIMUM_REPARSE_DATA_BUFFER_SIZE, &got)
		: ENOMEM;
	close_fo(fe, &who, fo);
	if (r)
		goto out;
	rb = (void *)buf;
	/* What a filter may have left here is checked like any input. */
	if (got < hdr || rb->ReparseTag != IO_REPARSE_TAG_LX_SYMLINK ||
	    rb->ReparseDataLength > got - hdr || rb->ReparseDataLength < sizeof(ULONG)) {
		r = EINVAL;
		goto out;
	}
	memcpy(&version, buf + hdr, sizeof(version));
	tlen = rb->ReparseDataLength - (ULONG)sizeof(ULONG);
	if (version != LX_SYMLINK_VERSION || !tlen || tlen > PATH_MAX ||
	    memchr(buf + hdr + sizeof(ULONG), '\0', tlen)) {
		r = EIO;
		goto out;
	}
	memcpy(target, buf + hdr + sizeof(ULONG), tlen);
	target[tlen] = '\0';
	fm_fuse_reply_readlink(req, target);
	goto done;
out:
	fm_fuse_reply_err(req, r);
done:
	fm_free(buf);
	fe_leave(fe);
}

/*
 * A new reparse point named `name` in `parent`: IRP_MJ_CREATE FILE_CREATE, non-directory,
 * FILE_OPEN_REPARSE_POINT, with $LXMOD (type and mode) and, for devices, $LXDEV -> 
 * FSCTL_SET_REPARSE_POINT with `rb` -> cleanup -> close, replying the new entry.  When the
 * FSCTL fails the empty file the create made is deleted again (FileDispositionInformationEx).
 */
static void new_reparse_point(struct fm_fuse_req *req, struct fm_fe *fe,
			      const struct fm_requestor *who, uint64_t parent, const char *name,
			      mode_t mode, const ULONG *lxdev, REPARSE_DATA_BUFFER *rb, ULONG len)
{
	WCHAR nt[PATH_MAX + 2];
	size_t ntlen = 0;
	PFILE_OBJECT fo;
	int r = -nt_path(fe, node_stream(fe, parent), name, nt, PATH_MAX + 2, &ntlen);

	if (!r)
		r = do_create_dev(fe, who, nt, ntlen, FILE_CREATE,
				  FILE_NON_DIRECTORY_FILE | FILE_OPEN_REPARSE_POINT,
				  FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES | DELETE | SYNCHRONIZE,
				  (long)mode, lxdev, &fo, NULL);
	if (r) {
		fm_fuse_reply_err(req, r);
		return;
	}
	r = fsctl(fe, who, fo, FSCTL_SET_REPARSE_POINT, rb, len, 0, NULL);
	if (r) {
		FILE_DISPOSITION_INFORMATION_EX d;

		d.Flags = FILE_DISPOSITION_DELETE | FILE_DISPOSITION_POSIX_SEMANTICS |
			  FILE_DISPOSITION_IGNORE_READONLY_ATTRIBUTE;
		set_info(fe, who, fo, FileDispositionInformationEx, &d, sizeof(d), false);
		fm_fuse_reply_err(req, r);
	} else {
		reply_entry_fo(fe, req, fo, NULL);
	}
	close_fo(fe, who, fo);
}

static void op_mknod(struct fm_fuse_req *req, uint64_t parent, const char *name, mode_t mode,
		     dev_t rdev)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	mode_t m = (mode & S_IFMT) | (mode & 07777 & ~who.umask);
	REPARSE_DATA_BUFFER rb;
	ULONG dev[2];
	PFILE_OBJECT fo;
	int r;

	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	memset(&rb, 0, sizeof(rb));
	switch (mode & S_IFMT) {
	case S_IFREG:
		/* A plain file: a create like O_CREAT|O_EXCL, then cleanup and close. */
		r = create_at(fe, &who, node_stream(fe, parent), name, FILE_CREATE,
			      FILE_NON_DIRECTORY_FILE, FILE_READ_ATTRIBUTES | SYNCHRONIZE, (long)m,
			      &fo, NULL);
		if (r) {
			fm_fuse_reply_err(req, r);
		} else {
			reply_entry_fo(fe, req, fo, NULL);
			close_fo(fe, &who, fo);
		}
		goto out;
	case S_IFIFO:
		rb.ReparseTag = IO_REPARSE_TAG_LX_FIFO;
		break;
	case S_IFCHR:
		rb.ReparseTag = IO_REPARSE_TAG_LX_CHR;
		break;
	case S_IFBLK:
		rb.ReparseTag = IO_REPARSE_TAG_LX_BLK;
		break;
	case S_IFSOCK:
		rb.ReparseTag = IO_REPARSE_TAG_AF_UNIX;
		break;
	default:
		fm_fuse_reply_err(req, EINVAL);
		goto out;
	}
	dev[0] = major(rdev);
	dev[1] = minor(rdev);
	new_reparse_point(req, fe, &who, parent, name, m,
			  S_ISCHR(mode) || S_ISBLK(mode) ? dev : NULL, &rb,
			  (ULONG)REPARSE_DATA_BUFFER_HEADER_SIZE);
out:
	fe_leave(fe);
}

static void op_symlink(struct fm_fuse_req *req, const char *target, uint64_t parent,
		       const char *name)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	const ULONG hdr = (ULONG)REPARSE_DATA_BUFFER_HEADER_SIZE;
	size_t tl = strlen(target);
	ULONG version = LX_SYMLINK_VERSION;
	REPARSE_DATA_BUFFER *rb;

	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	if (tl + sizeof(ULONG) > MAXIMUM_REPARSE_DATA_BUFFER_SIZE - hdr || tl >= PATH_MAX) {
		fm_fuse_reply_err(req, ENAMETOOLONG);
		goto out;
	}
	rb = fm_calloc(1, hdr + sizeof(ULONG) + tl);
	if (!rb) {
		fm_fuse_reply_err(req, ENOMEM);
		goto out;
	}
	rb->ReparseTag = IO_REPARSE_TAG_LX_SYMLINK;
	rb->ReparseDataLength = (USHORT)(sizeof(ULONG) + tl);
	memcpy((UCHAR *)rb + hdr, &version, sizeof(version));
	memcpy((UCHAR *)rb + hdr + sizeof(ULONG), target, tl);
	new_reparse_point(req, fe, &who, parent, name, S_IFLNK | 0777, NULL, rb,
			  (ULONG)(hdr + sizeof(ULONG) + tl));
	fm_free(rb);
out:
	fe_leave(fe);
}

static void now_or(const struct timespec *given, bool now, LARGE_INTEGER *out)
{
	struct timespec ts;

	if (now)
		clock_gettime(CLOCK_REALTIME, &ts);
	else
		ts = *given;
	out->QuadPart = ((LONGLONG)ts.tv_sec + 11644473600LL) * 10000000LL + ts.tv_nsec / 100;
}

static void op_setattr(struct fm_fuse_req *req, uint64_t nodeid, const struct stat *attr,
		       int to_set, const uint64_t *fh)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	struct fm_stream *s = node_stream(fe, nodeid);
	PFILE_OBJECT fo = fh && fh_of(*fh) ? fh_of(*fh)->fo : NULL, tmp = NULL;
	struct stat st;
	int r = 0;

	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	if (to_set & (FM_SET_MODE | FM_SET_UID | FM_SET_GID))
		r = set_owner_mode(fe, &who, s, fo, attr, to_set);
	if (!r && (to_set & FM_SET_SIZE)) {
		FILE_END_OF_FILE_INFORMATION eof;
		PFILE_OBJECT f = fo;

		if (!f)
			r = create_at(fe, &who, s, NULL, FILE_OPEN, FILE_NON_DIRECTORY_FILE,
				      FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES | SYNCHRONIZE, -1,
				      &tmp, NULL);
		if (!r) {
			eof.EndOfFile.QuadPart = attr->st_size;
			r = set_info(fe, &who, f ? f : tmp, FileEndOfFileInformation, &eof,
				     sizeof(eof), false);
		}
	}
	if (!r && (to_set & (FM_SET_ATIME | FM_SET_MTIME | FM_SET_ATIME_NOW | FM_SET_MTIME_NOW))) {
		FILE_BASIC_INFORMATION b;

		memset(&b, 0, sizeof(b));
		if (to_set & (FM_SET_ATIME | FM_SET_ATIME_NOW))
			now_or(&attr->st_atim, to_set & FM_SET_ATIME_NOW, &b.LastAccessTime);
		if (to_set & (FM_SET_MTIME | FM_SET_MTIME_NOW))
			now_or(&attr->st_mtim, to_set & FM_SET_MTIME_NOW, &b.LastWriteTime);
		if (!fo && !tmp)
			r = create_at(fe, &who, s, NULL, FILE_OPEN, FILE_OPEN_REPARSE_POINT,
				      FILE_WRITE_ATTRIBUTES | SYNCHRONIZE, -1, &tmp, NULL);
		if (!r)
			r = set_info(fe, &who, fo ? fo : tmp, FileBasicInformation, &b, sizeof(b),
				     false);
	}
	if (tmp)
		close_fo(fe, &who, tmp);
	if (!r)
		r = fo ? -fm_lower_handle_stat(fo, &st) : -fm_lower_getattr(fe->lw, s, &st);
	if (r)
		fm_fuse_reply_err(req, r);
	else
		fm_fuse_reply_attr(req, &st, ATTR_TIMEOUT);
	fe_leave(fe);
}

static void op_mkdir(struct fm_fuse_req *req, uint64_t parent, const char *name, mode_t mode)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	PFILE_OBJECT fo;
	int r;

	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	r = create_at(fe, &who, node_stream(fe, parent), name, FILE_CREATE, FILE_DIRECTORY_FILE,
		      FILE_READ_ATTRIBUTES | SYNCHRONIZE, (long)(mode & 07777 & ~who.umask), &fo,
		      NULL);
	if (r) {
		fm_fuse_reply_err(req, r);
	} else {
		reply_entry_fo(fe, req, fo, NULL);
		close_fo(fe, &who, fo);
	}
	fe_leave(fe);
}

/* unlink / rmdir: open for DELETE, POSIX delete disposition, cleanup, close. */
static void remove_entry(struct fm_fuse_req *req, uint64_t parent, const char *name, bool dir)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	FILE_DISPOSITION_INFORMATION_EX d;
	PFILE_OBJECT fo;
	int r;

	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	r = create_at(fe, &who, node_stream(fe, parent), name, FILE_OPEN,
		      FILE_OPEN_REPARSE_POINT |
			  (dir ? FILE_DIRECTORY_FILE : FILE_NON_DIRECTORY_FILE),
		      DELETE | FILE_READ_ATTRIBUTES | SYNCHRONIZE, -1, &fo, NULL);
	if (!r) {
		d.Flags = FILE_DISPOSITION_DELETE | FILE_DISPOSITION_POSIX_SEMANTICS |
			  FILE_DISPOSITION_IGNORE_READONLY_ATTRIBUTE;
		r = set_info(fe, &who, fo, FileDispositionInformationEx, &d, sizeof(d), false);
		close_fo(fe, &who, fo);
	}
	fm_fuse_reply_err(req, r);
	fe_leave(fe);
}

static void op_unlink(struct fm_fuse_req *req, uint64_t parent, const char *name)
{
	remove_entry(req, parent, name, false);
}

static void op_rmdir(struct fm_fuse_req *req, uint64_t parent, const char *name)
{
	remove_entry(req, parent, name, true);
}

/* FILE_RENAME_INFORMATION / FILE_LINK_INFORMATION (same layout) naming `nt`; heap, fm_free. */
static FILE_RENAME_INFORMATION *rename_info(ULONG flags, const WCHAR *nt, size_t len, ULONG *size)
{
	size_t fixed = offsetof(FILE_RENAME_INFORMATION, FileName);
	FILE_RENAME_INFORMATION *ri = fm_calloc(1, fixed + (len + 1) * sizeof(WCHAR));

	if (!ri)
		return NULL;
	ri->Flags = flags;
	ri->RootDirectory = NULL;
	ri->FileNameLength = (ULONG)(len * sizeof(WCHAR));
	memcpy(ri->FileName, nt, len * sizeof(WCHAR));
	*size = (ULONG)(fixed + len * sizeof(WCHAR));
	return ri;
}

static void op_rename(struct fm_fuse_req *req, uint64_t parent, const char *name,
		      uint64_t newparent, const char *newname, unsigned int flags)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	FILE_RENAME_INFORMATION *ri = NULL;
	WCHAR target[PATH_MAX + 2];
	unsigned int tries = 0;
	unsigned long gen;
	size_t tlen;
	ULONG size, rflags;
	PFILE_OBJECT fo;
	int r;

	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	/* RENAME_WHITEOUT (overlayfs' private use) has no NT meaning: EINVAL, docs/mapping.md. */
	if ((flags & ~(unsigned int)(RENAME_NOREPLACE | RENAME_EXCHANGE)) ||
	    (flags & (RENAME_NOREPLACE | RENAME_EXCHANGE)) ==
		(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
		r = EINVAL;
		goto out;
	}
again:
	gen = fm_lower_rename_gen(fe->lw);
	r = -nt_path(fe, node_stream(fe, newparent), newname, target, PATH_MAX + 2, &tlen);
	if (r)
		goto out;
	/* RENAME_EXCHANGE: the same request with the private exchange flag (atomic below). */
	rflags = FILE_RENAME_POSIX_SEMANTICS |
		 ((flags & RENAME_EXCHANGE)    ? FM_RENAME_EXCHANGE
		  : (flags & RENAME_NOREPLACE) ? 0
					       : FILE_RENAME_REPLACE_IF_EXISTS);
	ri = rename_info(rflags, target, tlen, &size);
	if (!ri) {
		r = ENOMEM;
		goto out;
	}
	r = create_at(fe, &who, node_stream(fe, parent), name, FILE_OPEN, FILE_OPEN_REPARSE_POINT,
		      DELETE | FILE_READ_ATTRIBUTES | SYNCHRONIZE, -1, &fo, NULL);
	if (!r) {
		r = set_info(fe, &who, fo, FileRenameInformationEx, ri, size,
			     !(flags & (RENAME_NOREPLACE | RENAME_EXCHANGE)));
		close_fo(fe, &who, fo);
	}
	if (r && path_maybe_stale(fe, r, gen, &tries)) {
		fm_free(ri);
		ri = NULL;
		goto again;
	}
out:
	fm_free(ri);
	fm_fuse_reply_err(req, r);
	fe_leave(fe);
}

static void op_link(struct fm_fuse_req *req, uint64_t nodeid, uint64_t newparent,
		    const char *newname)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	FILE_RENAME_INFORMATION *ri = NULL;
	WCHAR target[PATH_MAX + 2];
	unsigned int tries = 0;
	unsigned long gen;
	size_t tlen;
	ULONG size;
	PFILE_OBJECT fo;
	int r;

	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
again:
	gen = fm_lower_rename_gen(fe->lw);
	r = -nt_path(fe, node_stream(fe, newparent), newname, target, PATH_MAX + 2, &tlen);
	if (!r) {
		ri = rename_info(FILE_LINK_POSIX_SEMANTICS, target, tlen, &size);
		if (!ri)
			r = ENOMEM;
	}
	if (!r)
		r = create_at(fe, &who, node_stream(fe, nodeid), NULL, FILE_OPEN,
			      FILE_OPEN_REPARSE_POINT, FILE_READ_ATTRIBUTES | SYNCHRONIZE, -1, &fo,
			      NULL);
	if (!r) {
		r = set_info(fe, &who, fo, FileLinkInformationEx, ri, size, false);
		if (!r)
			reply_entry_fo(fe, req, fo, NULL);
		close_fo(fe, &who, fo);
	}
	if (r && path_maybe_stale(fe, r, gen, &tries)) {
		fm_free(ri);
		ri = NULL;
		goto again;
	}
	if (r)
		fm_fuse_reply_err(req, r);
	fm_free(ri);
	fe_leave(fe);
}

static ACCESS_MASK access_of(int flags)
{
	ACCESS_MASK a = FILE_READ_ATTRIBUTES | SYNCHRONIZE;
	/*
	 * O_APPEND asks FILE_APPEND_DATA too, but not alone: Linux lets a process drop O_APPEND
	 * (fcntl F_SETFL) and write anywhere, and the kernel already gives every append write
	 * its offset (the end of file), so the handle needs FILE_WRITE_DATA as well.
	 */
	ACCESS_MASK w = FILE_WRITE_DATA | ((flags & O_APPEND) ? FILE_APPEND_DATA : 0);

	switch (flags & O_ACCMODE) {
	case O_WRONLY:
		return a | w | FILE_WRITE_ATTRIBUTES;
	case O_RDWR:
		return a | FILE_READ_DATA | w | FILE_WRITE_ATTRIBUTES;
	default:
		return a | FILE_READ_DATA;
	}
}

static int pt_register(void *arg, int fd)
{
	int id = fm_fuse_backing_open(arg, fd);

	if (id < 0) {
		static atomic_bool told;

		if (!atomic_exchange(&told, true))
			fm_warn(
			    "frontend: kernel passthrough refused (%s); this volume's data goes "
			    "through the daemon",
			    strerror(-id));
	}
	return id;
}

static int pt_unregister(void *arg, int id)
{
	return fm_fuse_backing_close(arg, id);
}

/*
 * How the kernel caches a file open's data (docs/volume.md, "Cache policy").  With `auto` and
 * `cached`: when no attached instance registered for IRP_MJ_READ or IRP_MJ_WRITE, kernel
 * passthrough (the kernel reads and writes the backing file itself); otherwise direct I/O
 * (`auto`: every read and write reaches the filters) or the page cache (`cached`: the reads it
 * cannot serve reach the filters as paging I/O).  With `direct`: always direct I/O.  Decided per open (the kernel refuses to mix
 * passthrough and page-cache opens of one inode: an open follows the inode's current mode).
 * Set-ID files opened for writing never use passthrough (the lower clears the set-ID bits
 * after a write by a non-root process, which the kernel's passthrough writer would not), nor
 * O_APPEND opens.
 */
/*
 * The kernel leaves an inode's passthrough mode at the close, but sends the RELEASE in the
 * background: an open that must not follow a passthrough mode (O_APPEND, a filter now on the
 * data path) waits, a bounded while, for RELEASEs already read from the device, so that a
 * closed handle's mode is not taken for a live one.
 */
static void wait_releases(struct fm_fuse_session *s)
{
	int i;

	for (i = 0; i < 2000 && fm_fuse_session_releasing(s); i++)
		usleep(10);
}

static void open_mode(struct fm_fe *fe, struct fm_fuse_req *req, struct fe_handle *h, int flags)
{
	struct fm_fuse_session *s = fm_fuse_req_session(req);
	bool pt = s && fm_fuse_session_conn(s)->passthrough;
	bool want = pt && fm_volume_unfiltered(fe->vol, IRP_MJ_READ) &&
		    fm_volume_unfiltered(fe->vol, IRP_MJ_WRITE);

	if (fe->cache == FM_CACHE_DIRECT)
		return;
	/* The kernel opens the backing file with the open's flags once: a later fcntl() that
	 * drops O_APPEND would not reach it. */
	if (flags & O_APPEND)
		want = false;
	if (!want && pt)
		wait_releases(s);
	if (want && h->fo->WriteAccess) {
		struct stat st;
		int fd = fm_lower_handle_fd(h->fo);

		if (fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID)))
			want = false;
	}
	h->mode =
	    fm_lower_open_mode(fe->lw, h->fo, want, fe->cache == FM_CACHE_CACHED, pt_register, s);
	if (h->mode > 0) {
		atomic_store(&fe->pt_session, s);
		atomic_fetch_add(&fe->pt_opens, 1);
	}
}

/* A handle's open mode is given back at its release (or a forced dismount). */
static void open_mode_release(struct fm_fe *fe, struct fe_handle *h)
{
	if (h->mode > 0)
		atomic_fetch_sub(&fe->pt_opens, 1);
	fm_lower_open_mode_release(fe->lw, h->fo, h->mode, pt_unregister,
				   atomic_load(&fe->pt_session));
	h->mode = FM_OPEN_DIRECT;
}

static void reply_opened(struct fm_fe *fe, struct fm_fuse_req *req, PFILE_OBJECT fo, int flags,
			 bool dir, bool create, const struct fm_requestor *who)
{
	struct fm_fuse_open o;
	struct fe_handle *h = fh_new(fe, fo, who);

	if (!h) {
		close_fo(fe, who, fo);
		fm_fuse_reply_err(req, ENOMEM);
		return;
	}
	memset(&o, 0, sizeof(o));
	o.fh = (uint64_t)(uintptr_t)h;
	o.direct_io = !dir;
	if (!dir)
		open_mode(fe, req, h, flags);
	if (h->mode != FM_OPEN_DIRECT)
		o.direct_io = false;
	if (h->mode == FM_OPEN_CACHED)
		o.keep_cache = true;
	if (h->mode > 0)
		o.backing_id = h->mode;
	if (create)
		reply_entry_fo(fe, req, fo, &o);
	else
		fm_fuse_reply_open(req, &o);
}

static void op_open(struct fm_fuse_req *req, uint64_t nodeid, int flags)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	PFILE_OBJECT fo;
	int r;

	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	r = create_at(fe, &who, node_stream(fe, nodeid), NULL,
		      (flags & O_TRUNC) ? FILE_OVERWRITE : FILE_OPEN, FILE_NON_DIRECTORY_FILE,
		      access_of(flags), -1, &fo, NULL);
	if (r)
		fm_fuse_reply_err(req, r);
	else
		reply_opened(fe, req, fo, flags, false, false, &who);
	fe_leave(fe);
}

static void op_create(struct fm_fuse_req *req, uint64_t parent, const char *name, mode_t mode,
		      int flags)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	ULONG disp = (flags & O_EXCL)	 ? FILE_CREATE
		     : (flags & O_TRUNC) ? FILE_OVERWRITE_IF
					 : FILE_OPEN_IF;
	PFILE_OBJECT fo;
	int r;

	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	r = create_at(fe, &who, node_stream(fe, parent), name, disp, FILE_NON_DIRECTORY_FILE,
		      access_of(flags), (long)(mode & 07777 & ~who.umask), &fo, NULL);
	if (r)
		fm_fuse_reply_err(req, r);
	else
		reply_opened(fe, req, fo, flags, false, true, &who);
	fe_leave(fe);
}

static void op_opendir(struct fm_fuse_req *req, uint64_t nodeid, int flags)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	PFILE_OBJECT fo;
	int r;

	(void)flags;
	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	r = create_at(fe, &who, node_stream(fe, nodeid), NULL, FILE_OPEN, FILE_DIRECTORY_FILE,
		      FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES | SYNCHRONIZE, -1, &fo, NULL);
	if (r)
		fm_fuse_reply_err(req, r);
	else
		reply_opened(fe, req, fo, flags, true, false, &who);
	fe_leave(fe);
}

static void op_read(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, size_t size, off_t off,
		    int flags)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	struct fe_handle *h = fh_of(fh);
	void *buf, *heap = NULL;
	struct fm_irp irp;
	NTSTATUS st;
	int err;

	(void)nodeid;
	(void)flags;
	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	buf = fm_fuse_req_scratch(req, size);
	if (!buf)
		buf = heap = fm_malloc(size ? size : 1);
	if (!buf) {
		fm_fuse_reply_err(req, ENOMEM);
		goto out;
	}
	fm_irp_init(&irp, fe->vol, IRP_MJ_READ, 0, h->fo, &who);
	/* Through the page cache, what reaches us is what the cache could not serve: paging
	 * I/O, as the cache manager's reads on Windows. */
	irp.data.Iopb->IrpFlags =
	    IRP_READ_OPERATION | IRP_NOCACHE | (h->mode == FM_OPEN_CACHED ? IRP_PAGING_IO : 0);
	irp.data.Iopb->Parameters.Read.Length = (ULONG)size;
	irp.data.Iopb->Parameters.Read.ByteOffset.QuadPart = off;
	irp.data.Iopb->Parameters.Read.ReadBuffer = buf;
	st = dispatch(&irp);
	err = status_errno(&irp, st);
	if (st == STATUS_END_OF_FILE)
		fm_fuse_reply_buf(req, buf, 0);
	else if (err)
		fm_fuse_reply_err(req, err);
	else
		fm_fuse_reply_buf(
		    req, buf,
		    irp.data.IoStatus.Information > size ? size : irp.data.IoStatus.Information);
	fm_irp_cleanup(&irp);
out:
	fm_free(heap);
	fe_leave(fe);
}

static void op_write(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, const void *buf,
		     size_t size, off_t off, int flags)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	struct fe_handle *h = fh_of(fh);
	struct fm_irp irp;
	NTSTATUS st;
	int err;

	(void)nodeid;
	(void)flags;
	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	fm_irp_init(&irp, fe->vol, IRP_MJ_WRITE, 0, h->fo, &who);
	/* The kernel writing back its page cache (write-back cache, `cached`): paging I/O, as
	 * the cache manager's and the mapped page writer's writes on Windows.  Its requestor is
	 * no process (pid 0), and h is any handle of the file open for writing. */
	irp.data.Iopb->IrpFlags =
	    IRP_WRITE_OPERATION | IRP_NOCACHE | (fm_fuse_req_cache_write(req) ? IRP_PAGING_IO : 0);
	irp.data.Iopb->Parameters.Write.Length = (ULONG)size;
	irp.data.Iopb->Parameters.Write.ByteOffset.QuadPart = off;
	irp.data.Iopb->Parameters.Write.WriteBuffer = (PVOID)buf;
	st = dispatch(&irp);
	err = status_errno(&irp, st);
	if (err)
		fm_fuse_reply_err(req, err);
	else
		fm_fuse_reply_write(req, irp.data.IoStatus.Information > size
					     ? size
					     : irp.data.IoStatus.Information);
	fm_irp_cleanup(&irp);
	fe_leave(fe);
}

/* ---- locks: IRP_MJ_LOCK_CONTROL ------------------------------------------------------------- */

/* The IRP's Key for a FUSE lock owner: 31 bits of it, bit 31 for flock(2) locks. */
static ULONG lock_key(uint64_t owner, bool is_flock)
{
	uint64_t h = owner * 0x9E3779B97F4A7C15ULL;

	return (ULONG)(h >> 33) | (is_flock ? FM_LOCK_FLOCK_KEY : 0);
}

/* cancel (when not NULL) says whether a waiting lock is given up; arg is its argument. */
static int lock_irp(struct fm_fe *fe, const struct fm_requestor *who, PFILE_OBJECT fo, UCHAR minor,
		    ULONG key, LONGLONG start, LONGLONG len, bool excl, bool now,
		    bool (*cancel)(void *), void *arg)
{
	LARGE_INTEGER length;
	struct fm_irp irp;
	NTSTATUS st;
	int err;

	length.QuadPart = len;
	fm_irp_init(&irp, fe->vol, IRP_MJ_LOCK_CONTROL, minor, fo, who);
	irp.cancel_check = cancel;
	irp.cancel_arg = arg;
	irp.data.Iopb->Parameters.LockControl.ByteOffset.QuadPart = start;
	irp.data.Iopb->Parameters.LockControl.Length = &length;
	irp.data.Iopb->Parameters.LockControl.Key = key;
	irp.data.Iopb->Parameters.LockControl.ExclusiveLock = excl;
	irp.data.Iopb->Parameters.LockControl.FailImmediately = now;
	st = dispatch(&irp);
	err = status_errno(&irp, st);
	fm_irp_cleanup(&irp);
	return err;
}

/*
 * A lock request that may wait (F_SETLKW, flock without LOCK_NB) waits on a thread of its
 * own, never in a FUSE worker: the workers are few, and with every one of them waiting for a
 * lock, the holder's unlock could not be served (a deadlock the stress test found).
 */
struct lock_wait {
	struct fm_fe *fe;
	struct fm_fuse_req *req; /* held: answered by the waiting thread */
	struct fm_requestor who;
	PFILE_OBJECT fo;
	ULONG key;
	LONGLONG start, len;
	bool excl;
};

/* The waiter gives up when its process is interrupted or the volume is going away. */
static bool lock_wait_cancelled_cb(void *arg)
{
	struct lock_wait *w = arg;
	return atomic_load(&w->fe->closing) || fm_fuse_req_interrupted(w->req);
}

static void lock_wait_run(struct lock_wait *w)
{
	fm_fuse_reply_err(w->req, lock_irp(w->fe, &w->who, w->fo, IRP_MN_LOCK, w->key, w->start,
					   w->len, w->excl, false, lock_wait_cancelled_cb, w));
	fe_leave(w->fe);
	fm_free(w);
}

static void *lock_wait_main(void *arg)
{
	lock_wait_run(arg);
	return NULL;
}

/*
 * fcntl F_SETLK / F_SETLKW and flock: IRP_MN_LOCK (ExclusiveLock for write locks,
 * FailImmediately unless waiting) or IRP_MN_UNLOCK_SINGLE on the handle; "to the end of the
 * file" is a Length of all ones; flock locks cover the whole file.
 */
static void op_setlk(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, uint64_t owner,
		     const struct flock *lock, bool sleep, bool is_flock)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	LONGLONG start = is_flock ? 0 : lock->l_start;
	LONGLONG len = is_flock || lock->l_len == 0 ? -1 : lock->l_len;

	(void)nodeid;
	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	if (sleep && lock->l_type != F_UNLCK) {
		struct lock_wait *w = fm_calloc(1, sizeof(*w));
		struct fm_fuse_req *held = w ? fm_fuse_req_hold(req) : NULL;
		pthread_attr_t a;
		pthread_t th;
		int rc;

		if (held) {
			*w = (struct lock_wait){fe,
						held,
						who,
						fh_of(fh)->fo,
						lock_key(owner, is_flock),
						start,
						len,
						lock->l_type == F_WRLCK};
			pthread_attr_init(&a);
			pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
			rc = pthread_create(&th, &a, lock_wait_main, w);
			pthread_attr_destroy(&a);
			/* Without a thread, wait here as before. */
			if (rc != 0)
				lock_wait_run(w);
			return;
		}
		fm_free(w);
	}
	fm_fuse_reply_err(req,
			  lock_irp(fe, &who, fh_of(fh)->fo,
				   lock->l_type == F_UNLCK ? IRP_MN_UNLOCK_SINGLE : IRP_MN_LOCK,
				   lock_key(owner, is_flock), start, len, lock->l_type == F_WRLCK,
				   !sleep, NULL, NULL));
	fe_leave(fe);
}

/* F_GETLK has no NT request: the lower's lock table answers directly. */
static void op_getlk(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, uint64_t owner,
		     const struct flock *lock)
{
	struct fm_fe *fe = fe_of(req);
	struct flock fl = *lock;
	int r;

	(void)nodeid;
	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	r = fm_lower_getlk(fh_of(fh)->fo, lock_key(owner, false), &fl);
	if (r < 0)
		fm_fuse_reply_err(req, -r);
	else
		fm_fuse_reply_lock(req, &fl);
	fe_leave(fe);
}

/*
 * A close by a process: POSIX drops every lock the process (the FUSE lock owner) holds on the
 * file, which is IRP_MN_UNLOCK_ALL with its Key, sent only when it holds some.
 */
static void op_flush(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, uint64_t lock_owner)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	ULONG key = lock_key(lock_owner, false);
	int r = 0;

	(void)nodeid;
	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	if (fh_of(fh) && fm_lower_has_locks(fh_of(fh)->fo, key))
		r = lock_irp(fe, &who, fh_of(fh)->fo, IRP_MN_UNLOCK_ALL, key, 0, -1, false, true,
			     NULL, NULL);
	fm_fuse_reply_err(req, r);
	fe_leave(fe);
}

static void release_handle(struct fm_fuse_req *req, uint64_t fh)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	struct fe_handle *h = fh_of(fh);

	if (!fe_enter(fe)) {
		/* Dismounting: the forced close owns live handles; dead ones are freed here. */
		pthread_mutex_lock(&fe->lock);
		if (h->dead)
			fh_free_locked(h);
		pthread_mutex_unlock(&fe->lock);
		fm_fuse_reply_err(req, 0);
		return;
	}
	open_mode_release(fe, h);
	close_fo(fe, who.pid ? &who : &h->opener, h->fo);
	pthread_mutex_lock(&fe->lock);
	fh_free_locked(h);
	pthread_mutex_unlock(&fe->lock);
	fm_fuse_reply_err(req, 0);
	fe_leave(fe);
}

static void op_release(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, int flags)
{
	(void)nodeid;
	(void)flags;
	release_handle(req, fh);
}

static void op_releasedir(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh)
{
	(void)nodeid;
	release_handle(req, fh);
}

static void op_fsync(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, bool datasync)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);

	(void)nodeid;
	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	fm_fuse_reply_err(req, simple_irp(fe, &who, fh_of(fh)->fo, IRP_MJ_FLUSH_BUFFERS,
					  datasync ? IRP_MN_FLUSH_DATA_ONLY : 0));
	fe_leave(fe);
}

struct pend_fill {
	struct fe_handle *h;
	size_t cap;
};

static int pend_add(void *arg, const char *name, size_t len, uint64_t ino, mode_t mode)
{
	struct pend_fill *f = arg;
	struct fe_handle *h = f->h;

	(void)len;
	if (h->npend == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 32;
		struct fe_dirent *p = fm_realloc(h->pend, nc * sizeof(*p));

		if (!p)
			return -ENOMEM;
		h->pend = p;
		f->cap = nc;
	}
	h->pend[h->npend].name = fm_strdup(name);
	if (!h->pend[h->npend].name)
		return -ENOMEM;
	h->pend[h->npend].ino = ino;
	h->pend[h->npend].mode = mode;
	h->npend++;
	return 0;
}

/*
 * Convert a FileIdExtdDirectoryInformation buffer (as the filters left it: untrusted, see
 * dirinfo.h) into the handle's pending entries.
 */
static int parse_entries(struct fe_handle *h, const char *buf, size_t len)
{
	struct pend_fill f = {h, 0};

	pend_clear(h);
	return fm_dirinfo_walk(buf, len, pend_add, &f);
}

static void op_readdir(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, size_t size,
		       off_t off)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	struct fe_handle *h = fh_of(fh);
	char *out, *qbuf = NULL, *heap = NULL;
	size_t used = 0;
	off_t skip = 0;
	bool restart = false;
	int err = 0;

	(void)nodeid;
	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	out = fm_fuse_req_scratch(req, size);
	if (!out)
		out = heap = fm_malloc(size ? size : 1);
	qbuf = fm_malloc(QUERY_BUF);
	if (!out || !qbuf) {
		fm_fuse_reply_err(req, ENOMEM);
		goto done;
	}
	pthread_mutex_lock(&h->lock);
	if (off != h->next_off || !h->started) {
		/* An offset we did not hand out last: rescan from the start and skip. */
		restart = h->started;
		pend_clear(h);
		h->eof = false;
		h->next_off = 0;
		skip = off;
	}
	for (;;) {
		if (h->ipend < h->npend) {
			struct fe_dirent *d = &h->pend[h->ipend];
			size_t n;

			if (skip > 0) {
				skip--;
				h->ipend++;
				h->next_off++;
				continue;
			}
			n = fm_fuse_add_direntry(out + used, size - used, d->name, d->ino, d->mode,
						 h->next_off + 1);
			if (n > size - used)
				break;
			used += n;
			h->ipend++;
			h->next_off++;
			continue;
		}
		if (h->eof)
			break;
		{
			struct fm_irp irp;
			NTSTATUS st;

			fm_irp_init(&irp, fe->vol, IRP_MJ_DIRECTORY_CONTROL, IRP_MN_QUERY_DIRECTORY,
				    h->fo, &who);
			irp.data.Iopb->OperationFlags = restart ? SL_RESTART_SCAN : 0;
			irp.data.Iopb->Parameters.DirectoryControl.QueryDirectory.Length =
			    QUERY_BUF;
			irp.data.Iopb->Parameters.DirectoryControl.QueryDirectory
			    .FileInformationClass = FileIdExtdDirectoryInformation;
			irp.data.Iopb->Parameters.DirectoryControl.QueryDirectory.DirectoryBuffer =
			    qbuf;
			st = dispatch(&irp);
			restart = false;
			h->started = true;
			if (st == STATUS_NO_MORE_FILES || st == STATUS_NO_SUCH_FILE) {
				h->eof = true;
			} else if (!NT_SUCCESS(st)) {
				err = status_errno(&irp, st);
			} else {
				size_t got = irp.data.IoStatus.Information;

				err = -parse_entries(h, qbuf, got > QUERY_BUF ? QUERY_BUF : got);
				if (!err && h->npend == 0 && got == 0)
					h->eof = true;
			}
			fm_irp_cleanup(&irp);
			if (err)
				break;
		}
	}
	pthread_mutex_unlock(&h->lock);
	if (err && used == 0)
		fm_fuse_reply_err(req, err);
	else
		fm_fuse_reply_buf(req, out, used);
done:
	fm_free(qbuf);
	fm_free(heap);
	fe_leave(fe);
}

static void op_fsyncdir(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, bool datasync)
{
	op_fsync(req, nodeid, fh, datasync);
}

static void op_statfs(struct fm_fuse_req *req, uint64_t nodeid)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	FILE_FS_FULL_SIZE_INFORMATION fs;
	struct statvfs sv;
	PFILE_OBJECT fo;
	int r;

	(void)nodeid;
	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	r = -fm_lower_statfs(fe->lw, &sv);
	if (!r)
		r = create_at(fe, &who, fm_lower_root(fe->lw), NULL, FILE_OPEN, FILE_DIRECTORY_FILE,
			      FILE_READ_ATTRIBUTES | SYNCHRONIZE, -1, &fo, NULL);
	if (!r) {
		struct fm_irp irp;
		NTSTATUS st;

		memset(&fs, 0, sizeof(fs));
		fm_irp_init(&irp, fe->vol, IRP_MJ_QUERY_VOLUME_INFORMATION, 0, fo, &who);
		irp.data.Iopb->Parameters.QueryVolumeInformation.Length = sizeof(fs);
		irp.data.Iopb->Parameters.QueryVolumeInformation.FsInformationClass =
		    FileFsFullSizeInformation;
		irp.data.Iopb->Parameters.QueryVolumeInformation.VolumeBuffer = &fs;
		st = dispatch(&irp);
		r = status_errno(&irp, st);
		fm_irp_cleanup(&irp);
		if (!r) {
			/* The name length limit too (FileFsAttributeInformation); the file counts
			 * have no NT equivalent and stay those of statvfs. */
			union {
				FILE_FS_ATTRIBUTE_INFORMATION a;
				char raw[sizeof(FILE_FS_ATTRIBUTE_INFORMATION) + 128];
			} ab;

			memset(&ab, 0, sizeof(ab));
			fm_irp_init(&irp, fe->vol, IRP_MJ_QUERY_VOLUME_INFORMATION, 0, fo, &who);
			irp.data.Iopb->Parameters.QueryVolumeInformation.Length = sizeof(ab);
			irp.data.Iopb->Parameters.QueryVolumeInformation.FsInformationClass =
			    FileFsAttributeInformation;
			irp.data.Iopb->Parameters.QueryVolumeInformation.VolumeBuffer = &ab;
			st = dispatch(&irp);
			if ((NT_SUCCESS(st) || st == STATUS_BUFFER_OVERFLOW) &&
			    ab.a.MaximumComponentNameLength > 0)
				sv.f_namemax = (unsigned long)ab.a.MaximumComponentNameLength;
			else if (!NT_SUCCESS(st) && st != STATUS_BUFFER_OVERFLOW)
				r = status_errno(&irp, st);
			fm_irp_cleanup(&irp);
		}
		close_fo(fe, &who, fo);
		if (!r) {
			unsigned long unit =
			    (unsigned long)fs.SectorsPerAllocationUnit * fs.BytesPerSector;

			if (unit) {
				sv.f_frsize = unit;
				sv.f_blocks = (fsblkcnt_t)fs.TotalAllocationUnits.QuadPart;
				sv.f_bavail =
				    (fsblkcnt_t)fs.CallerAvailableAllocationUnits.QuadPart;
				sv.f_bfree = (fsblkcnt_t)fs.ActualAvailableAllocationUnits.QuadPart;
			}
		}
	}
	if (r)
		fm_fuse_reply_err(req, r);
	else
		fm_fuse_reply_statfs(req, &sv);
	fe_leave(fe);
}

/*
 * fallocate, as NT requests on the handle (docs/mapping.md):
 * - PUNCH_HOLE | KEEP_SIZE: FSCTL_SET_ZERO_DATA over the range.
 * - 0 / KEEP_SIZE (allocate): FileStatLxInformation (the size), then, when the range ends past
 *   the end of the file, FileAllocationInformation to its end and, without KEEP_SIZE,
 *   FileEndOfFileInformation to it.  Inside the file nothing is asked: NT can only say
 *   "allocation size from offset 0", which would fill every hole before the range.
 * - ZERO_RANGE [| KEEP_SIZE]: FSCTL_SET_ZERO_DATA, then without KEEP_SIZE the same size query
 *   and FileEndOfFileInformation when the range ends past the end of the file.
 * - anything else (COLLAPSE_RANGE, INSERT_RANGE, UNSHARE_RANGE...): EOPNOTSUPP, no request.
 */
static void op_fallocate(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, int mode,
			 off_t offset, off_t length)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	PFILE_OBJECT fo;
	LONGLONG end;
	struct stat st;
	bool keep = mode & FALLOC_FL_KEEP_SIZE;
	int r = 0;

	(void)nodeid;
	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	fo = fh_of(fh)->fo;
	if (offset < 0 || length <= 0) {
		r = EINVAL;
		goto out;
	}
	end = length > INT64_MAX - offset ? INT64_MAX : (LONGLONG)(offset + length);
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
		r = EOPNOTSUPP;
		goto out;
	}
	if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
		FILE_ZERO_DATA_INFORMATION z;

		if ((mode & FALLOC_FL_PUNCH_HOLE) && (!keep || (mode & FALLOC_FL_ZERO_RANGE))) {
			r = EOPNOTSUPP;
			goto out;
		}
		z.FileOffset.QuadPart = offset;
		z.BeyondFinalZero.QuadPart = end;
		r = fsctl(fe, &who, fo, FSCTL_SET_ZERO_DATA, &z, sizeof(z), 0, NULL);
		if (r || keep)
			goto out;
		r = query_lx(fe, &who, fo, &st);
		if (!r && end > st.st_size) {
			FILE_END_OF_FILE_INFORMATION e = {.EndOfFile.QuadPart = end};

			r = set_info(fe, &who, fo, FileEndOfFileInformation, &e, sizeof(e), false);
		}
		goto out;
	}
	r = query_lx(fe, &who, fo, &st);
	if (!r && end > st.st_size) {
		FILE_ALLOCATION_INFORMATION a = {.AllocationSize.QuadPart = end};

		r = set_info(fe, &who, fo, FileAllocationInformation, &a, sizeof(a), false);
		if (!r && !keep) {
			FILE_END_OF_FILE_INFORMATION e = {.EndOfFile.QuadPart = end};

			r = set_info(fe, &who, fo, FileEndOfFileInformation, &e, sizeof(e), false);
		}
	}
out:
	fm_fuse_reply_err(req, r);
	fe_leave(fe);
}

/*
 * lseek SEEK_DATA / SEEK_HOLE (the kernel does the other whences itself):
 * FSCTL_QUERY_ALLOCATED_RANGES (METHOD_NEITHER) from the offset to the end of the file; the
 * first extent returned gives the answer.  Past the end of the file: ENXIO, as Linux.
 */
static void op_lseek(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, off_t off, int whence)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	PFILE_OBJECT fo = fh_of(fh)->fo;
	FILE_ALLOCATED_RANGE_BUFFER in, out;
	struct fm_irp irp;
	struct stat st;
	NTSTATUS s;
	off_t r;
	int err;

	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	if (whence != SEEK_DATA && whence != SEEK_HOLE) {
		fm_fuse_reply_err(req, EINVAL);
		goto out;
	}
	/* With the write-back cache the file's newest data may still be in the kernel's dirty
	 * pages, which the kernel does not write back before it asks: invalidating the file's
	 * pages makes it write them back first (the kernel holds no page of the file locked
	 * while it waits for this answer). */
	if (fm_fuse_session_conn(fm_fuse_req_session(req))->writeback_cache)
		fm_fuse_notify_inval_inode(fm_fuse_req_session(req), nodeid, 0, 0);
	err = -fm_lower_handle_stat(fo, &st);
	if (!err && (off < 0 || off >= st.st_size))
		err = ENXIO;
	if (err) {
		fm_fuse_reply_err(req, err);
		goto out;
	}
	in.FileOffset.QuadPart = off;
	in.Length.QuadPart = st.st_size - off;
	memset(&out, 0, sizeof(out));
	fm_irp_init(&irp, fe->vol, IRP_MJ_FILE_SYSTEM_CONTROL, IRP_MN_USER_FS_REQUEST, fo, &who);
	irp.data.Iopb->Parameters.FileSystemControl.Neither.FsControlCode =
	    FSCTL_QUERY_ALLOCATED_RANGES;
	irp.data.Iopb->Parameters.FileSystemControl.Neither.InputBufferLength = sizeof(in);
	irp.data.Iopb->Parameters.FileSystemControl.Neither.InputBuffer = &in;
	irp.data.Iopb->Parameters.FileSystemControl.Neither.OutputBufferLength = sizeof(out);
	irp.data.Iopb->Parameters.FileSystemControl.Neither.OutputBuffer = &out;
	s = dispatch(&irp);
	err = s == STATUS_BUFFER_OVERFLOW ? 0 : status_errno(&irp, s);
	if (!err) {
		bool any = irp.data.IoStatus.Information >= sizeof(out);
		LONGLONG start = out.FileOffset.QuadPart, end = start + out.Length.QuadPart;

		if (whence == SEEK_DATA)
			r = !any ? -1 : start > off ? start : off;
		else
			r = !any || start > off ? off : end;
		if (r < 0)
			err = ENXIO;
		else
			fm_fuse_reply_lseek(req, r);
	}
	fm_irp_cleanup(&irp);
	if (err)
		fm_fuse_reply_err(req, err);
out:
	fe_leave(fe);
}

/*
 * copy_file_range: a read + write pair through the stack (IRP_MJ_READ on the source handle,
 * IRP_MJ_WRITE of what came back on the destination), at most 1 MiB per request: the kernel
 * and user space accept a short copy.  Filters that transform data (encryption) see and
 * change both halves, which a server-side copy would bypass.
 */
#define COPY_CHUNK (1024 * 1024)

static void op_copy_file_range(struct fm_fuse_req *req, uint64_t nodeid_in, uint64_t fh_in,
			       off_t off_in, uint64_t nodeid_out, uint64_t fh_out, off_t off_out,
			       size_t len, int flags)
{
	struct fm_fe *fe = fe_of(req);
	struct fm_requestor who = who_of(req);
	size_t n = len > COPY_CHUNK ? COPY_CHUNK : len, got;
	struct fm_irp irp;
	void *buf = NULL;
	NTSTATUS st;
	int err;

	(void)nodeid_in;
	(void)nodeid_out;
	if (!fe_enter(fe)) {
		fm_fuse_reply_err(req, ENOTCONN);
		return;
	}
	if (flags) {
		fm_fuse_reply_err(req, EINVAL);
		goto out;
	}
	buf = fm_malloc(n ? n : 1);
	if (!buf) {
		fm_fuse_reply_err(req, ENOMEM);
		goto out;
	}
	fm_irp_init(&irp, fe->vol, IRP_MJ_READ, 0, fh_of(fh_in)->fo, &who);
	irp.data.Iopb->IrpFlags = IRP_READ_OPERATION | IRP_NOCACHE;
	irp.data.Iopb->Parameters.Read.Length = (ULONG)n;
	irp.data.Iopb->Parameters.Read.ByteOffset.QuadPart = off_in;
	irp.data.Iopb->Parameters.Read.ReadBuffer = buf;
	st = dispatch(&irp);
	err = st == STATUS_END_OF_FILE ? 0 : status_errno(&irp, st);
	got = st == STATUS_END_OF_FILE		  ? 0
	      : irp.data.IoStatus.Information > n ? n
						  : irp.data.IoStatus.Information;
	fm_irp_cleanup(&irp);
	if (err || !got) {
		if (err)
			fm_fuse_reply_err(req, err);
		else
			fm_fuse_reply_write(req, 0);
		goto out;
	}
	fm_irp_init(&irp, fe->vol, IRP_MJ_WRITE, 0, fh_of(fh_out)->fo, &who);
	irp.data.Iopb->IrpFlags = IRP_WRITE_OPERATION | IRP_NOCACHE;
	irp.data.Iopb->Parameters.Write.Length = (ULONG)got;
	irp.data.Iopb->Parameters.Write.ByteOffset.QuadPart = off_out;
	irp.data.Iopb->Parameters.Write.WriteBuffer = buf;
	st = dispatch(&irp);
	err = status_errno(&irp, st);
	if (err)
		fm_fuse_reply_err(req, err);
	else
		fm_fuse_reply_write(
		    req, irp.data.IoStatus.Information > got ? got : irp.data.IoStatus.Information);
	fm_irp_cleanup(&irp);
out:
	fm_free(buf);
	fe_leave(fe);
}

const struct fm_fuse_ops fm_frontend_ops = {
    .init = op_init,
    .lookup = op_lookup,
    .forget = op_forget,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .readlink = op_readlink,
    .mknod = op_mknod,
    .mkdir = op_mkdir,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .symlink = op_symlink,
    .rename = op_rename,
    .link = op_link,
    .open = op_open,
    .read = op_read,
    .write = op_write,
    .flush = op_flush,
    .release = op_release,
    .fsync = op_fsync,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .releasedir = op_releasedir,
    .fsyncdir = op_fsyncdir,
    .statfs = op_statfs,
    .setxattr = op_setxattr,
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
    .removexattr = op_removexattr,
    .create = op_create,
    .fallocate = op_fallocate,
    .lseek = op_lseek,
    .copy_file_range = op_copy_file_range,
    .getlk = op_getlk,
    .setlk = op_setlk,
};

/* ---- shutdown ------------------------------------------------------------------------------- */

struct cache_flush {
	int fd; /* the connection's, of our own */
	size_t n;
	uint64_t ids[];
};

static void *cache_flush_main(void *arg)
{
	struct cache_flush *f = arg;
	size_t i;

	for (i = 0; i < f->n; i++)
		fm_fuse_notify_inval_inode_fd(f->fd, f->ids[i], 0, 0);
	close(f->fd);
	fm_free(f);
	return NULL;
}

void fm_fe_flush_cache(struct fm_fe *fe, struct fm_fuse_session *s)
{
	struct cache_flush *f;
	struct fe_handle *h;
	struct timespec until;
	pthread_t t;
	size_t n = 0;
	int fd;

	if (!s || !fm_fuse_session_conn(s)->writeback_cache)
		return;
	pthread_mutex_lock(&fe->lock);
	for (h = fe->handles.next; h != &fe->handles; h = h->next)
		n += !h->dead && h->mode == FM_OPEN_CACHED;
	f = n ? fm_malloc(sizeof(*f) + n * sizeof(f->ids[0])) : NULL;
	if (f) {
		f->n = 0;
		for (h = fe->handles.next; h != &fe->handles && f->n < n; h = h->next)
			if (!h->dead && h->mode == FM_OPEN_CACHED)
				f->ids[f->n++] = node_id(fe, fm_lower_handle_stream(h->fo));
	}
	pthread_mutex_unlock(&fe->lock);
	if (!f) {
		if (n)
			fm_warn("frontend: out of memory: dirty pages of %zu open file(s) not "
				"written back at dismount",
				n);
		return;
	}
	fd = f->fd = fm_fuse_notify_dup(s);
	if (fd < 0 || pthread_create(&t, NULL, cache_flush_main, f) != 0) {
		fm_warn("frontend: cannot write back the page cache at dismount");
		if (fd >= 0)
			close(fd);
		fm_free(f);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	if (pthread_timedjoin_np(t, NULL, &until) != 0) {
		fm_warn("frontend: writing back the page cache of %zu open file(s) takes more "
			"than 5 s at dismount: going on without it",
			n);
		pthread_detach(t);
	}
}

void fm_fe_shutdown(struct fm_fe *fe)
{
	struct timespec until;

	pthread_mutex_lock(&fe->lock);
	atomic_store(&fe->closing, true);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	while (atomic_load(&fe->inflight)) {
		if (pthread_cond_timedwait(&fe->idle, &fe->lock, &until) == ETIMEDOUT) {
			fm_warn("frontend: %lu request(s) still running at dismount",
				atomic_load(&fe->inflight));
			break;
		}
	}
	for (;;) {
		struct fe_handle *h;

		for (h = fe->handles.next; h != &fe->handles && h->dead; h = h->next)
			;
		if (h == &fe->handles || !fe->vol)
			break;
		pthread_mutex_unlock(&fe->lock);
		open_mode_release(fe, h);
		close_fo(fe, NULL, h->fo);
		pthread_mutex_lock(&fe->lock);
		h->fo = NULL;
		h->dead = true;
	}
	pthread_mutex_unlock(&fe->lock);
}

void fm_fe_destroy(struct fm_fe *fe)
{
	if (!fe)
		return;
	pthread_mutex_lock(&fe->lock);
	while (fe->handles.next != &fe->handles)
		fh_free_locked(fe->handles.next);
	pthread_mutex_unlock(&fe->lock);
	pthread_cond_destroy(&fe->idle);
	pthread_mutex_destroy(&fe->lock);
	fm_free(fe);
}
