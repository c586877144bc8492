/* fuse_dev: the kernel FUSE protocol over /dev/fuse: mount, worker threads, decoding, replies. */
#include "volume/fuse_dev.h"
#include "volume/fiber.h"
#include "volume/fuse_proto.h"
#include "volume/fuse_uring.h"

#include "common/alloc.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define TAG "fuse"

/* Thread-local accessors a fiber may call on different threads: never inlined nor analysed. */
#if defined(__clang__)
#define NOIPA_TLS __attribute__((noinline, optnone))
#else
#define NOIPA_TLS __attribute__((noipa))
#endif

#define DEFAULT_THREADS 4
#define MAX_THREADS 64
/* Workers are added, up to this many, when none is left waiting for requests. */
#define GROW_THREADS 16
#define DEFAULT_MAX_WRITE (1u << 20)
#define MIN_MAX_WRITE 4096u
/* The kernel caps max_pages at fs.fuse.max_pages_limit, 256 by default. */
#define MAX_PAGES_LIMIT 256u
/* Room for the largest request header + arguments besides the data: setxattr's 64 KiB value. */
#define REQ_OVERHEAD (64u * 1024 + 2 * 4096)
#define INIT_TIMEOUT_MS 10000
/* How long unmount lets workers see ENODEV by themselves before it aborts the connection. */
#define STOP_GRACE_MS 500
/* How long unmount waits for held requests to be answered. */
#define HELD_DRAIN_MS 10000
#define INFLIGHT_BUCKETS 64
/* Interrupts remembered per in-flight bucket for requests not read yet (io_uring). */
#define EARLY_INTR 4
/* Requests up to this size are copied onto their fiber, so the worker keeps its buffer. */
#define SMALL_REQ 4096
/* Finished fibers kept for reuse, and spare request/scratch buffers kept per session. */
#define IDLE_FIBERS 64
#define SPARE_BUFS 8
/*
 * Entries each io_uring queue registers at first; when fewer than URING_LOW are left with the
 * kernel (the others hold requests, suspended ones included) it registers URING_GROW more, up
 * to URING_MAX (see "The io_uring transport" in docs/volume.md).
 */
#define URING_ENTRIES 32
#define URING_LOW 16
#define URING_GROW 32
#define URING_MAX 1024
/* Submission queue of a ring (refilled as often as needed); its completion queue holds one
 * completion per entry and the wake-up read. */
#define URING_SQ 64
/* How long INIT waits for the ring threads to set up, then to register. */
#define URING_START_MS 5000
/* user_data of a ring thread's eventfd read (entries use their address). */
#define URING_WAKE_TAG 1u
/*
 * Threads that may serve one queue: its ring thread and the stand-ins the watchdog adds when
 * every one of them has been inside a request for a whole tick (URING_WATCH_MS) or more.
 */
#define URING_THREADS 8
#define URING_WATCH_MS 20
#define REQ_MAGIC 0x66757271u
#define REQ_DEAD 0xdeadfa11u

enum req_state { REQ_IDLE, REQ_ACTIVE, REQ_MOVED, REQ_ANSWERED };

struct fm_fuse_req {
	uint32_t magic;
	_Atomic int state; /* enum req_state: exactly one transition out of REQ_ACTIVE */
	_Atomic bool interrupted;
	bool held;
	bool kill_suidgid;
	bool cache_write; /* a WRITE with FUSE_WRITE_CACHE: page-cache writeback */
	int fd;		  /* the clone it was read from: the kernel only accepts the reply there */
	struct ring_ent *ent; /* the io_uring entry it came in, whose commit replies; or NULL */
	uint32_t opcode;
	uint32_t max_out; /* largest variable reply the kernel accepts; 0 = not checked */
	uint64_t unique;
	uint64_t nodeid;
	struct fm_fuse_ctx ctx;
	struct fm_fuse_session *s;
	struct worker *w;	  /* NULL once held, and for requests on a fiber (see task) */
	struct task *task;	  /* the fiber serving it, or NULL */
	struct fm_fuse_req *next; /* in-flight hash chain, guarded by its bucket's lock */
	/* Called once by a FUSE_INTERRUPT while the request is suspended; its bucket's lock. */
	void (*intr_fn)(void *arg);
	void *intr_arg;
	int intr_calls; /* interrupt callbacks running now; its bucket's lock */
};

/*
 * One request served on a fiber, in the fiber's own storage.  Its bytes are a copy when small;
 * a large one (write data, xattr values) stays in the worker's buffer, and the request takes
 * that buffer (and the scratch buffer, if it uses it) with it when it suspends: the worker
 * then gets fresh ones.  Only the fiber itself touches these fields.
 */
struct task {
	struct fm_fuse_req req;
	struct fm_fiber *fiber;
	struct worker *w; /* whose buffers it borrows; NULL once it owns what it uses */
	char *buf;	  /* the request's bytes */
	size_t n;
	char *scratch; /* from fm_fuse_req_scratch, or NULL */
	bool own_buf, own_scratch;
	_Alignas(8) char small[SMALL_REQ]; /* the kernel's structures need 8-byte alignment */
};

struct worker {
	struct fm_fuse_session *s;
	pthread_t thread;
	bool started;
	bool live; /* guarded by s->lock: false once the thread left its loop */
	int fd;
	char *buf;		  /* NULL after a suspended request took it */
	char *scratch;		  /* allocated when first needed */
	struct fm_fuse_req req;	  /* the request being served without a fiber; reused */
	struct ring_ent *cur_ent; /* a ring thread's entry being handed to handle_request */
};

/*
 * FUSE over io_uring.  One queue per possible CPU, each served by a ring thread pinned to that
 * CPU with its own io_uring, on which it keeps entries registered.  The kernel
 * queues a request on the queue of the CPU its caller runs on and completes one of that
 * queue's commands with it, in the ring thread (task work), so the request, its handling and
 * the reply stay on that CPU.  The ring thread rebuilds the classic message and hands it to
 * handle_request as a /dev/fuse worker would; the reply goes back as the entry's
 * COMMIT_AND_FETCH, which also waits for the entry's next request.  A reply made on another
 * thread (a request that suspended and finished on a continuation thread) is queued to the
 * ring thread, which alone submits on its ring: io_uring delivers completions (the next
 * request) to the submitting task.
 */
struct ring_ent {
	struct ring_q *q;
	struct fm_fuse_uring_req_header *hdr;
	char *payload;
	struct iovec iov[2];   /* what REGISTER names: header, payload */
	uint64_t commit_id;    /* the unique of the request it holds */
	uint32_t last_cmd;     /* the command it was last submitted with; own */
	struct ring_ent *next; /* on a queue's done stack or local list */
};

/* A thread serving a queue: its ring thread (threads[0]) or a stand-in. */
struct ring_thread {
	struct ring_q *q;
	pthread_t thread;
	bool started;
	struct worker w; /* request and scratch buffers, as a worker's */
};

struct ring_q {
	struct fm_fuse_session *s;
	unsigned int qid;
	/*
	 * Held by the one thread that waits for and takes the ring's completions, submits, and
	 * touches the fields marked "own"; let go while that thread serves a request, so that a
	 * stand-in can go on taking the queue's requests if the request waits in place.
	 */
	pthread_mutex_t own;
	bool stop;		      /* own: the session stops; every thread of the queue leaves */
	bool ring_ready;	      /* the ring was set up (ring thread, before anything else) */
	_Atomic unsigned int serving; /* threads inside a request */
	_Atomic unsigned int nthreads; /* threads[] started; the watchdog adds */
	_Atomic uint64_t taken;	       /* requests taken: progress, for the watchdog */
	uint64_t seen_taken;	       /* the watchdog's last look */
	bool seen_stalled;
	struct ring_thread threads[URING_THREADS];
	int efd;	  /* eventfd: replies were queued, or the session stops */
	uint64_t efd_val; /* the eventfd read's buffer */
	struct fm_uring ring;
	struct ring_ent **ents; /* nents of cap; own */
	unsigned int nents, cap;
	unsigned int nfree;		 /* entries the kernel has, waiting for a request; own */
	size_t payload;			 /* each entry's payload buffer */
	_Atomic(struct ring_ent *) done; /* replies made on other threads: a lock-free stack */
	struct ring_ent *local;		 /* replies to commit; own */
	int state;			 /* enum ring_state; s->lock */
	int err;			 /* why it failed; s->lock */
};

enum ring_state { RING_NEW, RING_READY, RING_REGISTERED, RING_FAILED };

struct fm_fuse_session {
	char *mountpoint; /* canonical path */
	struct fm_fuse_ops ops;
	void *ud;
	int fd;
	dev_t dev; /* the mount's device, to recognise it in mountinfo */
	bool mounted;
	bool want_passthrough;
	unsigned int max_threads; /* slots in workers[] */
	struct worker *workers;
	size_t buf_size;
	size_t scratch_size;
	uint32_t max_write; /* buffer capacity for write data */

	pthread_mutex_t lock; /* guards the fields below up to spawning */
	pthread_cond_t cond;
	bool init_done;
	int init_err;
	unsigned int nthreads;	   /* slots of workers[] taken */
	unsigned int live_workers; /* threads not yet out of their loop */
	unsigned int spawning;	   /* slots taken whose thread is being created */

	_Atomic unsigned int idle; /* workers blocked in read(2) */

	/* Requests run on fibers; suspended ones resume on the continuation threads. */
	struct fm_fiber_pool *fibers;
	struct fm_fiber_sched *sched;
	pthread_mutex_t spare_lock;
	char *spare_buf[SPARE_BUFS];		 /* spare_lock */
	char *spare_scratch[SPARE_BUFS];	 /* spare_lock */
	unsigned int nspare_buf, nspare_scratch; /* spare_lock */

	struct fm_fuse_conn conn; /* written once by the INIT handler, before initialized */
	bool setxattr_ext;
	/* Set just before the INIT reply: the kernel may send requests as soon as it has it. */
	_Atomic bool initialized;
	_Atomic bool stopping;
	_Atomic uint64_t inflight;
	/* RELEASEs read from the device and not yet replied to (fm_fuse_session_releasing). */
	_Atomic unsigned int releasing;

	/*
	 * io_uring transport: asked for by the options, offered by the kernel; queues set up at
	 * INIT.  uring_go (s->lock) releases the ring threads after the INIT reply (1) or
	 * sends them home (-1); uring_queues is what serves requests (0: /dev/fuse only).
	 */
	bool want_uring;
	bool uring_offered;
	unsigned int nqueues;
	struct ring_q *queues;
	pthread_t uring_watch; /* adds stand-ins to queues whose threads all wait in a request */
	bool uring_watching;
	int uring_go;
	_Atomic bool uring_stop;
	_Atomic unsigned int uring_queues;

	/* Requests awaiting their reply, by unique; one lock per bucket. */
	struct inflight_bucket {
		pthread_mutex_t lock;
		struct fm_fuse_req *head; /* guarded by lock */
		/*
		 * Interrupts that came before their request (io_uring: the interrupt is read on
		 * /dev/fuse while the request waits in its ring thread); guarded by lock.
		 */
		uint64_t early[EARLY_INTR];
		unsigned int nearly, next_early;
	} inflight_tab[INFLIGHT_BUCKETS];
};

/* Decoding cursor over one request's arguments. */
struct cur {
	const char *p;
	size_t left;
};

static const void *take(struct cur *c, size_t n)
{
	const void *p = c->p;

	if (c->left < n)
		return NULL;
	c->p += n;
	c->left -= n;
	return p;
}

static const char *take_str(struct cur *c)
{
	const char *end = memchr(c->p, '\0', c->left);

	if (!end)
		return NULL;
	return take(c, (size_t)(end - c->p) + 1);
}

/* ---- time and attribute conversion ---- */

static void split_timeout(double t, uint64_t *sec, uint32_t *nsec)
{
	/* The negated test also catches NaN. */
	if (!(t > 0)) {
		*sec = 0;
		*nsec = 0;
		return;
	}
	if (t > 1e15)
		t = 1e15;
	*sec = (uint64_t)t;
	*nsec = (uint32_t)((t - (double)*sec) * 1e9);
	if (*nsec > 999999999u)
		*nsec = 999999999u;
}

/* The kernel's 32-bit device encoding (new_encode_dev). */
static uint32_t encode_dev(dev_t d)
{
	uint32_t ma = major(d), mi = minor(d);

	return (mi & 0xffu) | (ma << 8) | ((mi & ~0xffu) << 12);
}

static dev_t decode_dev(uint32_t v)
{
	return makedev((v & 0xfff00u) >> 8, (v & 0xffu) | ((v >> 12) & 0xfff00u));
}

static void fill_attr(struct fuse_attr *a, const struct stat *st)
{
	memset(a, 0, sizeof(*a));
	a->ino = st->st_ino;
	a->size = (uint64_t)st->st_size;
	a->blocks = (uint64_t)st->st_blocks;
	a->atime = (uint64_t)st->st_atim.tv_sec;
	a->mtime = (uint64_t)st->st_mtim.tv_sec;
	a->ctime = (uint64_t)st->st_ctim.tv_sec;
	a->atimensec = (uint32_t)st->st_atim.tv_nsec;
	a->mtimensec = (uint32_t)st->st_mtim.tv_nsec;
	a->ctimensec = (uint32_t)st->st_ctim.tv_nsec;
	a->mode = st->st_mode;
	a->nlink = (uint32_t)st->st_nlink;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->rdev = encode_dev(st->st_rdev);
	a->blksize = (uint32_t)st->st_blksize;
}

static void fill_entry(struct fuse_entry_out *o, const struct fm_fuse_entry *e)
{
	memset(o, 0, sizeof(*o));
	o->nodeid = e->nodeid;
	o->generation = e->generation;
	split_timeout(e->entry_timeout, &o->entry_valid, &o->entry_valid_nsec);
	split_timeout(e->attr_timeout, &o->attr_valid, &o->attr_valid_nsec);
	fill_attr(&o->attr, &e->attr);
}

/* ---- in-flight table: for FUSE_INTERRUPT and the exactly-once counter ---- */

static struct inflight_bucket *bucket_of(struct fm_fuse_session *s, uint64_t unique)
{
	/* The kernel's uniques step by 2: bit 0 marks interrupts. */
	return &s->inflight_tab[(unique >> 1) % INFLIGHT_BUCKETS];
}

static void inflight_add(struct fm_fuse_session *s, struct fm_fuse_req *req)
{
	struct inflight_bucket *b = bucket_of(s, req->unique);
	unsigned int i;

	pthread_mutex_lock(&b->lock);
	for (i = 0; b->nearly && i < EARLY_INTR; i++) {
		if (b->early[i] == req->unique) {
			atomic_store(&req->interrupted, true);
			b->early[i] = 0;
			b->nearly--;
		}
	}
	req->next = b->head;
	b->head = req;
	pthread_mutex_unlock(&b->lock);
	atomic_fetch_add(&s->inflight, 1);
}

