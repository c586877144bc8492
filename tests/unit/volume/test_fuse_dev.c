/* Tests of the FUSE transport: a tiny in-memory file system mounted for real and driven by syscalls. */
#include "volume/fuse_dev.h"

#include "tap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

/* ---- the in-memory file system ---- */

#define MAXN 64
#define ROOT 1

enum { INO_HELLO = 2, INO_RW, INO_ASYNC, INO_BLOCK, INO_PT, FIRST_FREE };

struct node {
	bool used;
	uint64_t parent;
	char name[64];
	mode_t mode;
	char *data;
	size_t size;
	char target[256];
	bool has_x;
	char xname[64];
	char xval[128];
	size_t xlen;
	int backing_id;
	bool long_ttl; /* the kernel may cache its entry and attributes for a minute */
};

static struct node nodes[MAXN];
static pthread_mutex_t fs_lock = PTHREAD_MUTEX_INITIALIZER;
static const char hello[] = "hello, world\n";
static const char async_data[] = "answered from another thread\n";
static char tmpdir[64], mnt[128], backing_path[192];
static const char pt_data[] = "bytes of the backing file, read by the kernel itself\n";

static _Atomic int last_read_pid, block_started, saw_interrupt, pt_reads, destroyed, inited;
static _Atomic int forgets;
static struct fm_fuse_conn seen_conn;
static struct fm_fuse_session *sess;

static void fs_reset(void)
{
	int i;

	for (i = 0; i < MAXN; i++) {
		free(nodes[i].data);
		memset(&nodes[i], 0, sizeof(nodes[i]));
	}
	nodes[ROOT] = (struct node){.used = true, .parent = ROOT, .mode = S_IFDIR | 0755};
	nodes[INO_HELLO] = (struct node){.used = true, .parent = ROOT, .mode = S_IFREG | 0644};
	strcpy(nodes[INO_HELLO].name, "hello.txt");
	nodes[INO_HELLO].data = strdup(hello);
	nodes[INO_HELLO].size = strlen(hello);
	nodes[INO_RW] = (struct node){.used = true, .parent = ROOT, .mode = S_IFREG | 0666};
	strcpy(nodes[INO_RW].name, "rw.txt");
	nodes[INO_ASYNC] = (struct node){.used = true, .parent = ROOT, .mode = S_IFREG | 0444};
	strcpy(nodes[INO_ASYNC].name, "async.txt");
	nodes[INO_ASYNC].size = strlen(async_data);
	nodes[INO_BLOCK] = (struct node){.used = true, .parent = ROOT, .mode = S_IFREG | 0444};
	strcpy(nodes[INO_BLOCK].name, "block.txt");
	nodes[INO_BLOCK].size = 4096;
	nodes[INO_PT] = (struct node){.used = true, .parent = ROOT, .mode = S_IFREG | 0444};
	strcpy(nodes[INO_PT].name, "pt.txt");
	nodes[INO_PT].size = strlen(pt_data);
}

/* Caller holds fs_lock. */
static void fill_stat(uint64_t ino, struct stat *st)
{
	struct node *n = &nodes[ino];

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = n->mode;
	st->st_nlink = S_ISDIR(n->mode) ? 2 : 1;
	st->st_size = S_ISLNK(n->mode) ? (off_t)strlen(n->target) : (off_t)n->size;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((n->size + 511) / 512);
	st->st_mtim.tv_sec = 1700000000;
}

static uint64_t find(uint64_t parent, const char *name)
{
	uint64_t i;

	for (i = 2; i < MAXN; i++)
		if (nodes[i].used && nodes[i].parent == parent && strcmp(nodes[i].name, name) == 0)
			return i;
	return 0;
}

static uint64_t alloc_node(uint64_t parent, const char *name, mode_t mode)
{
	uint64_t i;

	for (i = FIRST_FREE; i < MAXN; i++) {
		if (!nodes[i].used) {
			memset(&nodes[i], 0, sizeof(nodes[i]));
			nodes[i].used = true;
			nodes[i].parent = parent;
			nodes[i].mode = mode;
			snprintf(nodes[i].name, sizeof(nodes[i].name), "%s", name);
			return i;
		}
	}
	return 0;
}

static bool valid(uint64_t ino)
{
	return ino > 0 && ino < MAXN && nodes[ino].used;
}

static void reply_entry_locked(struct fm_fuse_req *req, uint64_t ino)
{
	struct fm_fuse_entry e = {.nodeid = ino, .generation = 1};

	if (nodes[ino].long_ttl)
		e.entry_timeout = e.attr_timeout = 60;
	fill_stat(ino, &e.attr);
	fm_fuse_reply_entry(req, &e);
}

static void fs_init(void *ud, struct fm_fuse_conn *conn)
{
	(void)ud;
	seen_conn = *conn;
	inited = 1;
}

static void fs_destroy(void *ud)
{
	(void)ud;
	destroyed = 1;
}

static void fs_forget(void *ud, uint64_t nodeid, uint64_t nlookup)
{
	(void)ud;
	(void)nodeid;
	(void)nlookup;
	forgets++;
}

static void fs_lookup(struct fm_fuse_req *req, uint64_t parent, const char *name)
{
	uint64_t ino;

	pthread_mutex_lock(&fs_lock);
	ino = valid(parent) ? find(parent, name) : 0;
	if (ino)
		reply_entry_locked(req, ino);
	else
		fm_fuse_reply_err(req, ENOENT);
	pthread_mutex_unlock(&fs_lock);
}

