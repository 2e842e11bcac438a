/*
 * jobs: the SQL of social_post_jobs as the HTTP programs see it.
 *
 * Every statement runs inside the caller's transaction (sp_db_exec_as), so
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

/* What a submit made or found. */
typedef struct {
    char job_id[37];
    char status[16]; /* "pending" for a new job */
    bool replayed;   /* found by its Idempotency-Key, not made now */
} sp_jobs_created;

/* Creates a pending job for user_id from req (its options too) as the caller
 * (claims_json), after checking that the video is the caller's (else
 * SP_ERR_NOT_FOUND) and that the effective title (req's, or the video's; a
 * platform's own from its options) fits the platforms.
 * With an idempotency_key (may be NULL): a job the caller already created
 * with that key is returned instead (out->replayed) when the request is the
 * same, and SP_ERR_UNPROCESSABLE when it differs. */
int sp_jobs_create_as(sp_db *db, const char *claims_json, const char *user_id,
                      const sp_job_request *req, const char *idempotency_key, sp_jobs_created *out,
                      sp_err *err);

/* One job as its owner sees it. */
typedef struct {
    char *json;    /* the seed's status body; caller frees */
    char etag[40]; /* quoted, changes whenever the body does */
    bool final;    /* completed or failed */
} sp_job_view;

/* Reads job_id as the caller (claims_json), or fails with SP_ERR_NOT_FOUND
 * when the caller cannot see it. On failure out->json is NULL. */
int sp_jobs_view_as(sp_db *db, const char *claims_json, const char *job_id, sp_job_view *out,
                    sp_err *err);

/* The view's statement for a pipeline of many reads (params: the job id,
 * borrowed until the result is read), and the reading of its result (which
 * it clears). */
sp_db_step sp_jobs_view_step(const char *const params[1]);
int sp_jobs_view_from(sp_rows *res, sp_job_view *out, sp_err *err);

/* The caller's jobs, newest first: {"jobs": [...], "next": cursor|null}.
 * before is a cursor from an earlier page (or NULL), status a filter (or
 * NULL). Caller frees. */
char *sp_jobs_list_json_as(sp_db *db, const char *claims_json, int limit, const char *before,
                           const char *status, sp_err *err);

typedef enum { SP_JOBS_RETRY, SP_JOBS_CANCEL } sp_jobs_action;

/* Retry: queues the failed platforms of a finished job again (SP_ERR_CONFLICT
 * when nothing failed or the job still runs). Cancel: the platforms that have
 * not started (SP_ERR_CONFLICT when none). Returns their names as a JSON
 * array text (caller frees) and the job's status after it in status. */
char *sp_jobs_act_as(sp_db *db, const char *claims_json, const char *job_id, sp_jobs_action action,
                     char status[16], sp_err *err);

#endif
