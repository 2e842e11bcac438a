/*
 * queue: the worker's SQL. Each function is one short transaction; nothing
 * is held open while a platform is being talked to, only the lease, which the
 * worker's lease keeper renews.
 */
#include "queue/queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"

/* $3: users this worker may not claim for now (--per-user), a uuid[]. */
static const sp_stmt claim_next = {
    "queue_claim",
    "WITH next AS ("
    " SELECT d.id FROM public.social_post_deliveries d"
    " WHERE ((d.state = 'queued' AND d.run_at <= now())"
    "    OR (d.state = 'running' AND d.lease_expires_at < now()))"
    "   AND NOT EXISTS (SELECT 1 FROM public.social_post_jobs j"
    "                   WHERE j.id = d.job_id AND j.user_id = ANY($3::uuid[]))"
    " ORDER BY d.run_at, d.id LIMIT 1 FOR UPDATE OF d SKIP LOCKED)"
    " UPDATE public.social_post_deliveries d"
    " SET state = 'running', lease_owner = $1,"
    "     lease_expires_at = now() + make_interval(secs => $2::int), updated_at = now(),"
    "     takeovers = d.takeovers + CASE WHEN d.state = 'running' THEN 1 ELSE 0 END"
    " FROM next WHERE d.id = next.id"
    " RETURNING d.id, d.job_id::text, d.platform, d.attempts, d.checkpoint::text,"
    "           d.takeovers, d.releases",
    3};

/* The job, its video when the job's user owns it (users write jobs directly,
 * so the worker checks again what the API checked), and the account. */
static const sp_stmt load_details = {
    "queue_details",
    "SELECT j.user_id::text, j.video_id::text, coalesce(nullif(j.title, ''), v.title, ''),"
    " coalesce(j.description, ''), v.video_url, a.account_id, a.access_token,"
    " a.refresh_token, coalesce(extract(epoch FROM a.token_expires_at)::bigint, 0),"
    " v.id IS NOT NULL"
    " FROM public.social_post_jobs j"
    " LEFT JOIN public.product_videos v ON v.id = j.video_id AND v.user_id = j.user_id"
    /* one account even where the app's table allows several per platform */
    " LEFT JOIN LATERAL (SELECT * FROM public.social_accounts s"
    "   WHERE s.user_id = j.user_id AND s.platform = $2"
    "   ORDER BY s.token_expires_at DESC NULLS LAST LIMIT 1) a ON true"
    " WHERE j.id = $1::uuid",
    2};

static const sp_stmt refresh_job = {"queue_refresh_job",
                                    "SELECT public.social_post_refresh_job($1::uuid)", 1};

static const sp_stmt save_checkpoint = {
    "queue_checkpoint",
    "UPDATE public.social_post_deliveries SET checkpoint = $3::jsonb, updated_at = now()"
    " WHERE id = $1::bigint AND lease_owner = $2 AND state = 'running'",
    3};

/* confirmed/total in [0, 1], rounded for people; total <= 0 keeps it. */
static const sp_stmt save_progress = {
    "queue_progress",
    "UPDATE public.social_post_deliveries"
    " SET progress = CASE WHEN $4::bigint > 0"
    "     THEN round(least(greatest($3::numeric / $4::bigint, 0), 1), 4)::float8"
    "     ELSE progress END, updated_at = now()"
    " WHERE id = $1::bigint AND lease_owner = $2 AND state = 'running'",
    4};

static const sp_stmt record_outcome = {
    "queue_record",
    "UPDATE public.social_post_deliveries"
    " SET state = $3, run_at = now() + make_interval(secs => $4::float8),"
    "     attempts = attempts + $5::int, checkpoint = $6::jsonb, result = $7::jsonb,"
    "     last_error = nullif($8, ''), lease_owner = NULL, lease_expires_at = NULL,"
    "     releases = CASE WHEN $9::bool THEN releases + 1 ELSE 0 END, updated_at = now()"
    " WHERE id = $1::bigint AND lease_owner = $2 AND state = 'running'",
    9};

static const sp_stmt open_count = {"queue_open_count",
                                   "SELECT count(*) FROM public.social_post_deliveries"
                                   " WHERE job_id = $1::uuid AND state IN ('queued', 'running')",
                                   1};

static const sp_stmt history_insert = {
    "queue_history",
    "INSERT INTO public.scheduled_posts"
    " (user_id, video_id, job_id, platform, status, post_url, post_id, error, posted_at)"
    " VALUES ($1::uuid, $2::uuid, $3::uuid, $4, $5, nullif($6, ''), nullif($7, ''),"
    "         nullif($8, ''), CASE WHEN $5 = 'posted' THEN now() END)",
    8};

