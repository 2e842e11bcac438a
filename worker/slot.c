/*
 * slot: one unit of the worker's concurrency. Claim a delivery, run one step
 * of its platform's adapter, record the outcome (delivery.c decides the next
 * state), repeat. The database is touched only between steps, never held
 * across a platform call, so a slow upload costs one slot and one lease: each
 * database call borrows a connection of the worker's pool (db_pool.h) and
 * gives it back at once, so a worker's connections do not grow with its
 * concurrency.
 *
 * Fairness: claims are made one at a time per process, each skipping the
 * users who already have --per-user deliveries running here, so one user's
 * slow or huge jobs never occupy every slot. A platform call stops when the
 * grace period is over or when the lease keeper finds the slot's lease lost
 * (another worker has the delivery now).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/http_client.h"
#include "core/json.h"
#include "core/log.h"
#include "core/rand.h"
#include "queue/accounts.h"
#include "db/db.h"
#include "queue/queue.h"
#include "spool/spool.h"
#include "worker.h"

/* Lapsed-lease takeovers after which a delivery fails: one that keeps killing
 * its workers must not be taken over forever. */
#define MAX_TAKEOVERS 5

/* Seconds the last outcome of a stopping worker may take to record, even
 * past the hard stop (which otherwise abandons database calls at once): a
 * release recorded by its slot knows whether the step progressed, one left
 * to the exit's sp_queue_release_all does not. */
#define RECORD_WHILE_STOPPING 3.0

/* A slot's transfers stop at the hard stop, or when its lease is lost. */
static bool transfer_must_stop(void *arg) {
    sp_slot *slot = arg;
    return atomic_load(&slot->w->hard_stop) ||
           atomic_load(&slot->w->claims[slot->index].lease_lost);
}

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
 * worth waiting for. Any other failure counts an attempt and puts the
 * delivery back for a minute later (or fails it once the attempts are used
 * up), so it is never left running under a forgotten claim, and never
 * calls its platform for ever without counting. */
static void record(sp_worker *w, const char *owner, sp_delivery *d, const sp_step_outcome *o,
                   const sp_transition *t) {
    sp_err err;
    bool finished = false;
    bool stopping = atomic_load(&w->stopping);
    for (double pause = 1;; pause = pause < 30 ? pause * 2 : 30) {
        sp_err_clear(&err);
        /* the last record of a stopping worker: worth a short wait past the hard stop */
        sp_db *db = sp_db_pool_take(w->pool, stopping, &err);
        if (db && stopping) sp_db_set_deadline(db, RECORD_WHILE_STOPPING, NULL, NULL);
        int rc = db ? sp_queue_record(db, owner, d, o, t, &finished, &err) : -1;
        sp_db_pool_give(w->pool, db);
        if (rc == 0) {
            if (finished) sp_spool_remove(w->spool_dir, d->job_id);
            return;
        }
        if (err.kind != SP_ERR_DB_UNAVAILABLE || atomic_load(&w->stopping)) break;
        sp_log(SP_LOG_WARN, "recording delivery %lld waits for the database: %s", d->id, err.msg);
        sp_worker_wait(w, pause); /* wakes at once when the worker stops */
    }
    sp_log(SP_LOG_WARN, "could not record delivery %lld of job %s: %s", d->id, d->job_id, err.msg);
    /* a lost lease is another worker's now; a database that is away while we
     * stop would not take the next statement either: the lease lapses */
    if (strcmp(err.code, "lease_lost") == 0 || err.kind == SP_ERR_DB_UNAVAILABLE) return;
    char why[320];
    snprintf(why, sizeof why, "the outcome could not be recorded (%s); will retry", err.msg);
    sp_utf8_truncate(why, sizeof why - 1);
    sp_db *db = sp_db_pool_take(w->pool, false, &err);
    if (!db || sp_queue_abandon(db, owner, d, 60, w->policy.max_attempts, why, &err) < 0)
        sp_log(SP_LOG_WARN, "delivery %lld is left to its lease: %s", d->id, err.msg);
    sp_db_pool_give(w->pool, db);
}

/* True when the checkpoint says a post may already exist (the same two
 * phase names for every adapter): then nothing the user changed since may
 * stop the step from recording it. */
