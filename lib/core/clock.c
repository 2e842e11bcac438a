/*
 * clock: CLOCK_MONOTONIC as seconds, and deadlines on it.
 */
#include "core/clock.h"

double sp_clock_monotonic(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct timespec sp_clock_deadline(double seconds) {
    struct timespec at;
    clock_gettime(CLOCK_MONOTONIC, &at);
    if (!(seconds > 0)) return at; /* also NaN */
    if (seconds > 1e9) seconds = 1e9;
    long long ns =
        (long long)at.tv_nsec + (long long)((seconds - (double)(long long)seconds) * 1e9);
    at.tv_sec += (time_t)seconds + (time_t)(ns / 1000000000LL);
    at.tv_nsec = (long)(ns % 1000000000LL);
    return at;
}
