/*
 * jobs: the SQL of social_post_jobs as the HTTP programs see it.
 *
 * Every statement runs inside the caller's transaction (sp_db_begin_as), so
 * row-level security limits each one to the caller's own rows: a job or video
 * of someone else is simply not found. The status body is built by Postgres
 * (json_build_object), so the seed's field names and the timestamp format live
 * in one statement.
 */
#ifndef SP_JOBS_H
#define SP_JOBS_H

#include "db.h"
#include "err.h"
#include "job_request.h"

/* Creates a pending job for user_id from req, after checking that the video is
 * the caller's (else SP_ERR_NOT_FOUND) and that the effective title (req's, or
 * the video's) fits the platforms. Writes the new id into job_id. */
int sp_jobs_create(sp_db *db, const char *user_id, const sp_job_request *req, char job_id[37],
                   sp_err *err);

/* The status body of job_id (JSON text, the seed's fields), or NULL with
 * SP_ERR_NOT_FOUND when the caller cannot see it. Caller frees. */
char *sp_jobs_status_json(sp_db *db, const char *job_id, sp_err *err);

#endif
