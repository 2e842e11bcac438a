/*
 * queue_stats: one call of social_post_delivery_stats() as social_post_metrics.
 */
#include "api/queue_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The login has no rights of its own: it becomes the metrics role for this. */
static const sp_stmt become_metrics = {"status_become_metrics",
                                       "SELECT set_config('role', 'social_post_metrics', true)", 0};

static const sp_stmt stats = {"status_delivery_stats",
                              "SELECT platform, state, deliveries, oldest_due_seconds"
                              " FROM social_post_delivery_stats()",
                              0};

int sp_queue_stats_read(sp_db *db, sp_queue_stats *out, sp_err *err) {
    memset(out, 0, sizeof *out);
    sp_db_step steps[] = {{&become_metrics, NULL}, {&stats, NULL}};
    PGresult *res[2];
    /* claims are irrelevant here: the metrics role replaces authenticated */
    if (sp_db_exec_as(db, "{}", steps, 2, res, err) < 0) return -1;
    for (int row = 0; row < PQntuples(res[1]) && out->nrows < SP_QUEUE_MAX_ROWS; row++) {
        sp_queue_row *r = &out->rows[out->nrows++];
        snprintf(r->platform, sizeof r->platform, "%s", PQgetvalue(res[1], row, 0));
        snprintf(r->state, sizeof r->state, "%s", PQgetvalue(res[1], row, 1));
        r->deliveries = atoll(PQgetvalue(res[1], row, 2));
        r->oldest_due_seconds = atof(PQgetvalue(res[1], row, 3));
    }
    PQclear(res[0]);
    PQclear(res[1]);
    return 0;
}
