/*
 * jobs: statements on social_post_jobs and the video check before a submit.
 * The worker's view of jobs (deliveries, results) is in queue.c, not here.
 */
#include "jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The caller's own video: RLS may not exist on a pre-existing product_videos,
 * so ownership is also checked explicitly. */
static const sp_stmt video_title = {
    "jobs_video_title",
    "SELECT coalesce(title, '') FROM product_videos WHERE id = $1::uuid AND user_id = $2::uuid", 2};

static const sp_stmt job_insert = {
    "jobs_insert",
    "INSERT INTO social_post_jobs (user_id, video_id, platforms, title, description)"
    " VALUES ($1::uuid, $2::uuid, $3::jsonb, $4, $5) RETURNING id::text",
    5};

#define SP_ISO_MS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static const sp_stmt job_status = {
    "jobs_status",
    "SELECT json_build_object("
    "'jobId', id, 'status', status, 'videoId', video_id, 'platforms', platforms,"
    " 'title', title, 'description', description, 'results', results, 'error', error,"
    " 'createdAt', " SP_ISO_MS("created_at") ", 'updatedAt', " SP_ISO_MS(
        "updated_at") ")::text"
                      " FROM social_post_jobs WHERE id = $1::uuid",
    1};

/* Looks up the caller's video title into *title (caller frees). */
static int fetch_video_title(sp_db *db, const char *user_id, const char *video_id, char **title,
                             sp_err *err) {
    const char *params[] = {video_id, user_id};
    PGresult *res = sp_db_exec(db, &video_title, params, err);
    if (!res) return -1;
    int rc = -1;
    if (PQntuples(res) != 1) {
        sp_err_set(err, SP_ERR_NOT_FOUND, "video_not_found", "video not found");
        goto done;
    }
    *title = strdup(PQgetvalue(res, 0, 0));
    if (!*title) {
        sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
        goto done;
    }
    rc = 0;
done:
    PQclear(res);
    return rc;
}

int sp_jobs_create(sp_db *db, const char *user_id, const sp_job_request *req, char job_id[37],
                   sp_err *err) {
    char *video_title_text = NULL, *platforms = NULL;
    PGresult *res = NULL;
    int rc = -1;
    if (fetch_video_title(db, user_id, req->video_id, &video_title_text, err) < 0) goto done;
    const char *title = req->title ? req->title : (*video_title_text ? video_title_text : NULL);
    if (sp_job_request_check_text(req, title, err) < 0) goto done;
    platforms = sp_job_request_platforms_json(req);
    if (!platforms) {
        sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
        goto done;
    }
    const char *params[] = {user_id, req->video_id, platforms, title, req->description};
    res = sp_db_exec(db, &job_insert, params, err);
    if (!res) goto done;
    snprintf(job_id, 37, "%s", PQgetvalue(res, 0, 0));
    rc = 0;
done:
    PQclear(res);
    free(platforms);
    free(video_title_text);
    return rc;
}

char *sp_jobs_status_json(sp_db *db, const char *job_id, sp_err *err) {
    const char *params[] = {job_id};
    PGresult *res = sp_db_exec(db, &job_status, params, err);
    if (!res) return NULL;
    char *json = NULL;
    if (PQntuples(res) != 1)
        sp_err_set(err, SP_ERR_NOT_FOUND, "job_not_found", "job not found");
    else if (!(json = strdup(PQgetvalue(res, 0, 0))))
        sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    PQclear(res);
    return json;
}