/* Unlink `req` (or replace it by `with`) in its chain; caller holds the bucket's lock. */
static void inflight_swap_locked(struct inflight_bucket *b, struct fm_fuse_req *req,
				 struct fm_fuse_req *with)
{
	struct fm_fuse_req **pp;

	for (pp = &b->head; *pp; pp = &(*pp)->next) {
		if (*pp == req) {
			if (with) {
				with->next = req->next;
				*pp = with;
			} else {
				*pp = req->next;
			}
			return;
		}
	}
}

static void inflight_remove(struct fm_fuse_session *s, struct fm_fuse_req *req)
{
	struct inflight_bucket *b = bucket_of(s, req->unique);

	pthread_mutex_lock(&b->lock);
	inflight_swap_locked(b, req, NULL);
	pthread_mutex_unlock(&b->lock);
	atomic_fetch_sub(&s->inflight, 1);
}

/*
 * Mark the request `unique` interrupted; false if it is not (or no longer, or not yet) ours.
 * A suspended request's interrupt callback runs here, outside the lock; the request cannot go
 * away meanwhile (fm_fuse_req_suspend waits for intr_calls to drop to 0 before it returns).
 */
static bool inflight_interrupt(struct fm_fuse_session *s, uint64_t unique, bool remember)
{
	struct inflight_bucket *b = bucket_of(s, unique);
	struct fm_fuse_req *r;
	void (*fn)(void *) = NULL;
	void *arg = NULL;

	pthread_mutex_lock(&b->lock);
	for (r = b->head; r; r = r->next)
		if (r->unique == unique)
			break;
	if (r) {
		atomic_store(&r->interrupted, true);
		fn = r->intr_fn;
		arg = r->intr_arg;
		r->intr_fn = NULL;
		if (fn)
			r->intr_calls++;
	} else if (remember) {
		/* Its request is still on its way; inflight_add marks it when it comes. */
		if (!b->early[b->next_early])
			b->nearly++;
		b->early[b->next_early] = unique;
		b->next_early = (b->next_early + 1) % EARLY_INTR;
	}
	pthread_mutex_unlock(&b->lock);
	if (fn) {
		fn(arg);
		pthread_mutex_lock(&b->lock);
		r->intr_calls--;
		pthread_mutex_unlock(&b->lock);
	}
	return r != NULL;
}

/* ---- writing to the device ---- */

