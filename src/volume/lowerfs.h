/* The lower file system: the backing directory served as an NT file system (private to src/volume). */
#ifndef FM_VOLUME_LOWERFS_H
#define FM_VOLUME_LOWERFS_H

#include "core/core.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

/*
 * A lower is the state of one volume's backing directory: the root descriptor (O_PATH of the
 * backing directory, opened before anything is mounted over it) and the stream table.  A
 * stream is one backing inode; it is what FILE_OBJECT->FsContext points to and its address is
 * the FUSE nodeid (the root stream is nodeid 1).  A stream knows its parent stream and its
 * name in it, so its current path follows renames.  No descriptor is kept per stream: files
 * are reached by path from the root descriptor with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS), and descriptors exist only per open handle (FsContext2).
 *
 * Every function here returns 0 / -errno unless it says otherwise, and may be called from any
 * thread.  Functions that create something take the requestor whose fsuid/fsgid/groups the
 * creation runs with (NULL: as the daemon, root).
 */

struct fm_lower;
struct fm_stream;

/* The table the core calls (dispatch, stream_path, stream_is_dir); lower_ctx is the fm_lower. */
extern const struct fm_lower_ops fm_lowerfs_ops;

/* Take ownership of `root_fd` (an O_PATH|O_DIRECTORY descriptor) and build a lower on it. */
int fm_lower_create(int root_fd, struct fm_lower **out);
/* Free the lower, its streams and close the root descriptor.  No handle may remain in use. */
void fm_lower_destroy(struct fm_lower *lw);
/*
 * The calling thread serves one volume's requests until it exits: it may keep the descriptor
 * of the last directory it looked a name up in (lowerfs.c, "kept directory").
 */
void fm_lower_thread_keep_dirs(struct fm_lower *lw);

/*
 * The core volume this lower serves (for fm_volume_stream_gone): set right after creating it,
 * and back to NULL before destroying it.
 */
void fm_lower_set_volume(struct fm_lower *lw, struct fm_volume *vol);

/* The file system name FileFsAttributeInformation reports ("NTFS"); copied. */
int fm_lower_set_fs_name(struct fm_lower *lw, const char *name);

/* The root stream (never freed while the lower lives; no reference taken). */
struct fm_stream *fm_lower_root(struct fm_lower *lw);

/* Stream references: every get (or lookup) is paired with one put. */
void fm_stream_get(struct fm_lower *lw, struct fm_stream *s);
void fm_stream_put(struct fm_lower *lw, struct fm_stream *s);

/*
 * FUSE lookup accounting.  fm_lower_lookup finds `name` in directory stream `parent`
 * (fstatat, not following a final symlink), returns its stream with its lookup count raised
 * by one and fills *st.  fm_lower_forget lowers the lookup count by n; the stream goes away
 * when neither lookups nor handles nor children hold it.  fm_lower_remember raises the lookup
 * count of a stream the caller holds a reference on (for entries replied after create/link).
 */
int fm_lower_lookup(struct fm_lower *lw, struct fm_stream *parent, const char *name,
		    struct fm_stream **out, struct stat *st);
void fm_lower_forget(struct fm_lower *lw, struct fm_stream *s, uint64_t n);
void fm_lower_remember(struct fm_lower *lw, struct fm_stream *s);

/* The current volume-relative path of a stream ("" for the root); length or -errno. */
int fm_lower_stream_path(struct fm_lower *lw, struct fm_stream *s, char *buf, size_t cap);

/* stat of a stream by its path (no handle). */
int fm_lower_getattr(struct fm_lower *lw, struct fm_stream *s, struct stat *st);

/* Metadata by path of a stream. */
int fm_lower_chmod(struct fm_lower *lw, struct fm_stream *s, mode_t mode);
int fm_lower_chown(struct fm_lower *lw, struct fm_stream *s, uid_t uid, gid_t gid);
int fm_lower_readlink(struct fm_lower *lw, struct fm_stream *s, char *buf, size_t cap);

/*
 * Create an entry `name` in directory stream `parent` as the requestor: a symbolic link to
 * `target`, or a special/regular file (mknod).  On success the new stream is returned with a
 * reference and one lookup count, and *st filled.
 */
int fm_lower_symlink(struct fm_lower *lw, const struct fm_requestor *who, struct fm_stream *parent,
		     const char *name, const char *target, struct fm_stream **out, struct stat *st);
int fm_lower_mknod(struct fm_lower *lw, const struct fm_requestor *who, struct fm_stream *parent,
		   const char *name, mode_t mode, dev_t rdev, struct fm_stream **out,
		   struct stat *st);