static void fs_getattr(struct fm_fuse_req *req, uint64_t nodeid, const uint64_t *fh)
{
	struct stat st;

	(void)fh;
	pthread_mutex_lock(&fs_lock);
	if (valid(nodeid)) {
		fill_stat(nodeid, &st);
		fm_fuse_reply_attr(req, &st, nodes[nodeid].long_ttl ? 60 : 0);
	} else {
		fm_fuse_reply_err(req, ENOENT);
	}
	pthread_mutex_unlock(&fs_lock);
}

static void fs_setattr(struct fm_fuse_req *req, uint64_t nodeid, const struct stat *attr,
		       int to_set, const uint64_t *fh)
{
	struct node *n = &nodes[nodeid];
	struct stat st;

	(void)fh;
	pthread_mutex_lock(&fs_lock);
	if (to_set & FM_SET_MODE)
		n->mode = (n->mode & S_IFMT) | (attr->st_mode & 07777);
	if (to_set & FM_SET_SIZE) {
		size_t sz = (size_t)attr->st_size;
		char *d = realloc(n->data, sz + 1);

		if (d) {
			if (sz > n->size)
				memset(d + n->size, 0, sz - n->size);
			n->data = d;
			n->size = sz;
		}
	}
	fill_stat(nodeid, &st);
	fm_fuse_reply_attr(req, &st, 0);
	pthread_mutex_unlock(&fs_lock);
}

static void fs_readlink(struct fm_fuse_req *req, uint64_t nodeid)
{
	pthread_mutex_lock(&fs_lock);
	if (S_ISLNK(nodes[nodeid].mode))
		fm_fuse_reply_readlink(req, nodes[nodeid].target);
	else
		fm_fuse_reply_err(req, EINVAL);
	pthread_mutex_unlock(&fs_lock);
}

static void make_node(struct fm_fuse_req *req, uint64_t parent, const char *name, mode_t mode,
		      const char *target)
{
	uint64_t ino;

	pthread_mutex_lock(&fs_lock);
	if (find(parent, name)) {
		fm_fuse_reply_err(req, EEXIST);
	} else if (!(ino = alloc_node(parent, name, mode))) {
		fm_fuse_reply_err(req, ENOSPC);
	} else {
		if (target)
			snprintf(nodes[ino].target, sizeof(nodes[ino].target), "%s", target);
		reply_entry_locked(req, ino);
	}
	pthread_mutex_unlock(&fs_lock);
}

static void fs_mkdir(struct fm_fuse_req *req, uint64_t parent, const char *name, mode_t mode)
{
	make_node(req, parent, name, S_IFDIR | (mode & 07777), NULL);
}

static void fs_symlink(struct fm_fuse_req *req, const char *target, uint64_t parent,
		       const char *name)
{
	make_node(req, parent, name, S_IFLNK | 0777, target);
}

static void remove_node(struct fm_fuse_req *req, uint64_t parent, const char *name, bool dir)
{
	uint64_t ino, i;

	pthread_mutex_lock(&fs_lock);
	ino = find(parent, name);
	if (!ino) {
		fm_fuse_reply_err(req, ENOENT);
	} else if (dir && !S_ISDIR(nodes[ino].mode)) {
		fm_fuse_reply_err(req, ENOTDIR);
	} else if (!dir && S_ISDIR(nodes[ino].mode)) {
		fm_fuse_reply_err(req, EISDIR);
	} else {
		for (i = 2; dir && i < MAXN; i++) {
			if (nodes[i].used && nodes[i].parent == ino) {
				fm_fuse_reply_err(req, ENOTEMPTY);
				pthread_mutex_unlock(&fs_lock);
				return;
			}
		}
		free(nodes[ino].data);
		memset(&nodes[ino], 0, sizeof(nodes[ino]));
		fm_fuse_reply_err(req, 0);
	}
	pthread_mutex_unlock(&fs_lock);
}

static void fs_unlink(struct fm_fuse_req *req, uint64_t parent, const char *name)
{
	remove_node(req, parent, name, false);
}

static void fs_rmdir(struct fm_fuse_req *req, uint64_t parent, const char *name)
{
	remove_node(req, parent, name, true);
}

static void fs_rename(struct fm_fuse_req *req, uint64_t parent, const char *name,
		      uint64_t newparent, const char *newname, unsigned int flags)
{
	uint64_t ino, old;

	pthread_mutex_lock(&fs_lock);
	ino = find(parent, name);
	old = find(newparent, newname);
	if (!ino) {
		fm_fuse_reply_err(req, ENOENT);
	} else if (flags & ~RENAME_NOREPLACE) {
		fm_fuse_reply_err(req, EINVAL);
	} else if (old && (flags & RENAME_NOREPLACE)) {
		fm_fuse_reply_err(req, EEXIST);
	} else {
		if (old && old != ino) {
			free(nodes[old].data);
			memset(&nodes[old], 0, sizeof(nodes[old]));
		}
		nodes[ino].parent = newparent;
		snprintf(nodes[ino].name, sizeof(nodes[ino].name), "%s", newname);
		fm_fuse_reply_err(req, 0);
	}
	pthread_mutex_unlock(&fs_lock);
}

static void fs_open(struct fm_fuse_req *req, uint64_t nodeid, int flags)
{
	struct fm_fuse_open o = {.fh = nodeid};

	(void)flags;
	if (nodeid == INO_ASYNC || nodeid == INO_BLOCK)
		o.direct_io = true;
	if (nodeid == INO_PT) {
		int fd = open(backing_path, O_RDONLY | O_CLOEXEC);
		int id = fd < 0 ? -errno : fm_fuse_backing_open(fm_fuse_req_session(req), fd);

		if (fd >= 0)
			close(fd);
		if (id < 0) {
			printf("# backing open: %s\n", strerror(-id));
			fm_fuse_reply_err(req, -id);
			return;
		}
		pthread_mutex_lock(&fs_lock);
		nodes[INO_PT].backing_id = id;
		pthread_mutex_unlock(&fs_lock);
		o.backing_id = id;
	}
	fm_fuse_reply_open(req, &o);
}

