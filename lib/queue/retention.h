/*
 * retention: removing history nobody needs once it is old (migration 0020):
 * finished deliveries' attempt details (checkpoint, last error) and finished
 * webhook events after an age, and, only when asked, finished jobs after an
 * age of their own. One call is one short batch; the database makes sure
 * that one worker prunes at a time and that a batch waits for no lock.
 */
#ifndef SP_QUEUE_RETENTION_H
#define SP_QUEUE_RETENTION_H

#include "db/db.h"

/* What one batch removed. */
typedef struct {
    int delivery_details; /* finished deliveries whose checkpoint and error were cleared */
    int webhook_events;   /* finished webhook events deleted */
    int jobs;             /* finished jobs deleted (with their deliveries and events) */
} sp_pruned;

/* Removes at most batch rows of each kind older than days (job_days <= 0:
 * jobs are kept). Returns the rows removed in all (0 also when another
 * worker is pruning just now), or -1 with err set. */
int sp_retention_prune(sp_db *db, double days, double job_days, int batch, sp_pruned *out,
                       sp_err *err);

#endif
