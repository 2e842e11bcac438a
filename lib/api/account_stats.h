/*
 * account_stats: how connections of accounts ended, for /metrics
 * (social_post_account_connections_total{platform, outcome}), read by the
 * HTTP programs' login as the role social_post_metrics. The counters live in
 * the database (migration 0018), so every instance of the submit program
 * adds to the same ones.
 */
#ifndef SP_ACCOUNT_STATS_H
#define SP_ACCOUNT_STATS_H

#include <stddef.h>

#include "db/db.h"

/* Appends the Prometheus text of the counters to buf (len bytes); returns
 * the bytes written, 0 when the database could not be read (the queue's
 * social_post_database_up says so), -1 when buf is too small. */
int sp_account_stats_render(sp_db *db, char *buf, size_t len);

#endif
