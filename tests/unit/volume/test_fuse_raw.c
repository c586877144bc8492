/* Tests of the FUSE transport's decoder without a kernel: raw requests in, replies out of a socket. */
#include "volume/fuse_dev.h"
#include "volume/fuse_proto.h"

#include "common/alloc.h"
#include "common/log.h"
#include "tap.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int sock[2]; /* [0]: the session writes replies, [1]: we read them */
static struct fm_fuse_session *sess;
static uint64_t next_unique = 2;

/* What the callbacks saw. */
static char seen_name[256], seen_value[256];
static size_t seen_size;
static int seen_to_set, seen_flags, forgets, destroyed;
static bool seen_fh;
static uint64_t seen_nodeid;
static int second_reply;
static struct fm_fuse_req *held;

/* ---- request builder ---- */

static char rbuf[1 << 16];
static size_t rlen;

static void req_begin(uint32_t opcode, uint64_t nodeid)
{
	struct fuse_in_header h = {
	    .opcode = opcode, .nodeid = nodeid, .uid = 1, .gid = 2, .pid = 3};

	next_unique += 2;
	h.unique = next_unique;
	memcpy(rbuf, &h, sizeof(h));
	rlen = sizeof(h);
}

static void req_add(const void *p, size_t n)
{
	memcpy(rbuf + rlen, p, n);
	rlen += n;
}

static void req_str(const char *s)
{
	req_add(s, strlen(s) + 1);
}

/* Send with the header's len set to what was built (or to `len_override` when not 0). */
static void req_send_len(uint32_t len_override)
{
	struct fuse_in_header *h = (struct fuse_in_header *)rbuf;

	h->len = len_override ? len_override : (uint32_t)rlen;
	fm_fuse__session_process(sess, rbuf, rlen);
}

static void req_send(void)
{
	req_send_len(0);
}

/* Next reply: its error (0 or -errno), payload copied to out; 1 if there is none. */
static int reply(void *out, size_t cap, size_t *len)
{
	char buf[1 << 16];
	struct fuse_out_header oh;
	ssize_t n = recv(sock[1], buf, sizeof(buf), MSG_DONTWAIT);

	if (n < (ssize_t)sizeof(oh))
		return 1;
	memcpy(&oh, buf, sizeof(oh));
	if (oh.len != (size_t)n)
		return 2;
	if (len)
		*len = (size_t)n - sizeof(oh);
	if (out)
		memcpy(out, buf + sizeof(oh),
		       (size_t)n - sizeof(oh) < cap ? (size_t)n - sizeof(oh) : cap);
	return oh.error;
}

static int reply_err(void)
{
	return reply(NULL, 0, NULL);
}

/* ---- ops ---- */

static void op_destroy(void *ud)
{
	(void)ud;
	destroyed++;
}

static void op_forget(void *ud, uint64_t nodeid, uint64_t nlookup)
{
	(void)ud;
	(void)nodeid;
	/* The fuzz test sends arbitrary counts. */
	if (nlookup < 100)
		forgets += (int)nlookup;
}

static void op_lookup(struct fm_fuse_req *req, uint64_t parent, const char *name)
{
	struct fm_fuse_entry e = {.nodeid = 42, .entry_timeout = 1.5};

	seen_nodeid = parent;
	snprintf(seen_name, sizeof(seen_name), "%s", name);
	e.attr.st_ino = 42;
	e.attr.st_mode = S_IFREG | 0644;
	e.attr.st_size = 7;
	fm_fuse_reply_entry(req, &e);
}

static void op_getattr(struct fm_fuse_req *req, uint64_t nodeid, const uint64_t *fh)
{
	struct stat st = {.st_ino = nodeid, .st_mode = S_IFDIR | 0755};

	seen_fh = fh && *fh == 77;
	fm_fuse_reply_attr(req, &st, 1);
}