static const sp_stmt renew_leases = {
    "queue_renew",
    "UPDATE public.social_post_deliveries"
    " SET lease_expires_at = now() + make_interval(secs => $2::int)"
    " WHERE lease_owner = ANY($1::text[]) AND state = 'running'"
    " RETURNING lease_owner",
    2};

/* Every lease of one process: the owners are "<process>:<claim>". */
static const sp_stmt release_all = {
    "queue_release_all",
    "UPDATE public.social_post_deliveries"
    " SET state = 'queued', run_at = now(), lease_owner = NULL, lease_expires_at = NULL,"
    "     releases = releases + 1, updated_at = now()"
    " WHERE left(lease_owner, length($1) + 1) = $1 || ':' AND state = 'running'"
    " RETURNING job_id::text",
    1};

/* An outcome that could not be recorded still counts: $4 is the attempt
 * limit, $5 what went wrong (our own words, always storable). */
static const sp_stmt abandon = {
    "queue_abandon",
    "UPDATE public.social_post_deliveries"
    " SET state = CASE WHEN attempts + 1 >= $4::int THEN 'failed' ELSE 'queued' END,"
    "     attempts = attempts + 1,"
    "     result = CASE WHEN attempts + 1 >= $4::int"
    "                   THEN jsonb_build_object('success', false, 'error', $5::text) END,"
    "     last_error = $5, run_at = now() + make_interval(secs => $3::int),"
    "     lease_owner = NULL, lease_expires_at = NULL, updated_at = now()"
    " WHERE id = $1::bigint AND lease_owner = $2 AND state = 'running'",
    5};

static const sp_stmt next_due = {
    "queue_next_due",
    "SELECT coalesce(extract(epoch FROM least("
    " (SELECT min(run_at) FROM public.social_post_deliveries WHERE state = 'queued'),"
    " (SELECT min(lease_expires_at) FROM public.social_post_deliveries"
    "  WHERE state = 'running')) - now()), 1e9)",
    0};

/* The delivery's id as a statement parameter. */
typedef struct {
    char text[24];
} delivery_id;

static delivery_id id_param(const sp_delivery *d) {
    delivery_id id;
    snprintf(id.text, sizeof id.text, "%lld", d->id);
    return id;
}

/* A copy of a result field, NULL for SQL NULL. */
static char *field_dup(const PGresult *res, int col) {
    return PQgetisnull(res, 0, col) ? NULL : strdup(PQgetvalue(res, 0, col));
}

/* Fills the job, video and account parts of d. */
static int load_delivery_details(sp_db *db, sp_delivery *d, sp_err *err) {
    const char *params[] = {d->job_id, sp_platform_name(d->post.platform)};
    PGresult *res = sp_db_exec(db, &load_details, params, err);
    if (!res) return -1;
    int rc = -1;
    if (PQntuples(res) != 1) {
        sp_err_set(err, SP_ERR_NOT_FOUND, "job_not_found", "the delivery's job is gone");
        goto done;
    }
    snprintf(d->user_id, sizeof d->user_id, "%s", PQgetvalue(res, 0, 0));
    snprintf(d->video_id, sizeof d->video_id, "%s", PQgetvalue(res, 0, 1));
    d->post.title = field_dup(res, 2);
    d->post.description = field_dup(res, 3);
    d->post.video_url = field_dup(res, 4);
    d->post.account_id = field_dup(res, 5);
    d->post.access_token = field_dup(res, 6);
    d->post.refresh_token = field_dup(res, 7);
    d->post.token_expires_at = atoll(PQgetvalue(res, 0, 8));
    d->video_owned = PQgetvalue(res, 0, 9)[0] == 't';
    rc = 0;
done:
    PQclear(res);
    return rc;
}

/* Runs the job refresh for job_id inside the open transaction. */
static int refresh(sp_db *db, const char *job_id, sp_err *err) {
    const char *params[] = {job_id};
    PGresult *res = sp_db_exec(db, &refresh_job, params, err);
    PQclear(res);
    return res ? 0 : -1;
}

