/*
 * outbox: every statement the worker runs on social_post_webhooks.
 *
 * The events are written by the database itself, in the transaction that
 * makes a job final (migration 0009), so an event exists exactly when its
 * job is final, and the job never waits for its webhook. The worker claims
 * due events like deliveries: FOR UPDATE SKIP LOCKED with a lease (owner +
 * expiry) long enough for one attempt, so any number of workers share the
 * outbox and a worker that dies mid-attempt leaves an event that another one
 * sends again (with the same webhook-id). Every write after the claim holds
 * only while the lease is still this worker's.
 *
 * A sender names the receivers (URL origins, lowercased) it must pass over,
 * so one slow receiver holds only its own events (worker/webhooks.c keeps
 * the count per receiver). Events that no worker could send (none has the
 * signing secret) end 'expired' instead of waiting for ever.
 *
 * Not here: what follows an attempt (webhooks/webhook.c decides; this file
 * writes it).
 */
#ifndef SP_OUTBOX_H
#define SP_OUTBOX_H

#include <stdbool.h>

#include "db/db.h"

/* A claimed event. Owns its strings (sp_outbox_event_free). */
typedef struct {
    char id[64]; /* webhook-id */
    char job_id[37];
    char *url;
    char *body;
    int attempts; /* made before this one */
    double age;   /* seconds since the event was written (database clock) */
} sp_outbox_event;

void sp_outbox_event_free(sp_outbox_event *ev);

/* Claims the oldest due event for owner for lease_seconds, passing over the
 * receivers in busy (a JSON array of receivers, sp_receivers_busy; NULL:
 * none). Returns 1 with *out filled, 0 when none is due, -1 on error. */
int sp_outbox_claim(sp_db *db, const char *owner, int lease_seconds, const char *busy,
                    sp_outbox_event *out, sp_err *err);

/* Records an attempt: delivered, given up (failed), or due again in run_in
 * seconds; error (may be NULL) becomes last_error. Fails with SP_ERR_CONFLICT
 * "lease_lost" when owner no longer holds the event. */
int sp_outbox_record(sp_db *db, const char *owner, const sp_outbox_event *ev, bool done,
                     bool failed, double run_in, const char *error, sp_err *err);

/* Seconds until the next event of a receiver not in busy is due (0: now; a
 * large number: none), or -1. */
double sp_outbox_next_due(sp_db *db, const char *busy, sp_err *err);

/* Ends the events older than older_than seconds that were never sent
 * (pending, or a lapsed lease) as 'expired', with why as last_error.
 * Returns how many, or -1. */
int sp_outbox_expire(sp_db *db, double older_than, const char *why, sp_err *err);

#endif
