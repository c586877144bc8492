/* The fiber primitive: switching, parking, pool reuse, resuming on other threads, the scheduler. */
#include "volume/fiber.h"
#include "core/core.h"
#include "nt/ke.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

static int counter;

static void bump(void *arg)
{
	counter += *(int *)arg;
}

static void t_start_finish(void)
{
	struct fm_fiber_pool *p = fm_fiber_pool_create(0, 64, 4);
	struct fm_fiber *f;
	int add = 5;

	TAP_CHECK(p != NULL);
	TAP_EQ_INT(fm_fiber_pool_stack_size(p), FM_FIBER_STACK_DEFAULT);
	f = fm_fiber_get(p);
	TAP_CHECK(f != NULL);
	TAP_CHECK(fm_fiber_local(f) != NULL);
	counter = 0;
	TAP_EQ_INT(fm_fiber_start(f, bump, &add), FM_FIBER_FINISHED);
	TAP_EQ_INT(counter, 5);
	TAP_EQ_INT(fm_fiber_pool_live(p), 0);
	TAP_CHECK(fm_fiber_current() == NULL);
	TAP_EQ_INT(fm_fiber_pool_destroy(p), 0);
}

/* Pooled fibers are reused: a thousand sequential runs create one fiber. */
static void t_pool_reuse(void)
{
	struct fm_fiber_pool *p = fm_fiber_pool_create(64 * 1024, 0, 2);
	int add = 1, i;

	counter = 0;
	for (i = 0; i < 1000; i++)
		TAP_EQ_INT(fm_fiber_start(fm_fiber_get(p), bump, &add), FM_FIBER_FINISHED);
	TAP_EQ_INT(counter, 1000);
	TAP_EQ_INT(fm_fiber_pool_created(p), 1);
	TAP_EQ_INT(fm_fiber_pool_destroy(p), 0);
}

struct parker {
	struct fm_fiber *self;
	double x;
	long sum;
	int steps;
	bool early;	/* unpark itself before parking: park must return at once */
	long ran_on[2]; /* thread ids (pthread_self() is `const`: the compiler may reuse it) */
	int pid_after;
	KIRQL irql_after;
	struct fm_filter *filter_after;
};

/* Locals, callee-saved registers and floating point survive a park. */
static void parker_fn(void *arg)
{
	struct parker *k = arg;
	volatile double d = k->x;
	long acc = 0;
	int i;

	k->self = fm_fiber_current();
	k->ran_on[0] = syscall(SYS_gettid);
	for (i = 0; i < k->steps; i++) {
		acc += i * 3;
		fm_nt_set_current_pid(4242);
		fm_swap_current_filter((struct fm_filter *)k);
		if (k->early)
			TAP_CHECK(!fm_fiber_unpark(k->self));
		fm_fiber_park();
		d = d * 1.5;
	}
	k->ran_on[1] = syscall(SYS_gettid);
	k->pid_after = (int)(uintptr_t)PsGetCurrentProcessId();
	k->irql_after = KeGetCurrentIrql();
	k->filter_after = fm_current_filter();
	fm_nt_set_current_pid(0);
	fm_swap_current_filter(NULL);
	k->x = d;
	k->sum = acc;
}

static void t_park_same_thread(void)
{
	struct fm_fiber_pool *p = fm_fiber_pool_create(0, 0, 4);
	struct parker k = {.x = 2.0, .steps = 3};
	struct fm_fiber *f = fm_fiber_get(p);
	int r, rounds = 0;

	r = fm_fiber_start(f, parker_fn, &k);
	while (r == FM_FIBER_PARKED) {
		rounds++;
		/* The thread is back at its own state while the fiber is parked. */
		TAP_EQ_INT((int)(uintptr_t)PsGetCurrentProcessId(), getpid());
		TAP_CHECK(fm_current_filter() == NULL);
		TAP_CHECK(fm_fiber_current() == NULL);
		TAP_CHECK(fm_fiber_unpark(f));
		r = fm_fiber_resume(f);
	}
	TAP_EQ_INT(r, FM_FIBER_FINISHED);
	TAP_EQ_INT(rounds, 3);
	TAP_CHECK(k.x == 2.0 * 1.5 * 1.5 * 1.5);
	TAP_EQ_INT(k.sum, 9);
	TAP_EQ_INT(k.pid_after, 4242);
	TAP_CHECK(k.filter_after == (struct fm_filter *)&k);
	TAP_EQ_INT(fm_fiber_pool_destroy(p), 0);
}

