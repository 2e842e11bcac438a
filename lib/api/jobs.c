/*
 * jobs: statements on social_post_jobs and the video check before a submit.
 * The worker's view of jobs (deliveries, results) is in queue.c, not here.
 *
 * Each request is one pipelined transaction (sp_db_exec_as): the caller's
 * setup, the statements and the commit go out together, so a status read, a
 * list, a retry or a cancel costs one round trip, and so does a submit that
 * names its title (two when the title comes from the video: its limits are
 * checked in C between the two).
 */
#include "api/jobs.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

/* The caller's own video: RLS may not exist on a pre-existing product_videos,
 * so ownership is also checked explicitly. */
static const sp_stmt video_title = {
    "jobs_video_title",
    "SELECT coalesce(title, '') FROM product_videos WHERE id = $1::uuid AND user_id = $2::uuid", 2};

/* Inserts the job when the video is the caller's (else no row), or finds the
 * job made earlier with the same Idempotency-Key: a row (id, status,
 * request_hash), request_hash NULL for a new job. No row: no such video, or a
 * twin with the same key committed after this statement's snapshot (run it
 * again). The database computes the request_hash of every row a user writes
 * (migration 0015), so an earlier job whose hash is the database's for this
 * request answers with $7, this program's hash of it; rows written before
 * that have this program's hash. */
static const sp_stmt job_insert = {
    "jobs_insert",
    "WITH ins AS ("
    "  INSERT INTO social_post_jobs (user_id, video_id, platforms, title, description,"
    "    idempotency_key, request_hash, scheduled_at, callback_url, options)"
    "  SELECT v.user_id, v.id, $3::jsonb, $4, $5, $6, $7, to_timestamp($8::float8), $9,"
    "         $10::jsonb"
    "  FROM product_videos v WHERE v.id = $2::uuid AND v.user_id = $1::uuid"
    "  ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING"
    "  RETURNING id, status)"
    " SELECT id::text, status, NULL::text FROM ins"
    " UNION ALL"
    " SELECT j.id::text, j.status, CASE WHEN j.request_hash = social_post_request_hash("
    "   $2::uuid, $3::jsonb, $4, $5, to_timestamp($8::float8), $9, $10::jsonb)"
    "   THEN $7 ELSE j.request_hash END"
    " FROM social_post_jobs j"
    " WHERE $6::text IS NOT NULL AND j.user_id = $1::uuid AND j.idempotency_key = $6"
    "   AND NOT EXISTS (SELECT 1 FROM ins)",
    10};

static const sp_stmt job_status = {"jobs_status",
                                   "SELECT status FROM social_post_jobs WHERE id = $1::uuid", 1};

static const sp_stmt job_view = {
    "jobs_view",
    "WITH v AS (SELECT social_post_job_json(j)::text AS body, j.status"
    "           FROM social_post_jobs j WHERE j.id = $1::uuid)"
    " SELECT body, md5(body), status IN ('completed', 'failed') FROM v",
    1};

/* A page of the caller's jobs; the cursor is "<created_at with microseconds>,<id>".
 * Two statements, the first page and the pages after a cursor, so that the
 * cursor is always an index condition of (user_id, created_at, id): in one
 * statement with "$1 IS NULL OR ...", Postgres's generic plan (used after a
 * few runs of a prepared statement) walked the caller's jobs from the newest
 * to the cursor, so a deep page cost grew with the caller's history (9 ms of
 * CPU a page after 10,000 jobs). */
#define JOB_PAGE_SQL(cursor_condition, status_param, limit_param)                                  \
    "WITH page AS ("                                                                               \
    "  SELECT j.id, j.created_at, social_post_job_json(j) AS body FROM social_post_jobs j"         \
    "  WHERE " cursor_condition " ($" status_param "::text IS NULL OR j.status = $" status_param   \
    ")"                                                                                            \
    "  ORDER BY j.created_at DESC, j.id DESC LIMIT $" limit_param "::int)"                         \
    " SELECT json_build_object('jobs', coalesce(json_agg(body ORDER BY created_at DESC, id DESC)," \
    "                                           '[]'::json),"                                      \
    "   'next', CASE WHEN count(*) = $" limit_param "::int THEN"                                   \
    "     (SELECT to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"   \
    "             || ',' || p.id FROM page p ORDER BY p.created_at, p.id LIMIT 1) END)::text"      \
    " FROM page"

