/*
 * social-post-status: the FastCGI program behind GET /social-post-status.
 *
 * Reads a job as its owner sees it (RLS decides), with an ETag, 304 for an
 * unchanged If-None-Match, and a long-poll (wait=N seconds) that answers as
 * soon as the job changes; without jobId, the caller's jobs, newest first.
 * Also the operations endpoints /health and /metrics, which nginx only lets
 * local callers reach.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "iso8601.h"
#include "jobs.h"
#include "metrics.h"
#include "server.h"
#include "uuid.h"

#define WAIT_MAX_SECONDS 60
#define WAIT_POLL_MS 250
#define LIST_DEFAULT 20
#define LIST_MAX 100

/* Reads job_id in a transaction of its own, as the caller. */
static int read_job(sp_ctx *ctx, const sp_jwt_claims *claims, const char *job_id, sp_job_view *view,
                    sp_err *err) {
    if (sp_db_begin_as(ctx->db, claims->claims_json, err) < 0) return -1;
    if (sp_jobs_view(ctx->db, job_id, view, err) < 0 || sp_db_commit(ctx->db, err) < 0) {
        free(view->json);
        view->json = NULL;
        sp_db_rollback(ctx->db);
        return -1;
    }
    return 0;
}

/* Parses an optional integer query parameter within [min, max]. */
static int int_param(const sp_request *r, const char *name, int def, int min, int max, int *out,
                     sp_err *err) {
    char raw[16];
    *out = def;
    int found = sp_http_query(r, name, raw, sizeof raw, err);
    if (found <= 0) return found;
    char *end = NULL;
    long v = strtol(raw, &end, 10);
    if (!*raw || *end || v < min || v > max)
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_query",
                          "%s must be a whole number from %d to %d", name, min, max);
    *out = (int)v;
    return 0;
}

/* Long-polls in progress: at most threads - 2 of them, so that waiting
 * clients can never take every thread from status reads and /health. */
static atomic_int waiting;

/* Holds the request until the job's ETag is no longer baseline, the job is
 * final, or wait seconds have passed; view is updated in place. When too
 * many requests wait already, or the program is stopping, it answers now. */
static int long_poll(sp_ctx *ctx, const sp_jwt_claims *claims, const char *job_id, int wait,
                     const char *baseline, sp_job_view *view, sp_err *err) {
    struct timespec tick = {.tv_nsec = WAIT_POLL_MS * 1000000L};
    int rc = 0;
    if (atomic_fetch_add(&waiting, 1) >= ctx->threads - 2) wait = 0;
    for (int waited = 0; waited < wait * 1000; waited += WAIT_POLL_MS) {
        if (view->final || strcmp(view->etag, baseline) != 0 || sp_server_stopping()) break;
        nanosleep(&tick, NULL);
        free(view->json);
        view->json = NULL;
        if ((rc = read_job(ctx, claims, job_id, view, err)) < 0) break;
    }
    atomic_fetch_sub(&waiting, 1);
    return rc;
}

/* Sends the job with its ETag, or 304 when the caller has that version. */
static void send_job(sp_request *r, const sp_job_view *view) {
    const char *inm = sp_http_param(r, "HTTP_IF_NONE_MATCH");
    sp_response resp;
    bool unchanged = inm && strcmp(inm, view->etag) == 0;
    sp_response_init(&resp, unchanged ? 304 : 200);
    sp_response_header(&resp, "ETag", "%s", view->etag);
    sp_http_send(r, &resp, unchanged ? NULL : view->json, unchanged ? 0 : strlen(view->json));
}

/* GET ?jobId=[&wait=N]: the seed's status body. */
static void job_status(sp_ctx *ctx, sp_request *r, const sp_jwt_claims *claims, const char *raw) {
    sp_err err;
    char job_id[37];
    sp_job_view view = {0};
    int wait;
    if (!*raw || !sp_uuid_normalize(raw, job_id)) {
        sp_err_set(&err, SP_ERR_BAD_REQUEST, *raw ? "invalid_job_id" : "missing_job_id",
                   *raw ? "jobId must be a UUID" : "jobId is empty");
        goto fail;
    }
    memcpy(r->job_id, job_id, sizeof r->job_id);
    if (int_param(r, "wait", 0, 0, WAIT_MAX_SECONDS, &wait, &err) < 0) goto fail;
    if (read_job(ctx, claims, job_id, &view, &err) < 0) goto fail;
    if (wait > 0) {
        const char *inm = sp_http_param(r, "HTTP_IF_NONE_MATCH");
        char baseline[40];
        snprintf(baseline, sizeof baseline, "%s", inm ? inm : view.etag);
        if (long_poll(ctx, claims, job_id, wait, baseline, &view, &err) < 0) goto fail;
    }
    send_job(r, &view);
    goto done;
fail:
    sp_http_send_error(r, &err);
done:
    free(view.json);
}

/* Checks a list cursor: "<ISO 8601 time>,<job id>", as a page's "next" gives. */
static bool cursor_valid(const char *cursor) {
    const char *comma = strrchr(cursor, ',');
    char when[48];
    double t;
    if (!comma || (size_t)(comma - cursor) >= sizeof when) return false;
    memcpy(when, cursor, (size_t)(comma - cursor));
    when[comma - cursor] = '\0';
    return sp_iso8601_parse(when, &t) && sp_uuid_valid(comma + 1);
}

