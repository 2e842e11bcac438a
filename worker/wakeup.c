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
#include <poll.h>
#include <stdint.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "db/db.h"
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

/* Waits up to one second for notifications; wakes slots on any. A stop
 * (sp_wakeup_stop) ends the wait at once, so a --once run exits as soon as
 * its slots have, not up to a second later. */
static int pump(sp_worker *w, PGconn *conn) {
    struct pollfd p[2] = {{.fd = PQsocket(conn), .events = POLLIN},
                          {.fd = w->listener_stop_fd, .events = POLLIN}};
    if (p[0].fd < 0) return -1;
    if (poll(p, p[1].fd >= 0 ? 2 : 1, 1000) < 0) return 0;
    if (p[1].fd >= 0 && (p[1].revents & POLLIN)) {
        uint64_t n;
        ssize_t got = read(p[1].fd, &n, sizeof n); /* may find it empty: nothing to do then */
        (void)got;
        return 0;
    }
    if (!PQconsumeInput(conn)) return -1;
    bool any = false;
    PGnotify *n;
    while ((n = PQnotifies(conn)) != NULL) {
        any = true;
        PQfreemem(n);
    }
    if (any) sp_worker_wake(w);
    return 0;
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
            listening = sp_db_simple(db, "LISTEN social_post_jobs", &err) == 0;
            if (!listening) {
                sp_worker_wait(w, 5);
                continue;
            }
            sp_worker_wake(w); /* anything submitted while we were not listening */
        }
        if (pump(w, sp_db_conn(db)) < 0) {
            sp_log(SP_LOG_WARN, "lost the LISTEN connection; polling until it is back");
            listening = false;
            sp_db_free(db);
            db = listen_db(w);
            if (!db) return NULL;
        }
    }
    sp_db_free(db);
    return NULL;
}
