/*
 * queue: every statement the worker runs on social_post_deliveries.
 *
 * Claiming takes the oldest ready delivery (queued and due, or running with a
 * lapsed lease) with FOR UPDATE SKIP LOCKED, so any number of workers on any
 * number of machines take distinct deliveries without waiting on each other.
 * Every write after the claim is conditional on still holding the lease
 * (lease_owner = this claim AND state = 'running'; each claim has its own
 * owner string, so not even two slots of one process can share a delivery): a worker that lost its
 * lease learns it at its next checkpoint and stops, instead of racing the worker that took over.
 * Each change to a delivery recomputes its job (social_post_refresh_job) in the same transaction.
 */
#ifndef SP_QUEUE_H
#define SP_QUEUE_H

#include <stdbool.h>

#include "db/db.h"
#include "queue/delivery.h"

/* Claims one ready delivery for owner for lease_seconds, of any user but
 * those in busy_users (a Postgres array literal of user ids, "{}" or NULL for
 * none: the worker's fairness limit), and loads what its step needs. Returns
 * 1 with *out filled (free with sp_delivery_free), 0 when nothing is ready,
 * -1 on error. */
int sp_queue_claim(sp_db *db, const char *owner, int lease_seconds, const char *busy_users,
                   sp_delivery *out, sp_err *err);

/* Saves d->checkpoint. Fails with SP_ERR_CONFLICT, code "lease_lost", when
 * owner no longer holds the delivery. */
int sp_queue_checkpoint(sp_db *db, const char *owner, const sp_delivery *d, sp_err *err);

/* Sets the delivery's progress to confirmed/total (total <= 0: keeps it)
 * and refreshes its job, so the job shows the progress and the checkpoint's
 * phase. Fails with SP_ERR_CONFLICT "lease_lost" like a checkpoint. */
int sp_queue_progress(sp_db *db, const char *owner, const sp_delivery *d, long long confirmed,
                      long long total, sp_err *err);

/* Writes the outcome of a step as t says, updates the job, and on a final
 * state adds the scheduled_posts history row. *job_finished tells whether no
 * delivery of the job is left open (its spooled video can go). */
int sp_queue_record(sp_db *db, const char *owner, const sp_delivery *d, const sp_step_outcome *o,
                    const sp_transition *t, bool *job_finished, sp_err *err);

/* Extends the leases of owners, a Postgres array literal of the claims a
 * worker is working on ("{a,b}"), calling renewed(owner, arg) for each one
 * extended; returns how many, or -1. Only live claims are renewed, so a claim
 * a slot gave up on lapses and is taken over; an owner not renewed has lost
 * its delivery. */
int sp_queue_renew(sp_db *db, const char *owners, int lease_seconds,
                   bool (*renewed)(const char *owner, void *arg), void *arg, sp_err *err);

/* When a step's outcome could not be recorded: counts an attempt and puts
 * the delivery back, due in delay_seconds, or fails it with why once
 * max_attempts are used up, so a delivery whose outcome never records cannot
 * call its platform for ever. why must be our own (storable) words. */
int sp_queue_abandon(sp_db *db, const char *owner, const sp_delivery *d, int delay_seconds,
                     int max_attempts, const char *why, sp_err *err);

/* Puts every delivery a worker process still holds back in the queue, due
 * now; the claims' owners are "<process>:<n>". */
int sp_queue_release_all(sp_db *db, const char *process, sp_err *err);

/* Seconds until the next delivery becomes claimable (0 when one is ready now,
 * a large number when none is queued), or -1 on error. */
double sp_queue_next_due(sp_db *db, sp_err *err);

#endif