struct async_job {
	struct fm_fuse_req *req;
	size_t size;
	off_t off;
};

static void *async_reply(void *arg)
{
	struct async_job *job = arg;
	size_t len = strlen(async_data);

	usleep(20000);
	if ((size_t)job->off >= len)
		fm_fuse_reply_buf(job->req, NULL, 0);
	else
		fm_fuse_reply_buf(job->req, async_data + job->off,
				  len - (size_t)job->off < job->size ? len - (size_t)job->off
								     : job->size);
	free(job);
	return NULL;
}

static void block_read(struct fm_fuse_req *req, size_t size)
{
	int waited = 0;
	char *buf;

	block_started = 1;
	/* Block in the worker until the kernel interrupts us: other workers keep serving. */
	while (!fm_fuse_req_interrupted(req) && waited < 5000) {
		usleep(5000);
		waited += 5;
	}
	if (fm_fuse_req_interrupted(req)) {
		saw_interrupt = 1;
		fm_fuse_reply_err(req, EINTR);
		return;
	}
	buf = fm_fuse_req_scratch(req, size);
	memset(buf, 'b', size);
	fm_fuse_reply_buf(req, buf, size);
}

static void fs_read(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, size_t size, off_t off,
		    int flags)
{
	struct node *n = &nodes[nodeid];
	char *buf;
	size_t len = 0;

	(void)fh;
	(void)flags;
	if (nodeid == INO_ASYNC) {
		struct async_job *job = malloc(sizeof(*job));
		pthread_t t;

		job->req = fm_fuse_req_hold(req);
		job->size = size;
		job->off = off;
		pthread_create(&t, NULL, async_reply, job);
		pthread_detach(t);
		return;
	}
	if (nodeid == INO_BLOCK)
		return block_read(req, size);
	if (nodeid == INO_PT)
		pt_reads++;
	if (nodeid == INO_HELLO)
		last_read_pid = (int)fm_fuse_req_ctx(req)->pid;
	buf = fm_fuse_req_scratch(req, size);
	if (!buf) {
		fm_fuse_reply_err(req, EIO);
		return;
	}
	pthread_mutex_lock(&fs_lock);
	if ((size_t)off < n->size) {
		len = n->size - (size_t)off < size ? n->size - (size_t)off : size;
		memcpy(buf, n->data + off, len);
	}
	pthread_mutex_unlock(&fs_lock);
	fm_fuse_reply_buf(req, buf, len);
}

static void fs_write(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, const void *data,
		     size_t size, off_t off, int flags)
{
	struct node *n = &nodes[nodeid];
	size_t end = (size_t)off + size;

	(void)fh;
	(void)flags;
	pthread_mutex_lock(&fs_lock);
	if (end > n->size) {
		char *d = realloc(n->data, end);

		if (!d) {
			pthread_mutex_unlock(&fs_lock);
			fm_fuse_reply_err(req, ENOSPC);
			return;
		}
		memset(d + n->size, 0, end - n->size);
		n->data = d;
		n->size = end;
	}
	memcpy(n->data + off, data, size);
	pthread_mutex_unlock(&fs_lock);
	fm_fuse_reply_write(req, size);
}

static void fs_release(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, int flags)
{
	(void)fh;
	(void)flags;
	if (nodeid == INO_PT) {
		int id;

		pthread_mutex_lock(&fs_lock);
		id = nodes[INO_PT].backing_id;
		nodes[INO_PT].backing_id = 0;
		pthread_mutex_unlock(&fs_lock);
		if (id > 0)
			fm_fuse_backing_close(fm_fuse_req_session(req), id);
	}
	fm_fuse_reply_err(req, 0);
}

static void fs_opendir(struct fm_fuse_req *req, uint64_t nodeid, int flags)
{
	struct fm_fuse_open o = {.fh = nodeid};

	(void)flags;
	fm_fuse_reply_open(req, &o);
}

static void fs_readdir(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, size_t size,
		       off_t off)
{
	char *buf = fm_fuse_req_scratch(req, size);
	size_t used = 0, need;
	uint64_t i, k = 0;

	(void)fh;
	if (!buf) {
		fm_fuse_reply_err(req, EIO);
		return;
	}
	pthread_mutex_lock(&fs_lock);
	/* Entry k is ".", "..", then the children in table order; its next offset is k + 1. */
	for (i = 0; i < MAXN + 1; i++) {
		const char *name;
		uint64_t ino;
		mode_t mode;

		if (i == 0) {
			name = ".";
			ino = nodeid;
		} else if (i == 1) {
			name = "..";
			ino = nodes[nodeid].parent;
		} else if (i < MAXN && nodes[i].used && i != ROOT && nodes[i].parent == nodeid) {
			name = nodes[i].name;
			ino = i;
		} else {
			continue;
		}
		if ((off_t)k++ < off)
			continue;
		mode = nodes[ino].mode;
		need = fm_fuse_add_direntry(buf + used, size - used, name, ino, mode, (off_t)k);
		if (need > size - used)
			break;
		used += need;
	}
	pthread_mutex_unlock(&fs_lock);
	fm_fuse_reply_buf(req, buf, used);
}

static void fs_statfs(struct fm_fuse_req *req, uint64_t nodeid)
{
	struct statvfs st;

	(void)nodeid;
	memset(&st, 0, sizeof(st));
	st.f_bsize = 4096;
	st.f_frsize = 4096;
	st.f_blocks = 1000;
	st.f_bfree = 500;
	st.f_bavail = 400;
	st.f_files = 64;
	st.f_ffree = 32;
	st.f_namemax = 63;
	fm_fuse_reply_statfs(req, &st);
}

