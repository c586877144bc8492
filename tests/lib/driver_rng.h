/*
 * The random source of the test drivers (fsx, stress): xorshift64*, so that a seed reproduces
 * a run exactly, and a weighted choice among operations.
 */
#ifndef FM_TESTS_DRIVER_RNG_H
#define FM_TESTS_DRIVER_RNG_H

#include <stdint.h>

static uint64_t rng; /* the state: seed it (non-zero) before the first draw */

static inline uint64_t next(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
}

/* A number in [0, n); 0 when n is 0. */
static inline uint64_t below(uint64_t n)
{
	return n ? next() % n : 0;
}

/* An index in [0, n) drawn with the given weights; `fallback` when they are all 0. */
static inline int weighted_pick(const unsigned int *weights, int n, int fallback)
{
	unsigned int total = 0, r;

	for (int i = 0; i < n; i++)
		total += weights[i];
	r = (unsigned int)below(total);
	for (int i = 0; i < n; i++) {
		if (r < weights[i])
			return i;
		r -= weights[i];
	}
	return fallback;
}

#endif
