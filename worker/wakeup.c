/*
 * wakeup: how idle slots sleep and wake. Slots wait on one condition
 * variable (on the monotonic clock) until woken or a timeout; the listener
 * thread LISTENs social_post_jobs on a connection of its own and wakes the
 * idle slots on every notification. When the connection is down, slots still
 * poll (every --poll seconds, or sooner when a retry is due), so a lost
 * notification delays a job, never loses it.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "db/listen.h"
#include "worker.h"

void sp_worker_wake(sp_worker *w) {
    pthread_mutex_lock(&w->lock);
    w->wake_seq++;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

void sp_worker_wait(sp_worker *w, double seconds) {
    struct timespec until = sp_clock_deadline(seconds); /* never before now */
    pthread_mutex_lock(&w->lock);
    unsigned long seen = w->wake_seq;
    while (w->wake_seq == seen && !atomic_load(&w->stopping)) {
        int rc = pthread_cond_timedwait(&w->wake, &w->lock, &until);
        if (rc == ETIMEDOUT) break;
        if (rc == EINVAL) { /* a bug (the deadline is built valid): never spin on it */
            sp_log(SP_LOG_ERROR, "waiting failed (EINVAL, deadline %lld.%09ld); not waiting",
                   (long long)until.tv_sec, until.tv_nsec);
            assert(rc != EINVAL);
            break;
        }
    }
    pthread_mutex_unlock(&w->lock);
}

bool sp_worker_hard_stopped(void *arg) {
    sp_worker *w = arg;
    return atomic_load(&w->hard_stop);
}

void sp_wakeup_stop(sp_worker *w) {
    uint64_t one = 1;
    if (w->listener_stop_fd >= 0 && write(w->listener_stop_fd, &one, sizeof one) < 0)
        sp_log(SP_LOG_DEBUG, "could not wake the listener; it ends within a second");
}

/* Waits up to one second for notifications (db/listen.h); wakes slots on
 * any. A stop (sp_wakeup_stop) ends the wait at once, so a --once run exits
 * as soon as its slots have, not up to a second later. Returns -1 when the
 * connection is lost. */
static int pump(sp_worker *w, sp_db *db) {
    int n = sp_db_wait_notifications(db, w->listener_stop_fd, 1.0, NULL, NULL);
    if (n > 0) sp_worker_wake(w);
    return n < 0 ? -1 : 0;
}

/* A connection for listening, with the worker's deadline on its calls. */
static sp_db *listen_db(sp_worker *w) {
    sp_db *db = sp_db_new(w->cfg->database_url);
    if (db) sp_db_set_deadline(db, w->db_deadline, sp_worker_hard_stopped, w);
    return db;
}

void *sp_wakeup_main(void *arg) {
    sp_worker *w = arg;
    sp_db *db = listen_db(w);
    if (!db) return NULL;
    bool listening = false;
    while (atomic_load(&w->slots_running) > 0 && !atomic_load(&w->stopping)) {
        sp_err err;
        if (!listening) {
            listening = sp_db_listen(db, "social_post_jobs", &err) == 0;
            if (!listening) {
                sp_worker_wait(w, 5);
                continue;
            }
            sp_worker_wake(w); /* anything submitted while we were not listening */
        }
        if (pump(w, db) < 0) { /* the next sp_db_listen reconnects */
            sp_log(SP_LOG_WARN, "lost the LISTEN connection; polling until it is back");
            listening = false;
        }
    }
    sp_db_free(db);
    return NULL;
}
