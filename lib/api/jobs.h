/*
 * jobs: the SQL of social_post_jobs as the HTTP programs see it.
 *
 * Every statement runs inside the caller's transaction (sp_db_begin_as), so
 * row-level security limits each one to the caller's own rows: a job or video
 * of someone else is simply not found. The status body is built by Postgres
 * (social_post_job_json, migration 0005), so the seed's field names and the
 * timestamp format live in one function, shared by one job and the list.
 * Retry and cancel are functions in the database (they touch deliveries,
 * which users may not).
 */
#ifndef SP_JOBS_H
#define SP_JOBS_H

#include <stdbool.h>
#include <stddef.h>

#include "api/job_request.h"
#include "core/err.h"
#include "db/db.h"

/* Creates a pending job for user_id from req, after checking that the video is
 * the caller's (else SP_ERR_NOT_FOUND) and that the effective title (req's, or
 * the video's) fits the platforms. Writes the new id into job_id.
 * With an idempotency_key (may be NULL): a job the caller already created
 * with that key is returned instead (*replayed = true) when the request is the
 * same, and SP_ERR_UNPROCESSABLE when it differs. A concurrent submit with
 * the same key fails with SP_ERR_CONFLICT; run the transaction again. */
int sp_jobs_create(sp_db *db, const char *user_id, const sp_job_request *req,
                   const char *idempotency_key, char job_id[37], bool *replayed, sp_err *err);

/* One job as its owner sees it. */
typedef struct {
    char *json;    /* the seed's status body; caller frees */
    char etag[40]; /* quoted, changes whenever the body does */
    bool final;    /* completed or failed */
} sp_job_view;

/* Reads job_id, or fails with SP_ERR_NOT_FOUND when the caller cannot see it. */
int sp_jobs_view(sp_db *db, const char *job_id, sp_job_view *out, sp_err *err);

/* Reads job_id in a transaction of its own as the caller (claims_json). On
 * failure out->json is NULL. */
int sp_jobs_view_as(sp_db *db, const char *claims_json, const char *job_id, sp_job_view *out,
                    sp_err *err);

/* The job's status word ("pending", ...) into out, inside the caller's
 * transaction; SP_ERR_NOT_FOUND when the caller cannot see the job. */
int sp_jobs_status(sp_db *db, const char *job_id, char *out, size_t len, sp_err *err);

/* The caller's jobs, newest first: {"jobs": [...], "next": cursor|null}.
 * before is a cursor from an earlier page (or NULL), status a filter (or
 * NULL). Caller frees. */
char *sp_jobs_list_json(sp_db *db, int limit, const char *before, const char *status, sp_err *err);

/* Queues the failed platforms of a finished job again; returns their names as
 * a JSON array text (caller frees). SP_ERR_CONFLICT when nothing failed or the
 * job is still running. */
char *sp_jobs_retry(sp_db *db, const char *job_id, sp_err *err);

/* Cancels the platforms of a job that have not started; names as JSON array
 * text (caller frees). SP_ERR_CONFLICT when there is nothing to cancel. */
char *sp_jobs_cancel(sp_db *db, const char *job_id, sp_err *err);

#endif
