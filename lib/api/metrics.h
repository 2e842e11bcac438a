/*
 * metrics: what /metrics shows, in Prometheus's text format: requests by
 * status class, their durations (seconds), FastCGI connections accepted,
 * long-polls parked now, and the queue's gauges the caller reads.
 *
 * Several processes may serve one socket (spawn-fcgi -F N, or programs
 * sharing a systemd socket), and a scrape reaches whichever accepts it. So
 * the counters live in shared memory named after the listening socket
 * (its st_dev and st_ino) and the program: every process of one socket adds
 * to the same counters with C11 atomics, and any of them reports the same
 * totals. The first process creates the segment (a versioned struct), the
 * last one to detach removes it. Before sp_metrics_attach, or when the
 * segment cannot be used, the counters are the process's own.
 */
#ifndef SP_METRICS_H
#define SP_METRICS_H

#include <stddef.h>

#include "api/queue_stats.h"

/* Shares the counters with the other processes of listen_fd (see above).
 * Returns 0, or -1 (logged) when they stay this process's own. */
int sp_metrics_attach(const char *program, int listen_fd);

/* Unmaps the shared counters; the last process removes them. */
void sp_metrics_detach(void);

/* Counts one request that ended with status after seconds. */
void sp_metrics_observe(int status, double seconds);

/* Counts one FastCGI connection accepted. */
void sp_metrics_count_connection(void);

/* Moves the gauge of parked long-polls by delta (+1 parked, -1 answered). */
void sp_metrics_parked(int delta);

/* Long-polls parked now (all processes of the socket). */
long sp_metrics_parked_now(void);

/* Writes the request families, labelled with program, into buf
 * (NUL-terminated); returns the length, or -1 when buf is too small. */
int sp_metrics_render(const char *program, char *buf, size_t len);

/* Writes the queue's gauges (stats NULL: the queue could not be read) into
 * buf; returns the length written, or -1 when buf is too small. */
int sp_metrics_render_queue(const sp_queue_stats *stats, char *buf, size_t len);

#endif
