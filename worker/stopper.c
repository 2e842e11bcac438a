/*
 * stopper: how the worker stops. One thread waits for SIGTERM/SIGINT (blocked
 * in every other thread) or the --max-runtime limit, then stops claiming and
 * lets steps (and a webhook attempt) end at a safe point; when the grace
 * period is over it sets the hard stop, which aborts transfers still running.
 */
#include <signal.h>
#include <time.h>

#include "core/log.h"
#include "worker.h"

bool sp_worker_hard_stopped(void *arg) {
    sp_worker *w = arg;
    return atomic_load(&w->hard_stop);
}

/* Waits for a stop signal or the run-time limit, then for the grace period. */
void *sp_stopper_main(void *arg) {
    sp_stopper_args *a = arg;
    sp_worker *w = a->w;
    struct timespec limit = {.tv_sec = w->max_runtime > 0 ? (time_t)w->max_runtime : 365 * 86400};
    siginfo_t info;
    int sig = sigtimedwait(a->signals, &info, &limit);
    if (sig > 0 || w->max_runtime > 0) {
        sp_log(SP_LOG_INFO, "%s: no new claims; ending steps within %.0f s",
               sig > 0 ? "stop signal" : "max runtime reached", w->grace_seconds);
        atomic_store(&w->stopping, true);
        sp_worker_wake(w);
    }
    double waited = 0;
    struct timespec tick = {.tv_nsec = 100 * 1000 * 1000};
    while ((atomic_load(&w->slots_running) > 0 || atomic_load(&w->webhook_busy)) &&
           waited < w->grace_seconds) {
        nanosleep(&tick, NULL);
        waited += 0.1;
    }
    atomic_store(&w->hard_stop, true);
    return NULL;
}