static bool may_have_posted(const sp_delivery *d) {
    const char *phase =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d->post.checkpoint, "phase"));
    return phase && (!strcmp(phase, "publishing") || !strcmp(phase, "published"));
}

/* Runs the delivery's adapter, unless the delivery must fail first; sets
 * *progressed when the step saved a checkpoint other than the claimed one. */
static void step(sp_slot *slot, const char *owner, sp_delivery *d, sp_step_outcome *o,
                 bool *progressed) {
    sp_worker *w = slot->w;
    const sp_adapter *adapter = sp_adapter_for(d->post.platform);
    sp_err err;
    sp_err_clear(&err);
    *progressed = false;
    if (d->takeovers > MAX_TAKEOVERS) {
        sp_step_set(o, SP_STEP_FAILED,
                    "giving up: workers stopped %d times while posting this (see their logs)",
                    d->takeovers);
    } else if (!adapter) {
        sp_step_set(o, SP_STEP_FAILED, "posting to %s is not supported yet",
                    sp_platform_name(d->post.platform));
    } else if (!may_have_posted(d) && sp_delivery_check(d, &err) < 0) {
        sp_step_set(o, SP_STEP_FAILED, "%s", err.msg); /* what the API would have said */
    } else if (sp_accounts_open_tokens(w->cfg->token_keys, d, &err) < 0) {
        sp_step_set(o, SP_STEP_FAILED, "%s", err.msg); /* no platform call without a token */
    } else {
        cJSON *claimed = cJSON_Duplicate(d->post.checkpoint, true); /* NULL: no progress seen */
        sp_slot_host slot_host = {
            .w = w, .owner = owner, .claim = &w->claims[slot->index], .d = d, .claimed = claimed};
        sp_step_host host = sp_slot_step_host(&slot_host);
        sp_step_ctx ctx = {.cfg = w->cfg,
                           .post = &d->post,
                           .host = &host,
                           .ig_poll_base = w->ig_poll_base,
                           .ig_deadline = w->ig_deadline};
        adapter->step(&ctx, o);
        *progressed = slot_host.progressed;
        cJSON_Delete(claimed);
    }
}

/* Runs one step of a claimed delivery and records it. */
static void run_delivery(sp_slot *slot, const char *owner, sp_delivery *d) {
    sp_worker *w = slot->w;
    double start = sp_clock_monotonic();
    sp_step_outcome o;
    sp_delivery_history h = {.attempts = d->post.attempts,
                             .releases = d->releases,
                             .quota_backoffs = sp_delivery_quota_backoffs(d->post.checkpoint)};
    step(slot, owner, d, &o, &h.progressed);
    bool lost = atomic_load(&w->claims[slot->index].lease_lost);
    if (o.kind == SP_STEP_RETRY && lost)
        sp_step_set(&o, SP_STEP_RELEASED, "the lease was lost; another worker continues");
    else if (o.kind == SP_STEP_RETRY && atomic_load(&w->hard_stop))
        o.kind = SP_STEP_RELEASED; /* our own abort, not the platform's fault */
    sp_transition t;
    sp_delivery_transition(&o, &h, &w->policy, sp_rand_unit(), &t);
    /* the row of quota waits without a time goes with the outcome's record */
    if (!sp_delivery_note_quota_backoffs(d->post.checkpoint, &o, &t, &h))
        sp_log(SP_LOG_WARN, "delivery %lld: out of memory noting its quota waits", d->id);
    record(w, owner, d, &o, &t);
    log_outcome(d, &o, &t, sp_clock_monotonic() - start);
    sp_worker_wake(w); /* the schedule changed: idle slots recompute */
}

/* Sleeps until the next delivery is due, a wake-up, or the poll interval. */
static void wait_for_work(sp_worker *w) {
    sp_err err;
    sp_db *db = sp_db_pool_take(w->pool, false, &err);
    double due = db ? sp_queue_next_due(db, &err) : -1;
    sp_db_pool_give(w->pool, db);
    if (due < 0) due = 2; /* database trouble: try again soon */
    if (due > w->poll_seconds) due = w->poll_seconds;
    if (due < 0.02) due = 0.02;
    sp_worker_wait(w, due);
}

