/*
 * slot: one unit of the worker's concurrency. Claim a delivery, run one step
 * of its platform's adapter, record the outcome (delivery.c decides the next
 * state), repeat. The database is touched only between steps, never held
 * across a platform call, so a slow upload costs one slot and one lease.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/http_client.h"
#include "core/log.h"
#include "db/db.h"
#include "queue/queue.h"
#include "queue/spool.h"
#include "worker.h"

/* Lapsed-lease takeovers after which a delivery fails: one that keeps killing
 * its workers must not be taken over forever. */
#define MAX_TAKEOVERS 5

/* Logs what a step ended with. */
static void log_outcome(const sp_delivery *d, const sp_step_outcome *o, const sp_transition *t,
                        double seconds) {
    static const char *kinds[] = {"done", "failed", "retry", "wait", "released"};
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "job", d->job_id);
    cJSON_AddStringToObject(f, "platform", sp_platform_name(d->post.platform));
    cJSON_AddNumberToObject(f, "delivery", (double)d->id);
    cJSON_AddStringToObject(f, "outcome", kinds[o->kind]);
    cJSON_AddStringToObject(f, "state", sp_delivery_state_name(t->state));
    cJSON_AddNumberToObject(f, "attempts", d->post.attempts + (t->count_attempt ? 1 : 0));
    cJSON_AddNumberToObject(f, "seconds", (double)(long)(seconds * 1000) / 1000);
    if (t->state == SP_DELIVERY_QUEUED) cJSON_AddNumberToObject(f, "run_in", t->run_in);
    if (t->message[0]) cJSON_AddStringToObject(f, "message", t->message);
    if (o->url[0]) cJSON_AddStringToObject(f, "url", o->url);
    sp_log_event(o->kind == SP_STEP_FAILED ? SP_LOG_WARN : SP_LOG_INFO, "step", f);
}

/* Records the outcome. While the database is away it keeps trying (the
 * lease keeper keeps the claim ours meanwhile): a finished upload's result is
 * worth waiting for. Any other failure puts the delivery back in the queue
 * for a minute later, so it is never left running under a forgotten claim. */
static void record(sp_worker *w, sp_db *db, const char *owner, sp_delivery *d,
                   const sp_step_outcome *o, const sp_transition *t) {
    sp_err err;
    bool finished = false;
    for (double pause = 1;; pause = pause < 30 ? pause * 2 : 30) {
        sp_err_clear(&err);
        if (sp_queue_record(db, owner, d, o, t, &finished, &err) == 0) {
            if (finished) sp_spool_remove(w->spool_dir, d->job_id);
            return;
        }
        if (err.kind != SP_ERR_DB_UNAVAILABLE || atomic_load(&w->stopping)) break;
        sp_log(SP_LOG_WARN, "recording delivery %lld waits for the database: %s", d->id, err.msg);
        sleep((unsigned)pause);
    }
    sp_log(SP_LOG_WARN, "could not record delivery %lld of job %s: %s", d->id, d->job_id, err.msg);
    if (strcmp(err.code, "lease_lost") != 0 && sp_queue_abandon(db, owner, d, 60, &err) < 0)
        sp_log(SP_LOG_WARN, "delivery %lld is left to its lease: %s", d->id, err.msg);
}

/* Runs one step of a claimed delivery and records it. */
static void run_delivery(sp_worker *w, sp_db *db, const char *owner, sp_delivery *d) {
    double start = sp_clock_monotonic();
    sp_step_outcome o;
    const sp_adapter *adapter = sp_adapter_for(d->post.platform);
    if (d->takeovers > MAX_TAKEOVERS) {
        sp_step_set(&o, SP_STEP_FAILED,
                    "giving up: workers stopped %d times while posting this (see their logs)",
                    d->takeovers);
    } else if (!adapter) {
        sp_step_set(&o, SP_STEP_FAILED, "posting to %s is not supported yet",
                    sp_platform_name(d->post.platform));
    } else {
        sp_slot_host slot_host = {.w = w, .db = db, .owner = owner, .d = d};
        sp_step_host host = sp_slot_step_host(&slot_host);
        sp_step_ctx ctx = {.cfg = w->cfg,
                           .post = &d->post,
                           .host = &host,
                           .ig_poll_base = w->ig_poll_base,
                           .ig_deadline = w->ig_deadline};
        adapter->step(&ctx, &o);
    }
    if (o.kind == SP_STEP_RETRY && atomic_load(&w->hard_stop))
        o.kind = SP_STEP_RELEASED; /* our own abort, not the platform's fault */
    sp_transition t;
    sp_delivery_transition(&o, d->post.attempts, &w->policy, (double)random() / RAND_MAX, &t);
    record(w, db, owner, d, &o, &t);
    log_outcome(d, &o, &t, sp_clock_monotonic() - start);
    sp_worker_wake(w); /* the schedule changed: idle slots recompute */
}

/* Sleeps until the next delivery is due, a wake-up, or the poll interval. */
static void wait_for_work(sp_worker *w, sp_db *db) {
    sp_err err;
    double due = sp_queue_next_due(db, &err);
    if (due < 0) due = 2; /* database trouble: try again soon */
    if (due > w->poll_seconds) due = w->poll_seconds;
    if (due < 0.02) due = 0.02;
    sp_worker_wait(w, due);
}

/* Makes the lease owner of the slot's next claim, unique to it, and shows it
 * to the lease keeper. */
static void begin_claim(sp_worker *w, int index, char *owner, size_t len) {
    pthread_mutex_lock(&w->lock);
    snprintf(owner, len, "%s:%lu", w->owner, ++w->claim_seq);
    snprintf(w->claims[index], sizeof w->claims[index], "%s", owner);
    pthread_mutex_unlock(&w->lock);
}

/* The slot holds nothing any more: the keeper stops renewing its claim. */
static void end_claim(sp_worker *w, int index) {
    pthread_mutex_lock(&w->lock);
    w->claims[index][0] = '\0';
    pthread_mutex_unlock(&w->lock);
}

void *sp_slot_main(void *arg) {
    sp_slot *slot = arg;
    sp_worker *w = slot->w;
    sp_db *db = sp_db_new(w->cfg->database_url);
    sp_http_client_set_abort(sp_worker_hard_stopped, w);
    while (db && !atomic_load(&w->stopping)) {
        sp_delivery d;
        sp_err err;
        char owner[200];
        begin_claim(w, slot->index, owner, sizeof owner);
        int claimed = sp_queue_claim(db, owner, w->lease_seconds, &d, &err);
        if (claimed > 0) {
            run_delivery(w, db, owner, &d);
            sp_delivery_free(&d);
        }
        end_claim(w, slot->index);
        if (claimed < 0) {
            sp_log(SP_LOG_WARN, "claim failed: %s", err.msg);
            sp_worker_wait(w, 2);
        } else if (claimed == 0) {
            if (w->once) break;
            wait_for_work(w, db);
        }
    }
    sp_db_free(db);
    atomic_fetch_sub(&w->slots_running, 1);
    sp_worker_wake(w);
    return NULL;
}