static void fs_setxattr(struct fm_fuse_req *req, uint64_t nodeid, const char *name,
			const void *value, size_t size, int flags)
{
	struct node *n = &nodes[nodeid];

	(void)flags;
	if (size > sizeof(n->xval) || strlen(name) >= sizeof(n->xname)) {
		fm_fuse_reply_err(req, ERANGE);
		return;
	}
	pthread_mutex_lock(&fs_lock);
	n->has_x = true;
	strcpy(n->xname, name);
	memcpy(n->xval, value, size);
	n->xlen = size;
	pthread_mutex_unlock(&fs_lock);
	fm_fuse_reply_err(req, 0);
}

static void fs_getxattr(struct fm_fuse_req *req, uint64_t nodeid, const char *name, size_t size)
{
	struct node *n = &nodes[nodeid];
	char val[128];
	size_t len;

	pthread_mutex_lock(&fs_lock);
	if (!n->has_x || strcmp(n->xname, name) != 0) {
		pthread_mutex_unlock(&fs_lock);
		fm_fuse_reply_err(req, ENODATA);
		return;
	}
	len = n->xlen;
	memcpy(val, n->xval, len);
	pthread_mutex_unlock(&fs_lock);
	if (size == 0)
		fm_fuse_reply_xattr(req, len);
	else if (size < len)
		fm_fuse_reply_err(req, ERANGE);
	else
		fm_fuse_reply_buf(req, val, len);
}

static void fs_listxattr(struct fm_fuse_req *req, uint64_t nodeid, size_t size)
{
	struct node *n = &nodes[nodeid];
	char list[64];
	size_t len = 0;

	pthread_mutex_lock(&fs_lock);
	if (n->has_x) {
		len = strlen(n->xname) + 1;
		memcpy(list, n->xname, len);
	}
	pthread_mutex_unlock(&fs_lock);
	if (size == 0)
		fm_fuse_reply_xattr(req, len);
	else if (size < len)
		fm_fuse_reply_err(req, ERANGE);
	else
		fm_fuse_reply_buf(req, list, len);
}

static void fs_removexattr(struct fm_fuse_req *req, uint64_t nodeid, const char *name)
{
	struct node *n = &nodes[nodeid];
	int err = 0;

	pthread_mutex_lock(&fs_lock);
	if (n->has_x && strcmp(n->xname, name) == 0)
		n->has_x = false;
	else
		err = ENODATA;
	pthread_mutex_unlock(&fs_lock);
	fm_fuse_reply_err(req, err);
}

static void fs_create(struct fm_fuse_req *req, uint64_t parent, const char *name, mode_t mode,
		      int flags)
{
	struct fm_fuse_entry e = {.generation = 1};
	struct fm_fuse_open o = {0};
	uint64_t ino;

	(void)flags;
	pthread_mutex_lock(&fs_lock);
	ino = find(parent, name);
	if (!ino)
		ino = alloc_node(parent, name, S_IFREG | (mode & 07777));
	if (!ino) {
		pthread_mutex_unlock(&fs_lock);
		fm_fuse_reply_err(req, ENOSPC);
		return;
	}
	e.nodeid = ino;
	fill_stat(ino, &e.attr);
	pthread_mutex_unlock(&fs_lock);
	o.fh = ino;
	fm_fuse_reply_create(req, &e, &o);
}

static const struct fm_fuse_ops test_ops = {
    .init = fs_init,
    .destroy = fs_destroy,
    .lookup = fs_lookup,
    .forget = fs_forget,
    .getattr = fs_getattr,
    .setattr = fs_setattr,
    .readlink = fs_readlink,
    .mkdir = fs_mkdir,
    .unlink = fs_unlink,
    .rmdir = fs_rmdir,
    .symlink = fs_symlink,
    .rename = fs_rename,
    .open = fs_open,
    .read = fs_read,
    .write = fs_write,
    .release = fs_release,
    .opendir = fs_opendir,
    .readdir = fs_readdir,
    .statfs = fs_statfs,
    .setxattr = fs_setxattr,
    .getxattr = fs_getxattr,
    .listxattr = fs_listxattr,
    .removexattr = fs_removexattr,
    .create = fs_create,
};

/* ---- helpers ---- */

static char *path(const char *rel)
{
	static char buf[4][256];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", mnt, rel);
	return p;
}

static bool in_proc_mounts(const char *where)
{
	FILE *f = fopen("/proc/mounts", "re");
	char line[1024], dev[256], dir[512];
	bool found = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%255s %511s", dev, dir) == 2 && strcmp(dir, where) == 0)
			found = true;
	fclose(f);
	return found;
}

static ssize_t read_file(const char *p, char *buf, size_t cap)
{
	int fd = open(p, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap);
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int mount_opts(struct fm_fuse_session **out, unsigned int nthreads, bool others)
{
	struct fm_fuse_options o = {
	    .fsname = "fmtest",
	    .subtype = "fmtest",
	    .nthreads = nthreads,
	    .want_passthrough = true,
	    .allow_other = others,
	    .default_permissions = others,
	};

	return fm_fuse_mount(mnt, &o, &test_ops, NULL, out);
}

static int mount_fs(struct fm_fuse_session **out, unsigned int nthreads)
{
	return mount_opts(out, nthreads, false);
}

static bool mount_has_option(const char *where, const char *opt)
{
	FILE *f = fopen("/proc/mounts", "re");
	char line[1024], dev[256], dir[512], type[64], opts[512];
	bool found = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%255s %511s %63s %511s", dev, dir, type, opts) == 4 &&
		    strcmp(dir, where) == 0 && strstr(opts, opt))
			found = true;
	fclose(f);
	return found;
}

