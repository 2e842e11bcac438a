/*
 * stopper: how the worker stops. One thread waits for SIGTERM/SIGINT (blocked
 * in every other thread) or the --max-runtime limit, then stops claiming. For
 * the first WIND_DOWN_SHARE of the grace period, steps go on as if nothing
 * happened, so an upload close to its end finishes in this run instead of
 * being released; then steps end at their next safe point (an upload
 * checkpoints between chunks and is released), the rest of the grace period
 * being for the chunk in flight and the record of the outcome; when the grace
 * period is over it sets the hard stop, which aborts transfers still running.
 *
 * The wait is measured on the monotonic clock and resumed after anything
 * that interrupts it (SIGSTOP/SIGCONT, a debugger attaching: sigtimedwait
 * fails with EINTR), so only a stop signal or the limit ends it; the grace
 * period starts from there and nowhere else. When the slots end first
 * (--once), main.c sends the thread a SIGTERM to end its wait.
 */
#include <errno.h>
#include <signal.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "worker.h"

/* A year: "no limit" without overflowing a timespec. */
#define FOREVER (365.0 * 86400)

/* The part of the grace period during which steps carry on undisturbed. */
#define WIND_DOWN_SHARE (2.0 / 3.0)

/* Waits for a stop signal, or until the run-time limit (0: none). Returns
 * the signal, or 0 when the limit was reached. */
static int wait_for_stop(const sigset_t *signals, double max_runtime) {
    double until = sp_clock_monotonic() + (max_runtime > 0 ? max_runtime : FOREVER);
    for (;;) {
        double left = until - sp_clock_monotonic();
        if (left <= 0) {
            if (max_runtime > 0) return 0;
            until = sp_clock_monotonic() + FOREVER; /* a year without a signal: keep waiting */
            continue;
        }
        struct timespec ts = {.tv_sec = (time_t)left,
                              .tv_nsec = (long)((left - (double)(time_t)left) * 1e9)};
        siginfo_t info;
        int sig = sigtimedwait(signals, &info, &ts);
        if (sig > 0) return sig;
        if (errno != EINTR && errno != EAGAIN) { /* cannot happen: a bad set or timeout */
            sp_log(SP_LOG_ERROR, "waiting for signals failed: errno %d", errno);
            struct timespec pause = {.tv_sec = 1};
            nanosleep(&pause, NULL);
        }
    }
}

/* Waits until the slots and the webhook attempt have ended, or until the
 * monotonic time until. */
static void wait_for_work_to_end(sp_worker *w, double until) {
    struct timespec tick = {.tv_nsec = 100 * 1000 * 1000};
    while ((atomic_load(&w->slots_running) > 0 || atomic_load(&w->webhook_busy)) &&
           sp_clock_monotonic() < until)
        nanosleep(&tick, NULL);
}

/* Waits for a stop signal or the run-time limit, then for the grace period. */
void *sp_stopper_main(void *arg) {
    sp_stopper_args *a = arg;
    sp_worker *w = a->w;
    int sig = wait_for_stop(a->signals, w->max_runtime);
    if (atomic_load(&w->slots_running) > 0) /* else every slot has ended (--once): just go */
        sp_log(SP_LOG_INFO,
               "%s: no new claims; transfers go on for %.0f s, steps end within %.0f s",
               sig > 0 ? "stop signal" : "max runtime reached", w->grace_seconds * WIND_DOWN_SHARE,
               w->grace_seconds);
    atomic_store(&w->stopping, true);
    sp_worker_wake(w);
    double started = sp_clock_monotonic();
    wait_for_work_to_end(w, started + w->grace_seconds * WIND_DOWN_SHARE);
    atomic_store(&w->winding_down, true);
    wait_for_work_to_end(w, started + w->grace_seconds);
    atomic_store(&w->hard_stop, true);
    return NULL;
}