static void op_setattr(struct fm_fuse_req *req, uint64_t nodeid, const struct stat *attr,
		       int to_set, const uint64_t *fh)
{
	seen_to_set = to_set;
	seen_fh = fh != NULL;
	seen_size = (size_t)attr->st_size;
	(void)nodeid;
	fm_fuse_reply_attr(req, attr, 0);
}

static void op_write(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, const void *buf,
		     size_t size, off_t off, int flags)
{
	(void)nodeid;
	(void)fh;
	(void)off;
	(void)flags;
	seen_size = size;
	memcpy(seen_value, buf, size < sizeof(seen_value) ? size : sizeof(seen_value));
	fm_fuse_reply_write(req, size);
}

static void op_setxattr(struct fm_fuse_req *req, uint64_t nodeid, const char *name,
			const void *value, size_t size, int flags)
{
	(void)nodeid;
	snprintf(seen_name, sizeof(seen_name), "%s", name);
	memcpy(seen_value, value, size < sizeof(seen_value) ? size : sizeof(seen_value));
	seen_size = size;
	seen_flags = flags;
	fm_fuse_reply_err(req, 0);
}

/* Forgets to answer: the transport must answer EIO for it. */
static void op_unlink(struct fm_fuse_req *req, uint64_t parent, const char *name)
{
	(void)req;
	(void)parent;
	(void)name;
}

/* Answers twice: the second must be refused. */
static void op_rmdir(struct fm_fuse_req *req, uint64_t parent, const char *name)
{
	(void)parent;
	(void)name;
	fm_fuse_reply_err(req, ENOTEMPTY);
	second_reply = fm_fuse_reply_err(req, 0);
}

/* Holds the request for the test to answer later. */
static void op_read(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, size_t size, off_t off,
		    int flags)
{
	(void)nodeid;
	(void)fh;
	(void)off;
	(void)flags;
	seen_size = size;
	held = fm_fuse_req_hold(req);
	if (!held)
		fm_fuse_reply_err(req, ENOMEM);
}

static void op_create(struct fm_fuse_req *req, uint64_t parent, const char *name, mode_t mode,
		      int flags)
{
	struct fm_fuse_entry e = {.nodeid = 50};
	struct fm_fuse_open o = {.fh = 9, .direct_io = true, .backing_id = 3};

	(void)parent;
	(void)flags;
	snprintf(seen_name, sizeof(seen_name), "%s", name);
	seen_flags = (int)fm_fuse_req_ctx(req)->umask;
	e.attr.st_mode = mode;
	fm_fuse_reply_create(req, &e, &o);
}

static const struct fm_fuse_ops ops = {
    .destroy = op_destroy,
    .forget = op_forget,
    .lookup = op_lookup,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .write = op_write,
    .setxattr = op_setxattr,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .read = op_read,
    .create = op_create,
};

static struct flock seen_lock;
static bool seen_sleep, seen_is_flock;

static void op_getlk(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, uint64_t owner,
		     const struct flock *lock)
{
	struct flock conflict = {.l_type = F_WRLCK, .l_start = 100, .l_len = 0, .l_pid = 77};

	(void)nodeid;
	(void)fh;
	(void)owner;
	seen_lock = *lock;
	fm_fuse_reply_lock(req, &conflict);
}

static void op_setlk(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, uint64_t owner,
		     const struct flock *lock, bool sleep, bool is_flock)
{
	(void)nodeid;
	(void)fh;
	(void)owner;
	seen_lock = *lock;
	seen_sleep = sleep;
	seen_is_flock = is_flock;
	fm_fuse_reply_err(req, 0);
}

static void op_readdirplus(struct fm_fuse_req *req, uint64_t nodeid, uint64_t fh, size_t size,
			   off_t off)
{
	struct fm_fuse_entry e = {.nodeid = 5};
	char *buf = fm_fuse_req_scratch(req, size);
	size_t used = 0;

	(void)nodeid;
	(void)fh;
	e.attr.st_ino = 5;
	e.attr.st_mode = S_IFREG;
	if (off == 0 && buf)
		used = fm_fuse_add_direntry_plus(buf, size, "f", &e, 1);
	if (used > size)
		used = 0;
	fm_fuse_reply_buf(req, buf, used);
}