/* As user nobody in a child: 0 or the errno of stat(path), then of open(path). */
static int as_nobody(const char *p, int *open_err)
{
	int fds[2], res[2] = {-1, -1}, status;
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		struct stat st;
		int r[2], fd;

		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(1);
		r[0] = stat(p, &st) == 0 ? 0 : errno;
		fd = open(p, O_RDONLY);
		r[1] = fd >= 0 ? 0 : errno;
		if (write(fds[1], r, sizeof(r)) != sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], res, sizeof(res)) != sizeof(res))
		res[0] = res[1] = -1;
	close(fds[0]);
	waitpid(pid, &status, 0);
	*open_err = res[1];
	return res[0];
}

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	if (d)
		closedir(d);
	return n;
}

/* ---- test cases ---- */

static void t_direntry_packing(void)
{
	char buf[256];
	size_t need;

	memset(buf, 0x5a, sizeof(buf));
	need = fm_fuse_add_direntry(buf, 8, "abc", 7, S_IFREG | 0644, 1);
	TAP_EQ_INT(need, 32); /* 24-byte header + 3, aligned to 8 */
	TAP_EQ_INT((unsigned char)buf[0], 0x5a);
	need = fm_fuse_add_direntry(buf, sizeof(buf), "abc", 7, S_IFREG | 0644, 1);
	TAP_EQ_INT(need, 32);
	TAP_EQ_INT(*(uint64_t *)buf, 7);
	TAP_EQ_INT(*(uint32_t *)(buf + 16), 3);
	TAP_EQ_INT(*(uint32_t *)(buf + 20), DT_REG);
	TAP_CHECK(memcmp(buf + 24, "abc\0\0\0\0\0", 8) == 0);
	TAP_EQ_INT((unsigned char)buf[32], 0x5a);
	need = fm_fuse_add_direntry(NULL, 0, "12345678", 1, S_IFDIR, 2);
	TAP_EQ_INT(need, 32);
	struct fm_fuse_entry e = {.nodeid = 9};
	e.attr.st_ino = 9;
	e.attr.st_mode = S_IFDIR | 0755;
	need = fm_fuse_add_direntry_plus(buf, 100, "d", &e, 3);
	TAP_EQ_INT(need, 128 + 24 + 8); /* entry_out 128 + dirent 24 + name padded */
	need = fm_fuse_add_direntry_plus(buf, sizeof(buf), "d", &e, 3);
	TAP_EQ_INT(*(uint64_t *)buf, 9);
	TAP_EQ_INT(*(uint32_t *)(buf + 128 + 20), DT_DIR);
}

static void t_mount_errors(void)
{
	struct fm_fuse_session *s = NULL;
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/missing", tmpdir);
	TAP_EQ_INT(fm_fuse_mount(p, NULL, &test_ops, NULL, &s), -ENOENT);
	TAP_CHECK(s == NULL);
	snprintf(p, sizeof(p), "%s/afile", tmpdir);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	TAP_CHECK(fd >= 0);
	close(fd);
	TAP_EQ_INT(fm_fuse_mount(p, NULL, &test_ops, NULL, &s), -ENOTDIR);
	unlink(p);
}

static void t_mount(void)
{
	/* One worker to start with: t_interrupt checks that more start when it blocks. */
	int res = mount_fs(&sess, 1);

	TAP_EQ_INT(res, 0);
	if (res)
		return;
	TAP_CHECK(inited);
	TAP_CHECK(in_proc_mounts(mnt));
	TAP_EQ_INT(fm_fuse_session_conn(sess)->proto_major, 7);
	TAP_CHECK(fm_fuse_session_conn(sess)->proto_minor >= 31);
	TAP_EQ_INT(fm_fuse_session_conn(sess)->max_write, 1 << 20);
	printf("# kernel protocol 7.%u, passthrough negotiated: %s (max_stack_depth %u)\n",
	       seen_conn.proto_minor, fm_fuse_session_conn(sess)->passthrough ? "yes" : "no",
	       fm_fuse_session_conn(sess)->max_stack_depth);
}

static void t_ebusy(void)
{
	struct fm_fuse_session *s = NULL;

	TAP_EQ_INT(fm_fuse_mount(mnt, NULL, &test_ops, NULL, &s), -EBUSY);
	TAP_CHECK(s == NULL);
}

static void t_stat_readdir(void)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int seen = 0;

	TAP_EQ_INT(stat(path("hello.txt"), &st), 0);
	TAP_EQ_INT(st.st_size, strlen(hello));
	TAP_CHECK(S_ISREG(st.st_mode));
	TAP_EQ_INT(st.st_ino, INO_HELLO);
	TAP_EQ_INT(stat(mnt, &st), 0);
	TAP_CHECK(S_ISDIR(st.st_mode));
	TAP_EQ_INT(stat(path("nope"), &st), -1);
	TAP_EQ_INT(errno, ENOENT);
	d = opendir(mnt);
	TAP_CHECK(d != NULL);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, "hello.txt") == 0 && de->d_type == DT_REG)
			seen |= 1;
		if (strcmp(de->d_name, "rw.txt") == 0)
			seen |= 2;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			seen |= 4;
	}
	closedir(d);
	TAP_EQ_INT(seen, 7);
}

static void t_read(void)
{
	char buf[64];
	ssize_t n = read_file(path("hello.txt"), buf, sizeof(buf));

	TAP_EQ_INT(n, strlen(hello));
	TAP_CHECK(n > 0 && memcmp(buf, hello, (size_t)n) == 0);
	TAP_EQ_INT(last_read_pid, getpid());
}

