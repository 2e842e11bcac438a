/*
 * outbox: the webhook events' SQL. Each function is one statement; nothing
 * is held open while a receiver is being called, only the lease.
 *
 * A receiver is its URL's origin, lowercased: the scheme and authority, as
 * sp_receiver_of (webhooks/receivers.c) cuts them, which RECEIVER computes
 * the same way in SQL, so the claim can pass over the receivers a sender
 * names as busy (a JSON array of strings).
 */
#include "queue/outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECEIVER "lower(substring(url FROM '^[A-Za-z]+://[^/?#]*'))"
#define NOT_BUSY(param)                                                                            \
    RECEIVER " <> ALL (ARRAY(SELECT jsonb_array_elements_text(" param "::jsonb)))"

/* $3: the receivers (a JSON array) whose events this sender must pass over. */
static const sp_stmt claim_next = {
    "outbox_claim",
    "WITH next AS ("
    " SELECT id FROM public.social_post_webhooks"
    " WHERE ((state = 'pending' AND run_at <= now())"
    "    OR (state = 'sending' AND lease_expires_at < now()))"
    "   AND " NOT_BUSY(
        "$3") " ORDER BY run_at, created_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
              " UPDATE public.social_post_webhooks w"
              " SET state = 'sending', lease_owner = $1,"
              "     lease_expires_at = now() + make_interval(secs => $2::int), updated_at = now()"
              " FROM next WHERE w.id = next.id"
              " RETURNING w.id, w.job_id::text, w.url, w.body, w.attempts,"
              "           extract(epoch FROM now() - w.created_at)::float8",
    3};

/* done: delivered or failed; else pending again after $5 seconds. */
static const sp_stmt record_attempt = {
    "outbox_record",
    "UPDATE public.social_post_webhooks"
    " SET state = CASE WHEN NOT $3::bool THEN 'pending'"
    "                  WHEN $4::bool THEN 'failed' ELSE 'delivered' END,"
    "     attempts = attempts + 1, run_at = now() + make_interval(secs => $5::float8),"
    "     last_error = $6, lease_owner = NULL, lease_expires_at = NULL, updated_at = now(),"
    "     delivered_at = CASE WHEN $3::bool AND NOT $4::bool THEN now() END"
    " WHERE id = $1 AND lease_owner = $2 AND state = 'sending'",
    6};

/* $1: receivers to leave out, as in the claim. */
static const sp_stmt next_due = {
    "outbox_next_due",
    "SELECT coalesce(extract(epoch FROM least("
    " (SELECT min(run_at) FROM public.social_post_webhooks"
    "  WHERE state = 'pending' AND " NOT_BUSY(
        "$1") "),"
              " (SELECT min(lease_expires_at) FROM public.social_post_webhooks"
              "  WHERE state = 'sending' AND " NOT_BUSY("$1") ")) - now()), 1e9)",
    1};

/* Events nobody sent within $1 seconds of their creation (no worker has the
 * signing secret) end 'expired' with $2 as their last_error. */
static const sp_stmt expire_unsent = {
    "outbox_expire",
    "UPDATE public.social_post_webhooks"
    " SET state = 'expired', last_error = $2, lease_owner = NULL, lease_expires_at = NULL,"
    "     updated_at = now()"
    " WHERE created_at < now() - make_interval(secs => $1::float8)"
    "   AND (state = 'pending' OR (state = 'sending' AND lease_expires_at < now()))",
    2};

void sp_outbox_event_free(sp_outbox_event *ev) {
    free(ev->url);
    free(ev->body);
    ev->url = ev->body = NULL;
}

int sp_outbox_claim(sp_db *db, const char *owner, int lease_seconds, const char *busy,
                    sp_outbox_event *out, sp_err *err) {
    memset(out, 0, sizeof *out);
    char lease[16];
    snprintf(lease, sizeof lease, "%d", lease_seconds);
    const char *params[] = {owner, lease, busy ? busy : "[]"};
    sp_rows *res = sp_db_exec(db, &claim_next, params, err);
    if (!res) return -1;
    int rc = 0;
    if (sp_rows_count(res) == 1) {
        snprintf(out->id, sizeof out->id, "%s", sp_rows_value(res, 0, 0));
        snprintf(out->job_id, sizeof out->job_id, "%s", sp_rows_value(res, 0, 1));
        out->url = strdup(sp_rows_value(res, 0, 2));
        out->body = strdup(sp_rows_value(res, 0, 3));
        out->attempts = atoi(sp_rows_value(res, 0, 4));
        out->age = atof(sp_rows_value(res, 0, 5));
        rc = 1;
        if (!out->url || !out->body) {
            sp_outbox_event_free(out);
            rc = sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
        }
    }
    sp_rows_free(res);
    return rc;
}

int sp_outbox_record(sp_db *db, const char *owner, const sp_outbox_event *ev, bool done,
                     bool failed, double run_in, const char *error, sp_err *err) {
    char delay[32];
    snprintf(delay, sizeof delay, "%.3f", done ? 0.0 : run_in);
    const char *params[] = {ev->id,
                            owner,
                            done ? "true" : "false",
                            failed ? "true" : "false",
                            delay,
                            error && *error ? error : NULL};
    sp_rows *res = sp_db_exec(db, &record_attempt, params, err);
    if (!res) return -1;
    bool held = (int)sp_rows_affected(res) == 1;
    sp_rows_free(res);
    if (!held)
        return sp_err_set(err, SP_ERR_CONFLICT, "lease_lost",
                          "the webhook event's lease was lost to another worker");
    return 0;
}

double sp_outbox_next_due(sp_db *db, const char *busy, sp_err *err) {
    const char *params[] = {busy ? busy : "[]"};
    sp_rows *res = sp_db_exec(db, &next_due, params, err);
    if (!res) return -1;
    double seconds = atof(sp_rows_value(res, 0, 0));
    sp_rows_free(res);
    return seconds < 0 ? 0 : seconds;
}

int sp_outbox_expire(sp_db *db, double older_than, const char *why, sp_err *err) {
    char age[32];
    snprintf(age, sizeof age, "%.3f", older_than);
    const char *params[] = {age, why};
    sp_rows *res = sp_db_exec(db, &expire_unsent, params, err);
    if (!res) return -1;
    int n = (int)sp_rows_affected(res);
    sp_rows_free(res);
    return n;
}