static const struct fm_fuse_ops lk_ops = {
    .getlk = op_getlk,
    .setlk = op_setlk,
    .readdirplus = op_readdirplus,
};

/* ---- helpers ---- */

static int send_init(uint32_t major, uint32_t minor, uint64_t flags, struct fm_fuse_init_out *out,
		     size_t *outlen)
{
	struct fuse_init_in in = {.major = major, .minor = minor, .max_readahead = 131072};

	in.flags = (uint32_t)flags;
	in.flags2 = (uint32_t)(flags >> 32);
	req_begin(FUSE_INIT, 0);
	req_add(&in, sizeof(in));
	req_send();
	memset(out, 0, sizeof(*out));
	return reply(out, sizeof(*out), outlen);
}

static void new_session_ops(bool passthrough, const struct fm_fuse_ops *o_ops)
{
	struct fm_fuse_options o = {.want_passthrough = passthrough};

	if (sess)
		fm_fuse__session_free(sess);
	sess = NULL;
	TAP_EQ_INT(fm_fuse__session_new(&o, o_ops, NULL, sock[0], &sess), 0);
}

static void new_session(bool passthrough)
{
	new_session_ops(passthrough, &ops);
}

static const uint64_t all_kernel_flags = 0xffffffffffULL & ~(uint64_t)(uint32_t)FUSE_INIT_RESERVED;

/* ---- cases ---- */

static void t_init_negotiation(void)
{
	struct fm_fuse_init_out out;
	size_t len = 0;
	uint64_t agreed;

	new_session(true);
	/* Before INIT nothing else is served. */
	req_begin(FUSE_LOOKUP, 1);
	req_str("x");
	req_send();
	TAP_EQ_INT(reply_err(), -EIO);

	TAP_EQ_INT(send_init(7, 45, all_kernel_flags, &out, &len), 0);
	TAP_EQ_INT(len, sizeof(out));
	TAP_EQ_INT(out.major, 7);
	TAP_EQ_INT(out.minor, FM_FUSE_PROTO_MINOR);
	agreed = out.flags | (uint64_t)out.flags2 << 32;
	TAP_CHECK(agreed & FUSE_ASYNC_READ);
	TAP_CHECK(agreed & FUSE_PARALLEL_DIROPS);
	TAP_CHECK(agreed & FUSE_MAX_PAGES);
	TAP_CHECK(agreed & FUSE_INIT_EXT);
	TAP_CHECK(agreed & FUSE_SETXATTR_EXT);
	TAP_CHECK(agreed & FUSE_PASSTHROUGH);
	TAP_CHECK(!(agreed & FUSE_WRITEBACK_CACHE));
	TAP_CHECK(!(agreed & FUSE_DONT_MASK));
	/* No readdirplus or setlk op: neither readdirplus nor remote locks. */
	TAP_CHECK(!(agreed & FUSE_DO_READDIRPLUS));
	TAP_CHECK(!(agreed & FUSE_POSIX_LOCKS));
	TAP_CHECK(!(agreed & FUSE_FLOCK_LOCKS));
	TAP_EQ_INT(out.max_write, 1 << 20);
	TAP_EQ_INT(out.max_pages, 256);
	TAP_EQ_INT(out.max_stack_depth, 1);
	TAP_EQ_INT(out.max_readahead, 131072);
	TAP_CHECK(fm_fuse_session_conn(sess)->passthrough);
	/* A second INIT is refused. */
	TAP_EQ_INT(send_init(7, 45, all_kernel_flags, &out, &len), -EIO);
}