/* An unpark that comes before the park: the park returns at once, nothing is switched. */
static void t_early_unpark(void)
{
	struct fm_fiber_pool *p = fm_fiber_pool_create(0, 0, 4);
	struct parker k = {.x = 1.0, .steps = 2, .early = true};

	TAP_EQ_INT(fm_fiber_start(fm_fiber_get(p), parker_fn, &k), FM_FIBER_FINISHED);
	TAP_CHECK(k.x == 2.25);
	TAP_EQ_INT(fm_fiber_pool_destroy(p), 0);
}

struct resumer {
	struct fm_fiber *f;
	int result;
	long tid;
};

static void *resume_thread(void *arg)
{
	struct resumer *r = arg;

	r->tid = syscall(SYS_gettid);
	TAP_CHECK(fm_fiber_unpark(r->f));
	r->result = fm_fiber_resume(r->f);
	return NULL;
}

/* Parked on one thread, resumed on another, with its thread-local state. */
static void t_resume_other_thread(void)
{
	struct fm_fiber_pool *p = fm_fiber_pool_create(0, 0, 4);
	struct parker k = {.x = 1.0, .steps = 1};
	struct resumer r = {0};
	pthread_t t;
	KIRQL old;

	r.f = fm_fiber_get(p);
	TAP_EQ_INT(fm_fiber_start(r.f, parker_fn, &k), FM_FIBER_PARKED);
	/* This thread's own IRQL must not leak into the fiber. */
	KeRaiseIrql(APC_LEVEL, &old);
	pthread_create(&t, NULL, resume_thread, &r);
	pthread_join(t, NULL);
	KeLowerIrql(old);
	TAP_EQ_INT(r.result, FM_FIBER_FINISHED);
	TAP_CHECK(k.ran_on[0] == syscall(SYS_gettid));
	TAP_CHECK(k.ran_on[1] == r.tid);
	TAP_EQ_INT(k.pid_after, 4242);
	TAP_EQ_INT(k.irql_after, PASSIVE_LEVEL);
	TAP_CHECK(k.filter_after == (struct fm_filter *)&k);
	TAP_EQ_INT(fm_fiber_pool_destroy(p), 0);
}

/* Many parked fibers, woken from another thread, finish on the scheduler's few threads. */
#define NPARKED 1000
static struct fm_fiber *parked[NPARKED];
static atomic_int finished;

static void wait_fn(void *arg)
{
	int i = (int)(intptr_t)arg;

	parked[i] = fm_fiber_current();
	fm_fiber_park();
	atomic_fetch_add(&finished, 1);
}

struct waker {
	struct fm_fiber_sched *s;
	int from, to;
};

static void *waker_thread(void *arg)
{
	struct waker *w = arg;
	int i;

	for (i = w->from; i < w->to; i++)
		fm_fiber_sched_wake(w->s, parked[i]);
	return NULL;
}

static void t_sched_many(void)
{
	struct fm_fiber_pool *p = fm_fiber_pool_create(64 * 1024, 0, 16);
	struct fm_fiber_sched *s = fm_fiber_sched_create(4);
	struct waker w[2] = {{s, 0, NPARKED / 2}, {s, NPARKED / 2, NPARKED}};
	pthread_t t[2];
	int i;

	atomic_store(&finished, 0);
	for (i = 0; i < NPARKED; i++)
		TAP_EQ_INT(fm_fiber_start(fm_fiber_get(p), wait_fn, (void *)(intptr_t)i),
			   FM_FIBER_PARKED);
	TAP_EQ_INT(fm_fiber_pool_live(p), NPARKED);
	for (i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, waker_thread, &w[i]);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	fm_fiber_sched_destroy(s);
	TAP_EQ_INT(atomic_load(&finished), NPARKED);
	TAP_EQ_INT(fm_fiber_pool_live(p), 0);
	TAP_EQ_INT(fm_fiber_pool_created(p), NPARKED);
	TAP_EQ_INT(fm_fiber_pool_destroy(p), 0);
}

/* Wakes racing parks: a thread unparks each fiber as soon as it exists. */
#define NRACE 3000
static struct fm_fiber *_Atomic racing;

static void race_fn(void *arg)
{
	(void)arg;
	atomic_store(&racing, fm_fiber_current());
	fm_fiber_park();
	atomic_fetch_add(&finished, 1);
}

