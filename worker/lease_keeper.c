/*
 * lease_keeper: renews every lease this process holds, every third of the
 * lease, on its own connection, for the claims the slots are working on
 * now. A lease therefore lapses only when the whole process is gone (or cut
 * off from the database for two renewals in a row), or when a slot gave up
 * on a claim: exactly when another worker should take the delivery over.
 * It is also the worker's janitor: once an hour it sweeps spool files older
 * than a day (left by dead workers, or by jobs another machine finished).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "db/db.h"
#include "queue/queue.h"
#include "queue/spool.h"
#include "worker.h"

#define SPOOL_SWEEP_EVERY 3600.0
#define SPOOL_MAX_AGE 86400.0

/* The slots' live claims as a Postgres array literal: {"a","b"}. Owners
 * are made of host name, digits and colons: nothing to escape. */
static void live_claims(sp_worker *w, char *out, size_t len) {
    size_t off = (size_t)snprintf(out, len, "{");
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < w->concurrency; i++) {
        if (!w->claims[i][0]) continue;
        int n = snprintf(out + off, len - off, "%s\"%s\"", off > 1 ? "," : "", w->claims[i]);
        if (n > 0 && (size_t)n < len - off) off += (size_t)n;
    }
    pthread_mutex_unlock(&w->lock);
    snprintf(out + off, len - off, "}");
}

void *sp_lease_keeper_main(void *arg) {
    sp_worker *w = arg;
    sp_db *db = sp_db_new(w->cfg->database_url);
    if (!db) return NULL;
    double period = w->lease_seconds / 3.0;
    double last_renew = 0, last_sweep = 0;
    while (atomic_load(&w->slots_running) > 0) {
        double now = sp_clock_monotonic();
        sp_err err;
        if (now - last_sweep >= SPOOL_SWEEP_EVERY || last_sweep == 0) {
            int n = sp_spool_sweep(w->spool_dir, SPOOL_MAX_AGE);
            if (n > 0) sp_log(SP_LOG_INFO, "removed %d stale spool files", n);
            last_sweep = now;
        }
        if (now - last_renew >= period) {
            char owners[SP_MAX_CONCURRENCY * 204 + 4];
            live_claims(w, owners, sizeof owners);
            if (strcmp(owners, "{}") != 0 && sp_queue_renew(db, owners, w->lease_seconds, &err) < 0)
                sp_log(SP_LOG_WARN, "renewing leases failed: %s", err.msg);
            last_renew = now;
        }
        /* wakes for other reasons (slots finishing) just loop back here */
        sp_worker_wait(w, period - (sp_clock_monotonic() - last_renew));
    }
    sp_db_free(db);
    return NULL;
}