static void t_init_without_offer(void)
{
	struct fm_fuse_init_out out;
	uint64_t agreed;

	/* Passthrough wanted but a 7.38 kernel without INIT_EXT: not negotiated. */
	new_session(true);
	TAP_EQ_INT(send_init(7, 38, 0xffffffffULL & ~(uint64_t)FUSE_INIT_EXT, &out, NULL), 0);
	agreed = out.flags | (uint64_t)out.flags2 << 32;
	TAP_CHECK(!(agreed & FUSE_PASSTHROUGH));
	TAP_EQ_INT(out.flags2, 0);
	TAP_EQ_INT(out.max_stack_depth, 0);
	TAP_CHECK(!fm_fuse_session_conn(sess)->passthrough);
	TAP_EQ_INT(fm_fuse_session_conn(sess)->proto_minor, 38);
	/* Not wanted: not negotiated even if offered. */
	new_session(false);
	TAP_EQ_INT(send_init(7, 45, all_kernel_flags, &out, NULL), 0);
	TAP_CHECK(!((out.flags | (uint64_t)out.flags2 << 32) & FUSE_PASSTHROUGH));
}

static void t_init_versions(void)
{
	struct fm_fuse_init_out out;
	size_t len = 0;

	new_session(false);
	/* A newer major: we answer with ours and wait for a new INIT. */
	TAP_EQ_INT(send_init(8, 0, 0, &out, &len), 0);
	TAP_EQ_INT(len, FUSE_COMPAT_INIT_OUT_SIZE);
	TAP_EQ_INT(out.major, 7);
	TAP_EQ_INT(send_init(7, 40, all_kernel_flags, &out, &len), 0);
	TAP_EQ_INT(len, sizeof(out));
	/* Too old a kernel. */
	new_session(false);
	TAP_EQ_INT(send_init(7, 20, 0, &out, NULL), -EPROTO);
	/* A truncated init_in. */
	new_session(false);
	req_begin(FUSE_INIT, 0);
	req_add("\7\0\0\0", 4);
	req_send();
	TAP_EQ_INT(reply_err(), -EIO);
}

static void init_ok(void)
{
	struct fm_fuse_init_out out;

	new_session(true);
	send_init(7, 45, all_kernel_flags, &out, NULL);
}

static void t_decode_lookup(void)
{
	struct fuse_entry_out eo;
	size_t len = 0;

	init_ok();
	req_begin(FUSE_LOOKUP, 5);
	req_str("name.txt");
	req_send();
	TAP_EQ_INT(reply(&eo, sizeof(eo), &len), 0);
	TAP_EQ_INT(len, sizeof(eo));
	TAP_EQ_INT(eo.nodeid, 42);
	TAP_EQ_INT(eo.entry_valid, 1);
	TAP_EQ_INT(eo.entry_valid_nsec, 500000000);
	TAP_EQ_INT(eo.attr.size, 7);
	TAP_EQ_STR(seen_name, "name.txt");
	TAP_EQ_INT(seen_nodeid, 5);
	/* A name without its NUL. */
	req_begin(FUSE_LOOKUP, 5);
	req_add("abc", 3);
	req_send();
	TAP_EQ_INT(reply_err(), -EINVAL);
	/* An extension after the name is not part of it. */
	req_begin(FUSE_LOOKUP, 5);
	req_add("ext\0\0\0\0\0", 8);
	req_add("XXXXXXXX", 8);
	((struct fuse_in_header *)rbuf)->total_extlen = 1;
	req_send();
	TAP_EQ_INT(reply(&eo, sizeof(eo), NULL), 0);
	TAP_EQ_STR(seen_name, "ext");
	/* Extensions longer than the request. */
	req_begin(FUSE_LOOKUP, 5);
	req_str("a");
	((struct fuse_in_header *)rbuf)->total_extlen = 100;
	req_send();
	TAP_EQ_INT(reply_err(), -EIO);
	/* Header length disagreeing with what was read. */
	req_begin(FUSE_LOOKUP, 5);
	req_str("a");
	req_send_len(1000);
	TAP_EQ_INT(reply_err(), -EIO);
	/* Shorter than a header: dropped, nothing to answer. */
	fm_fuse__session_process(sess, rbuf, 10);
	TAP_EQ_INT(reply_err(), 1);
}

