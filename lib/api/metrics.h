/*
 * metrics: counters of the requests a FastCGI program served, rendered in
 * Prometheus's text format (with the queue gauges the caller adds).
 *
 * Counters are process-wide atomics, so threads update them without locks;
 * each process reports its own (scrape each program, or sum them).
 */
#ifndef SP_METRICS_H
#define SP_METRICS_H

#include <stddef.h>

#include "api/queue_stats.h"

/* Counts one request that ended with status after ms milliseconds. */
void sp_metrics_observe(int status, double ms);

/* Appends the counters, labelled with program, to buf (NUL-terminated);
 * returns the length written, or -1 when buf is too small. */
int sp_metrics_render(const char *program, char *buf, size_t len);

/* Appends the queue's gauges (stats NULL: the queue could not be read) to
 * buf; returns the length written, or -1 when buf is too small. */
int sp_metrics_render_queue(const sp_queue_stats *stats, char *buf, size_t len);

#endif
