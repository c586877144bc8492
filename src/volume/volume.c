/* A filtered volume: opens the backing directory, creates the core volume, mounts FUSE over it. */
#include "volume/volume.h"

#include "common/alloc.h"
#include "common/log.h"
#include "core/core.h"
#include "nt/pool.h"
#include "volume/frontend.h"
#include "volume/fuse_dev.h"
#include "volume/lowerfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define FUSE_SUPER_MAGIC 0x65735546UL

struct fm_vol {
	char *backing_dir;
	char *mount_point;
	struct fm_lower *lower;
	struct fm_fe *fe;
	struct fm_volume *core;
	struct fm_fuse_session *session;
	enum fm_cache_policy cache;
};

/* The real file system's name from statfs's f_type, for display ("fltmc volumes"). */
static const char *fs_type_name(long type)
{
	switch ((unsigned long)type) {
	case 0xEF53:
		return "ext4";
	case 0x01021994:
		return "tmpfs";
	case 0x58465342:
		return "xfs";
	case 0x9123683E:
		return "btrfs";
	case 0x794C7630:
		return "overlay";
	case 0x65735546:
		return "fuse";
	case 0x6969:
		return "nfs";
	case 0x2FC12FC1:
		return "zfs";
	case 0xF2F52010:
		return "f2fs";
	case 0x4d44:
		return "vfat";
	case 0x5346544e:
		return "ntfs";
	case 0x858458f6:
		return "ramfs";
	case 0x01021997:
		return "9p";
	default:
		return "unknown";
	}
}

static const char *fs_type_display(FLT_FILESYSTEM_TYPE t)
{
	switch (t) {
	case FLT_FSTYPE_FAT:
		return "FAT";
	case FLT_FSTYPE_REFS:
		return "ReFS";
	case FLT_FSTYPE_EXFAT:
		return "exFAT";
	case FLT_FSTYPE_CDFS:
		return "CDFS";
	case FLT_FSTYPE_UDFS:
		return "UDF";
	case FLT_FSTYPE_RAW:
		return "RAW";
	case FLT_FSTYPE_NTFS:
	default:
		return "NTFS";
	}
}