static void t_decode_args(void)
{
	struct fuse_getattr_in ga = {.getattr_flags = FUSE_GETATTR_FH, .fh = 77};
	struct fuse_setattr_in sa = {.valid = FATTR_SIZE | FATTR_ATIME | FATTR_ATIME_NOW |
					      FATTR_FH | FATTR_KILL_SUIDGID,
				     .size = 12345};
	struct fuse_write_in wi = {.size = 5, .offset = 3};
	struct fuse_setxattr_in xi = {.size = 3, .flags = 1};
	struct fuse_create_in ci = {.flags = 0101, .mode = S_IFREG | 0600, .umask = 022};
	struct fm_fuse_open_out oo;
	char both[sizeof(struct fuse_entry_out) + sizeof(oo)];
	size_t len = 0;

	init_ok();
	req_begin(FUSE_GETATTR, 1);
	req_add(&ga, sizeof(ga));
	req_send();
	TAP_EQ_INT(reply_err(), 0);
	TAP_CHECK(seen_fh);
	/* Truncated getattr_in. */
	req_begin(FUSE_GETATTR, 1);
	req_add(&ga, 4);
	req_send();
	TAP_EQ_INT(reply_err(), -EINVAL);

	req_begin(FUSE_SETATTR, 1);
	req_add(&sa, sizeof(sa));
	req_send();
	TAP_EQ_INT(reply_err(), 0);
	TAP_EQ_INT(seen_to_set,
		   FM_SET_SIZE | FM_SET_ATIME | FM_SET_ATIME_NOW | FM_SET_KILL_SUIDGID);
	TAP_CHECK(seen_fh);
	TAP_EQ_INT(seen_size, 12345);

	req_begin(FUSE_WRITE, 1);
	req_add(&wi, sizeof(wi));
	req_add("hello", 5);
	req_send();
	TAP_EQ_INT(reply_err(), 0);
	TAP_EQ_INT(seen_size, 5);
	TAP_CHECK(memcmp(seen_value, "hello", 5) == 0);
	/* Write data shorter than announced. */
	req_begin(FUSE_WRITE, 1);
	req_add(&wi, sizeof(wi));
	req_add("hel", 3);
	req_send();
	TAP_EQ_INT(reply_err(), -EINVAL);

	/* SETXATTR_EXT was agreed: the 16-byte header. */
	req_begin(FUSE_SETXATTR, 1);
	req_add(&xi, sizeof(xi));
	req_str("user.a");
	req_add("v\0w", 3);
	req_send();
	TAP_EQ_INT(reply_err(), 0);
	TAP_EQ_STR(seen_name, "user.a");
	TAP_EQ_INT(seen_size, 3);
	TAP_CHECK(memcmp(seen_value, "v\0w", 3) == 0);
	TAP_EQ_INT(seen_flags, 1);
	/* Value shorter than its size. */
	req_begin(FUSE_SETXATTR, 1);
	req_add(&xi, sizeof(xi));
	req_str("user.a");
	req_add("v", 1);
	req_send();
	TAP_EQ_INT(reply_err(), -EINVAL);

	req_begin(FUSE_CREATE, 1);
	req_add(&ci, sizeof(ci));
	req_str("new");
	req_send();
	TAP_EQ_INT(reply(both, sizeof(both), &len), 0);
	TAP_EQ_INT(len, sizeof(both));
	memcpy(&oo, both + sizeof(struct fuse_entry_out), sizeof(oo));
	TAP_EQ_INT(oo.fh, 9);
	TAP_EQ_INT(oo.open_flags, FOPEN_DIRECT_IO | FOPEN_PASSTHROUGH);
	TAP_EQ_INT(oo.backing_id, 3);
	TAP_EQ_INT(seen_flags, 022);
	TAP_EQ_STR(seen_name, "new");
}