static void t_write_truncate(void)
{
	char buf[64];
	struct stat st;
	int fd = open(path("rw.txt"), O_RDWR);

	TAP_CHECK(fd >= 0);
	if (fd < 0)
		return;
	TAP_EQ_INT(pwrite(fd, "0123456789", 10, 0), 10);
	TAP_EQ_INT(pwrite(fd, "AB", 2, 4), 2);
	close(fd);
	TAP_EQ_INT(read_file(path("rw.txt"), buf, sizeof(buf)), 10);
	TAP_CHECK(memcmp(buf, "0123AB6789", 10) == 0);
	TAP_EQ_INT(truncate(path("rw.txt"), 3), 0);
	TAP_EQ_INT(stat(path("rw.txt"), &st), 0);
	TAP_EQ_INT(st.st_size, 3);
	TAP_EQ_INT(chmod(path("rw.txt"), 0600), 0);
	TAP_EQ_INT(stat(path("rw.txt"), &st), 0);
	TAP_EQ_INT(st.st_mode & 07777, 0600);
	pthread_mutex_lock(&fs_lock);
	TAP_EQ_INT(nodes[INO_RW].size, 3);
	pthread_mutex_unlock(&fs_lock);
}

static void t_create_unlink_rename(void)
{
	char buf[16];
	struct stat st;
	int fd = open(path("new.txt"), O_CREAT | O_EXCL | O_WRONLY, 0640);

	TAP_CHECK(fd >= 0);
	TAP_EQ_INT(write(fd, "xyz", 3), 3);
	close(fd);
	TAP_EQ_INT(open(path("new.txt"), O_CREAT | O_EXCL | O_WRONLY, 0640), -1);
	TAP_EQ_INT(errno, EEXIST);
	TAP_EQ_INT(rename(path("new.txt"), path("new2.txt")), 0);
	TAP_EQ_INT(stat(path("new.txt"), &st), -1);
	TAP_EQ_INT(stat(path("new2.txt"), &st), 0);
	TAP_EQ_INT(st.st_size, 3);
	TAP_EQ_INT(
	    renameat2(AT_FDCWD, path("new2.txt"), AT_FDCWD, path("hello.txt"), RENAME_NOREPLACE),
	    -1);
	TAP_EQ_INT(errno, EEXIST);
	TAP_EQ_INT(read_file(path("new2.txt"), buf, sizeof(buf)), 3);
	TAP_EQ_INT(unlink(path("new2.txt")), 0);
	TAP_EQ_INT(stat(path("new2.txt"), &st), -1);
	TAP_EQ_INT(errno, ENOENT);
}

static void t_mkdir_rmdir(void)
{
	struct stat st;
	int fd;

	TAP_EQ_INT(mkdir(path("d"), 0750), 0);
	TAP_EQ_INT(stat(path("d"), &st), 0);
	TAP_CHECK(S_ISDIR(st.st_mode));
	fd = open(path("d/f"), O_CREAT | O_WRONLY, 0644);
	TAP_CHECK(fd >= 0);
	close(fd);
	TAP_EQ_INT(rmdir(path("d")), -1);
	TAP_EQ_INT(errno, ENOTEMPTY);
	TAP_EQ_INT(unlink(path("d/f")), 0);
	TAP_EQ_INT(rmdir(path("d")), 0);
	TAP_EQ_INT(stat(path("d"), &st), -1);
}

static void t_symlink(void)
{
	char buf[64];
	ssize_t n;

	TAP_EQ_INT(symlink("hello.txt", path("ln")), 0);
	n = readlink(path("ln"), buf, sizeof(buf));
	TAP_EQ_INT(n, 9);
	TAP_CHECK(n == 9 && memcmp(buf, "hello.txt", 9) == 0);
	TAP_EQ_INT(read_file(path("ln"), buf, sizeof(buf)), strlen(hello));
	TAP_EQ_INT(unlink(path("ln")), 0);
}

static void t_xattr(void)
{
	char buf[64];

	TAP_EQ_INT(setxattr(path("hello.txt"), "user.k", "value", 5, 0), 0);
	TAP_EQ_INT(getxattr(path("hello.txt"), "user.k", NULL, 0), 5);
	TAP_EQ_INT(getxattr(path("hello.txt"), "user.k", buf, sizeof(buf)), 5);
	TAP_CHECK(memcmp(buf, "value", 5) == 0);
	TAP_EQ_INT(getxattr(path("hello.txt"), "user.k", buf, 2), -1);
	TAP_EQ_INT(errno, ERANGE);
	TAP_EQ_INT(listxattr(path("hello.txt"), buf, sizeof(buf)), 7);
	TAP_EQ_STR(buf, "user.k");
	TAP_EQ_INT(removexattr(path("hello.txt"), "user.k"), 0);
	TAP_EQ_INT(getxattr(path("hello.txt"), "user.k", buf, sizeof(buf)), -1);
	TAP_EQ_INT(errno, ENODATA);
}

static void t_statfs(void)
{
	struct statvfs st;

	TAP_EQ_INT(statvfs(mnt, &st), 0);
	TAP_EQ_INT(st.f_blocks, 1000);
	TAP_EQ_INT(st.f_bavail, 400);
	TAP_EQ_INT(st.f_bsize, 4096);
	TAP_EQ_INT(st.f_namemax, 63);
}

static void t_enosys(void)
{
	int fd = open(path("rw.txt"), O_RDWR);
	int res, err;

	TAP_CHECK(fd >= 0);
	res = fallocate(fd, 0, 0, 4096);
	err = errno;
	TAP_EQ_INT(res, -1);
	TAP_CHECK(err == EOPNOTSUPP || err == ENOSYS);
	close(fd);
}

