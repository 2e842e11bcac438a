/*
 * queue_stats: the delivery queue's counts for /metrics, read by the HTTP
 * programs' login as the role social_post_metrics (the counts are for
 * operators, not for every user with an RPC).
 */
#ifndef SP_QUEUE_STATS_H
#define SP_QUEUE_STATS_H

#include "db/db.h"

#define SP_QUEUE_STATES 5

typedef struct {
    const char *state[SP_QUEUE_STATES]; /* queued, running, succeeded, failed, cancelled */
    long long deliveries[SP_QUEUE_STATES];
    double oldest_due_seconds; /* age of the oldest delivery that is due, 0 when none */
} sp_queue_stats;

/* Reads the counts in a transaction of its own. */
int sp_queue_stats_read(sp_db *db, sp_queue_stats *out, sp_err *err);

#endif