static int write_iov(int fd, struct iovec *iov, int cnt, size_t len)
{
	ssize_t n;

	do {
		n = writev(fd, iov, cnt);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* /dev/fuse takes a whole message or nothing. */
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

/* Answer a message that has no fm_fuse_req (a malformed request, an interrupt). */
static void raw_reply(int fd, uint64_t unique, int err)
{
	struct fuse_out_header oh = {.len = sizeof(oh), .error = -err, .unique = unique};
	struct iovec iov = {.iov_base = &oh, .iov_len = sizeof(oh)};
	int res = write_iov(fd, &iov, 1, sizeof(oh));

	if (res < 0 && res != -ENOENT)
		fm_log(FM_LOG_DEBUG, TAG, "reply to %llu: %s", (unsigned long long)unique,
		       strerror(-res));
}

/* The CLOCK_MONOTONIC time `ms` milliseconds from now, for pthread_cond_timedwait on s->cond. */
static void deadline_in(long ms, struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* ---- replying through an io_uring entry ---- */

/*
 * The queue whose ring the calling thread serves (NULL on other threads), and the replies it
 * made there since it last held the queue's `own`; read afresh where fibers migrate.
 */
static __thread struct ring_q *current_ring;
static __thread struct ring_ent *current_replies;

static NOIPA_TLS struct ring_q *thread_ring(void)
{
	return current_ring;
}

static NOIPA_TLS struct ring_ent **thread_replies(void)
{
	return &current_replies;
}

/*
 * Put a reply into its entry: the out header into in_out, every out argument one after the
 * other into the payload.  A reply too large for the payload (never, by the kernel's own
 * limits) becomes EIO.
 */
static void ring_fill(struct ring_ent *e, const struct iovec *iov, int cnt)
{
	struct fuse_out_header oh;
	size_t cap = e->iov[1].iov_len, used = 0;
	int i;

	memcpy(&oh, iov[0].iov_base, sizeof(oh));
	for (i = 1; i < cnt; i++)
		used += iov[i].iov_len;
	if (used > cap) {
		fm_log(FM_LOG_ERROR, TAG,
		       "reply of %zu bytes to request %llu exceeds the ring's %zu", used,
		       (unsigned long long)oh.unique, cap);
		oh.error = -EIO;
		oh.len = sizeof(oh);
		cnt = 1;
	}
	used = 0;
	for (i = 1; i < cnt; i++) {
		/* Read data and listings are usually there already (fm_fuse_req_scratch). */
		if (iov[i].iov_len && iov[i].iov_base != e->payload + used)
			memmove(e->payload + used, iov[i].iov_base, iov[i].iov_len);
		used += iov[i].iov_len;
	}
	memset(e->hdr->in_out, 0, sizeof(oh));
	memcpy(e->hdr->in_out, &oh, sizeof(oh));
	memset(&e->hdr->ring_ent_in_out, 0, sizeof(e->hdr->ring_ent_in_out));
	e->hdr->ring_ent_in_out.payload_sz = (uint32_t)used;
}

/* Push the chain first..last onto the queue's lock-free stack; the first pushed wakes. */
static void ring_push_done(struct ring_q *q, struct ring_ent *first, struct ring_ent *last)
{
	struct ring_ent *old = atomic_load(&q->done);
	uint64_t one = 1;

	do {
		last->next = old;
	} while (!atomic_compare_exchange_weak(&q->done, &old, first));
	if (!old && write(q->efd, &one, sizeof(one)) < 0)
		fm_log(FM_LOG_ERROR, TAG, "waking ring thread %u: %s", q->qid, strerror(errno));
}

/*
 * Hand a filled entry back to its queue, whose threads commit it.  On one of them it only
 * joins that thread's own list, which goes to the queue's when the handler returns; from any
 * other thread it goes on the queue's lock-free stack, and the first reply stacked wakes the
 * thread waiting on the ring.
 */
static void ring_post(struct ring_ent *e)
{
	struct ring_q *q = e->q;
	struct ring_ent **mine;

	if (thread_ring() == q) {
		mine = thread_replies();
		e->next = *mine;
		*mine = e;
		return;
	}
	ring_push_done(q, e, e);
}

/* An error reply to the request in `e`, for messages that have no fm_fuse_req. */
static void ring_raw_reply(struct ring_ent *e, uint64_t unique, int err)
{
	struct fuse_out_header oh = {.len = sizeof(oh), .error = -err, .unique = unique};
	struct iovec iov = {.iov_base = &oh, .iov_len = sizeof(oh)};

	ring_fill(e, &iov, 1);
	ring_post(e);
}

/* Answer a message without fm_fuse_req the way it came: through its ring entry or the fd. */
static void raw_reply_w(struct worker *w, uint64_t unique, int err)
{
	if (w->cur_ent)
		ring_raw_reply(w->cur_ent, unique, err);
	else
		raw_reply(w->fd, unique, err);
}

/* Take the one right to answer `req`; false (and logged) if it was answered or moved. */
static bool claim(struct fm_fuse_req *req)
{
	int expected = REQ_ACTIVE;

	if (!req || req->magic != REQ_MAGIC) {
		fm_log(FM_LOG_ERROR, TAG, "reply to an invalid or freed request %p", (void *)req);
		return false;
	}
	if (!atomic_compare_exchange_strong(&req->state, &expected, REQ_ANSWERED)) {
		fm_log(FM_LOG_ERROR, TAG, "request %llu (opcode %u) %s; reply ignored",
		       (unsigned long long)req->unique, req->opcode,
		       expected == REQ_MOVED ? "was held: reply to the held copy"
					     : "already answered");
		return false;
	}
	return true;
}

/* After the reply: a held request is ours to free. */
static void release_req(struct fm_fuse_req *req)
{
	if (req->held) {
		req->magic = REQ_DEAD;
		fm_free(req);
	}
}

/*
 * Send header + iov[1..cnt-1] for a claimed request, then release it.  iov[0] is filled
 * here.  The request leaves the in-flight set before the write, so that when the requester
 * wakes up the counter already shows it answered.
 */
static int send_claimed(struct fm_fuse_req *req, int err, struct iovec *iov, int cnt)
{
	struct fuse_out_header oh;
	size_t len = sizeof(oh);
	int i, res;

	for (i = 1; i < cnt; i++)
		len += iov[i].iov_len;
	oh.len = (uint32_t)len;
	oh.error = -err;
	oh.unique = req->unique;
	iov[0].iov_base = &oh;
	iov[0].iov_len = sizeof(oh);
	if (req->ent)
		ring_fill(req->ent, iov, cnt);
	inflight_remove(req->s, req);
	if (req->opcode == FUSE_RELEASE)
		atomic_fetch_sub(&req->s->releasing, 1);
	if (req->ent) {
		/* The kernel's verdict comes back with the entry's next completion. */
		ring_post(req->ent);
		res = 0;
	} else {
		res = write_iov(req->fd, iov, cnt, len);
	}
	if (res == -ENOENT)
		fm_log(FM_LOG_DEBUG, TAG, "request %llu gone before its reply (interrupted)",
		       (unsigned long long)req->unique);
	else if (res < 0)
		fm_log(FM_LOG_WARN, TAG, "reply to request %llu (opcode %u): %s",
		       (unsigned long long)req->unique, req->opcode, strerror(-res));
	release_req(req);
	return res;
}

static int reply_iov(struct fm_fuse_req *req, struct iovec *iov, int cnt)
{
	if (!claim(req))
		return -EINVAL;
	return send_claimed(req, 0, iov, cnt);
}

static int reply_one(struct fm_fuse_req *req, const void *arg, size_t size)
{
	struct iovec iov[2] = {{0}, {.iov_base = (void *)arg, .iov_len = size}};

	return reply_iov(req, iov, size ? 2 : 1);
}

int fm_fuse_reply_err(struct fm_fuse_req *req, int err)
{
	struct iovec iov[1];

	if (err < 0) {
		fm_log(FM_LOG_WARN, TAG, "fm_fuse_reply_err given %d: errno values are positive",
		       err);
		err = -err;
	}
	if (err >= 4096)
		err = EIO;
	if (!claim(req))
		return -EINVAL;
	return send_claimed(req, err, iov, 1);
}

static bool opcode_takes_reply(uint32_t opcode)
{
	return opcode != FUSE_FORGET && opcode != FUSE_BATCH_FORGET && opcode != FUSE_INTERRUPT &&
	       opcode != FUSE_NOTIFY_REPLY;
}

void fm_fuse_reply_none(struct fm_fuse_req *req)
{
	if (req && req->magic == REQ_MAGIC && opcode_takes_reply(req->opcode)) {
		fm_log(FM_LOG_ERROR, TAG,
		       "reply_none to request %llu (opcode %u), which needs "
		       "a reply: answering EIO",
		       (unsigned long long)req->unique, req->opcode);
		fm_fuse_reply_err(req, EIO);
		return;
	}
	if (!claim(req))
		return;
	inflight_remove(req->s, req);
	release_req(req);
}

int fm_fuse_reply_entry(struct fm_fuse_req *req, const struct fm_fuse_entry *e)
{
	struct fuse_entry_out o;

	if (!e)
		return fm_fuse_reply_err(req, EIO);
	fill_entry(&o, e);
	return reply_one(req, &o, sizeof(o));
}

static void fill_open(struct fm_fuse_req *req, struct fm_fuse_open_out *o,
		      const struct fm_fuse_open *f)
{
	memset(o, 0, sizeof(*o));
	o->fh = f->fh;
	if (f->direct_io)
		o->open_flags |= FOPEN_DIRECT_IO;
	if (f->keep_cache)
		o->open_flags |= FOPEN_KEEP_CACHE;
	if (f->nonseekable)
		o->open_flags |= FOPEN_NONSEEKABLE;
	if (f->parallel_direct_writes)
		o->open_flags |= FOPEN_PARALLEL_DIRECT_WRITES;
	if (f->backing_id > 0) {
		if (req->s && req->s->conn.passthrough) {
			o->open_flags |= FOPEN_PASSTHROUGH;
			o->backing_id = f->backing_id;
		} else {
			fm_log(FM_LOG_WARN, TAG,
			       "open reply with a backing id but passthrough "
			       "was not negotiated: ignored");
		}
	}
}

int fm_fuse_reply_create(struct fm_fuse_req *req, const struct fm_fuse_entry *e,
			 const struct fm_fuse_open *o)
{
	struct fuse_entry_out eo;
	struct fm_fuse_open_out oo;
	struct iovec iov[3];

	if (!e || !o)
		return fm_fuse_reply_err(req, EIO);
	fill_entry(&eo, e);
	fill_open(req, &oo, o);
	iov[1].iov_base = &eo;
	iov[1].iov_len = sizeof(eo);
	iov[2].iov_base = &oo;
	iov[2].iov_len = sizeof(oo);
	return reply_iov(req, iov, 3);
}

int fm_fuse_reply_attr(struct fm_fuse_req *req, const struct stat *attr, double timeout)
{
	struct fuse_attr_out o;

	if (!attr)
		return fm_fuse_reply_err(req, EIO);
	memset(&o, 0, sizeof(o));
	split_timeout(timeout, &o.attr_valid, &o.attr_valid_nsec);
	fill_attr(&o.attr, attr);
	return reply_one(req, &o, sizeof(o));
}

/* Refuse a variable-size reply larger than the kernel's buffer for it. */
static bool fits(struct fm_fuse_req *req, size_t size)
{
	if (!req || req->magic != REQ_MAGIC || !req->max_out || size <= req->max_out)
		return true;
	fm_log(FM_LOG_ERROR, TAG,
	       "reply of %zu bytes to request %llu (opcode %u) which asked "
	       "for at most %u: answering EIO",
	       size, (unsigned long long)req->unique, req->opcode, req->max_out);
	fm_fuse_reply_err(req, EIO);
	return false;
}

int fm_fuse_reply_readlink(struct fm_fuse_req *req, const char *target)
{
	size_t len;

	if (!target)
		return fm_fuse_reply_err(req, EIO);
	len = strlen(target);
	if (!fits(req, len))
		return -EINVAL;
	return reply_one(req, target, len);
}

int fm_fuse_reply_open(struct fm_fuse_req *req, const struct fm_fuse_open *o)
{
	struct fm_fuse_open_out oo;

	if (!o)
		return fm_fuse_reply_err(req, EIO);
	fill_open(req, &oo, o);
	return reply_one(req, &oo, sizeof(oo));
}

int fm_fuse_reply_write(struct fm_fuse_req *req, size_t count)
{
	struct fuse_write_out o = {.size = (uint32_t)count};

	if (count > UINT32_MAX)
		return fm_fuse_reply_err(req, EIO);
	return reply_one(req, &o, sizeof(o));
}

int fm_fuse_reply_buf(struct fm_fuse_req *req, const void *buf, size_t size)
{
	if (size && !buf)
		return fm_fuse_reply_err(req, EIO);
	if (!fits(req, size))
		return -EINVAL;
	return reply_one(req, buf, size);
}

int fm_fuse_reply_statfs(struct fm_fuse_req *req, const struct statvfs *st)
{
	struct fuse_statfs_out o;

	if (!st)
		return fm_fuse_reply_err(req, EIO);
	memset(&o, 0, sizeof(o));
	o.st.blocks = st->f_blocks;
	o.st.bfree = st->f_bfree;
	o.st.bavail = st->f_bavail;
	o.st.files = st->f_files;
	o.st.ffree = st->f_ffree;
	o.st.bsize = (uint32_t)st->f_bsize;
	o.st.namelen = (uint32_t)st->f_namemax;
	o.st.frsize = (uint32_t)st->f_frsize;
	return reply_one(req, &o, sizeof(o));
}

int fm_fuse_reply_xattr(struct fm_fuse_req *req, size_t size)
{
	struct fuse_getxattr_out o = {.size = (uint32_t)size};

	if (size > UINT32_MAX)
		return fm_fuse_reply_err(req, E2BIG);
	return reply_one(req, &o, sizeof(o));
}

int fm_fuse_reply_lock(struct fm_fuse_req *req, const struct flock *lock)
{
	struct fuse_lk_out o;

	if (!lock)
		return fm_fuse_reply_err(req, EIO);
	memset(&o, 0, sizeof(o));
	o.lk.type = (uint32_t)lock->l_type;
	if (lock->l_type != F_UNLCK) {
		o.lk.start = (uint64_t)lock->l_start;
		o.lk.end = lock->l_len == 0 ? FM_FUSE_OFFSET_MAX
					    : (uint64_t)(lock->l_start + lock->l_len - 1);
		o.lk.pid = (uint32_t)lock->l_pid;
	}
	return reply_one(req, &o, sizeof(o));
}

int fm_fuse_reply_lseek(struct fm_fuse_req *req, off_t off)
{
	struct fuse_lseek_out o = {.offset = (uint64_t)off};

	return reply_one(req, &o, sizeof(o));
}

/* ---- request accessors ---- */

const struct fm_fuse_ctx *fm_fuse_req_ctx(const struct fm_fuse_req *req)
{
	return &req->ctx;
}

void *fm_fuse_req_userdata(const struct fm_fuse_req *req)
{
	return req->s->ud;
}

unsigned int fm_fuse_session_releasing(struct fm_fuse_session *s)
{
	return atomic_load(&s->releasing);
}

struct fm_fuse_session *fm_fuse_req_session(const struct fm_fuse_req *req)
{
	return req->s;
}

uint64_t fm_fuse_req_unique(const struct fm_fuse_req *req)
{
	return req->unique;
}

bool fm_fuse_req_interrupted(const struct fm_fuse_req *req)
{
	return atomic_load(&((struct fm_fuse_req *)req)->interrupted);
}

bool fm_fuse_req_kill_suidgid(const struct fm_fuse_req *req)
{
	return req->kill_suidgid;
}

bool fm_fuse_req_cache_write(const struct fm_fuse_req *req)
{
	return req->cache_write;
}

struct fm_fuse_req *fm_fuse_req_hold(struct fm_fuse_req *req)
{
	struct inflight_bucket *b;
	struct fm_fuse_req *copy;
	struct fm_fuse_session *s;

	if (!req || req->magic != REQ_MAGIC || atomic_load(&req->state) != REQ_ACTIVE) {
		fm_log(FM_LOG_ERROR, TAG, "hold of a request that is not awaiting its reply");
		return NULL;
	}
	if (req->held)
		return req;
	copy = fm_malloc(sizeof(*copy));
	if (!copy)
		return NULL;
	s = req->s;
	memcpy(copy, req, sizeof(*copy));
	copy->held = true;
	copy->w = NULL;
	copy->task = NULL;
	copy->intr_fn = NULL;
	copy->intr_calls = 0;
	copy->max_out = req->max_out;
	atomic_store(&copy->state, REQ_ACTIVE);
	/* Under the bucket's lock, so that an interrupt lands on exactly one of the two. */
	b = bucket_of(s, req->unique);
	pthread_mutex_lock(&b->lock);
	atomic_store(&copy->interrupted, atomic_load(&req->interrupted));
	inflight_swap_locked(b, req, copy);
	atomic_store(&req->state, REQ_MOVED);
	pthread_mutex_unlock(&b->lock);
	return copy;
}

/* ---- spare buffers: what a suspended request took from its worker is replaced from here ---- */

static char *spare_get(struct fm_fuse_session *s, bool scratch)
{
	char **list = scratch ? s->spare_scratch : s->spare_buf;
	unsigned int *n = scratch ? &s->nspare_scratch : &s->nspare_buf;
	char *b = NULL;

	pthread_mutex_lock(&s->spare_lock);
	if (*n)
		b = list[--*n];
	pthread_mutex_unlock(&s->spare_lock);
	return b ? b : fm_malloc(scratch ? s->scratch_size : s->buf_size);
}

static void spare_put(struct fm_fuse_session *s, bool scratch, char *b)
{
	char **list = scratch ? s->spare_scratch : s->spare_buf;
	unsigned int *n = scratch ? &s->nspare_scratch : &s->nspare_buf;

	pthread_mutex_lock(&s->spare_lock);
	if (*n < SPARE_BUFS) {
		list[(*n)++] = b;
		b = NULL;
	}
	pthread_mutex_unlock(&s->spare_lock);
	fm_free(b);
}

void *fm_fuse_req_scratch(struct fm_fuse_req *req, size_t size)
{
	struct task *t;

	if (!req || req->magic != REQ_MAGIC || req->held || size > req->s->scratch_size)
		return NULL;
	/*
	 * A ring request's payload buffer is free until its reply (the request was copied
	 * out of it) and is where the reply goes: data put there needs no copy.
	 */
	if (req->ent && size <= req->ent->iov[1].iov_len)
		return req->ent->payload;
	t = req->task;
	if (!t) {
		if (!req->w)
			return NULL;
		if (!req->w->scratch)
			req->w->scratch = spare_get(req->s, true);
		return req->w->scratch;
	}
	if (!t->scratch && t->w) {
		if (!t->w->scratch)
			t->w->scratch = spare_get(req->s, true);
		t->scratch = t->w->scratch;
	} else if (!t->scratch) {
		t->scratch = spare_get(req->s, true);
		t->own_scratch = t->scratch != NULL;
	}
	return t->scratch;
}

/* ---- suspending a request's fiber ---- */

bool fm_fuse_req_can_suspend(const struct fm_fuse_req *req)
{
	return req && req->magic == REQ_MAGIC && req->task && !req->held &&
	       fm_fiber_current() == req->task->fiber;
}

void fm_fuse_req_suspend(struct fm_fuse_req *req, void (*cancel)(void *arg), void *arg)
{
	struct task *t = req->task;
	struct inflight_bucket *b = bucket_of(req->s, req->unique);
	bool interrupted;

	/* The worker goes back to reading requests: take what of its buffers we still use. */
	if (t->w) {
		if (t->buf == t->w->buf) {
			t->w->buf = NULL;
			t->own_buf = true;
		}
		if (t->scratch && t->scratch == t->w->scratch) {
			t->w->scratch = NULL;
			t->own_scratch = true;
		}
		t->w = NULL;
	}
	pthread_mutex_lock(&b->lock);
	interrupted = atomic_load(&req->interrupted);
	if (!interrupted && cancel) {
		req->intr_fn = cancel;
		req->intr_arg = arg;
	}
	pthread_mutex_unlock(&b->lock);
	if (interrupted && cancel)
		cancel(arg);
	fm_fiber_park();
	/* Resumed: no interrupt callback may run once we return (its argument may go away). */
	pthread_mutex_lock(&b->lock);
	req->intr_fn = NULL;
	while (req->intr_calls) {
		pthread_mutex_unlock(&b->lock);
		sched_yield();
		pthread_mutex_lock(&b->lock);
	}
	pthread_mutex_unlock(&b->lock);
}

void fm_fuse_req_resume(struct fm_fuse_req *req)
{
	fm_fiber_sched_wake(req->s->sched, req->task->fiber);
}

/* ---- directory entries ---- */

size_t fm_fuse_add_direntry(char *buf, size_t cap, const char *name, uint64_t ino, mode_t mode,
			    off_t off)
{
	size_t namelen = strlen(name);
	size_t need = FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + namelen);
	struct fuse_dirent d;

	if (!buf || need > cap)
		return need;
	d.ino = ino;
	d.off = (uint64_t)off;
	d.namelen = (uint32_t)namelen;
	d.type = (mode & S_IFMT) >> 12;
	memcpy(buf, &d, FUSE_NAME_OFFSET);
	memcpy(buf + FUSE_NAME_OFFSET, name, namelen);
	memset(buf + FUSE_NAME_OFFSET + namelen, 0, need - FUSE_NAME_OFFSET - namelen);
	return need;
}

size_t fm_fuse_add_direntry_plus(char *buf, size_t cap, const char *name,
				 const struct fm_fuse_entry *e, off_t off)
{
	size_t namelen = strlen(name);
	size_t need = FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS + namelen);
	struct fuse_direntplus d;

	if (!buf || need > cap)
		return need;
	memset(&d, 0, sizeof(d));
	fill_entry(&d.entry_out, e);
	d.dirent.ino = e->attr.st_ino;
	d.dirent.off = (uint64_t)off;
	d.dirent.namelen = (uint32_t)namelen;
	d.dirent.type = (e->attr.st_mode & S_IFMT) >> 12;
	memcpy(buf, &d, FUSE_NAME_OFFSET_DIRENTPLUS);
	memcpy(buf + FUSE_NAME_OFFSET_DIRENTPLUS, name, namelen);
	memset(buf + FUSE_NAME_OFFSET_DIRENTPLUS + namelen, 0,
	       need - FUSE_NAME_OFFSET_DIRENTPLUS - namelen);
	return need;
}

/* ---- decoding and dispatch ---- */

#define OPS(req) (&(req)->s->ops)

/* A NULL op answers ENOSYS, as the protocol expects for what a file system does not do. */
#define NEED_OP(req, name)                                                                         \
	do {                                                                                       \
		if (!OPS(req)->name) {                                                             \
			fm_fuse_reply_err(req, ENOSYS);                                            \
			return;                                                                    \
		}                                                                                  \
	} while (0)

static void bad_request(struct fm_fuse_req *req)
{
	fm_log(FM_LOG_WARN, TAG, "malformed request %llu (opcode %u): answering EINVAL",
	       (unsigned long long)req->unique, req->opcode);
	fm_fuse_reply_err(req, EINVAL);
}

static void do_lookup(struct fm_fuse_req *req, struct cur *c)
{
	const char *name = take_str(c);

	if (!name)
		return bad_request(req);
	NEED_OP(req, lookup);
	OPS(req)->lookup(req, req->nodeid, name);
}

static void do_getattr(struct fm_fuse_req *req, struct cur *c)
{
	const struct fuse_getattr_in *in = take(c, sizeof(*in));
	uint64_t fh;

	if (!in)
		return bad_request(req);
	NEED_OP(req, getattr);
	fh = in->fh;
	OPS(req)->getattr(req, req->nodeid, (in->getattr_flags & FUSE_GETATTR_FH) ? &fh : NULL);
}

static void do_setattr(struct fm_fuse_req *req, struct cur *c)
{
	const struct fuse_setattr_in *in = take(c, sizeof(*in));
	static const struct {
		uint32_t fattr;
		int fm;
	} bits[] = {
	    {FATTR_MODE, FM_SET_MODE},
	    {FATTR_UID, FM_SET_UID},
	    {FATTR_GID, FM_SET_GID},
	    {FATTR_SIZE, FM_SET_SIZE},
	    {FATTR_ATIME, FM_SET_ATIME},
	    {FATTR_MTIME, FM_SET_MTIME},
	    {FATTR_ATIME_NOW, FM_SET_ATIME_NOW},
	    {FATTR_MTIME_NOW, FM_SET_MTIME_NOW},
	    {FATTR_CTIME, FM_SET_CTIME},
	    {FATTR_KILL_SUIDGID, FM_SET_KILL_SUIDGID},
	};
	struct stat st;
	uint64_t fh;
	int to_set = 0;
	size_t i;

	if (!in)
		return bad_request(req);
	NEED_OP(req, setattr);
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (in->valid & bits[i].fattr)
			to_set |= bits[i].fm;
	req->kill_suidgid = (in->valid & FATTR_KILL_SUIDGID) != 0;
	memset(&st, 0, sizeof(st));
	st.st_mode = in->mode;
	st.st_uid = in->uid;
	st.st_gid = in->gid;
	st.st_size = (off_t)in->size;
	st.st_atim.tv_sec = (time_t)in->atime;
	st.st_atim.tv_nsec = in->atimensec;
	st.st_mtim.tv_sec = (time_t)in->mtime;
	st.st_mtim.tv_nsec = in->mtimensec;
	st.st_ctim.tv_sec = (time_t)in->ctime;
	st.st_ctim.tv_nsec = in->ctimensec;
	fh = in->fh;
	OPS(req)->setattr(req, req->nodeid, &st, to_set, (in->valid & FATTR_FH) ? &fh : NULL);
}

static void do_readlink(struct fm_fuse_req *req, struct cur *c)
{
	(void)c;
	NEED_OP(req, readlink);
	/* The kernel reads the target into one page and needs room for the NUL. */
	req->max_out = (uint32_t)sysconf(_SC_PAGESIZE) - 1;
	OPS(req)->readlink(req, req->nodeid);
}

static void do_symlink(struct fm_fuse_req *req, struct cur *c)
{
	const char *name = take_str(c);
	const char *target = name ? take_str(c) : NULL;

	if (!target)
		return bad_request(req);
	NEED_OP(req, symlink);
	OPS(req)->symlink(req, target, req->nodeid, name);
}

static void do_mknod(struct fm_fuse_req *req, struct cur *c)
{
	const struct fuse_mknod_in *in = take(c, sizeof(*in));
	const char *name = in ? take_str(c) : NULL;

	if (!name)
		return bad_request(req);
	NEED_OP(req, mknod);
	req->ctx.umask = in->umask;
	OPS(req)->mknod(req, req->nodeid, name, in->mode, decode_dev(in->rdev));
}

static void do_mkdir(struct fm_fuse_req *req, struct cur *c)
{
	const struct fuse_mkdir_in *in = take(c, sizeof(*in));
	const char *name = in ? take_str(c) : NULL;

	if (!name)
		return bad_request(req);
	NEED_OP(req, mkdir);
	req->ctx.umask = in->umask;
	OPS(req)->mkdir(req, req->nodeid, name, in->mode);
}

static void do_unlink(struct fm_fuse_req *req, struct cur *c)
{
	const char *name = take_str(c);

	if (!name)
		return bad_request(req);
	NEED_OP(req, unlink);
	OPS(req)->unlink(req, req->nodeid, name);
}

static void do_rmdir(struct fm_fuse_req *req, struct cur *c)
{
	const char *name = take_str(c);

	if (!name)
		return bad_request(req);
	NEED_OP(req, rmdir);
	OPS(req)->rmdir(req, req->nodeid, name);
}

static void do_rename(struct fm_fuse_req *req, struct cur *c)
{
	const struct fuse_rename_in *in = take(c, sizeof(*in));
	const char *name = in ? take_str(c) : NULL;
	const char *newname = name ? take_str(c) : NULL;

	if (!newname)
		return bad_request(req);
	NEED_OP(req, rename);
	OPS(req)->rename(req, req->nodeid, name, in->newdir, newname, 0);
}

static void do_rename2(struct fm_fuse_req *req, struct cur *c)
{
	const struct fuse_rename2_in *in = take(c, sizeof(*in));
	const char *name = in ? take_str(c) : NULL;
	const char *newname = name ? take_str(c) : NULL;

	if (!newname)
		return bad_request(req);
	NEED_OP(req, rename);
	OPS(req)->rename(req, req->nodeid, name, in->newdir, newname, in->flags);
}

static void do_link(struct fm_fuse_req *req, struct cur *c)
{
	const struct fuse_link_in *in = take(c, sizeof(*in));
	const char *newname = in ? take_str(c) : NULL;

	if (!newname)
		return bad_request(req);
	NEED_OP(req, link);
	OPS(req)->link(req, in->oldnodeid, req->nodeid, newname);
}

static void do_open(struct fm_fuse_req *req, struct cur *c)
{
	const struct fuse_open_in *in = take(c, sizeof(*in));

	if (!in)
		return bad_request(req);
	NEED_OP(req, open);
	req->kill_suidgid = (in->open_flags & FUSE_OPEN_KILL_SUIDGID) != 0;
	OPS(req)->open(req, req->nodeid, (int)in->flags);
}

static void do_read(struct fm_fuse_req *req, struct cur *c)
{
	const struct fuse_read_in *in = take(c, sizeof(*in));

	if (!in)
		return bad_request(req);
	NEED_OP(req, read);
	req->max_out = in->size;
	OPS(req)->read(req, req->nodeid, in->fh, in->size, (off_t)in->offset, (int)in->flags);
}

static void do_write(struct fm_fuse_req *req, struct cur *c)
{
	const struct fuse_write_in *in = take(c, sizeof(*in));
	const void *data = in ? take(c, in->size) : NULL;

	if (!data)
		return bad_request(req);
	NEED_OP(req, write);
	req->kill_suidgid = (in->write_flags & FUSE_WRITE_KILL_SUIDGID) != 0;
	req->cache_write = (in->write_flags & FUSE_WRITE_CACHE) != 0;
	OPS(req)->write(req, req->nodeid, in->fh, data, in->size, (off_t)in->offset,
			(int)in->flags);
}

static void do_statfs(struct fm_fuse_req *req, struct cur *c)
{
	(void)c;
	NEED_OP(req, statfs);
	OPS(req)->statfs(req, req->nodeid);
}

static void do_release(struct fm_fuse_req *req, struct cur *c)
{
	const struct fuse_release_in *in = take(c, sizeof(*in));

	if (!in)
		return bad_request(req);
	if (req->opcode == FUSE_RELEASEDIR) {
		NEED_OP(req, releasedir);
		OPS(req)->releasedir(req, req->nodeid, in->fh);
	} else {
		NEED_OP(req, release);
		OPS(req)->release(req, req->nodeid, in->fh, (int)in->flags);
	}
}

static void do_fsync(struct fm_fuse_req *req, struct cur *c)
{
	const struct fuse_fsync_in *in = take(c, sizeof(*in));
	bool datasync;

	if (!in)
		return bad_request(req);
	datasync = (in->fsync_flags & FUSE_FSYNC_FDATASYNC) != 0;
	if (req->opcode == FUSE_FSYNCDIR) {
		NEED_OP(req, fsyncdir);
		OPS(req)->fsyncdir(req, req->nodeid, in->fh, datasync);
	} else {
		NEED_OP(req, fsync);
		OPS(req)->fsync(req, req->nodeid, in->fh, datasync);
	}
}

static void do_setxattr(struct fm_fuse_req *req, struct cur *c)
{
	/* Without FUSE_SETXATTR_EXT the kernel sends the old 8-byte header. */
	size_t insz =
	    req->s->setxattr_ext ? sizeof(struct fuse_setxattr_in) : FUSE_COMPAT_SETXATTR_IN_SIZE;
	struct fuse_setxattr_in in;
	const void *p = take(c, insz);
	const char *name = p ? take_str(c) : NULL;
	const void *value;

	if (!name)
		return bad_request(req);
	memset(&in, 0, sizeof(in));
	memcpy(&in, p, insz);
	value = take(c, in.size);
	if (!value)
		return bad_request(req);
	NEED_OP(req, setxattr);
	OPS(req)->setxattr(req, req->nodeid, name, value, in.size, (int)in.flags);
}

static void do_getxattr(struct fm_fuse_req *req, struct cur *c)
{
	const struct fuse_getxattr_in *in = take(c, sizeof(*in));
	const char *name = in ? take_str(c) : NULL;

	if (!name)
		return bad_request(req);
	NEED_OP(req, getxattr);
	req->max_out = in->size;
	OPS(req)->getxattr(req, req->nodeid, name, in->size);
}

static void do_listxattr(struct fm_fuse_req *req, struct cur *c)
{
	const struct fuse_getxattr_in *in = take(c, sizeof(*in));

	if (!in)
		return bad_request(req);
	NEED_OP(req, listxattr);
	req->max_out = in->size;
	OPS(req)->listxattr(req, req->nodeid, in->size);
}

static void do_removexattr(struct fm_fuse_req *req, struct cur *c)
{
	const char *name = take_str(c);

	if (!name)
		return bad_request(req);
	NEED_OP(req, removexattr);
	OPS(req)->removexattr(req, req->nodeid, name);
}

static void do_flush(struct fm_fuse_req *req, struct cur *c)
{
	const struct fuse_flush_in *in = take(c, sizeof(*in));

	if (!in)
		return bad_request(req);
	NEED_OP(req, flush);
	OPS(req)->flush(req, req->nodeid, in->fh, in->lock_owner);
}

static void do_opendir(struct fm_fuse_req *req, struct cur *c)
{
	const struct fuse_open_in *in = take(c, sizeof(*in));

	if (!in)
		return bad_request(req);
	NEED_OP(req, opendir);
	OPS(req)->opendir(req, req->nodeid, (int)in->flags);
}

static void do_readdir(struct fm_fuse_req *req, struct cur *c)
{
	const struct fuse_read_in *in = take(c, sizeof(*in));

	if (!in)
		return bad_request(req);
	req->max_out = in->size;
	if (req->opcode == FUSE_READDIRPLUS) {
		NEED_OP(req, readdirplus);
		OPS(req)->readdirplus(req, req->nodeid, in->fh, in->size, (off_t)in->offset);
	} else {
		NEED_OP(req, readdir);
		OPS(req)->readdir(req, req->nodeid, in->fh, in->size, (off_t)in->offset);
	}
}

static void lock_from_wire(const struct fuse_file_lock *lk, struct flock *fl)
{
	memset(fl, 0, sizeof(*fl));
	fl->l_type = (short)lk->type;
	fl->l_whence = SEEK_SET;
	fl->l_start = (off_t)lk->start;
	if (lk->end == FM_FUSE_OFFSET_MAX || lk->end < lk->start)
		fl->l_len = 0;
	else
		fl->l_len = (off_t)(lk->end - lk->start + 1);
	fl->l_pid = (pid_t)lk->pid;
}

static void do_lk(struct fm_fuse_req *req, struct cur *c)
{
	const struct fuse_lk_in *in = take(c, sizeof(*in));
	struct flock fl;

	if (!in)
		return bad_request(req);
	lock_from_wire(&in->lk, &fl);
	if (req->opcode == FUSE_GETLK) {
		NEED_OP(req, getlk);
		OPS(req)->getlk(req, req->nodeid, in->fh, in->owner, &fl);
	} else {
		NEED_OP(req, setlk);
		OPS(req)->setlk(req, req->nodeid, in->fh, in->owner, &fl,
				req->opcode == FUSE_SETLKW, (in->lk_flags & FUSE_LK_FLOCK) != 0);
	}
}

static void do_access(struct fm_fuse_req *req, struct cur *c)
{
	const struct fuse_access_in *in = take(c, sizeof(*in));

	if (!in)
		return bad_request(req);
	NEED_OP(req, access);
	OPS(req)->access(req, req->nodeid, (int)in->mask);
}

static void do_create(struct fm_fuse_req *req, struct cur *c)
{
	const struct fuse_create_in *in = take(c, sizeof(*in));
	const char *name = in ? take_str(c) : NULL;

	if (!name)
		return bad_request(req);
	NEED_OP(req, create);
	req->ctx.umask = in->umask;
	req->kill_suidgid = (in->open_flags & FUSE_OPEN_KILL_SUIDGID) != 0;
	OPS(req)->create(req, req->nodeid, name, in->mode, (int)in->flags);
}

static void do_destroy(struct fm_fuse_req *req, struct cur *c)
{
	(void)c;
	/* ops->destroy runs once, from fm_fuse_unmount, after the workers stopped. */
	fm_fuse_reply_err(req, 0);
}

static void do_fallocate(struct fm_fuse_req *req, struct cur *c)
{
	const struct fuse_fallocate_in *in = take(c, sizeof(*in));

	if (!in)
		return bad_request(req);
	NEED_OP(req, fallocate);
	OPS(req)->fallocate(req, req->nodeid, in->fh, (int)in->mode, (off_t)in->offset,
			    (off_t)in->length);
}

static void do_lseek(struct fm_fuse_req *req, struct cur *c)
{
	const struct fuse_lseek_in *in = take(c, sizeof(*in));

	if (!in)
		return bad_request(req);
	NEED_OP(req, lseek);
	OPS(req)->lseek(req, req->nodeid, in->fh, (off_t)in->offset, (int)in->whence);
}

static void do_copy_file_range(struct fm_fuse_req *req, struct cur *c)
{
	const struct fuse_copy_file_range_in *in = take(c, sizeof(*in));

	if (!in)
		return bad_request(req);
	NEED_OP(req, copy_file_range);
	OPS(req)->copy_file_range(req, req->nodeid, in->fh_in, (off_t)in->off_in, in->nodeid_out,
				  in->fh_out, (off_t)in->off_out, (size_t)in->len, (int)in->flags);
}

/* Record the outcome of FUSE_INIT and wake fm_fuse_mount. */
static void init_finish(struct fm_fuse_session *s, int err)
{
	pthread_mutex_lock(&s->lock);
	if (!s->init_done) {
		s->init_done = true;
		s->init_err = err;
	}
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static uint32_t page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	return ps > 0 ? (uint32_t)ps : 4096u;
}

static int uring_prepare(struct fm_fuse_session *s, size_t payload);
static int start_serving_thread(pthread_t *t, void *(*fn)(void *), void *arg);
static void uring_start(struct fm_fuse_session *s, bool reply_ok);

static void do_init(struct fm_fuse_req *req, struct cur *c)
{
	struct fm_fuse_session *s = req->s;
	struct fuse_init_in in;
	struct fm_fuse_init_out out;
	struct fm_fuse_conn *conn = &s->conn;
	uint64_t kflags, want;
	uint32_t ps = page_size(), pages;
	int res;

	if (atomic_load(&s->initialized)) {
		fm_log(FM_LOG_ERROR, TAG, "second FUSE_INIT");
		fm_fuse_reply_err(req, EIO);
		return;
	}
	/* init_in grew over the protocol's life: take what the kernel sent, zero the rest. */
	memset(&in, 0, sizeof(in));
	if (c->left < 16) {
		fm_fuse_reply_err(req, EIO);
		init_finish(s, -EPROTO);
		return;
	}
	memcpy(&in, c->p, c->left < sizeof(in) ? c->left : sizeof(in));
	memset(&out, 0, sizeof(out));
	out.major = FUSE_KERNEL_VERSION;
	out.minor = FM_FUSE_PROTO_MINOR;
	if (in.major > FUSE_KERNEL_VERSION) {
		/* Tell the kernel our major; it sends a new INIT in that version. */
		reply_one(req, &out, FUSE_COMPAT_INIT_OUT_SIZE);
		return;
	}
	if (in.major < FUSE_KERNEL_VERSION || in.minor < FM_FUSE_MIN_KERNEL_MINOR) {
		fm_log(FM_LOG_ERROR, TAG, "kernel FUSE protocol %u.%u is older than 7.%d", in.major,
		       in.minor, FM_FUSE_MIN_KERNEL_MINOR);
		fm_fuse_reply_err(req, EPROTO);
		init_finish(s, -EPROTO);
		return;
	}

	kflags = in.flags;
	if (kflags & FUSE_INIT_EXT)
		kflags |= (uint64_t)in.flags2 << 32;
	want = FUSE_ASYNC_READ | FUSE_PARALLEL_DIROPS | FUSE_BIG_WRITES | FUSE_ATOMIC_O_TRUNC |
	       FUSE_MAX_PAGES | FUSE_CACHE_SYMLINKS | FUSE_HANDLE_KILLPRIV |
	       FUSE_HANDLE_KILLPRIV_V2 | FUSE_SETXATTR_EXT | FUSE_INIT_EXT;
	if (s->ops.readdirplus)
		want |= FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO;
	if (s->ops.setlk)
		want |= FUSE_POSIX_LOCKS | FUSE_FLOCK_LOCKS;
	if (s->want_passthrough)
		want |= FUSE_PASSTHROUGH;
	if (s->want_uring)
		want |= FUSE_OVER_IO_URING;
	s->uring_offered = (kflags & FUSE_OVER_IO_URING) != 0;

	memset(conn, 0, sizeof(*conn));
	conn->proto_major = FUSE_KERNEL_VERSION;
	conn->proto_minor = in.minor < FM_FUSE_PROTO_MINOR ? in.minor : FM_FUSE_PROTO_MINOR;
	conn->kernel_flags = kflags;
	conn->want_flags = want & kflags;
	conn->max_write = s->max_write;
	conn->max_readahead = in.max_readahead;
	conn->passthrough = (conn->want_flags & FUSE_PASSTHROUGH) != 0;
	conn->max_stack_depth = conn->passthrough ? 1 : 0;
	if (s->ops.init)
		s->ops.init(s->ud, conn);

	/* Re-check what init() left: only offered bits, and a max_write our buffers hold. */
	want = conn->want_flags & kflags;
	if (conn->max_write > s->max_write)
		conn->max_write = s->max_write;
	if (conn->max_write < MIN_MAX_WRITE)
		conn->max_write = MIN_MAX_WRITE;
	/* The kernel ignores passthrough together with the writeback cache. */
	if (want & FUSE_WRITEBACK_CACHE)
		want &= ~FUSE_PASSTHROUGH;
	if (want & FUSE_PASSTHROUGH) {
		if (conn->max_stack_depth < 1 || conn->max_stack_depth > 2)
			conn->max_stack_depth = 1;
	} else {
		conn->max_stack_depth = 0;
	}
	conn->passthrough = (want & FUSE_PASSTHROUGH) != 0;
	conn->writeback_cache = (want & FUSE_WRITEBACK_CACHE) != 0;
	pages = (conn->max_write + ps - 1) / ps;
	if (pages > MAX_PAGES_LIMIT)
		pages = MAX_PAGES_LIMIT;
	conn->max_pages = pages;
	if (want & FUSE_OVER_IO_URING) {
		/* The kernel's payload size: its largest argument, at least 8 KiB. */
		size_t payload = (size_t)pages * ps;

		if (payload < conn->max_write)
			payload = conn->max_write;
		if (payload < 8192)
			payload = 8192;
		res = uring_prepare(s, payload);
		if (res < 0) {
			fm_log(FM_LOG_WARN, TAG, "io_uring unavailable (%s): serving on /dev/fuse",
			       strerror(-res));
			want &= ~FUSE_OVER_IO_URING;
		}
	} else if (s->want_uring) {
		fm_log(FM_LOG_INFO, TAG,
		       "the kernel does not offer FUSE over io_uring (module parameter "
		       "fuse.enable_uring): serving on /dev/fuse");
	}
	conn->want_flags = want;
	s->setxattr_ext = (want & FUSE_SETXATTR_EXT) != 0;

	out.max_readahead = conn->max_readahead;
	out.flags = (uint32_t)want;
	if (want & FUSE_INIT_EXT)
		out.flags2 = (uint32_t)(want >> 32);
	out.max_write = conn->max_write;
	out.time_gran = 1;
	out.max_pages = (uint16_t)pages;
	out.max_stack_depth = conn->max_stack_depth;
	atomic_store(&s->initialized, true);
	res = reply_one(req, &out, sizeof(out));
	if (res < 0)
		atomic_store(&s->initialized, false);
	if (s->nqueues)
		uring_start(s, res == 0);
	if (res == 0)
		fm_log(FM_LOG_DEBUG, TAG,
		       "INIT: kernel 7.%u flags %#llx, agreed 7.%u flags %#llx max_write %u "
		       "passthrough %d writeback cache %d",
		       in.minor, (unsigned long long)kflags, conn->proto_minor,
		       (unsigned long long)want, conn->max_write, conn->passthrough,
		       conn->writeback_cache);
	init_finish(s, res);
}

typedef void (*op_fn)(struct fm_fuse_req *req, struct cur *c);

/* Dispatch table indexed by opcode; holes answer ENOSYS. */
static const op_fn op_table[] = {
    [FUSE_LOOKUP] = do_lookup,
    [FUSE_GETATTR] = do_getattr,
    [FUSE_SETATTR] = do_setattr,
    [FUSE_READLINK] = do_readlink,
    [FUSE_SYMLINK] = do_symlink,
    [FUSE_MKNOD] = do_mknod,
    [FUSE_MKDIR] = do_mkdir,
    [FUSE_UNLINK] = do_unlink,
    [FUSE_RMDIR] = do_rmdir,
    [FUSE_RENAME] = do_rename,
    [FUSE_LINK] = do_link,
    [FUSE_OPEN] = do_open,
    [FUSE_READ] = do_read,
    [FUSE_WRITE] = do_write,
    [FUSE_STATFS] = do_statfs,
    [FUSE_RELEASE] = do_release,
    [FUSE_FSYNC] = do_fsync,
    [FUSE_SETXATTR] = do_setxattr,
    [FUSE_GETXATTR] = do_getxattr,
    [FUSE_LISTXATTR] = do_listxattr,
    [FUSE_REMOVEXATTR] = do_removexattr,
    [FUSE_FLUSH] = do_flush,
    [FUSE_INIT] = do_init,
    [FUSE_OPENDIR] = do_opendir,
    [FUSE_READDIR] = do_readdir,
    [FUSE_RELEASEDIR] = do_release,
    [FUSE_FSYNCDIR] = do_fsync,
    [FUSE_GETLK] = do_lk,
    [FUSE_SETLK] = do_lk,
    [FUSE_SETLKW] = do_lk,
    [FUSE_ACCESS] = do_access,
    [FUSE_CREATE] = do_create,
    [FUSE_DESTROY] = do_destroy,
    [FUSE_FALLOCATE] = do_fallocate,
    [FUSE_READDIRPLUS] = do_readdir,
    [FUSE_RENAME2] = do_rename2,
    [FUSE_LSEEK] = do_lseek,
    [FUSE_COPY_FILE_RANGE] = do_copy_file_range,
};

/* Messages that take no reply: forgets, interrupts, and replies to our notifications. */
static void do_noreply(struct worker *w, const struct fuse_in_header *h, struct cur *c)
{
	struct fm_fuse_session *s = w->s;

	switch (h->opcode) {
	case FUSE_FORGET: {
		const struct fuse_forget_in *in = take(c, sizeof(*in));

		if (in && s->ops.forget)
			s->ops.forget(s->ud, h->nodeid, in->nlookup);
		break;
	}
	case FUSE_BATCH_FORGET: {
		const struct fuse_batch_forget_in *in = take(c, sizeof(*in));
		const struct fuse_forget_one *one;
		uint32_t i;

		if (!in)
			break;
		for (i = 0; i < in->count; i++) {
			one = take(c, sizeof(*one));
			if (!one)
				break;
			if (s->ops.forget)
				s->ops.forget(s->ud, one->nodeid, one->nlookup);
		}
		break;
	}
	case FUSE_INTERRUPT: {
		const struct fuse_interrupt_in *in = take(c, sizeof(*in));
		bool ring = atomic_load(&s->uring_queues) > 0;

		if (!in)
			break;
		/*
		 * The kernel sends the interrupt only once the target was read, but another
		 * worker may not have registered it yet: EAGAIN makes the kernel queue the
		 * interrupt again.  If the target was answered meanwhile, the kernel drops it.
		 * Over io_uring the kernel cannot match an EAGAIN to a ring request: the
		 * interrupt is remembered for the request instead.
		 */
		if (!inflight_interrupt(s, in->unique, ring) && !ring) {
			sched_yield();
			raw_reply(w->fd, h->unique, EAGAIN);
		}
		break;
	}
	default:
		break;
	}
}

/*
 * The request a worker thread serves without a fiber, for fm_fuse_current_req(); a request on
 * a fiber is found through the fiber, wherever it runs.
 */
static __thread struct fm_fuse_req *current_req;

static NOIPA_TLS struct fm_fuse_req *thread_req(void)
{
	return current_req;
}

static NOIPA_TLS void set_thread_req(struct fm_fuse_req *req)
{
	current_req = req;
}

struct fm_fuse_req *fm_fuse_current_req(void)
{
	struct task *t = fm_fiber_current_arg();

	if (t && t->req.task == t)
		return &t->req;
	return thread_req();
}

/* Decode a checked request from buf and call its op; then hold it to the exactly-once rule. */
static void serve(struct fm_fuse_req *req, const char *buf, size_t n)
{
	const struct fuse_in_header *h = (const struct fuse_in_header *)buf;
	struct fm_fuse_session *s = req->s;
	struct cur c;
	op_fn fn = NULL;

	c.p = buf + sizeof(*h);
	c.left = n - sizeof(*h) - (size_t)h->total_extlen * 8;
	if (h->opcode < sizeof(op_table) / sizeof(op_table[0]))
		fn = op_table[h->opcode];
	if (h->opcode != FUSE_INIT && !atomic_load(&s->initialized)) {
		fm_log(FM_LOG_ERROR, TAG, "opcode %u before FUSE_INIT", h->opcode);
		fm_fuse_reply_err(req, EIO);
	} else if (!fn) {
		fm_log(FM_LOG_DEBUG, TAG, "opcode %u not implemented", h->opcode);
		fm_fuse_reply_err(req, ENOSYS);
	} else {
		fn(req, &c);
	}

	/* Exactly once: a callback that neither answered nor held the request is a bug. */
	if (atomic_load(&req->state) == REQ_ACTIVE) {
		fm_log(FM_LOG_ERROR, TAG, "request %llu (opcode %u) left unanswered: answering EIO",
		       (unsigned long long)req->unique, req->opcode);
		fm_fuse_reply_err(req, EIO);
	}
	req->magic = REQ_DEAD;
}

/* A request's life on its fiber; the buffers it took are given back at the end. */
static void task_main(void *arg)
{
	struct task *t = arg;
	struct fm_fuse_session *s = t->req.s;

	serve(&t->req, t->buf, t->n);
	t->req.task = NULL;
	if (t->own_buf)
		spare_put(s, false, t->buf);
	if (t->own_scratch)
		spare_put(s, true, t->scratch);
}

static void req_init(struct fm_fuse_req *req, struct worker *w, const struct fuse_in_header *h)
{
	memset(req, 0, sizeof(*req));
	req->magic = REQ_MAGIC;
	req->fd = w->fd;
	req->ent = w->cur_ent;
	req->opcode = h->opcode;
	req->unique = h->unique;
	req->nodeid = h->nodeid;
	req->ctx.uid = h->uid;
	req->ctx.gid = h->gid;
	req->ctx.pid = h->pid;
	req->s = w->s;
	atomic_store(&req->state, REQ_ACTIVE);
}

static void handle_request(struct worker *w, size_t n)
{
	struct fm_fuse_session *s = w->s;
	const struct fuse_in_header *h = (const struct fuse_in_header *)w->buf;
	struct fm_fuse_req *req = &w->req;
	struct fm_fiber *f;
	size_t extlen;
	struct cur c;

	if (n < sizeof(*h)) {
		fm_log(FM_LOG_ERROR, TAG, "short read of %zu bytes from /dev/fuse", n);
		return;
	}
	extlen = (size_t)h->total_extlen * 8;
	if (h->len != n || extlen > n - sizeof(*h)) {
		fm_log(FM_LOG_ERROR, TAG, "request %llu: length %u, read %zu, extensions %zu",
		       (unsigned long long)h->unique, h->len, n, extlen);
		if (opcode_takes_reply(h->opcode) || w->cur_ent)
			raw_reply_w(w, h->unique, EIO);
		return;
	}
	/* Extensions (security context, supplementary groups) trail the arguments. */
	c.p = w->buf + sizeof(*h);
	c.left = n - sizeof(*h) - extlen;

	if (!opcode_takes_reply(h->opcode)) {
		/* The kernel sends these on /dev/fuse only; an entry must come back all the same. */
		if (w->cur_ent)
			raw_reply_w(w, h->unique, EIO);
		else
			do_noreply(w, h, &c);
		return;
	}
	if (h->opcode == FUSE_RELEASE)
		atomic_fetch_add(&s->releasing, 1);

	/*
	 * Each request runs on a fiber: if a filter pends its operation the fiber suspends and
	 * this worker goes back to reading.  Without a fiber (out of memory) it runs here.
	 */
	f = s->fibers ? fm_fiber_get(s->fibers) : NULL;
	if (f) {
		struct task *t = fm_fiber_local(f);

		req_init(&t->req, w, h);
		t->req.task = t;
		t->fiber = f;
		t->w = w;
		t->n = n;
		t->scratch = NULL;
		t->own_buf = false;
		t->own_scratch = false;
		if (n <= sizeof(t->small)) {
			memcpy(t->small, w->buf, n);
			t->buf = t->small;
		} else {
			t->buf = w->buf;
		}
		inflight_add(s, &t->req);
		fm_fiber_start(f, task_main, t);
		return;
	}
	req_init(req, w, h);
	req->w = w;
	inflight_add(s, req);
	set_thread_req(req);
	serve(req, w->buf, n);
	set_thread_req(NULL);
}

static int add_worker(struct fm_fuse_session *s);

static void worker_gone(void *arg)
{
	struct worker *w = arg;
	struct fm_fuse_session *s = w->s;

	pthread_mutex_lock(&s->lock);
	w->live = false;
	s->live_workers--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct fm_fuse_session *s = w->s;
	int old;
	ssize_t n;

	/*
	 * Cancellation is only enabled while blocked in read(2), where the worker holds
	 * nothing; fm_fuse_unmount uses it to stop workers of a mount that stays busy.
	 */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	pthread_cleanup_push(worker_gone, w);
	while (!atomic_load(&s->stopping)) {
		/* A suspended request took this worker's buffer with it. */
		if (!w->buf && !(w->buf = spare_get(s, false))) {
			fm_log(FM_LOG_ERROR, TAG, "no memory for a request buffer; retrying");
			usleep(10000);
			continue;
		}
		atomic_fetch_add(&s->idle, 1);
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
		n = read(w->fd, w->buf, s->buf_size);
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
		/*
		 * The last worker waiting for requests just took one: start another, so that
		 * callbacks blocked in a filter never leave the mount without a reader.
		 */
		if (atomic_fetch_sub(&s->idle, 1) == 1 && n > 0)
			add_worker(s);
		if (n < 0) {
			int err = errno;

			/* ENOENT: the request was interrupted before we could read it. */
			if (err == ENOENT || err == EINTR || err == EAGAIN)
				continue;
			/* ENODEV: unmounted; the connection is gone. */
			if (err != ENODEV)
				fm_log(FM_LOG_ERROR, TAG, "read /dev/fuse: %s", strerror(err));
			break;
		}
		handle_request(w, (size_t)n);
	}
	pthread_cleanup_pop(1);
	return NULL;
}

/* ---- the io_uring transport: ring threads ---- */

/* The number of possible CPUs, as the kernel counts its queues (num_possible_cpus). */
static unsigned int possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "re");
	char line[512], *p, *save = NULL;
	unsigned int n = 0, a, b;
	long conf;

	if (f && fgets(line, sizeof(line), f)) {
		for (p = strtok_r(line, ",\n", &save); p; p = strtok_r(NULL, ",\n", &save)) {
			if (sscanf(p, "%u-%u", &a, &b) == 2 && b >= a)
				n += b - a + 1;
			else if (sscanf(p, "%u", &a) == 1)
				n++;
		}
	}
	if (f)
		fclose(f);
	if (n == 0) {
		conf = sysconf(_SC_NPROCESSORS_CONF);
		n = conf > 0 ? (unsigned int)conf : 1;
	}
	return n;
}

