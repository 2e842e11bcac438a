/*
 * wakeup: how idle slots and webhook senders sleep and wake. Slots wait on
 * one condition variable (on the monotonic clock) until woken or a timeout,
 * the webhook senders on another; the listener thread LISTENs
 * social_post_jobs (and, with a webhook secret, social_post_webhooks) on the
 * worker's one connection of its own and wakes the idle slots on a job's
 * notification, the senders on an event's. When the connection is down,
 * slots still poll (every --poll seconds, or sooner when a retry is due) and
 * senders every 2 s, so a lost notification delays a job or an event, never
 * loses it.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "db/listen.h"
#include "worker.h"

#define JOBS_CHANNEL "social_post_jobs"
#define WEBHOOKS_CHANNEL "social_post_webhooks"

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

unsigned long sp_webhooks_seen(sp_worker *w) {
    pthread_mutex_lock(&w->lock);
    unsigned long seen = w->webhook_seq;
    pthread_mutex_unlock(&w->lock);
    return seen;
}

bool sp_webhooks_wait(sp_worker *w, unsigned long seen, double seconds) {
    struct timespec until = sp_clock_deadline(seconds);
    pthread_mutex_lock(&w->lock);
    while (w->webhook_seq == seen)
        if (pthread_cond_timedwait(&w->webhook_wake, &w->lock, &until) != 0) break;
    bool woken = w->webhook_seq != seen;
    pthread_mutex_unlock(&w->lock);
    return woken;
}

/* Wakes the webhook senders: an event may be due. */
static void wake_senders(sp_worker *w) {
    pthread_mutex_lock(&w->lock);
    w->webhook_seq++;
    pthread_cond_broadcast(&w->webhook_wake);
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

/* What one wait heard: a job's notification, an event's. */
typedef struct {
    bool jobs, webhooks;
} heard;

static void note_channel(void *arg, const char *channel, const char *payload) {
    (void)payload;
    heard *h = arg;
    if (strcmp(channel, WEBHOOKS_CHANNEL) == 0)
        h->webhooks = true;
    else
        h->jobs = true;
}

/* Waits up to one second for notifications (db/listen.h); wakes the slots
 * on a job's, the webhook senders on an event's. A stop (sp_wakeup_stop)
 * ends the wait at once, so a --once run exits as soon as its slots have,
 * not up to a second later. Returns -1 when the connection is lost. */
static int pump(sp_worker *w, sp_db *db) {
    heard h = {0};
    int n = sp_db_wait_notifications(db, w->listener_stop_fd, 1.0, note_channel, &h);
    if (h.jobs) sp_worker_wake(w);
    if (h.webhooks) wake_senders(w);
    return n < 0 ? -1 : 0;
}

/* LISTENs on the channels this worker hears (connecting when needed).
 * Returns 0, or -1 with err set. */
static int listen_all(sp_worker *w, sp_db *db, sp_err *err) {
    if (sp_db_listen(db, JOBS_CHANNEL, err) < 0) return -1;
    if (!w->cfg->webhook_key) return 0;
    /* on the same connection: a reconnect in between would have lost the
     * first LISTEN, so a failure here starts both again */
    return sp_db_listen(db, WEBHOOKS_CHANNEL, err);
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
            listening = listen_all(w, db, &err) == 0;
            if (!listening) {
                sp_worker_wait(w, 5);
                continue;
            }
            atomic_store(&w->webhooks_heard, w->cfg->webhook_key != NULL);
            sp_worker_wake(w); /* anything submitted while we were not listening */
            wake_senders(w);
        }
        if (pump(w, db) < 0) { /* the next sp_db_listen reconnects */
            sp_log(SP_LOG_WARN, "lost the LISTEN connection; polling until it is back");
            atomic_store(&w->webhooks_heard, false);
            listening = false;
        }
    }
    atomic_store(&w->webhooks_heard, false);
    sp_db_free(db);
    return NULL;
}
