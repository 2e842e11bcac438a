/*
 * db_pool: a fixed set of sp_db handles behind a mutex, lent one call at a
 * time (db_pool.h). Waiters sleep on a condition variable on the monotonic
 * clock and wake at least every 100 ms to poll the abort check; a waiter
 * that borrows first (the lease keeper) makes the others wait until it has
 * its handle.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/clock.h"
#include "db_pool.h"

struct sp_db_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    sp_db *handles[SP_DB_POOL_MAX];
    bool lent[SP_DB_POOL_MAX];
    int size;
    int first_waiting; /* borrowers ahead of everyone else, still waiting */
    double deadline;
    bool (*abort_fn)(void *arg);
    void *abort_arg;
};

#define POLL_ABORT 0.1 /* seconds between two looks at the abort check */

sp_db_pool *sp_db_pool_new(const char *conninfo, int size, double deadline,
                           bool (*abort_fn)(void *arg), void *abort_arg) {
    if (size < 1) size = 1;
    if (size > SP_DB_POOL_MAX) size = SP_DB_POOL_MAX;
    sp_db_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->size = size;
    p->deadline = deadline;
    p->abort_fn = abort_fn;
    p->abort_arg = abort_arg;
    for (int i = 0; i < size; i++) {
        p->handles[i] = sp_db_new(conninfo);
        if (!p->handles[i]) {
            sp_db_pool_free(p);
            return NULL;
        }
        sp_db_set_deadline(p->handles[i], deadline, abort_fn, abort_arg);
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->freed, &attr);
    pthread_condattr_destroy(&attr);
    return p;
}

void sp_db_pool_free(sp_db_pool *p) {
    if (!p) return;
    for (int i = 0; i < p->size; i++)
        sp_db_free(p->handles[i]);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->freed);
    free(p);
}

/* A free handle, marked lent; -1 when all are lent. Called with lock. */
static int lend(sp_db_pool *p) {
    for (int i = 0; i < p->size; i++)
        if (!p->lent[i]) {
            p->lent[i] = true;
            return i;
        }
    return -1;
}

/* Sleeps on freed for at most POLL_ABORT seconds. Called with lock. */
static void wait_freed(sp_db_pool *p) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += (long)(POLL_ABORT * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&p->freed, &p->lock, &ts);
}

/* Borrows; first: ahead of the others; past_abort: ignores the abort check. */
static sp_db *take(sp_db_pool *p, bool first, bool past_abort, sp_err *err) {
    double until = sp_clock_monotonic() + p->deadline;
    int got = -1;
    pthread_mutex_lock(&p->lock);
    if (first) p->first_waiting++;
    for (;;) {
        if (first || p->first_waiting == 0) got = lend(p);
        if (got >= 0) break;
        if (!past_abort && p->abort_fn && p->abort_fn(p->abort_arg)) break;
        if (sp_clock_monotonic() >= until) break;
        wait_freed(p);
    }
    if (first) p->first_waiting--;
    pthread_mutex_unlock(&p->lock);
    if (first) pthread_cond_broadcast(&p->freed); /* the others may go on */
    if (got < 0) {
        sp_err_set(err, SP_ERR_DB_UNAVAILABLE, "database_unavailable",
                   "no database connection became free");
        return NULL;
    }
    return p->handles[got];
}

sp_db *sp_db_pool_take(sp_db_pool *p, bool past_abort, sp_err *err) {
    return take(p, false, past_abort, err);
}

sp_db *sp_db_pool_take_first(sp_db_pool *p, sp_err *err) {
    return take(p, true, false, err);
}

void sp_db_pool_give(sp_db_pool *p, sp_db *db) {
    if (!db) return;
    sp_db_set_deadline(db, p->deadline, p->abort_fn, p->abort_arg);
    pthread_mutex_lock(&p->lock);
    for (int i = 0; i < p->size; i++)
        if (p->handles[i] == db) p->lent[i] = false;
    pthread_mutex_unlock(&p->lock);
    pthread_cond_broadcast(&p->freed);
}

int sp_db_pool_size(const sp_db_pool *p) {
    return p->size;
}
