/*
 * social-post: the FastCGI program behind POST /social-post.
 *
 * Accepts a post job and answers 202 at once; the worker does the posting.
 * Accepting is one transaction as the caller: insert the job if the video is
 * theirs (a trigger queues one delivery per platform and wakes the
 * workers). Nothing is posted from here, so nothing is lost when this process
 * is stopped after answering. Also: POST /social-post/{jobId}/retry (failed
 * platforms again) and /cancel (platforms not started yet), and the
 * connected accounts of /social-post-accounts (api/account_routes.h).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/account_routes.h"
#include "api/jobs.h"
#include "api/server.h"
#include "core/json.h"
#include "core/uuid.h"

/* The largest body accepted; nginx's client_max_body_size says the same. */
#define SUBMIT_BODY_LIMIT (64 * 1024)

/* Sends {"jobId", "status", <list_name>: platforms, "message"?} with status. */
static void send_job_answer(sp_request *r, int status, const char *job_id, const char *job_status,
                            const char *list_name, const char *platforms, const char *message,
                            bool replayed) {
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "jobId", job_id);
    cJSON_AddStringToObject(body, "status", job_status);
    if (list_name) cJSON_AddRawToObject(body, list_name, platforms ? platforms : "[]");
    if (message) cJSON_AddStringToObject(body, "message", message);
    char *text = sp_json_print(body);
    cJSON_Delete(body);
    sp_response resp;
    sp_response_init(&resp, status);
    sp_response_header(&resp, "Location", "%ssocial-post-status?jobId=%s", sp_request_base(r),
                       job_id);
    if (replayed) sp_response_header(&resp, "Idempotent-Replayed", "true");
    sp_response_send(r, &resp, text ? text : "{}", strlen(text ? text : "{}"));
    free(text);
}

/* Reads the optional Idempotency-Key header into *key (NULL when absent). */
static int idempotency_key(const sp_request *r, const char **key, sp_err *err) {
    *key = sp_request_param(r, "HTTP_IDEMPOTENCY_KEY");
    if (!*key) return 0;
    size_t n = strlen(*key);
    bool printable = n > 0 && n <= 255;
    for (size_t i = 0; printable && i < n; i++)
        printable = (*key)[i] > 0x20 && (*key)[i] < 0x7f;
    if (!printable)
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_idempotency_key",
                          "Idempotency-Key must be 1 to 255 visible ASCII characters");
    return 0;
}

/* POST /social-post: create a job for the caller. */
static void submit(sp_ctx *ctx, sp_request *r) {
    sp_err err;
    sp_jwt_claims claims;
    sp_job_request req = {0};
    sp_jobs_created job;
    const char *key;
    if (sp_request_authenticate(r, ctx->jwt, &claims, &err) < 0) goto fail;
    if (idempotency_key(r, &key, &err) < 0) goto fail;
    if (sp_request_read_json_body(r, SUBMIT_BODY_LIMIT, &err) < 0) goto fail;
    if (sp_job_request_parse(r->body, r->body_len, &req, &err) < 0) goto fail;
    if (sp_job_request_check_webhooks(&req, ctx->cfg->webhook_key != NULL, &err) < 0) goto fail;
    if (sp_jobs_create_as(ctx->db, claims.claims_json, claims.sub, &req, key, &job, &err) < 0)
        goto fail;
    memcpy(r->job_id, job.job_id, sizeof r->job_id);
    send_job_answer(r, 202, job.job_id, job.status, NULL, NULL,
                    "Post job created and processing in background", job.replayed);
    goto done;
fail:
    sp_response_send_error(r, &err);
done:
    sp_job_request_free(&req);
    sp_jwt_claims_clear(&claims);
}

/* POST /social-post/{jobId}/<action>: runs act and answers with the
 * platforms it touched under list_name. */
static void act_on_job(sp_ctx *ctx, sp_request *r, sp_jobs_action act, int status,
                       const char *list_name, const char *message) {
    sp_err err;
    sp_jwt_claims claims;
    char raw[64], job_id[37], job_status[16];
    char *platforms = NULL;
    if (sp_request_authenticate(r, ctx->jwt, &claims, &err) < 0) goto fail;
    if (!sp_request_path_segment(r, 0, raw, sizeof raw) || !sp_uuid_normalize(raw, job_id)) {
        sp_err_set(&err, SP_ERR_NOT_FOUND, "job_not_found", "job not found");
        goto fail;
    }
    memcpy(r->job_id, job_id, sizeof r->job_id);
    if (!(platforms = sp_jobs_act_as(ctx->db, claims.claims_json, job_id, act, job_status, &err)))
        goto fail;
    send_job_answer(r, status, job_id, job_status, list_name, platforms, message, false);
    goto done;
fail:
    sp_response_send_error(r, &err);
done:
    free(platforms);
    sp_jwt_claims_clear(&claims);
}

/* POST /social-post/{jobId}/retry: the failed platforms of a finished job again. */
static void retry(sp_ctx *ctx, sp_request *r) {
    act_on_job(ctx, r, SP_JOBS_RETRY, 202, "retried",
               "Retrying the failed platforms in background");
}

/* POST /social-post/{jobId}/cancel: the platforms that have not started. */
static void cancel(sp_ctx *ctx, sp_request *r) {
    act_on_job(ctx, r, SP_JOBS_CANCEL, 200, "cancelled", NULL);
}

static const sp_route routes[] = {
    {"", "POST", submit},
    {"/*/retry", "POST", retry},
    {"/*/cancel", "POST", cancel},
    /* /social-post-accounts: nginx passes its PATH_INFO as "/accounts..." */
    {"/accounts", "GET", sp_account_routes_list},
    {"/accounts/callback", "GET", sp_account_routes_callback},
    {"/accounts/*/connect", "POST", sp_account_routes_connect},
    {"/accounts/*/choose", "POST", sp_account_routes_choose},
    {"/accounts/*", "DELETE", sp_account_routes_disconnect},
    {NULL, NULL, NULL},
};

int main(int argc, char **argv) {
    static const sp_server_spec spec = {
        .program = "social-post",
        .summary = "FastCGI responder: accepts post jobs (POST /social-post), retries and "
                   "cancels them (POST /social-post/{jobId}/retry, /cancel); connects accounts "
                   "(/social-post-accounts).",
        .default_threads = 4,
        .routes = routes,
    };
    return sp_server_main(argc, argv, &spec);
}
