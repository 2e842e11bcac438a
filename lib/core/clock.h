/*
 * clock: time that only moves forward, for durations, timeouts and waits.
 * Wall-clock time (time(2)) can step back or jump when the system clock is
 * set; nothing that measures an interval may use it.
 */
#ifndef SP_CLOCK_H
#define SP_CLOCK_H

#include <time.h>

/* Seconds on CLOCK_MONOTONIC since an arbitrary point. */
double sp_clock_monotonic(void);

/* The CLOCK_MONOTONIC instant seconds from now, for pthread_cond_timedwait on
 * a condition variable that uses that clock. Negative or NaN seconds mean now. */
struct timespec sp_clock_deadline(double seconds);

#endif