/* A free SQE; when the queue is full, what is there goes to the kernel first, which makes
 * room at once.  NULL if that fails. */
static struct io_uring_sqe *ring_sqe(struct ring_q *q)
{
	struct io_uring_sqe *sqe = fm_uring_get_sqe(&q->ring);

	if (!sqe && fm_uring_submit(&q->ring, false) == 0)
		sqe = fm_uring_get_sqe(&q->ring);
	return sqe;
}

/* Queue a REGISTER or COMMIT_AND_FETCH of `e`; the ring has room for every entry's. */
static void ring_prep_cmd(struct ring_q *q, struct ring_ent *e, uint32_t cmd_op)
{
	struct io_uring_sqe *sqe = ring_sqe(q);
	struct fm_fuse_uring_cmd_req *cr;

	if (!sqe) {
		fm_log(FM_LOG_ERROR, TAG, "ring %u: submission queue full; entry lost", q->qid);
		return;
	}
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = q->s->fd;
	sqe->cmd_op = cmd_op;
	sqe->user_data = (uintptr_t)e;
	if (cmd_op == FM_FUSE_URING_CMD_REGISTER) {
		sqe->addr = (uintptr_t)e->iov;
		sqe->len = 2;
	}
	cr = fm_uring_sqe_cmd(sqe);
	cr->qid = (uint16_t)q->qid;
	cr->commit_id = cmd_op == FM_FUSE_URING_CMD_COMMIT_AND_FETCH ? e->commit_id : 0;
	e->last_cmd = cmd_op;
	q->nfree++;
}

