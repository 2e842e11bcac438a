/*
 * webhooks: the threads that send webhook events from the outbox.
 *
 * A pool of SENDERS threads, none with a database connection of its own:
 * each borrows one of the worker's pool (db_pool.h) for one call at a time
 * and gives it back before anything else: it claims one due event, makes
 * one attempt (webhooks/webhook.c: at most 10 s) holding no connection, and
 * borrows again to record what follows (queue/outbox.c): delivered, due
 * again after a backoff, or given up. So a worker's connections are the
 * pool and the listener, whatever its webhooks do. Between events a sender
 * sleeps until the next one is due, the listener hears of a new one (the
 * outbox's trigger notifies social_post_webhooks when its job's transaction
 * commits; wakeup.c), or the --poll interval, so a lost notification delays
 * an event, never loses it. A job is final before its event exists, so
 * nothing here can hold up a job's status.
 *
 * One receiver (a callbackUrl's origin) gets at most PER_RECEIVER attempts
 * at once from this worker: a claim passes over the receivers at that limit,
 * so a slow receiver holds up its own events only, and the other senders go
 * on with everyone else's. Claims are taken one at a time under the pool's
 * lock, so the count per receiver holds.
 *
 * The senders stop with the worker, after the attempts in flight (the grace
 * period's hard stop aborts them); with --once, after the slots, once
 * nothing is due. A worker without SOCIAL_POST_WEBHOOK_SECRET sends nothing:
 * its one thread ends events that no worker sent within the give-up age as
 * 'expired' (on a connection borrowed for that statement), so they do not
 * wait for ever.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/http_client.h"
#include "core/log.h"
#include "queue/outbox.h"
#include "webhooks/callback_url.h"
#include "webhooks/receivers.h"
#include "worker.h"

/* Longer than one attempt (10 s), so a live sender never loses its event. */
#define EVENT_LEASE_SECONDS 60
#define SENDERS 4
#define PER_RECEIVER 2

/* The senders of one worker, and the receiver each one is calling. */
typedef struct {
    sp_worker *w;
    pthread_mutex_t lock;                   /* guards in_flight and calling */
    int in_flight;                          /* senders between a claim and its record */
    char calling[SENDERS][SP_RECEIVER_MAX]; /* "" when that sender calls nobody */
} webhook_pool;

typedef struct {
    webhook_pool *pool;
    int index;
} sender;

/* The receivers at their limit (JSON; caller frees; NULL when out of
 * memory, which lets the claim take any receiver). Called with the lock. */
static char *busy_receivers(const webhook_pool *pool) {
    return sp_receivers_busy((const char(*)[SP_RECEIVER_MAX])pool->calling, SENDERS, PER_RECEIVER);
}

/* Counts an attempt in or out of flight; the grace period waits while any is. */
static void set_in_flight(webhook_pool *pool, int change) {
    pool->in_flight += change;
    atomic_store(&pool->w->webhook_busy, pool->in_flight > 0);
}

/* Logs one attempt: never the body, the signature, or the URL's path and
 * query (which may carry the receiver's token). */
static void log_attempt(const sp_outbox_event *ev, const sp_webhook_attempt *a,
                        const sp_webhook_next_step *next) {
    char origin[300];
    sp_callback_url_origin(ev->url, origin, sizeof origin);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "event", ev->id);
    cJSON_AddStringToObject(f, "job", ev->job_id);
    cJSON_AddStringToObject(f, "to", origin);
    cJSON_AddNumberToObject(f, "attempt", ev->attempts + 1);
    if (a->status) cJSON_AddNumberToObject(f, "status", (double)a->status);
    cJSON_AddStringToObject(f, "outcome",
                            !next->done    ? "retry"
                            : next->failed ? "failed"
                                           : "delivered");
    if (!next->done) cJSON_AddNumberToObject(f, "run_in", (double)(long)(next->run_in * 10) / 10);
    if (a->result != SP_WEBHOOK_DELIVERED) cJSON_AddStringToObject(f, "message", next->message);
    sp_log_event(next->done && next->failed ? SP_LOG_WARN : SP_LOG_INFO, "webhook", f);
}

/* Makes one attempt at a claimed event, holding no connection, then
 * borrows one to record what follows. */
static void send_event(sp_worker *w, const char *owner, const sp_outbox_event *ev,
                       unsigned *seed) {
    sp_webhook_event event = {.id = ev->id, .url = ev->url, .body = ev->body};
    sp_webhook_attempt a;
    sp_webhook_send(w->cfg, &event, &a);
    sp_webhook_next_step next;
    double jitter = (double)rand_r(seed) / ((double)RAND_MAX + 1);
    sp_webhook_next(&a, ev->attempts + 1, ev->age, &w->webhook_policy, jitter, &next);
    sp_err err;
    sp_db *db = sp_db_pool_take(w->pool, false, &err);
    int recorded =
        db ? sp_outbox_record(db, owner, ev, next.done, next.failed, next.run_in, next.message, &err)
           : -1;
    sp_db_pool_give(w->pool, db);
    if (recorded < 0)
        sp_log(SP_LOG_WARN,
               "webhook %s: attempt not recorded (it is sent again once its lease "
               "lapses): %s",
               ev->id, err.msg);
    log_attempt(ev, &a, &next);
}

/* Claims the next due event of a receiver below its limit, and notes that
 * this sender now calls it. Returns 1 (claimed), 0 (none due), -1. The
 * connection is borrowed under the lock, so claims take at most one of the
 * pool's connections from the slots at a time. */