static const sp_stmt job_list = {"jobs_list", JOB_PAGE_SQL("", "1", "2"), 2};

static const sp_stmt job_list_after = {
    "jobs_list_after",
    JOB_PAGE_SQL("(j.created_at, j.id) < (split_part($1, ',', 1)::timestamptz,"
                 " split_part($1, ',', 2)::uuid) AND",
                 "2", "3"),
    3};

static const sp_stmt job_retry = {"jobs_retry",
                                  "SELECT array_to_json(social_post_retry_job($1::uuid))::text", 1};

static const sp_stmt job_cancel = {
    "jobs_cancel", "SELECT array_to_json(social_post_cancel_job($1::uuid))::text", 1};

/* A copy of the one value of res (caller frees), or NULL with err set
 * (SP_ERR_NOT_FOUND with missing when there is no row). Clears res. */
static char *single_value(sp_rows *res, const char *missing, sp_err *err) {
    char *value = NULL;
    if (sp_rows_count(res) != 1 || sp_rows_is_null(res, 0, 0))
        sp_err_set(err, SP_ERR_NOT_FOUND, "job_not_found", "%s", missing);
    else if (!(value = strdup(sp_rows_value(res, 0, 0))))
        sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    sp_rows_free(res);
    return value;
}

/* SHA-256 (hex) of what the request asks for, to tell a repeated submit
 * from a different one under the same Idempotency-Key. */
static int request_hash(const sp_job_request *req, const char *platforms, const char *options,
                        char out[65], sp_err *err) {
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "videoId", req->video_id);
    cJSON_AddRawToObject(c, "platforms", platforms);
    cJSON_AddItemToObject(c, "title",
                          req->title ? cJSON_CreateString(req->title) : cJSON_CreateNull());
    cJSON_AddItemToObject(c, "description",
                          req->description ? cJSON_CreateString(req->description)
                                           : cJSON_CreateNull());
    cJSON_AddNumberToObject(c, "scheduledAt", req->has_scheduled_at ? req->scheduled_at : -1);
    /* only when sent, so keys used before callbacks existed still match */
    if (req->callback_url) cJSON_AddStringToObject(c, "callbackUrl", req->callback_url);
    if (req->options) cJSON_AddRawToObject(c, "options", options);
    char *text = sp_json_print(c);
    unsigned char md[32];
    unsigned int n = 0;
    int rc = text && EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL) ? 0 : -1;
    for (unsigned i = 0; rc == 0 && i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    free(text);
    cJSON_Delete(c);
    return rc == 0 ? 0 : sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
}

/* The title a job gets: the request's, else the video's (one round trip,
 * only then). *owned is what the caller frees. Checks the text limits,
 * except for a video that is not there: the insert then finds the job of an
 * earlier submit with the same Idempotency-Key, or answers 404. */
static int effective_title(sp_db *db, const char *claims_json, const char *user_id,
                           const sp_job_request *req, const char **title, char **owned,
                           sp_err *err) {
    *owned = NULL;
    *title = req->title;
    if (!req->title) {
        const char *params[] = {req->video_id, user_id};
        sp_rows *res = sp_db_exec1_as(db, claims_json, &video_title, params, err);
        if (!res) return -1;
        bool found = sp_rows_count(res) == 1;
        if (found && *sp_rows_value(res, 0, 0) && !(*owned = strdup(sp_rows_value(res, 0, 0)))) {
            sp_rows_free(res);
            return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
        }
        sp_rows_free(res);
        if (!found) return 0;
        *title = *owned;
    }
    return sp_job_request_check_text(req, *title, err);
}

/* Reads the insert's answer: 1 done, 0 no row (see job_insert), -1 error. */
static int insert_answer(sp_rows *res, const char *hash, sp_jobs_created *out, sp_err *err) {
    int rc = 0;
    if (sp_rows_count(res) == 1) {
        bool earlier = !sp_rows_is_null(res, 0, 2);
        if (earlier && strcmp(sp_rows_value(res, 0, 2), hash) != 0) {
            rc = sp_err_set(err, SP_ERR_UNPROCESSABLE, "idempotency_key_reused",
                            "this Idempotency-Key was used for a different request");
        } else {
            snprintf(out->job_id, sizeof out->job_id, "%s", sp_rows_value(res, 0, 0));
            snprintf(out->status, sizeof out->status, "%s", sp_rows_value(res, 0, 1));
            out->replayed = earlier;
            rc = 1;
        }
    }
    sp_rows_free(res);
    return rc;
}

