/*
 * social-post-status: the FastCGI program behind GET /social-post-status.
 *
 * Reads a job as its owner sees it (RLS decides), with an ETag, 304 for an
 * unchanged If-None-Match (without the database when this process knows the
 * version is current: api/long_poll.h), and a long-poll (wait=N seconds) that answers as
 * soon as the job changes (parked, holding no thread: api/long_poll.h); without jobId, the caller's
 * jobs, newest first. Also the operations endpoints /health and /metrics, which nginx only lets
 * local callers reach.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/account_stats.h"
#include "api/etag.h"
#include "api/jobs.h"
#include "api/list_query.h"
#include "api/long_poll.h"
#include "api/metrics.h"
#include "api/queue_stats.h"
#include "api/server.h"
#include "core/uuid.h"

/* GET ?jobId=[&wait=N]: the seed's status body, with its ETag (304 when
 * unchanged). With wait, a job that has not changed from the caller's
 * version (If-None-Match, else the current one) and is not final is parked
 * until it changes or the wait is over. */
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
    if (sp_request_int_query(r, "wait", 0, 0, SP_LONG_POLL_MAX_SECONDS, &wait, &err) < 0) goto fail;
    /* the promise of a wait holds with a stalled database too: a read still
     * waiting half a second past it gives up (503 with Retry-After) */
    if (wait > 0) ctx->answer_by = r->started + wait + 0.5;
    const char *inm = sp_request_param(r, "HTTP_IF_NONE_MATCH");
    char known[40];
    if (wait == 0 && inm && ctx->long_poll &&
        sp_long_poll_known(ctx->long_poll, job_id, r->user_id, known) &&
        sp_etag_none_match_names(inm, known)) {
        sp_response_send_versioned(r, "", known); /* 304: unchanged, no round trip */
        goto done;
    }
    uint64_t mark = ctx->long_poll ? sp_long_poll_mark(ctx->long_poll) : 0;
    if (sp_jobs_view_as(ctx->db, claims->claims_json, job_id, &view, &err) < 0) goto fail;
    if (ctx->long_poll) sp_long_poll_remember(ctx->long_poll, job_id, r->user_id, view.etag, mark);
    /* the caller holds this version (If-None-Match names it, RFC 9110's
     * weak comparison) or asked without one: wait for the next */
    bool unchanged = !inm || sp_etag_none_match_names(inm, view.etag);
    if (wait > 0 && ctx->long_poll && !view.final && unchanged && !sp_server_stopping() &&
        sp_long_poll_park(ctx->long_poll, r, claims->claims_json, job_id, wait, view.etag, &view,
                          mark) == 0)
        goto done;
    sp_response_send_versioned(r, view.json, view.etag);
    goto done;
fail:
    sp_response_send_error(r, &err);
done:
    free(view.json);
}

/* GET without jobId: {"jobs": [...], "next": cursor|null}, newest first. */
static void job_list(sp_ctx *ctx, sp_request *r, const sp_jwt_claims *claims) {
    sp_err err;
    sp_list_query q;
    char *json = NULL;
    if (sp_list_query_parse(r, &q, &err) < 0) goto fail;
    json = sp_jobs_list_json_as(ctx->db, claims->claims_json, q.limit, *q.before ? q.before : NULL,
                                *q.status ? q.status : NULL, &err);
    if (!json) goto fail;
    sp_response_send_json(r, 200, json);
    goto done;
fail:
    sp_response_send_error(r, &err);
done:
    free(json);
}

/* GET /social-post-status: one job (jobId=) or the caller's list. */
static void status_or_list(sp_ctx *ctx, sp_request *r) {
    sp_err err;
    sp_jwt_claims claims;
    char raw[64];
    int found = -1;
    if (sp_request_authenticate(r, ctx->jwt, &claims, &err) < 0 ||
        (found = sp_request_query(r, "jobId", raw, sizeof raw, &err)) < 0)
        sp_response_send_error(r, &err);
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
        sp_response_send_error(r, &err);
        return;
    }
    sp_response_send_json(r, 200, "{\"status\":\"ok\",\"database\":\"ok\"}");
}

/* GET /metrics: Prometheus text: this process's requests, the queue, then
 * how connections of accounts ended. */
static void metrics(sp_ctx *ctx, sp_request *r) {
    char buf[16384];
    sp_err err;
    sp_queue_stats stats;
    bool have_stats = sp_queue_stats_read(ctx->db, &stats, &err) == 0;
    int n = sp_metrics_render("social-post-status", buf, sizeof buf);
    size_t off = n > 0 ? (size_t)n : 0;
    n = sp_metrics_render_queue(have_stats ? &stats : NULL, buf + off, sizeof buf - off);
    off += n > 0 ? (size_t)n : 0;
    n = have_stats ? sp_account_stats_render(ctx->db, buf + off, sizeof buf - off) : 0;
    off += n > 0 ? (size_t)n : 0;
    sp_response resp;
    sp_response_init(&resp, 200);
    sp_response_send_typed(r, &resp, "text/plain; version=0.0.4", buf, off);
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
        .default_threads = 4,
        .long_polls = true,
        .routes = routes,
    };
    return sp_server_main(argc, argv, &spec);
}
