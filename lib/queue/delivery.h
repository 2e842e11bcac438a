/*
 * delivery: one platform of one job, the worker's unit of work, and the one
 * function that decides how a step's outcome moves it to its next state.
 *
 * A platform adapter runs a "step" on a claimed delivery and answers with an
 * outcome; sp_delivery_transition turns (outcome, attempts, releases in a row,
 * whether the step checkpointed progress) into the next state and when to run
 * again. queue.c writes exactly that to the database, so the rules of
 * retrying and giving up live here and nowhere else. The arrows not drawn by
 * this file (claim, lease lapse, cancel, user retry) are SQL: the claim
 * (social_post_claim), social_post_cancel_job and social_post_retry_job
 * (migrations/README.md says which migration holds each).
 *
 *                     claim (run_at due)
 *   +--------+ --------------------------------------> +---------+  done   +-----------+
 *   |        |                                         |         | ------> | succeeded |
 *   |        | <--- retry: run_at = now + backoff ---- |         |         +-----------+
 *   | queued | <--- wait: run_at = now + delay ------- | running |
 *   |        | <--- release: run_at = now ------------ |         |  fail   +--------+
 *   |        |                                         |         | ------> | failed |
 *   +--------+                                         +---------+         +--------+
 *     |    ^                                             |     ^               |
 *     |    |                      lease lapse: claimed   '-----'               |
 *     |    |                      again (takeovers + 1)                        |
 *     |    '--------- user retry (attempts, takeovers, releases -> 0) ---------'
 *     |
 *     | cancel (only before it started: checkpoint {})
 *     v
 *   +-----------+
 *   | cancelled |     fail: a permanent error, the last allowed attempt, more
 *   +-----------+     than MAX_TAKEOVERS lapsed leases (worker/slot.c) since
 *                     the last checkpoint that moved it on (queue.c)
 *
 * A release (the worker stopping, the lease lost, the database away) is not
 * the platform's fault and costs nothing when the step checkpointed progress
 * (its checkpoint changed): a long upload spread over many short worker runs
 * (cron's --max-runtime) goes on for as long as it moves. Releases without
 * progress are counted in a row; past SP_FREE_RELEASES each one is an
 * attempt, so a delivery that never gets through still ends.
 *
 * A platform quota is waited out without counting an attempt: as long as the
 * platform says, or, when it gives no time (Meta's throttling codes without
 * an estimate), on the same backoff as a retry, growing with such waits in a
 * row and never longer than backoff_max. The worker keeps that row's length
 * in the checkpoint (SP_STEP_CP_QUOTA_BACKOFFS, sp_delivery_note_quota_backoffs),
 * so it survives between claims and workers.
 */
#ifndef SP_DELIVERY_H
#define SP_DELIVERY_H

#include <stdbool.h>

#include "platforms/step.h"

typedef enum {
    SP_DELIVERY_QUEUED,
    SP_DELIVERY_RUNNING,
    SP_DELIVERY_SUCCEEDED,
    SP_DELIVERY_FAILED,
    SP_DELIVERY_CANCELLED
} sp_delivery_state;

/* A claimed delivery: the queue's fields and the post its step works on.
 * Owns its strings (sp_delivery_free). */
typedef struct {
    long long id;
    char job_id[37];
    char user_id[37];
    char video_id[37];
    int takeovers;     /* claims of its lapsed lease so far */
    int releases;      /* put back without an outcome, in a row */
    bool video_owned;  /* the job's video exists and is its user's */
    char refusal[300]; /* why its user may not post (an anonymous sign-in); "" when they may */
    sp_post post;      /* post.attempts: transient failures so far */
    /* the account's refresh token as social_accounts holds it (sealed or
     * plain; NULL for none): how the row is found again (queue/accounts.h) */
    char *stored_refresh_token;
} sp_delivery;

void sp_delivery_free(sp_delivery *d);

/* Retry policy: how many transient failures end in failure, and the backoff. */
typedef struct {
    int max_attempts;
    double backoff_base; /* seconds before the first retry */
    double backoff_max;  /* cap on one wait */
} sp_retry_policy;

/* Releases without progress in a row that cost nothing; each one after
 * counts as an attempt (a worker stopping mid-step is normal; a delivery that
 * never gets through is not). */
#define SP_FREE_RELEASES 3

/* What the queue must write after a step. */
typedef struct {
    sp_delivery_state state;
    double run_in;      /* seconds from now, for queued */
    bool count_attempt; /* attempts + 1 */
    bool count_release; /* releases + 1 (else back to 0: an outcome, or progress) */
    bool quota;         /* queued until a platform quota allows it (run_in) */
    bool quota_backoff; /* that quota gave no time: run_in is the backoff */
    char message[600];  /* last_error / the result's error */
} sp_transition;

/* What a delivery has been through before the step's outcome. */
typedef struct {
    int attempts;    /* transient failures so far */
    int releases;    /* releases without progress in a row */
    bool progressed; /* the step saved a checkpoint other than the one it was claimed with */
    int quota_backoffs; /* quota waits without a time from the platform, in a row */
} sp_delivery_history;

/* The one function that moves a delivery from running to its next state.
 * jitter is a number in [0, 1) (random in production, fixed in tests). */
void sp_delivery_transition(const sp_step_outcome *o, const sp_delivery_history *h,
                            const sp_retry_policy *policy, double jitter, sp_transition *out);

/* The quota waits without a time in a row that checkpoint records (0 when
 * none: absent, or not a whole number from 0 to SP_QUOTA_BACKOFFS_MAX). */
int sp_delivery_quota_backoffs(const cJSON *checkpoint);

/* Records in checkpoint (in memory; the outcome's record saves it) the row
 * of quota waits without a time after the step: h->quota_backoffs + 1 when
 * t is such a wait, unchanged when the step was released (the platform
 * said nothing), else removed. False when it could not be set (out of
 * memory: the row starts again, a shorter wait). */
bool sp_delivery_note_quota_backoffs(cJSON *checkpoint, const sp_step_outcome *o,
                                     const sp_transition *t, const sp_delivery_history *h);

/* Beyond this many in a row, the count stops growing (the wait is long
 * capped by then). */
#define SP_QUOTA_BACKOFFS_MAX 1000

/* Checks what a claimed delivery's job asks for, as the API would have
 * (users may write jobs straight through Supabase): the video exists and is
 * the user's, its URL is http(s), the text fits the platform. Fails with the
 * API's message. */
int sp_delivery_check(const sp_delivery *d, sp_err *err);

const char *sp_delivery_state_name(sp_delivery_state s);

#endif
