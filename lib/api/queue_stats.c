/*
 * queue_stats: one call of social_post_queue_stats() as social_post_metrics.
 */
#include "api/queue_stats.h"

#include <stdlib.h>
#include <string.h>

static const sp_stmt stats = {"status_queue_stats",
                              "SELECT state, deliveries, oldest_due_seconds"
                              " FROM social_post_queue_stats()",
                              0};

static const char *const states[SP_QUEUE_STATES] = {"queued", "running", "succeeded", "failed",
                                                    "cancelled"};

/* Adds one row of the function's answer to out. */
static void add_row(sp_queue_stats *out, const PGresult *res, int row) {
    const char *state = PQgetvalue(res, row, 0);
    for (int i = 0; i < SP_QUEUE_STATES; i++) {
        if (strcmp(state, states[i]) != 0) continue;
        out->deliveries[i] = atoll(PQgetvalue(res, row, 1));
        if (i == 0) out->oldest_due_seconds = atof(PQgetvalue(res, row, 2));
    }
}

int sp_queue_stats_read(sp_db *db, sp_queue_stats *out, sp_err *err) {
    memset(out, 0, sizeof *out);
    for (int i = 0; i < SP_QUEUE_STATES; i++)
        out->state[i] = states[i];
    /* the login has no rights of its own: it becomes the metrics role for this */
    PGresult *res = NULL;
    if (sp_db_begin(db, err) == 0 &&
        sp_db_simple(db, "SET LOCAL ROLE social_post_metrics", err) == 0)
        res = sp_db_exec(db, &stats, NULL, err);
    int rc = res && sp_db_commit(db, err) == 0 ? 0 : -1;
    sp_db_rollback(db);
    for (int row = 0; rc == 0 && row < PQntuples(res); row++)
        add_row(out, res, row);
    PQclear(res);
    return rc;
}