/* Keep a read on the eventfd, whose completion wakes the thread for queued replies. */
static void ring_arm_wake(struct ring_q *q)
{
	struct io_uring_sqe *sqe = ring_sqe(q);

	if (!sqe) {
		fm_log(FM_LOG_ERROR, TAG, "ring %u: no room for its wake-up read", q->qid);
		return;
	}
	sqe->opcode = IORING_OP_READ;
	sqe->fd = q->efd;
	sqe->addr = (uintptr_t)&q->efd_val;
	sqe->len = sizeof(q->efd_val);
	sqe->user_data = URING_WAKE_TAG;
}

/*
 * Add up to n entries to the queue (not registered yet); returns how many.  The payload
 * buffers are only touched where the kernel writes, so a large one costs address space.
 */
static unsigned int ring_new_entries(struct ring_q *q, unsigned int n)
{
	unsigned int added = 0;

	while (added < n && q->nents < URING_MAX) {
		struct ring_ent *e;

		if (q->nents == q->cap) {
			unsigned int cap = q->cap ? q->cap * 2 : URING_ENTRIES;
			struct ring_ent **ents = fm_realloc(q->ents, cap * sizeof(*ents));

			if (!ents)
				break;
			q->ents = ents;
			q->cap = cap;
		}
		e = fm_calloc(1, sizeof(*e));
		if (!e)
			break;
		e->hdr = fm_calloc(1, sizeof(*e->hdr));
		e->payload = fm_malloc(q->payload);
		if (!e->hdr || !e->payload) {
			fm_free(e->hdr);
			fm_free(e->payload);
			fm_free(e);
			break;
		}
		e->q = q;
		e->iov[0].iov_base = e->hdr;
		e->iov[0].iov_len = sizeof(*e->hdr);
		e->iov[1].iov_base = e->payload;
		e->iov[1].iov_len = q->payload;
		q->ents[q->nents++] = e;
		added++;
	}
	return added;
}

