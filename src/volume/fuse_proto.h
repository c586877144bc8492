/* fuse_proto: private FUSE wire definitions newer than the system's <linux/fuse.h> (7.38). */
#ifndef FM_VOLUME_FUSE_PROTO_H
#define FM_VOLUME_FUSE_PROTO_H

#include <linux/fuse.h>
#include <stdint.h>
#include <sys/ioctl.h>

/*
 * Debian 12's <linux/fuse.h> stops at protocol 7.38; the kernels we run on speak 7.40 and
 * later.  Only what this transport uses is defined here, from the kernel's documented
 * protocol (include/uapi/linux/fuse.h, "7.40: add max_stack_depth to fuse_init_out, add
 * FUSE_PASSTHROUGH init flag, add backing_id to fuse_open_out, add FOPEN_PASSTHROUGH").
 */

/* The protocol minor we speak, and the oldest kernel minor we accept (Linux 5.4). */
#define FM_FUSE_PROTO_MINOR 40
#define FM_FUSE_MIN_KERNEL_MINOR 31

/* Init flags of protocol 7.39 and 7.40 (bits 32..63 travel in init_in/init_out.flags2). */
#ifndef FUSE_DIRECT_IO_ALLOW_MMAP
#define FUSE_DIRECT_IO_ALLOW_MMAP (1ULL << 36)
#endif
#ifndef FUSE_PASSTHROUGH
#define FUSE_PASSTHROUGH (1ULL << 37)
#endif
#ifndef FUSE_NO_EXPORT_SUPPORT
#define FUSE_NO_EXPORT_SUPPORT (1ULL << 38)
#endif
#ifndef FUSE_HAS_RESEND
#define FUSE_HAS_RESEND (1ULL << 39)
#endif

/*
 * FUSE over io_uring (protocol 7.42, Linux 6.14; include/uapi/linux/fuse.h and
 * fs/fuse/dev_uring.c).  The kernel offers FUSE_OVER_IO_URING in INIT when its module
 * parameter enable_uring is set; once the reply takes it, requests go to one queue per
 * possible CPU, each served by entries the daemon registers with IORING_OP_URING_CMD on the
 * /dev/fuse descriptor (SQE128 rings).  An entry is two buffers: a header (below) and a
 * payload of at least the connection's largest argument.
 */
#ifndef FUSE_OVER_IO_URING
#define FUSE_OVER_IO_URING (1ULL << 41)
#endif

/* cmd_op of the IORING_OP_URING_CMD commands. */
#define FM_FUSE_URING_CMD_REGISTER 1u	      /* hand an entry to a queue, wait for a request */
#define FM_FUSE_URING_CMD_COMMIT_AND_FETCH 2u /* reply to its request, wait for the next */

/* The trailer of an entry's header: written by the kernel with a request, by us with a reply. */
struct fm_fuse_uring_ent_in_out {
	uint64_t flags;
	uint64_t commit_id;  /* the request's unique: what the commit names */
	uint32_t payload_sz; /* bytes used in the payload buffer, either way */
	uint32_t padding;
	uint64_t reserved;
};

/*
 * iov[0] of a registered entry.  A request: fuse_in_header in in_out, the operation's own
 * argument structure (its first argument; empty for LOOKUP-like requests) in op_in, every
 * other argument in the payload.  A reply: fuse_out_header in in_out, every out argument in
 * the payload.
 */
struct fm_fuse_uring_req_header {
	char in_out[128];
	char op_in[128];
	struct fm_fuse_uring_ent_in_out ring_ent_in_out;
};

/* In the SQE's 80-byte command area. */
struct fm_fuse_uring_cmd_req {
	uint64_t flags;
	uint64_t commit_id;
	uint16_t qid;
	uint8_t padding[6];
};

/* Open reply flag of 7.40: read/write of this open file go straight to the backing file. */
#ifndef FOPEN_PASSTHROUGH
#define FOPEN_PASSTHROUGH (1 << 7)
#endif

