/* Fibers: pooled stacks, a register switch, park/unpark across threads, continuation threads. */
#include "volume/fiber.h"

#include "common/alloc.h"
#include "common/log.h"
#include "core/core.h"
#include "nt/ke.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define TAG "fiber"

#if defined(__x86_64__) && !defined(FM_FIBER_UCONTEXT)
#define FIBER_ASM 1
#else
#define FIBER_ASM 0
#include <ucontext.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FIBER_ASAN 1
#endif
#endif
#ifndef FIBER_ASAN
#define FIBER_ASAN 0
#endif

#if defined(__SANITIZE_THREAD__)
#define FIBER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FIBER_TSAN 1
#endif
#endif
#ifndef FIBER_TSAN
#define FIBER_TSAN 0
#endif

#if FIBER_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#if FIBER_TSAN
#include <sanitizer/tsan_interface.h>
#endif

/*
 * Functions that read or write thread-local state around a switch: never inlined nor analysed
 * across, so the compiler cannot reuse a thread-local address computed on another thread.
 */
#if defined(__clang__)
#define NOIPA __attribute__((noinline, optnone))
#else
#define NOIPA __attribute__((noipa))
#endif

/*
 * State of a fiber, guarded by compare-and-swap:
 *   RUNNING -> PARKED by the thread that ran it, once the fiber has switched away to park;
 *   RUNNING -> WOKEN  by an unpark that came before that (the park then returns at once);
 *   PARKED  -> RUNNING by an unpark (the waker must have it resumed);
 *   WOKEN   -> RUNNING by the park or the running thread that sees it.
 */
enum { ST_IDLE, ST_RUNNING, ST_PARKED, ST_WOKEN };

struct fm_fiber {
	struct fm_fiber_pool *pool;
	struct fm_fiber *next; /* idle list (pool lock) or run queue (sched lock) */
	void *map;
	size_t map_size;
	char *stack_lo;
	size_t stack_size;
	void *local;
	void (*fn)(void *arg);
	void *arg;
	_Atomic int state;
	bool finished; /* fn returned: written on the fiber, read by the thread it switched to */
	bool exiting;  /* the pool unmaps it: leave fiber_main for good */
#if FIBER_ASM
	void *sp;
	void *host_sp;
#else
	ucontext_t uc;
	ucontext_t host_uc;
#endif
	/* Thread-local state of the work, while parked. */
	struct fm_nt_tls nt;
	struct fm_filter *filter;
#if FIBER_ASAN
	void *asan_fake;
	const void *host_lo;
	size_t host_size;
#endif
#if FIBER_TSAN
	void *tsan_fiber;
	void *tsan_host;
#endif
};

struct fm_fiber_pool {
	pthread_mutex_t lock;
	struct fm_fiber *idle; /* lock */
	unsigned int nidle;    /* lock */
	unsigned int max_idle;
	size_t stack_size;
	size_t local_size;
	size_t page;
	size_t peak; /* lock: stack high-water mark of unmapped fibers */
	_Atomic size_t live;
	_Atomic size_t created;
};

/* ---- the switch ------------------------------------------------------------------------------ */

#if FIBER_ASM
/*
 * fm__fiber_swap(&save_sp, load_sp): push the callee-saved registers, the SSE control/status
 * and the x87 control word, store the stack pointer, load the other one and pop the same.
 * fm__fiber_entry is where a new fiber's first swap returns to: r12 holds the fiber, r13 the
 * C function to call with it; that function never returns.
 */
void fm__fiber_swap(void **save_sp, void *load_sp);
void fm__fiber_entry(void);
__asm__(".pushsection .text\n"
	".globl fm__fiber_swap\n"
	".hidden fm__fiber_swap\n"
	".type fm__fiber_swap,@function\n"
	".p2align 4\n"
	"fm__fiber_swap:\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	subq $8, %rsp\n"
	"	stmxcsr (%rsp)\n"
	"	fnstcw 4(%rsp)\n"
	"	movq %rsp, (%rdi)\n"
	"	movq %rsi, %rsp\n"
	"	ldmxcsr (%rsp)\n"
	"	fldcw 4(%rsp)\n"
	"	addq $8, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	".size fm__fiber_swap,.-fm__fiber_swap\n"
	".globl fm__fiber_entry\n"
	".hidden fm__fiber_entry\n"
	".type fm__fiber_entry,@function\n"
	".p2align 4\n"
	"fm__fiber_entry:\n"
	"	.cfi_startproc\n"
	"	.cfi_undefined rip\n"
	"	movq %r12, %rdi\n"
	"	callq *%r13\n"
	"	ud2\n"
	"	.cfi_endproc\n"
	".size fm__fiber_entry,.-fm__fiber_entry\n"
	".popsection\n");
