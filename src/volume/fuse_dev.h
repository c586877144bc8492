/* FUSE transport: speaks the kernel's /dev/fuse protocol; the one place that knows the wire format. */
#ifndef FM_VOLUME_FUSE_DEV_H
#define FM_VOLUME_FUSE_DEV_H

#include <fcntl.h> /* struct flock */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

/*
 * A session is one mounted FUSE file system served by a pool of worker threads, each reading
 * requests from its own clone of the /dev/fuse descriptor (FUSE_DEV_IOC_CLONE) into a buffer it
 * reuses.  Every request is decoded and handed to one callback of struct fm_fuse_ops together
 * with a struct fm_fuse_req; the callback (or whoever it hands the request to) must answer it
 * exactly once with one of the fm_fuse_reply_* functions.  A second reply, or a callback that
 * returns without answering or holding its request, is a bug: it is logged, the second reply
 * is ignored, and an unanswered request is answered EIO so the caller never hangs.
 * fm_fuse_session_inflight() counts requests not answered yet.
 *
 * All errors inside this layer are 0 / -errno.  Reply functions take positive errno values, as
 * the kernel protocol does (fm_fuse_reply_err(req, ENOENT)).
 */

struct fm_fuse_session;
struct fm_fuse_req;

/* Who sent a request, as the kernel reports it. */
struct fm_fuse_ctx {
	uint32_t uid;
	uint32_t gid;
	uint32_t pid;
	/*
	 * Only meaningful for create/mkdir/mknod, and informational: FUSE_DONT_MASK is not
	 * negotiated, so the kernel has already applied it to the mode the callback receives.
	 */
	uint32_t umask;
};

/* What a lookup-like reply tells the kernel about one inode. */
struct fm_fuse_entry {
	uint64_t nodeid;
	uint64_t generation;
	struct stat attr;
	double entry_timeout; /* seconds */
	double attr_timeout;  /* seconds */
};

/* What an open/create reply tells the kernel about one open handle. */
struct fm_fuse_open {
	uint64_t fh;
	bool direct_io;	 /* FOPEN_DIRECT_IO: every read/write reaches us, no page cache */
	bool keep_cache; /* FOPEN_KEEP_CACHE */
	bool nonseekable;
	bool parallel_direct_writes;
	int32_t
	    backing_id; /* > 0: FOPEN_PASSTHROUGH to this backing file (see fm_fuse_backing_open) */
};

/*
 * Bits of fm_fuse_ops.setattr's to_set, one per field the kernel asked to change.  A time set
 * to "now" arrives as FM_SET_ATIME | FM_SET_ATIME_NOW (same for mtime): test _NOW first.
 */
enum {
	FM_SET_MODE = 1 << 0,
	FM_SET_UID = 1 << 1,
	FM_SET_GID = 1 << 2,
	FM_SET_SIZE = 1 << 3,
	FM_SET_ATIME = 1 << 4,
	FM_SET_MTIME = 1 << 5,
	FM_SET_ATIME_NOW = 1 << 6,
	FM_SET_MTIME_NOW = 1 << 7,
	FM_SET_CTIME = 1 << 8,
	FM_SET_KILL_SUIDGID = 1 << 9,
};

/*
 * What the kernel offered and what was agreed at FUSE_INIT.  init() may change want_flags
 * (only bits in kernel_flags are kept), lower max_write, and clear passthrough by clearing
 * FUSE_PASSTHROUGH in want_flags (setting FUSE_WRITEBACK_CACHE also excludes passthrough).
 * By default we want: ASYNC_READ, PARALLEL_DIROPS, BIG_WRITES, ATOMIC_O_TRUNC, MAX_PAGES,
 * CACHE_SYMLINKS, HANDLE_KILLPRIV(_V2) (see fm_fuse_req_kill_suidgid), SETXATTR_EXT, INIT_EXT;
 * DO_READDIRPLUS + READDIRPLUS_AUTO when ops->readdirplus is set; POSIX_LOCKS + FLOCK_LOCKS
 * when ops->setlk is set; PASSTHROUGH when options ask for it and the kernel offers it.
 */
