/*
 * lease_keeper: renews every lease this process holds, every third of the
 * lease, on its own connection. A lease therefore lapses only when the whole
 * process is gone (or cut off from the database for two renewals in a row),
 * which is exactly when another worker should take the delivery over.
 */
#include "db.h"
#include "log.h"
#include "queue.h"
#include "worker.h"

void *sp_lease_keeper_main(void *arg) {
    sp_worker *w = arg;
    sp_db *db = sp_db_new(w->cfg->database_url);
    if (!db) return NULL;
    double period = w->lease_seconds / 3.0;
    while (atomic_load(&w->slots_running) > 0) {
        sp_err err;
        if (sp_queue_renew(db, w->owner, w->lease_seconds, &err) < 0)
            sp_log(SP_LOG_WARN, "renewing leases failed: %s", err.msg);
        sp_worker_wait(w, period);
    }
    sp_db_free(db);
    return NULL;
}