#endif

static void fiber_main(struct fm_fiber *f);

#if !FIBER_ASM
static void fiber_main_uc(unsigned int hi, unsigned int lo)
{
	fiber_main((struct fm_fiber *)(((uintptr_t)hi << 32) | (uintptr_t)lo));
}
#endif

static int ctx_init(struct fm_fiber *f)
{
#if FIBER_ASM
	uint64_t *sp = (uint64_t *)(f->stack_lo + f->stack_size);

	/* After the first swap's ret the stack pointer is 16-byte aligned, as at a call site. */
	sp -= 2;
	*--sp = (uint64_t)(uintptr_t)fm__fiber_entry; /* return address */
	*--sp = 0;				      /* rbp */
	*--sp = 0;				      /* rbx */
	*--sp = (uint64_t)(uintptr_t)f;		      /* r12 */
	*--sp = (uint64_t)(uintptr_t)fiber_main;      /* r13 */
	*--sp = 0;				      /* r14 */
	*--sp = 0;				      /* r15 */
	*--sp = ((uint64_t)0x037f << 32) | 0x1f80;    /* x87 control word, MXCSR: defaults */
	f->sp = sp;
	return 0;
#else
	uintptr_t v = (uintptr_t)f;

	if (getcontext(&f->uc) < 0)
		return -errno;
	f->uc.uc_stack.ss_sp = f->stack_lo;
	f->uc.uc_stack.ss_size = f->stack_size;
	f->uc.uc_link = NULL;
	makecontext(&f->uc, (void (*)(void))fiber_main_uc, 2, (unsigned int)(v >> 32),
		    (unsigned int)(v & 0xffffffffu));
	return 0;
#endif
}

/* Host thread -> fiber.  Returns when the fiber switches back (parks or finishes). */
static void to_fiber(struct fm_fiber *f)
{
#if FIBER_ASAN
	void *fake = NULL;
#endif

#if FIBER_TSAN
	f->tsan_host = __tsan_get_current_fiber();
	__tsan_switch_to_fiber(f->tsan_fiber, 0);
#endif
#if FIBER_ASAN
	__sanitizer_start_switch_fiber(&fake, f->stack_lo, f->stack_size);
#endif
#if FIBER_ASM
	fm__fiber_swap(&f->host_sp, f->sp);
#else
	swapcontext(&f->host_uc, &f->uc);
#endif
#if FIBER_ASAN
	__sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
}

/* Fiber -> the thread that ran or resumed it.  Returns when a thread switches in again. */
static void to_host(struct fm_fiber *f, bool final)
{
#if FIBER_ASAN
	__sanitizer_start_switch_fiber(final ? NULL : &f->asan_fake, f->host_lo, f->host_size);
#else
	(void) final;
#endif
#if FIBER_TSAN
	__tsan_switch_to_fiber(f->tsan_host, 0);
#endif
#if FIBER_ASM
	fm__fiber_swap(&f->sp, f->host_sp);
#else
	swapcontext(&f->uc, &f->host_uc);
#endif
#if FIBER_ASAN
	__sanitizer_finish_switch_fiber(f->asan_fake, &f->host_lo, &f->host_size);
#endif
}

/* The bottom of every fiber's stack: runs one function per use, forever. */
static void fiber_main(struct fm_fiber *f)
{
#if FIBER_ASAN
	__sanitizer_finish_switch_fiber(NULL, &f->host_lo, &f->host_size);
#endif
	while (!f->exiting) {
		f->fn(f->arg);
		f->fn = NULL;
		f->finished = true;
		to_host(f, false);
	}
	to_host(f, true);
	__builtin_unreachable();
}

