/* fuse_uring: a minimal io_uring over the raw system calls, for the FUSE ring transport. */
#include "volume/fuse_uring.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SQE_SIZE 128u

static int uring_setup(unsigned int entries, struct io_uring_params *p)
{
	long r = syscall(__NR_io_uring_setup, entries, p);

	return r < 0 ? -errno : (int)r;
}

static int uring_enter(int fd, unsigned int to_submit, unsigned int min_complete,
		       unsigned int flags)
{
	long r = syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, NULL, 0);

	return r < 0 ? -errno : (int)r;
}

static void unmap(struct fm_uring *r)
{
	if (r->sqes && r->sqes != MAP_FAILED)
		munmap(r->sqes, r->sqes_len);
	if (r->cq_map && r->cq_map != MAP_FAILED && r->cq_map != r->sq_map)
		munmap(r->cq_map, r->cq_map_len);
	if (r->sq_map && r->sq_map != MAP_FAILED)
		munmap(r->sq_map, r->sq_map_len);
	r->sqes = NULL;
	r->cq_map = NULL;
	r->sq_map = NULL;
}

int fm_uring_init(struct fm_uring *r, unsigned int entries, unsigned int cq_entries)
{
	/*
	 * Not single-issuer and not cooperative task work: a stand-in thread submits on a ring
	 * another thread created, and a completion must interrupt the sleep of the thread that
	 * submitted its command (see ring_loop in fuse_dev.c).
	 */
	static const unsigned int flag_sets[] = {
	    IORING_SETUP_SQE128 | IORING_SETUP_CQSIZE,
	};
	struct io_uring_params p;
	char *sq, *cq;
	size_t i;
	int fd = -EINVAL;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	for (i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++) {
		memset(&p, 0, sizeof(p));
		p.flags = flag_sets[i];
		p.cq_entries = cq_entries;
		fd = uring_setup(entries, &p);
		if (fd != -EINVAL)
			break;
	}
	if (fd < 0)
		return fd;
	r->fd = fd;
	r->sq_entries = p.sq_entries;
	r->sq_map_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	r->cq_map_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		if (r->cq_map_len > r->sq_map_len)
			r->sq_map_len = r->cq_map_len;
		r->cq_map_len = r->sq_map_len;
	}
	r->sq_map = mmap(NULL, r->sq_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
			 IORING_OFF_SQ_RING);
	if (r->sq_map == MAP_FAILED)
		goto fail;
	if (p.features & IORING_FEAT_SINGLE_MMAP)
		r->cq_map = r->sq_map;
	else
		r->cq_map = mmap(NULL, r->cq_map_len, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
	if (r->cq_map == MAP_FAILED)
		goto fail;
	r->sqes_len = (size_t)p.sq_entries * SQE_SIZE;
	r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
		       IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED)
		goto fail;
	sq = r->sq_map;
	cq = r->cq_map;
	r->sq_head = (_Atomic unsigned int *)(sq + p.sq_off.head);
	r->sq_ktail = (_Atomic unsigned int *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned int *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned int *)(sq + p.sq_off.array);
	r->cq_head = (_Atomic unsigned int *)(cq + p.cq_off.head);
	r->cq_tail = (_Atomic unsigned int *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned int *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	r->sq_tail = atomic_load_explicit(r->sq_ktail, memory_order_relaxed);
	return 0;

fail:
	fd = -errno;
	unmap(r);
	close(r->fd);
	r->fd = -1;
	return fd;
}

void fm_uring_fini(struct fm_uring *r)
{
	if (r->fd < 0)
		return;
	unmap(r);
	/* Closing the ring cancels the commands still queued in the kernel. */
	close(r->fd);
	r->fd = -1;
}

struct io_uring_sqe *fm_uring_get_sqe(struct fm_uring *r)
{
	unsigned int head = atomic_load_explicit(r->sq_head, memory_order_acquire);
	unsigned int idx;
	struct io_uring_sqe *sqe;

	if (r->sq_tail - head >= r->sq_entries)
		return NULL;
	idx = r->sq_tail & *r->sq_mask;
	sqe = (struct io_uring_sqe *)(r->sqes + (size_t)idx * SQE_SIZE);
	memset(sqe, 0, SQE_SIZE);
	r->sq_array[idx] = idx;
	r->sq_tail++;
	r->to_submit++;
	return sqe;
}

int fm_uring_submit(struct fm_uring *r, bool wait)
{
	int res;

	atomic_store_explicit(r->sq_ktail, r->sq_tail, memory_order_release);
	for (;;) {
		res = uring_enter(r->fd, r->to_submit, wait ? 1 : 0,
				  wait ? IORING_ENTER_GETEVENTS : 0);
		if (res >= 0) {
			r->to_submit -=
			    (unsigned int)res < r->to_submit ? (unsigned int)res : r->to_submit;
			if (!r->to_submit || !wait)
				return 0;
			continue;
		}
		if (res != -EINTR)
			return res;
	}
}

struct io_uring_cqe *fm_uring_peek_cqe(struct fm_uring *r)
{
	unsigned int head = atomic_load_explicit(r->cq_head, memory_order_relaxed);
	unsigned int tail = atomic_load_explicit(r->cq_tail, memory_order_acquire);

	if (head == tail)
		return NULL;
	return &r->cqes[head & *r->cq_mask];
}

void fm_uring_cqe_seen(struct fm_uring *r)
{
	unsigned int head = atomic_load_explicit(r->cq_head, memory_order_relaxed);

	atomic_store_explicit(r->cq_head, head + 1, memory_order_release);
}