struct fm_fuse_conn {
	uint32_t proto_major;
	uint32_t proto_minor;
	uint64_t kernel_flags; /* FUSE_* capability bits the kernel offered */
	uint64_t want_flags;   /* bits we will reply with; init() may clear some */
	uint32_t max_write;
	uint32_t max_readahead;
	uint32_t max_pages;
	bool passthrough;     /* kernel passthrough (protocol 7.40) negotiated */
	bool writeback_cache; /* FUSE_WRITEBACK_CACHE negotiated (set after init()) */
	uint32_t max_stack_depth;
};

/*
 * The volume's operations.  Any member may be NULL: the transport then answers ENOSYS (or, for
 * forget, nothing).  `ud` is the userdata given to fm_fuse_mount.  Names are NUL-terminated
 * bytes exactly as the kernel sent them.  Buffers passed in (names, write data, xattr values)
 * are valid only until the callback returns; a callback that answers later must copy them.
 */
struct fm_fuse_ops {
	void (*init)(void *ud, struct fm_fuse_conn *conn);
	void (*destroy)(void *ud);
	void (*lookup)(struct fm_fuse_req *req, uint64_t parent, const char *name);
	/* No reply.  BATCH_FORGET calls this once per entry. */
	void (*forget)(void *ud, uint64_t nodeid, uint64_t nlookup);
	void (*getattr)(struct fm_fuse_req *req, uint64_t nodeid, const uint64_t *fh);
	void (*setattr)(struct fm_fuse_req *req, uint64_t nodeid, const struct stat *attr,
			int to_set, const uint64_t *fh);
	void (*readlink)(struct fm_fuse_req *req, uint64_t nodeid);
	void (*mknod)(struct fm_fuse_req *req, uint64_t parent, const char *name, mode_t mode,
		      dev_t rdev);
	void (*mkdir)(struct fm_fuse_req *req, uint64_t parent, const char *name, mode_t mode);
	void (*unlink)(struct fm_fuse_req *req, uint64_t parent, const char *name);
	void (*rmdir)(struct fm_fuse_req *req, uint64_t parent, const char *name);
	void (*symlink)(struct fm_fuse_req *req, const char *target, uint64_t parent,
			const char *name);
	/* flags: RENAME_NOREPLACE / RENAME_EXCHANGE / RENAME_WHITEOUT as renameat2(2). */
	void (*rename)(struct fm_fuse_req *req, uint64_t parent, const char *name,
		       uint64_t newparent, const char *newname, unsigned int flags);
	void (*link)(struct fm_fuse_req *req, uint64_t nodeid, uint64_t newparent,
		     const char *newname);
	void (*open)(struct fm_fuse_req *req, uint64_t nodeid, int flags);
	void (*read)(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, size_t size, off_t off,
		     int flags);
	void (*write)(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, const void *buf,
		      size_t size, off_t off, int flags);
	void (*flush)(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, uint64_t lock_owner);
	void (*release)(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, int flags);
	void (*fsync)(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, bool datasync);
	void (*opendir)(struct fm_fuse_req *req, uint64_t nodeid, int flags);
	/* Answer with fm_fuse_reply_buf() of entries packed by fm_fuse_add_direntry[_plus](). */
	void (*readdir)(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, size_t size,
			off_t off);
	void (*readdirplus)(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, size_t size,
			    off_t off);
	void (*releasedir)(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh);
	void (*fsyncdir)(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, bool datasync);
	void (*statfs)(struct fm_fuse_req *req, uint64_t nodeid);
	void (*setxattr)(struct fm_fuse_req *req, uint64_t nodeid, const char *name,
			 const void *value, size_t size, int flags);
	/* size 0: answer fm_fuse_reply_xattr(size needed); else fm_fuse_reply_buf or ERANGE. */
	void (*getxattr)(struct fm_fuse_req *req, uint64_t nodeid, const char *name, size_t size);
	void (*listxattr)(struct fm_fuse_req *req, uint64_t nodeid, size_t size);
	void (*removexattr)(struct fm_fuse_req *req, uint64_t nodeid, const char *name);
	void (*access)(struct fm_fuse_req *req, uint64_t nodeid, int mask);
	void (*create)(struct fm_fuse_req *req, uint64_t parent, const char *name, mode_t mode,
		       int flags);
	void (*getlk)(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, uint64_t owner,
		      const struct flock *lock);
	/* flock(2) locks arrive here with `is_flock` set (FUSE_LK_FLOCK). */
	void (*setlk)(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, uint64_t owner,
		      const struct flock *lock, bool sleep, bool is_flock);
	void (*fallocate)(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, int mode,
			  off_t offset, off_t length);
	void (*lseek)(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, off_t off, int whence);
	void (*copy_file_range)(struct fm_fuse_req *req, uint64_t nodeid_in, uint64_t fh_in,
				off_t off_in, uint64_t nodeid_out, uint64_t fh_out, off_t off_out,
				size_t len, int flags);
};