static void t_locks_readdirplus(void)
{
	struct fm_fuse_init_out out;
	struct fuse_lk_in li = {.fh = 1, .owner = 2};
	struct fuse_lk_out lo;
	struct fuse_read_in ri = {.size = 4096};
	char buf[4096];
	struct fuse_direntplus dp;
	uint64_t agreed;
	size_t len = 0;

	new_session_ops(false, &lk_ops);
	TAP_EQ_INT(send_init(7, 45, all_kernel_flags, &out, NULL), 0);
	agreed = out.flags | (uint64_t)out.flags2 << 32;
	TAP_CHECK(agreed & FUSE_POSIX_LOCKS);
	TAP_CHECK(agreed & FUSE_FLOCK_LOCKS);
	TAP_CHECK(agreed & FUSE_DO_READDIRPLUS);
	TAP_CHECK(agreed & FUSE_READDIRPLUS_AUTO);

	/* Bytes 10..19 as the kernel sends them: start and inclusive end. */
	li.lk.start = 10;
	li.lk.end = 19;
	li.lk.type = F_RDLCK;
	li.lk.pid = 1234;
	req_begin(FUSE_GETLK, 1);
	req_add(&li, sizeof(li));
	req_send();
	TAP_EQ_INT(reply(&lo, sizeof(lo), &len), 0);
	TAP_EQ_INT(len, sizeof(lo));
	TAP_EQ_INT(seen_lock.l_start, 10);
	TAP_EQ_INT(seen_lock.l_len, 10);
	TAP_EQ_INT(seen_lock.l_type, F_RDLCK);
	TAP_EQ_INT(seen_lock.l_pid, 1234);
	/* The conflicting lock to the end of the file comes back with end = OFFSET_MAX. */
	TAP_EQ_INT(lo.lk.type, F_WRLCK);
	TAP_EQ_INT(lo.lk.start, 100);
	TAP_CHECK(lo.lk.end == (uint64_t)INT64_MAX);
	TAP_EQ_INT(lo.lk.pid, 77);

	li.lk.end = (uint64_t)INT64_MAX;
	li.lk_flags = FUSE_LK_FLOCK;
	req_begin(FUSE_SETLKW, 1);
	req_add(&li, sizeof(li));
	req_send();
	TAP_EQ_INT(reply_err(), 0);
	TAP_EQ_INT(seen_lock.l_len, 0);
	TAP_CHECK(seen_sleep);
	TAP_CHECK(seen_is_flock);
	li.lk_flags = 0;
	req_begin(FUSE_SETLK, 1);
	req_add(&li, sizeof(li));
	req_send();
	TAP_EQ_INT(reply_err(), 0);
	TAP_CHECK(!seen_sleep);
	TAP_CHECK(!seen_is_flock);

	req_begin(FUSE_READDIRPLUS, 1);
	req_add(&ri, sizeof(ri));
	req_send();
	TAP_EQ_INT(reply(buf, sizeof(buf), &len), 0);
	TAP_EQ_INT(len, FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS + 1));
	memcpy(&dp, buf, sizeof(dp));
	TAP_EQ_INT(dp.entry_out.nodeid, 5);
	TAP_EQ_INT(dp.dirent.namelen, 1);
	TAP_EQ_INT(dp.dirent.off, 1);
	TAP_EQ_INT(buf[FUSE_NAME_OFFSET_DIRENTPLUS], 'f');
	/* Plain readdir has no op here. */
	req_begin(FUSE_READDIR, 1);
	req_add(&ri, sizeof(ri));
	req_send();
	TAP_EQ_INT(reply_err(), -ENOSYS);
}