static void t_notify(void)
{
	struct stat st;
	uint64_t ino;

	pthread_mutex_lock(&fs_lock);
	ino = alloc_node(ROOT, "cached.txt", S_IFREG | 0644);
	nodes[ino].long_ttl = true;
	nodes[ino].size = 10;
	pthread_mutex_unlock(&fs_lock);
	TAP_EQ_INT(stat(path("cached.txt"), &st), 0);
	TAP_EQ_INT(st.st_size, 10);

	/* Changed behind the kernel's back: it keeps its cached attributes until told. */
	pthread_mutex_lock(&fs_lock);
	nodes[ino].size = 20;
	pthread_mutex_unlock(&fs_lock);
	TAP_EQ_INT(stat(path("cached.txt"), &st), 0);
	TAP_EQ_INT(st.st_size, 10);
	TAP_EQ_INT(fm_fuse_notify_inval_inode(sess, ino, 0, 0), 0);
	TAP_EQ_INT(stat(path("cached.txt"), &st), 0);
	TAP_EQ_INT(st.st_size, 20);

	/* Removed behind its back: the cached entry still resolves until invalidated. */
	pthread_mutex_lock(&fs_lock);
	nodes[ino].parent = 0;
	pthread_mutex_unlock(&fs_lock);
	TAP_EQ_INT(stat(path("cached.txt"), &st), 0);
	TAP_EQ_INT(fm_fuse_notify_inval_entry(sess, ROOT, "cached.txt"), 0);
	TAP_EQ_INT(stat(path("cached.txt"), &st), -1);
	TAP_EQ_INT(errno, ENOENT);
	/* Nothing cached any more: the kernel says so. */
	TAP_EQ_INT(fm_fuse_notify_inval_entry(sess, ROOT, "never-looked-up"), -ENOENT);
	TAP_EQ_INT(fm_fuse_notify_inval_entry(sess, ROOT, ""), -EINVAL);
	pthread_mutex_lock(&fs_lock);
	memset(&nodes[ino], 0, sizeof(nodes[ino]));
	pthread_mutex_unlock(&fs_lock);
}