/* Hard link of stream `s` as `name` in `parent` (used when not going through the IRP path). */
int fm_lower_link(struct fm_lower *lw, const struct fm_requestor *who, struct fm_stream *s,
		  struct fm_stream *parent, const char *name, struct fm_stream **out,
		  struct stat *st);
/*
 * FILE_RENAME_INFORMATION_EX.Flags bit (not one Windows defines; docs/mapping.md): exchange the
 * source and the existing target atomically (renameat2 RENAME_EXCHANGE). Both must exist;
 * FILE_RENAME_REPLACE_IF_EXISTS is ignored with it.
 */
#define FM_RENAME_EXCHANGE 0x80000000u

/*
 * A number that changes with every rename done through this lower, FM_RENAME_GEN_BUSY while
 * one is in progress: a path built from the stream table before a rename may be stale after
 * it (the front-end retries an open that failed with ENOENT when the number moved).
 */
#define FM_RENAME_GEN_BUSY (~0UL)
unsigned long fm_lower_rename_gen(struct fm_lower *lw);

/* Extended attributes by path of a stream.  get/list return the size (size 0: the size needed). */
int fm_lower_setxattr(struct fm_lower *lw, struct fm_stream *s, const char *name, const void *value,
		      size_t size, int flags);
long fm_lower_getxattr(struct fm_lower *lw, struct fm_stream *s, const char *name, void *value,
		       size_t size);
long fm_lower_listxattr(struct fm_lower *lw, struct fm_stream *s, char *list, size_t size);
int fm_lower_removexattr(struct fm_lower *lw, struct fm_stream *s, const char *name);

/* statvfs of the backing file system. */
int fm_lower_statfs(struct fm_lower *lw, struct statvfs *st);

/*
 * The descriptor of an open handle (FILE_OBJECT created by IRP_MJ_CREATE on this lower), or
 * -EBADF when the handle has none usable (O_PATH opens).  Valid until IRP_MJ_CLOSE.
 */
int fm_lower_handle_fd(PFILE_OBJECT fo);
/* fstat of an open handle (works on every handle, O_PATH ones included). */
int fm_lower_handle_stat(PFILE_OBJECT fo, struct stat *st);
/* Stream of an open FILE_OBJECT (its FsContext). */
struct fm_stream *fm_lower_handle_stream(PFILE_OBJECT fo);

/*
 * POSIX locks (IRP_MJ_LOCK_CONTROL keeps them per stream and owner key): the first lock of
 * another owner that conflicts with *fl (F_GETLK semantics: fl is rewritten, F_UNLCK when
 * none), and whether owner `key` holds any lock on the file.  Key bit 31 marks flock locks.
 */
#define FM_LOCK_FLOCK_KEY 0x80000000u
int fm_lower_getlk(PFILE_OBJECT fo, uint32_t key, struct flock *fl);
bool fm_lower_has_locks(PFILE_OBJECT fo, uint32_t key);

/* Inode number and file type of a stream (for replies). */
uint64_t fm_stream_ino(const struct fm_stream *s);

/*
 * How the kernel caches an open handle's data (the front-end's open replies).  Every
 * passthrough open of one inode must name the same backing id, registered once from the first
 * such handle's descriptor with `reg` (fm_fuse_backing_open); and the kernel refuses to mix
 * passthrough and page-cache opens of one inode.  Returns the backing id (> 0) the open must
 * carry: always when the stream already has passthrough opens, else if `want`, the stream has
 * no page-cache open and `reg` succeeded.  Otherwise FM_OPEN_CACHED when `cached` (the open
 * uses the page cache; counted), else FM_OPEN_DIRECT (also when `reg` failed).  The handle gives back what it got with fm_lower_open_mode_release at
 * its release; the last passthrough open closes the id with `unreg`.
 */
enum { FM_OPEN_DIRECT = 0, FM_OPEN_CACHED = -1000 };
int fm_lower_open_mode(struct fm_lower *lw, PFILE_OBJECT fo, bool want, bool cached,
		       int (*reg)(void *arg, int fd), void *arg);
void fm_lower_open_mode_release(struct fm_lower *lw, PFILE_OBJECT fo, int mode,
				int (*unreg)(void *arg, int id), void *arg);

/*
 * The errno behind the status the lower set on `data` (an fm_irp's callback data), when it came
 * from a system call and the status is still `status` (filters did not change it); 0
 * otherwise.  Lets the front-end answer the exact errno (ELOOP, EXDEV, ...) the table would
 * blur.  Kept in the fm_irp, so it does not matter which thread ran the lower.
 */
int fm_lower_last_errno(PFLT_CALLBACK_DATA data, NTSTATUS status);

#endif
