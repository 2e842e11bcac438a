/*
 * queue: the worker's SQL. Each function is one short transaction; nothing
 * is held open while a platform is being talked to, only the lease, which the
 * worker's lease keeper renews.
 *
 * The calls made for every delivery cost one round trip each: the claim (with
 * the job's details and refresh), a checkpoint, a progress report and the
 * record of an outcome (with the history row, the refresh and the open count)
 * are each one statement in its own transaction; the claim, progress and
 * record are functions of migration 0011, whose bodies hold the statements
 * this file used to send one by one. A checkpoint commits before the
 * adapter's next platform call, as before.
 */
#include "queue/queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"

/* The claim, the job's details and its refresh in one round trip (migration
 * 0011): $3, users this worker may not claim for now (--per-user), a uuid[].
 * The last column says why the job's user may not post (migration 0015). */
static const sp_stmt claim_next = {
    "queue_claim",
    "SELECT id, job_id, platform, attempts, checkpoint, takeovers, releases, user_id, video_id,"
    " title, description, video_url, account_id, access_token, refresh_token, token_expires_at,"
    " video_owned, options, account_login, public.social_post_user_refusal(user_id::uuid)"
    " FROM public.social_post_claim($1, $2::int, $3::uuid[])",
    3};

static const sp_stmt refresh_job = {"queue_refresh_job",
                                    "SELECT public.social_post_refresh_job($1::uuid)", 1};

/* A checkpoint that moves the delivery on also forgives the lapsed leases
 * before it: takeovers count workers that died without progress, so a long
 * upload whose workers are killed now and then still ends, and one that
 * kills every worker before its next checkpoint still fails. */
static const sp_stmt save_checkpoint = {
    "queue_checkpoint",
    "UPDATE public.social_post_deliveries SET checkpoint = $3::jsonb,"
    " takeovers = CASE WHEN checkpoint IS DISTINCT FROM $3::jsonb THEN 0 ELSE takeovers END,"
    " updated_at = now()"
    " WHERE id = $1::bigint AND lease_owner = $2 AND state = 'running'",
    3};

/* confirmed/total in [0, 1] and the job refreshed, in one round trip
 * (migration 0011); total <= 0 keeps it. False when the lease is lost. */
static const sp_stmt save_progress = {
    "queue_progress", "SELECT public.social_post_progress($1::bigint, $2, $3::bigint, $4::bigint)",
    4};

/* The outcome, the history row of a final one ($10 'posted' or 'failed', NULL
 * for none; a failing insert is undone alone and its message returned), the
 * job's refresh and its open count, in one round trip (migration 0011). */
static const sp_stmt record_outcome = {
    "queue_record",
    "SELECT held, open_count, history_error FROM public.social_post_record($1::bigint, $2, $3,"
    " $4::float8, $5::int, $6::jsonb, $7::jsonb, $8, $9::bool, $10, $11::uuid, $12::uuid, $13,"
    " $14)",
    14};

/* The step ended on a platform quota (migration 0017): recorded in the same
 * transaction as the outcome, so the job's refresh shows the wait; the next
 * claim ends it. */
static const sp_stmt mark_quota = {
    "queue_mark_quota",
    "UPDATE public.social_post_deliveries SET waiting_for_quota = true"
    " WHERE id = $1::bigint AND lease_owner = $2 AND state = 'running'",
    2};

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

/* The error of a write that found the delivery no longer ours. */
static int lease_lost(sp_err *err) {
    return sp_err_set(err, SP_ERR_CONFLICT, "lease_lost",
                      "the delivery's lease was lost to another worker");
}

/* A copy of a result field, NULL for SQL NULL. */
static char *field_dup(const sp_rows *res, int col) {
    return sp_rows_is_null(res, 0, col) ? NULL : strdup(sp_rows_value(res, 0, col));
}

/* Runs the job refresh for job_id inside the open transaction. */
static int refresh(sp_db *db, const char *job_id, sp_err *err) {
    const char *params[] = {job_id};
    sp_rows *res = sp_db_exec(db, &refresh_job, params, err);
    sp_rows_free(res);
    return res ? 0 : -1;
}

/* Fills d from the claim's row: the delivery (columns 0-6), then its job,
 * video and account (7-16), the platform's options and the account's login
 * (17-18, migration 0012), and why its user may not post (19, migration 0015). */
