/*
 * lease_keeper: renews every lease this process holds, every third of the
 * lease, on its own connection. A lease therefore lapses only when the whole
 * process is gone (or cut off from the database for two renewals in a row),
 * which is exactly when another worker should take the delivery over.
 * It is also the worker's janitor: once an hour it sweeps spool files older
 * than a day (left by dead workers, or by jobs another machine finished).
 */
#include <time.h>

#include "db.h"
#include "log.h"
#include "queue.h"
#include "spool.h"
#include "worker.h"

#define SPOOL_SWEEP_EVERY 3600.0
#define SPOOL_MAX_AGE 86400.0

static double monotonic_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void *sp_lease_keeper_main(void *arg) {
    sp_worker *w = arg;
    sp_db *db = sp_db_new(w->cfg->database_url);
    if (!db) return NULL;
    double period = w->lease_seconds / 3.0;
    double last_renew = 0, last_sweep = 0;
    while (atomic_load(&w->slots_running) > 0) {
        double now = monotonic_seconds();
        sp_err err;
        if (now - last_sweep >= SPOOL_SWEEP_EVERY || last_sweep == 0) {
            int n = sp_spool_sweep(w->spool_dir, SPOOL_MAX_AGE);
            if (n > 0) sp_log(SP_LOG_INFO, "removed %d stale spool files", n);
            last_sweep = now;
        }
        if (now - last_renew >= period) {
            if (sp_queue_renew(db, w->owner, w->lease_seconds, &err) < 0)
                sp_log(SP_LOG_WARN, "renewing leases failed: %s", err.msg);
            last_renew = now;
        }
        /* wakes for other reasons (slots finishing) just loop back here */
        sp_worker_wait(w, period - (monotonic_seconds() - last_renew));
    }
    sp_db_free(db);
    return NULL;
}
