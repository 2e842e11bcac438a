/*
 * queue_stats: the delivery queue's counts for /metrics, read by the HTTP
 * programs' login as the role social_post_metrics (the counts are for
 * operators, not for every user with an RPC).
 */
#ifndef SP_QUEUE_STATS_H
#define SP_QUEUE_STATS_H

#include "db/db.h"

#define SP_QUEUE_MAX_ROWS 64 /* platforms x states */

typedef struct {
    char platform[16];
    char state[16]; /* queued, running, succeeded, failed, cancelled */
    long long deliveries;
    double oldest_due_seconds; /* queued rows: age of the oldest due one, 0 when none */
} sp_queue_row;

#define SP_QUEUE_MAX_PLATFORMS 8

typedef struct {
    char platform[16];
    long long deliveries; /* queued until the platform's quota allows them */
} sp_quota_row;

typedef struct {
    sp_queue_row rows[SP_QUEUE_MAX_ROWS]; /* every platform and state, zeros included */
    int nrows;
    sp_quota_row quota[SP_QUEUE_MAX_PLATFORMS]; /* every platform, zeros included */
    int nquota;
    long long tokens_sealed; /* social_accounts rows whose tokens are all sealed */
    long long tokens_plain;  /* rows holding a token in clear */
} sp_queue_stats;

/* Reads the counts (social_post_delivery_stats(), social_post_quota_waits(),
 * social_post_token_stats()) in one round trip. */
int sp_queue_stats_read(sp_db *db, sp_queue_stats *out, sp_err *err);

#endif