static int claim(sender *s, const char *owner, sp_outbox_event *ev, sp_err *err) {
    webhook_pool *pool = s->pool;
    sp_worker *w = pool->w;
    pthread_mutex_lock(&pool->lock);
    char *busy = busy_receivers(pool);
    set_in_flight(pool, 1); /* from before the claim: no stop in between */
    sp_db *db = sp_db_pool_take(w->pool, false, err);
    int claimed = db ? sp_outbox_claim(db, owner, EVENT_LEASE_SECONDS, busy, ev, err) : -1;
    sp_db_pool_give(w->pool, db);
    if (claimed == 1)
        sp_receiver_of(ev->url, pool->calling[s->index]);
    else
        set_in_flight(pool, -1);
    pthread_mutex_unlock(&pool->lock);
    free(busy);
    return claimed;
}

/* Claims the next due event and makes one attempt at it. Returns 1 when an
 * event was due, 0 when none, -1 when the claim failed. */
static int send_next(sender *s, const char *owner, unsigned *seed, sp_err *err) {
    sp_outbox_event ev;
    int claimed = claim(s, owner, &ev, err);
    if (claimed <= 0) return claimed;
    send_event(s->pool->w, owner, &ev, seed);
    sp_outbox_event_free(&ev);
    pthread_mutex_lock(&s->pool->lock);
    s->pool->calling[s->index][0] = '\0';
    set_in_flight(s->pool, -1);
    pthread_mutex_unlock(&s->pool->lock);
    return 1;
}

/* Sleeps until an event may be due: a notification the listener heard, the
 * next due time (of a receiver below its limit) or the poll interval,
 * waking each second to notice a stop. */
static void wait_for_events(sender *s) {
    sp_worker *w = s->pool->w;
    sp_err err;
    unsigned long seen = sp_webhooks_seen(w); /* before the look: no notification missed */
    pthread_mutex_lock(&s->pool->lock);
    char *busy = busy_receivers(s->pool);
    pthread_mutex_unlock(&s->pool->lock);
    sp_db *db = sp_db_pool_take(w->pool, false, &err);
    double due = db ? sp_outbox_next_due(db, busy, &err) : -1;
    sp_db_pool_give(w->pool, db);
    free(busy);
    if (due < 0) due = 2; /* database trouble: look again soon */
    if (!atomic_load(&w->webhooks_heard) && due > 2) due = 2; /* no notifications: poll instead */
    if (due > w->poll_seconds) due = w->poll_seconds;
    double until = sp_clock_monotonic() + due;
    while (!atomic_load(&w->stopping) && (!w->once || atomic_load(&w->slots_running) > 0)) {
        double left = until - sp_clock_monotonic();
        if (left <= 0) return;
        if (left > 1) left = 1; /* notice a stop within a second */
        if (sp_webhooks_wait(w, seen, left)) return; /* notified */
    }
}

/* True while the thread has work to look for. With --once it goes on after
 * the slots have ended, until nothing is due. */
static bool keep_going(sp_worker *w) {
    return !atomic_load(&w->stopping) && (w->once || atomic_load(&w->slots_running) > 0);
}

/* One sender: claim, attempt, record, until the worker stops. */
static void *sender_main(void *arg) {
    sender *s = arg;
    sp_worker *w = s->pool->w;
    char owner[220];
    snprintf(owner, sizeof owner, "%s:webhooks:%d", w->owner, s->index);
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)s->index << 16;
    sp_http_client_set_abort(sp_worker_hard_stopped, w);
    while (keep_going(w)) {
        sp_err err;
        int sent = send_next(s, owner, &seed, &err);
        if (sent < 0) {
            sp_log(SP_LOG_WARN, "claiming a webhook event failed: %s", err.msg);
            sp_worker_wait(w, 2);
        } else if (sent == 0 && w->once && atomic_load(&w->slots_running) == 0) {
            break; /* the slots are done and nothing is due */
        } else if (sent == 0) {
            wait_for_events(s);
        }
    }
    return NULL;
}

/* Without a signing secret: ends the events nobody sent within the give-up
 * age as 'expired', at start and then every minute, until the worker stops. */
static void expire_unsent(sp_worker *w) {
    static const char why[] = "never sent: no worker has SOCIAL_POST_WEBHOOK_SECRET, the key "
                              "that signs webhooks";
    while (keep_going(w)) {
        sp_err err;
        sp_db *db = sp_db_pool_take(w->pool, false, &err);
        int n = db ? sp_outbox_expire(db, w->webhook_policy.give_up_age, why, &err) : -1;
        sp_db_pool_give(w->pool, db);
        if (n < 0) sp_log(SP_LOG_WARN, "expiring unsent webhook events failed: %s", err.msg);
        if (n > 0) sp_log(SP_LOG_WARN, "%d webhook event(s) expired: %s", n, why);
        for (int i = 0; i < 60 && keep_going(w); i++) {
            if (w->once && atomic_load(&w->slots_running) == 0) return;
            sp_worker_wait(w, 1);
        }
    }
}

void *sp_webhooks_main(void *arg) {
    sp_worker *w = arg;
    if (!w->cfg->webhook_key) {
        expire_unsent(w);
        return NULL;
    }
    webhook_pool pool = {.w = w};
    sender senders[SENDERS];
    pthread_t threads[SENDERS];
    int started = 0;
    pthread_mutex_init(&pool.lock, NULL);
    for (; started < SENDERS; started++) {
        senders[started] = (sender){.pool = &pool, .index = started};
        if (pthread_create(&threads[started], NULL, sender_main, &senders[started]) != 0) break;
    }
    if (started == 0) sp_log(SP_LOG_ERROR, "could not start a webhook sender thread");
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    pthread_mutex_destroy(&pool.lock);
    return NULL;
}
