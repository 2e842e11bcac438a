/*
 * webhooks: the thread that sends webhook events from the outbox.
 *
 * It has one database connection of its own: it LISTENs social_post_webhooks
 * there (the outbox's trigger notifies every new event when its job's
 * transaction commits) and claims due events one at a time. Each event gets
 * one attempt (webhooks/webhook.c: at most 10 s), then what follows is
 * recorded (queue/outbox.c): delivered, due again after a backoff, or given
 * up. Between events it sleeps until the next one is due, a notification, or
 * the --poll interval, so a lost notification delays an event, never loses
 * it. A job is final before its event exists, so nothing here can hold up a
 * job's status.
 *
 * It stops with the worker, after the attempt in flight (the grace period's
 * hard stop aborts it); with --once, after the slots, once nothing is due.
 * A worker without SOCIAL_POST_WEBHOOK_SECRET does not run this thread.
 */
#include <poll.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/http_client.h"
#include "core/log.h"
#include "queue/outbox.h"
#include "webhooks/callback_url.h"
#include "worker.h"

/* Longer than one attempt (10 s), so a live sender never loses its event. */
#define EVENT_LEASE_SECONDS 60

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

/* Makes one attempt at a claimed event and records what follows. */
static void send_event(sp_worker *w, sp_db *db, const char *owner, const sp_outbox_event *ev,
                       unsigned *seed) {
    sp_webhook_event event = {.id = ev->id, .url = ev->url, .body = ev->body};
    sp_webhook_attempt a;
    sp_webhook_send(w->cfg, &event, &a);
    sp_webhook_next_step next;
    double jitter = (double)rand_r(seed) / ((double)RAND_MAX + 1);
    sp_webhook_next(&a, ev->attempts + 1, ev->age, &w->webhook_policy, jitter, &next);
    sp_err err;
    if (sp_outbox_record(db, owner, ev, next.done, next.failed, next.run_in, next.message, &err) <
        0)
        sp_log(SP_LOG_WARN,
               "webhook %s: attempt not recorded (it is sent again once its lease "
               "lapses): %s",
               ev->id, err.msg);
    log_attempt(ev, &a, &next);
}

/* Claims the next due event and makes one attempt at it. Returns 1 when an
 * event was due, 0 when none, -1 when the claim failed. */
static int send_next(sp_worker *w, sp_db *db, const char *owner, unsigned *seed, sp_err *err) {
    sp_outbox_event ev;
    int claimed = sp_outbox_claim(db, owner, EVENT_LEASE_SECONDS, &ev, err);
    if (claimed <= 0) return claimed;
    send_event(w, db, owner, &ev, seed);
    sp_outbox_event_free(&ev);
    return 1;
}

/* Reads the notifications that arrived; true when there were any. */
static bool drain_notifications(PGconn *conn) {
    bool any = false;
    if (!PQconsumeInput(conn)) return true; /* broken: look at the outbox again */
    PGnotify *n;
    while ((n = PQnotifies(conn)) != NULL) {
        any = true;
        PQfreemem(n);
    }
    return any;
}

/* Sleeps until an event may be due: a notification, the next due time or
 * the poll interval, waking each second to notice a stop. */
static void wait_for_events(sp_worker *w, sp_db *db) {
    sp_err err;
    /* again each time: the connection may be a new one since the last wait */
    bool listening = sp_db_simple(db, "LISTEN social_post_webhooks", &err) == 0;
    double due = sp_outbox_next_due(db, &err);
    if (due < 0) due = 2;               /* database trouble: look again soon */
    if (!listening && due > 2) due = 2; /* no notifications: poll instead */
    if (due > w->poll_seconds) due = w->poll_seconds;
    double until = sp_clock_monotonic() + due;
    PGconn *conn = listening ? sp_db_conn(db) : NULL;
    int fd = conn ? PQsocket(conn) : -1;
    while (!atomic_load(&w->stopping) && (!w->once || atomic_load(&w->slots_running) > 0)) {
        if (fd >= 0 && drain_notifications(conn)) return; /* some may have come with a query */
        double left = until - sp_clock_monotonic();
        if (left <= 0) return;
        int ms = left < 1 ? (int)(left * 1000) + 1 : 1000;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (fd < 0)
            sp_worker_wait(w, ms / 1000.0);
        else
            poll(&p, 1, ms);
    }
}

/* True while the thread has work to look for. With --once it goes on after
 * the slots have ended, until nothing is due. */
static bool keep_going(sp_worker *w) {
    return !atomic_load(&w->stopping) && (w->once || atomic_load(&w->slots_running) > 0);
}

void *sp_webhooks_main(void *arg) {
    sp_worker *w = arg;
    sp_db *db = sp_db_new(w->cfg->database_url);
    if (db) sp_db_set_deadline(db, w->db_deadline, sp_worker_hard_stopped, w);
    char owner[200];
    snprintf(owner, sizeof owner, "%s:webhooks", w->owner);
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    sp_http_client_set_abort(sp_worker_hard_stopped, w);
    while (db && keep_going(w)) {
        sp_err err;
        atomic_store(&w->webhook_busy, true); /* from before the claim: no stop in between */
        int sent = send_next(w, db, owner, &seed, &err);
        atomic_store(&w->webhook_busy, false);
        if (sent < 0) {
            sp_log(SP_LOG_WARN, "claiming a webhook event failed: %s", err.msg);
            sp_worker_wait(w, 2);
        } else if (sent == 0 && w->once && atomic_load(&w->slots_running) == 0) {
            break; /* the slots are done and nothing is due */
        } else if (sent == 0) {
            wait_for_events(w, db);
        }
    }
    sp_db_free(db);
    return NULL;
}
