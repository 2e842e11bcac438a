/*
 * rand: xoshiro256** per thread, seeded from the kernel.
 */
#include "core/rand.h"

#include <stdbool.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static __thread uint64_t state[4];
static __thread bool seeded;

static uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

/* Seeds this thread's state: getrandom, or the clock and pid when the
 * kernel has no entropy to give (never all zero). */
static void seed(void) {
    if (getrandom(state, sizeof state, GRND_NONBLOCK) != (ssize_t)sizeof state) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        state[0] = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32);
        state[1] = (uint64_t)getpid() * 0x9E3779B97F4A7C15ULL;
        state[2] = (uint64_t)(uintptr_t)&state;
    }
    state[3] |= 1;
    seeded = true;
}

uint64_t sp_rand_u64(void) {
    if (!seeded) seed();
    uint64_t result = rotl(state[1] * 5, 7) * 9, t = state[1] << 17;
    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= t;
    state[3] = rotl(state[3], 45);
    return result;
}

double sp_rand_unit(void) {
    return (double)(sp_rand_u64() >> 11) * 0x1.0p-53;
}