/* ---- thread-local state ------------------------------------------------------------------------ */

static __thread struct fm_fiber *cur;

static NOIPA struct fm_fiber *cur_get(void)
{
	return cur;
}

static NOIPA void cur_set(struct fm_fiber *f)
{
	cur = f;
}

static NOIPA void tls_save(struct fm_fiber *f)
{
	fm_nt_tls_save(&f->nt);
	f->filter = fm_swap_current_filter(NULL);
}

static NOIPA void tls_load(struct fm_fiber *f)
{
	fm_nt_tls_load(&f->nt);
	fm_swap_current_filter(f->filter);
}

struct fm_fiber *fm_fiber_current(void)
{
	return cur_get();
}

void *fm_fiber_current_arg(void)
{
	struct fm_fiber *f = cur_get();

	return f ? f->arg : NULL;
}

/* ---- the pool ---------------------------------------------------------------------------------- */

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

struct fm_fiber_pool *fm_fiber_pool_create(size_t stack_size, size_t local_size,
					   unsigned int max_idle)
{
	struct fm_fiber_pool *p = fm_calloc(1, sizeof(*p));
	long page = sysconf(_SC_PAGESIZE);

	if (!p)
		return NULL;
	p->page = page > 0 ? (size_t)page : 4096;
	if (!stack_size)
		stack_size = FM_FIBER_STACK_DEFAULT;
	if (stack_size < FM_FIBER_STACK_MIN)
		stack_size = FM_FIBER_STACK_MIN;
	p->stack_size = round_up(stack_size, p->page);
	p->local_size = local_size;
	p->max_idle = max_idle;
	pthread_mutex_init(&p->lock, NULL);
	return p;
}

/* Bytes of f's stack ever touched: from the lowest resident page to the top. */
static size_t stack_used(const struct fm_fiber *f, size_t page)
{
	size_t n = f->stack_size / page, i;
	unsigned char vec[256];
	size_t done = 0;

	while (done < n) {
		size_t chunk = n - done < sizeof(vec) ? n - done : sizeof(vec);

		if (mincore(f->stack_lo + done * page, chunk * page, vec) < 0)
			return 0;
		for (i = 0; i < chunk; i++)
			if (vec[i] & 1)
				return (n - done - i) * page;
		done += chunk;
	}
	return 0;
}

static struct fm_fiber *fiber_create(struct fm_fiber_pool *p)
{
	size_t head = round_up(sizeof(struct fm_fiber), 64);
	size_t size = p->page + p->stack_size + round_up(head + p->local_size, p->page);
	struct fm_fiber *f;
	char *map;

	map = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (map == MAP_FAILED) {
		fm_log(FM_LOG_WARN, TAG, "mmap of a %zu-byte fiber: %s", size, strerror(errno));
		return NULL;
	}
	/* The guard page below the stack turns an overflow into a fault, not a corruption. */
	if (mprotect(map, p->page, PROT_NONE) < 0) {
		fm_log(FM_LOG_WARN, TAG, "fiber guard page: %s", strerror(errno));
		munmap(map, size);
		return NULL;
	}
	f = (struct fm_fiber *)(map + p->page + p->stack_size);
	memset(f, 0, sizeof(*f));
	f->pool = p;
	f->map = map;
	f->map_size = size;
	f->stack_lo = map + p->page;
	f->stack_size = p->stack_size;
	f->local = (char *)f + head;
	atomic_store(&f->state, ST_IDLE);
	if (ctx_init(f) < 0) {
		munmap(map, size);
		return NULL;
	}
#if FIBER_TSAN
	f->tsan_fiber = __tsan_create_fiber(0);
#endif
	atomic_fetch_add(&p->created, 1);
	return f;
}

static void fiber_unmap(struct fm_fiber *f)
{
	struct fm_fiber_pool *p = f->pool;
	size_t used = stack_used(f, p->page);

	/* Let a fiber that ran leave fiber_main, so the sanitizers release what they keep for it. */
	if (f->finished) {
		f->exiting = true;
		to_fiber(f);
	}
#if FIBER_TSAN
	__tsan_destroy_fiber(f->tsan_fiber);
#endif
	pthread_mutex_lock(&p->lock);
	if (used > p->peak)
		p->peak = used;
	pthread_mutex_unlock(&p->lock);
	munmap(f->map, f->map_size);
}

