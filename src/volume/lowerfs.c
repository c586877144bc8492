/* The lower file system: executes IRPs on the backing directory, reached only beneath its root descriptor. */
#include "volume/lowerfs.h"

#include "common/alloc.h"
#include "common/log.h"
#include "common/ntname.h"
#include "common/secdesc.h"
#include "common/status.h"

#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define HASH_BUCKETS 4096
#define MAX_GROUPS 256

/*
 * One backing inode.  Every field but dev/ino/type is guarded by fm_lower.lock.  References:
 * one while nlookup > 0, one per open handle (FsContext), one per child stream (its parent
 * pointer), one per handle whose opened link lies in this directory; the root holds one
 * forever.
 */
/* Another name of a hard-linked file, learned from a lookup or a link. */
struct alias {
	struct alias *next;
	struct fm_stream *parent; /* referenced */
	char *name;
};

/* One POSIX byte-range lock (see IRP_MJ_LOCK_CONTROL below). */
struct lk_range {
	struct lk_range *next;
	ULONG key;    /* the lock owner */
	uint32_t pid; /* who took it, for F_GETLK */
	int64_t start, end;
	bool excl;
};

struct fm_stream {
	struct fm_stream *hnext;
	dev_t dev;
	ino_t ino;
	unsigned long refs;
	uint64_t nlookup;
	struct fm_stream *parent;
	char *name;
	struct alias *aliases; /* other known links, promoted when the name above goes */
	/*
	 * Kernel file handle (name_to_handle_at), taken when the remembered name is removed
	 * while the inode may live on (hard links, open files): reaches it without a name.
	 */
	struct file_handle *fh;
	struct fm_handle *handles; /* open handles (fm_handle.snext), the last way to reach it */
	struct lk_range *locks;	   /* POSIX locks held on it, fm_lower.lklock */
	mode_t type;
	unsigned int nhandles;
	/* Kernel passthrough: the backing id every passthrough open of it shares, and how many
	 * such opens the kernel holds (lock). */
	int backing_id;
	unsigned int npassthrough;
	unsigned int ncached; /* opens using the kernel's page cache (lock) */
	bool deleted;	      /* its remembered name is gone (unlinked or renamed over) */
	bool delete_pending;
};
/* One per inode the kernel holds: the fields are ordered to pack (docs/bench.md, walk). */
_Static_assert(sizeof(struct fm_stream) <= 112, "struct fm_stream grew");

struct fm_lower {
	struct fm_volume *vol;	/* set once the core volume exists; for fm_volume_stream_gone */
	struct fm_stream *dead; /* unlinked from the table, freed by lower_unlock (lock) */
	int root_fd;
	int mount_fd;		/* a real descriptor of the root, for open_by_handle_at */
	pthread_mutex_t lock;	/* the stream table and every stream's mutable fields */
	pthread_mutex_t lklock; /* every stream's locks */
	pthread_cond_t lkcond;	/* a lock was released */
	struct fm_stream *buckets[HASH_BUCKETS];
	struct fm_stream root;
	char fs_name[32];
	int ngroups; /* the daemon's own supplementary groups, restored after impersonation */
	gid_t groups[MAX_GROUPS];
	atomic_ulong rename_gen; /* renames done (fm_lower_rename_gen) */
	atomic_int renaming;	 /* renames in progress */
	atomic_ulong rmdir_gen;	 /* directories removed (the kept directories, below) */
	unsigned long id;	 /* unique for the process's life: a kept directory's owner */
};

struct dir_ent {
	char *name;
	uint64_t ino;
};

/* FsContext2: one open handle. */
struct fm_handle {
	struct fm_lower *lw;
	struct fm_handle *snext; /* the stream's list of handles, fm_lower.lock */
	int fd;
	int oflags;
	bool can_read, can_write, can_delete;
	bool delete_on_close;
	bool cleaned;
	/* The link the handle was opened by: parent directory stream (referenced) and name. */
	struct fm_stream *link_parent;
	char *link_name;
	/* Directory enumeration, guarded by dir_lock. */
	pthread_mutex_t dir_lock;
	bool scanned;
	struct dir_ent *ents;
	size_t nents, pos;
	WCHAR *pattern;
	size_t pattern_len;
	bool returned_any;
	size_t ea_pos; /* IRP_MJ_QUERY_EA enumeration cursor (entries), dir_lock */
	/* $LXDEV of the create (major, minor): the device a later LX_CHR / LX_BLK gets. */
	bool has_lxdev;
	ULONG lxdev[2];
};

/* Remember which errno produced the status set on this operation (see fm_lower_last_errno). */
static void note_errno(PFLT_CALLBACK_DATA data, NTSTATUS st, int err)
{
	struct fm_irp *irp = fm_irp_from_data(data);

	irp->lower_status = st;
	irp->lower_errno = err;
}

/* ---- small helpers ------------------------------------------------------------------------ */

static NTSTATUS complete(PFLT_CALLBACK_DATA data, NTSTATUS st, ULONG_PTR info)
{
	data->IoStatus.Status = st;
	data->IoStatus.Information = info;
	return st;
}

static NTSTATUS fail_errno(PFLT_CALLBACK_DATA data, int err)
{
	NTSTATUS st;

	if (err < 0)
		err = -err;
	st = (NTSTATUS)fm_status_from_errno(err);
	note_errno(data, st, err);
	return complete(data, st, 0);
}

int fm_lower_last_errno(PFLT_CALLBACK_DATA data, NTSTATUS status)
{
	const struct fm_irp *irp = fm_irp_from_data(data);

	if (irp->lower_errno && irp->lower_status == status)
		return irp->lower_errno;
	return 0;
}

static int open_at_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
	struct open_how how;
	int tries, fd = -1;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	/* openat2 answers EAGAIN when a concurrent rename raced the resolution: retry. */
	for (tries = 0; tries < 8; tries++) {
		fd = (int)syscall(SYS_openat2, dirfd, *path ? path : ".", &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	return fd < 0 ? -errno : fd;
}

static int open_beneath(struct fm_lower *lw, const char *path, int flags, mode_t mode)
{
	return open_at_beneath(lw->root_fd, path, flags, mode);
}

/*
 * Split "a/b/c" into the parent "a/b" (written to pbuf) and the final name (returned, points
 * into path).  The root has no parent: NULL.
 */
static const char *split_path(const char *path, char *pbuf, size_t cap)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!*path)
		return NULL;
	if (!slash) {
		pbuf[0] = '\0';
		return path;
	}
	n = (size_t)(slash - path);
	if (n >= cap)
		return NULL;
	memcpy(pbuf, path, n);
	pbuf[n] = '\0';
	return slash + 1;
}

static int open_dir_path(struct fm_lower *lw, const char *path)
{
	return open_beneath(lw, path, O_PATH | O_DIRECTORY, 0);
}

/*
 * open_dir_path, the root descriptor itself for "", and with `st` the directory's fstat; on
 * failure -errno and nothing left open.
 */
static int open_dir_stat(struct fm_lower *lw, const char *path, struct stat *st)
{
	int fd = *path ? open_dir_path(lw, path) : lw->root_fd, r;

	if (fd < 0 || !st || fstat(fd, st) == 0)
		return fd;
	r = -errno;
	if (fd != lw->root_fd)
		close(fd);
	return r;
}

/*
 * A kept directory.  A thread that serves a volume's requests (fm_lower_thread_keep_dirs)
 * keeps the O_PATH descriptor of the last parent directory it looked a name up in, so that
 * the next lookup or stat by name in it is one fstatat instead of openat2 + fstatat + close.
 * The descriptor is the directory the path named when it was opened: it is used only while
 * no rename and no rmdir happened in that lower since (rename_gen, rmdir_gen), so the path
 * still names it; the name looked up in it is one checked component, not followed, so the
 * lookup stays beneath the root as openat2's RESOLVE_BENEATH would keep it.  A thread keeps
 * directories of the lower it serves only (its volume's: a filter's I/O to another volume from
 * it opens and closes as before), and frees its slot when it exits (the session's threads
 * exit before the lower is destroyed).
 */
#define DIR_SLOT_PATH 256

struct dir_slot {
	unsigned long lower_id; /* the lower whose directories this thread keeps */
	unsigned long rename_gen, rmdir_gen;
	int fd;		/* -1: none kept */
	struct stat st; /* the directory's, taken when it was opened */
	char path[DIR_SLOT_PATH];
};

static pthread_key_t dir_key;
static pthread_once_t dir_once = PTHREAD_ONCE_INIT;
static atomic_ulong lower_ids;
static __thread struct dir_slot *t_dir_slot;

/* Not inlined: a fiber may continue on another thread, its TLS address must not be reused. */
static __attribute__((noinline)) struct dir_slot *thread_dir_slot(void)
{
	return t_dir_slot;
}

static void dir_slot_free(void *p)
{
	struct dir_slot *d = p;

	if (d->fd >= 0)
		close(d->fd);
	fm_free(d);
}

static void dir_key_init(void)
{
	if (pthread_key_create(&dir_key, dir_slot_free) != 0)
		dir_key = (pthread_key_t)-1;
}

void fm_lower_thread_keep_dirs(struct fm_lower *lw)
{
	struct dir_slot *d;

	if (thread_dir_slot())
		return;
	pthread_once(&dir_once, dir_key_init);
	if (dir_key == (pthread_key_t)-1)
		return;
	d = fm_calloc(1, sizeof(*d));
	if (!d)
		return;
	d->fd = -1;
	d->lower_id = lw->id;
	if (pthread_setspecific(dir_key, d) != 0) {
		fm_free(d);
		return;
	}
	t_dir_slot = d;
}

static void dir_put(struct fm_lower *lw, int fd)
{
	struct dir_slot *d = thread_dir_slot();

	if (fd >= 0 && fd != lw->root_fd && !(d && d->fd == fd))
		close(fd);
}

/*
 * An O_PATH descriptor of directory `path` (beneath the root; "" is the root) for the caller
 * to use now; pass it to dir_put after, with no other dir_get on this thread in between (that
 * one may replace the kept descriptor).  With `st`, also the directory's stat (a kept one's
 * was taken when it was opened: its identity and type cannot change while the descriptor is
 * open).  -errno if it cannot be opened.
 */
static int dir_get(struct fm_lower *lw, const char *path, struct stat *st)
{
	struct dir_slot *d = thread_dir_slot();
	unsigned long rg = fm_lower_rename_gen(lw), dg = atomic_load(&lw->rmdir_gen);
	size_t n = strlen(path);
	int fd;

	if (!*path || !d || d->lower_id != lw->id || rg == FM_RENAME_GEN_BUSY || n >= DIR_SLOT_PATH)
		return open_dir_stat(lw, path, st);
	if (d->fd < 0 || d->rename_gen != rg || d->rmdir_gen != dg || strcmp(d->path, path) != 0) {
		struct stat dst;

		fd = open_dir_stat(lw, path, &dst);
		if (fd < 0)
			return fd;
		if (d->fd >= 0)
			close(d->fd);
		d->fd = fd;
		d->st = dst;
		d->rename_gen = rg;
		d->rmdir_gen = dg;
		memcpy(d->path, path, n + 1);
	}
	if (st)
		*st = d->st;
	return d->fd;
}

/*
 * lstat of `path` beneath the root ("" is the root): its final name looked up, not followed,
 * in its parent as dir_get gives it.  0 or -errno.
 */
static int stat_by_name(struct fm_lower *lw, const char *path, struct stat *st)
{
	char ppath[PATH_MAX];
	const char *name;
	int fd, r;

	if (!*path)
		return fstat(lw->root_fd, st) < 0 ? -errno : 0;
	name = split_path(path, ppath, sizeof(ppath));
	if (!name)
		return -ENAMETOOLONG;
	fd = dir_get(lw, ppath, NULL);
	if (fd < 0)
		return fd;
	r = fstatat(fd, name, st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	dir_put(lw, fd);
	return r;
}

static void timespec_to_nt(const struct timespec *ts, LARGE_INTEGER *out)
{
	out->QuadPart = ((LONGLONG)ts->tv_sec + 11644473600LL) * 10000000LL + ts->tv_nsec / 100;
}

static void nt_to_timespec(LONGLONG t, struct timespec *ts)
{
	LONGLONG rel = t - 11644473600LL * 10000000LL;
	LONGLONG sec = rel / 10000000LL, rem = rel % 10000000LL;

	if (rem < 0) {
		rem += 10000000LL;
		sec--;
	}
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = (long)(rem * 100);
}

/* ---- impersonation ------------------------------------------------------------------------- */

static int read_groups(uint32_t pid, gid_t *groups, int cap)
{
	char path[64], buf[8192], *p, *end;
	ssize_t n;
	int fd, count = 0;

	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	p = strstr(buf, "\nGroups:");
	if (!p)
		return 0;
	p += 8;
	while (count < cap) {
		unsigned long g;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p < '0' || *p > '9')
			break;
		g = strtoul(p, &end, 10);
		if (end == p)
			break;
		groups[count++] = (gid_t)g;
		p = end;
	}
	return count;
}

/*
 * Give this thread a private umask of 0 once (unshare(CLONE_FS) is per thread), so the mode
 * computed by the front-end (already masked with the caller's umask) is the mode created.
 */
static void thread_umask_zero(void)
{
	static __thread bool done;

	if (done)
		return;
	done = true;
	if (unshare(CLONE_FS) == 0)
		umask(0);
	else
		fm_warn("lowerfs: unshare(CLONE_FS) failed: %s; daemon umask applies",
			strerror(errno));
}

struct creds {
	bool switched;
};

/* Act as the requestor for what follows on this thread (fsuid/fsgid/groups are per thread). */
static void creds_enter(struct fm_lower *lw, const struct fm_requestor *who, struct creds *c)
{
	gid_t groups[MAX_GROUPS];
	int n;

	(void)lw;
	c->switched = false;
	thread_umask_zero();
	if (!who || (who->uid == 0 && who->gid == 0))
		return;
	n = who->pid ? read_groups(who->pid, groups, MAX_GROUPS) : 0;
	if (n < 0)
		n = 0;
	/* glibc's setgroups() changes every thread: use the raw per-thread system call. */
	syscall(SYS_setgroups, (size_t)n, groups);
	setfsgid(who->gid);
	setfsuid(who->uid);
	c->switched = true;
}

static void creds_leave(struct fm_lower *lw, struct creds *c)
{
	if (!c->switched)
		return;
	setfsuid(0);
	setfsgid(0);
	syscall(SYS_setgroups, (size_t)lw->ngroups, lw->groups);
	c->switched = false;
}

/* ---- stream table -------------------------------------------------------------------------- */

static size_t hash_of(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ULL ^ (uint64_t)dev;

	return (size_t)(h >> 20) % HASH_BUCKETS;
}

static struct fm_stream *find_locked(struct fm_lower *lw, dev_t dev, ino_t ino)
{
	struct fm_stream *s;

	if (lw->root.dev == dev && lw->root.ino == ino)
		return &lw->root;
	for (s = lw->buckets[hash_of(dev, ino)]; s; s = s->hnext)
		if (s->dev == dev && s->ino == ino)
			return s;
	return NULL;
}

/* Take s out of the (dev, ino) table; it stays alive for its references. */
static void unhash_locked(struct fm_lower *lw, struct fm_stream *s)
{
	struct fm_stream **pp = &lw->buckets[hash_of(s->dev, s->ino)];

	while (*pp && *pp != s)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = s->hnext;
	s->hnext = NULL;
}

static void put_locked(struct fm_lower *lw, struct fm_stream *s)
{
	while (s && --s->refs == 0) {
		struct fm_stream *parent = s->parent;

		if (s == &lw->root)
			return;
		while (s->aliases) {
			struct alias *a = s->aliases;

			s->aliases = a->next;
			put_locked(lw, a->parent);
			fm_free(a->name);
			fm_free(a);
		}
		unhash_locked(lw, s);
		/*
		 * Filters' stream and file contexts end with the stream (R58); their cleanup
		 * callbacks must not run under our lock, so lower_unlock() finishes the job.
		 */
		s->hnext = lw->dead;
		lw->dead = s;
		s = parent;
	}
}

/* Unlock the table, then retire the streams that lost their last reference meanwhile. */
static void lower_unlock(struct fm_lower *lw)
{
	struct fm_stream *dead = lw->dead;

	lw->dead = NULL;
	pthread_mutex_unlock(&lw->lock);
	while (dead) {
		struct fm_stream *next = dead->hnext;

		fm_volume_stream_gone(__atomic_load_n(&lw->vol, __ATOMIC_ACQUIRE), dead);
		while (dead->locks) {
			struct lk_range *l = dead->locks;

			dead->locks = l->next;
			fm_free(l);
		}
		fm_free(dead->name);
		fm_free(dead->fh);
		fm_free(dead);
		dead = next;
	}
}

void fm_stream_get(struct fm_lower *lw, struct fm_stream *s)
{
	pthread_mutex_lock(&lw->lock);
	s->refs++;
	lower_unlock(lw);
}

void fm_stream_put(struct fm_lower *lw, struct fm_stream *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&lw->lock);
	put_locked(lw, s);
	lower_unlock(lw);
}

/* Give stream s the name (parent, name); takes no new reference on s. Under lock. */
static int rename_locked(struct fm_lower *lw, struct fm_stream *s, struct fm_stream *parent,
			 const char *name)
{
	char *copy;
	struct fm_stream *old;

	if (s == &lw->root)
		return 0;
	copy = fm_strdup(name);
	if (!copy)
		return -ENOMEM;
	parent->refs++;
	old = s->parent;
	fm_free(s->name);
	s->name = copy;
	s->parent = parent;
	s->deleted = false;
	put_locked(lw, old);
	return 0;
}

static struct alias **find_alias(struct fm_stream *s, struct fm_stream *parent, const char *name)
{
	struct alias **pa;

	for (pa = &s->aliases; *pa; pa = &(*pa)->next)
		if ((*pa)->parent == parent && !strcmp((*pa)->name, name))
			return pa;
	return NULL;
}

/* Remember (parent, name) as another link of s, unless known (at most 16). Under lock. */
static void add_alias(struct fm_stream *s, struct fm_stream *parent, const char *name)
{
	struct alias *a;
	int n = 0;

	if (S_ISDIR(s->type) || s->deleted ||
	    (s->parent == parent && s->name && !strcmp(s->name, name)))
		return;
	if (find_alias(s, parent, name))
		return;
	for (a = s->aliases; a; a = a->next)
		n++;
	if (n >= 16)
		return;
	a = fm_calloc(1, sizeof(*a));
	if (!a)
		return;
	a->name = fm_strdup(name);
	if (!a->name) {
		fm_free(a);
		return;
	}
	a->parent = parent;
	parent->refs++;
	a->next = s->aliases;
	s->aliases = a;
}

/*
 * The link (parent, name) of s is gone: forget it; when it was the remembered name, another
 * known link takes its place, or the stream becomes nameless.  Under lock.
 */
static void link_gone(struct fm_lower *lw, struct fm_stream *s, struct fm_stream *parent,
		      const char *name)
{
	struct alias **pa, *a;

	if (s->parent == parent && s->name && !strcmp(s->name, name)) {
		if (s->aliases) {
			a = s->aliases;
			s->aliases = a->next;
			put_locked(lw, s->parent);
			fm_free(s->name);
			s->parent = a->parent;
			s->name = a->name;
			fm_free(a);
		} else {
			s->deleted = true;
		}
		return;
	}
	pa = find_alias(s, parent, name);
	if (pa) {
		a = *pa;
		*pa = a->next;
		put_locked(lw, a->parent);
		fm_free(a->name);
		fm_free(a);
	}
}

/* A new stream with one reference (the caller's), named (parent, name); parent gets a ref. */
static struct fm_stream *insert_locked(struct fm_lower *lw, const struct stat *st,
				       struct fm_stream *parent, const char *name)
{
	struct fm_stream *s = fm_calloc(1, sizeof(*s));
	size_t h;

	if (!s)
		return NULL;
	s->name = fm_strdup(name);
	if (!s->name) {
		fm_free(s);
		return NULL;
	}
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->type = st->st_mode & S_IFMT;
	s->refs = 1;
	s->parent = parent;
	parent->refs++;
	h = hash_of(s->dev, s->ino);
	s->hnext = lw->buckets[h];
	lw->buckets[h] = s;
	return s;
}

