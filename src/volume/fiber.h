/* Fibers: request handlers that wait for a pended operation without holding a thread. */
#ifndef FM_VOLUME_FIBER_H
#define FM_VOLUME_FIBER_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A fiber is a function running on its own stack (mmap'ed, with a guard page below it), started
 * on the calling thread.  It may park (fm_fiber_park): the thread that ran it gets control back
 * at once, and the fiber continues later, on whatever thread calls fm_fiber_resume() after
 * someone woke it with fm_fiber_unpark().  Fibers come from a pool and go back to it when their
 * function returns, so their stacks are reused.  Per-thread state that belongs to the work a
 * fiber does (IRQL and region depths, the current process and the current filter of the kernel
 * runtime) travels with the fiber when it parks and resumes elsewhere.
 *
 * Switching does no system call on x86_64 (a hand-written register switch); other machines use
 * swapcontext().  AddressSanitizer and ThreadSanitizer are told about every switch.
 *
 * Code running on a fiber must not keep the address of a thread-local variable across a park
 * (the fiber may come back on another thread): read thread-local state through functions.
 */

struct fm_fiber;
struct fm_fiber_pool;
struct fm_fiber_sched;

#define FM_FIBER_STACK_DEFAULT (256u * 1024)
#define FM_FIBER_STACK_MIN (32u * 1024)

/*
 * A pool of fibers with stacks of `stack_size` bytes (0: FM_FIBER_STACK_DEFAULT; rounded up to
 * pages, at least FM_FIBER_STACK_MIN) and `local_size` bytes of per-fiber storage for the user
 * (fm_fiber_local).  At most `max_idle` finished fibers are kept for reuse; the others are
 * unmapped.  NULL if out of memory.
 */
struct fm_fiber_pool *fm_fiber_pool_create(size_t stack_size, size_t local_size,
					   unsigned int max_idle);

/*
 * Unmap the pool's idle fibers and free it.  Fibers still out (taken and not finished) would be
 * left without their pool: then nothing is freed, the count of those fibers is returned and the
 * caller leaks the pool on purpose.  0 when freed.
 */
size_t fm_fiber_pool_destroy(struct fm_fiber_pool *p);

/* Statistics: fibers taken and not finished, fibers ever created, the stack size, and the most
 * stack any of the pool's fibers has touched (bytes, page granularity). */
size_t fm_fiber_pool_live(struct fm_fiber_pool *p);
size_t fm_fiber_pool_created(struct fm_fiber_pool *p);
size_t fm_fiber_pool_stack_size(const struct fm_fiber_pool *p);
size_t fm_fiber_pool_stack_peak(struct fm_fiber_pool *p);

/* Take a fiber (a pooled one, or a new one).  NULL if none can be had (out of memory). */
struct fm_fiber *fm_fiber_get(struct fm_fiber_pool *p);

/* The fiber's user storage (local_size bytes, kept between uses: initialise it per use). */
void *fm_fiber_local(struct fm_fiber *f);

enum { FM_FIBER_FINISHED = 0, FM_FIBER_PARKED = 1 };

/*
 * Run fn(arg) on fiber f (from fm_fiber_get) on the calling thread, until it parks
 * (FM_FIBER_PARKED) or returns (FM_FIBER_FINISHED: the fiber is back in its pool).  Not from
 * a fiber.
 */
int fm_fiber_start(struct fm_fiber *f, void (*fn)(void *arg), void *arg);

/* Continue a parked fiber that fm_fiber_unpark() returned true for; same results. */
int fm_fiber_resume(struct fm_fiber *f);

/*
 * From a fiber: give the thread back until fm_fiber_unpark().  If the unpark already happened
 * (it may come any time after the fiber decided to wait, even before this call) this returns at
 * once.  Returns on the thread that resumed the fiber.
 */
void fm_fiber_park(void);

/*
 * From any thread: wake f.  Returns true if f was parked: the caller must now have it resumed
 * (fm_fiber_resume, or fm_fiber_sched_post); false if f had not parked yet (its park will
 * return by itself).  One unpark per park.
 */
bool fm_fiber_unpark(struct fm_fiber *f);

/* The fiber running on this thread and the argument its function got, or NULL. */
struct fm_fiber *fm_fiber_current(void);
void *fm_fiber_current_arg(void);

/*
 * Continuation threads: fibers posted here are resumed on one of them.  Threads start when
 * needed, one more whenever the last idle one takes work, up to `max_threads`.  Posting never
 * blocks on fibers: safe from any thread, including one that holds a filter's locks.
 */
struct fm_fiber_sched *fm_fiber_sched_create(unsigned int max_threads);
void fm_fiber_sched_post(struct fm_fiber_sched *s, struct fm_fiber *f);
/* fm_fiber_unpark(f) and, if it was parked, post it. */
void fm_fiber_sched_wake(struct fm_fiber_sched *s, struct fm_fiber *f);
/* Threads started so far (they stay until destroy). */
unsigned int fm_fiber_sched_threads(struct fm_fiber_sched *s);
/* Wait until nothing is queued or running, stop the threads, free.  Parked fibers are the
 * caller's business. */
void fm_fiber_sched_destroy(struct fm_fiber_sched *s);

#endif