static void t_child_process(void)
{
	pid_t pid = fork();
	int status = -1;

	if (pid == 0) {
		char buf[64];
		struct stat st;
		int fd;

		if (stat(path("hello.txt"), &st) != 0 || st.st_size != (off_t)strlen(hello))
			_exit(1);
		/* A fresh open, so the read reaches the file system and reports our pid. */
		if (read_file(path("hello.txt"), buf, sizeof(buf)) != (ssize_t)strlen(hello))
			_exit(2);
		fd = open(path("child.txt"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
		if (fd < 0 || write(fd, "child", 5) != 5)
			_exit(3);
		close(fd);
		_exit(0);
	}
	TAP_CHECK(pid > 0);
	waitpid(pid, &status, 0);
	TAP_CHECK(WIFEXITED(status));
	TAP_EQ_INT(WEXITSTATUS(status), 0);
	TAP_EQ_INT(last_read_pid, pid);
	pthread_mutex_lock(&fs_lock);
	TAP_CHECK(find(ROOT, "child.txt") != 0);
	pthread_mutex_unlock(&fs_lock);
	TAP_EQ_INT(unlink(path("child.txt")), 0);
}

/* Several processes at once: replies from several workers, growth under load. */
static void t_parallel_load(void)
{
	pid_t pids[6];
	int i, status, failed = 0;

	for (i = 0; i < 6; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			char buf[64];
			struct stat st;
			int k;

			for (k = 0; k < 300; k++) {
				if (stat(path("hello.txt"), &st) != 0)
					_exit(1);
				if (read_file(path(k % 2 ? "hello.txt" : "async.txt"), buf,
					      sizeof(buf)) <= 0)
					_exit(2);
				if (k % 2 && memcmp(buf, hello, strlen(hello)) != 0)
					_exit(3);
			}
			_exit(0);
		}
	}
	for (i = 0; i < 6; i++) {
		waitpid(pids[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	TAP_EQ_INT(failed, 0);
}

static void t_held_reply(void)
{
	char buf[128];
	ssize_t n = read_file(path("async.txt"), buf, sizeof(buf));

	TAP_EQ_INT(n, strlen(async_data));
	TAP_CHECK(n > 0 && memcmp(buf, async_data, (size_t)n) == 0);
}

static void t_interrupt(void)
{
	double t0;
	int status = 0;
	pid_t pid;

	block_started = 0;
	saw_interrupt = 0;
	pid = fork();
	if (pid == 0) {
		char buf[4096];

		read_file(path("block.txt"), buf, sizeof(buf));
		_exit(0);
	}
	TAP_CHECK(pid > 0);
	t0 = now_s();
	while (!block_started && now_s() - t0 < 5)
		usleep(2000);
	TAP_CHECK(block_started);
	/* Other workers keep serving while one is blocked (the mount started with one). */
	TAP_EQ_INT(access(path("hello.txt"), R_OK), 0);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	TAP_CHECK(WIFSIGNALED(status));
	t0 = now_s();
	while (!saw_interrupt && now_s() - t0 < 5)
		usleep(2000);
	TAP_CHECK(saw_interrupt);
}

static void t_passthrough(void)
{
	char buf[128];
	ssize_t n;
	int fd;

	fd = open(backing_path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	TAP_CHECK(fd >= 0);
	TAP_EQ_INT(write(fd, pt_data, strlen(pt_data)), strlen(pt_data));
	close(fd);
	pt_reads = 0;
	n = read_file(path("pt.txt"), buf, sizeof(buf));
	TAP_EQ_INT(n, strlen(pt_data));
	TAP_CHECK(n > 0 && memcmp(buf, pt_data, (size_t)n) == 0);
	/* The kernel read the backing file itself: our read callback never ran. */
	TAP_EQ_INT(pt_reads, 0);
}

static void t_inflight_zero(void)
{
	double t0 = now_s();

	/* Releases of the killed child's file arrive asynchronously. */
	while (fm_fuse_session_inflight(sess) != 0 && now_s() - t0 < 3)
		usleep(5000);
	TAP_EQ_INT(fm_fuse_session_inflight(sess), 0);
	printf("# threads in this process after the mount tests: %d\n", count_threads());
}

static void t_unmount(void)
{
	destroyed = 0;
	fm_fuse_unmount(sess);
	sess = NULL;
	TAP_CHECK(!in_proc_mounts(mnt));
	TAP_CHECK(destroyed);
}

static void t_external_unmount(void)
{
	struct fm_fuse_session *s = NULL;
	double t0;

	TAP_EQ_INT(mount_fs(&s, 4), 0);
	if (!s)
		return;
	TAP_EQ_INT(umount2(mnt, MNT_DETACH), 0);
	t0 = now_s();
	fm_fuse_unmount(s);
	TAP_CHECK(now_s() - t0 < 3);
	TAP_CHECK(!in_proc_mounts(mnt));
}

static void t_mount_options(void)
{
	struct fm_fuse_session *s = NULL;
	int open_err = -1;

	/* Default: only the mounting user may enter the mount. */
	TAP_EQ_INT(mount_fs(&s, 2), 0);
	if (!s)
		return;
	TAP_CHECK(!mount_has_option(mnt, "allow_other"));
	TAP_CHECK(mount_has_option(mnt, "nosuid"));
	TAP_CHECK(mount_has_option(mnt, "nodev"));
	TAP_EQ_INT(as_nobody(path("hello.txt"), &open_err), EACCES);
	fm_fuse_unmount(s);

	/* allow_other lets others in; default_permissions makes the kernel check modes. */
	s = NULL;
	TAP_EQ_INT(mount_opts(&s, 2, true), 0);
	if (!s)
		return;
	TAP_CHECK(mount_has_option(mnt, "allow_other"));
	TAP_CHECK(mount_has_option(mnt, "default_permissions"));
	TAP_EQ_INT(chmod(path("rw.txt"), 0600), 0);
	TAP_EQ_INT(as_nobody(path("hello.txt"), &open_err), 0);
	TAP_EQ_INT(open_err, 0);
	TAP_EQ_INT(as_nobody(path("rw.txt"), &open_err), 0);
	TAP_EQ_INT(open_err, EACCES);
	fm_fuse_unmount(s);
}

static void t_busy_unmount(void)
{
	struct fm_fuse_session *s = NULL;
	int pipefd[2], status;
	double t0;
	pid_t pid;
	char c;

	TAP_EQ_INT(mount_fs(&s, 4), 0);
	if (!s)
		return;
	TAP_EQ_INT(pipe(pipefd), 0);
	pid = fork();
	if (pid == 0) {
		int fd;

		/*
		 * Like any other process, and unlike a child forked without exec, hold no copy
		 * of the daemon's /dev/fuse descriptors: then closing them aborts the
		 * connection (a copy would keep it alive, and our exit would wait forever on
		 * the flush of the file we hold).
		 */
		if (dup2(pipefd[1], 200) != 200)
			_exit(1);
		close_range(3, 199, 0);
		fd = open(path("hello.txt"), O_RDONLY);
		if (write(200, fd >= 0 ? "y" : "n", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	TAP_EQ_INT(read(pipefd[0], &c, 1), 1);
	TAP_EQ_INT(c, 'y');
	t0 = now_s();
	/* The child holds a file open on the mount: the unmount is lazy, then aborts. */
	fm_fuse_unmount(s);
	TAP_CHECK(now_s() - t0 < 5);
	TAP_CHECK(!in_proc_mounts(mnt));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(pipefd[0]);
	close(pipefd[1]);
}

int main(void)
{
	if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK) != 0) {
		tap_skip("fuse_dev", "needs root and /dev/fuse");
		return tap_done();
	}
	alarm(60);
	strcpy(tmpdir, "/tmp/fm-fuse-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(mnt, sizeof(mnt), "%s/mnt", tmpdir);
	snprintf(backing_path, sizeof(backing_path), "%s/backing.bin", tmpdir);
	mkdir(mnt, 0755);
	/* t_mount_options walks the path as another user. */
	chmod(tmpdir, 0755);
	fs_reset();

	TAP_RUN(t_direntry_packing);
	TAP_RUN(t_mount_errors);
	TAP_RUN(t_mount);
	if (sess) {
		TAP_RUN(t_ebusy);
		TAP_RUN(t_stat_readdir);
		TAP_RUN(t_read);
		TAP_RUN(t_write_truncate);
		TAP_RUN(t_create_unlink_rename);
		TAP_RUN(t_mkdir_rmdir);
		TAP_RUN(t_symlink);
		TAP_RUN(t_xattr);
		TAP_RUN(t_statfs);
		TAP_RUN(t_enosys);
		TAP_RUN(t_notify);
		TAP_RUN(t_child_process);
		TAP_RUN(t_held_reply);
		TAP_RUN(t_parallel_load);
		TAP_RUN(t_interrupt);
		if (fm_fuse_session_conn(sess)->passthrough)
			TAP_RUN(t_passthrough);
		else
			tap_skip("t_passthrough", "kernel did not negotiate FUSE_PASSTHROUGH");
		TAP_RUN(t_inflight_zero);
		TAP_RUN(t_unmount);
	}
	fs_reset();
	TAP_RUN(t_external_unmount);
	fs_reset();
	TAP_RUN(t_mount_options);
	fs_reset();
	TAP_RUN(t_busy_unmount);

	if (sess)
		fm_fuse_unmount(sess);
	umount2(mnt, MNT_DETACH);
	unlink(backing_path);
	rmdir(mnt);
	rmdir(tmpdir);
	return tap_done();
}