/* Keep entries with the kernel: requests that come while none is there wait for a commit. */
static void ring_grow(struct ring_q *q)
{
	unsigned int first = q->nents, i, n;

	if (q->nfree >= URING_LOW || q->nents >= URING_MAX)
		return;
	n = ring_new_entries(q, URING_GROW);
	for (i = first; i < first + n; i++)
		ring_prep_cmd(q, q->ents[i], FM_FUSE_URING_CMD_REGISTER);
	if (n)
		fm_log(FM_LOG_DEBUG, TAG, "ring %u: %u entries", q->qid, q->nents);
}

/* Submit a commit for every reply made since the last time. */
static void ring_flush_local(struct ring_q *q)
{
	struct ring_ent *e;

	while ((e = q->local)) {
		q->local = e->next;
		e->next = NULL;
		ring_prep_cmd(q, e, FM_FUSE_URING_CMD_COMMIT_AND_FETCH);
	}
}

/* Move the replies this thread made while it served to the queue's list (own). */
static void ring_take_mine(struct ring_q *q)
{
	struct ring_ent **mine = thread_replies(), *e, *next;

	for (e = *mine, *mine = NULL; e; e = next) {
		next = e->next;
		e->next = q->local;
		q->local = e;
	}
}

/*
 * After serving a request, take `own` back.  If another thread of the queue has it (waiting
 * on the ring for the next request, which may be one only this reply lets come), the replies
 * made meanwhile go to it through the stack first, which wakes it.
 */
static void ring_retake(struct ring_q *q)
{
	struct ring_ent **mine, *last;

	if (pthread_mutex_trylock(&q->own) != 0) {
		mine = thread_replies();
		if (*mine) {
			for (last = *mine; last->next; last = last->next)
				;
			ring_push_done(q, *mine, last);
			*mine = NULL;
		}
		pthread_mutex_lock(&q->own);
	}
	ring_take_mine(q);
}

/* Move the replies other threads made to the local list. */
static void ring_take_done(struct ring_q *q)
{
	struct ring_ent *e = atomic_exchange(&q->done, NULL), *next;

	for (; e; e = next) {
		next = e->next;
		e->next = q->local;
		q->local = e;
	}
}

/*
 * A request arrived in `e`: rebuild the message /dev/fuse would have given (in_header, the
 * operation's argument structure, the rest) in the thread's request buffer and serve it like a
 * worker does.
 */
static void ring_serve(struct ring_thread *rt, struct ring_ent *e)
{
	struct ring_q *q = rt->q;
	struct fm_fuse_session *s = q->s;
	struct worker *w = &rt->w;
	struct fuse_in_header ih;
	size_t payload_sz, op_sz;

	memcpy(&ih, e->hdr->in_out, sizeof(ih));
	payload_sz = e->hdr->ring_ent_in_out.payload_sz;
	e->commit_id = e->hdr->ring_ent_in_out.commit_id;
	if (ih.len < sizeof(ih) || payload_sz > e->iov[1].iov_len ||
	    ih.len - sizeof(ih) < payload_sz ||
	    (op_sz = ih.len - sizeof(ih) - payload_sz) > sizeof(e->hdr->op_in) ||
	    ih.len > s->buf_size) {
		fm_log(FM_LOG_ERROR, TAG, "ring %u: request %llu: length %u, payload %zu", q->qid,
		       (unsigned long long)ih.unique, ih.len, payload_sz);
		ring_raw_reply(e, e->commit_id, EIO);
		return;
	}
	while (!w->buf && !(w->buf = spare_get(s, false))) {
		fm_log(FM_LOG_ERROR, TAG, "no memory for a request buffer; retrying");
		usleep(10000);
	}
	memcpy(w->buf, &ih, sizeof(ih));
	memcpy(w->buf + sizeof(ih), e->hdr->op_in, op_sz);
	memcpy(w->buf + sizeof(ih) + op_sz, e->payload, payload_sz);
	w->cur_ent = e;
	handle_request(w, ih.len);
	w->cur_ent = NULL;
}

/* The kernel gave `e` back with an error instead of a request. */
static void ring_entry_error(struct ring_q *q, struct ring_ent *e, int res)
{
	q->nfree--;
	/*
	 * ENOENT: the commit named a request the kernel no longer has, and the kernel's side of
	 * the entry stays unusable: register the buffers again as a new entry.  The connection
	 * ending (ENOTCONN, ECONNABORTED) or the ring closing (ECANCELED) retires it.
	 */
	if (res == -ENOENT && e->last_cmd == FM_FUSE_URING_CMD_COMMIT_AND_FETCH) {
		fm_log(FM_LOG_DEBUG, TAG, "ring %u: commit of %llu: no such request", q->qid,
		       (unsigned long long)e->commit_id);
		ring_prep_cmd(q, e, FM_FUSE_URING_CMD_REGISTER);
		return;
	}
	if (res != -ENOTCONN && res != -ECONNABORTED && res != -ECANCELED)
		fm_log(FM_LOG_WARN, TAG, "ring %u: entry returned %s", q->qid, strerror(-res));
}

static void ring_set_state(struct ring_q *q, int state, int err)
{
	struct fm_fuse_session *s = q->s;

	pthread_mutex_lock(&s->lock);
	q->state = state;
	q->err = err;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* True if a REGISTER failed at once: its completion is already there. */
static int ring_register_error(struct ring_q *q)
{
	unsigned int head = atomic_load(q->ring.cq_head), tail = atomic_load(q->ring.cq_tail);
	struct io_uring_cqe *cqe;

	for (; head != tail; head++) {
		cqe = &q->ring.cqes[head & *q->ring.cq_mask];
		if (cqe->user_data != URING_WAKE_TAG && cqe->res < 0)
			return cqe->res;
	}
	return 0;
}

/* Pin the calling thread to the queue's CPU (best effort: the mask may forbid it). */
static void ring_pin(struct ring_q *q)
{
	cpu_set_t cpus;

	CPU_ZERO(&cpus);
	CPU_SET(q->qid, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus) < 0)
		fm_log(FM_LOG_DEBUG, TAG, "ring %u: cannot pin to its CPU: %s", q->qid,
		       strerror(errno));
}

/*
 * Serve the queue until the session stops.  The thread holding `own` waits on the ring and
 * takes its completions; while it serves a request it lets go of `own`, so that when the
 * request waits in place a stand-in (uring_watch_main) takes the ring over.  io_uring runs
 * a command's completion in the thread that submitted it, which does so even while it waits
 * in an interruptible sleep (a futex, a socket): the stand-in then finds it in the shared
 * completion queue.
 */
static void ring_loop(struct ring_thread *rt)
{
	struct ring_q *q = rt->q;
	struct fm_fuse_session *s = q->s;
	struct io_uring_cqe *cqe;
	int res;

	pthread_mutex_lock(&q->own);
	while (!q->stop) {
		ring_flush_local(q);
		res = fm_uring_submit(&q->ring, true);
		if (res < 0 && res != -EAGAIN && res != -EBUSY) {
			fm_log(FM_LOG_ERROR, TAG, "ring %u: io_uring_enter: %s", q->qid,
			       strerror(-res));
			q->stop = true;
			break;
		}
		while (!q->stop && (cqe = fm_uring_peek_cqe(&q->ring))) {
			uint64_t ud = cqe->user_data;
			struct ring_ent *e = (struct ring_ent *)(uintptr_t)ud;

			res = cqe->res;
			fm_uring_cqe_seen(&q->ring);
			if (ud == URING_WAKE_TAG) {
				ring_take_done(q);
				if (atomic_load(&s->uring_stop))
					q->stop = true;
				else
					ring_arm_wake(q);
			} else if (res == 0) {
				q->nfree--;
				atomic_store_explicit(&q->taken, atomic_load(&q->taken) + 1,
						      memory_order_relaxed);
				atomic_fetch_add_explicit(&q->serving, 1, memory_order_relaxed);
				pthread_mutex_unlock(&q->own);
				ring_serve(rt, e);
				atomic_fetch_sub_explicit(&q->serving, 1, memory_order_relaxed);
				ring_retake(q);
			} else {
				ring_entry_error(q, e, res);
			}
		}
		if (!q->stop)
			ring_grow(q);
	}
	/* Replies made before the session stopped still reach the kernel. */
	ring_take_mine(q);
	ring_flush_local(q);
	if (q->ring.to_submit)
		fm_uring_submit(&q->ring, false);
	pthread_mutex_unlock(&q->own);
}

static void *ring_main(void *arg)
{
	struct ring_thread *rt = arg;
	struct ring_q *q = rt->q;
	struct fm_fuse_session *s = q->s;
	unsigned int i;
	int res, go;

	current_ring = q;
	ring_pin(q);
	/* The ring is created here: completions of what this thread submits come to it. */
	res = fm_uring_init(&q->ring, URING_SQ, 2 * URING_MAX);
	q->ring_ready = res == 0;
	ring_set_state(q, res < 0 ? RING_FAILED : RING_READY, res);
	if (res < 0)
		return NULL;

	pthread_mutex_lock(&s->lock);
	while (!(go = s->uring_go))
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	if (go < 0)
		return NULL;

	pthread_mutex_lock(&q->own);
	for (i = 0; i < q->nents; i++)
		ring_prep_cmd(q, q->ents[i], FM_FUSE_URING_CMD_REGISTER);
	ring_arm_wake(q);
	res = fm_uring_submit(&q->ring, false);
	if (res == 0)
		res = ring_register_error(q);
	pthread_mutex_unlock(&q->own);
	ring_set_state(q, res < 0 ? RING_FAILED : RING_REGISTERED, res);
	ring_loop(rt);
	return NULL;
}

/* A stand-in: serves the queue beside its ring thread until the session stops. */
static void *ring_standin_main(void *arg)
{
	struct ring_thread *rt = arg;

	current_ring = rt->q;
	ring_pin(rt->q);
	ring_loop(rt);
	return NULL;
}

/* Buffers for a queue's thread; 0 or -ENOMEM. */
static int ring_thread_init(struct ring_q *q, unsigned int idx)
{
	struct ring_thread *rt = &q->threads[idx];

	rt->q = q;
	rt->w.s = q->s;
	rt->w.fd = -1;
	rt->w.buf = fm_malloc(q->s->buf_size);
	return rt->w.buf ? 0 : -ENOMEM;
}

/*
 * Every URING_WATCH_MS: a queue all of whose threads have been inside requests since the last
 * look, without taking a new one, gets a stand-in (up to URING_THREADS), so that a callback
 * waiting in place (for its user-mode service, for an event another request sets) does not
 * keep the requests of that CPU waiting behind it.
 */
