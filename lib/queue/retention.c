/*
 * retention: the pruning batch's one statement (retention.h). Ages go to
 * Postgres as seconds, turned into intervals there.
 */
#include <stdio.h>
#include <stdlib.h>

#include "queue/retention.h"

/* One batch of each kind (migration 0020); $2 NULL keeps the jobs. */
static const sp_stmt prune = {
    "retention_prune",
    "SELECT delivery_details, webhook_events, jobs FROM public.social_post_prune("
    "make_interval(secs => $1::double precision), make_interval(secs => $2::double precision),"
    " $3::integer)",
    3};

int sp_retention_prune(sp_db *db, double days, double job_days, int batch, sp_pruned *out,
                       sp_err *err) {
    char age[32], job_age[32], limit[16];
    snprintf(age, sizeof age, "%.0f", days * 86400);
    snprintf(job_age, sizeof job_age, "%.0f", job_days * 86400);
    snprintf(limit, sizeof limit, "%d", batch);
    const char *params[] = {age, job_days > 0 ? job_age : NULL, limit};
    sp_rows *res = sp_db_exec(db, &prune, params, err);
    if (!res) return -1;
    *out = (sp_pruned){.delivery_details = atoi(sp_rows_value(res, 0, 0)),
                       .webhook_events = atoi(sp_rows_value(res, 0, 1)),
                       .jobs = atoi(sp_rows_value(res, 0, 2))};
    sp_rows_free(res);
    return out->delivery_details + out->webhook_events + out->jobs;
}