static void *race_waker(void *arg)
{
	struct fm_fiber_sched *s = arg;
	int n = 0;

	while (n < NRACE) {
		struct fm_fiber *f = atomic_exchange(&racing, NULL);
		if (f) {
			fm_fiber_sched_wake(s, f);
			n++;
		}
	}
	return NULL;
}

static void t_race(void)
{
	struct fm_fiber_pool *p = fm_fiber_pool_create(64 * 1024, 0, 64);
	struct fm_fiber_sched *s = fm_fiber_sched_create(2);
	pthread_t t;
	int i, parked_n = 0;

	atomic_store(&finished, 0);
	pthread_create(&t, NULL, race_waker, s);
	for (i = 0; i < NRACE; i++) {
		/* Wait for the previous one to be taken, so each is woken exactly once. */
		while (atomic_load(&racing))
			;
		if (fm_fiber_start(fm_fiber_get(p), race_fn, NULL) == FM_FIBER_PARKED)
			parked_n++;
	}
	pthread_join(t, NULL);
	fm_fiber_sched_destroy(s);
	TAP_EQ_INT(atomic_load(&finished), NRACE);
	TAP_EQ_INT(fm_fiber_pool_live(p), 0);
	printf("# %d of %d parked before their wake-up\n", parked_n, NRACE);
	TAP_EQ_INT(fm_fiber_pool_destroy(p), 0);
}

static void deep(void *arg)
{
	volatile char buf[48 * 1024];

	buf[0] = 1;
	buf[sizeof(buf) - 1] = 1;
	*(int *)arg = buf[0] + buf[sizeof(buf) - 1];
}

/* The pool reports how much stack its fibers touched. */
static void t_stack_peak(void)
{
	struct fm_fiber_pool *p = fm_fiber_pool_create(128 * 1024, 0, 4);
	int out = 0;

	TAP_EQ_INT(fm_fiber_start(fm_fiber_get(p), deep, &out), FM_FIBER_FINISHED);
	TAP_EQ_INT(out, 2);
	TAP_CHECK(fm_fiber_pool_stack_peak(p) >= 48 * 1024);
	TAP_CHECK(fm_fiber_pool_stack_peak(p) <= 128 * 1024);
	printf("# peak %zu bytes\n", fm_fiber_pool_stack_peak(p));
	TAP_EQ_INT(fm_fiber_pool_destroy(p), 0);
}

static int recurse(int n)
{
	volatile char pad[1024];

	pad[0] = (char)n;
	return n > 0 ? recurse(n - 1) + pad[0] : 0;
}

static void overflow(void *arg)
{
	*(int *)arg = recurse(1000);
}

/* A stack overflow hits the guard page: the process dies instead of corrupting memory. */
static void t_guard_page(void)
{
	pid_t pid = fork();
	int status = 0;

	if (pid == 0) {
		struct fm_fiber_pool *p = fm_fiber_pool_create(FM_FIBER_STACK_MIN, 0, 1);
		int out = 0;

		fm_fiber_start(fm_fiber_get(p), overflow, &out);
		_exit(0);
	}
	TAP_CHECK(pid > 0);
	waitpid(pid, &status, 0);
	TAP_CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));
}

/* A parked fiber that is never woken keeps its pool alive. */
static void t_pool_busy(void)
{
	struct fm_fiber_pool *p = fm_fiber_pool_create(0, 0, 4);
	struct parker k = {.x = 1.0, .steps = 1};
	struct fm_fiber *f = fm_fiber_get(p);

	TAP_EQ_INT(fm_fiber_start(f, parker_fn, &k), FM_FIBER_PARKED);
	TAP_EQ_INT(fm_fiber_pool_destroy(p), 1);
	TAP_CHECK(fm_fiber_unpark(f));
	TAP_EQ_INT(fm_fiber_resume(f), FM_FIBER_FINISHED);
	TAP_EQ_INT(fm_fiber_pool_destroy(p), 0);
}

int main(void)
{
	TAP_RUN(t_start_finish);
	TAP_RUN(t_pool_reuse);
	TAP_RUN(t_park_same_thread);
	TAP_RUN(t_early_unpark);
	TAP_RUN(t_resume_other_thread);
	TAP_RUN(t_sched_many);
	TAP_RUN(t_race);
	TAP_RUN(t_stack_peak);
	TAP_RUN(t_guard_page);
	TAP_RUN(t_pool_busy);
	return tap_done();
}