static int stream_path_locked(struct fm_lower *lw, struct fm_stream *s, char *buf, size_t cap)
{
	struct fm_stream *p;
	size_t len = 0, pos;

	for (p = s; p != &lw->root; p = p->parent) {
		if (!p || p->deleted || !p->name)
			return -ENOENT;
		len += strlen(p->name) + (p->parent != &lw->root ? 1 : 0);
		if (len > PATH_MAX * 4)
			return -ELOOP;
	}
	if (len + 1 > cap)
		return -ENAMETOOLONG;
	pos = len;
	buf[pos] = '\0';
	for (p = s; p != &lw->root; p = p->parent) {
		size_t n = strlen(p->name);

		pos -= n;
		memcpy(buf + pos, p->name, n);
		if (p->parent != &lw->root)
			buf[--pos] = '/';
	}
	return (int)len;
}

int fm_lower_stream_path(struct fm_lower *lw, struct fm_stream *s, char *buf, size_t cap)
{
	int r;

	pthread_mutex_lock(&lw->lock);
	r = stream_path_locked(lw, s, buf, cap);
	lower_unlock(lw);
	return r;
}

/*
 * The stream of the file at `path` whose stat is *st, with a new reference.  Streams missing
 * from the table are created along with their missing ancestors (depth bounded by the path).
 */
static int stream_for_path(struct fm_lower *lw, const char *path, const struct stat *st,
			   struct fm_stream **out)
{
	char ppath[PATH_MAX];
	const char *name;
	struct fm_stream *s, *parent = NULL;
	struct stat pst;
	int fd, r;

	pthread_mutex_lock(&lw->lock);
	s = find_locked(lw, st->st_dev, st->st_ino);
	if (s && (!s->deleted || s == &lw->root || !*path)) {
		s->refs++;
		lower_unlock(lw);
		*out = s;
		return 0;
	}
	lower_unlock(lw);
	if (!*path) {
		/* Something else than the root lives at the root path: only if remounted. */
		return -ESTALE;
	}
	name = split_path(path, ppath, sizeof(ppath));
	if (!name)
		return -ENAMETOOLONG;
	/* Not dir_get: the caller may hold the thread's kept directory. */
	fd = open_dir_stat(lw, ppath, &pst);
	if (fd < 0)
		return fd;
	dir_put(lw, fd);
	r = stream_for_path(lw, ppath, &pst, &parent);
	if (r < 0)
		return r;
	pthread_mutex_lock(&lw->lock);
	s = find_locked(lw, st->st_dev, st->st_ino);
	if (s) {
		s->refs++;
		if (s->deleted)
			r = rename_locked(lw, s, parent, name);
	} else {
		s = insert_locked(lw, st, parent, name);
		if (!s)
			r = -ENOMEM;
	}
	put_locked(lw, parent);
	lower_unlock(lw);
	if (r < 0 && s)
		fm_stream_put(lw, s);
	else
		*out = s;
	return r < 0 ? r : 0;
}

/* ---- lower life cycle ------------------------------------------------------------------- */

