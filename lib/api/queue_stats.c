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

/* Deliveries waiting for a platform's quota (migration 0017). */
static const sp_stmt quota_waits = {
    "status_quota_waits", "SELECT platform, deliveries FROM social_post_quota_waits()", 0};

/* Account rows with sealed tokens and with tokens in clear (migration 0017). */
static const sp_stmt token_stats = {"status_token_stats",
                                    "SELECT sealed, plain FROM social_post_token_stats()", 0};

/* Copies the quota and token counts from their results. */
static void read_extra(const sp_rows *quota, const sp_rows *tokens, sp_queue_stats *out) {
    for (int row = 0; row < sp_rows_count(quota) && out->nquota < SP_QUEUE_MAX_PLATFORMS; row++) {
        sp_quota_row *q = &out->quota[out->nquota++];
        snprintf(q->platform, sizeof q->platform, "%s", sp_rows_value(quota, row, 0));
        q->deliveries = atoll(sp_rows_value(quota, row, 1));
    }
    if (sp_rows_count(tokens) == 1) {
        out->tokens_sealed = atoll(sp_rows_value(tokens, 0, 0));
        out->tokens_plain = atoll(sp_rows_value(tokens, 0, 1));
    }
}

int sp_queue_stats_read(sp_db *db, sp_queue_stats *out, sp_err *err) {
    memset(out, 0, sizeof *out);
    sp_db_step steps[] = {
        {&become_metrics, NULL}, {&stats, NULL}, {&quota_waits, NULL}, {&token_stats, NULL}};
    sp_rows *res[4];
    /* claims are irrelevant here: the metrics role replaces authenticated */
    if (sp_db_exec_as(db, "{}", steps, 4, res, err) < 0) return -1;
    for (int row = 0; row < sp_rows_count(res[1]) && out->nrows < SP_QUEUE_MAX_ROWS; row++) {
        sp_queue_row *r = &out->rows[out->nrows++];
        snprintf(r->platform, sizeof r->platform, "%s", sp_rows_value(res[1], row, 0));
        snprintf(r->state, sizeof r->state, "%s", sp_rows_value(res[1], row, 1));
        r->deliveries = atoll(sp_rows_value(res[1], row, 2));
        r->oldest_due_seconds = atof(sp_rows_value(res[1], row, 3));
    }
    read_extra(res[2], res[3], out);
    for (int i = 0; i < 4; i++)
        sp_rows_free(res[i]);
    return 0;
}