/* Reads the list's before= and status= parameters. */
static int list_filters(const sp_request *r, char *before, size_t blen, char *status, size_t slen,
                        sp_err *err) {
    int has_before = sp_http_query(r, "before", before, blen, err);
    if (has_before < 0) return -1;
    if (has_before == 0)
        before[0] = '\0';
    else if (!cursor_valid(before))
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_query",
                          "before must be the next value of an earlier page");
    int has_status = sp_http_query(r, "status", status, slen, err);
    if (has_status < 0) return -1;
    if (has_status == 0)
        status[0] = '\0';
    else if (strcmp(status, "pending") && strcmp(status, "processing") &&
             strcmp(status, "completed") && strcmp(status, "failed"))
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_query",
                          "status must be pending, processing, completed or failed");
    return 0;
}

/* GET without jobId: {"jobs": [...], "next": cursor|null}, newest first. */
static void job_list(sp_ctx *ctx, sp_request *r, const sp_jwt_claims *claims) {
    sp_err err;
    char before[128], status[16];
    char *json = NULL;
    int limit;
    if (int_param(r, "limit", LIST_DEFAULT, 1, LIST_MAX, &limit, &err) < 0) goto fail;
    if (list_filters(r, before, sizeof before, status, sizeof status, &err) < 0) goto fail;
    if (sp_db_begin_as(ctx->db, claims->claims_json, &err) < 0) goto fail;
    json =
        sp_jobs_list_json(ctx->db, limit, *before ? before : NULL, *status ? status : NULL, &err);
    if (!json || sp_db_commit(ctx->db, &err) < 0) goto fail;
    sp_http_send_json(r, 200, json);
    goto done;
fail:
    sp_http_send_error(r, &err);
done:
    free(json);
}

/* GET /social-post-status: one job (jobId=) or the caller's list. */
static void status_or_list(sp_ctx *ctx, sp_request *r) {
    sp_err err;
    sp_jwt_claims claims;
    char raw[64];
    int found = -1;
    if (sp_auth_caller(ctx->jwt, r, &claims, &err) < 0 ||
        (found = sp_http_query(r, "jobId", raw, sizeof raw, &err)) < 0)
        sp_http_send_error(r, &err);
    else if (found)
        job_status(ctx, r, &claims, raw);
    else
        job_list(ctx, r, &claims);
    sp_jwt_claims_clear(&claims);
}

/* GET /health: 200 when the database answers, else 503. */
static void health(sp_ctx *ctx, sp_request *r) {
    sp_err err;
    if (sp_db_ping(ctx->db, &err) < 0) {
        sp_http_send_error(r, &err);
        return;
    }
    sp_http_send_json(r, 200, "{\"status\":\"ok\",\"database\":\"ok\"}");
}

/* Appends the queue's gauges (from the database) to buf at *off. */
static void queue_gauges(sp_ctx *ctx, char *buf, size_t len, size_t *off) {
    static const sp_stmt stats = {"status_queue_stats",
                                  "SELECT state, deliveries, oldest_due_seconds"
                                  " FROM social_post_queue_stats()",
                                  0};
    sp_err err;
    /* the login has no rights of its own: it becomes the metrics role for this */
    PGresult *res = NULL;
    if (sp_db_begin(ctx->db, &err) == 0 &&
        sp_db_simple(ctx->db, "SET LOCAL ROLE social_post_metrics", &err) == 0)
        res = sp_db_exec(ctx->db, &stats, NULL, &err);
    if (res) sp_db_commit(ctx->db, &err);
    sp_db_rollback(ctx->db);
    int n = snprintf(buf + *off, len - *off,
                     "# HELP social_post_database_up Whether the queue could be read.\n"
                     "# TYPE social_post_database_up gauge\nsocial_post_database_up %d\n"
                     "# HELP social_post_deliveries Deliveries by state.\n"
                     "# TYPE social_post_deliveries gauge\n",
                     res ? 1 : 0);
    if (n > 0 && (size_t)n < len - *off) *off += (size_t)n;
    for (int i = 0; res && i < PQntuples(res); i++) {
        n = snprintf(buf + *off, len - *off, "social_post_deliveries{state=\"%s\"} %s\n",
                     PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
        if (n > 0 && (size_t)n < len - *off) *off += (size_t)n;
        if (!strcmp(PQgetvalue(res, i, 0), "queued")) {
            n = snprintf(buf + *off, len - *off,
                         "# HELP social_post_oldest_due_seconds Age of the oldest due delivery.\n"
                         "# TYPE social_post_oldest_due_seconds gauge\n"
                         "social_post_oldest_due_seconds %s\n",
                         PQgetvalue(res, i, 2));
            if (n > 0 && (size_t)n < len - *off) *off += (size_t)n;
        }
    }
    PQclear(res);
}

/* GET /metrics: Prometheus text. */
static void metrics(sp_ctx *ctx, sp_request *r) {
    char buf[8192];
    int n = sp_metrics_render("social-post-status", buf, sizeof buf);
    size_t off = n > 0 ? (size_t)n : 0;
    queue_gauges(ctx, buf, sizeof buf, &off);
    sp_response resp;
    sp_response_init(&resp, 200);
    sp_http_send_typed(r, &resp, "text/plain; version=0.0.4", buf, off);
}

static const sp_route routes[] = {
    {"", "GET", status_or_list},
    {"/health", "GET", health},
    {"/metrics", "GET", metrics},
    {NULL, NULL, NULL},
};

int main(int argc, char **argv) {
    static const sp_server_spec spec = {
        .program = "social-post-status",
        .summary = "FastCGI responder: job status (GET /social-post-status?jobId=), the "
                   "caller's jobs, /health and /metrics.",
        .default_threads = 8,
        .routes = routes,
    };
    return sp_server_main(argc, argv, &spec);
}