struct fm_fiber *fm_fiber_get(struct fm_fiber_pool *p)
{
	struct fm_fiber *f;

	pthread_mutex_lock(&p->lock);
	f = p->idle;
	if (f) {
		p->idle = f->next;
		p->nidle--;
	}
	pthread_mutex_unlock(&p->lock);
	if (!f)
		f = fiber_create(p);
	if (f) {
		f->next = NULL;
		atomic_fetch_add(&p->live, 1);
	}
	return f;
}

static void fiber_put(struct fm_fiber *f)
{
	struct fm_fiber_pool *p = f->pool;

	atomic_store(&f->state, ST_IDLE);
	pthread_mutex_lock(&p->lock);
	if (p->nidle < p->max_idle) {
		f->next = p->idle;
		p->idle = f;
		p->nidle++;
		f = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	if (f)
		fiber_unmap(f);
	atomic_fetch_sub(&p->live, 1);
}

void *fm_fiber_local(struct fm_fiber *f)
{
	return f->local;
}

size_t fm_fiber_pool_live(struct fm_fiber_pool *p)
{
	return atomic_load(&p->live);
}

size_t fm_fiber_pool_created(struct fm_fiber_pool *p)
{
	return atomic_load(&p->created);
}

size_t fm_fiber_pool_stack_size(const struct fm_fiber_pool *p)
{
	return p->stack_size;
}

size_t fm_fiber_pool_stack_peak(struct fm_fiber_pool *p)
{
	struct fm_fiber *f;
	size_t peak;

	pthread_mutex_lock(&p->lock);
	peak = p->peak;
	for (f = p->idle; f; f = f->next) {
		size_t used = stack_used(f, p->page);
		if (used > peak)
			peak = used;
	}
	pthread_mutex_unlock(&p->lock);
	return peak;
}

size_t fm_fiber_pool_destroy(struct fm_fiber_pool *p)
{
	struct fm_fiber *f;
	size_t live;

	if (!p)
		return 0;
	live = atomic_load(&p->live);
	if (live) {
		fm_log(FM_LOG_ERROR, TAG, "%zu fiber(s) still in use: pool left allocated", live);
		return live;
	}
	pthread_mutex_lock(&p->lock);
	f = p->idle;
	p->idle = NULL;
	p->nidle = 0;
	pthread_mutex_unlock(&p->lock);
	while (f) {
		struct fm_fiber *next = f->next;
		fiber_unmap(f);
		f = next;
	}
	pthread_mutex_destroy(&p->lock);
	fm_free(p);
	return 0;
}

/* ---- running, parking, waking --------------------------------------------------------------- */

static int run(struct fm_fiber *f)
{
	struct fm_fiber *prev = cur_get();

	for (;;) {
		int expect = ST_RUNNING;

		cur_set(f);
		to_fiber(f);
		cur_set(prev);
		if (f->finished) {
			fiber_put(f);
			return FM_FIBER_FINISHED;
		}
		/* Parked.  From here on another thread may resume it: touch nothing after. */
		if (atomic_compare_exchange_strong(&f->state, &expect, ST_PARKED))
			return FM_FIBER_PARKED;
		/* Woken before it could be marked parked: it goes on here. */
		atomic_store(&f->state, ST_RUNNING);
	}
}

int fm_fiber_start(struct fm_fiber *f, void (*fn)(void *arg), void *arg)
{
	f->fn = fn;
	f->arg = arg;
	f->finished = false;
	f->exiting = false;
	atomic_store(&f->state, ST_RUNNING);
	return run(f);
}

int fm_fiber_resume(struct fm_fiber *f)
{
	return run(f);
}

NOIPA void fm_fiber_park(void)
{
	struct fm_fiber *f = cur_get();
	int expect = ST_WOKEN;

	if (!f) {
		fm_log(FM_LOG_ERROR, TAG, "fm_fiber_park called outside a fiber");
		return;
	}
	if (atomic_compare_exchange_strong(&f->state, &expect, ST_RUNNING))
		return;
	tls_save(f);
	to_host(f, false);
	tls_load(f);
}

bool fm_fiber_unpark(struct fm_fiber *f)
{
	int st = atomic_load(&f->state);

	for (;;) {
		if (st == ST_RUNNING) {
			if (atomic_compare_exchange_weak(&f->state, &st, ST_WOKEN))
				return false;
		} else if (st == ST_PARKED) {
			if (atomic_compare_exchange_weak(&f->state, &st, ST_RUNNING))
				return true;
		} else {
			fm_log(FM_LOG_ERROR, TAG,
			       "unpark of a fiber that is not waiting (state %d)", st);
			return false;
		}
	}
}

/* ---- continuation threads --------------------------------------------------------------------- */

struct fm_fiber_sched {
	pthread_mutex_t lock;
	pthread_cond_t work;	      /* something queued, or stopping */
	pthread_cond_t quiet;	      /* nothing queued nor running */
	struct fm_fiber *head, *tail; /* lock */
	unsigned int max;
	unsigned int nthreads; /* lock */
	unsigned int idle;     /* lock: threads waiting for work */
	unsigned int busy;     /* lock: threads running a fiber */
	bool stopping;	       /* lock */
	pthread_t *threads;    /* lock; max entries */
};

static void *sched_main(void *arg);

/* Start one more thread unless at the limit; caller holds s->lock. */
static void grow_locked(struct fm_fiber_sched *s)
{
	sigset_t all, old;
	int err;

	if (s->stopping || s->nthreads >= s->max)
		return;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&s->threads[s->nthreads], NULL, sched_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		fm_log(FM_LOG_WARN, TAG, "starting a continuation thread: %s", strerror(err));
		return;
	}
	s->nthreads++;
}