int fm_lower_create(int root_fd, struct fm_lower **out)
{
	struct fm_lower *lw;
	struct stat st;

	if (fstat(root_fd, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	lw = fm_calloc(1, sizeof(*lw));
	if (!lw)
		return -ENOMEM;
	lw->root_fd = root_fd;
	lw->id = atomic_fetch_add(&lower_ids, 1) + 1;
	lw->mount_fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	pthread_mutex_init(&lw->lock, NULL);
	pthread_mutex_init(&lw->lklock, NULL);
	pthread_cond_init(&lw->lkcond, NULL);
	lw->root.dev = st.st_dev;
	lw->root.ino = st.st_ino;
	lw->root.type = S_IFDIR;
	lw->root.refs = 1;
	snprintf(lw->fs_name, sizeof(lw->fs_name), "NTFS");
	lw->ngroups = getgroups(MAX_GROUPS, lw->groups);
	if (lw->ngroups < 0)
		lw->ngroups = 0;
	*out = lw;
	return 0;
}

void fm_lower_destroy(struct fm_lower *lw)
{
	size_t i;

	if (!lw)
		return;
	for (i = 0; i < HASH_BUCKETS; i++) {
		struct fm_stream *s = lw->buckets[i];

		while (s) {
			struct fm_stream *next = s->hnext;

			while (s->aliases) {
				struct alias *al = s->aliases;

				s->aliases = al->next;
				fm_free(al->name);
				fm_free(al);
			}
			fm_free(s->fh);
			fm_free(s->name);
			fm_free(s);
			s = next;
		}
	}
	close(lw->root_fd);
	if (lw->mount_fd >= 0)
		close(lw->mount_fd);
	pthread_mutex_destroy(&lw->lock);
	while (lw->root.locks) {
		struct lk_range *l = lw->root.locks;

		lw->root.locks = l->next;
		fm_free(l);
	}
	pthread_mutex_destroy(&lw->lklock);
	pthread_cond_destroy(&lw->lkcond);
	fm_free(lw);
}

void fm_lower_set_volume(struct fm_lower *lw, struct fm_volume *vol)
{
	__atomic_store_n(&lw->vol, vol, __ATOMIC_RELEASE);
}

int fm_lower_set_fs_name(struct fm_lower *lw, const char *name)
{
	if (strlen(name) >= sizeof(lw->fs_name))
		return -ENAMETOOLONG;
	snprintf(lw->fs_name, sizeof(lw->fs_name), "%s", name);
	return 0;
}

struct fm_stream *fm_lower_root(struct fm_lower *lw)
{
	return &lw->root;
}

uint64_t fm_stream_ino(const struct fm_stream *s)
{
	return (uint64_t)s->ino;
}

/* ---- FUSE-facing stream API ----------------------------------------------------------------- */

/* Open the directory of stream `dir` (O_PATH).  Returns fd or -errno. */
/*
 * A path built from the table may have gone stale when a directory above was renamed before it
 * was opened: after ENOENT / ENOTDIR, retry while renames happened since `gen` (bounded).
 */
static bool stale_retry(struct fm_lower *lw, int r, unsigned long gen, unsigned int *tries)
{
	unsigned long now;

	if ((r != -ENOENT && r != -ENOTDIR) || ++*tries > 64)
		return false;
	now = fm_lower_rename_gen(lw);
	if (now == FM_RENAME_GEN_BUSY || gen == FM_RENAME_GEN_BUSY) {
		usleep(100);
		return true;
	}
	return now != gen;
}

/*
 * A descriptor of directory stream `dir`, by its path, again if a rename raced the walk: one
 * of its own to close (keep false), or the thread's kept one (dir_get; release with dir_put).
 */
static int stream_dir_fd(struct fm_lower *lw, struct fm_stream *dir, bool keep)
{
	char path[PATH_MAX];
	unsigned int tries = 0;
	unsigned long gen;
	int r;

	do {
		gen = fm_lower_rename_gen(lw);
		r = fm_lower_stream_path(lw, dir, path, sizeof(path));
		if (r < 0)
			return r;
		r = keep ? dir_get(lw, path, NULL) : open_dir_path(lw, path);
	} while (r < 0 && stale_retry(lw, r, gen, &tries));
	return r;
}

static int open_stream_dir(struct fm_lower *lw, struct fm_stream *dir)
{
	return stream_dir_fd(lw, dir, false);
}

static int check_name(const char *name)
{
	if (!*name || strchr(name, '/'))
		return -EINVAL;
	if (strlen(name) > NAME_MAX)
		return -ENAMETOOLONG;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	return 0;
}

/* Find or create the stream for (parent, name) with stat *st; +1 lookup.  Under lock. */
static int remember_locked(struct fm_lower *lw, struct fm_stream *parent, const char *name,
			   const struct stat *st, struct fm_stream **out)
{
	struct fm_stream *s = find_locked(lw, st->st_dev, st->st_ino);
	int r = 0;

	if (s) {
		if (s->deleted)
			r = rename_locked(lw, s, parent, name);
		else
			add_alias(s, parent, name);
		if (r < 0)
			return r;
		if (s->nlookup++ == 0)
			s->refs++;
	} else {
		s = insert_locked(lw, st, parent, name);
		if (!s)
			return -ENOMEM;
		s->nlookup = 1;
	}
	*out = s;
	return 0;
}

int fm_lower_lookup(struct fm_lower *lw, struct fm_stream *parent, const char *name,
		    struct fm_stream **out, struct stat *st)
{
	int fd, r;

	r = check_name(name);
	if (r < 0)
		return r == -EINVAL ? -ENOENT : r;
	fd = stream_dir_fd(lw, parent, true);
	if (fd < 0)
		return fd;
	r = fstatat(fd, name, st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	dir_put(lw, fd);
	if (r < 0)
		return r;
	pthread_mutex_lock(&lw->lock);
	r = remember_locked(lw, parent, name, st, out);
	lower_unlock(lw);
	return r;
}

void fm_lower_forget(struct fm_lower *lw, struct fm_stream *s, uint64_t n)
{
	pthread_mutex_lock(&lw->lock);
	if (s->nlookup > 0) {
		s->nlookup = n >= s->nlookup ? 0 : s->nlookup - n;
		if (s->nlookup == 0)
			put_locked(lw, s);
	}
	lower_unlock(lw);
}

void fm_lower_remember(struct fm_lower *lw, struct fm_stream *s)
{
	pthread_mutex_lock(&lw->lock);
	if (s->nlookup++ == 0)
		s->refs++;
	lower_unlock(lw);
}

/*
 * Open a stream itself (O_PATH, no symlink following).  A stream whose remembered name is
 * gone is reached through its kernel file handle, if one was taken.  fd or -errno.
 */
static int open_stream(struct fm_lower *lw, struct fm_stream *s)
{
	char path[PATH_MAX];
	unsigned int tries = 0;
	unsigned long gen = fm_lower_rename_gen(lw);
	int r = fm_lower_stream_path(lw, s, path, sizeof(path));
	struct file_handle *fh = NULL;

	while (r >= 0) {
		r = open_beneath(lw, path, O_PATH | O_NOFOLLOW, 0);
		if (r >= 0 || !stale_retry(lw, r, gen, &tries))
			return r;
		gen = fm_lower_rename_gen(lw);
		r = fm_lower_stream_path(lw, s, path, sizeof(path));
	}
	if (r != -ENOENT)
		return r;
	pthread_mutex_lock(&lw->lock);
	if (s->fh) {
		size_t n = sizeof(*s->fh) + s->fh->handle_bytes;

		fh = fm_malloc(n);
		if (fh)
			memcpy(fh, s->fh, n);
	}
	lower_unlock(lw);
	if (fh) {
		r = open_by_handle_at(lw->mount_fd, fh, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (r < 0)
			r = errno == ESTALE ? -ENOENT : -errno;
		fm_free(fh);
		if (r >= 0)
			return r;
	}
	/* Unlinked but open (some file systems refuse handles of unlinked inodes). */
	pthread_mutex_lock(&lw->lock);
	if (s->handles) {
		r = fcntl(s->handles->fd, F_DUPFD_CLOEXEC, 0);
		if (r < 0)
			r = -errno;
	}
	lower_unlock(lw);
	return r;
}

int fm_lower_getattr(struct fm_lower *lw, struct fm_stream *s, struct stat *st)
{
	char path[PATH_MAX];
	int fd, r;

	/* By its name in its parent, kept by this thread (dir_get): one fstatat.  A stream whose
	 * name is gone or moved meanwhile takes the way below, as every other operation. */
	if (fm_lower_stream_path(lw, s, path, sizeof(path)) >= 0 && stat_by_name(lw, path, st) == 0)
		return 0;
	fd = open_stream(lw, s);
	if (fd < 0)
		return fd;
	r = fstat(fd, st) < 0 ? -errno : 0;
	close(fd);
	return r;
}

static void proc_fd_path(int fd, char *buf, size_t cap)
{
	snprintf(buf, cap, "/proc/self/fd/%d", fd);
}

int fm_lower_chmod(struct fm_lower *lw, struct fm_stream *s, mode_t mode)
{
	char p[64];
	int fd = open_stream(lw, s), r;

	if (fd < 0)
		return fd;
	proc_fd_path(fd, p, sizeof(p));
	r = fchmodat(AT_FDCWD, p, mode & 07777, 0) < 0 ? -errno : 0;
	close(fd);
	return r;
}

int fm_lower_chown(struct fm_lower *lw, struct fm_stream *s, uid_t uid, gid_t gid)
{
	int fd = open_stream(lw, s), r;

	if (fd < 0)
		return fd;
	r = fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0 ? -errno : 0;
	close(fd);
	return r;
}

int fm_lower_readlink(struct fm_lower *lw, struct fm_stream *s, char *buf, size_t cap)
{
	int fd = open_stream(lw, s);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = readlinkat(fd, "", buf, cap - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	buf[n] = '\0';
	return (int)n;
}

/* Finish a creation by name: stat the new entry and remember it (+1 ref, +1 lookup). */
static int created_entry(struct fm_lower *lw, int pfd, struct fm_stream *parent, const char *name,
			 struct fm_stream **out, struct stat *st)
{
	int r = fstatat(pfd, name, st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;

	if (r < 0)
		return r;
	pthread_mutex_lock(&lw->lock);
	r = remember_locked(lw, parent, name, st, out);
	lower_unlock(lw);
	return r;
}

int fm_lower_symlink(struct fm_lower *lw, const struct fm_requestor *who, struct fm_stream *parent,
		     const char *name, const char *target, struct fm_stream **out, struct stat *st)
{
	struct creds c;
	int pfd, r = check_name(name);

	if (r < 0)
		return r;
	pfd = open_stream_dir(lw, parent);
	if (pfd < 0)
		return pfd;
	creds_enter(lw, who, &c);
	r = symlinkat(target, pfd, name) < 0 ? -errno : 0;
	creds_leave(lw, &c);
	if (r == 0)
		r = created_entry(lw, pfd, parent, name, out, st);
	close(pfd);
	return r;
}

int fm_lower_mknod(struct fm_lower *lw, const struct fm_requestor *who, struct fm_stream *parent,
		   const char *name, mode_t mode, dev_t rdev, struct fm_stream **out,
		   struct stat *st)
{
	struct creds c;
	int pfd, r = check_name(name);

	if (r < 0)
		return r;
	pfd = open_stream_dir(lw, parent);
	if (pfd < 0)
		return pfd;
	creds_enter(lw, who, &c);
	r = mknodat(pfd, name, mode, rdev) < 0 ? -errno : 0;
	creds_leave(lw, &c);
	if (r == 0)
		r = created_entry(lw, pfd, parent, name, out, st);
	close(pfd);
	return r;
}

int fm_lower_link(struct fm_lower *lw, const struct fm_requestor *who, struct fm_stream *s,
		  struct fm_stream *parent, const char *name, struct fm_stream **out,
		  struct stat *st)
{
	struct creds c;
	int sfd, pfd, r = check_name(name);

	if (r < 0)
		return r;
	sfd = open_stream(lw, s);
	if (sfd < 0)
		return sfd;
	pfd = open_stream_dir(lw, parent);
	if (pfd < 0) {
		close(sfd);
		return pfd;
	}
	creds_enter(lw, who, &c);
	r = linkat(sfd, "", pfd, name, AT_EMPTY_PATH) < 0 ? -errno : 0;
	creds_leave(lw, &c);
	if (r == 0)
		r = created_entry(lw, pfd, parent, name, out, st);
	close(pfd);
	close(sfd);
	return r;
}

/* After a rename of (sp, sname) to (tp, tname): fix the names the table remembers. */
static void renamed(struct fm_lower *lw, struct fm_stream *sp, const char *sname,
		    struct fm_stream *tp, const char *tname, const struct stat *moved,
		    const struct stat *replaced, bool exchanged)
{
	struct fm_stream *s, *t = NULL;

	pthread_mutex_lock(&lw->lock);
	if (replaced)
		t = find_locked(lw, replaced->st_dev, replaced->st_ino);
	s = find_locked(lw, moved->st_dev, moved->st_ino);
	if (t && t != s) {
		if (exchanged && t->parent == tp && t->name && !strcmp(t->name, tname))
			rename_locked(lw, t, sp, sname);
		else if (!exchanged)
			link_gone(lw, t, tp, tname);
	}
	if (s && (s->deleted || (s->parent == sp && s->name && !strcmp(s->name, sname)))) {
		rename_locked(lw, s, tp, tname);
	} else if (s) {
		struct alias **pa = find_alias(s, sp, sname);

		if (pa) {
			link_gone(lw, s, sp, sname);
			add_alias(s, tp, tname);
		}
	}
	lower_unlock(lw);
}

unsigned long fm_lower_rename_gen(struct fm_lower *lw)
{
	if (atomic_load(&lw->renaming))
		return FM_RENAME_GEN_BUSY;
	return atomic_load(&lw->rename_gen) % FM_RENAME_GEN_BUSY;
}

int fm_lower_setxattr(struct fm_lower *lw, struct fm_stream *s, const char *name, const void *value,
		      size_t size, int flags)
{
	char p[64];
	int fd = open_stream(lw, s), r;

	if (fd < 0)
		return fd;
	proc_fd_path(fd, p, sizeof(p));
	r = setxattr(p, name, value, size, flags) < 0 ? -errno : 0;
	close(fd);
	return r;
}

long fm_lower_getxattr(struct fm_lower *lw, struct fm_stream *s, const char *name, void *value,
		       size_t size)
{
	char p[64];
	int fd = open_stream(lw, s);
	ssize_t r;

	if (fd < 0)
		return fd;
	proc_fd_path(fd, p, sizeof(p));
	r = getxattr(p, name, value, size);
	if (r < 0)
		r = -errno;
	close(fd);
	return (long)r;
}

long fm_lower_listxattr(struct fm_lower *lw, struct fm_stream *s, char *list, size_t size)
{
	char p[64];
	int fd = open_stream(lw, s);
	ssize_t r;

	if (fd < 0)
		return fd;
	proc_fd_path(fd, p, sizeof(p));
	r = listxattr(p, list, size);
	if (r < 0)
		r = -errno;
	close(fd);
	return (long)r;
}

int fm_lower_removexattr(struct fm_lower *lw, struct fm_stream *s, const char *name)
{
	char p[64];
	int fd = open_stream(lw, s), r;

	if (fd < 0)
		return fd;
	proc_fd_path(fd, p, sizeof(p));
	r = removexattr(p, name) < 0 ? -errno : 0;
	close(fd);
	return r;
}

int fm_lower_statfs(struct fm_lower *lw, struct statvfs *st)
{
	return fstatvfs(lw->root_fd, st) < 0 ? -errno : 0;
}

int fm_lower_handle_fd(PFILE_OBJECT fo)
{
	struct fm_handle *h = fo ? fo->FsContext2 : NULL;

	if (!h)
		return -EBADF;
	if (h->oflags & O_PATH)
		return -EBADF;
	return h->fd;
}

int fm_lower_handle_stat(PFILE_OBJECT fo, struct stat *st)
{
	struct fm_handle *h = fo ? fo->FsContext2 : NULL;

	if (!h)
		return -EBADF;
	return fstat(h->fd, st) < 0 ? -errno : 0;
}

struct fm_stream *fm_lower_handle_stream(PFILE_OBJECT fo)
{
	return fo ? fo->FsContext : NULL;
}

int fm_lower_open_mode(struct fm_lower *lw, PFILE_OBJECT fo, bool want, bool cached,
		       int (*reg)(void *arg, int fd), void *arg)
{
	struct fm_stream *s = fm_lower_handle_stream(fo);
	int fd = fm_lower_handle_fd(fo);
	int id = 0;

	if (!s)
		return FM_OPEN_DIRECT;
	pthread_mutex_lock(&lw->lock);
	if (s->npassthrough) {
		/* The kernel refuses other opens of an inode open in passthrough mode. */
		s->npassthrough++;
		id = s->backing_id;
	} else if (want && fd >= 0 && !s->ncached) {
		/* ... and passthrough opens of an inode open through its page cache. */
		id = reg(arg, fd);
		if (id > 0) {
			s->backing_id = id;
			s->npassthrough = 1;
		}
	}
	if (id <= 0 && cached) {
		s->ncached++;
		pthread_mutex_unlock(&lw->lock);
		return FM_OPEN_CACHED;
	}
	pthread_mutex_unlock(&lw->lock);
	return id > 0 ? id : FM_OPEN_DIRECT;
}

void fm_lower_open_mode_release(struct fm_lower *lw, PFILE_OBJECT fo, int mode,
				int (*unreg)(void *arg, int id), void *arg)
{
	struct fm_stream *s = fm_lower_handle_stream(fo);
	int id = 0;

	if (!s || mode == FM_OPEN_DIRECT)
		return;
	pthread_mutex_lock(&lw->lock);
	if (mode == FM_OPEN_CACHED) {
		if (s->ncached)
			s->ncached--;
	} else if (s->npassthrough && --s->npassthrough == 0) {
		id = s->backing_id;
		s->backing_id = 0;
	}
	pthread_mutex_unlock(&lw->lock);
	if (id > 0)
		unreg(arg, id);
}

/* ---- IRP helpers ---------------------------------------------------------------------------- */

static NTSTATUS fail_status_errno(PFLT_CALLBACK_DATA data, NTSTATUS st, int err)
{
	note_errno(data, st, err < 0 ? -err : err);
	return complete(data, st, 0);
}

static struct fm_handle *handle_of(PFILE_OBJECT fo)
{
	return fo ? (struct fm_handle *)fo->FsContext2 : NULL;
}

/* User buffer of an I/O: the MDL's address when one is set (all memory is mapped here). */
static void *io_buffer(PVOID buf, PMDL mdl)
{
	if (mdl)
		return (PUCHAR)mdl->StartVa + mdl->ByteOffset;
	return buf;
}

static ULONG reparse_tag_of(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFLNK:
		return IO_REPARSE_TAG_LX_SYMLINK;
	case S_IFIFO:
		return IO_REPARSE_TAG_LX_FIFO;
	case S_IFCHR:
		return IO_REPARSE_TAG_LX_CHR;
	case S_IFBLK:
		return IO_REPARSE_TAG_LX_BLK;
	case S_IFSOCK:
		return IO_REPARSE_TAG_AF_UNIX;
	default:
		return 0;
	}
}

static ULONG attributes_of(const struct stat *st)
{
	ULONG a = 0;

	if (S_ISDIR(st->st_mode))
		a |= FILE_ATTRIBUTE_DIRECTORY;
	else if (!(st->st_mode & 0222))
		a |= FILE_ATTRIBUTE_READONLY;
	if (reparse_tag_of(st->st_mode))
		a |= FILE_ATTRIBUTE_REPARSE_POINT;
	return a ? a : FILE_ATTRIBUTE_NORMAL;
}

/* The times, sizes and ids every information class draws from. */
struct file_facts {
	LARGE_INTEGER creation, access, write, change, alloc, eof, id;
	ULONG attributes, tag, links;
};

static void facts_of(const struct stat *st, struct file_facts *f)
{
	timespec_to_nt(&st->st_atim, &f->access);
	timespec_to_nt(&st->st_mtim, &f->write);
	timespec_to_nt(&st->st_ctim, &f->change);
	/* Linux keeps no creation time in struct stat: the older of mtime and ctime. */
	f->creation = f->write.QuadPart < f->change.QuadPart ? f->write : f->change;
	f->alloc.QuadPart = (LONGLONG)st->st_blocks * 512;
	f->eof.QuadPart = S_ISDIR(st->st_mode) ? 0 : (LONGLONG)st->st_size;
	f->id.QuadPart = (LONGLONG)st->st_ino;
	f->attributes = attributes_of(st);
	f->tag = reparse_tag_of(st->st_mode);
	f->links = (ULONG)st->st_nlink;
}

/*
 * The Linux path named by the create's FileObject: FileName, volume-relative (leading '\')
 * or relative to RelatedFileObject.  -EINVAL when it is not a valid name.
 */
static int create_path(struct fm_lower *lw, PFILE_OBJECT fo, char *path, size_t cap)
{
	const WCHAR *w = fo->FileName.Buffer;
	size_t n = fo->FileName.Length / sizeof(WCHAR), len = 0;
	long r;
	char *p, *c;

	if (fo->RelatedFileObject && fo->RelatedFileObject->FsContext) {
		int pr = fm_lower_stream_path(lw, fo->RelatedFileObject->FsContext, path, cap);

		if (pr < 0)
			return pr;
		len = (size_t)pr;
		if (n && w[0] == L'\\')
			return -EINVAL;
	} else {
		if (n == 0 || w[0] != L'\\')
			return -EINVAL;
		w++;
		n--;
	}
	while (n && w[n - 1] == L'\\')
		n--;
	if (n == 0) {
		path[len] = '\0';
		return (int)len;
	}
	if (len) {
		if (len + 1 >= cap)
			return -ENAMETOOLONG;
		path[len++] = '/';
	}
	r = fm_name_from_nt((const uint16_t *)w, n, path + len, cap - len, 1);
	if (r < 0)
		return (int)r;
	len += (size_t)r;
	path[len] = '\0';
	/* Components must be real names: no empty ones, no "." or "..". */
	for (p = path; *p; p = c + (*c ? 1 : 0)) {
		c = strchrnul(p, '/');
		if (c == p || (c - p == 1 && p[0] == '.') ||
		    (c - p == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		if (c - p > NAME_MAX)
			return -ENAMETOOLONG;
		if (!*c)
			break;
	}
	return (int)len;
}

/*
 * FILE_OPEN_BY_FILE_ID: FileName holds the 8-byte file id (or a 16-byte FILE_ID_128), the
 * inode number.  Only files the volume has met (in the stream table, with a name) can be
 * opened so: -ENOENT otherwise, -EINVAL for a malformed id.
 */
static int id_path(struct fm_lower *lw, PFILE_OBJECT fo, char *path, size_t cap)
{
	const UCHAR *b = (const UCHAR *)fo->FileName.Buffer;
	size_t n = fo->FileName.Length;
	struct fm_stream *s;
	uint64_t ino;
	int r;

	if (n && n % 2 == 0 && b[0] == '\\' && b[1] == 0 && (n - 2 == 8 || n - 2 == 16)) {
		b += 2;
		n -= 2;
	}
	if (!b || (n != 8 && n != 16))
		return -EINVAL;
	memcpy(&ino, b, sizeof(ino));
	pthread_mutex_lock(&lw->lock);
	s = find_locked(lw, lw->root.dev, (ino_t)ino);
	r = s ? stream_path_locked(lw, s, path, cap) : -ENOENT;
	lower_unlock(lw);
	return r;
}

/* A ULONG-valued WSL EA (e.g. "$LXMOD") in a create's EA buffer: n ULONGs; false when absent. */
static bool ea_lx_ulongs(const void *buf, ULONG len, const char *name, ULONG *out, size_t n)
{
	const UCHAR *p = buf;
	ULONG off = 0;

	if (!buf)
		return false;
	while (off + sizeof(FILE_FULL_EA_INFORMATION) <= len) {
		const FILE_FULL_EA_INFORMATION *ea = (const void *)(p + off);
		ULONG name_off = (ULONG)offsetof(FILE_FULL_EA_INFORMATION, EaName);
		ULONG end = off + name_off + ea->EaNameLength + 1 + ea->EaValueLength;

		if (end > len)
			return false;
		if (ea->EaNameLength == strlen(name) && !memcmp(ea->EaName, name, strlen(name)) &&
		    ea->EaValueLength >= n * sizeof(ULONG)) {
			memcpy(out, ea->EaName + ea->EaNameLength + 1, n * sizeof(ULONG));
			return true;
		}
		if (!ea->NextEntryOffset)
			break;
		off += ea->NextEntryOffset;
	}
	return false;
}

static bool ea_lxmod(const void *buf, ULONG len, ULONG *mode)
{
	return ea_lx_ulongs(buf, len, "$LXMOD", mode, 1);
}

/*
 * Open `path`, whose parent directory is open as `pfd` and whose final component is `name`
 * (pfd -1 and name NULL for the root).  Where the open cannot follow a symbolic link there
 * (O_NOFOLLOW; O_CREAT | O_EXCL; the name turns out not to be one), it is one name opened in
 * the parent and *direct says so: what was opened is that name's.  Otherwise the whole path
 * is resolved from the root, which follows a final link beneath the root as before.
 */
static int open_child(struct fm_lower *lw, int pfd, const char *name, const char *path, int flags,
		      mode_t mode, bool *direct)
{
	int fd;

	*direct = false;
	if (pfd >= 0 && name) {
		bool cannot_follow =
		    (flags & O_NOFOLLOW) || (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);

		if (cannot_follow || !(flags & O_PATH)) {
			/* Without O_PATH, a final link refuses O_NOFOLLOW with ELOOP. */
			fd = open_at_beneath(pfd, name, flags | O_NOFOLLOW, mode);
			if (fd != -ELOOP || cannot_follow) {
				*direct = fd >= 0;
				return fd;
			}
		}
	}
	return open_beneath(lw, path, flags, mode);
}

/* Open an existing file; falls back to a directory or a symlink itself as the request allows. */
static int open_existing(struct fm_lower *lw, int pfd, const char *name, const char *path,
			 int *oflags, bool nofollow, bool want_file, bool dir_read, bool *direct)
{
	int extra = nofollow ? O_NOFOLLOW : 0;
	int fl = *oflags, fd;

	/* O_NONBLOCK keeps a FIFO from hanging the worker; it is cleared once open. */
	fd = open_child(lw, pfd, name, path, fl | extra | ((fl & O_PATH) ? 0 : O_NONBLOCK), 0,
			direct);
	if (fd == -EISDIR && !want_file) {
		fl = (dir_read ? O_RDONLY : O_PATH) | O_DIRECTORY;
		fd = open_child(lw, pfd, name, path, fl | extra, 0, direct);
	}
	if ((fd == -ELOOP || fd == -ENXIO) && nofollow) {
		fl = O_PATH;
		fd = open_child(lw, pfd, name, path, fl | O_NOFOLLOW, 0, direct);
	}
	if (fd >= 0 && !(fl & O_PATH))
		fcntl(fd, F_SETFL, fl & O_APPEND);
	*oflags = fl;
	return fd;
}

/* ---- IRP_MJ_CREATE ----------------------------------------------------------------------- */

#define ACCESS_READ (FILE_READ_DATA | GENERIC_READ | GENERIC_ALL | GENERIC_EXECUTE | FILE_EXECUTE)
#define ACCESS_WRITE (FILE_WRITE_DATA | GENERIC_WRITE | GENERIC_ALL)

static NTSTATUS irp_create(struct fm_lower *lw, PFLT_CALLBACK_DATA data)
{
	PFLT_IO_PARAMETER_BLOCK iopb = data->Iopb;
	PFILE_OBJECT fo = iopb->TargetFileObject;
	ULONG options = iopb->Parameters.Create.Options;
	ULONG disp = (options >> 24) & 0xff, copt = options & 0xffffff;
	PIO_SECURITY_CONTEXT sc = iopb->Parameters.Create.SecurityContext;
	ACCESS_MASK access = sc ? sc->DesiredAccess : 0;
	bool want_dir = copt & FILE_DIRECTORY_FILE, want_file = copt & FILE_NON_DIRECTORY_FILE;
	bool nofollow = copt & FILE_OPEN_REPARSE_POINT;
	bool rd, wr, ap, overwrite, target_dir = false, target_exists = false, followed = false;
	bool direct = false;
	char path[PATH_MAX], ppath[PATH_MAX];
	const char *name = NULL;
	struct fm_stream *pstream = NULL, *s = NULL;
	struct fm_handle *h = NULL;
	struct creds cr;
	struct stat st;
	ULONG lxmode;
	mode_t mode;
	ULONG_PTR info = FILE_OPENED;
	int r, fd = -1, pfd = -1, oflags, tries;

	if (!fo)
		return complete(data, STATUS_INVALID_PARAMETER, 0);
	if (disp > FILE_MAXIMUM_DISPOSITION || (want_dir && want_file))
		return complete(data, STATUS_INVALID_PARAMETER, 0);
	if (copt & FILE_OPEN_BY_FILE_ID)
		r = id_path(lw, fo, path, sizeof(path));
	else
		r = create_path(lw, fo, path, sizeof(path));
	if (r == -EINVAL)
		return complete(data, STATUS_OBJECT_NAME_INVALID, 0);
	if (r < 0)
		return fail_errno(data, r);

	if (iopb->OperationFlags & SL_OPEN_TARGET_DIRECTORY) {
		/* Open the parent of the path, telling whether the final component exists. */
		if (!*path)
			return complete(data, STATUS_OBJECT_NAME_INVALID, 0);
		name = split_path(path, ppath, sizeof(ppath));
		pfd = name ? dir_get(lw, ppath, NULL) : -ENAMETOOLONG;
		if (pfd < 0)
			return fail_status_errno(data,
						 pfd == -ENOENT
						     ? STATUS_OBJECT_PATH_NOT_FOUND
						     : (NTSTATUS)fm_status_from_errno(-pfd),
						 pfd);
		target_exists = fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
		dir_put(lw, pfd);
		pfd = -1;
		memmove(path, ppath, strlen(ppath) + 1);
		target_dir = true;
		disp = FILE_OPEN;
		want_dir = true;
	}

	overwrite = disp == FILE_SUPERSEDE || disp == FILE_OVERWRITE || disp == FILE_OVERWRITE_IF;
	rd = access & ACCESS_READ;
	wr = (access & ACCESS_WRITE) || (overwrite && !(access & FILE_APPEND_DATA));
	ap = access & FILE_APPEND_DATA;
	if (rd && (wr || ap))
		oflags = O_RDWR;
	else if (wr || ap)
		oflags = O_WRONLY;
	else if (rd)
		oflags = O_RDONLY;
	else
		oflags = O_PATH;
	if (ap && !wr)
		oflags |= O_APPEND;
	if (want_dir)
		oflags = (rd ? O_RDONLY : O_PATH) | O_DIRECTORY;

	mode = want_dir ? 0777 : 0666;
	if (ea_lxmod(iopb->Parameters.Create.EaBuffer, iopb->Parameters.Create.EaLength, &lxmode))
		mode = lxmode & 07777;
	if (!want_dir && (iopb->Parameters.Create.FileAttributes & FILE_ATTRIBUTE_READONLY))
		mode &= ~0222;

	/* The parent's stream, for the link this handle is opened by. */
	if (*path) {
		struct stat pst;

		name = split_path(path, ppath, sizeof(ppath));
		if (!name)
			return fail_errno(data, -ENAMETOOLONG);
		pfd = dir_get(lw, ppath, &pst);
		if (pfd < 0)
			return fail_status_errno(data,
						 pfd == -ENOENT
						     ? STATUS_OBJECT_PATH_NOT_FOUND
						     : (NTSTATUS)fm_status_from_errno(-pfd),
						 pfd);
		r = stream_for_path(lw, ppath, &pst, &pstream);
		if (r < 0) {
			dir_put(lw, pfd);
			return fail_errno(data, r);
		}
	}

	creds_enter(lw, fm_irp_requestor(data), &cr);
	if (disp == FILE_OPEN || disp == FILE_OVERWRITE || !*path) {
		if (!*path && disp != FILE_OPEN && disp != FILE_OPEN_IF) {
			fd = -EEXIST;
		} else {
			fd = open_existing(lw, pfd, name, path, &oflags, nofollow, want_file, rd,
					   &direct);
			if (fd >= 0 && disp == FILE_OVERWRITE)
				info = FILE_OVERWRITTEN;
		}
	} else {
		int cflags = (oflags & O_PATH) ? O_RDONLY : oflags;

		for (tries = 0; tries < 4; tries++) {
			if (want_dir) {
				fd = mkdirat(pfd, name, mode) < 0 ? -errno : 0;
				if (fd == 0)
					fd = open_child(lw, pfd, name, path, oflags | O_NOFOLLOW, 0,
							&direct);
			} else {
				fd = open_child(lw, pfd, name, path, cflags | O_CREAT | O_EXCL,
						mode, &direct);
				if (fd >= 0)
					oflags = cflags;
			}
			if (fd != -EEXIST) {
				info = FILE_CREATED;
				break;
			}
			if (disp == FILE_CREATE)
				break;
			fd = open_existing(lw, pfd, name, path, &oflags, nofollow, want_file, rd,
					   &direct);
			if (fd == -ENOENT)
				continue;
			info = disp == FILE_OPEN_IF	? FILE_OPENED
			       : disp == FILE_SUPERSEDE ? FILE_SUPERSEDED
							: FILE_OVERWRITTEN;
			break;
		}
	}
	if (fd >= 0 && overwrite && info != FILE_CREATED && !(oflags & O_DIRECTORY) &&
	    !(oflags & O_PATH)) {
		struct stat tst;

		if (fstat(fd, &tst) == 0 && S_ISREG(tst.st_mode) && ftruncate(fd, 0) < 0)
			fd = -errno;
	}
	creds_leave(lw, &cr);
	if (fd < 0) {
		if (pfd >= 0)
			dir_put(lw, pfd);
		fm_stream_put(lw, pstream);
		if (fd == -EEXIST)
			return fail_status_errno(data, STATUS_OBJECT_NAME_COLLISION, EEXIST);
		return fail_errno(data, fd);
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		if (pfd >= 0)
			dir_put(lw, pfd);
		goto fail;
	}
	/*
	 * Whether the open went through a final symbolic link: the file is then not (parent,
	 * name), and its real name is unknown until a lookup finds it.  What this create made
	 * (O_EXCL, or mkdir then an O_NOFOLLOW open) never did, nor an open of the name in
	 * its parent (direct).
	 */
	if (pfd >= 0 && info != FILE_CREATED && !direct) {
		struct stat lst;

		followed = fstatat(pfd, name, &lst, AT_SYMLINK_NOFOLLOW) == 0 &&
			   (lst.st_ino != st.st_ino || lst.st_dev != st.st_dev);
	}
	if (pfd >= 0)
		dir_put(lw, pfd);
	if (want_dir && !S_ISDIR(st.st_mode)) {
		r = -ENOTDIR;
		goto fail;
	}
	if ((want_file || overwrite) && S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		goto fail;
	}
	h = fm_calloc(1, sizeof(*h));
	if (!h) {
		r = -ENOMEM;
		goto fail;
	}
	if (name) {
		h->link_name = fm_strdup(name);
		if (!h->link_name) {
			r = -ENOMEM;
			goto fail;
		}
	}
	h->lw = lw;
	h->fd = fd;
	pthread_mutex_lock(&lw->lock);
	if (!*path) {
		s = &lw->root;
		s->refs++;
		r = 0;
	} else {
		s = find_locked(lw, st.st_dev, st.st_ino);
		r = 0;
		if (s) {
			s->refs++;
			if (s->deleted && !followed)
				r = rename_locked(lw, s, pstream, name);
		} else {
			s = insert_locked(lw, &st, pstream, name);
			if (!s)
				r = -ENOMEM;
			else if (followed)
				s->deleted = true;
		}
	}
	if (r == 0) {
		s->nhandles++;
		h->snext = s->handles;
		s->handles = h;
	}
	lower_unlock(lw);
	if (r < 0) {
		fm_stream_put(lw, s);
		goto fail;
	}
	h->oflags = oflags;
	h->can_read = rd && !(oflags & O_PATH);
	h->can_write = (wr || ap) && !(oflags & O_PATH) && !(oflags & O_DIRECTORY);
	h->can_delete = (access & (DELETE | GENERIC_ALL)) != 0;
	h->delete_on_close = (copt & FILE_DELETE_ON_CLOSE) != 0;
	h->link_parent = pstream;
	h->has_lxdev = ea_lx_ulongs(iopb->Parameters.Create.EaBuffer,
				    iopb->Parameters.Create.EaLength, "$LXDEV", h->lxdev, 2);
	pthread_mutex_init(&h->dir_lock, NULL);
	fo->FsContext = s;
	fo->FsContext2 = h;
	fo->ReadAccess = h->can_read;
	fo->WriteAccess = h->can_write;
	fo->DeleteAccess = h->can_delete;
	/* The volume is case-sensitive; every open is. */
	fo->Flags |= FO_OPENED_CASE_SENSITIVE | (h->delete_on_close ? FO_DELETE_ON_CLOSE : 0);
	if (target_dir)
		info = target_exists ? FILE_EXISTS : FILE_DOES_NOT_EXIST;
	return complete(data, STATUS_SUCCESS, info);

fail:
	if (h)
		fm_free(h->link_name);
	fm_free(h);
	close(fd);
	fm_stream_put(lw, pstream);
	if (r == -ENOTDIR)
		return fail_status_errno(data, STATUS_NOT_A_DIRECTORY, ENOTDIR);
	if (r == -EISDIR)
		return fail_status_errno(data, STATUS_FILE_IS_A_DIRECTORY, EISDIR);
	return fail_errno(data, r);
}

/* ---- READ / WRITE ------------------------------------------------------------------------- */

/*
 * The lower writes as root, which keeps set-user-ID / set-group-ID bits; an unprivileged
 * writer's data or size change clears them, as the kernel would for that writer.
 */
static void kill_privs(PFLT_CALLBACK_DATA data, struct fm_handle *h)
{
	const struct fm_requestor *who = fm_irp_requestor(data);
	struct stat st;
	mode_t kill;
	char p[64];

	if (!who || who->uid == 0 || data->RequestorMode == KernelMode)
		return;
	if (fstat(h->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	kill = st.st_mode & S_ISUID;
	if ((st.st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		kill |= S_ISGID;
	if (!kill)
		return;
	proc_fd_path(h->fd, p, sizeof(p));
	if (fchmodat(AT_FDCWD, p, st.st_mode & 07777 & ~kill, 0) < 0)
		fm_warn("lowerfs: clearing set-id bits: %s", strerror(errno));
}

static NTSTATUS irp_read(PFLT_CALLBACK_DATA data)
{
	PFLT_IO_PARAMETER_BLOCK iopb = data->Iopb;
	struct fm_handle *h = handle_of(iopb->TargetFileObject);
	ULONG len = iopb->Parameters.Read.Length;
	LONGLONG off = iopb->Parameters.Read.ByteOffset.QuadPart;
	char *buf = io_buffer(iopb->Parameters.Read.ReadBuffer, iopb->Parameters.Read.MdlAddress);
	size_t done = 0;
	bool cur = off < 0;
	int fd, own = -1;

	if (!h)
		return complete(data, STATUS_INVALID_HANDLE, 0);
	if (h->oflags & O_DIRECTORY)
		return complete(data, STATUS_INVALID_DEVICE_REQUEST, 0);
	if (len && !buf)
		return complete(data, STATUS_INVALID_USER_BUFFER, 0);
	fd = h->fd;
	if (!h->can_read) {
		/*
		 * Paging reads do not depend on the handle's access (on Windows they come from the
		 * cache manager): the kernel's write-back cache reads the rest of a page a process
		 * writes part of through the handle it writes with, even one open write-only.
		 * Those read the file through a descriptor of their own.
		 */
		char p[64];

		if (!(iopb->IrpFlags & IRP_PAGING_IO) || cur)
			return complete(data, STATUS_ACCESS_DENIED, 0);
		proc_fd_path(h->fd, p, sizeof(p));
		fd = own = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return fail_errno(data, errno);
	}
	while (done < len) {
		ssize_t n = cur ? read(fd, buf + done, len - done)
				: pread(fd, buf + done, len - done, (off_t)(off + (LONGLONG)done));

		if (n < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			if (done)
				break;
			if (own >= 0)
				close(own);
			return fail_errno(data, e);
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	if (own >= 0)
		close(own);
	if (done == 0 && len > 0)
		return complete(data, STATUS_END_OF_FILE, 0);
	return complete(data, STATUS_SUCCESS, done);
}

static NTSTATUS irp_write(PFLT_CALLBACK_DATA data)
{
	PFLT_IO_PARAMETER_BLOCK iopb = data->Iopb;
	struct fm_handle *h = handle_of(iopb->TargetFileObject);
	ULONG len = iopb->Parameters.Write.Length;
	LARGE_INTEGER boff = iopb->Parameters.Write.ByteOffset;
	const char *buf =
	    io_buffer(iopb->Parameters.Write.WriteBuffer, iopb->Parameters.Write.MdlAddress);
	size_t done = 0;
	bool cur = false;
	LONGLONG off = boff.QuadPart;

	if (!h)
		return complete(data, STATUS_INVALID_HANDLE, 0);
	if (h->oflags & O_DIRECTORY)
		return complete(data, STATUS_INVALID_DEVICE_REQUEST, 0);
	if (!h->can_write)
		return complete(data, STATUS_ACCESS_DENIED, 0);
	if (len && !buf)
		return complete(data, STATUS_INVALID_USER_BUFFER, 0);
	if (boff.HighPart == -1 && boff.LowPart == FILE_WRITE_TO_END_OF_FILE) {
		struct stat st;

		if (fstat(h->fd, &st) < 0)
			return fail_errno(data, errno);
		off = st.st_size;
	} else if (off < 0) {
		cur = true;
	}
	while (done < len) {
		ssize_t n =
		    cur ? write(h->fd, buf + done, len - done)
			: pwrite(h->fd, buf + done, len - done, (off_t)(off + (LONGLONG)done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (done)
				break;
			return fail_errno(data, errno);
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	if (done)
		kill_privs(data, h);
	return complete(data, STATUS_SUCCESS, done);
}

/* ---- QUERY_INFORMATION ----------------------------------------------------------------------- */

/* Copy a name into a variable-length tail, Windows style: partial data and BUFFER_OVERFLOW. */
static NTSTATUS put_name(PFLT_CALLBACK_DATA data, void *buf, ULONG cap, size_t fixed,
			 const WCHAR *name, size_t name_bytes)
{
	size_t room = cap > fixed ? cap - fixed : 0;

	if (name_bytes <= room) {
		memcpy((char *)buf + fixed, name, name_bytes);
		return complete(data, STATUS_SUCCESS, fixed + name_bytes);
	}
	memcpy((char *)buf + fixed, name, room & ~(size_t)1);
	return complete(data, STATUS_BUFFER_OVERFLOW, cap);
}

/* "\dir\file" of a stream, in UTF-16; number of units or -errno. */
static long stream_nt_path(struct fm_lower *lw, struct fm_stream *s, WCHAR *out, size_t cap)
{
	char path[PATH_MAX];
	int n = fm_lower_stream_path(lw, s, path, sizeof(path));
	long w;

	if (n < 0)
		return n;
	if (cap < 2)
		return -ENAMETOOLONG;
	out[0] = L'\\';
	if (n == 0)
		return 1;
	w = fm_name_to_nt(path, (size_t)n, (uint16_t *)out + 1, cap - 1, 1);
	return w < 0 ? w : w + 1;
}

static void fill_basic(FILE_BASIC_INFORMATION *b, const struct file_facts *f)
{
	memset(b, 0, sizeof(*b));
	b->CreationTime = f->creation;
	b->LastAccessTime = f->access;
	b->LastWriteTime = f->write;
	b->ChangeTime = f->change;
	b->FileAttributes = f->attributes;
}

static void fill_standard(FILE_STANDARD_INFORMATION *b, const struct file_facts *f, bool pending,
			  bool dir)
{
	memset(b, 0, sizeof(*b));
	b->AllocationSize = f->alloc;
	b->EndOfFile = f->eof;
	b->NumberOfLinks = f->links;
	b->DeletePending = pending;
	b->Directory = dir;
}

/*
 * FILE_EA_INFORMATION.EaSize: the bytes IRP_MJ_QUERY_EA needs for every xattr of the file as a
 * FILE_FULL_EA_INFORMATION chain (entries 4-aligned); 0 when it has none (or they cannot be
 * read), so that a filter can size its query.
 */
static ULONG ea_size_of(const struct fm_handle *h)
{
	const size_t fixed = offsetof(FILE_FULL_EA_INFORMATION, EaName);
	char p[64], *names = NULL;
	ssize_t n, i, v;
	size_t total = 0;

	proc_fd_path(h->fd, p, sizeof(p));
	n = listxattr(p, NULL, 0);
	if (n > 0 && (names = fm_malloc((size_t)n)))
		n = listxattr(p, names, (size_t)n);
	for (i = 0; names && n > 0 && i < n; i += (ssize_t)strlen(names + i) + 1) {
		v = getxattr(p, names + i, NULL, 0);
		if (v < 0)
			continue;
		total = ((total + 3u) & ~(size_t)3u) + fixed + strlen(names + i) + 1 + (size_t)v;
	}
	fm_free(names);
	return total > 0xffffffffu ? 0xffffffffu : (ULONG)total;
}

static ACCESS_MASK granted(const struct fm_handle *h)
{
	return FILE_READ_ATTRIBUTES | SYNCHRONIZE | (h->can_read ? FILE_GENERIC_READ : 0) |
	       (h->can_write ? FILE_GENERIC_WRITE : 0) | (h->can_delete ? DELETE : 0);
}

static LONGLONG position_of(const struct fm_handle *h)
{
	off_t pos = (h->oflags & O_PATH) ? 0 : lseek(h->fd, 0, SEEK_CUR);

	return pos < 0 ? 0 : pos;
}

/* FILE_STAT_INFORMATION / FILE_STAT_LX_INFORMATION (need bytes) from a stat. */
static void fill_stat_lx(FILE_STAT_LX_INFORMATION *b, size_t need, const struct file_facts *f,
			 const struct stat *st, ACCESS_MASK access, bool lx)
{
	memset(b, 0, need);
	b->FileId = f->id;
	b->CreationTime = f->creation;
	b->LastAccessTime = f->access;
	b->LastWriteTime = f->write;
	b->ChangeTime = f->change;
	b->AllocationSize = f->alloc;
	b->EndOfFile = f->eof;
	b->FileAttributes = f->attributes;
	b->ReparseTag = f->tag;
	b->NumberOfLinks = f->links;
	b->EffectiveAccess = access;
	if (!lx)
		return;
	b->LxFlags =
	    LX_FILE_METADATA_HAS_UID | LX_FILE_METADATA_HAS_GID | LX_FILE_METADATA_HAS_MODE;
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		b->LxFlags |= LX_FILE_METADATA_HAS_DEVICE_ID;
	if (S_ISDIR(st->st_mode))
		b->LxFlags |= LX_FILE_CASE_SENSITIVE_DIR;
	b->LxUid = st->st_uid;
	b->LxGid = st->st_gid;
	b->LxMode = st->st_mode;
	b->LxDeviceIdMajor = major(st->st_rdev);
	b->LxDeviceIdMinor = minor(st->st_rdev);
}

static NTSTATUS irp_query_info(struct fm_lower *lw, PFLT_CALLBACK_DATA data)
{
	PFLT_IO_PARAMETER_BLOCK iopb = data->Iopb;
	PFILE_OBJECT fo = iopb->TargetFileObject;
	struct fm_handle *h = handle_of(fo);
	ULONG len = iopb->Parameters.QueryFileInformation.Length;
	void *buf = iopb->Parameters.QueryFileInformation.InfoBuffer;
	FILE_INFORMATION_CLASS cls = iopb->Parameters.QueryFileInformation.FileInformationClass;
	struct file_facts f;
	struct stat st;
	bool pending;
	size_t need;

	if (!h)
		return complete(data, STATUS_INVALID_HANDLE, 0);
	switch (cls) {
	case FileBasicInformation:
		need = sizeof(FILE_BASIC_INFORMATION);
		break;
	case FileStandardInformation:
		need = sizeof(FILE_STANDARD_INFORMATION);
		break;
	case FileInternalInformation:
		need = sizeof(FILE_INTERNAL_INFORMATION);
		break;
	case FileEaInformation:
		need = sizeof(FILE_EA_INFORMATION);
		break;
	case FileAccessInformation:
		need = sizeof(FILE_ACCESS_INFORMATION);
		break;
	case FileModeInformation:
		need = sizeof(FILE_MODE_INFORMATION);
		break;
	case FileAlignmentInformation:
		need = sizeof(FILE_ALIGNMENT_INFORMATION);
		break;
	case FileIdInformation:
		need = sizeof(FILE_ID_INFORMATION);
		break;
	case FileNetworkOpenInformation:
		need = sizeof(FILE_NETWORK_OPEN_INFORMATION);
		break;
	case FileAttributeTagInformation:
		need = sizeof(FILE_ATTRIBUTE_TAG_INFORMATION);
		break;
	case FilePositionInformation:
		need = sizeof(FILE_POSITION_INFORMATION);
		break;
	case FileStatInformation:
		need = sizeof(FILE_STAT_INFORMATION);
		break;
	case FileStatLxInformation:
		need = sizeof(FILE_STAT_LX_INFORMATION);
		break;
	case FileCaseSensitiveInformation:
		need = sizeof(FILE_CASE_SENSITIVE_INFORMATION);
		break;
	case FileNameInformation:
	case FileNormalizedNameInformation:
		need = offsetof(FILE_NAME_INFORMATION, FileName);
		break;
	case FileAllInformation:
		need = offsetof(FILE_ALL_INFORMATION, NameInformation.FileName);
		break;
	default:
		return complete(data, STATUS_INVALID_PARAMETER, 0);
	}
	if (len < need)
		return complete(data, STATUS_INFO_LENGTH_MISMATCH, 0);
	if (!buf)
		return complete(data, STATUS_INVALID_USER_BUFFER, 0);
	if (fstat(h->fd, &st) < 0)
		return fail_errno(data, errno);
	facts_of(&st, &f);
	/* Written under lw->lock; one flag needs no lock to be read. */
	pending =
	    __atomic_load_n(&((struct fm_stream *)fo->FsContext)->delete_pending, __ATOMIC_RELAXED);

	switch (cls) {
	case FileBasicInformation:
		fill_basic(buf, &f);
		break;
	case FileStandardInformation:
		fill_standard(buf, &f, pending, S_ISDIR(st.st_mode));
		break;
	case FileInternalInformation:
		((FILE_INTERNAL_INFORMATION *)buf)->IndexNumber = f.id;
		break;
	case FileEaInformation:
		((FILE_EA_INFORMATION *)buf)->EaSize = ea_size_of(h);
		break;
	case FileAccessInformation:
		((FILE_ACCESS_INFORMATION *)buf)->AccessFlags = granted(h);
		break;
	case FileModeInformation:
		((FILE_MODE_INFORMATION *)buf)->Mode = 0;
		break;
	case FileAlignmentInformation:
		((FILE_ALIGNMENT_INFORMATION *)buf)->AlignmentRequirement = 0;
		break;
	case FileIdInformation: {
		FILE_ID_INFORMATION *b = buf;
		struct statvfs sv;

		memset(b, 0, sizeof(*b));
		if (fstatvfs(lw->root_fd, &sv) == 0)
			b->VolumeSerialNumber = (ULONGLONG)sv.f_fsid;
		memcpy(&b->FileId, &f.id, sizeof(f.id));
		break;
	}
	case FileNetworkOpenInformation: {
		FILE_NETWORK_OPEN_INFORMATION *b = buf;

		memset(b, 0, sizeof(*b));
		b->CreationTime = f.creation;
		b->LastAccessTime = f.access;
		b->LastWriteTime = f.write;
		b->ChangeTime = f.change;
		b->AllocationSize = f.alloc;
		b->EndOfFile = f.eof;
		b->FileAttributes = f.attributes;
		break;
	}
	case FileAttributeTagInformation: {
		FILE_ATTRIBUTE_TAG_INFORMATION *b = buf;

		b->FileAttributes = f.attributes;
		b->ReparseTag = f.tag;
		break;
	}
	case FilePositionInformation:
		((FILE_POSITION_INFORMATION *)buf)->CurrentByteOffset.QuadPart = position_of(h);
		break;
	case FileStatInformation:
	case FileStatLxInformation:
		fill_stat_lx(buf, need, &f, &st, granted(h), cls == FileStatLxInformation);
		break;
	case FileCaseSensitiveInformation:
		/* Every directory of a Linux volume is case-sensitive; files have no flag. */
		((FILE_CASE_SENSITIVE_INFORMATION *)buf)->Flags =
		    S_ISDIR(st.st_mode) ? FILE_CS_FLAG_CASE_SENSITIVE_DIR : 0;
		break;
	case FileNameInformation:
	case FileNormalizedNameInformation:
	case FileAllInformation: {
		WCHAR name[PATH_MAX];
		long n = stream_nt_path(lw, fo->FsContext, name, PATH_MAX);
		FILE_NAME_INFORMATION *ni = buf;

		if (n < 0)
			return n == -ENOENT ? complete(data, STATUS_FILE_DELETED, 0)
					    : fail_errno(data, (int)n);
		if (cls == FileAllInformation) {
			FILE_ALL_INFORMATION *a = buf;

			memset(a, 0, need);
			fill_basic(&a->BasicInformation, &f);
			fill_standard(&a->StandardInformation, &f, pending, S_ISDIR(st.st_mode));
			a->InternalInformation.IndexNumber = f.id;
			a->AccessInformation.AccessFlags = granted(h);
			a->PositionInformation.CurrentByteOffset.QuadPart = position_of(h);
			ni = &a->NameInformation;
		}
		ni->FileNameLength = (ULONG)(n * sizeof(WCHAR));
		return put_name(data, buf, len, need, name, (size_t)n * sizeof(WCHAR));
	}
	default:
		break;
	}
	return complete(data, STATUS_SUCCESS, need);
}

/* ---- SET_INFORMATION ------------------------------------------------------------------------ */

/*
 * Before the remembered name of a file goes, take its kernel file handle: other links or
 * open descriptors may keep the inode alive and the kernel may still ask about it.
 */
static void keep_file_handle(struct fm_lower *lw, struct fm_stream *s, int pfd, const char *name)
{
	struct file_handle *fh;
	bool primary;
	int mnt;

	pthread_mutex_lock(&lw->lock);
	primary = !s->fh && !s->aliases && s->parent && s->name && !strcmp(s->name, name);
	lower_unlock(lw);
	if (!primary)
		return;
	fh = fm_malloc(sizeof(*fh) + MAX_HANDLE_SZ);
	if (!fh)
		return;
	fh->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(pfd, name, fh, &mnt, 0) < 0) {
		fm_free(fh);
		return;
	}
	pthread_mutex_lock(&lw->lock);
	if (!s->fh) {
		s->fh = fh;
		fh = NULL;
	}
	lower_unlock(lw);
	fm_free(fh);
}

/* Remove the link a handle was opened by (unlinkat/rmdir), then forget that name. */
static int unlink_link(struct fm_lower *lw, struct fm_handle *h, struct fm_stream *s, bool dir)
{
	int pfd, r;

	if (!h->link_parent)
		return -EBUSY;
	pfd = stream_dir_fd(lw, h->link_parent, true);
	if (pfd < 0)
		return pfd;
	if (!dir)
		keep_file_handle(lw, s, pfd, h->link_name);
	r = unlinkat(pfd, h->link_name, dir ? AT_REMOVEDIR : 0) < 0 ? -errno : 0;
	if (r == 0 && dir)
		atomic_fetch_add(&lw->rmdir_gen, 1);
	dir_put(lw, pfd);
	if (r == 0) {
		pthread_mutex_lock(&lw->lock);
		link_gone(lw, s, h->link_parent, h->link_name);
		lower_unlock(lw);
	}
	return r;
}

static int dir_is_empty(int fd)
{
	char buf[4096];
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long n;
	int r = 1;

	if (dfd < 0)
		return -errno;
	while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0 && r == 1) {
		long off = 0;

		while (off < n) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);

			if (strcmp(d->d_name, ".") && strcmp(d->d_name, "..")) {
				r = 0;
				break;
			}
			off += d->d_reclen;
		}
	}
	if (n < 0)
		r = -errno;
	close(dfd);
	return r;
}

static NTSTATUS set_disposition(struct fm_lower *lw, PFLT_CALLBACK_DATA data, PFILE_OBJECT fo,
				struct fm_handle *h, ULONG flags)
{
	struct fm_stream *s = fo->FsContext;
	struct stat st;
	int r;

	if (!(flags & FILE_DISPOSITION_DELETE)) {
		pthread_mutex_lock(&lw->lock);
		__atomic_store_n(&s->delete_pending, false, __ATOMIC_RELAXED);
		if (flags & FILE_DISPOSITION_ON_CLOSE)
			h->delete_on_close = false;
		lower_unlock(lw);
		return complete(data, STATUS_SUCCESS, 0);
	}
	if (!h->can_delete)
		return complete(data, STATUS_ACCESS_DENIED, 0);
	if (!h->link_parent)
		return complete(data, STATUS_CANNOT_DELETE, 0);
	if (fstat(h->fd, &st) < 0)
		return fail_errno(data, errno);
	if (!(flags & FILE_DISPOSITION_IGNORE_READONLY_ATTRIBUTE) && !S_ISDIR(st.st_mode) &&
	    !(st.st_mode & 0222))
		return complete(data, STATUS_CANNOT_DELETE, 0);
	if (flags & FILE_DISPOSITION_POSIX_SEMANTICS) {
		r = unlink_link(lw, h, s, S_ISDIR(st.st_mode));
		if (r < 0)
			return fail_errno(data, r);
		return complete(data, STATUS_SUCCESS, 0);
	}
	if (S_ISDIR(st.st_mode)) {
		r = dir_is_empty(h->fd);
		if (r < 0)
			return fail_errno(data, r);
		if (r == 0)
			return fail_status_errno(data, STATUS_DIRECTORY_NOT_EMPTY, ENOTEMPTY);
	}
	pthread_mutex_lock(&lw->lock);
	if (flags & FILE_DISPOSITION_ON_CLOSE)
		h->delete_on_close = true;
	else
		__atomic_store_n(&s->delete_pending, true, __ATOMIC_RELAXED);
	lower_unlock(lw);
	return complete(data, STATUS_SUCCESS, 0);
}

/* Target path of a rename or link: absolute, or relative to ParentOfTarget / the source's directory. */
static int target_path(struct fm_lower *lw, PFLT_CALLBACK_DATA data, struct fm_handle *h,
		       const WCHAR *w, size_t n, char *path, size_t cap)
{
	PFILE_OBJECT pot = data->Iopb->Parameters.SetFileInformation.ParentOfTarget;
	size_t len = 0;
	long r;
	char *p, *c;

	if (n && w[0] == L'\\') {
		w++;
		n--;
	} else {
		struct fm_stream *base = pot && pot->FsContext ? pot->FsContext : h->link_parent;
		int pr;

		if (!base)
			return -EINVAL;
		pr = fm_lower_stream_path(lw, base, path, cap);
		if (pr < 0)
			return pr;
		len = (size_t)pr;
		if (len) {
			if (len + 1 >= cap)
				return -ENAMETOOLONG;
			path[len++] = '/';
		}
	}
	while (n && w[n - 1] == L'\\')
		n--;
	if (!n)
		return -EINVAL;
	r = fm_name_from_nt((const uint16_t *)w, n, path + len, cap - len, 1);
	if (r < 0)
		return (int)r;
	len += (size_t)r;
	path[len] = '\0';
	for (p = path; *p; p = c + 1) {
		c = strchrnul(p, '/');
		if (c == p || (c - p == 1 && p[0] == '.') ||
		    (c - p == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		if (!*c)
			break;
	}
	return (int)len;
}

static NTSTATUS set_rename_link(struct fm_lower *lw, PFLT_CALLBACK_DATA data, PFILE_OBJECT fo,
				struct fm_handle *h, const void *buf, ULONG len, bool link, bool ex)
{
	const FILE_RENAME_INFORMATION *ri = buf;
	size_t fixed = offsetof(FILE_RENAME_INFORMATION, FileName);
	char tpath[PATH_MAX], tppath[PATH_MAX];
	const char *tname;
	struct fm_stream *tpstream = NULL;
	struct stat sst, tst, pst;
	bool replace, have_t, exchange;
	ULONG flags;
	int r, tpfd, spfd;

	if (len < fixed)
		return complete(data, STATUS_INFO_LENGTH_MISMATCH, 0);
	if (ri->FileNameLength > len - fixed || (ri->FileNameLength & 1))
		return complete(data, STATUS_INVALID_PARAMETER, 0);
	flags = ex ? ri->Flags : (ri->ReplaceIfExists ? FILE_RENAME_REPLACE_IF_EXISTS : 0);
	replace = flags & FILE_RENAME_REPLACE_IF_EXISTS;
	exchange = !link && (flags & FM_RENAME_EXCHANGE);
	if (!link && !h->can_delete)
		return complete(data, STATUS_ACCESS_DENIED, 0);
	if (!h->link_parent)
		return complete(data, STATUS_ACCESS_DENIED, 0);
	r = target_path(lw, data, h, ri->FileName, ri->FileNameLength / sizeof(WCHAR), tpath,
			sizeof(tpath));
	if (r == -EINVAL)
		return complete(data, STATUS_OBJECT_NAME_INVALID, 0);
	if (r < 0)
		return fail_errno(data, r);
	tname = split_path(tpath, tppath, sizeof(tppath));
	if (!tname)
		return complete(data, STATUS_OBJECT_NAME_INVALID, 0);
	tpfd = open_dir_path(lw, tppath);
	if (tpfd < 0)
		return fail_status_errno(data,
					 tpfd == -ENOENT ? STATUS_OBJECT_PATH_NOT_FOUND
							 : (NTSTATUS)fm_status_from_errno(-tpfd),
					 tpfd);
	r = fstat(tpfd, &pst) < 0 ? -errno : 0;
	if (r == 0)
		r = stream_for_path(lw, tppath, &pst, &tpstream);
	if (r == 0 && fstat(h->fd, &sst) < 0)
		r = -errno;
	if (r < 0)
		goto out;
	have_t = fstatat(tpfd, tname, &tst, AT_SYMLINK_NOFOLLOW) == 0;
	if (link) {
		r = linkat(h->fd, "", tpfd, tname, AT_EMPTY_PATH) < 0 ? -errno : 0;
		if (r == -EEXIST && replace && unlinkat(tpfd, tname, 0) == 0)
			r = linkat(h->fd, "", tpfd, tname, AT_EMPTY_PATH) < 0 ? -errno : 0;
		if (r == 0) {
			struct fm_stream *t;

			pthread_mutex_lock(&lw->lock);
			t = have_t ? find_locked(lw, tst.st_dev, tst.st_ino) : NULL;
			if (t && t != fo->FsContext)
				link_gone(lw, t, tpstream, tname);
			add_alias(fo->FsContext, tpstream, tname);
			lower_unlock(lw);
		}
		goto out;
	}
	spfd = open_stream_dir(lw, h->link_parent);
	if (spfd < 0) {
		r = spfd;
		goto out;
	}
	atomic_fetch_add(&lw->renaming, 1);
	r = renameat2(spfd, h->link_name, tpfd, tname,
		      exchange	? RENAME_EXCHANGE
		      : replace ? 0
				: RENAME_NOREPLACE) < 0
		? -errno
		: 0;
	close(spfd);
	if (r == 0) {
		char *copy = fm_strdup(tname);

		renamed(lw, h->link_parent, h->link_name, tpstream, tname, &sst,
			have_t ? &tst : NULL, exchange);
		if (copy) {
			fm_stream_put(lw, h->link_parent);
			fm_free(h->link_name);
			h->link_parent = tpstream;
			h->link_name = copy;
			tpstream = NULL;
		}
	}
	atomic_fetch_add(&lw->rename_gen, 1);
	atomic_fetch_sub(&lw->renaming, 1);
out:
	close(tpfd);
	fm_stream_put(lw, tpstream);
	if (r == -EEXIST)
		return fail_status_errno(data, STATUS_OBJECT_NAME_COLLISION, EEXIST);
	if (r < 0)
		return fail_errno(data, r);
	return complete(data, STATUS_SUCCESS, 0);
}

static NTSTATUS set_basic(PFLT_CALLBACK_DATA data, struct fm_handle *h, const void *buf)
{
	const FILE_BASIC_INFORMATION *b = buf;
	struct timespec ts[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
	char p[64];
	struct stat st;

	/* 0 leaves a time alone, -1 / -2 (stop / resume automatic updates) too. */
	if (b->LastAccessTime.QuadPart > 0)
		nt_to_timespec(b->LastAccessTime.QuadPart, &ts[0]);
	if (b->LastWriteTime.QuadPart > 0)
		nt_to_timespec(b->LastWriteTime.QuadPart, &ts[1]);
	proc_fd_path(h->fd, p, sizeof(p));
	if ((ts[0].tv_nsec != UTIME_OMIT || ts[1].tv_nsec != UTIME_OMIT) &&
	    utimensat(AT_FDCWD, p, ts, 0) < 0)
		return fail_errno(data, errno);
	if (b->FileAttributes && fstat(h->fd, &st) == 0 && !S_ISDIR(st.st_mode) &&
	    !S_ISLNK(st.st_mode)) {
		bool ro = b->FileAttributes & FILE_ATTRIBUTE_READONLY;
		mode_t m = st.st_mode & 07777;

		if (ro && (m & 0222))
			m &= ~0222;
		else if (!ro && !(m & 0222))
			m |= 0200;
		if (m != (st.st_mode & 07777) && fchmodat(AT_FDCWD, p, m, 0) < 0)
			return fail_errno(data, errno);
	}
	return complete(data, STATUS_SUCCESS, 0);
}

static NTSTATUS irp_set_info(struct fm_lower *lw, PFLT_CALLBACK_DATA data)
{
	PFLT_IO_PARAMETER_BLOCK iopb = data->Iopb;
	PFILE_OBJECT fo = iopb->TargetFileObject;
	struct fm_handle *h = handle_of(fo);
	ULONG len = iopb->Parameters.SetFileInformation.Length;
	void *buf = iopb->Parameters.SetFileInformation.InfoBuffer;
	FILE_INFORMATION_CLASS cls = iopb->Parameters.SetFileInformation.FileInformationClass;
	size_t need;

	if (!h)
		return complete(data, STATUS_INVALID_HANDLE, 0);
	switch (cls) {
	case FileBasicInformation:
		need = sizeof(FILE_BASIC_INFORMATION);
		break;
	case FileEndOfFileInformation:
		need = sizeof(FILE_END_OF_FILE_INFORMATION);
		break;
	case FileAllocationInformation:
		need = sizeof(FILE_ALLOCATION_INFORMATION);
		break;
	case FilePositionInformation:
		need = sizeof(FILE_POSITION_INFORMATION);
		break;
	case FileDispositionInformation:
		need = sizeof(FILE_DISPOSITION_INFORMATION);
		break;
	case FileDispositionInformationEx:
		need = sizeof(FILE_DISPOSITION_INFORMATION_EX);
		break;
	case FileRenameInformation:
	case FileRenameInformationEx:
	case FileLinkInformation:
	case FileLinkInformationEx:
		need = offsetof(FILE_RENAME_INFORMATION, FileName);
		break;
	default:
		return complete(data, STATUS_INVALID_PARAMETER, 0);
	}
	if (len < need)
		return complete(data, STATUS_INFO_LENGTH_MISMATCH, 0);
	if (!buf)
		return complete(data, STATUS_INVALID_USER_BUFFER, 0);
	switch (cls) {
	case FileBasicInformation:
		return set_basic(data, h, buf);
	case FileEndOfFileInformation: {
		LONGLONG eof = ((FILE_END_OF_FILE_INFORMATION *)buf)->EndOfFile.QuadPart;

		if (!h->can_write)
			return complete(data, STATUS_ACCESS_DENIED, 0);
		if (eof < 0)
			return complete(data, STATUS_INVALID_PARAMETER, 0);
		if (ftruncate(h->fd, (off_t)eof) < 0)
			return fail_errno(data, errno);
		kill_privs(data, h);
		return complete(data, STATUS_SUCCESS, 0);
	}
	case FileAllocationInformation: {
		LONGLONG a = ((FILE_ALLOCATION_INFORMATION *)buf)->AllocationSize.QuadPart;
		struct stat st;

		if (!h->can_write)
			return complete(data, STATUS_ACCESS_DENIED, 0);
		if (a < 0)
			return complete(data, STATUS_INVALID_PARAMETER, 0);
		if (fstat(h->fd, &st) < 0)
			return fail_errno(data, errno);
		if (a < st.st_size) {
			if (ftruncate(h->fd, (off_t)a) < 0)
				return fail_errno(data, errno);
		} else if (a > st.st_size &&
			   fallocate(h->fd, FALLOC_FL_KEEP_SIZE, st.st_size,
				     (off_t)a - st.st_size) < 0 &&
			   errno != EOPNOTSUPP) {
			return fail_errno(data, errno);
		}
		return complete(data, STATUS_SUCCESS, 0);
	}
	case FilePositionInformation: {
		LONGLONG pos = ((FILE_POSITION_INFORMATION *)buf)->CurrentByteOffset.QuadPart;

		if (!(h->oflags & O_PATH) && lseek(h->fd, (off_t)pos, SEEK_SET) < 0)
			return fail_errno(data, errno);
		return complete(data, STATUS_SUCCESS, 0);
	}
	case FileDispositionInformation:
		return set_disposition(lw, data, fo, h,
				       ((FILE_DISPOSITION_INFORMATION *)buf)->DeleteFile
					   ? FILE_DISPOSITION_DELETE
					   : 0);
	case FileDispositionInformationEx:
		return set_disposition(lw, data, fo, h,
				       ((FILE_DISPOSITION_INFORMATION_EX *)buf)->Flags);
	case FileRenameInformation:
		return set_rename_link(lw, data, fo, h, buf, len, false, false);
	case FileRenameInformationEx:
		return set_rename_link(lw, data, fo, h, buf, len, false, true);
	case FileLinkInformation:
		return set_rename_link(lw, data, fo, h, buf, len, true, false);
	case FileLinkInformationEx:
		return set_rename_link(lw, data, fo, h, buf, len, true, true);
	default:
		return complete(data, STATUS_INVALID_PARAMETER, 0);
	}
}

/* ---- DIRECTORY_CONTROL ---------------------------------------------------------------------- */

static void dir_free(struct fm_handle *h)
{
	size_t i;

	for (i = 0; i < h->nents; i++)
		fm_free(h->ents[i].name);
	fm_free(h->ents);
	h->ents = NULL;
	h->nents = h->pos = 0;
}

static int dir_add(struct fm_handle *h, size_t *cap, const char *name, uint64_t ino)
{
	if (h->nents == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct dir_ent *n = fm_realloc(h->ents, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		h->ents = n;
		*cap = ncap;
	}
	h->ents[h->nents].name = fm_strdup(name);
	if (!h->ents[h->nents].name)
		return -ENOMEM;
	h->ents[h->nents++].ino = ino;
	return 0;
}

/* Snapshot the directory's entries: ".", ".." then the rest in the file system's order. */
static int dir_scan(struct fm_handle *h)
{
	char buf[16384];
	size_t cap = 0;
	long n;
	int dfd, r;

	dir_free(h);
	dfd = openat(h->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	r = dir_add(h, &cap, ".", 0);
	if (r == 0)
		r = dir_add(h, &cap, "..", 0);
	while (r == 0 && (n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		long off = 0;

		while (off < n && r == 0) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);

			if (strcmp(d->d_name, ".") && strcmp(d->d_name, ".."))
				r = dir_add(h, &cap, d->d_name, d->d_ino);
			off += d->d_reclen;
		}
	}
	if (r == 0 && n < 0)
		r = -errno;
	close(dfd);
	h->scanned = r == 0;
	return r;
}

/* NT wildcard match ('*', '?', and the DOS forms '<', '>', '"'), case-sensitive as the volume. */
static bool wild_match(const WCHAR *p, size_t pn, const WCHAR *s, size_t sn)
{
	size_t pi = 0, si = 0, star_p = (size_t)-1, star_s = 0;

	while (si < sn) {
		if (pi < pn && (p[pi] == L'*' || p[pi] == L'<')) {
			star_p = pi++;
			star_s = si;
		} else if (pi < pn && (p[pi] == L'?' || p[pi] == L'>' ||
				       (p[pi] == L'"' && s[si] == L'.') || p[pi] == s[si])) {
			pi++;
			si++;
		} else if (star_p != (size_t)-1) {
			pi = star_p + 1;
			si = ++star_s;
		} else {
			return false;
		}
	}
	while (pi < pn && (p[pi] == L'*' || p[pi] == L'<' || p[pi] == L'>' || p[pi] == L'"'))
		pi++;
	return pi == pn;
}

static size_t dir_fixed(FILE_INFORMATION_CLASS cls)
{
	switch (cls) {
	case FileDirectoryInformation:
		return offsetof(FILE_DIRECTORY_INFORMATION, FileName);
	case FileFullDirectoryInformation:
		return offsetof(FILE_FULL_DIR_INFORMATION, FileName);
	case FileBothDirectoryInformation:
		return offsetof(FILE_BOTH_DIR_INFORMATION, FileName);
	case FileIdBothDirectoryInformation:
		return offsetof(FILE_ID_BOTH_DIR_INFORMATION, FileName);
	case FileIdFullDirectoryInformation:
		return offsetof(FILE_ID_FULL_DIR_INFORMATION, FileName);
	case FileNamesInformation:
		return offsetof(FILE_NAMES_INFORMATION, FileName);
	case FileIdExtdDirectoryInformation:
		return offsetof(FILE_ID_EXTD_DIR_INFORMATION, FileName);
	case FileIdExtdBothDirectoryInformation:
		return offsetof(FILE_ID_EXTD_BOTH_DIR_INFORMATION, FileName);
	default:
		return 0;
	}
}

/* Fill one entry's fixed part (NextEntryOffset 0) and FileNameLength. */
static void dir_fill(FILE_INFORMATION_CLASS cls, void *e, const struct file_facts *f,
		     ULONG name_bytes)
{
	memset(e, 0, dir_fixed(cls));
	switch (cls) {
	case FileNamesInformation:
		((FILE_NAMES_INFORMATION *)e)->FileNameLength = name_bytes;
		return;
	case FileIdExtdDirectoryInformation: {
		FILE_ID_EXTD_DIR_INFORMATION *d = e;

		d->CreationTime = f->creation;
		d->LastAccessTime = f->access;
		d->LastWriteTime = f->write;
		d->ChangeTime = f->change;
		d->EndOfFile = f->eof;
		d->AllocationSize = f->alloc;
		d->FileAttributes = f->attributes;
		d->FileNameLength = name_bytes;
		d->ReparsePointTag = f->tag;
		memcpy(&d->FileId, &f->id, sizeof(f->id));
		return;
	}
	case FileIdExtdBothDirectoryInformation: {
		/* The same with an empty short name (no 8.3 names on this volume). */
		FILE_ID_EXTD_BOTH_DIR_INFORMATION *d = e;

		d->CreationTime = f->creation;
		d->LastAccessTime = f->access;
		d->LastWriteTime = f->write;
		d->ChangeTime = f->change;
		d->EndOfFile = f->eof;
		d->AllocationSize = f->alloc;
		d->FileAttributes = f->attributes;
		d->FileNameLength = name_bytes;
		d->ReparsePointTag = f->tag;
		memcpy(&d->FileId, &f->id, sizeof(f->id));
		return;
	}
	default:
		break;
	}
	/* The other classes share FILE_DIRECTORY_INFORMATION's head. */
	{
		FILE_DIRECTORY_INFORMATION *d = e;

		d->CreationTime = f->creation;
		d->LastAccessTime = f->access;
		d->LastWriteTime = f->write;
		d->ChangeTime = f->change;
		d->EndOfFile = f->eof;
		d->AllocationSize = f->alloc;
		d->FileAttributes = f->attributes;
		d->FileNameLength = name_bytes;
	}
	/* EaSize carries the reparse tag for reparse points, as NTFS does. */
	switch (cls) {
	case FileFullDirectoryInformation:
		((FILE_FULL_DIR_INFORMATION *)e)->EaSize = f->tag;
		break;
	case FileBothDirectoryInformation:
		((FILE_BOTH_DIR_INFORMATION *)e)->EaSize = f->tag;
		break;
	case FileIdBothDirectoryInformation:
		((FILE_ID_BOTH_DIR_INFORMATION *)e)->EaSize = f->tag;
		((FILE_ID_BOTH_DIR_INFORMATION *)e)->FileId = f->id;
		break;
	case FileIdFullDirectoryInformation:
		((FILE_ID_FULL_DIR_INFORMATION *)e)->EaSize = f->tag;
		((FILE_ID_FULL_DIR_INFORMATION *)e)->FileId = f->id;
		break;
	default:
		break;
	}
}

static NTSTATUS irp_query_dir(struct fm_lower *lw, PFLT_CALLBACK_DATA data)
{
	PFLT_IO_PARAMETER_BLOCK iopb = data->Iopb;
	PFILE_OBJECT fo = iopb->TargetFileObject;
	struct fm_handle *h = handle_of(fo);
	ULONG len = iopb->Parameters.DirectoryControl.QueryDirectory.Length;
	FILE_INFORMATION_CLASS cls =
	    iopb->Parameters.DirectoryControl.QueryDirectory.FileInformationClass;
	PUNICODE_STRING pattern = iopb->Parameters.DirectoryControl.QueryDirectory.FileName;
	char *out = io_buffer(iopb->Parameters.DirectoryControl.QueryDirectory.DirectoryBuffer,
			      iopb->Parameters.DirectoryControl.QueryDirectory.MdlAddress);
	UCHAR flags = iopb->OperationFlags;
	size_t fixed = dir_fixed(cls), used = 0, prev = 0, count = 0;
	NTSTATUS st = STATUS_SUCCESS;
	bool is_root = fo && fo->FsContext == &lw->root;
	WCHAR wname[NAME_MAX + 1];
	int r;

	if (!h)
		return complete(data, STATUS_INVALID_HANDLE, 0);
	if (!fixed)
		return complete(data, STATUS_INVALID_INFO_CLASS, 0);
	if (!(h->oflags & O_DIRECTORY))
		return complete(data, STATUS_INVALID_PARAMETER, 0);
	if (!h->can_read)
		return complete(data, STATUS_ACCESS_DENIED, 0);
	if (len < fixed)
		return complete(data, STATUS_INFO_LENGTH_MISMATCH, 0);
	if (!out)
		return complete(data, STATUS_INVALID_USER_BUFFER, 0);

	pthread_mutex_lock(&h->dir_lock);
	if (!h->scanned || (flags & SL_RESTART_SCAN)) {
		r = dir_scan(h);
		if (r < 0) {
			pthread_mutex_unlock(&h->dir_lock);
			return fail_errno(data, r);
		}
		h->returned_any = false;
		fm_free(h->pattern);
		h->pattern = NULL;
		h->pattern_len = 0;
		if (pattern && pattern->Length && pattern->Buffer &&
		    !(pattern->Length == 2 && pattern->Buffer[0] == L'*')) {
			h->pattern = fm_malloc(pattern->Length);
			if (h->pattern) {
				memcpy(h->pattern, pattern->Buffer, pattern->Length);
				h->pattern_len = pattern->Length / sizeof(WCHAR);
			}
		}
	}
	while (h->pos < h->nents) {
		struct dir_ent *de = &h->ents[h->pos];
		struct file_facts f;
		struct stat sst;
		size_t start, nbytes;
		long wn =
		    fm_name_to_nt(de->name, strlen(de->name), (uint16_t *)wname, NAME_MAX + 1, 0);

		if (wn < 0 ||
		    (h->pattern && !wild_match(h->pattern, h->pattern_len, wname, (size_t)wn))) {
			h->pos++;
			continue;
		}
		if (cls != FileNamesInformation) {
			int sr;

			if (!strcmp(de->name, ".") || (is_root && !strcmp(de->name, "..")))
				sr = fstat(h->fd, &sst);
			else
				sr = fstatat(h->fd, de->name, &sst, AT_SYMLINK_NOFOLLOW);
			if (sr < 0) {
				/* Gone since the snapshot: not listed. */
				h->pos++;
				continue;
			}
			facts_of(&sst, &f);
		} else {
			memset(&f, 0, sizeof(f));
		}
		nbytes = (size_t)wn * sizeof(WCHAR);
		start = count ? (used + 7) & ~(size_t)7 : 0;
		if (start + fixed + nbytes > len) {
			if (count == 0) {
				/* Not even one entry: its head and what fits of the name. */
				dir_fill(cls, out, &f, (ULONG)nbytes);
				memcpy(out + fixed, wname, (len - fixed) & ~(size_t)1);
				used = len;
				st = STATUS_BUFFER_OVERFLOW;
			}
			break;
		}
		if (count) {
			ULONG next = (ULONG)(start - prev);

			memcpy(out + prev, &next, sizeof(next));
		}
		dir_fill(cls, out + start, &f, (ULONG)nbytes);
		memcpy(out + start + fixed, wname, nbytes);
		prev = start;
		used = start + fixed + nbytes;
		count++;
		h->pos++;
		if (flags & SL_RETURN_SINGLE_ENTRY)
			break;
	}
	if (count == 0 && st == STATUS_SUCCESS)
		st = (h->returned_any || !h->pattern) ? STATUS_NO_MORE_FILES : STATUS_NO_SUCH_FILE;
	if (count)
		h->returned_any = true;
	pthread_mutex_unlock(&h->dir_lock);
	return complete(data, st,
			(st == STATUS_SUCCESS || st == STATUS_BUFFER_OVERFLOW) ? used : 0);
}

/* ---- CLEANUP / CLOSE / FLUSH ---------------------------------------------------------------- */

static NTSTATUS irp_cleanup(struct fm_lower *lw, PFLT_CALLBACK_DATA data)
{
	PFILE_OBJECT fo = data->Iopb->TargetFileObject;
	struct fm_handle *h = handle_of(fo);
	struct fm_stream *s = fo ? fo->FsContext : NULL;
	bool doit;

	if (!h || !s || h->cleaned)
		return complete(data, STATUS_SUCCESS, 0);
	h->cleaned = true;
	pthread_mutex_lock(&lw->lock);
	if (s->nhandles)
		s->nhandles--;
	if (h->delete_on_close)
		__atomic_store_n(&s->delete_pending, true, __ATOMIC_RELAXED);
	doit = s->nhandles == 0 && s->delete_pending;
	if (doit)
		__atomic_store_n(&s->delete_pending, false, __ATOMIC_RELAXED);
	lower_unlock(lw);
	if (doit) {
		int r = unlink_link(lw, h, s, S_ISDIR(s->type));

		if (r < 0)
			fm_debug("lowerfs: delete on close of %s: %s",
				 h->link_name ? h->link_name : "/", strerror(-r));
	}
	fo->Flags |= FO_CLEANUP_COMPLETE;
	return complete(data, STATUS_SUCCESS, 0);
}

static NTSTATUS irp_close(struct fm_lower *lw, PFLT_CALLBACK_DATA data)
{
	PFILE_OBJECT fo = data->Iopb->TargetFileObject;
	struct fm_handle *h = handle_of(fo);
	struct fm_stream *s = fo ? fo->FsContext : NULL;

	if (!h)
		return complete(data, STATUS_SUCCESS, 0);
	pthread_mutex_lock(&lw->lock);
	if (!h->cleaned && s && s->nhandles)
		s->nhandles--;
	if (s) {
		struct fm_handle **ph;

		for (ph = &s->handles; *ph; ph = &(*ph)->snext) {
			if (*ph == h) {
				*ph = h->snext;
				break;
			}
		}
	}
	lower_unlock(lw);
	close(h->fd);
	dir_free(h);
	fm_free(h->pattern);
	fm_free(h->link_name);
	fm_stream_put(lw, h->link_parent);
	pthread_mutex_destroy(&h->dir_lock);
	fm_free(h);
	fm_stream_put(lw, s);
	fo->FsContext = NULL;
	fo->FsContext2 = NULL;
	return complete(data, STATUS_SUCCESS, 0);
}

static NTSTATUS irp_flush(PFLT_CALLBACK_DATA data)
{
	struct fm_handle *h = handle_of(data->Iopb->TargetFileObject);
	int r;

	if (!h)
		return complete(data, STATUS_INVALID_HANDLE, 0);
	if (h->oflags & O_PATH)
		return complete(data, STATUS_ACCESS_DENIED, 0);
	r = data->Iopb->MinorFunction == IRP_MN_FLUSH_DATA_ONLY ? fdatasync(h->fd) : fsync(h->fd);
	if (r < 0)
		return fail_errno(data, errno);
	return complete(data, STATUS_SUCCESS, 0);
}

/* ---- QUERY_VOLUME_INFORMATION -------------------------------------------------------------- */

static NTSTATUS irp_query_volume(struct fm_lower *lw, PFLT_CALLBACK_DATA data)
{
	PFLT_IO_PARAMETER_BLOCK iopb = data->Iopb;
	ULONG len = iopb->Parameters.QueryVolumeInformation.Length;
	void *buf = iopb->Parameters.QueryVolumeInformation.VolumeBuffer;
	FS_INFORMATION_CLASS cls = iopb->Parameters.QueryVolumeInformation.FsInformationClass;
	struct statvfs sv;
	ULONG spu;
	size_t need;

	switch (cls) {
	case FileFsSizeInformation:
		need = sizeof(FILE_FS_SIZE_INFORMATION);
		break;
	case FileFsFullSizeInformation:
		need = sizeof(FILE_FS_FULL_SIZE_INFORMATION);
		break;
	case FileFsAttributeInformation:
		need = offsetof(FILE_FS_ATTRIBUTE_INFORMATION, FileSystemName);
		break;
	case FileFsVolumeInformation:
		need = offsetof(FILE_FS_VOLUME_INFORMATION, VolumeLabel);
		break;
	case FileFsDeviceInformation:
		need = sizeof(FILE_FS_DEVICE_INFORMATION);
		break;
	default:
		return complete(data, STATUS_INVALID_INFO_CLASS, 0);
	}
	if (len < need)
		return complete(data, STATUS_INFO_LENGTH_MISMATCH, 0);
	if (!buf)
		return complete(data, STATUS_INVALID_USER_BUFFER, 0);
	if (fstatvfs(lw->root_fd, &sv) < 0)
		return fail_errno(data, errno);
	spu = sv.f_frsize >= 512 ? (ULONG)(sv.f_frsize / 512) : 1;
	switch (cls) {
	case FileFsSizeInformation: {
		FILE_FS_SIZE_INFORMATION *b = buf;

		b->TotalAllocationUnits.QuadPart = (LONGLONG)sv.f_blocks;
		b->AvailableAllocationUnits.QuadPart = (LONGLONG)sv.f_bavail;
		b->SectorsPerAllocationUnit = spu;
		b->BytesPerSector = 512;
		break;
	}
	case FileFsFullSizeInformation: {
		FILE_FS_FULL_SIZE_INFORMATION *b = buf;

		b->TotalAllocationUnits.QuadPart = (LONGLONG)sv.f_blocks;
		b->CallerAvailableAllocationUnits.QuadPart = (LONGLONG)sv.f_bavail;
		b->ActualAvailableAllocationUnits.QuadPart = (LONGLONG)sv.f_bfree;
		b->SectorsPerAllocationUnit = spu;
		b->BytesPerSector = 512;
		break;
	}
	case FileFsAttributeInformation: {
		FILE_FS_ATTRIBUTE_INFORMATION *b = buf;
		WCHAR wn[32];
		size_t i, n = strlen(lw->fs_name);

		for (i = 0; i < n; i++)
			wn[i] = (WCHAR)(unsigned char)lw->fs_name[i];
		b->FileSystemAttributes = FILE_CASE_SENSITIVE_SEARCH | FILE_CASE_PRESERVED_NAMES |
					  FILE_UNICODE_ON_DISK | FILE_SUPPORTS_REPARSE_POINTS |
					  FILE_SUPPORTS_SPARSE_FILES | FILE_SUPPORTS_HARD_LINKS |
					  FILE_SUPPORTS_EXTENDED_ATTRIBUTES |
					  FILE_SUPPORTS_POSIX_UNLINK_RENAME;
		b->MaximumComponentNameLength = (LONG)(sv.f_namemax ? sv.f_namemax : 255);
		b->FileSystemNameLength = (ULONG)(n * sizeof(WCHAR));
		return put_name(data, buf, len, need, wn, n * sizeof(WCHAR));
	}
	case FileFsVolumeInformation: {
		FILE_FS_VOLUME_INFORMATION *b = buf;
		struct stat st;

		memset(b, 0, need);
		if (fstat(lw->root_fd, &st) == 0)
			timespec_to_nt(&st.st_ctim, &b->VolumeCreationTime);
		b->VolumeSerialNumber = (ULONG)(sv.f_fsid ^ (sv.f_fsid >> 32));
		b->VolumeLabelLength = 0;
		b->SupportsObjects = FALSE;
		break;
	}
	case FileFsDeviceInformation: {
		FILE_FS_DEVICE_INFORMATION *b = buf;

		b->DeviceType = FILE_DEVICE_DISK;
		b->Characteristics = 0;
		break;
	}
	default:
		break;
	}
	return complete(data, STATUS_SUCCESS, need);
}

/* ---- extended attributes: IRP_MJ_SET_EA / IRP_MJ_QUERY_EA -------------------------------------- */

/*
 * EA names are xattr names byte for byte (case preserved, not upcased as NTFS would).  The WSL
 * names $LXMOD, $LXUID, $LXGID and $LXDEV are file metadata, never xattrs; Linux cannot send
 * them as xattrs anyway (every Linux xattr name has a namespace prefix).  Private bits in a
 * FILE_FULL_EA_INFORMATION's Flags carry setxattr(2)'s flags and the empty value, which NT
 * cannot express (a zero-length value deletes the EA): filters that build EAs never set them.
 */
#define FM_EA_CREATE 0x01     /* XATTR_CREATE */
#define FM_EA_REPLACE 0x02    /* XATTR_REPLACE */
#define FM_EA_KEEP_EMPTY 0x04 /* a zero-length value is set, not deleted */
#define EA_VALUE_MAX 0xffff   /* EaValueLength is a USHORT */

struct xattr_target {
	char path[64]; /* /proc/self/fd/N of the handle's descriptor */
	bool link;     /* a symbolic link (no chmod) */
};

static int xattr_target(struct fm_handle *h, struct xattr_target *t)
{
	struct stat st;

	if (fstat(h->fd, &st) < 0)
		return -errno;
	proc_fd_path(h->fd, t->path, sizeof(t->path));
	t->link = S_ISLNK(st.st_mode);
	/*
	 * Following /proc/self/fd/N lands on the inode the descriptor holds and goes no
	 * further, even for a symlink's O_PATH descriptor; the l* calls would act on the proc
	 * link itself.  So the following calls are used for every type.
	 */
	return 0;
}

static bool ea_is_lx(const char *name, size_t len)
{
	return len == 6 && !memcmp(name, "$LX", 3) &&
	       (!memcmp(name + 3, "MOD", 3) || !memcmp(name + 3, "UID", 3) ||
		!memcmp(name + 3, "GID", 3) || !memcmp(name + 3, "DEV", 3));
}

/*
 * Walk a FILE_FULL_EA_INFORMATION chain: every entry must lie inside the buffer, names must be
 * NUL-terminated where EaNameLength says and not empty.  0 or STATUS_EA_LIST_INCONSISTENT.
 */
static NTSTATUS ea_chain_check(const UCHAR *buf, ULONG len)
{
	ULONG off = 0;
	const size_t fixed = offsetof(FILE_FULL_EA_INFORMATION, EaName);

	if (!buf || len < fixed)
		return STATUS_EA_LIST_INCONSISTENT;
	for (;;) {
		const FILE_FULL_EA_INFORMATION *ea = (const void *)(buf + off);
		size_t need;

		if (len - off < fixed || (off & 3))
			return STATUS_EA_LIST_INCONSISTENT;
		need = fixed + ea->EaNameLength + 1u + ea->EaValueLength;
		if (need > len - off || !ea->EaNameLength || ea->EaName[ea->EaNameLength] != '\0' ||
		    memchr(ea->EaName, '\0', ea->EaNameLength))
			return STATUS_EA_LIST_INCONSISTENT;
		if (!ea->NextEntryOffset)
			return STATUS_SUCCESS;
		if (ea->NextEntryOffset < need || ea->NextEntryOffset > len - off)
			return STATUS_EA_LIST_INCONSISTENT;
		off += ea->NextEntryOffset;
	}
}

static NTSTATUS irp_set_ea(PFLT_CALLBACK_DATA data)
{
	PFLT_IO_PARAMETER_BLOCK iopb = data->Iopb;
	struct fm_handle *h = handle_of(iopb->TargetFileObject);
	const UCHAR *buf =
	    io_buffer(iopb->Parameters.SetEa.EaBuffer, iopb->Parameters.SetEa.MdlAddress);
	ULONG len = iopb->Parameters.SetEa.Length, off = 0;
	const size_t fixed = offsetof(FILE_FULL_EA_INFORMATION, EaName);
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	bool chmod_it = false;
	ULONG mode = 0;
	struct xattr_target t;
	NTSTATUS st;
	int r;

	if (!h)
		return complete(data, STATUS_INVALID_PARAMETER, 0);
	st = ea_chain_check(buf, len);
	if (st != STATUS_SUCCESS)
		return complete(data, st, 0);
	r = xattr_target(h, &t);
	if (r < 0)
		return fail_errno(data, r);
	/* The WSL metadata first, in a fixed order (mode, then owner) whatever the chain's. */
	for (off = 0;;) {
		const FILE_FULL_EA_INFORMATION *ea = (const void *)(buf + off);
		const UCHAR *val = (const UCHAR *)ea->EaName + ea->EaNameLength + 1;
		ULONG v;

		if (ea_is_lx(ea->EaName, ea->EaNameLength)) {
			if (ea->EaValueLength != sizeof(ULONG))
				return complete(data, STATUS_INVALID_PARAMETER, 0);
			memcpy(&v, val, sizeof(v));
			if (ea->EaName[3] == 'M') {
				chmod_it = true;
				mode = v;
			} else if (ea->EaName[3] == 'U') {
				uid = (uid_t)v;
			} else if (ea->EaName[3] == 'G') {
				gid = (gid_t)v;
			} else {
				/* $LXDEV only means something when a special file is created. */
				return complete(data, STATUS_INVALID_PARAMETER, 0);
			}
		}
		if (!ea->NextEntryOffset)
			break;
		off += ea->NextEntryOffset;
	}
	if (chmod_it) {
		if (t.link)
			return fail_errno(data, -EOPNOTSUPP);
		if (fchmodat(AT_FDCWD, t.path, mode & 07777, 0) < 0)
			return fail_errno(data, -errno);
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchownat(h->fd, "", uid, gid, AT_EMPTY_PATH) < 0)
		return fail_errno(data, -errno);
	for (off = 0;;) {
		const FILE_FULL_EA_INFORMATION *ea = (const void *)(buf + off);
		const char *val = ea->EaName + ea->EaNameLength + 1;

		if (!ea_is_lx(ea->EaName, ea->EaNameLength)) {
			if (ea->EaValueLength || (ea->Flags & FM_EA_KEEP_EMPTY)) {
				int fl = ((ea->Flags & FM_EA_CREATE) ? XATTR_CREATE : 0) |
					 ((ea->Flags & FM_EA_REPLACE) ? XATTR_REPLACE : 0);

				r = setxattr(t.path, ea->EaName, val, ea->EaValueLength, fl);
			} else {
				r = removexattr(t.path, ea->EaName);
			}
			if (r < 0)
				return fail_errno(data, -errno);
		}
		if (!ea->NextEntryOffset)
			break;
		off += ea->NextEntryOffset;
	}
	(void)fixed;
	return complete(data, STATUS_SUCCESS, 0);
}

/*
 * Append one FILE_FULL_EA_INFORMATION (name + value of the named xattr) at *pos of out.
 * 0 when it fit, 1 when it did not (nothing written), -errno on failure.
 */
static int ea_put(const struct xattr_target *t, const char *name, UCHAR *out, ULONG cap, ULONG *pos,
		  FILE_FULL_EA_INFORMATION **prev)
{
	const size_t fixed = offsetof(FILE_FULL_EA_INFORMATION, EaName);
	size_t nl = strlen(name), at = (*pos + 3u) & ~3u;
	FILE_FULL_EA_INFORMATION *ea;
	ssize_t vl;

	if (nl > 255)
		return -ENAMETOOLONG;
	vl = getxattr(t->path, name, NULL, 0);
	if (vl < 0)
		return -errno;
	if (vl > EA_VALUE_MAX)
		return -E2BIG;
	if (at > cap || cap - at < fixed + nl + 1 + (size_t)vl)
		return 1;
	ea = (void *)(out + at);
	memset(ea, 0, fixed);
	ea->EaNameLength = (UCHAR)nl;
	memcpy(ea->EaName, name, nl + 1);
	vl = getxattr(t->path, name, ea->EaName + nl + 1, (size_t)vl);
	if (vl < 0)
		return errno == ERANGE ? 1 : -errno; /* grew meanwhile: as if it did not fit */
	ea->EaValueLength = (USHORT)vl;
	if (*prev)
		(*prev)->NextEntryOffset = (ULONG)((UCHAR *)ea - (UCHAR *)*prev);
	*prev = ea;
	*pos = (ULONG)(at + fixed + nl + 1 + (size_t)vl);
	return 0;
}

/*
 * IRP_MJ_QUERY_EA.  With an EaList: those names, in order (a name that does not exist is
 * STATUS_NONEXISTENT_EA_ENTRY: Linux must tell ENODATA from an empty value).  Without: the
 * file's xattrs in listxattr order from the handle's EA cursor (SL_RESTART_SCAN, or
 * SL_INDEX_SPECIFIED with the 1-based EaIndex, reposition it), as many whole entries as fit
 * (STATUS_BUFFER_OVERFLOW when some did not, STATUS_BUFFER_TOO_SMALL when not even one did),
 * STATUS_NO_MORE_EAS at the end, STATUS_NO_EAS_ON_FILE when there are none at all.
 */
static NTSTATUS irp_query_ea(PFLT_CALLBACK_DATA data)
{
	PFLT_IO_PARAMETER_BLOCK iopb = data->Iopb;
	struct fm_handle *h = handle_of(iopb->TargetFileObject);
	UCHAR *out =
	    io_buffer(iopb->Parameters.QueryEa.EaBuffer, iopb->Parameters.QueryEa.MdlAddress);
	ULONG cap = iopb->Parameters.QueryEa.Length, pos = 0;
	const UCHAR *list = iopb->Parameters.QueryEa.EaList;
	ULONG llen = iopb->Parameters.QueryEa.EaListLength;
	bool single = iopb->OperationFlags & SL_RETURN_SINGLE_ENTRY;
	FILE_FULL_EA_INFORMATION *prev = NULL;
	struct xattr_target t;
	char *names = NULL;
	ssize_t nlen;
	size_t i, idx;
	int r, n = 0;

	if (!h || (!out && cap))
		return complete(data, STATUS_INVALID_PARAMETER, 0);
	r = xattr_target(h, &t);
	if (r < 0)
		return fail_errno(data, r);
	if (list && llen) {
		const size_t gfixed = offsetof(FILE_GET_EA_INFORMATION, EaName);
		ULONG off = 0;
		char name[256];

		for (;;) {
			const FILE_GET_EA_INFORMATION *g = (const void *)(list + off);

			if (llen - off < gfixed || llen - off - gfixed < g->EaNameLength + 1u ||
			    !g->EaNameLength)
				return complete(data, STATUS_EA_LIST_INCONSISTENT, 0);
			memcpy(name, g->EaName, g->EaNameLength);
			name[g->EaNameLength] = '\0';
			if (ea_is_lx(name, g->EaNameLength) || strlen(name) != g->EaNameLength)
				return complete(data, STATUS_NONEXISTENT_EA_ENTRY, 0);
			r = ea_put(&t, name, out, cap, &pos, &prev);
			if (r == -ENODATA)
				return complete(data, STATUS_NONEXISTENT_EA_ENTRY, 0);
			if (r < 0)
				return fail_errno(data, r);
			if (r > 0)
				return complete(
				    data, n ? STATUS_BUFFER_OVERFLOW : STATUS_BUFFER_TOO_SMALL,
				    n ? pos : 0);
			n++;
			if (single || !g->NextEntryOffset)
				break;
			if (g->NextEntryOffset > llen - off)
				return complete(data, STATUS_EA_LIST_INCONSISTENT, 0);
			off += g->NextEntryOffset;
		}
		return complete(data, STATUS_SUCCESS, pos);
	}
	nlen = listxattr(t.path, NULL, 0);
	if (nlen > 0) {
		names = fm_malloc((size_t)nlen);
		if (!names)
			return complete(data, STATUS_INSUFFICIENT_RESOURCES, 0);
		nlen = listxattr(t.path, names, (size_t)nlen);
	}
	if (nlen < 0) {
		r = -errno;
		fm_free(names);
		return fail_errno(data, r);
	}
	if (nlen == 0) {
		fm_free(names);
		return complete(data, STATUS_NO_EAS_ON_FILE, 0);
	}
	pthread_mutex_lock(&h->dir_lock);
	if (iopb->OperationFlags & SL_RESTART_SCAN)
		h->ea_pos = 0;
	if (iopb->OperationFlags & SL_INDEX_SPECIFIED)
		h->ea_pos =
		    iopb->Parameters.QueryEa.EaIndex ? iopb->Parameters.QueryEa.EaIndex - 1 : 0;
	r = 0;
	for (i = 0, idx = 0; i < (size_t)nlen; i += strlen(names + i) + 1, idx++) {
		if (idx < h->ea_pos)
			continue;
		r = ea_put(&t, names + i, out, cap, &pos, &prev);
		if (r == -ENODATA) { /* removed since the listing */
			r = 0;
			h->ea_pos++;
			continue;
		}
		if (r != 0)
			break;
		h->ea_pos++;
		n++;
		if (single)
			break;
	}
	pthread_mutex_unlock(&h->dir_lock);
	fm_free(names);
	if (r < 0)
		return fail_errno(data, r);
	if (r > 0)
		return complete(data, n ? STATUS_BUFFER_OVERFLOW : STATUS_BUFFER_TOO_SMALL,
				n ? pos : 0);
	if (!n)
		return complete(data, STATUS_NO_MORE_EAS, 0);
	return complete(data, STATUS_SUCCESS, pos);
}

/* ---- reparse points: IRP_MJ_FILE_SYSTEM_CONTROL ------------------------------------------------ */

/*
 * WSL's reparse points: IO_REPARSE_TAG_LX_SYMLINK data is a ULONG version (2) followed by the
 * UTF-8 target without a NUL; the LX_FIFO / LX_CHR / LX_BLK / AF_UNIX tags carry no data (a
 * device's numbers come from the $LXDEV EA of the create).
 */
#define LX_SYMLINK_VERSION 2

static NTSTATUS fsctl_get_reparse(PFLT_CALLBACK_DATA data, struct fm_handle *h, UCHAR *out,
				  ULONG cap)
{
	const ULONG hdr = (ULONG)REPARSE_DATA_BUFFER_HEADER_SIZE;
	UCHAR buf[REPARSE_DATA_BUFFER_HEADER_SIZE + sizeof(ULONG) + PATH_MAX];
	REPARSE_DATA_BUFFER *rb = (void *)buf;
	ULONG version = LX_SYMLINK_VERSION, len = 0, n;
	struct stat st;

	if (fstat(h->fd, &st) < 0)
		return fail_errno(data, -errno);
	memset(buf, 0, hdr);
	rb->ReparseTag = reparse_tag_of(st.st_mode);
	if (!rb->ReparseTag)
		return complete(data, STATUS_NOT_A_REPARSE_POINT, 0);
	if (S_ISLNK(st.st_mode)) {
		ssize_t t = readlinkat(h->fd, "", (char *)buf + hdr + sizeof(ULONG), PATH_MAX);

		if (t < 0)
			return fail_errno(data, -errno);
		memcpy(buf + hdr, &version, sizeof(version));
		len = (ULONG)(sizeof(ULONG) + (size_t)t);
	}
	rb->ReparseDataLength = (USHORT)len;
	if (!out || cap < hdr)
		return complete(data, STATUS_BUFFER_TOO_SMALL, 0);
	n = hdr + len <= cap ? hdr + len : cap;
	memcpy(out, buf, n);
	return complete(data, n < hdr + len ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS, n);
}

/*
 * FSCTL_SET_REPARSE_POINT with a WSL tag turns the handle's file into the Linux object the tag
 * names.  The file must be what the create of a new symlink or special file leaves: an empty
 * regular file with one link (or a node of the same kind, replaced).  The object is made
 * under a temporary name in the same directory, as the requestor, and renamed over the file:
 * the name never disappears and never shows a half-made object, only the empty file before.
 * The handle and its stream then stand for the new inode (FsContext keeps its identity, so
 * filters' stream contexts stay attached, as when NTFS sets a reparse point).
 */
/*
 * Replace the handle's file by a new object of `type` (S_IFREG: an empty regular file) with
 * permission bits `perm`, made under a temporary name in the same directory as the requestor
 * and renamed over it, then re-key the handle and its stream to the new inode.  `st` is the
 * handle's current stat.
 */
static NTSTATUS replace_node(struct fm_lower *lw, PFLT_CALLBACK_DATA data, struct fm_handle *h,
			     struct fm_stream *s, const struct stat *st, mode_t type, mode_t perm,
			     const char *target, dev_t rdev)
{
	static unsigned long counter;
	char path[PATH_MAX], ppath[PATH_MAX], tmp[64];
	const char *name;
	struct stat cur, nst;
	struct creds c;
	int pfd, fd, r, tries;

	r = fm_lower_stream_path(lw, s, path, sizeof(path));
	if (r <= 0)
		return fail_errno(data, r == 0 ? -EINVAL : r);
	name = split_path(path, ppath, sizeof(ppath));
	if (!name)
		return fail_errno(data, -ENAMETOOLONG);
	pfd = open_dir_path(lw, ppath);
	if (pfd < 0)
		return fail_errno(data, pfd);
	/* The name must still be this file (a rename by someone else could have moved it). */
	if (fstatat(pfd, name, &cur, AT_SYMLINK_NOFOLLOW) < 0 || cur.st_ino != st->st_ino ||
	    cur.st_dev != st->st_dev) {
		close(pfd);
		return complete(data, STATUS_FILE_RENAMED, 0);
	}
	creds_enter(lw, fm_irp_requestor(data), &c);
	for (tries = 0; tries < 8; tries++) {
		snprintf(tmp, sizeof(tmp), ".fm-reparse.%d.%lu", (int)getpid(),
			 __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
		if (type == S_IFLNK) {
			r = symlinkat(target, pfd, tmp);
		} else if (type == S_IFREG) {
			r = openat(pfd, tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, perm);
			if (r >= 0) {
				fchmod(r, perm);
				close(r);
				r = 0;
			}
		} else {
			r = mknodat(pfd, tmp, type | perm, rdev);
		}
		r = r < 0 ? -errno : 0;
		if (r != -EEXIST)
			break;
	}
	creds_leave(lw, &c);
	if (r == 0 && renameat(pfd, tmp, pfd, name) < 0) {
		r = -errno;
		unlinkat(pfd, tmp, 0);
	}
	if (r < 0) {
		close(pfd);
		return fail_errno(data, r);
	}
	fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	close(pfd);
	if (fd < 0 || fstat(fd, &nst) < 0) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		return fail_errno(data, r);
	}
	/* The handle now holds the new inode, and the stream is re-keyed to it. */
	close(h->fd);
	h->fd = fd;
	h->oflags = O_PATH;
	h->can_read = h->can_write = false;
	pthread_mutex_lock(&lw->lock);
	if (s != &lw->root) {
		struct fm_stream *stale = find_locked(lw, nst.st_dev, nst.st_ino);
		size_t hb = hash_of(nst.st_dev, nst.st_ino);

		/*
		 * The new node's inode number may be one the backing file system just reused
		 * from a file that is gone but whose stream the kernel has not forgotten yet:
		 * that stream can no longer be reached by its number.
		 */
		if (stale && stale != s) {
			unhash_locked(lw, stale);
			stale->deleted = true;
		}
		unhash_locked(lw, s);
		s->dev = nst.st_dev;
		s->ino = nst.st_ino;
		s->type = nst.st_mode & S_IFMT;
		s->hnext = lw->buckets[hb];
		lw->buckets[hb] = s;
	}
	lower_unlock(lw);
	return complete(data, STATUS_SUCCESS, 0);
}

static NTSTATUS fsctl_set_reparse(struct fm_lower *lw, PFLT_CALLBACK_DATA data, struct fm_handle *h,
				  struct fm_stream *s, const UCHAR *in, ULONG len)
{
	const ULONG hdr = (ULONG)REPARSE_DATA_BUFFER_HEADER_SIZE;
	const REPARSE_DATA_BUFFER *rb = (const void *)in;
	char target[PATH_MAX];
	struct stat st;
	mode_t type;
	dev_t rdev = 0;
	ULONG version;

	target[0] = '\0';
	if (!in || len < hdr || rb->ReparseDataLength > len - hdr)
		return complete(data, STATUS_IO_REPARSE_DATA_INVALID, 0);
	switch (rb->ReparseTag) {
	case IO_REPARSE_TAG_LX_SYMLINK:
		type = S_IFLNK;
		if (rb->ReparseDataLength <= sizeof(ULONG) ||
		    rb->ReparseDataLength - sizeof(ULONG) >= sizeof(target))
			return complete(data, STATUS_IO_REPARSE_DATA_INVALID, 0);
		memcpy(&version, in + hdr, sizeof(version));
		memcpy(target, in + hdr + sizeof(ULONG), rb->ReparseDataLength - sizeof(ULONG));
		target[rb->ReparseDataLength - sizeof(ULONG)] = '\0';
		if (version != LX_SYMLINK_VERSION ||
		    strlen(target) != rb->ReparseDataLength - sizeof(ULONG))
			return complete(data, STATUS_IO_REPARSE_DATA_INVALID, 0);
		break;
	case IO_REPARSE_TAG_LX_FIFO:
		type = S_IFIFO;
		break;
	case IO_REPARSE_TAG_LX_CHR:
	case IO_REPARSE_TAG_LX_BLK:
		type = rb->ReparseTag == IO_REPARSE_TAG_LX_CHR ? S_IFCHR : S_IFBLK;
		if (h->has_lxdev)
			rdev = makedev(h->lxdev[0], h->lxdev[1]);
		break;
	case IO_REPARSE_TAG_AF_UNIX:
		type = S_IFSOCK;
		break;
	default:
		/* Other tags (NTFS stores any): this volume has nowhere to keep them. */
		return complete(data, STATUS_IO_REPARSE_TAG_INVALID, 0);
	}
	if (fstat(h->fd, &st) < 0)
		return fail_errno(data, -errno);
	if (!(S_ISREG(st.st_mode) && st.st_size == 0 && st.st_nlink == 1) &&
	    (st.st_mode & S_IFMT) != type)
		return complete(data, STATUS_IO_REPARSE_DATA_INVALID, 0);
	return replace_node(lw, data, h, s, &st, type, st.st_mode & 07777, target, rdev);
}

/*
 * FSCTL_DELETE_REPARSE_POINT: the input names the tag (a REPARSE_DATA_BUFFER header with no
 * data).  A WSL object (symlink, FIFO, device, socket) goes back to what the create of a new
 * one left: an empty regular file with the same permission bits (0666 for a symlink), by the
 * same replacement as FSCTL_SET_REPARSE_POINT.  STATUS_NOT_A_REPARSE_POINT for an ordinary
 * file, STATUS_IO_REPARSE_TAG_MISMATCH when the tag is not the file's.
 */
static NTSTATUS fsctl_delete_reparse(struct fm_lower *lw, PFLT_CALLBACK_DATA data,
				     struct fm_handle *h, struct fm_stream *s, const UCHAR *in,
				     ULONG len)
{
	const REPARSE_DATA_BUFFER *rb = (const void *)in;
	struct stat st;
	ULONG tag;

	if (!in || len < REPARSE_DATA_BUFFER_HEADER_SIZE || rb->ReparseDataLength != 0)
		return complete(data, STATUS_IO_REPARSE_DATA_INVALID, 0);
	if (fstat(h->fd, &st) < 0)
		return fail_errno(data, -errno);
	tag = reparse_tag_of(st.st_mode);
	if (!tag)
		return complete(data, STATUS_NOT_A_REPARSE_POINT, 0);
	if (tag != rb->ReparseTag)
		return complete(data, STATUS_IO_REPARSE_TAG_MISMATCH, 0);
	return replace_node(lw, data, h, s, &st, S_IFREG,
			    S_ISLNK(st.st_mode) ? 0666 : (st.st_mode & 07777), NULL, 0);
}

/*
 * FSCTL_QUERY_ALLOCATED_RANGES (METHOD_NEITHER): the data extents of the file within the
 * input range, from SEEK_DATA / SEEK_HOLE on the handle's descriptor (maximal extents, clamped
 * to the range and to the file size).  STATUS_BUFFER_OVERFLOW when more extents remain than
 * the output holds (the ones that fit are returned).
 */
static NTSTATUS fsctl_query_ranges(PFLT_CALLBACK_DATA data, struct fm_handle *h)
{
	PFLT_PARAMETERS p = &data->Iopb->Parameters;
	const FILE_ALLOCATED_RANGE_BUFFER *in = p->FileSystemControl.Neither.InputBuffer;
	FILE_ALLOCATED_RANGE_BUFFER *out = p->FileSystemControl.Neither.OutputBuffer;
	ULONG cap = p->FileSystemControl.Neither.OutputBufferLength / sizeof(*out), n = 0;
	LONGLONG from, end;
	struct stat st;

	if (!in || p->FileSystemControl.Neither.InputBufferLength < sizeof(*in))
		return complete(data, STATUS_INVALID_PARAMETER, 0);
	if (in->FileOffset.QuadPart < 0 || in->Length.QuadPart < 0)
		return complete(data, STATUS_INVALID_PARAMETER, 0);
	if (h->oflags & O_PATH)
		return complete(data, STATUS_ACCESS_DENIED, 0);
	if (fstat(h->fd, &st) < 0)
		return fail_errno(data, -errno);
	from = in->FileOffset.QuadPart;
	end = in->Length.QuadPart > LLONG_MAX - from ? LLONG_MAX : from + in->Length.QuadPart;
	if (end > st.st_size)
		end = st.st_size;
	while (from < end) {
		off_t d = lseek(h->fd, from, SEEK_DATA), e;

		if (d < 0) {
			if (errno == ENXIO)
				break;
			return fail_errno(data, -errno);
		}
		if (d >= end)
			break;
		e = lseek(h->fd, d, SEEK_HOLE);
		if (e < 0)
			return fail_errno(data, -errno);
		if (e > end)
			e = end;
		if (n == cap || !out)
			return complete(data, n ? STATUS_BUFFER_OVERFLOW : STATUS_BUFFER_TOO_SMALL,
					n * sizeof(*out));
		out[n].FileOffset.QuadPart = d;
		out[n].Length.QuadPart = e - d;
		n++;
		from = e;
	}
	return complete(data, STATUS_SUCCESS, n * sizeof(*out));
}

/*
 * FSCTL_SET_ZERO_DATA: the range [FileOffset, BeyondFinalZero) reads as zeros afterwards and
 * is deallocated (FALLOC_FL_PUNCH_HOLE, as NTFS does on a sparse file); the size is kept.
 */
static NTSTATUS fsctl_zero_data(PFLT_CALLBACK_DATA data, struct fm_handle *h)
{
	PFLT_PARAMETERS p = &data->Iopb->Parameters;
	const FILE_ZERO_DATA_INFORMATION *z = p->FileSystemControl.Buffered.SystemBuffer;

	if (!z || p->FileSystemControl.Buffered.InputBufferLength < sizeof(*z) ||
	    z->FileOffset.QuadPart < 0 || z->BeyondFinalZero.QuadPart < z->FileOffset.QuadPart)
		return complete(data, STATUS_INVALID_PARAMETER, 0);
	if (!h->can_write)
		return complete(data, STATUS_ACCESS_DENIED, 0);
	if (z->BeyondFinalZero.QuadPart > z->FileOffset.QuadPart &&
	    fallocate(h->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, z->FileOffset.QuadPart,
		      z->BeyondFinalZero.QuadPart - z->FileOffset.QuadPart) < 0)
		return fail_errno(data, -errno);
	kill_privs(data, h);
	return complete(data, STATUS_SUCCESS, 0);
}

static NTSTATUS irp_fsctl(struct fm_lower *lw, PFLT_CALLBACK_DATA data)
{
	PFLT_IO_PARAMETER_BLOCK iopb = data->Iopb;
	PFILE_OBJECT fo = iopb->TargetFileObject;
	struct fm_handle *h = handle_of(fo);

	if (iopb->MinorFunction != IRP_MN_USER_FS_REQUEST &&
	    iopb->MinorFunction != IRP_MN_KERNEL_CALL)
		return complete(data, STATUS_INVALID_DEVICE_REQUEST, 0);
	if (!h)
		return complete(data, STATUS_INVALID_PARAMETER, 0);
	switch (iopb->Parameters.FileSystemControl.Common.FsControlCode) {
	case FSCTL_GET_REPARSE_POINT:
		return fsctl_get_reparse(
		    data, h, iopb->Parameters.FileSystemControl.Buffered.SystemBuffer,
		    iopb->Parameters.FileSystemControl.Buffered.OutputBufferLength);
	case FSCTL_SET_REPARSE_POINT:
		return fsctl_set_reparse(
		    lw, data, h, fo->FsContext,
		    iopb->Parameters.FileSystemControl.Buffered.SystemBuffer,
		    iopb->Parameters.FileSystemControl.Buffered.InputBufferLength);
	case FSCTL_DELETE_REPARSE_POINT:
		return fsctl_delete_reparse(
		    lw, data, h, fo->FsContext,
		    iopb->Parameters.FileSystemControl.Buffered.SystemBuffer,
		    iopb->Parameters.FileSystemControl.Buffered.InputBufferLength);
	case FSCTL_QUERY_ALLOCATED_RANGES:
		return fsctl_query_ranges(data, h);
	case FSCTL_SET_ZERO_DATA:
		return fsctl_zero_data(data, h);
	default:
		return complete(data, STATUS_INVALID_DEVICE_REQUEST, 0);
	}
}

/* ---- byte-range and flock locks: IRP_MJ_LOCK_CONTROL ------------------------------------------- */

/*
 * POSIX (fcntl) locks are kept here, per stream, by owner (the Key of the IRP: the FUSE lock
 * owner, one per process's file table), with the PID of the process that took them: two
 * descriptors of one process never conflict, F_GETLK names the holder, and a close by the
 * owner drops them all (IRP_MN_UNLOCK_ALL from the front-end's flush), as POSIX says.  No
 * process reaches the backing directory but through the volume (it is mounted over it), so
 * the table is the whole truth.  Keys with FM_LOCK_FLOCK set are flock(2) locks: flock() on
 * the handle's own descriptor, which, like FUSE's handle, is one open file description.
 * Ranges are inclusive; INT64_MAX as end means "to the end of the file and beyond".
 */
#define FM_LOCK_FLOCK FM_LOCK_FLOCK_KEY

static NTSTATUS lock_wait_cancelled(PFLT_CALLBACK_DATA data)
{
	struct fm_irp *irp = fm_irp_from_data(data);

	return irp && irp->cancel_check && irp->cancel_check(irp->cancel_arg) ? STATUS_CANCELLED
									      : STATUS_SUCCESS;
}

static struct lk_range *lk_conflict(struct fm_stream *s, ULONG key, int64_t start, int64_t end,
				    bool excl)
{
	struct lk_range *r, *first = NULL;

	/* The one that starts first, as the kernel's per-owner sorted list gives it to F_GETLK. */
	for (r = s->locks; r; r = r->next)
		if (r->key != key && r->start <= end && start <= r->end && (excl || r->excl) &&
		    (!first || r->start < first->start))
			first = r;
	return first;
}

/* Remove [start, end] from the owner's ranges; `spare` is used if a range must split. */
static void lk_subtract(struct fm_stream *s, ULONG key, int64_t start, int64_t end,
			struct lk_range **spare)
{
	struct lk_range **pp = &s->locks, *r;

	while ((r = *pp)) {
		if (r->key != key || r->end < start || end < r->start) {
			pp = &r->next;
			continue;
		}
		if (start <= r->start && r->end <= end) {
			*pp = r->next;
			fm_free(r);
			continue;
		}
		if (r->start < start && end < r->end && *spare) {
			struct lk_range *t = *spare;

			*spare = NULL;
			*t = *r;
			t->start = end + 1;
			r->end = start - 1;
			t->next = r->next;
			r->next = t;
			pp = &t->next;
			continue;
		}
		if (r->start < start)
			r->end = start - 1;
		else
			r->start = end + 1;
		pp = &r->next;
	}
}

static NTSTATUS lk_add(struct fm_stream *s, ULONG key, uint32_t pid, int64_t start, int64_t end,
		       bool excl)
{
	struct lk_range *n = fm_calloc(1, sizeof(*n)), *spare = fm_calloc(1, sizeof(*spare));
	struct lk_range **pp, *r;

	if (!n || !spare) {
		fm_free(n);
		fm_free(spare);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	lk_subtract(s, key, start, end, &spare);
	fm_free(spare);
	/* Merge with the owner's touching ranges of the same kind, as the kernel does. */
	for (pp = &s->locks; (r = *pp);) {
		if (r->key == key && r->excl == excl &&
		    (r->end == INT64_MAX || r->end + 1 >= start) &&
		    (end == INT64_MAX || r->start <= end + 1)) {
			if (r->start < start)
				start = r->start;
			if (r->end > end)
				end = r->end;
			*pp = r->next;
			fm_free(r);
			continue;
		}
		pp = &r->next;
	}
	n->key = key;
	n->pid = pid;
	n->start = start;
	n->end = end;
	n->excl = excl;
	n->next = s->locks;
	s->locks = n;
	return STATUS_SUCCESS;
}

static NTSTATUS irp_lock(struct fm_lower *lw, PFLT_CALLBACK_DATA data)
{
	PFLT_IO_PARAMETER_BLOCK iopb = data->Iopb;
	PFILE_OBJECT fo = iopb->TargetFileObject;
	struct fm_handle *h = handle_of(fo);
	struct fm_stream *s = fo ? fo->FsContext : NULL;
	ULONG key = iopb->Parameters.LockControl.Key;
	bool excl = iopb->Parameters.LockControl.ExclusiveLock;
	bool now = iopb->Parameters.LockControl.FailImmediately;
	const struct fm_requestor *who = fm_irp_requestor(data);
	int64_t start = iopb->Parameters.LockControl.ByteOffset.QuadPart, end;
	uint64_t len;
	NTSTATUS st;

	if (!h || !s)
		return complete(data, STATUS_INVALID_PARAMETER, 0);
	if (key & FM_LOCK_FLOCK) {
		int op = iopb->MinorFunction == IRP_MN_LOCK ? (excl ? LOCK_EX : LOCK_SH) : LOCK_UN;

		for (;;) {
			if (flock(h->fd, op | (op == LOCK_UN ? 0 : LOCK_NB)) == 0)
				return complete(data, STATUS_SUCCESS, 0);
			if (errno != EWOULDBLOCK)
				return fail_errno(data, -errno);
			if (now)
				return complete(data, STATUS_LOCK_NOT_GRANTED, 0);
			if (lock_wait_cancelled(data) != STATUS_SUCCESS)
				return complete(data, STATUS_CANCELLED, 0);
			usleep(10000);
		}
	}
	if (iopb->MinorFunction == IRP_MN_UNLOCK_ALL ||
	    iopb->MinorFunction == IRP_MN_UNLOCK_ALL_BY_KEY) {
		pthread_mutex_lock(&lw->lklock);
		lk_subtract(s, key, 0, INT64_MAX, &(struct lk_range *){NULL});
		pthread_cond_broadcast(&lw->lkcond);
		pthread_mutex_unlock(&lw->lklock);
		return complete(data, STATUS_SUCCESS, 0);
	}
	if (!iopb->Parameters.LockControl.Length || start < 0)
		return complete(data, STATUS_INVALID_PARAMETER, 0);
	/* A length of 2^63 or more (all ones: "everything") reaches the end of any file. */
	len = (uint64_t)iopb->Parameters.LockControl.Length->QuadPart;
	if (!len)
		return complete(data, STATUS_INVALID_PARAMETER, 0);
	end = len > (uint64_t)(INT64_MAX - start) ? INT64_MAX : start + (int64_t)len - 1;
	pthread_mutex_lock(&lw->lklock);
	if (iopb->MinorFunction == IRP_MN_UNLOCK_SINGLE) {
		struct lk_range *spare = fm_calloc(1, sizeof(*spare));

		/* POSIX: unlocking what is not locked is no error (NT would say
		 * STATUS_RANGE_NOT_LOCKED). */
		lk_subtract(s, key, start, end, &spare);
		fm_free(spare);
		pthread_cond_broadcast(&lw->lkcond);
		pthread_mutex_unlock(&lw->lklock);
		return complete(data, STATUS_SUCCESS, 0);
	}
	if (iopb->MinorFunction != IRP_MN_LOCK) {
		pthread_mutex_unlock(&lw->lklock);
		return complete(data, STATUS_INVALID_DEVICE_REQUEST, 0);
	}
	while (lk_conflict(s, key, start, end, excl)) {
		struct timespec ts;

		if (now || lock_wait_cancelled(data) != STATUS_SUCCESS) {
			pthread_mutex_unlock(&lw->lklock);
			return complete(data, now ? STATUS_LOCK_NOT_GRANTED : STATUS_CANCELLED, 0);
		}
		/* Wake up now and then to notice an interrupted waiter. */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&lw->lkcond, &lw->lklock, &ts);
	}
	st = lk_add(s, key, who ? who->pid : 0, start, end, excl);
	pthread_mutex_unlock(&lw->lklock);
	return complete(data, st, 0);
}

int fm_lower_getlk(PFILE_OBJECT fo, uint32_t key, struct flock *fl)
{
	struct fm_handle *h = handle_of(fo);
	struct fm_stream *s = fo ? fo->FsContext : NULL;
	int64_t start = fl->l_start, end;
	struct lk_range *r;

	if (!h || !s || start < 0)
		return -EINVAL;
	end = fl->l_len == 0 || fl->l_len > INT64_MAX - start ? INT64_MAX : start + fl->l_len - 1;
	pthread_mutex_lock(&h->lw->lklock);
	r = lk_conflict(s, key, start, end, fl->l_type == F_WRLCK);
	if (r) {
		fl->l_type = r->excl ? F_WRLCK : F_RDLCK;
		fl->l_start = r->start;
		fl->l_len = r->end == INT64_MAX ? 0 : r->end - r->start + 1;
		fl->l_pid = (pid_t)r->pid;
	} else {
		fl->l_type = F_UNLCK;
	}
	pthread_mutex_unlock(&h->lw->lklock);
	return 0;
}

bool fm_lower_has_locks(PFILE_OBJECT fo, uint32_t key)
{
	struct fm_handle *h = handle_of(fo);
	struct fm_stream *s = fo ? fo->FsContext : NULL;
	struct lk_range *r;
	bool any = false;

	if (!h || !s)
		return false;
	pthread_mutex_lock(&h->lw->lklock);
	for (r = s->locks; r && !any; r = r->next)
		any = r->key == key;
	pthread_mutex_unlock(&h->lw->lklock);
	return any;
}

/*
 * IRP_MJ_QUERY_OPEN: a stat by name with no open, for lookups and stats without a handle.
 * FileStatLxInformation and FileNetworkOpenInformation are answered.
 */
static NTSTATUS irp_query_open(struct fm_lower *lw, PFLT_CALLBACK_DATA data)
{
	PFLT_PARAMETERS p = &data->Iopb->Parameters;
	PFILE_OBJECT fo = data->Iopb->TargetFileObject;
	FILE_INFORMATION_CLASS cls = p->QueryOpen.FileInformationClass;
	size_t need = cls == FileStatLxInformation ? sizeof(FILE_STAT_LX_INFORMATION)
						   : sizeof(FILE_NETWORK_OPEN_INFORMATION);
	char path[PATH_MAX];
	struct file_facts f;
	struct stat st;
	int r;

	if (!fo || !p->QueryOpen.FileInformation || !p->QueryOpen.Length ||
	    (cls != FileStatLxInformation && cls != FileNetworkOpenInformation))
		return complete(data, STATUS_INVALID_PARAMETER, 0);
	if (*p->QueryOpen.Length < need)
		return complete(data, STATUS_INFO_LENGTH_MISMATCH, 0);
	r = create_path(lw, fo, path, sizeof(path));
	if (r < 0)
		return r == -EINVAL ? complete(data, STATUS_OBJECT_NAME_INVALID, 0)
				    : fail_errno(data, -r);
	r = stat_by_name(lw, path, &st);
	if (r < 0)
		return fail_errno(data, -r);
	facts_of(&st, &f);
	if (cls == FileStatLxInformation) {
		fill_stat_lx(p->QueryOpen.FileInformation, need, &f, &st, 0, true);
	} else {
		FILE_NETWORK_OPEN_INFORMATION *b = p->QueryOpen.FileInformation;

		memset(b, 0, sizeof(*b));
		b->CreationTime = f.creation;
		b->LastAccessTime = f.access;
		b->LastWriteTime = f.write;
		b->ChangeTime = f.change;
		b->AllocationSize = f.alloc;
		b->EndOfFile = f.eof;
		b->FileAttributes = f.attributes;
	}
	*p->QueryOpen.Length = (ULONG)need;
	return complete(data, STATUS_SUCCESS, need);
}

/* ---- security: IRP_MJ_QUERY_SECURITY / IRP_MJ_SET_SECURITY, IRP_MJ_SET_VOLUME_INFORMATION ---- */

/*
 * The descriptor of a file is its owner, group and mode (src/common/secdesc.h).  A query that
 * does not fit returns STATUS_BUFFER_OVERFLOW with the length it needs in Information (as
 * NTFS does; the I/O routines report STATUS_BUFFER_TOO_SMALL).
 */
static NTSTATUS irp_query_security(PFLT_CALLBACK_DATA data)
{
	PFLT_PARAMETERS p = &data->Iopb->Parameters;
	struct fm_handle *h = handle_of(data->Iopb->TargetFileObject);
	void *out = io_buffer(p->QuerySecurity.SecurityBuffer, p->QuerySecurity.MdlAddress);
	struct stat st;
	ULONG need;

	if (!h)
		return complete(data, STATUS_INVALID_PARAMETER, 0);
	if (fstat(h->fd, &st) < 0)
		return fail_errno(data, -errno);
	need = fm_sd_build(st.st_uid, st.st_gid, st.st_mode, p->QuerySecurity.SecurityInformation,
			   NULL, 0);
	if (!out || p->QuerySecurity.Length < need)
		return complete(data, STATUS_BUFFER_OVERFLOW, need);
	fm_sd_build(st.st_uid, st.st_gid, st.st_mode, p->QuerySecurity.SecurityInformation, out,
		    p->QuerySecurity.Length);
	return complete(data, STATUS_SUCCESS, need);
}

/* Owner and group become chown, the DACL the rwx bits (setuid/setgid/sticky are kept). */
static NTSTATUS irp_set_security(PFLT_CALLBACK_DATA data)
{
	PFLT_PARAMETERS p = &data->Iopb->Parameters;
	struct fm_handle *h = handle_of(data->Iopb->TargetFileObject);
	struct xattr_target t;
	struct fm_sd_posix px;
	struct stat st;
	NTSTATUS nst;
	int r;

	if (!h)
		return complete(data, STATUS_INVALID_PARAMETER, 0);
	if (fstat(h->fd, &st) < 0)
		return fail_errno(data, -errno);
	nst = fm_sd_parse(p->SetSecurity.SecurityDescriptor, 0, p->SetSecurity.SecurityInformation,
			  st.st_uid, st.st_gid, &px);
	if (nst != STATUS_SUCCESS)
		return complete(data, nst, 0);
	r = xattr_target(h, &t);
	if (r < 0)
		return fail_errno(data, r);
	if (px.has_mode && !t.link &&
	    fchmodat(AT_FDCWD, t.path, (st.st_mode & 07000) | (px.mode & 0777), 0) < 0)
		return fail_errno(data, -errno);
	if ((px.has_uid || px.has_gid) &&
	    fchownat(h->fd, "", px.has_uid ? px.uid : (uid_t)-1, px.has_gid ? px.gid : (gid_t)-1,
		     AT_EMPTY_PATH) < 0)
		return fail_errno(data, -errno);
	return complete(data, STATUS_SUCCESS, 0);
}

/* A directory tree has no label or quota settings to change. */
static NTSTATUS irp_set_volume(PFLT_CALLBACK_DATA data)
{
	switch (data->Iopb->Parameters.SetVolumeInformation.FsInformationClass) {
	case FileFsLabelInformation:
	case FileFsControlInformation:
	case FileFsObjectIdInformation:
		return complete(data, STATUS_NOT_SUPPORTED, 0);
	default:
		return complete(data, STATUS_INVALID_INFO_CLASS, 0);
	}
}

/* ---- the ops table ---------------------------------------------------------------------------- */

static NTSTATUS lower_dispatch(struct fm_volume *vol, PFLT_CALLBACK_DATA data)
{
	struct fm_lower *lw = fm_volume_lower_ctx(vol);

	note_errno(data, 0, 0);
	switch (data->Iopb->MajorFunction) {
	case IRP_MJ_CREATE:
		return irp_create(lw, data);
	case IRP_MJ_READ:
		return irp_read(data);
	case IRP_MJ_WRITE:
		return irp_write(data);
	case IRP_MJ_QUERY_INFORMATION:
		return irp_query_info(lw, data);
	case IRP_MJ_SET_INFORMATION:
		return irp_set_info(lw, data);
	case IRP_MJ_DIRECTORY_CONTROL:
		if (data->Iopb->MinorFunction != IRP_MN_QUERY_DIRECTORY)
			return complete(data, STATUS_INVALID_DEVICE_REQUEST, 0);
		return irp_query_dir(lw, data);
	case IRP_MJ_CLEANUP:
		return irp_cleanup(lw, data);
	case IRP_MJ_CLOSE:
		return irp_close(lw, data);
	case IRP_MJ_FLUSH_BUFFERS:
		return irp_flush(data);
	case IRP_MJ_QUERY_VOLUME_INFORMATION:
		return irp_query_volume(lw, data);
	case IRP_MJ_SET_EA:
		return irp_set_ea(data);
	case IRP_MJ_QUERY_EA:
		return irp_query_ea(data);
	case IRP_MJ_FILE_SYSTEM_CONTROL:
		return irp_fsctl(lw, data);
	case IRP_MJ_LOCK_CONTROL:
		return irp_lock(lw, data);
	case IRP_MJ_QUERY_OPEN:
		return irp_query_open(lw, data);
	case IRP_MJ_QUERY_SECURITY:
		return irp_query_security(data);
	case IRP_MJ_SET_SECURITY:
		return irp_set_security(data);
	case IRP_MJ_SET_VOLUME_INFORMATION:
		return irp_set_volume(data);
	default:
		return complete(data, STATUS_INVALID_DEVICE_REQUEST, 0);
	}
}

static int lower_stream_path(struct fm_volume *vol, void *fs_context, char *buf, size_t cap)
{
	struct fm_lower *lw = fm_volume_lower_ctx(vol);

	if (!fs_context)
		return -EINVAL;
	return fm_lower_stream_path(lw, fs_context, buf, cap);
}

static int lower_stream_is_dir(struct fm_volume *vol, void *fs_context)
{
	(void)vol;
	return fs_context && S_ISDIR(((struct fm_stream *)fs_context)->type);
}

const struct fm_lower_ops fm_lowerfs_ops = {
    .dispatch = lower_dispatch,
    .stream_path = lower_stream_path,
    .stream_is_dir = lower_stream_is_dir,
};