static void t_enosys(void)
{
	struct fuse_mknod_in mi = {.mode = S_IFIFO | 0644};

	init_ok();
	/* No mknod op. */
	req_begin(FUSE_MKNOD, 1);
	req_add(&mi, sizeof(mi));
	req_str("fifo");
	req_send();
	TAP_EQ_INT(reply_err(), -ENOSYS);
	/* Opcodes we do not decode, and ones that do not exist. */
	req_begin(FUSE_IOCTL, 1);
	req_send();
	TAP_EQ_INT(reply_err(), -ENOSYS);
	req_begin(FUSE_BMAP, 1);
	req_send();
	TAP_EQ_INT(reply_err(), -ENOSYS);
	req_begin(9999, 1);
	req_send();
	TAP_EQ_INT(reply_err(), -ENOSYS);
	req_begin(0, 1);
	req_send();
	TAP_EQ_INT(reply_err(), -ENOSYS);
}

static void t_noreply_messages(void)
{
	struct fuse_forget_in fi = {.nlookup = 3};
	struct fuse_batch_forget_in bi = {.count = 1000};
	struct fuse_forget_one one = {.nodeid = 7, .nlookup = 2};

	init_ok();
	forgets = 0;
	req_begin(FUSE_FORGET, 7);
	req_add(&fi, sizeof(fi));
	req_send();
	TAP_EQ_INT(reply_err(), 1);
	TAP_EQ_INT(forgets, 3);
	/* A batch announcing more entries than it carries: only those present count. */
	req_begin(FUSE_BATCH_FORGET, 0);
	req_add(&bi, sizeof(bi));
	req_add(&one, sizeof(one));
	req_add(&one, sizeof(one));
	req_send();
	TAP_EQ_INT(reply_err(), 1);
	TAP_EQ_INT(forgets, 7);
	TAP_EQ_INT(fm_fuse_session_inflight(sess), 0);
}

static void t_exactly_once(void)
{
	init_ok();
	/* A callback that does not answer: the transport answers EIO. */
	req_begin(FUSE_UNLINK, 1);
	req_str("f");
	req_send();
	TAP_EQ_INT(reply_err(), -EIO);
	TAP_EQ_INT(reply_err(), 1);
	/* A callback that answers twice: one reply reaches the kernel. */
	req_begin(FUSE_RMDIR, 1);
	req_str("d");
	req_send();
	TAP_EQ_INT(reply_err(), -ENOTEMPTY);
	TAP_EQ_INT(reply_err(), 1);
	TAP_EQ_INT(second_reply, -EINVAL);
	TAP_EQ_INT(fm_fuse_session_inflight(sess), 0);
}

static void t_hold_and_interrupt(void)
{
	struct fuse_read_in ri = {.size = 4};
	struct fuse_interrupt_in ii;
	struct fuse_in_header *h = (struct fuse_in_header *)rbuf;
	char data[16];
	size_t len = 0;
	uint64_t target;

	init_ok();
	held = NULL;
	req_begin(FUSE_READ, 1);
	req_add(&ri, sizeof(ri));
	req_send();
	target = h->unique;
	TAP_CHECK(held != NULL);
	TAP_EQ_INT(reply_err(), 1); /* not answered yet */
	TAP_EQ_INT(fm_fuse_session_inflight(sess), 1);
	TAP_CHECK(!fm_fuse_req_interrupted(held));
	/* The kernel interrupts it: flag set, nothing answered for the interrupt. */
	ii.unique = target;
	req_begin(FUSE_INTERRUPT, 0);
	h->unique = target | 1;
	req_add(&ii, sizeof(ii));
	req_send();
	TAP_EQ_INT(reply_err(), 1);
	TAP_CHECK(fm_fuse_req_interrupted(held));
	/* An interrupt for a request we do not know (yet): EAGAIN, so the kernel retries. */
	ii.unique = 999998;
	req_begin(FUSE_INTERRUPT, 0);
	h->unique = 999999;
	req_add(&ii, sizeof(ii));
	req_send();
	TAP_EQ_INT(reply_err(), -EAGAIN);
	/* A reply bigger than what was asked for is refused and answered EIO. */
	TAP_EQ_INT(fm_fuse_reply_buf(held, "too long", 8), -EINVAL);
	TAP_EQ_INT(reply(data, sizeof(data), &len), -EIO);
	TAP_EQ_INT(fm_fuse_session_inflight(sess), 0);

	/* A held request answered normally. */
	held = NULL;
	req_begin(FUSE_READ, 1);
	req_add(&ri, sizeof(ri));
	req_send();
	TAP_CHECK(held != NULL);
	TAP_EQ_INT(fm_fuse_reply_buf(held, "data", 4), 0);
	TAP_EQ_INT(reply(data, sizeof(data), &len), 0);
	TAP_EQ_INT(len, 4);
	TAP_CHECK(memcmp(data, "data", 4) == 0);
	TAP_EQ_INT(fm_fuse_session_inflight(sess), 0);

	/* Out of memory while holding: the callback still answers the original. */
	held = NULL;
	fm_alloc_fail_after(0);
	req_begin(FUSE_READ, 1);
	req_add(&ri, sizeof(ri));
	req_send();
	fm_alloc_fail_after(-1);
	TAP_CHECK(held == NULL);
	TAP_EQ_INT(reply_err(), -ENOMEM);
	TAP_EQ_INT(fm_fuse_session_inflight(sess), 0);
}