static void *sched_main(void *arg)
{
	struct fm_fiber_sched *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct fm_fiber *f;

		while (!s->head && !s->stopping) {
			s->idle++;
			pthread_cond_wait(&s->work, &s->lock);
			s->idle--;
		}
		f = s->head;
		if (!f)
			break;
		s->head = f->next;
		if (!s->head)
			s->tail = NULL;
		f->next = NULL;
		s->busy++;
		/* More work and nobody left to take it: this fiber may block for long. */
		if (s->head && !s->idle)
			grow_locked(s);
		pthread_mutex_unlock(&s->lock);
		fm_fiber_resume(f);
		pthread_mutex_lock(&s->lock);
		s->busy--;
		if (!s->head && !s->busy)
			pthread_cond_broadcast(&s->quiet);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

struct fm_fiber_sched *fm_fiber_sched_create(unsigned int max_threads)
{
	struct fm_fiber_sched *s = fm_calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->max = max_threads ? max_threads : 1;
	s->threads = fm_calloc(s->max, sizeof(*s->threads));
	if (!s->threads) {
		fm_free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->work, NULL);
	pthread_cond_init(&s->quiet, NULL);
	return s;
}

void fm_fiber_sched_post(struct fm_fiber_sched *s, struct fm_fiber *f)
{
	pthread_mutex_lock(&s->lock);
	if (s->stopping)
		fm_log(FM_LOG_ERROR, TAG, "fiber posted to a stopped scheduler: it never resumes");
	f->next = NULL;
	if (s->tail)
		s->tail->next = f;
	else
		s->head = f;
	s->tail = f;
	if (s->idle)
		pthread_cond_signal(&s->work);
	else
		grow_locked(s);
	pthread_mutex_unlock(&s->lock);
}

void fm_fiber_sched_wake(struct fm_fiber_sched *s, struct fm_fiber *f)
{
	if (fm_fiber_unpark(f))
		fm_fiber_sched_post(s, f);
}

unsigned int fm_fiber_sched_threads(struct fm_fiber_sched *s)
{
	unsigned int n;

	pthread_mutex_lock(&s->lock);
	n = s->nthreads;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void fm_fiber_sched_destroy(struct fm_fiber_sched *s)
{
	unsigned int i, n;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	while (s->head || s->busy)
		pthread_cond_wait(&s->quiet, &s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->work);
	n = s->nthreads;
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < n; i++)
		pthread_join(s->threads[i], NULL);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->work);
	pthread_cond_destroy(&s->quiet);
	fm_free(s->threads);
	fm_free(s);
}