int sp_jobs_create_as(sp_db *db, const char *claims_json, const char *user_id,
                      const sp_job_request *req, const char *idempotency_key, sp_jobs_created *out,
                      sp_err *err) {
    char hash[65] = "", when[32];
    const char *title;
    char *owned_title = NULL, *platforms = sp_job_request_platforms_json(req);
    char *options = sp_job_request_options_json(req);
    int rc = -1;
    memset(out, 0, sizeof *out);
    if (!platforms || !options) {
        sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
        goto done;
    }
    if (idempotency_key && request_hash(req, platforms, options, hash, err) < 0) goto done;
    if (effective_title(db, claims_json, user_id, req, &title, &owned_title, err) < 0) goto done;
    snprintf(when, sizeof when, "%.3f", req->scheduled_at);
    const char *params[] = {user_id,
                            req->video_id,
                            platforms,
                            title,
                            req->description,
                            idempotency_key,
                            idempotency_key ? hash : NULL,
                            req->has_scheduled_at ? when : NULL,
                            req->callback_url,
                            options};
    /* a second run only when a twin with the same key raced this one */
    for (int attempt = 0; rc < 0 && attempt < (idempotency_key ? 2 : 1); attempt++) {
        sp_rows *res = sp_db_exec1_as(db, claims_json, &job_insert, params, err);
        int found = res ? insert_answer(res, hash, out, err) : -1;
        if (found < 0) goto done;
        if (found) rc = 0;
    }
    if (rc < 0) sp_err_set(err, SP_ERR_NOT_FOUND, "video_not_found", "video not found");
done:
    free(owned_title);
    free(platforms);
    free(options);
    return rc;
}

sp_db_step sp_jobs_view_step(const char *const params[1]) {
    return (sp_db_step){&job_view, params};
}

int sp_jobs_view_from(sp_rows *res, sp_job_view *out, sp_err *err) {
    memset(out, 0, sizeof *out);
    int rc = -1;
    if (sp_rows_count(res) != 1) {
        sp_err_set(err, SP_ERR_NOT_FOUND, "job_not_found", "job not found");
    } else if (!(out->json = strdup(sp_rows_value(res, 0, 0)))) {
        sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    } else {
        snprintf(out->etag, sizeof out->etag, "\"%s\"", sp_rows_value(res, 0, 1));
        out->final = sp_rows_value(res, 0, 2)[0] == 't';
        rc = 0;
    }
    sp_rows_free(res);
    return rc;
}

int sp_jobs_view_as(sp_db *db, const char *claims_json, const char *job_id, sp_job_view *out,
                    sp_err *err) {
    memset(out, 0, sizeof *out);
    const char *params[] = {job_id};
    sp_rows *res = sp_db_exec1_as(db, claims_json, &job_view, params, err);
    return res ? sp_jobs_view_from(res, out, err) : -1;
}

char *sp_jobs_list_json_as(sp_db *db, const char *claims_json, int limit, const char *before,
                           const char *status, sp_err *err) {
    char n[16];
    snprintf(n, sizeof n, "%d", limit);
    const char *first[] = {status, n}, *after[] = {before, status, n};
    sp_rows *res = before ? sp_db_exec1_as(db, claims_json, &job_list_after, after, err)
                           : sp_db_exec1_as(db, claims_json, &job_list, first, err);
    return res ? single_value(res, "no jobs", err) : NULL;
}

char *sp_jobs_act_as(sp_db *db, const char *claims_json, const char *job_id, sp_jobs_action action,
                     char status[16], sp_err *err) {
    const char *params[] = {job_id};
    sp_db_step steps[] = {{action == SP_JOBS_RETRY ? &job_retry : &job_cancel, params},
                          {&job_status, params}};
    sp_rows *res[2];
    if (sp_db_exec_as(db, claims_json, steps, 2, res, err) < 0) return NULL;
    snprintf(status, 16, "%s", sp_rows_count(res[1]) == 1 ? sp_rows_value(res[1], 0, 0) : "pending");
    sp_rows_free(res[1]);
    return single_value(res[0], "job not found", err);
}
