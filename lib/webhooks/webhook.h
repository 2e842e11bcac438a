/*
 * webhook: one attempt to tell a callbackUrl that a job ended, and what
 * follows it.
 *
 * An event is the job's status body, POSTed as application/json with the
 * Standard Webhooks headers: webhook-id (the event's id, the same on every
 * attempt, so receivers can drop repeats), webhook-timestamp (Unix seconds
 * of this attempt) and webhook-signature ("v1," and the base64 of
 * HMAC-SHA256 over "<id>.<timestamp>.<body>", keyed with the decoded
 * SOCIAL_POST_WEBHOOK_SECRET). An attempt waits at most 10 seconds, uses no
 * proxy, follows no redirect, and (unless allowed) connects to no private,
 * loopback or link-local address. Any 2xx delivers the event.
 *
 * sp_webhook_next is the one place that decides what follows a failed
 * attempt: a retry after an exponential backoff (base, doubling, at most an
 * hour, +-20% jitter, longer when the receiver's Retry-After asks), until
 * the event is older than the give-up age; 410 Gone and a callbackUrl that
 * breaks the rules end it at once.
 *
 * Not here: storing events (queue/outbox.c) or the thread that sends them
 * (worker/webhooks.c).
 */
#ifndef SP_WEBHOOK_H
#define SP_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/err.h"

/* "v1," + base64 of 32 bytes + NUL */
#define SP_WEBHOOK_SIGNATURE_MAX 64

/* One event, as the outbox holds it (strings borrowed). */
typedef struct {
    const char *id;   /* webhook-id, e.g. "msg_..." */
    const char *url;  /* the job's callbackUrl */
    const char *body; /* the job's status body, JSON */
} sp_webhook_event;

/* How an attempt ended. */
typedef enum {
    SP_WEBHOOK_DELIVERED, /* a 2xx answer */
    SP_WEBHOOK_FAILED,    /* worth another attempt */
    SP_WEBHOOK_REFUSED    /* never worth another (410 Gone, an invalid URL) */
} sp_webhook_result;

typedef struct {
    sp_webhook_result result;
    long status;        /* the HTTP status, 0 when none arrived */
    double retry_after; /* the receiver's Retry-After in seconds, or -1 */
    char message[320];  /* what went wrong, without secrets */
} sp_webhook_attempt;

/* Writes the webhook-signature value of one attempt into out. */
int sp_webhook_sign(const unsigned char *key, size_t key_len, const char *id, long long timestamp,
                    const char *body, char out[SP_WEBHOOK_SIGNATURE_MAX], sp_err *err);

/* Makes one attempt to deliver ev, signed with cfg's webhook key at the
 * current time; always fills out. */
void sp_webhook_send(const sp_config *cfg, const sp_webhook_event *ev, sp_webhook_attempt *out);

/* The retry schedule. */
typedef struct {
    double backoff_base; /* seconds before the second attempt */
    double backoff_max;  /* cap on one wait */
    double give_up_age;  /* no attempt starts later than this after the event */
} sp_webhook_policy;

/* What the outbox must do after an attempt. */
typedef struct {
    bool done;         /* delivered, or given up (then failed is true) */
    bool failed;       /* given up */
    double run_in;     /* seconds until the next attempt, when not done */
    char message[400]; /* last_error: why it failed or why it gave up */
} sp_webhook_next_step;

/* Decides what follows attempt number attempts (1 for the first) of an event
 * created age seconds ago. jitter is a number in [0, 1). */
void sp_webhook_next(const sp_webhook_attempt *a, int attempts, double age,
                     const sp_webhook_policy *p, double jitter, sp_webhook_next_step *out);

#endif