/* Claims a row and fills d's queue fields; 1 claimed, 0 none, -1 error. */
static int claim_row(sp_db *db, const char *owner, int lease_seconds, const char *busy_users,
                     sp_delivery *d, sp_err *err) {
    char lease[16];
    snprintf(lease, sizeof lease, "%d", lease_seconds);
    const char *params[] = {owner, lease, busy_users ? busy_users : "{}"};
    PGresult *res = sp_db_exec(db, &claim_next, params, err);
    if (!res) return -1;
    int rc = 0;
    if (PQntuples(res) == 1) {
        d->id = atoll(PQgetvalue(res, 0, 0));
        snprintf(d->job_id, sizeof d->job_id, "%s", PQgetvalue(res, 0, 1));
        if (!sp_platform_from_name(PQgetvalue(res, 0, 2), &d->post.platform))
            d->post.platform = SP_YOUTUBE;
        d->post.attempts = atoi(PQgetvalue(res, 0, 3));
        d->takeovers = atoi(PQgetvalue(res, 0, 5));
        d->releases = atoi(PQgetvalue(res, 0, 6));
        d->post.checkpoint = cJSON_Parse(PQgetvalue(res, 0, 4));
        if (!d->post.checkpoint || !cJSON_IsObject(d->post.checkpoint)) {
            cJSON_Delete(d->post.checkpoint);
            d->post.checkpoint = cJSON_CreateObject();
        }
        rc = d->post.checkpoint ? 1 : sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    }
    PQclear(res);
    return rc;
}

int sp_queue_claim(sp_db *db, const char *owner, int lease_seconds, const char *busy_users,
                   sp_delivery *out, sp_err *err) {
    memset(out, 0, sizeof *out);
    if (sp_db_begin(db, err) < 0) return -1;
    int claimed = claim_row(db, owner, lease_seconds, busy_users, out, err);
    if (claimed <= 0) goto done;
    if (load_delivery_details(db, out, err) < 0 || refresh(db, out->job_id, err) < 0) {
        claimed = -1;
        goto done;
    }
    if (sp_db_commit(db, err) < 0) claimed = -1;
done:
    if (claimed <= 0) {
        sp_db_rollback(db);
        sp_delivery_free(out);
    }
    return claimed;
}

/* Runs an UPDATE that must touch the delivery while owner holds it. */
static int exec_owned(sp_db *db, const sp_stmt *stmt, const char *const *params, sp_err *err) {
    PGresult *res = sp_db_exec(db, stmt, params, err);
    if (!res) return -1;
    bool held = atoi(PQcmdTuples(res)) == 1;
    PQclear(res);
    if (!held)
        return sp_err_set(err, SP_ERR_CONFLICT, "lease_lost",
                          "the delivery's lease was lost to another worker");
    return 0;
}

int sp_queue_checkpoint(sp_db *db, const char *owner, const sp_delivery *d, sp_err *err) {
    delivery_id id = id_param(d);
    char *checkpoint = sp_json_print(d->post.checkpoint);
    if (!checkpoint) return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    const char *params[] = {id.text, owner, checkpoint};
    int rc = exec_owned(db, &save_checkpoint, params, err);
    free(checkpoint);
    return rc;
}

int sp_queue_progress(sp_db *db, const char *owner, const sp_delivery *d, long long confirmed,
                      long long total, sp_err *err) {
    delivery_id id = id_param(d);
    char done[24], size[24];
    snprintf(done, sizeof done, "%lld", confirmed);
    snprintf(size, sizeof size, "%lld", total);
    const char *params[] = {id.text, owner, done, size};
    if (sp_db_begin(db, err) < 0) return -1;
    if (exec_owned(db, &save_progress, params, err) < 0 || refresh(db, d->job_id, err) < 0 ||
        sp_db_commit(db, err) < 0) {
        sp_db_rollback(db);
        return -1;
    }
    return 0;
}

/* The result a final state shows under the seed's keys; NULL while open.
 * Caller frees. */
static char *result_json(const sp_step_outcome *o, const sp_transition *t) {
    if (t->state != SP_DELIVERY_SUCCEEDED && t->state != SP_DELIVERY_FAILED) return NULL;
    cJSON *r = cJSON_CreateObject();
    bool ok = t->state == SP_DELIVERY_SUCCEEDED;
    cJSON_AddBoolToObject(r, "success", ok);
    if (ok) {
        cJSON_AddStringToObject(r, "url", o->url);
        cJSON_AddStringToObject(r, "postId", o->post_id);
    } else {
        cJSON_AddStringToObject(r, "error", t->message);
    }
    char *text = sp_json_print(r);
    cJSON_Delete(r);
    return text;
}

/* Adds the scheduled_posts row of a final result. The table may be the app's
 * own, with other columns: a failure is logged and undone with a savepoint,
 * never allowed to lose the delivery's result. */