struct fm_fuse_options {
	const char *fsname;  /* shown as the mount's source in /proc/mounts */
	const char *subtype; /* type becomes "fuse.<subtype>" */
	/*
	 * Worker threads started at mount; 0 = 4.  When the last worker waiting for requests
	 * takes one, another is started (up to 16, or nthreads if more), so callbacks blocked
	 * in a filter never leave the mount without a reader.
	 */
	unsigned int nthreads;
	bool allow_other;	  /* other users may use the mount */
	bool default_permissions; /* the kernel checks mode bits */
	bool want_passthrough;	  /* negotiate FUSE_PASSTHROUGH if the kernel has it */
	/*
	 * Serve requests over io_uring (FUSE_OVER_IO_URING) when the kernel offers it: one ring
	 * thread per possible CPU, pinned to it.  /dev/fuse workers keep running for FORGET,
	 * INTERRUPT and notifications.  Not offered, or the rings cannot be set up: /dev/fuse.
	 */
	bool want_uring;
	uint32_t max_write; /* 0 = 1 MiB */
	/*
	 * Stack of the fibers requests run on (0 = 256 KiB; see fm_fuse_req_suspend): filters'
	 * callbacks, the front-end and the lower file system run on it.
	 */
	size_t fiber_stack;
};

/*
 * Mount a FUSE file system at `mountpoint` (which may be the backing directory itself: the
 * caller opens what it needs below first) and start serving it.  Returns once the kernel's
 * FUSE_INIT has been answered, so the mount is usable when this returns.  On success *out owns
 * the session; release it with fm_fuse_unmount().  Returns 0 or -errno (-ENOENT mount point
 * missing, -ENOTDIR not a directory, -EBUSY already a FUSE mount (ours or anyone's), -EPERM
 * not root, -ETIMEDOUT no FUSE_INIT within 10 s, -EPROTO kernel older than protocol 7.31).
 * The mount is "fuse.<subtype>" with nosuid,nodev; the device descriptors are O_CLOEXEC, but a
 * child forked without exec holds copies of them until it exits.
 */
int fm_fuse_mount(const char *mountpoint, const struct fm_fuse_options *opts,
		  const struct fm_fuse_ops *ops, void *ud, struct fm_fuse_session **out);

/*
 * Unmount (lazily if busy), stop the workers, call ops->destroy and free the session.
 * Workers blocked in a callback are waited for.  If processes still hold files on the
 * detached mount, the connection is aborted after a short grace period (they get ENOTCONN:
 * fail closed).  Held requests are waited for (bounded); if some are never answered the
 * session is leaked rather than freed under them, and that is logged.  Also cleans up after
 * an unmount done from outside (umount(8)), without touching whatever is now at that path.
 * Call from a thread that is not one of the session's workers.
 */
void fm_fuse_unmount(struct fm_fuse_session *s);

/* Debug counter: requests read from the kernel and not yet answered (tests check 0). */
uint64_t fm_fuse_session_inflight(struct fm_fuse_session *s);

/* The negotiated connection parameters (valid after fm_fuse_mount returned). */
const struct fm_fuse_conn *fm_fuse_session_conn(const struct fm_fuse_session *s);
/* io_uring queues serving requests (valid after fm_fuse_mount returned); 0: /dev/fuse. */
unsigned int fm_fuse_session_uring_queues(const struct fm_fuse_session *s);
/*
 * The transport in use, for people: "io_uring (2 queues)", "/dev/fuse", or "/dev/fuse
 * (io_uring not offered by the kernel)" / "(io_uring failed)" when io_uring was asked for.
 */