/* The users with per_user deliveries running in this worker, as a Postgres
 * array literal (user ids are UUIDs: nothing to escape). Called with lock. */
static void busy_users(sp_worker *w, char *out, size_t len) {
    size_t off = (size_t)snprintf(out, len, "{");
    for (int i = 0; i < w->concurrency; i++) {
        const char *user = w->claims[i].user_id;
        int running = 0, seen_before = 0;
        if (!*user) continue;
        for (int j = 0; j < w->concurrency; j++) {
            if (strcmp(w->claims[j].user_id, user) != 0) continue;
            running++;
            if (j < i) seen_before = 1;
        }
        if (running < w->per_user || seen_before) continue;
        int n = snprintf(out + off, len - off, "%s%s", off > 1 ? "," : "", user);
        if (n > 0 && (size_t)n < len - off) off += (size_t)n;
    }
    snprintf(out + off, len - off, "}");
}

/* Claims the slot's next delivery, one slot of the process at a time so the
 * per-user limit holds: makes the claim's lease owner (unique to it), skips
 * busy users, and shows the claim to the lease keeper. */
static int claim(sp_slot *slot, char *owner, size_t len, sp_delivery *d, sp_err *err) {
    sp_worker *w = slot->w;
    sp_claim *c = &w->claims[slot->index];
    char busy[SP_MAX_CONCURRENCY * 40 + 4];
    pthread_mutex_lock(&w->claim_lock);
    pthread_mutex_lock(&w->lock);
    snprintf(owner, len, "%s:%lu", w->owner, ++w->claim_seq);
    snprintf(c->owner, sizeof c->owner, "%s", owner);
    c->user_id[0] = '\0';
    c->held = false;
    atomic_store(&c->lease_lost, false);
    busy_users(w, busy, sizeof busy);
    pthread_mutex_unlock(&w->lock);
    sp_db *db = sp_db_pool_take(w->pool, false, err);
    int claimed = db ? sp_queue_claim(db, owner, w->lease_seconds, busy, d, err) : -1;
    sp_db_pool_give(w->pool, db);
    pthread_mutex_lock(&w->lock);
    if (claimed > 0) {
        snprintf(c->user_id, sizeof c->user_id, "%s", d->user_id);
        c->held = true;
        c->renew_at = sp_clock_monotonic() + w->lease_seconds / 3.0;
    }
    pthread_mutex_unlock(&w->lock);
    pthread_mutex_unlock(&w->claim_lock);
    if (claimed > 0) sp_worker_wake(w); /* the keeper plans its next renewal */
    return claimed;
}

/* The slot holds nothing any more: the keeper stops renewing its claim. */
static void end_claim(sp_worker *w, int index) {
    pthread_mutex_lock(&w->lock);
    w->claims[index].owner[0] = '\0';
    w->claims[index].user_id[0] = '\0';
    w->claims[index].held = false;
    pthread_mutex_unlock(&w->lock);
}

void *sp_slot_main(void *arg) {
    sp_slot *slot = arg;
    sp_worker *w = slot->w;
    sp_http_client_set_abort(transfer_must_stop, slot);
    /* the platforms' hosts, job after job; not the videos' hosts: each job's
     * download runs on a thread of its own that lives for that download
     * (queue/spool_stream.c), with a connection of its own */
    sp_http_client_keep_connections(true);
    while (!atomic_load(&w->stopping)) {
        sp_delivery d;
        sp_err err;
        char owner[200];
        int claimed = claim(slot, owner, sizeof owner, &d, &err);
        if (claimed > 0) {
            run_delivery(slot, owner, &d);
            sp_delivery_free(&d);
        }
        end_claim(w, slot->index);
        if (claimed < 0) {
            sp_log(SP_LOG_WARN, "claim failed: %s", err.msg);
            sp_worker_wait(w, 2);
        } else if (claimed == 0) {
            if (w->once) break;
            wait_for_work(w);
        }
    }
    sp_http_client_keep_connections(false);
    atomic_fetch_sub(&w->slots_running, 1);
    sp_worker_wake(w);
    return NULL;
}