static int fill_delivery(const sp_rows *res, sp_delivery *d, sp_err *err) {
    d->id = atoll(sp_rows_value(res, 0, 0));
    snprintf(d->job_id, sizeof d->job_id, "%s", sp_rows_value(res, 0, 1));
    if (!sp_platform_from_name(sp_rows_value(res, 0, 2), &d->post.platform))
        d->post.platform = SP_YOUTUBE;
    d->post.attempts = atoi(sp_rows_value(res, 0, 3));
    d->takeovers = atoi(sp_rows_value(res, 0, 5));
    d->releases = atoi(sp_rows_value(res, 0, 6));
    snprintf(d->user_id, sizeof d->user_id, "%s", sp_rows_value(res, 0, 7));
    snprintf(d->video_id, sizeof d->video_id, "%s", sp_rows_value(res, 0, 8));
    d->post.title = field_dup(res, 9);
    d->post.description = field_dup(res, 10);
    d->post.video_url = field_dup(res, 11);
    d->post.account_id = field_dup(res, 12);
    d->post.access_token = field_dup(res, 13);
    d->post.refresh_token = field_dup(res, 14);
    d->post.token_expires_at = atoll(sp_rows_value(res, 0, 15));
    d->video_owned = sp_rows_value(res, 0, 16)[0] == 't';
    snprintf(d->refusal, sizeof d->refusal, "%s", sp_rows_value(res, 0, 19));
    d->post.account_login = field_dup(res, 18);
    d->post.options = cJSON_Parse(sp_rows_value(res, 0, 17));
    if (!d->post.options || !cJSON_IsObject(d->post.options)) {
        cJSON_Delete(d->post.options); /* the database checks them: only SQL NULL is left */
        d->post.options = cJSON_CreateObject();
    }
    if (!d->post.options) return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    d->post.checkpoint = cJSON_Parse(sp_rows_value(res, 0, 4));
    if (!d->post.checkpoint || !cJSON_IsObject(d->post.checkpoint)) {
        cJSON_Delete(d->post.checkpoint);
        d->post.checkpoint = cJSON_CreateObject();
    }
    return d->post.checkpoint ? 1 : sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
}

int sp_queue_claim(sp_db *db, const char *owner, int lease_seconds, const char *busy_users,
                   sp_delivery *out, sp_err *err) {
    memset(out, 0, sizeof *out);
    char lease[16];
    snprintf(lease, sizeof lease, "%d", lease_seconds);
    const char *params[] = {owner, lease, busy_users ? busy_users : "{}"};
    /* one statement, its own transaction: the claim, the details, the refresh */
    sp_rows *res = sp_db_exec(db, &claim_next, params, err);
    if (!res) return -1;
    int claimed = sp_rows_count(res) == 1 ? fill_delivery(res, out, err) : 0;
    sp_rows_free(res);
    /* a claim we cannot work on (out of memory) lapses with its lease */
    if (claimed <= 0) sp_delivery_free(out);
    return claimed;
}

/* Runs an UPDATE that must touch the delivery while owner holds it. */
static int exec_owned(sp_db *db, const sp_stmt *stmt, const char *const *params, sp_err *err) {
    sp_rows *res = sp_db_exec(db, stmt, params, err);
    if (!res) return -1;
    bool held = (int)sp_rows_affected(res) == 1;
    sp_rows_free(res);
    if (!held) return lease_lost(err);
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
    sp_rows *res = sp_db_exec(db, &save_progress, params, err);
    if (!res) return -1;
    bool held = sp_rows_count(res) == 1 && sp_rows_value(res, 0, 0)[0] == 't';
    sp_rows_free(res);
    return held ? 0 : lease_lost(err);
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
        if (o->visibility[0]) cJSON_AddStringToObject(r, "visibility", o->visibility);
        if (o->thumbnail_error[0]) cJSON_AddStringToObject(r, "thumbnailError", o->thumbnail_error);
    } else {
        cJSON_AddStringToObject(r, "error", t->message);
    }
    char *text = sp_json_print(r);
    cJSON_Delete(r);
    return text;
}

/* The recorded outcome's row: the lease was still ours (else err is set),
 * the history row's fate (a failed insert is logged: scheduled_posts may be
 * the app's own table, with other columns; it never loses the outcome), and
 * whether the job has no open delivery left. */
