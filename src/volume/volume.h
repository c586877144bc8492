/* A filtered volume: a FUSE mount of a backing directory, wired to the filter manager core. */
#ifndef FM_VOLUME_VOLUME_H
#define FM_VOLUME_VOLUME_H

#include <fltKernel.h>

#include <stdbool.h>

struct fm_vol;
struct fm_volume;

/* How a volume's file data is cached (docs/volume.md, "Cache policy"). */
enum fm_cache_policy {
	/* Kernel passthrough for files opened while no instance is registered for
	 * IRP_MJ_READ / IRP_MJ_WRITE (when the kernel allows it); otherwise direct I/O: every
	 * read and write reaches the filters as non-paging I/O. */
	FM_CACHE_AUTO = 0,
	/* Every read and write reaches the filters as non-paging I/O, filtered or not. */
	FM_CACHE_DIRECT,
	/* The kernel's write-back page cache for every file (no passthrough): the reads it
	 * cannot serve and the writes it writes back reach the filters as paging I/O
	 * (IRP_PAGING_IO | IRP_NOCACHE).  Without FUSE_WRITEBACK_CACHE: as auto, but filtered
	 * files use the page cache for reads and write through. */
	FM_CACHE_CACHED,
};

/* How the volume talks to the kernel (docs/volume.md, "Threads"). */
enum fm_transport {
	FM_TRANSPORT_DEV = 0, /* worker threads reading /dev/fuse */
	/* FUSE over io_uring, one ring thread per CPU, when the kernel offers it (its module
	 * parameter fuse.enable_uring, read at mount); otherwise /dev/fuse. */
	FM_TRANSPORT_URING,
};

struct fm_vol_options {
	FLT_FILESYSTEM_TYPE fs_type; /* reported to filters; 0 means FLT_FSTYPE_NTFS */
	unsigned int nthreads;	     /* FUSE worker threads; 0 = default */
	size_t fiber_stack;	     /* stack of the fibers requests run on; 0 = 256 KiB */
	enum fm_cache_policy cache;
	enum fm_transport transport;
};

/*
 * Mount `backing_dir` (must be an existing directory) at `mount_point` (NULL: over the backing
 * directory itself, which is opened first so the volume still reaches it).  Creates the core
 * volume (fm_volume_create), so running filters attach before this returns.  Returns 0 or
 * -errno: -ENOENT / -ENOTDIR bad backing dir or mount point, -EBUSY mount point already
 * carries a volume of ours (or any FUSE mount), -EPERM not root.  *out owns the volume.
 */
int fm_vol_mount(const char *backing_dir, const char *mount_point,
		 const struct fm_vol_options *opts, struct fm_vol **out);

/*
 * Tear down instances (dismount), unmount (lazily if processes still use it), stop the FUSE
 * workers and free everything.
 */
void fm_vol_unmount(struct fm_vol *v);

struct fm_volume *fm_vol_core(struct fm_vol *v);
const char *fm_vol_mount_point(const struct fm_vol *v);
const char *fm_vol_backing_dir(const struct fm_vol *v);

/* "auto"/"direct"/"cached" from a name; -EINVAL for another. */
int fm_vol_cache_policy_parse(const char *name, enum fm_cache_policy *out);
/*
 * The volume's cache policy and its state now, for `fltmc volumes`: "auto, passthrough on
 * (N open)", "auto, passthrough off (filtered)", "auto, passthrough unavailable", "direct",
 * "cached, ...".
 */
void fm_vol_cache_describe(const struct fm_vol *v, char *buf, size_t cap);

/* "dev"/"uring" from a name; -EINVAL for another. */
int fm_vol_transport_parse(const char *name, enum fm_transport *out);
/* The transport actually in use: "io_uring (2 queues)", "/dev/fuse", ... (fltmc volumes). */
void fm_vol_transport_describe(const struct fm_vol *v, char *buf, size_t cap);

#endif
