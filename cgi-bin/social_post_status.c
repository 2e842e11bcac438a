/*
 * social-post-status: the FastCGI program behind GET /social-post-status.
 *
 * Reads a job as its owner sees it (RLS decides), and answers the operations
 * endpoint /health, which nginx only lets local callers reach.
 */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "jobs.h"
#include "server.h"
#include "uuid.h"

/* GET ?jobId=: the seed's status body. */
static void job_status(sp_ctx *ctx, sp_request *r) {
    sp_err err;
    sp_jwt_claims claims;
    char raw[64], job_id[37];
    char *json = NULL;
    if (sp_auth_caller(ctx->jwt, r, &claims, &err) < 0) goto fail;
    int found = sp_http_query(r, "jobId", raw, sizeof raw, &err);
    if (found < 0) goto fail;
    if (found == 0 || !*raw) {
        sp_err_set(&err, SP_ERR_BAD_REQUEST, "missing_job_id", "jobId is required");
        goto fail;
    }
    if (!sp_uuid_normalize(raw, job_id)) {
        sp_err_set(&err, SP_ERR_BAD_REQUEST, "invalid_job_id", "jobId must be a UUID");
        goto fail;
    }
    memcpy(r->job_id, job_id, sizeof r->job_id);
    if (sp_db_begin_as(ctx->db, claims.claims_json, &err) < 0) goto fail;
    json = sp_jobs_status_json(ctx->db, job_id, &err);
    if (!json) goto fail;
    if (sp_db_commit(ctx->db, &err) < 0) goto fail;
    sp_http_send_json(r, 200, json);
    goto done;
fail:
    sp_http_send_error(r, &err);
done:
    free(json);
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

static const sp_route routes[] = {
    {"", "GET", job_status},
    {"/health", "GET", health},
    {NULL, NULL, NULL},
};

int main(int argc, char **argv) {
    static const sp_server_spec spec = {
        .program = "social-post-status",
        .summary = "FastCGI responder: job status (GET /social-post-status?jobId=) and /health.",
        .default_threads = 8,
        .routes = routes,
    };
    return sp_server_main(argc, argv, &spec);
}
