/* fuse_uring: a minimal io_uring (raw system calls, no liburing) for the FUSE ring transport. */
#ifndef FM_VOLUME_FUSE_URING_H
#define FM_VOLUME_FUSE_URING_H

#include <linux/io_uring.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One ring with 128-byte submission entries (IORING_SETUP_SQE128, which URING_CMDs on
 * /dev/fuse need), used by exactly one thread: the one that created it (the kernel is told so
 * where it can be, IORING_SETUP_SINGLE_ISSUER).  Completions of commands it submitted are
 * delivered to that thread.
 */
struct fm_uring {
	int fd;
	unsigned int sq_entries;
	unsigned int sq_tail; /* local: SQEs prepared, published by fm_uring_submit */
	unsigned int to_submit;
	_Atomic unsigned int *sq_head, *sq_ktail;
	unsigned int *sq_mask, *sq_array;
	_Atomic unsigned int *cq_head, *cq_tail;
	unsigned int *cq_mask;
	struct io_uring_cqe *cqes;
	char *sqes; /* sq_entries x 128 bytes */
	void *sq_map, *cq_map;
	size_t sq_map_len, cq_map_len, sqes_len;
};

/*
 * A ring of `entries` submission slots and room for `cq_entries` completions not consumed
 * yet.  0 or -errno (-EPERM / -ENOSYS: io_uring disabled or missing).
 */
int fm_uring_init(struct fm_uring *r, unsigned int entries, unsigned int cq_entries);
void fm_uring_fini(struct fm_uring *r);

/* A zeroed 128-byte SQE to fill, or NULL when the submission queue is full. */
struct io_uring_sqe *fm_uring_get_sqe(struct fm_uring *r);
/* The 80-byte command area of a 128-byte SQE. */
static inline void *fm_uring_sqe_cmd(struct io_uring_sqe *sqe)
{
	return (char *)sqe + 48;
}

/*
 * Submit what was prepared and, if wait, block until at least one completion is there
 * (EINTR retried).  Returns 0 or -errno.
 */
int fm_uring_submit(struct fm_uring *r, bool wait);

/* The oldest completion not yet consumed, or NULL; consume it with fm_uring_cqe_seen. */
struct io_uring_cqe *fm_uring_peek_cqe(struct fm_uring *r);
void fm_uring_cqe_seen(struct fm_uring *r);

#endif