static int read_record(const sp_rows *res, const sp_delivery *d, bool *job_finished, sp_err *err) {
    if (sp_rows_count(res) != 1 || sp_rows_value(res, 0, 0)[0] != 't') return lease_lost(err);
    if (!sp_rows_is_null(res, 0, 2))
        sp_log(SP_LOG_WARN, "scheduled_posts row not written for job %s: %s", d->job_id,
               sp_rows_value(res, 0, 2));
    *job_finished = atoi(sp_rows_value(res, 0, 1)) == 0;
    return 0;
}

/* Runs the record statement with params and reads its row. */
static int record_statement(sp_db *db, const sp_delivery *d, const char *const *params,
                            bool *job_finished, sp_err *err) {
    sp_rows *res = sp_db_exec(db, &record_outcome, params, err);
    int rc = res ? read_record(res, d, job_finished, err) : -1;
    sp_rows_free(res);
    return rc;
}

/* Marks the delivery as waiting for a quota and records the outcome, in one
 * transaction (quota waits are rare: the extra round trips cost nothing). */
static int record_quota_wait(sp_db *db, const char *owner, const sp_delivery *d,
                             const char *const *params, bool *job_finished, sp_err *err) {
    delivery_id id = id_param(d);
    const char *mark[] = {id.text, owner};
    if (sp_db_begin(db, err) < 0) return -1;
    if (exec_owned(db, &mark_quota, mark, err) < 0 ||
        record_statement(db, d, params, job_finished, err) < 0 || sp_db_commit(db, err) < 0) {
        sp_db_rollback(db);
        return -1;
    }
    return 0;
}

int sp_queue_record(sp_db *db, const char *owner, const sp_delivery *d, const sp_step_outcome *o,
                    const sp_transition *t, bool *job_finished, sp_err *err) {
    delivery_id id = id_param(d);
    char run_in[32];
    snprintf(run_in, sizeof run_in, "%.3f", t->run_in);
    char *checkpoint = sp_json_print(d->post.checkpoint);
    char *result = result_json(o, t);
    *job_finished = false;
    if (!checkpoint) {
        free(result);
        return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    }
    bool final = t->state == SP_DELIVERY_SUCCEEDED || t->state == SP_DELIVERY_FAILED;
    bool ok = t->state == SP_DELIVERY_SUCCEEDED;
    const char *params[] = {id.text,
                            owner,
                            sp_delivery_state_name(t->state),
                            run_in,
                            t->count_attempt ? "1" : "0",
                            checkpoint,
                            result,
                            t->message,
                            t->count_release ? "true" : "false",
                            final ? (ok ? "posted" : "failed") : NULL,
                            d->user_id[0] ? d->user_id : NULL,
                            d->video_id[0] ? d->video_id : NULL,
                            ok ? o->url : "",
                            ok ? o->post_id : ""};
    int rc = t->quota
                 ? record_quota_wait(db, owner, d, params, job_finished, err)
                 : record_statement(db, d, params, job_finished, err); /* its own transaction */
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
    sp_rows *res = sp_db_exec(db, &renew_leases, params, err);
    if (!res) return -1;
    int n = sp_rows_count(res);
    for (int i = 0; renewed && i < n; i++)
        renewed(sp_rows_value(res, i, 0), arg);
    sp_rows_free(res);
    return n;
}

int sp_queue_release_all(sp_db *db, const char *process, sp_err *err) {
    if (sp_db_begin(db, err) < 0) return -1;
    const char *params[] = {process};
    sp_rows *res = sp_db_exec(db, &release_all, params, err);
    if (!res) {
        sp_db_rollback(db);
        return -1;
    }
    int n = sp_rows_count(res);
    for (int i = 0; i < n; i++) {
        if (refresh(db, sp_rows_value(res, i, 0), err) < 0) {
            sp_rows_free(res);
            sp_db_rollback(db);
            return -1;
        }
    }
    sp_rows_free(res);
    return sp_db_commit(db, err) < 0 ? -1 : n;
}

double sp_queue_next_due(sp_db *db, sp_err *err) {
    sp_rows *res = sp_db_exec(db, &next_due, NULL, err);
    if (!res) return -1;
    double seconds = atof(sp_rows_value(res, 0, 0));
    sp_rows_free(res);
    return seconds < 0 ? 0 : seconds;
}
