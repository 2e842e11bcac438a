/*
 * lease_keeper: renews every lease this process holds, all that are due in
 * one statement, on a connection of the worker's pool that it borrows ahead
 * of the slots (db_pool.h), each by its own deadline: a third of the lease after it was
 * claimed or last renewed. A lease therefore lapses only when the whole
 * process is gone (or cut off from the database for longer than two thirds
 * of a lease), or when a slot gave up on a claim: exactly when another
 * worker should take the delivery over.
 *
 * A renewal that does not find a claim's lease ours any more (another worker
 * took the delivery over) marks the claim lost, and the slot's platform call
 * stops (slot.c). Waits are computed from the claims' deadlines and never
 * negative, however long a renewal took; a renewal that fails is tried again
 * a second later. It is also the worker's janitor: once an hour it sweeps
 * spool files older than a day (left by dead workers, or by jobs another
 * machine finished), and between renewals it runs the pruner's short batches
 * (pruner.c).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "db/db.h"
#include "queue/queue.h"
#include "spool/spool.h"
#include "worker.h"

#define SPOOL_SWEEP_EVERY 3600.0
#define SPOOL_MAX_AGE 86400.0
#define RENEW_RETRY 1.0 /* seconds before a failed renewal is tried again */

/* The claims a renewal now asks for: those due within half a period (so
 * leases due close together go in one statement), as a Postgres array
 * literal; owners are host name, digits and colons: nothing to escape.
 * Returns how many. */
static int due_claims(sp_worker *w, double now, double period, char *out, size_t len) {
    int n = 0;
    size_t off = (size_t)snprintf(out, len, "{");
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < w->concurrency; i++) {
        sp_claim *c = &w->claims[i];
        if (!c->held || c->renew_at > now + period / 2) continue;
        int k = snprintf(out + off, len - off, "%s\"%s\"", n ? "," : "", c->owner);
        if (k > 0 && (size_t)k < len - off) {
            off += (size_t)k;
            n++;
        }
    }
    pthread_mutex_unlock(&w->lock);
    snprintf(out + off, len - off, "}");
    return n;
}

typedef struct {
    sp_worker *w;
    double next; /* renew_at of the claims renewed */
    char renewed[SP_MAX_CONCURRENCY][200];
    int count;
} renewal;

/* Collects an owner the renewal extended. */
static bool note_renewed(const char *owner, void *arg) {
    renewal *r = arg;
    if (r->count < SP_MAX_CONCURRENCY)
        snprintf(r->renewed[r->count++], sizeof r->renewed[0], "%s", owner);
    return true;
}

/* After a renewal: each asked-for claim still held is
 * renewed (next deadline), or lost when the database did not extend it. */
static void settle(sp_worker *w, const renewal *r, const char *asked, bool ok) {
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < w->concurrency; i++) {
        sp_claim *c = &w->claims[i];
        char quoted[210];
        snprintf(quoted, sizeof quoted, "\"%s\"", c->owner);
        if (!c->held || !strstr(asked, quoted)) continue; /* ended, or a new claim since */
        bool extended = false;
        for (int k = 0; k < r->count && !extended; k++)
            extended = strcmp(r->renewed[k], c->owner) == 0;
        if (!ok) {
            c->renew_at = sp_clock_monotonic() + RENEW_RETRY;
        } else if (extended) {
            c->renew_at = r->next;
        } else if (!atomic_exchange(&c->lease_lost, true)) {
            sp_log(SP_LOG_WARN, "lease %s was lost: another worker has its delivery", c->owner);
        }
    }
    pthread_mutex_unlock(&w->lock);
}

/* Seconds until the next claim is due (at most period, never negative). */
static double next_wait(sp_worker *w, double period) {
    double now = sp_clock_monotonic(), wait = period;
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < w->concurrency; i++)
        if (w->claims[i].held && w->claims[i].renew_at - now < wait)
            wait = w->claims[i].renew_at - now;
    pthread_mutex_unlock(&w->lock);
    return wait > 0.01 ? wait : 0.01;
}

/* Renews the claims that are due. */
static void renew_due(sp_worker *w, double period) {
    static char owners[SP_MAX_CONCURRENCY * 204 + 4]; /* the keeper's thread only */
    static renewal r;
    double now = sp_clock_monotonic();
    if (due_claims(w, now, period, owners, sizeof owners) == 0) return;
    sp_err err;
    r = (renewal){.w = w, .next = now + period};
    sp_db *db = sp_db_pool_take_first(w->pool, &err); /* ahead of the slots */
    bool ok = db && sp_queue_renew(db, owners, w->lease_seconds, note_renewed, &r, &err) >= 0;
    sp_db_pool_give(w->pool, db);
    if (!ok) sp_log(SP_LOG_WARN, "renewing leases failed: %s", err.msg);
    settle(w, &r, owners, ok);
}

void *sp_lease_keeper_main(void *arg) {
    sp_worker *w = arg;
    double period = w->lease_seconds / 3.0;
    double last_sweep = -SPOOL_SWEEP_EVERY;
    while (atomic_load(&w->slots_running) > 0) {
        if (sp_clock_monotonic() - last_sweep >= SPOOL_SWEEP_EVERY) {
            int n = sp_spool_sweep(w->spool_dir, SPOOL_MAX_AGE);
            if (n > 0) sp_log(SP_LOG_INFO, "removed %d stale spool files", n);
            last_sweep = sp_clock_monotonic();
        }
        renew_due(w, period);
        double prune_in = sp_pruner_tick(w); /* one short batch at most */
        renew_due(w, period);
        double wait = next_wait(w, period);
        /* wakes for other reasons (a new claim, slots finishing) loop back here */
        sp_worker_wait(w, prune_in < wait ? prune_in : wait);
    }
    return NULL;
}
