/*
 * jobs: statements on social_post_jobs and the video check before a submit.
 * The worker's view of jobs (deliveries, results) is in queue.c, not here.
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

static const sp_stmt job_insert = {
    "jobs_insert",
    "INSERT INTO social_post_jobs (user_id, video_id, platforms, title, description,"
    " idempotency_key, request_hash, scheduled_at, callback_url)"
    " VALUES ($1::uuid, $2::uuid, $3::jsonb, $4, $5, $6, $7, to_timestamp($8::float8), $9)"
    " RETURNING id::text",
    9};

static const sp_stmt job_by_key = {"jobs_by_idempotency_key",
                                   "SELECT id::text, request_hash FROM social_post_jobs"
                                   " WHERE user_id = $1::uuid AND idempotency_key = $2",
                                   2};

static const sp_stmt job_status = {"jobs_status",
                                   "SELECT status FROM social_post_jobs WHERE id = $1::uuid", 1};

static const sp_stmt job_view = {
    "jobs_view",
    "WITH v AS (SELECT social_post_job_json(j)::text AS body, j.status"
    "           FROM social_post_jobs j WHERE j.id = $1::uuid)"
    " SELECT body, md5(body), status IN ('completed', 'failed') FROM v",
    1};

/* A page of the caller's jobs; the cursor is "<created_at with microseconds>,<id>". */
static const sp_stmt job_list = {
    "jobs_list",
    "WITH page AS ("
    "  SELECT j.id, j.created_at, social_post_job_json(j) AS body FROM social_post_jobs j"
    "  WHERE ($1::text IS NULL OR (j.created_at, j.id) <"
    "         (split_part($1, ',', 1)::timestamptz, split_part($1, ',', 2)::uuid))"
    "    AND ($2::text IS NULL OR j.status = $2)"
    "  ORDER BY j.created_at DESC, j.id DESC LIMIT $3::int)"
    " SELECT json_build_object('jobs', coalesce(json_agg(body ORDER BY created_at DESC, id DESC),"
    "                                           '[]'::json),"
    "   'next', CASE WHEN count(*) = $3::int THEN"
    "     (SELECT to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    "             || ',' || p.id FROM page p ORDER BY p.created_at, p.id LIMIT 1) END)::text"
    " FROM page",
    3};

static const sp_stmt job_retry = {"jobs_retry",
                                  "SELECT array_to_json(social_post_retry_job($1::uuid))::text", 1};

static const sp_stmt job_cancel = {
    "jobs_cancel", "SELECT array_to_json(social_post_cancel_job($1::uuid))::text", 1};

/* Runs a one-value statement; returns a copy of the value (caller frees). */
static char *single_value(sp_db *db, const sp_stmt *stmt, const char *const *params,
                          const char *missing, sp_err *err) {
    PGresult *res = sp_db_exec(db, stmt, params, err);
    if (!res) return NULL;
    char *value = NULL;
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
        sp_err_set(err, SP_ERR_NOT_FOUND, "job_not_found", "%s", missing);
    else if (!(value = strdup(PQgetvalue(res, 0, 0))))
        sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    PQclear(res);
    return value;
}

/* SHA-256 (hex) of what the request asks for, to tell a repeated submit
 * from a different one under the same Idempotency-Key. */
static int request_hash(const sp_job_request *req, char out[65], sp_err *err) {
    cJSON *c = cJSON_CreateObject();
    char *platforms = sp_job_request_platforms_json(req);
    cJSON_AddStringToObject(c, "videoId", req->video_id);
    cJSON_AddRawToObject(c, "platforms", platforms ? platforms : "null");
    cJSON_AddItemToObject(c, "title",
                          req->title ? cJSON_CreateString(req->title) : cJSON_CreateNull());
    cJSON_AddItemToObject(c, "description",
                          req->description ? cJSON_CreateString(req->description)
                                           : cJSON_CreateNull());
    cJSON_AddNumberToObject(c, "scheduledAt", req->has_scheduled_at ? req->scheduled_at : -1);
    /* only when sent, so keys used before callbacks existed still match */
    if (req->callback_url) cJSON_AddStringToObject(c, "callbackUrl", req->callback_url);
    char *text = sp_json_print(c);
    unsigned char md[32];
    unsigned int n = 0;
    int rc =
        text && platforms && EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL) ? 0 : -1;
    for (unsigned i = 0; rc == 0 && i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    free(text);
    free(platforms);
    cJSON_Delete(c);
    return rc == 0 ? 0 : sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
}

/* Looks up the caller's video title into *title (caller frees). */
static int fetch_video_title(sp_db *db, const char *user_id, const char *video_id, char **title,
                             sp_err *err) {
    const char *params[] = {video_id, user_id};
    *title = single_value(db, &video_title, params, "video not found", err);
    if (!*title && err->kind == SP_ERR_NOT_FOUND)
        sp_err_set(err, SP_ERR_NOT_FOUND, "video_not_found", "video not found");
    return *title ? 0 : -1;
}

