/*
 * social-post: the FastCGI program behind POST /social-post.
 *
 * Accepts a post job and answers 202 at once; the worker does the posting.
 * Accepting is one transaction as the caller: check the video is theirs,
 * insert the job (a trigger wakes the workers). Nothing is posted from here,
 * so nothing is lost when this process is stopped after answering.
 */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "jobs.h"
#include "server.h"

/* The largest body accepted; nginx's client_max_body_size says the same. */
#define SUBMIT_BODY_LIMIT (64 * 1024)

/* Sends the seed's 202 body with a Location of the job's status. */
static void send_accepted(sp_request *r, const char *job_id) {
    char body[160];
    snprintf(body, sizeof body,
             "{\"jobId\":\"%s\",\"status\":\"pending\","
             "\"message\":\"Post job created and processing in background\"}",
             job_id);
    sp_response resp;
    sp_response_init(&resp, 202);
    sp_response_header(&resp, "Location", "%ssocial-post-status?jobId=%s", sp_http_base(r), job_id);
    sp_http_send(r, &resp, body, strlen(body));
}

/* POST /social-post: create a job for the caller. */
static void submit(sp_ctx *ctx, sp_request *r) {
    sp_err err;
    sp_jwt_claims claims;
    sp_job_request req = {0};
    char job_id[37];
    if (sp_auth_caller(ctx->jwt, r, &claims, &err) < 0) goto fail;
    if (sp_http_read_json_body(r, SUBMIT_BODY_LIMIT, &err) < 0) goto fail;
    if (sp_job_request_parse(r->body, r->body_len, &req, &err) < 0) goto fail;
    if (sp_db_begin_as(ctx->db, claims.claims_json, &err) < 0) goto fail;
    if (sp_jobs_create(ctx->db, claims.sub, &req, job_id, &err) < 0) goto fail;
    if (sp_db_commit(ctx->db, &err) < 0) goto fail;
    memcpy(r->job_id, job_id, sizeof r->job_id);
    send_accepted(r, job_id);
    goto done;
fail:
    sp_http_send_error(r, &err);
done:
    sp_job_request_free(&req);
    sp_jwt_claims_clear(&claims);
}

static const sp_route routes[] = {
    {"", "POST", submit},
    {NULL, NULL, NULL},
};

int main(int argc, char **argv) {
    static const sp_server_spec spec = {
        .program = "social-post",
        .summary = "FastCGI responder: accepts post jobs (POST /social-post).",
        .default_threads = 4,
        .routes = routes,
    };
    return sp_server_main(argc, argv, &spec);
}
