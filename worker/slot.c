/*
 * slot: one unit of the worker's concurrency. Claim a delivery, run one step
 * of its platform's adapter, record the outcome (delivery.c decides the next
 * state), repeat. The database is touched only between steps, never held
 * across a platform call, so a slow upload costs one slot and one lease.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "http_client.h"
#include "log.h"
#include "queue.h"
#include "spool.h"
#include "step.h"
#include "worker.h"

static bool hard_stop_requested(void *arg) {
    sp_worker *w = arg;
    return atomic_load(&w->hard_stop);
}

static double monotonic_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Logs what a step ended with. */
static void log_outcome(const sp_delivery *d, const sp_step_outcome *o, const sp_transition *t,
                        double seconds) {
    static const char *kinds[] = {"done", "failed", "retry", "wait", "released"};
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "job", d->job_id);
    cJSON_AddStringToObject(f, "platform", sp_platform_name(d->platform));
    cJSON_AddNumberToObject(f, "delivery", (double)d->id);
    cJSON_AddStringToObject(f, "outcome", kinds[o->kind]);
    cJSON_AddStringToObject(f, "state", sp_delivery_state_name(t->state));
    cJSON_AddNumberToObject(f, "attempts", d->attempts + (t->count_attempt ? 1 : 0));
    cJSON_AddNumberToObject(f, "seconds", (double)(long)(seconds * 1000) / 1000);
    if (t->state == SP_DELIVERY_QUEUED) cJSON_AddNumberToObject(f, "run_in", t->run_in);
    if (t->message[0]) cJSON_AddStringToObject(f, "message", t->message);
    if (o->url[0]) cJSON_AddStringToObject(f, "url", o->url);
    sp_log_event(o->kind == SP_STEP_FAILED ? SP_LOG_WARN : SP_LOG_INFO, "step", f);
}

/* Records the outcome, retrying briefly while the database is away: a
 * finished upload's result is worth waiting for (the lease keeps it ours). */
static void record(sp_worker *w, sp_db *db, sp_delivery *d, const sp_step_outcome *o,
                   const sp_transition *t) {
    sp_err err;
    bool finished = false;
    for (int tries = 0; tries < 10; tries++) {
        sp_err_clear(&err);
        if (sp_queue_record(db, w->owner, d, o, t, &finished, &err) == 0) {
            if (finished) sp_spool_remove(w->spool_dir, d->job_id);
            return;
        }
        if (err.kind != SP_ERR_DB_UNAVAILABLE) break;
        sleep(1);
    }
    sp_log(SP_LOG_WARN, "could not record delivery %lld of job %s: %s", d->id, d->job_id, err.msg);
}

/* Runs one step of a claimed delivery and records it. */
static void run_delivery(sp_worker *w, sp_db *db, sp_delivery *d) {
    double start = monotonic_seconds();
    sp_step_outcome o;
    const sp_adapter *adapter = sp_adapter_for(d->platform);
    if (!adapter) {
        sp_step_set(&o, SP_STEP_FAILED, "posting to %s is not supported yet",
                    sp_platform_name(d->platform));
    } else {
        sp_step_ctx ctx = {.cfg = w->cfg,
                           .db = db,
                           .owner = w->owner,
                           .d = d,
                           .spool_dir = w->spool_dir,
                           .max_video_bytes = w->max_video_bytes,
                           .stopping = &w->stopping,
                           .ig_poll_base = w->ig_poll_base,
                           .ig_deadline = w->ig_deadline};
        adapter->step(&ctx, &o);
    }
    if (o.kind == SP_STEP_RETRY && atomic_load(&w->hard_stop))
        o.kind = SP_STEP_RELEASED; /* our own abort, not the platform's fault */
    sp_transition t;
    sp_delivery_transition(&o, d->attempts, &w->policy, (double)random() / RAND_MAX, &t);
    record(w, db, d, &o, &t);
    log_outcome(d, &o, &t, monotonic_seconds() - start);
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

void *sp_slot_main(void *arg) {
    sp_worker *w = arg;
    sp_db *db = sp_db_new(w->cfg->database_url);
    if (!db) return NULL;
    sp_http_client_set_abort(hard_stop_requested, w);
    while (!atomic_load(&w->stopping)) {
        sp_delivery d;
        sp_err err;
        int claimed = sp_queue_claim(db, w->owner, w->lease_seconds, &d, &err);
        if (claimed < 0) {
            sp_log(SP_LOG_WARN, "claim failed: %s", err.msg);
            sp_worker_wait(w, 2);
        } else if (claimed == 0) {
            if (w->once) break;
            wait_for_work(w, db);
        } else {
            run_delivery(w, db, &d);
            sp_delivery_free(&d);
        }
    }
    sp_db_free(db);
    atomic_fetch_sub(&w->slots_running, 1);
    sp_worker_wake(w);
    return NULL;
}
