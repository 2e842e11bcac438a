/*
 * delivery: one platform of one job, the worker's unit of work, and the one
 * function that decides how a step's outcome moves it to its next state.
 *
 * A platform adapter runs a "step" on a claimed delivery and answers with an
 * outcome; sp_delivery_transition turns (state, outcome, attempts) into the
 * next state and when to run again. queue.c writes exactly that to the
 * database, so the rules of retrying and giving up live here and nowhere else.
 *
 *   queued --claim--> running --done-------> succeeded
 *                        |    --failed-----> failed
 *                        |    --retry------> queued (run_at = now + backoff) | failed (too many)
 *                        |    --wait-------> queued (run_at = now + delay)
 *                        '    --released---> queued (run_at = now)
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
    int takeovers; /* claims of its lapsed lease so far */
    sp_post post;  /* post.attempts: transient failures so far */
} sp_delivery;

void sp_delivery_free(sp_delivery *d);

/* Retry policy: how many transient failures end in failure, and the backoff. */
typedef struct {
    int max_attempts;
    double backoff_base; /* seconds before the first retry */
    double backoff_max;  /* cap on one wait */
} sp_retry_policy;

/* What the queue must write after a step. */
typedef struct {
    sp_delivery_state state;
    double run_in;      /* seconds from now, for queued */
    bool count_attempt; /* attempts + 1 */
    char message[600];  /* last_error / the result's error */
} sp_transition;

/* The one function that moves a delivery from running to its next state.
 * jitter is a number in [0, 1) (random in production, fixed in tests). */
void sp_delivery_transition(const sp_step_outcome *o, int attempts, const sp_retry_policy *policy,
                            double jitter, sp_transition *out);

const char *sp_delivery_state_name(sp_delivery_state s);

#endif
