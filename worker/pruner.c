/*
 * pruner: the worker's share of retention (queue/retention.h), run by the
 * lease keeper between renewals. Once an hour (and at start) it removes old
 * history in batches of PRUNE_BATCH rows, a short pause between two batches
 * so that the queue's own statements go first, until a batch finds nothing
 * more; then it logs what it removed. The database lets one worker prune at
 * a time: the others' batches remove nothing and end their round.
 * --retention-days 0 turns it off.
 */
#include "core/clock.h"
#include "core/log.h"
#include "queue/retention.h"
#include "worker.h"

#define PRUNE_EVERY 3600.0 /* seconds between two rounds */
#define PRUNE_RETRY 60.0   /* after a failed batch */
#define PRUNE_BATCH 500    /* rows of each kind per batch: tens of ms of row locks */
#define PRUNE_PAUSE 0.05   /* seconds between two batches of a round */

/* One round's progress; only the lease keeper's thread touches it. */
static struct {
    double next_at; /* monotonic: when the next round starts (0: at once) */
    bool running;
    double started;
    sp_pruned total;
} round;

/* Logs what the round removed, when anything. */
static void log_round(void) {
    sp_pruned *t = &round.total;
    if (t->delivery_details + t->webhook_events + t->jobs == 0) return;
    cJSON *f = cJSON_CreateObject();
    cJSON_AddNumberToObject(f, "delivery_details", t->delivery_details);
    cJSON_AddNumberToObject(f, "webhook_events", t->webhook_events);
    cJSON_AddNumberToObject(f, "jobs", t->jobs);
    cJSON_AddNumberToObject(f, "seconds",
                            (double)(long)((sp_clock_monotonic() - round.started) * 1000) / 1000);
    sp_log_event(SP_LOG_INFO, "pruned", f);
}

double sp_pruner_tick(sp_worker *w) {
    if (w->retention_days <= 0) return 1e9;
    double now = sp_clock_monotonic();
    if (!round.running && now < round.next_at) return round.next_at - now;
    if (!round.running) {
        round.running = true;
        round.started = now;
        round.total = (sp_pruned){0};
    }
    sp_err err;
    sp_pruned got = {0};
    sp_db *db = sp_db_pool_take(w->pool, false, &err);
    int n = db ? sp_retention_prune(db, w->retention_days, w->job_retention_days, PRUNE_BATCH, &got,
                                    &err)
               : -1;
    sp_db_pool_give(w->pool, db);
    if (n < 0) {
        sp_log(SP_LOG_WARN, "pruning old history failed (tried again in a minute): %s", err.msg);
        log_round();
        round.running = false;
        round.next_at = sp_clock_monotonic() + PRUNE_RETRY;
        return PRUNE_RETRY;
    }
    round.total.delivery_details += got.delivery_details;
    round.total.webhook_events += got.webhook_events;
    round.total.jobs += got.jobs;
    if (got.delivery_details < PRUNE_BATCH && got.webhook_events < PRUNE_BATCH &&
        got.jobs < PRUNE_BATCH) { /* nothing more (or another worker is at it) */
        log_round();
        round.running = false;
        round.next_at = sp_clock_monotonic() + PRUNE_EVERY;
        return PRUNE_EVERY;
    }
    return PRUNE_PAUSE;
}