/* The job created earlier with key: 1 found (same request), 0 none, -1 error
 * (SP_ERR_UNPROCESSABLE when the key was used for a different request). */
static int find_by_key(sp_db *db, const char *user_id, const char *key, const char *hash,
                       char job_id[37], sp_err *err) {
    const char *params[] = {user_id, key};
    PGresult *res = sp_db_exec(db, &job_by_key, params, err);
    if (!res) return -1;
    int rc = 0;
    if (PQntuples(res) == 1) {
        if (strcmp(PQgetvalue(res, 0, 1), hash) != 0) {
            rc = sp_err_set(err, SP_ERR_UNPROCESSABLE, "idempotency_key_reused",
                            "this Idempotency-Key was used for a different request");
        } else {
            snprintf(job_id, 37, "%s", PQgetvalue(res, 0, 0));
            rc = 1;
        }
    }
    PQclear(res);
    return rc;
}

/* Inserts the job; the video's title stands in for a missing one. */
static int insert_job(sp_db *db, const char *user_id, const sp_job_request *req, const char *key,
                      const char *hash, char job_id[37], sp_err *err) {
    char *video_title_text = NULL, *platforms = NULL, *id = NULL;
    int rc = -1;
    if (fetch_video_title(db, user_id, req->video_id, &video_title_text, err) < 0) goto done;
    const char *title = req->title ? req->title : (*video_title_text ? video_title_text : NULL);
    if (sp_job_request_check_text(req, title, err) < 0) goto done;
    platforms = sp_job_request_platforms_json(req);
    if (!platforms) {
        sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
        goto done;
    }
    char when[32];
    snprintf(when, sizeof when, "%.3f", req->scheduled_at);
    const char *params[] = {
        user_id,          req->video_id, platforms,         title,
        req->description, key,           key ? hash : NULL, req->has_scheduled_at ? when : NULL,
        req->callback_url};
    id = single_value(db, &job_insert, params, "job not created", err);
    if (!id) goto done;
    snprintf(job_id, 37, "%s", id);
    rc = 0;
done:
    free(id);
    free(platforms);
    free(video_title_text);
    return rc;
}

int sp_jobs_create(sp_db *db, const char *user_id, const sp_job_request *req,
                   const char *idempotency_key, char job_id[37], bool *replayed, sp_err *err) {
    char hash[65] = "";
    *replayed = false;
    if (idempotency_key) {
        if (request_hash(req, hash, err) < 0) return -1;
        int found = find_by_key(db, user_id, idempotency_key, hash, job_id, err);
        if (found != 0) {
            *replayed = found == 1;
            return found == 1 ? 0 : -1;
        }
    }
    return insert_job(db, user_id, req, idempotency_key, hash, job_id, err);
}

int sp_jobs_view(sp_db *db, const char *job_id, sp_job_view *out, sp_err *err) {
    memset(out, 0, sizeof *out);
    const char *params[] = {job_id};
    PGresult *res = sp_db_exec(db, &job_view, params, err);
    if (!res) return -1;
    int rc = -1;
    if (PQntuples(res) != 1) {
        sp_err_set(err, SP_ERR_NOT_FOUND, "job_not_found", "job not found");
    } else if (!(out->json = strdup(PQgetvalue(res, 0, 0)))) {
        sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    } else {
        snprintf(out->etag, sizeof out->etag, "\"%s\"", PQgetvalue(res, 0, 1));
        out->final = PQgetvalue(res, 0, 2)[0] == 't';
        rc = 0;
    }
    PQclear(res);
    return rc;
}

int sp_jobs_view_as(sp_db *db, const char *claims_json, const char *job_id, sp_job_view *out,
                    sp_err *err) {
    memset(out, 0, sizeof *out);
    if (sp_db_begin_as(db, claims_json, err) < 0) return -1;
    if (sp_jobs_view(db, job_id, out, err) < 0 || sp_db_commit(db, err) < 0) {
        free(out->json);
        out->json = NULL;
        sp_db_rollback(db);
        return -1;
    }
    return 0;
}

int sp_jobs_status(sp_db *db, const char *job_id, char *out, size_t len, sp_err *err) {
    const char *params[] = {job_id};
    char *status = single_value(db, &job_status, params, "job not found", err);
    if (!status) return -1;
    snprintf(out, len, "%s", status);
    free(status);
    return 0;
}

char *sp_jobs_list_json(sp_db *db, int limit, const char *before, const char *status, sp_err *err) {
    char n[16];
    snprintf(n, sizeof n, "%d", limit);
    const char *params[] = {before, status, n};
    return single_value(db, &job_list, params, "no jobs", err);
}

char *sp_jobs_retry(sp_db *db, const char *job_id, sp_err *err) {
    const char *params[] = {job_id};
    return single_value(db, &job_retry, params, "job not found", err);
}

char *sp_jobs_cancel(sp_db *db, const char *job_id, sp_err *err) {
    const char *params[] = {job_id};
    return single_value(db, &job_cancel, params, "job not found", err);
}