void fm_fuse_session_transport(const struct fm_fuse_session *s, char *buf, size_t cap);
/*
 * RELEASE requests read from the device and not yet answered.  The kernel sends RELEASE in the
 * background after a close: an open that depends on what earlier closes gave back (the kernel
 * passthrough mode of an inode) can wait for these.
 */
unsigned int fm_fuse_session_releasing(struct fm_fuse_session *s);

/*
 * Register an open descriptor as a passthrough backing file (FUSE_DEV_IOC_BACKING_OPEN); the
 * kernel keeps its own reference, so the caller may close fd afterwards.  Returns a backing id
 * > 0 for fm_fuse_open.backing_id, or -errno (-EOPNOTSUPP: passthrough was not negotiated,
 * -EPERM: not CAP_SYS_ADMIN, -ELOOP: the backing file system is stacked too deep).  Close the
 * id once no open needs it any more; files already opened with it keep working.
 */
int fm_fuse_backing_open(struct fm_fuse_session *s, int fd);
int fm_fuse_backing_close(struct fm_fuse_session *s, int backing_id);

/*
 * Ask the kernel to drop cached entries/attributes/pages.  0 or -errno (-ENOENT is normal:
 * nothing was cached).  Deadlock rule: the kernel takes the directory's (entry) or the
 * inode's (inode) lock to invalidate, and it may hold that same lock while it waits for our
 * answer to a request on it (lookup/create/unlink/rename in that directory; write, setattr,
 * read of that inode).  So never call these from a callback, synchronously, about the inode
 * or the parent directory of the request being served: answer first, or hand the
 * notification to another thread.  Safe from any thread otherwise.
 */
int fm_fuse_notify_inval_entry(struct fm_fuse_session *s, uint64_t parent, const char *name);
int fm_fuse_notify_inval_inode(struct fm_fuse_session *s, uint64_t nodeid, off_t off, off_t len);
/*
 * Notifications from a thread that may outlive the session: fm_fuse_notify_dup gives a
 * descriptor of the connection of its own (close it when done; -errno on failure), on which
 * fm_fuse_notify_inval_inode_fd sends.  With the write-back cache, invalidating an inode's
 * pages makes the kernel write its dirty ones back first (WRITE requests served meanwhile).
 */
int fm_fuse_notify_dup(struct fm_fuse_session *s);
int fm_fuse_notify_inval_inode_fd(int fd, uint64_t nodeid, off_t off, off_t len);

/* Accessors on a request. */
const struct fm_fuse_ctx *fm_fuse_req_ctx(const struct fm_fuse_req *req);
void *fm_fuse_req_userdata(const struct fm_fuse_req *req);
struct fm_fuse_session *fm_fuse_req_session(const struct fm_fuse_req *req);
uint64_t fm_fuse_req_unique(const struct fm_fuse_req *req);
/*
 * The request whose callback the calling thread (or fiber) is running (NULL outside callbacks).
 * Lets code deep below a callback ask whether its request was interrupted while it waits.
 */
struct fm_fuse_req *fm_fuse_current_req(void);

/* True once the kernel sent FUSE_INTERRUPT for this request (poll it while blocking). */
bool fm_fuse_req_interrupted(const struct fm_fuse_req *req);
/*
 * True when the kernel asks the file system to clear S_ISUID/S_ISGID itself
 * (FUSE_HANDLE_KILLPRIV_V2): a write with FUSE_WRITE_KILL_SUIDGID, an open/create with
 * FUSE_OPEN_KILL_SUIDGID (O_TRUNC), a setattr with FM_SET_KILL_SUIDGID.  A volume that does
 * its I/O with the caller's fsuid gets this from the lower file system for free.
 */
bool fm_fuse_req_kill_suidgid(const struct fm_fuse_req *req);

/*
 * True for a WRITE the kernel sends from its page cache (FUSE_WRITE_CACHE: write-back, flush,
 * fsync, reclaim, with FUSE_WRITEBACK_CACHE): no process made it, its credentials are 0, and
 * its fh is any handle of the inode open for writing.
 */
bool fm_fuse_req_cache_write(const struct fm_fuse_req *req);

/*
 * A request handed to a callback lives in its worker's or its fiber's storage.  To answer it later
 * from another thread, take ownership with fm_fuse_req_hold() (returns a heap copy, the
 * original must then not be used); the reply frees it.  Returns NULL if out of memory (the
 * request is then still the original's to answer).
 */
