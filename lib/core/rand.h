/*
 * rand: random numbers for jitter and identifiers, safe in any thread.
 *
 * random() keeps one hidden state behind a lock shared by every thread (and
 * rand() is not thread-safe at all); here each thread has its own generator
 * (xoshiro256**), seeded from getrandom(2) on first use. Not for secrets.
 */
#ifndef SP_RAND_H
#define SP_RAND_H

#include <stdint.h>

/* 64 random bits. */
uint64_t sp_rand_u64(void);

/* A number in [0, 1). */
double sp_rand_unit(void);

#endif