static void *uring_watch_main(void *arg)
{
	struct fm_fuse_session *s = arg;
	struct timespec ts;
	unsigned int i, n;

	pthread_mutex_lock(&s->lock);
	while (!atomic_load(&s->uring_stop)) {
		deadline_in(URING_WATCH_MS, &ts);
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
		if (atomic_load(&s->uring_stop))
			break;
		for (i = 0; i < s->nqueues; i++) {
			struct ring_q *q = &s->queues[i];
			uint64_t taken = atomic_load_explicit(&q->taken, memory_order_relaxed);
			bool stalled;

			n = atomic_load(&q->nthreads);
			stalled = n && atomic_load_explicit(&q->serving, memory_order_relaxed) >= n;
			if (stalled && q->seen_stalled && taken == q->seen_taken &&
			    n < URING_THREADS) {
				if (ring_thread_init(q, n) == 0 &&
				    start_serving_thread(&q->threads[n].thread, ring_standin_main,
							 &q->threads[n]) == 0) {
					q->threads[n].started = true;
					atomic_store(&q->nthreads, n + 1);
					fm_log(FM_LOG_INFO, TAG,
					       "%s: ring %u: every thread has waited in a request "
					       "for %d ms or more; stand-in %u takes its requests",
					       s->mountpoint ? s->mountpoint : "?", q->qid,
					       URING_WATCH_MS, n);
				} else {
					fm_free(q->threads[n].w.buf);
					q->threads[n].w.buf = NULL;
					fm_log(FM_LOG_WARN, TAG, "ring %u: no stand-in thread",
					       q->qid);
				}
				stalled = false;
			}
			q->seen_stalled = stalled;
			q->seen_taken = taken;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Wait until every ring thread left state `from` (or `ms` passed); the first error or 0. */
static int uring_wait_state(struct fm_fuse_session *s, int from, long ms)
{
	struct timespec ts;
	unsigned int i;
	int err = 0;
	bool waiting;

	deadline_in(ms, &ts);
	pthread_mutex_lock(&s->lock);
	for (;;) {
		waiting = false;
		for (i = 0; i < s->nqueues; i++)
			if (s->queues[i].threads[0].started && s->queues[i].state == from)
				waiting = true;
		if (!waiting || pthread_cond_timedwait(&s->cond, &s->lock, &ts) == ETIMEDOUT)
			break;
	}
	for (i = 0; i < s->nqueues && !err; i++) {
		if (!s->queues[i].threads[0].started)
			err = -EAGAIN;
		else if (s->queues[i].state == RING_FAILED)
			err = s->queues[i].err < 0 ? s->queues[i].err : -EIO;
		else if (s->queues[i].state == from)
			err = -ETIMEDOUT;
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

static void uring_release(struct fm_fuse_session *s, int go)
{
	pthread_mutex_lock(&s->lock);
	s->uring_go = go;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Stop and join the ring threads (they must have been released, or be released here). */
static void uring_stop(struct fm_fuse_session *s)
{
	uint64_t one = 1;
	unsigned int i, j;

	if (!s->nqueues)
		return;
	pthread_mutex_lock(&s->lock);
	if (!s->uring_go)
		s->uring_go = -1;
	atomic_store(&s->uring_stop, true);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (s->uring_watching) {
		pthread_join(s->uring_watch, NULL);
		s->uring_watching = false;
	}
	for (i = 0; i < s->nqueues; i++)
		if (s->queues[i].threads[0].started &&
		    write(s->queues[i].efd, &one, sizeof(one)) < 0)
			fm_log(FM_LOG_WARN, TAG, "waking ring thread %u: %s", i, strerror(errno));
	for (i = 0; i < s->nqueues; i++) {
		struct ring_q *q = &s->queues[i];

		for (j = 0; j < URING_THREADS; j++) {
			if (q->threads[j].started) {
				pthread_join(q->threads[j].thread, NULL);
				q->threads[j].started = false;
			}
		}
		fm_log(FM_LOG_DEBUG, TAG, "ring %u served %llu requests with %u threads", i,
		       (unsigned long long)atomic_load(&q->taken), atomic_load(&q->nthreads));
		/* Closing the ring cancels the commands the kernel still holds. */
		if (q->ring_ready) {
			fm_uring_fini(&q->ring);
			q->ring_ready = false;
		}
	}
}

static void uring_free(struct fm_fuse_session *s)
{
	unsigned int i, j;

	for (i = 0; i < s->nqueues; i++) {
		struct ring_q *q = &s->queues[i];

		for (j = 0; j < q->nents; j++) {
			fm_free(q->ents[j]->hdr);
			fm_free(q->ents[j]->payload);
			fm_free(q->ents[j]);
		}
		fm_free(q->ents);
		for (j = 0; j < URING_THREADS; j++) {
			fm_free(q->threads[j].w.buf);
			fm_free(q->threads[j].w.scratch);
		}
		if (q->efd >= 0)
			close(q->efd);
		pthread_mutex_destroy(&q->own);
	}
	fm_free(s->queues);
	s->queues = NULL;
	s->nqueues = 0;
}

/*
 * Before the INIT reply that takes FUSE_OVER_IO_URING: one ring thread per possible CPU, each
 * with its ring set up and its entries' buffers (payload: the connection's largest argument),
 * waiting to register.  0, or -errno with nothing left behind: the reply then does without.
 */
/*
 * Start a thread that serves requests (a /dev/fuse worker, a ring thread) with every signal
 * blocked but the faults: the process's handlers run in its own threads, and a fault (a filter
 * crashing in a callback) must reach the daemon's crash report rather than kill silently.
 * 0 or -errno.
 */
static int start_serving_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int res;

	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGFPE);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	res = -pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return res;
}

static int uring_prepare(struct fm_fuse_session *s, size_t payload)
{
	unsigned int i, n = possible_cpus();
	int res = 0;

	s->queues = fm_calloc(n, sizeof(*s->queues));
	if (!s->queues)
		return -ENOMEM;
	s->nqueues = n;
	for (i = 0; i < n; i++) {
		s->queues[i].efd = -1;
		pthread_mutex_init(&s->queues[i].own, NULL);
	}
	for (i = 0; i < n && res == 0; i++) {
		struct ring_q *q = &s->queues[i];

		q->s = s;
		q->qid = i;
		q->efd = eventfd(0, EFD_CLOEXEC);
		if (q->efd < 0)
			res = -errno;
		if (res == 0)
			res = ring_thread_init(q, 0);
		q->payload = payload;
		if (res == 0 && ring_new_entries(q, URING_ENTRIES) < URING_ENTRIES)
			res = -ENOMEM;
		if (res == 0) {
			res =
			    start_serving_thread(&q->threads[0].thread, ring_main, &q->threads[0]);
			q->threads[0].started = res == 0;
			atomic_store(&q->nthreads, res == 0 ? 1 : 0);
		}
	}
	if (res == 0)
		res = uring_wait_state(s, RING_NEW, URING_START_MS);
	if (res < 0) {
		uring_stop(s);
		uring_free(s);
		atomic_store(&s->uring_stop, false);
	}
	return res;
}

/*
 * After the INIT reply: let the ring threads register (reply_ok) or go home.  The kernel holds
 * every new request until each queue has an entry, and falls back to /dev/fuse by itself when
 * a REGISTER fails; only then is the ring not in use.
 */
static void uring_start(struct fm_fuse_session *s, bool reply_ok)
{
	unsigned int i;
	int res;

	uring_release(s, reply_ok ? 1 : -1);
	if (!reply_ok)
		return;
	res = uring_wait_state(s, RING_READY, URING_START_MS);
	if (res < 0) {
		for (i = 0; i < s->nqueues; i++)
			if (s->queues[i].state == RING_FAILED)
				break;
		fm_log(FM_LOG_WARN, TAG,
		       "%s: io_uring registration failed (queue %u: %s): serving on /dev/fuse",
		       s->mountpoint ? s->mountpoint : "?", i, strerror(-res));
		return;
	}
	atomic_store(&s->uring_queues, s->nqueues);
	s->uring_watching = start_serving_thread(&s->uring_watch, uring_watch_main, s) == 0;
	if (!s->uring_watching)
		fm_log(FM_LOG_WARN, TAG,
		       "%s: no ring watchdog: a request waiting in place holds "
		       "its CPU's queue",
		       s->mountpoint ? s->mountpoint : "?");
}

/* ---- mounting ---- */

/* Undo mountinfo's octal escapes (\040 for a space, ...) in place. */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

/*
 * Look at the mounts on `path` in /proc/self/mountinfo.  *any_fuse: one of them is FUSE;
 * *top_dev / *top_fuse: device and FUSE-ness of the last (topmost) one.  Returns the number
 * of mounts on path, or -errno.
 */
static int scan_mounts(const char *path, bool *any_fuse, dev_t *top_dev, bool *top_fuse)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int count = 0;

	*any_fuse = false;
	*top_fuse = false;
	*top_dev = 0;
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char *save = NULL, *tok, *mnt = NULL, *fstype = NULL;
		unsigned int ma = 0, mi = 0;
		bool after_dash = false;
		int field = 0;

		for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
			if (after_dash) {
				fstype = tok;
				break;
			}
			if (field == 2 && sscanf(tok, "%u:%u", &ma, &mi) != 2)
				break;
			if (field == 4)
				mnt = tok;
			if (field >= 6 && strcmp(tok, "-") == 0)
				after_dash = true;
			field++;
		}
		if (!mnt || !fstype)
			continue;
		unescape(mnt);
		if (strcmp(mnt, path) != 0)
			continue;
		count++;
		*top_dev = makedev(ma, mi);
		*top_fuse = strcmp(fstype, "fuse") == 0 || strncmp(fstype, "fuse.", 5) == 0;
		if (*top_fuse)
			*any_fuse = true;
	}
	free(line);
	fclose(f);
	return count;
}

/* Wait until no worker is left or `ms` passed; true if none is left. */
static bool wait_workers(struct fm_fuse_session *s, long ms)
{
	struct timespec ts;
	bool none;

	deadline_in(ms, &ts);
	pthread_mutex_lock(&s->lock);
	while (s->live_workers > 0)
		if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) == ETIMEDOUT)
			break;
	none = s->live_workers == 0;
	pthread_mutex_unlock(&s->lock);
	return none;
}

/* Wait until held and suspended requests are answered and their fibers done; false after `ms`. */
static bool wait_inflight(struct fm_fuse_session *s, long ms)
{
	long waited = 0;

	while (atomic_load(&s->inflight) > 0 || (s->fibers && fm_fiber_pool_live(s->fibers) > 0)) {
		if (waited >= ms)
			return false;
		usleep(10000);
		waited += 10;
	}
	return true;
}

static void free_session(struct fm_fuse_session *s)
{
	unsigned int i;

	uring_free(s);
	fm_fiber_sched_destroy(s->sched);
	if (s->fibers) {
		size_t peak = fm_fiber_pool_stack_peak(s->fibers);

		fm_log(FM_LOG_DEBUG, TAG, "fibers: %zu created, stack peak %zu of %zu KiB",
		       fm_fiber_pool_created(s->fibers), peak / 1024,
		       fm_fiber_pool_stack_size(s->fibers) / 1024);
		fm_fiber_pool_destroy(s->fibers);
	}
	for (i = 0; i < s->nspare_buf; i++)
		fm_free(s->spare_buf[i]);
	for (i = 0; i < s->nspare_scratch; i++)
		fm_free(s->spare_scratch[i]);
	pthread_mutex_destroy(&s->spare_lock);
	if (s->workers) {
		for (i = 0; i < s->max_threads; i++) {
			fm_free(s->workers[i].buf);
			fm_free(s->workers[i].scratch);
		}
	}
	fm_free(s->workers);
	fm_free(s->mountpoint);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	for (i = 0; i < INFLIGHT_BUCKETS; i++)
		pthread_mutex_destroy(&s->inflight_tab[i].lock);
	fm_free(s);
}

/*
 * Unmount if the topmost mount on our path is still ours, stop the workers and close the
 * device.  Returns false if held requests were never answered: the caller must then not
 * free the session.
 */
/*
 * Abort the connection through the fusectl file system, when it is mounted: pending and
 * future requests fail with ENOTCONN even if some other process (a child forked without
 * exec) still holds a copy of our /dev/fuse descriptor.  Best effort.
 */
static void abort_connection(struct fm_fuse_session *s)
{
	char p[96];
	int fd;

	/* The directory is named after the kernel's dev_t: major << 20 | minor. */
	snprintf(p, sizeof(p), "/sys/fs/fuse/connections/%u/abort",
		 (unsigned int)((major(s->dev) << 20) | minor(s->dev)));
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "1", 1) < 0)
		fm_log(FM_LOG_DEBUG, TAG, "%s: %s", p, strerror(errno));
	close(fd);
}

static bool stop_session(struct fm_fuse_session *s)
{
	bool any_fuse, top_fuse, busy;
	unsigned int i, n;
	dev_t top;

	/*
	 * Unmount by path only if the topmost mount there is ours: after an unmount from
	 * outside, the path shows whatever was below, which is not ours to unmount.
	 */
	if (s->mounted && scan_mounts(s->mountpoint, &any_fuse, &top, &top_fuse) > 0) {
		if (top_fuse && top == s->dev) {
			if (umount2(s->mountpoint, MNT_DETACH) < 0)
				fm_log(FM_LOG_WARN, TAG, "umount %s: %s", s->mountpoint,
				       strerror(errno));
		} else if (any_fuse) {
			fm_log(FM_LOG_WARN, TAG,
			       "%s: another mount covers ours; not unmounting it "
			       "by path (its connection is aborted below)",
			       s->mountpoint);
		}
	}
	s->mounted = false;

	/* Not busy: the superblock went away with the mount and every read gets ENODEV. */
	busy = !wait_workers(s, STOP_GRACE_MS);
	if (busy)
		fm_log(FM_LOG_INFO, TAG, "%s still in use after unmount: aborting its connection",
		       s->mountpoint);
	atomic_store(&s->stopping, true);
	pthread_mutex_lock(&s->lock);
	/* No slot is taken once stopping is set; wait for those being started. */
	while (s->spawning > 0)
		pthread_cond_wait(&s->cond, &s->lock);
	n = s->nthreads;
	for (i = 0; i < n; i++)
		if (s->workers[i].started && s->workers[i].live)
			pthread_cancel(s->workers[i].thread);
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < n; i++) {
		if (s->workers[i].started) {
			pthread_join(s->workers[i].thread, NULL);
			s->workers[i].started = false;
		}
	}

	/* Held requests still write to our descriptors: they must stay open until answered. */
	if (!wait_inflight(s, HELD_DRAIN_MS)) {
		fm_log(FM_LOG_ERROR, TAG,
		       "%llu held or suspended request(s) on %s never answered: leaking the "
		       "session",
		       (unsigned long long)atomic_load(&s->inflight), s->mountpoint);
		return false;
	}
	/* Held requests are answered: the ring threads have nothing left to commit. */
	uring_stop(s);
	if (busy)
		abort_connection(s);
	/* Closing the last descriptor aborts a connection still busy: callers get ENOTCONN. */
	for (i = 0; i < n; i++) {
		if (s->workers[i].fd >= 0 && s->workers[i].fd != s->fd)
			close(s->workers[i].fd);
		s->workers[i].fd = -1;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	return true;
}

