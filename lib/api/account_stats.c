/*
 * account_stats: one call of social_post_account_stats() as
 * social_post_metrics, written as Prometheus text.
 */
#include "api/account_stats.h"

#include <stdio.h>

static const sp_stmt become_metrics = {"accounts_become_metrics",
                                       "SELECT set_config('role', 'social_post_metrics', true)", 0};
static const sp_stmt stats = {
    "accounts_stats", "SELECT platform, outcome, total FROM social_post_account_stats()", 0};

int sp_account_stats_render(sp_db *db, char *buf, size_t len) {
    sp_db_step steps[] = {{&become_metrics, NULL}, {&stats, NULL}};
    sp_rows *res[2];
    sp_err err;
    if (sp_db_exec_as(db, "{}", steps, 2, res, &err) < 0) return 0;
    int off = snprintf(buf, len,
                       "# HELP social_post_account_connections_total Connections of accounts "
                       "by platform and how they ended (connected, choose, access_denied, "
                       "exchange_failed, ...).\n"
                       "# TYPE social_post_account_connections_total counter\n");
    for (int row = 0; off >= 0 && (size_t)off < len && row < sp_rows_count(res[1]); row++) {
        int n = snprintf(
            buf + off, len - (size_t)off,
            "social_post_account_connections_total{platform=\"%s\",outcome=\"%s\"} %s\n",
            sp_rows_value(res[1], row, 0), sp_rows_value(res[1], row, 1), sp_rows_value(res[1], row, 2));
        off = n < 0 ? -1 : off + n;
    }
    sp_rows_free(res[0]);
    sp_rows_free(res[1]);
    return off < 0 || (size_t)off >= len ? -1 : off;
}
