/*
 * delivery: the state machine of a delivery. Backoff is exponential with
 * jitter (0.5x to 1.5x) and capped; a platform's Retry-After wins when it asks
 * for longer. After max_attempts transient failures the delivery fails with
 * the last error, so nothing retries forever. A quota wait without a time
 * from the platform backs off the same way but counts no attempt, and never
 * waits longer than backoff_max: each one is a call the platform may count
 * against the quota (Meta's do), so at most one per backoff_max.
 */
#include "queue/delivery.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/json.h"

static const char *const state_names[] = {"queued", "running", "succeeded", "failed", "cancelled"};

const char *sp_delivery_state_name(sp_delivery_state s) {
    return s <= SP_DELIVERY_CANCELLED ? state_names[s] : "unknown";
}

void sp_delivery_free(sp_delivery *d) {
    sp_post *p = &d->post;
    cJSON_Delete(p->checkpoint);
    cJSON_Delete(p->options);
    free(p->account_login);
    free(p->title);
    free(p->description);
    free(p->video_url);
    free(p->account_id);
    if (p->access_token) explicit_bzero(p->access_token, strlen(p->access_token));
    if (p->refresh_token) explicit_bzero(p->refresh_token, strlen(p->refresh_token));
    free(p->access_token);
    free(p->refresh_token);
    p->checkpoint = p->options = NULL;
    p->account_login = NULL;
    p->title = p->description = p->video_url = NULL;
    p->account_id = p->access_token = p->refresh_token = NULL;
    free(d->stored_refresh_token);
    d->stored_refresh_token = NULL;
}

/* Seconds to wait before retry number attempts+1. */
static double backoff(int attempts, const sp_retry_policy *p, double jitter) {
    double wait = p->backoff_base * pow(2.0, attempts);
    if (wait > p->backoff_max) wait = p->backoff_max;
    return wait * (0.5 + jitter);
}

/* Seconds a quota wait without a time waits after waits (in a row) of it:
 * the retries' backoff, jitter included, and never past backoff_max. */
static double quota_backoff(int waits, const sp_retry_policy *p, double jitter) {
    double wait = p->backoff_base * pow(2.0, waits) * (0.5 + jitter);
    return wait < p->backoff_max ? wait : p->backoff_max;
}

/* A platform quota: queued until the platform allows the call, no attempt
 * counted. */
static void quota_wait(const sp_step_outcome *o, const sp_delivery_history *h,
                       const sp_retry_policy *policy, double jitter, sp_transition *out) {
    out->state = SP_DELIVERY_QUEUED;
    out->quota = true;
    if (!o->quota_backoff) { /* the platform said when */
        out->run_in = o->delay > 0 ? o->delay : 0;
        return;
    }
    out->quota_backoff = true;
    out->run_in = quota_backoff(h->quota_backoffs, policy, jitter);
    if (o->delay > out->run_in) out->run_in = o->delay; /* its Retry-After */
}

/* A transient failure: queued after a backoff, or failed after too many. */
static void retry_or_give_up(const sp_step_outcome *o, int attempts, const sp_retry_policy *policy,
                             double jitter, sp_transition *out) {
    if (attempts + 1 >= policy->max_attempts) {
        out->state = SP_DELIVERY_FAILED;
        snprintf(out->message, sizeof out->message, "gave up after %d attempts: %s", attempts + 1,
                 o->message);
        sp_utf8_truncate(out->message, sizeof out->message - 1);
        return;
    }
    out->state = SP_DELIVERY_QUEUED;
    out->count_attempt = true;
    out->run_in = backoff(attempts, policy, jitter);
    if (o->delay > out->run_in) out->run_in = o->delay;
}

/* A release: back in the queue at once; free after progress, and for the
 * first SP_FREE_RELEASES in a row without; a retry after that. */
static void release(const sp_step_outcome *o, const sp_delivery_history *h,
                    const sp_retry_policy *policy, double jitter, sp_transition *out) {
    out->state = SP_DELIVERY_QUEUED;
    if (h->progressed) return; /* the row of releases without progress starts again */
    out->count_release = true;
    if (h->releases + 1 > SP_FREE_RELEASES) retry_or_give_up(o, h->attempts, policy, jitter, out);
}

void sp_delivery_transition(const sp_step_outcome *o, const sp_delivery_history *h,
                            const sp_retry_policy *policy, double jitter, sp_transition *out) {
    out->run_in = 0;
    out->count_attempt = false;
    out->count_release = false;
    out->quota = false;
    out->quota_backoff = false;
    snprintf(out->message, sizeof out->message, "%s", o->message);
    sp_utf8_truncate(out->message, sizeof out->message - 1);
    switch (o->kind) {
    case SP_STEP_DONE:
        out->state = SP_DELIVERY_SUCCEEDED;
        out->message[0] = '\0';
        break;
    case SP_STEP_FAILED:
        out->state = SP_DELIVERY_FAILED;
        break;
    case SP_STEP_WAIT:
        if (o->quota) {
            quota_wait(o, h, policy, jitter, out);
            break;
        }
        out->state = SP_DELIVERY_QUEUED; /* not an error: no attempt counted */
        out->run_in = o->delay > 0 ? o->delay : 0;
        break;
    case SP_STEP_RELEASED:
        release(o, h, policy, jitter, out);
        break;
    case SP_STEP_RETRY:
        retry_or_give_up(o, h->attempts, policy, jitter, out);
        break;
    }
}

int sp_delivery_quota_backoffs(const cJSON *checkpoint) {
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(checkpoint, SP_STEP_CP_QUOTA_BACKOFFS);
    if (!cJSON_IsNumber(n) || !(n->valuedouble >= 0) || n->valuedouble > SP_QUOTA_BACKOFFS_MAX ||
        n->valuedouble != floor(n->valuedouble))
        return 0; /* NaN too */
    return (int)n->valuedouble;
}

bool sp_delivery_note_quota_backoffs(cJSON *checkpoint, const sp_step_outcome *o,
                                     const sp_transition *t, const sp_delivery_history *h) {
    if (o->kind == SP_STEP_RELEASED) return true; /* no answer: the row goes on */
    cJSON_DeleteItemFromObjectCaseSensitive(checkpoint, SP_STEP_CP_QUOTA_BACKOFFS);
    if (!t->quota_backoff) return true;
    int n = h->quota_backoffs < SP_QUOTA_BACKOFFS_MAX ? h->quota_backoffs + 1 : h->quota_backoffs;
    return cJSON_AddNumberToObject(checkpoint, SP_STEP_CP_QUOTA_BACKOFFS, n) != NULL;
}

int sp_delivery_check(const sp_delivery *d, sp_err *err) {
    const sp_post *p = &d->post;
    if (!d->video_owned)
        return sp_err_set(err, SP_ERR_NOT_FOUND, "video_not_found", "video not found");
    if (d->refusal[0])
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "user_refused", "%s", d->refusal);
    if (!p->video_url || (strncasecmp(p->video_url, "http://", 7) != 0 &&
                          strncasecmp(p->video_url, "https://", 8) != 0))
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "invalid_video_url",
                          "the video URL is not an http(s) URL");
    return sp_platform_check_text(p->platform, p->title && *p->title ? p->title : NULL,
                                  p->description, err);
}