/*
 * Start one more worker thread, on a clone of the session descriptor (the first one on the
 * session descriptor itself).  From fm_fuse_mount, and from a worker that finds itself the
 * last one waiting for requests.  -EAGAIN once stopping or at the limit.
 */
static int add_worker(struct fm_fuse_session *s)
{
	struct worker *w;
	unsigned int i;
	int res = 0;

	pthread_mutex_lock(&s->lock);
	if (atomic_load(&s->stopping) || s->nthreads >= s->max_threads) {
		pthread_mutex_unlock(&s->lock);
		return -EAGAIN;
	}
	i = s->nthreads++;
	w = &s->workers[i];
	w->live = true;
	s->live_workers++;
	s->spawning++;
	pthread_mutex_unlock(&s->lock);

	if (!w->buf)
		w->buf = fm_malloc(s->buf_size);
	if (!w->buf)
		res = -ENOMEM;
	if (res == 0 && i == 0) {
		w->fd = s->fd;
	} else if (res == 0) {
		uint32_t master = (uint32_t)s->fd;
		int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);

		/* Without clones (old kernels) workers share the session descriptor. */
		if (fd >= 0 && ioctl(fd, FM_FUSE_DEV_IOC_CLONE, &master) < 0) {
			fm_log(FM_LOG_WARN, TAG, "FUSE_DEV_IOC_CLONE: %s", strerror(errno));
			close(fd);
			fd = -1;
		}
		w->fd = fd >= 0 ? fd : s->fd;
	}
	if (res == 0) {
		res = start_serving_thread(&w->thread, worker_main, w);
	}

	pthread_mutex_lock(&s->lock);
	if (res == 0) {
		w->started = true;
	} else {
		w->live = false;
		s->live_workers--;
		fm_log(FM_LOG_WARN, TAG, "starting worker %u: %s", i, strerror(-res));
	}
	s->spawning--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return res;
}

static int start_workers(struct fm_fuse_session *s, unsigned int n)
{
	unsigned int i;
	int res;

	for (i = 0; i < n; i++) {
		res = add_worker(s);
		if (res < 0)
			return res;
	}
	return 0;
}

static int wait_init(struct fm_fuse_session *s)
{
	struct timespec ts;
	int res;

	deadline_in(INIT_TIMEOUT_MS, &ts);
	pthread_mutex_lock(&s->lock);
	while (!s->init_done && s->live_workers > 0)
		if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) == ETIMEDOUT)
			break;
	res = s->init_done ? s->init_err : (s->live_workers > 0 ? -ETIMEDOUT : -ENOTCONN);
	pthread_mutex_unlock(&s->lock);
	return res;
}

/* A session with its options applied and nothing started; NULL if out of memory. */
static struct fm_fuse_session *session_alloc(const struct fm_fuse_options *opts,
					     const struct fm_fuse_ops *ops, void *ud,
					     unsigned int max_threads)
{
	struct fm_fuse_session *s = fm_calloc(1, sizeof(*s));
	pthread_condattr_t ca;
	unsigned int i;

	if (!s)
		return NULL;
	s->fd = -1;
	s->ops = *ops;
	s->ud = ud;
	s->want_passthrough = opts->want_passthrough;
	s->want_uring = opts->want_uring;
	s->max_threads = max_threads;
	s->max_write = opts->max_write ? opts->max_write : DEFAULT_MAX_WRITE;
	if (s->max_write < MIN_MAX_WRITE)
		s->max_write = MIN_MAX_WRITE;
	if (s->max_write > MAX_PAGES_LIMIT * page_size())
		s->max_write = MAX_PAGES_LIMIT * page_size();
	s->buf_size = s->max_write + REQ_OVERHEAD;
	/* Reads and directory listings may be as large as max_pages pages. */
	s->scratch_size = s->max_write > 128u * 1024 ? s->max_write : 128u * 1024;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	for (i = 0; i < INFLIGHT_BUCKETS; i++)
		pthread_mutex_init(&s->inflight_tab[i].lock, NULL);
	pthread_mutex_init(&s->spare_lock, NULL);
	s->workers = fm_calloc(s->max_threads, sizeof(*s->workers));
	s->fibers = fm_fiber_pool_create(opts->fiber_stack, sizeof(struct task), IDLE_FIBERS);
	s->sched = fm_fiber_sched_create(GROW_THREADS);
	if (!s->workers || !s->fibers || !s->sched) {
		free_session(s);
		return NULL;
	}
	for (i = 0; i < s->max_threads; i++) {
		s->workers[i].s = s;
		s->workers[i].fd = -1;
	}
	return s;
}

int fm_fuse_mount(const char *mountpoint, const struct fm_fuse_options *opts,
		  const struct fm_fuse_ops *ops, void *ud, struct fm_fuse_session **out)
{
	static const struct fm_fuse_options defaults;
	struct fm_fuse_session *s;
	char *canon, type[256], data[256];
	bool any_fuse, top_fuse;
	unsigned int nthreads;
	struct stat st;
	dev_t top;
	int res;

	if (!mountpoint || !ops || !out)
		return -EINVAL;
	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (opts->subtype && (strlen(opts->subtype) > 200 || strpbrk(opts->subtype, ", ")))
		return -EINVAL;
	if (opts->fsname && strchr(opts->fsname, ' '))
		return -EINVAL;
	if (stat(mountpoint, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	canon = realpath(mountpoint, NULL);
	if (!canon)
		return -errno;
	res = scan_mounts(canon, &any_fuse, &top, &top_fuse);
	if (res >= 0 && any_fuse)
		res = -EBUSY;
	if (res < 0) {
		free(canon);
		return res;
	}

	nthreads = opts->nthreads ? opts->nthreads : DEFAULT_THREADS;
	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	s = session_alloc(opts, ops, ud, nthreads > GROW_THREADS ? nthreads : GROW_THREADS);
	if (s)
		s->mountpoint = fm_strdup(canon);
	free(canon);
	if (!s || !s->mountpoint) {
		res = -ENOMEM;
		goto free_session;
	}

	s->fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (s->fd < 0) {
		res = -errno;
		fm_log(FM_LOG_ERROR, TAG, "open /dev/fuse: %s", strerror(-res));
		goto free_session;
	}
	snprintf(type, sizeof(type), "%s%s%s", "fuse", opts->subtype ? "." : "",
		 opts->subtype ? opts->subtype : "");
	snprintf(data, sizeof(data), "fd=%d,rootmode=40000,user_id=%u,group_id=%u%s%s", s->fd,
		 (unsigned int)geteuid(), (unsigned int)getegid(),
		 opts->allow_other ? ",allow_other" : "",
		 opts->default_permissions ? ",default_permissions" : "");
	if (mount(opts->fsname ? opts->fsname : "fltmgr", s->mountpoint, type, MS_NOSUID | MS_NODEV,
		  data) < 0) {
		res = -errno;
		fm_log(FM_LOG_ERROR, TAG, "mount %s: %s", s->mountpoint, strerror(-res));
		goto close_fd;
	}
	s->mounted = true;
	if (scan_mounts(s->mountpoint, &any_fuse, &s->dev, &top_fuse) <= 0 || !top_fuse) {
		fm_log(FM_LOG_ERROR, TAG, "%s: our mount is not in mountinfo", s->mountpoint);
		umount2(s->mountpoint, MNT_DETACH);
		s->mounted = false;
		res = -EIO;
		goto close_fd;
	}

	res = start_workers(s, nthreads);
	if (res == 0)
		res = wait_init(s);
	if (res < 0) {
		fm_log(FM_LOG_ERROR, TAG, "%s: FUSE_INIT failed: %s", s->mountpoint,
		       strerror(-res));
		if (stop_session(s))
			free_session(s);
		return res;
	}
	fm_log(FM_LOG_INFO, TAG, "mounted %s (%u workers, passthrough %s, %u io_uring queues)",
	       s->mountpoint, nthreads, s->conn.passthrough ? "on" : "off",
	       atomic_load(&s->uring_queues));
	*out = s;
	return 0;

close_fd:
	close(s->fd);
free_session:
	if (s)
		free_session(s);
	return res;
}

int fm_fuse__session_new(const struct fm_fuse_options *opts, const struct fm_fuse_ops *ops,
			 void *ud, int reply_fd, struct fm_fuse_session **out)
{
	static const struct fm_fuse_options defaults;
	struct fm_fuse_session *s;

	if (!ops || !out || reply_fd < 0)
		return -EINVAL;
	s = session_alloc(opts ? opts : &defaults, ops, ud, 1);
	if (!s)
		return -ENOMEM;
	s->nthreads = 1;
	s->workers[0].fd = reply_fd;
	s->workers[0].buf = fm_malloc(s->buf_size);
	if (!s->workers[0].buf) {
		free_session(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

int fm_fuse__session_process(struct fm_fuse_session *s, const void *buf, size_t len)
{
	struct worker *w = &s->workers[0];

	if (len > s->buf_size)
		return -E2BIG;
	if (!w->buf && !(w->buf = spare_get(s, false)))
		return -ENOMEM;
	memcpy(w->buf, buf, len);
	handle_request(w, len);
	return 0;
}

void fm_fuse__session_free(struct fm_fuse_session *s)
{
	if (!s)
		return;
	if (atomic_load(&s->initialized) && s->ops.destroy)
		s->ops.destroy(s->ud);
	free_session(s);
}

/* True when called from one of the session's worker threads. */
static bool on_worker(struct fm_fuse_session *s)
{
	bool found = false;
	unsigned int i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->nthreads; i++)
		if (s->workers[i].started && pthread_equal(s->workers[i].thread, pthread_self()))
			found = true;
	pthread_mutex_unlock(&s->lock);
	return found;
}

void fm_fuse_unmount(struct fm_fuse_session *s)
{
	bool inited;

	if (!s)
		return;
	/* A worker cannot wait for itself to stop. */
	if (on_worker(s)) {
		fm_log(FM_LOG_ERROR, TAG,
		       "fm_fuse_unmount(%s) called from one of its workers: "
		       "refused",
		       s->mountpoint);
		return;
	}
	inited = atomic_load(&s->initialized);
	if (!stop_session(s))
		return;
	if (inited && s->ops.destroy)
		s->ops.destroy(s->ud);
	fm_log(FM_LOG_INFO, TAG, "unmounted %s", s->mountpoint);
	free_session(s);
}

const struct fm_fuse_conn *fm_fuse_session_conn(const struct fm_fuse_session *s)
{
	return &s->conn;
}

unsigned int fm_fuse_session_uring_queues(const struct fm_fuse_session *s)
{
	return atomic_load(&((struct fm_fuse_session *)s)->uring_queues);
}

void fm_fuse_session_transport(const struct fm_fuse_session *s, char *buf, size_t cap)
{
	unsigned int n = fm_fuse_session_uring_queues(s);

	if (n)
		snprintf(buf, cap, "io_uring (%u queue%s)", n, n == 1 ? "" : "s");
	else if (s->want_uring && !s->uring_offered)
		snprintf(buf, cap, "/dev/fuse (io_uring not offered by the kernel)");
	else if (s->want_uring)
		snprintf(buf, cap, "/dev/fuse (io_uring failed)");
	else
		snprintf(buf, cap, "/dev/fuse");
}

uint64_t fm_fuse_session_inflight(struct fm_fuse_session *s)
{
	return atomic_load(&s->inflight);
}

int fm_fuse_backing_open(struct fm_fuse_session *s, int fd)
{
	struct fm_fuse_backing_map map = {.fd = fd};
	int id;

	if (!s || fd < 0)
		return -EINVAL;
	if (!s->conn.passthrough)
		return -EOPNOTSUPP;
	id = ioctl(s->fd, FM_FUSE_DEV_IOC_BACKING_OPEN, &map);
	if (id < 0)
		return -errno;
	/* Id 0 is never handed out; the contract says > 0. */
	return id > 0 ? id : -EIO;
}

int fm_fuse_backing_close(struct fm_fuse_session *s, int backing_id)
{
	uint32_t id = (uint32_t)backing_id;

	if (!s || backing_id <= 0)
		return -EINVAL;
	if (ioctl(s->fd, FM_FUSE_DEV_IOC_BACKING_CLOSE, &id) < 0)
		return -errno;
	return 0;
}

/* Notifications travel as a reply with unique 0 and the notify code in the error field. */
static int notify_fd(int fd, int code, struct iovec *iov, int cnt)
{
	struct fuse_out_header oh;
	size_t len = sizeof(oh);
	int i;

	for (i = 1; i < cnt; i++)
		len += iov[i].iov_len;
	oh.len = (uint32_t)len;
	oh.error = code;
	oh.unique = 0;
	iov[0].iov_base = &oh;
	iov[0].iov_len = sizeof(oh);
	return write_iov(fd, iov, cnt, len);
}

static int notify(struct fm_fuse_session *s, int code, struct iovec *iov, int cnt)
{
	return notify_fd(s->fd, code, iov, cnt);
}

int fm_fuse_notify_dup(struct fm_fuse_session *s)
{
	int fd;

	if (!s || s->fd < 0)
		return -EINVAL;
	fd = fcntl(s->fd, F_DUPFD_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

int fm_fuse_notify_inval_entry(struct fm_fuse_session *s, uint64_t parent, const char *name)
{
	struct fuse_notify_inval_entry_out o;
	struct iovec iov[3];
	size_t len;

	if (!s || !name || s->fd < 0)
		return -EINVAL;
	len = strlen(name);
	if (len == 0 || len > NAME_MAX)
		return -EINVAL;
	memset(&o, 0, sizeof(o));
	o.parent = parent;
	o.namelen = (uint32_t)len;
	iov[1].iov_base = &o;
	iov[1].iov_len = sizeof(o);
	/* The kernel wants the name NUL-terminated. */
	iov[2].iov_base = (void *)name;
	iov[2].iov_len = len + 1;
	return notify(s, FUSE_NOTIFY_INVAL_ENTRY, iov, 3);
}

int fm_fuse_notify_inval_inode_fd(int fd, uint64_t nodeid, off_t off, off_t len)
{
	struct fuse_notify_inval_inode_out o;
	struct iovec iov[2];

	if (fd < 0)
		return -EINVAL;
	memset(&o, 0, sizeof(o));
	o.ino = nodeid;
	o.off = off;
	o.len = len;
	iov[1].iov_base = &o;
	iov[1].iov_len = sizeof(o);
	return notify_fd(fd, FUSE_NOTIFY_INVAL_INODE, iov, 2);
}

int fm_fuse_notify_inval_inode(struct fm_fuse_session *s, uint64_t nodeid, off_t off, off_t len)
{
	if (!s)
		return -EINVAL;
	return fm_fuse_notify_inval_inode_fd(s->fd, nodeid, off, len);
}