/* The kernel marks an interrupt request's unique with this bit (the target's unique | 1). */
#define FM_FUSE_INT_REQ_BIT (1ULL << 0)

/* fuse_lk_in.lk.end of a lock that runs to the end of the file. */
#define FM_FUSE_OFFSET_MAX ((uint64_t)INT64_MAX)

/* struct fuse_open_out as of 7.40: the old padding became backing_id. */
struct fm_fuse_open_out {
	uint64_t fh;
	uint32_t open_flags;
	int32_t backing_id;
};

/* struct fuse_init_out as of 7.40: max_stack_depth took the first unused word. */
struct fm_fuse_init_out {
	uint32_t major;
	uint32_t minor;
	uint32_t max_readahead;
	uint32_t flags;
	uint16_t max_background;
	uint16_t congestion_threshold;
	uint32_t max_write;
	uint32_t time_gran;
	uint16_t max_pages;
	uint16_t map_alignment;
	uint32_t flags2;
	uint32_t max_stack_depth;
	uint32_t unused[6];
};

/* Argument of FUSE_DEV_IOC_BACKING_OPEN: an open descriptor of the backing file. */
struct fm_fuse_backing_map {
	int32_t fd;
	uint32_t flags; /* must be 0 */
	uint64_t padding;
};

#define FM_FUSE_DEV_IOC_MAGIC 229
#define FM_FUSE_DEV_IOC_CLONE _IOR(FM_FUSE_DEV_IOC_MAGIC, 0, uint32_t)
#define FM_FUSE_DEV_IOC_BACKING_OPEN _IOW(FM_FUSE_DEV_IOC_MAGIC, 1, struct fm_fuse_backing_map)
#define FM_FUSE_DEV_IOC_BACKING_CLOSE _IOW(FM_FUSE_DEV_IOC_MAGIC, 2, uint32_t)

_Static_assert(sizeof(struct fm_fuse_open_out) == sizeof(struct fuse_open_out),
	       "fuse_open_out layout");
_Static_assert(sizeof(struct fm_fuse_init_out) == sizeof(struct fuse_init_out),
	       "fuse_init_out layout");
_Static_assert(sizeof(struct fm_fuse_backing_map) == 16, "fuse_backing_map layout");
_Static_assert(sizeof(struct fuse_in_header) == 40, "fuse_in_header layout");
_Static_assert(sizeof(struct fm_fuse_uring_ent_in_out) == 32, "fuse_uring_ent_in_out layout");
_Static_assert(sizeof(struct fm_fuse_uring_req_header) == 288, "fuse_uring_req_header layout");
_Static_assert(sizeof(struct fm_fuse_uring_cmd_req) == 24, "fuse_uring_cmd_req layout");

/*
 * For unit tests and fuzzing, not for production: a session that is not mounted and has no
 * worker threads.  Requests given to fm_fuse__session_process() are decoded and dispatched
 * exactly as a worker would, in the calling thread, and replies are written to `reply_fd`
 * (a SOCK_SEQPACKET socket keeps one message per reply).  The session starts before INIT:
 * feed it a FUSE_INIT request first, as the kernel would.  Free with
 * fm_fuse__session_free(), which calls ops->destroy if INIT succeeded; the caller keeps
 * reply_fd.
 */
struct fm_fuse_session;
struct fm_fuse_ops;
struct fm_fuse_options;
int fm_fuse__session_new(const struct fm_fuse_options *opts, const struct fm_fuse_ops *ops,
			 void *ud, int reply_fd, struct fm_fuse_session **out);
/* Process one raw request (header included); -E2BIG if it exceeds the request buffer. */
int fm_fuse__session_process(struct fm_fuse_session *s, const void *buf, size_t len);
void fm_fuse__session_free(struct fm_fuse_session *s);

#endif