/* Truncations and random bytes for every opcode: never a crash, never two replies. */
static void t_fuzz(void)
{
	static const uint32_t opcodes[] = {1,  2,  3,  4,  5,  6,  8,  9,  10, 11, 12, 13, 14, 15,
					   16, 17, 18, 20, 21, 22, 23, 24, 25, 27, 28, 29, 30, 31,
					   32, 33, 34, 35, 36, 38, 42, 43, 44, 45, 46, 47, 52};
	unsigned int seed = 12345;
	size_t i, cut, k;
	int replies, extra = 0;

	init_ok();
	for (i = 0; i < sizeof(opcodes) / sizeof(opcodes[0]); i++) {
		for (cut = 0; cut < 96; cut++) {
			req_begin(opcodes[i], 1 + (rand_r(&seed) % 3));
			for (k = 0; k < cut; k++) {
				char b = (char)(rand_r(&seed) & 0xff);

				/* Mostly small values, so that sizes in the arguments bite. */
				if (rand_r(&seed) % 2)
					b = (char)(b & 0x07);
				req_add(&b, 1);
			}
			held = NULL;
			req_send();
			if (held)
				fm_fuse_reply_err(held, EIO);
			replies = 0;
			while (reply_err() != 1)
				replies++;
			if (replies > 1)
				extra++;
		}
	}
	TAP_EQ_INT(extra, 0);
	TAP_EQ_INT(fm_fuse_session_inflight(sess), 0);
}

static void t_destroy(void)
{
	init_ok();
	destroyed = 0;
	fm_fuse__session_free(sess);
	sess = NULL;
	TAP_EQ_INT(destroyed, 1);
	/* Never initialized: no destroy. */
	new_session(false);
	fm_fuse__session_free(sess);
	sess = NULL;
	TAP_EQ_INT(destroyed, 1);
}

int main(void)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sock) < 0) {
		perror("socketpair");
		return 1;
	}
	alarm(60);
	/* The fuzz case makes the transport log every malformed request. */
	fm_log_open(NULL, FM_LOG_ERROR);
	TAP_RUN(t_init_negotiation);
	TAP_RUN(t_init_without_offer);
	TAP_RUN(t_init_versions);
	TAP_RUN(t_decode_lookup);
	TAP_RUN(t_decode_args);
	TAP_RUN(t_locks_readdirplus);
	TAP_RUN(t_enosys);
	TAP_RUN(t_noreply_messages);
	TAP_RUN(t_exactly_once);
	TAP_RUN(t_hold_and_interrupt);
	TAP_RUN(t_fuzz);
	TAP_RUN(t_destroy);
	if (sess)
		fm_fuse__session_free(sess);
	close(sock[0]);
	close(sock[1]);
	return tap_done();
}