static void add_history(sp_db *db, const sp_delivery *d, const sp_step_outcome *o,
                        const sp_transition *t) {
    sp_err err;
    bool ok = t->state == SP_DELIVERY_SUCCEEDED;
    const char *params[] = {d->user_id,
                            d->video_id,
                            d->job_id,
                            sp_platform_name(d->post.platform),
                            ok ? "posted" : "failed",
                            ok ? o->url : "",
                            ok ? o->post_id : "",
                            ok ? "" : t->message};
    if (sp_db_simple(db, "SAVEPOINT history", &err) < 0) return;
    PGresult *res = sp_db_exec(db, &history_insert, params, &err);
    if (res) {
        PQclear(res);
        sp_db_simple(db, "RELEASE SAVEPOINT history", &err);
        return;
    }
    sp_log(SP_LOG_WARN, "scheduled_posts row not written for job %s: %s", d->job_id, err.msg);
    sp_db_simple(db, "ROLLBACK TO SAVEPOINT history", &err);
}

/* Counts the job's deliveries still queued or running. */
static int count_open(sp_db *db, const char *job_id, sp_err *err) {
    const char *params[] = {job_id};
    PGresult *res = sp_db_exec(db, &open_count, params, err);
    if (!res) return -1;
    int n = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return n;
}

int sp_queue_record(sp_db *db, const char *owner, const sp_delivery *d, const sp_step_outcome *o,
                    const sp_transition *t, bool *job_finished, sp_err *err) {
    delivery_id id = id_param(d);
    char run_in[32];
    snprintf(run_in, sizeof run_in, "%.3f", t->run_in);
    char *checkpoint = sp_json_print(d->post.checkpoint);
    char *result = result_json(o, t);
    int rc = -1;
    *job_finished = false;
    if (!checkpoint) {
        sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
        goto done;
    }
    const char *params[] = {id.text,
                            owner,
                            sp_delivery_state_name(t->state),
                            run_in,
                            t->count_attempt ? "1" : "0",
                            checkpoint,
                            result,
                            t->message,
                            t->count_release ? "true" : "false"};
    if (sp_db_begin(db, err) < 0) goto done;
    if (exec_owned(db, &record_outcome, params, err) < 0) goto done;
    if (t->state == SP_DELIVERY_SUCCEEDED || t->state == SP_DELIVERY_FAILED)
        add_history(db, d, o, t);
    if (refresh(db, d->job_id, err) < 0) goto done;
    int open = count_open(db, d->job_id, err);
    if (open < 0 || sp_db_commit(db, err) < 0) goto done;
    *job_finished = open == 0;
    rc = 0;
done:
    if (rc < 0) sp_db_rollback(db);
    free(checkpoint);
    free(result);
    return rc;
}

int sp_queue_abandon(sp_db *db, const char *owner, const sp_delivery *d, int delay_seconds,
                     int max_attempts, const char *why, sp_err *err) {
    delivery_id id = id_param(d);
    char delay[16], limit[16];
    snprintf(delay, sizeof delay, "%d", delay_seconds);
    snprintf(limit, sizeof limit, "%d", max_attempts);
    const char *params[] = {id.text, owner, delay, limit, why};
    if (sp_db_begin(db, err) < 0) return -1;
    if (exec_owned(db, &abandon, params, err) < 0 || refresh(db, d->job_id, err) < 0 ||
        sp_db_commit(db, err) < 0) {
        sp_db_rollback(db);
        return -1;
    }
    return 0;
}

int sp_queue_renew(sp_db *db, const char *owners, int lease_seconds,
                   bool (*renewed)(const char *owner, void *arg), void *arg, sp_err *err) {
    char lease[16];
    snprintf(lease, sizeof lease, "%d", lease_seconds);
    const char *params[] = {owners, lease};
    PGresult *res = sp_db_exec(db, &renew_leases, params, err);
    if (!res) return -1;
    int n = PQntuples(res);
    for (int i = 0; renewed && i < n; i++)
        renewed(PQgetvalue(res, i, 0), arg);
    PQclear(res);
    return n;
}

int sp_queue_release_all(sp_db *db, const char *process, sp_err *err) {
    if (sp_db_begin(db, err) < 0) return -1;
    const char *params[] = {process};
    PGresult *res = sp_db_exec(db, &release_all, params, err);
    if (!res) {
        sp_db_rollback(db);
        return -1;
    }
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        if (refresh(db, PQgetvalue(res, i, 0), err) < 0) {
            PQclear(res);
            sp_db_rollback(db);
            return -1;
        }
    }
    PQclear(res);
    return sp_db_commit(db, err) < 0 ? -1 : n;
}

double sp_queue_next_due(sp_db *db, sp_err *err) {
    PGresult *res = sp_db_exec(db, &next_due, NULL, err);
    if (!res) return -1;
    double seconds = atof(PQgetvalue(res, 0, 0));
    PQclear(res);
    return seconds < 0 ? 0 : seconds;
}