struct fm_fuse_req *fm_fuse_req_hold(struct fm_fuse_req *req);

/*
 * Waiting without a thread.  Every request's callback runs on a fiber of its own (unless none
 * could be had: fm_fuse_req_can_suspend() says whether this one can, from its callback).  To
 * wait for something another thread finishes, the callback calls fm_fuse_req_suspend(): the
 * worker thread goes back to reading requests, and the callback continues, on one of the
 * session's continuation threads, once fm_fuse_req_resume() was called.  The resume may come
 * from any thread (one holding its own locks too: it only queues the fiber) and at any time
 * after the callback decided to wait, even before it calls fm_fuse_req_suspend().  One resume
 * per suspend.  The request's arguments and its scratch buffer stay valid.  If the kernel
 * interrupts the request (FUSE_INTERRUPT: the process got a signal) while it is suspended,
 * or had already, cancel(arg) is called once, from the thread that read the interrupt or from
 * fm_fuse_req_suspend itself; the wait still ends only with fm_fuse_req_resume(), and no call
 * of cancel is running or will start once fm_fuse_req_suspend returns.
 */
bool fm_fuse_req_can_suspend(const struct fm_fuse_req *req);
void fm_fuse_req_suspend(struct fm_fuse_req *req, void (*cancel)(void *arg), void *arg);
void fm_fuse_req_resume(struct fm_fuse_req *req);

/*
 * A scratch buffer of at least `size` bytes owned by the worker thread, valid until this
 * request is answered; reuse it for read data and directory listings to avoid allocating per
 * request.  Only for requests not held.  NULL if size exceeds the negotiated maximum.
 */
void *fm_fuse_req_scratch(struct fm_fuse_req *req, size_t size);

/*
 * Replies: each answers the request and releases it.  Return 0 or -errno from the write
 * (-ENOENT: the request was interrupted and the kernel no longer waits for it).  A second
 * reply to a request still in its worker's storage is logged and ignored (-EINVAL); a held
 * request is freed by its reply, so replying to it again is a use after free.  A reply
 * larger than what the kernel asked for (read, readdir, xattr, readlink) is refused: the
 * request is answered EIO and -EINVAL returned.  fm_fuse_reply_write also answers
 * copy_file_range.  fm_fuse_reply_none on a request that needs a reply logs an error and
 * answers EIO.
 */
int fm_fuse_reply_err(struct fm_fuse_req *req, int err); /* err: positive errno, or 0 */
void fm_fuse_reply_none(struct fm_fuse_req *req);	 /* for requests that take no reply */
int fm_fuse_reply_entry(struct fm_fuse_req *req, const struct fm_fuse_entry *e);
int fm_fuse_reply_create(struct fm_fuse_req *req, const struct fm_fuse_entry *e,
			 const struct fm_fuse_open *o);
int fm_fuse_reply_attr(struct fm_fuse_req *req, const struct stat *attr, double timeout);
int fm_fuse_reply_readlink(struct fm_fuse_req *req, const char *target);
int fm_fuse_reply_open(struct fm_fuse_req *req, const struct fm_fuse_open *o);
int fm_fuse_reply_write(struct fm_fuse_req *req, size_t count);
int fm_fuse_reply_buf(struct fm_fuse_req *req, const void *buf, size_t size);
int fm_fuse_reply_statfs(struct fm_fuse_req *req, const struct statvfs *st);
int fm_fuse_reply_xattr(struct fm_fuse_req *req, size_t size);
int fm_fuse_reply_lock(struct fm_fuse_req *req, const struct flock *lock);
int fm_fuse_reply_lseek(struct fm_fuse_req *req, off_t off);

/*
 * Pack one directory entry into buf (capacity `cap`); returns the bytes it needs.  If that is
 * more than cap nothing is written and the caller stops.  `off` is the offset of the *next*
 * entry, as the kernel will hand back in the next readdir.
 */
size_t fm_fuse_add_direntry(char *buf, size_t cap, const char *name, uint64_t ino, mode_t mode,
			    off_t off);
size_t fm_fuse_add_direntry_plus(char *buf, size_t cap, const char *name,
				 const struct fm_fuse_entry *e, off_t off);

#endif