static int check_dir(const char *path)
{
	struct stat st;

	if (!path || !*path)
		return -ENOENT;
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int fm_vol_mount(const char *backing_dir, const char *mount_point,
		 const struct fm_vol_options *opts, struct fm_vol **out)
{
	struct fm_volume_params params;
	struct fm_fuse_options fopts;
	FLT_FILESYSTEM_TYPE fst = opts && opts->fs_type ? opts->fs_type : FLT_FSTYPE_NTFS;
	struct fm_vol *v;
	struct statfs sfs;
	char real_backing[PATH_MAX], real_mp[PATH_MAX];
	int r, root_fd;

	r = check_dir(backing_dir);
	if (r < 0)
		return r;
	if (mount_point) {
		r = check_dir(mount_point);
		if (r < 0)
			return r;
	}
	{
		/*
		 * A FUSE file system already there (one of our volumes, most likely) would be
		 * mounted over, and the new volume's backing directory reached through it.
		 */
		struct statfs mfs;

		if (statfs(mount_point ? mount_point : backing_dir, &mfs) == 0 &&
		    (unsigned long)mfs.f_type == FUSE_SUPER_MAGIC)
			return -EBUSY;
	}
	if (!realpath(backing_dir, real_backing))
		return -errno;
	if (!realpath(mount_point ? mount_point : backing_dir, real_mp))
		return -errno;
	if (geteuid() != 0)
		return -EPERM;
	v = fm_calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->backing_dir = fm_strdup(real_backing);
	v->mount_point = fm_strdup(real_mp);
	if (!v->backing_dir || !v->mount_point) {
		r = -ENOMEM;
		goto free_v;
	}
	/* Opened before anything is mounted on top, so the volume still reaches what is below. */
	root_fd = open(real_backing, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0) {
		r = -errno;
		goto free_v;
	}
	if (fstatfs(root_fd, &sfs) < 0)
		sfs.f_type = 0;
	r = fm_lower_create(root_fd, &v->lower);
	if (r < 0) {
		close(root_fd);
		goto free_v;
	}
	fm_lower_set_fs_name(v->lower, fs_type_display(fst));
	r = fm_fe_create(v->lower, &v->fe);
	if (r < 0)
		goto free_lower;
	v->cache = opts ? opts->cache : FM_CACHE_AUTO;
	fm_fe_set_cache_policy(v->fe, v->cache);

	memset(&params, 0, sizeof(params));
	params.mount_point = v->mount_point;
	params.backing_dir = v->backing_dir;
	params.backing_fs = fs_type_name(sfs.f_type);
	params.fs_type = fst;
	params.sector_size = 512;
	params.lower = &fm_lowerfs_ops;
	params.lower_ctx = v->lower;
	r = fm_volume_create(&params, &v->core);
	if (r < 0)
		goto free_fe;
	fm_fe_set_volume(v->fe, v->core);
	fm_lower_set_volume(v->lower, v->core);

	memset(&fopts, 0, sizeof(fopts));
	fopts.fsname = v->backing_dir;
	fopts.subtype = "fltmgr";
	fopts.nthreads = opts ? opts->nthreads : 0;
	fopts.fiber_stack = opts ? opts->fiber_stack : 0;
	fopts.allow_other = true;
	fopts.default_permissions = true;
	fopts.want_passthrough = v->cache != FM_CACHE_DIRECT;
	fopts.want_uring = opts && opts->transport == FM_TRANSPORT_URING;
	r = fm_fuse_mount(v->mount_point, &fopts, &fm_frontend_ops, v->fe, &v->session);
	if (r < 0)
		goto destroy_core;
	*out = v;
	return 0;

destroy_core:
	fm_fe_shutdown(v->fe);
	fm_lower_set_volume(v->lower, NULL);
	fm_volume_destroy(v->core);
free_fe:
	fm_fe_destroy(v->fe);
free_lower:
	fm_lower_destroy(v->lower);
free_v:
	fm_free(v->backing_dir);
	fm_free(v->mount_point);
	fm_free(v);
	return r;
}

void fm_vol_unmount(struct fm_vol *v)
{
	if (!v)
		return;
	/* Dirty pages of files still open are written back while requests are still served;
	 * then requests stop and open handles are closed while filters and the lower work. */
	fm_fe_flush_cache(v->fe, v->session);
	fm_fe_shutdown(v->fe);
	fm_lower_set_volume(v->lower, NULL);
	fm_volume_destroy(v->core);
	fm_fuse_unmount(v->session);
	fm_fe_destroy(v->fe);
	fm_lower_destroy(v->lower);
	fm_free(v->backing_dir);
	fm_free(v->mount_point);
	fm_free(v);
}

struct fm_volume *fm_vol_core(struct fm_vol *v)
{
	return v->core;
}

const char *fm_vol_mount_point(const struct fm_vol *v)
{
	return v->mount_point;
}

const char *fm_vol_backing_dir(const struct fm_vol *v)
{
	return v->backing_dir;
}

int fm_vol_transport_parse(const char *name, enum fm_transport *out)
{
	if (!name || !out)
		return -EINVAL;
	if (strcmp(name, "dev") == 0)
		*out = FM_TRANSPORT_DEV;
	else if (strcmp(name, "uring") == 0)
		*out = FM_TRANSPORT_URING;
	else
		return -EINVAL;
	return 0;
}

void fm_vol_transport_describe(const struct fm_vol *v, char *buf, size_t cap)
{
	fm_fuse_session_transport(v->session, buf, cap);
}

int fm_vol_cache_policy_parse(const char *name, enum fm_cache_policy *out)
{
	if (strcmp(name, "auto") == 0)
		*out = FM_CACHE_AUTO;
	else if (strcmp(name, "direct") == 0)
		*out = FM_CACHE_DIRECT;
	else if (strcmp(name, "cached") == 0)
		*out = FM_CACHE_CACHED;
	else
		return -EINVAL;
	return 0;
}

void fm_vol_cache_describe(const struct fm_vol *v, char *buf, size_t cap)
{
	const struct fm_fuse_conn *c = fm_fuse_session_conn(v->session);
	unsigned long n = fm_fe_passthrough_opens(v->fe);
	const char *p = v->cache == FM_CACHE_CACHED ? "cached" : "auto";

	if (v->cache == FM_CACHE_DIRECT)
		snprintf(buf, cap, "direct");
	else if (c->writeback_cache)
		/* The kernel does no passthrough with its write-back cache. */
		snprintf(buf, cap, "%s, write-back cache (every file), passthrough off", p);
	else if (!c->passthrough)
		snprintf(buf, cap, "%s, passthrough unavailable", p);
	else if (fm_volume_unfiltered(v->core, IRP_MJ_READ) &&
		 fm_volume_unfiltered(v->core, IRP_MJ_WRITE))
		snprintf(buf, cap, "%s, passthrough on (%lu open)", p, n);
	else if (n)
		snprintf(buf, cap, "%s, passthrough off (filtered; %lu older open)", p, n);
	else
		snprintf(buf, cap, "%s, passthrough off (filtered)", p);
}

/* ---- IoReplaceFileObjectName -------------------------------------------------------------- */

/* Pool tag of the name buffers IoReplaceFileObjectName installs ("FmRn"). */
#define RENAME_TAG 'nRmF'

struct tagged_find {
	const void *ptr;
	bool found;
};

static void find_tagged(const struct fm_pool_block *b, void *arg)
{
	struct tagged_find *t = arg;

	if (b->ptr == t->ptr && b->tag == RENAME_TAG)
		t->found = true;
}

/*
 * IoReplaceFileObjectName (WDK): give FileObject->FileName the new name, for a pre-create
 * that then completes with STATUS_REPARSE / IO_REPARSE (the front-end restarts the create on
 * the new name, see docs/mapping.md).  A name that fits the current buffer is copied in place;
 * otherwise a pool buffer is installed, and a previous one this routine installed is freed
 * (the core frees the last one with the FILE_OBJECT).  PASSIVE_LEVEL, in a pre-create.
 */
NTSTATUS IoReplaceFileObjectName(PFILE_OBJECT FileObject, PWSTR NewFileName, USHORT FileNameLength)
{
	PWSTR buf;
	USHORT cap;

	if (!FileObject || (!NewFileName && FileNameLength) || (FileNameLength & 1))
		return STATUS_INVALID_PARAMETER;
	if (FileObject->FileName.Buffer && FileNameLength <= FileObject->FileName.MaximumLength) {
		memmove(FileObject->FileName.Buffer, NewFileName, FileNameLength);
		FileObject->FileName.Length = FileNameLength;
		return STATUS_SUCCESS;
	}
	/* Some room to spare: a redirector that lengthens the name again copies in place. */
	cap = FileNameLength > 0xfffe - 64 ? 0xfffe : (USHORT)(FileNameLength + 64);
	buf = ExAllocatePoolWithTag(NonPagedPoolNx, cap, RENAME_TAG);
	if (!buf)
		return STATUS_INSUFFICIENT_RESOURCES;
	memcpy(buf, NewFileName, FileNameLength);
	if (FileObject->FileName.Buffer) {
		/* Only a buffer of ours may be freed here: the first one belongs to the core. */
		struct tagged_find t = {FileObject->FileName.Buffer, false};

		fm_pool_foreach(NULL, find_tagged, &t);
		if (t.found)
			ExFreePoolWithTag(FileObject->FileName.Buffer, RENAME_TAG);
	}
	FileObject->FileName.Buffer = buf;
	FileObject->FileName.Length = FileNameLength;
	FileObject->FileName.MaximumLength = cap;
	return STATUS_SUCCESS;
}
