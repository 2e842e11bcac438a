/*
 * metrics: request counts by status class and a duration histogram.
 */
#include "api/metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

static const double bucket_ms[] = {5, 10, 25, 50, 100, 250, 500, 1000, 5000, 30000, 60000};
#define NBUCKETS (sizeof bucket_ms / sizeof bucket_ms[0])

static atomic_ulong by_class[6]; /* 1xx..5xx, index status / 100 */
static atomic_ulong buckets[NBUCKETS + 1];
static atomic_ulong total_us;

void sp_metrics_observe(int status, double ms) {
    int cls = status / 100;
    if (cls < 1 || cls > 5) cls = 5;
    atomic_fetch_add(&by_class[cls], 1);
    size_t i = 0;
    while (i < NBUCKETS && ms > bucket_ms[i])
        i++;
    atomic_fetch_add(&buckets[i], 1);
    atomic_fetch_add(&total_us, (unsigned long)(ms * 1000));
}

typedef struct {
    char *buf;
    size_t len, off;
    bool overflow;
} text_out;

/* Appends printf-style text; remembers when it did not fit. */
static void emit(text_out *o, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = o->overflow ? -1 : vsnprintf(o->buf + o->off, o->len - o->off, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->len - o->off)
        o->overflow = true;
    else
        o->off += (size_t)n;
}

int sp_metrics_render(const char *program, char *buf, size_t len) {
    text_out o = {.buf = buf, .len = len};
    unsigned long count = 0;
    emit(&o, "# HELP social_post_http_requests_total Requests served, by status class.\n"
             "# TYPE social_post_http_requests_total counter\n");
    for (int c = 1; c <= 5; c++) {
        unsigned long n = atomic_load(&by_class[c]);
        count += n;
        emit(&o, "social_post_http_requests_total{program=\"%s\",code=\"%dxx\"} %lu\n", program, c,
             n);
    }
    emit(&o, "# HELP social_post_http_request_duration_ms Request durations.\n"
             "# TYPE social_post_http_request_duration_ms histogram\n");
    unsigned long cumulative = 0;
    for (size_t i = 0; i <= NBUCKETS; i++) {
        cumulative += atomic_load(&buckets[i]);
        if (i < NBUCKETS)
            emit(&o, "social_post_http_request_duration_ms_bucket{program=\"%s\",le=\"%g\"} %lu\n",
                 program, bucket_ms[i], cumulative);
        else
            emit(&o,
                 "social_post_http_request_duration_ms_bucket{program=\"%s\",le=\"+Inf\"} %lu\n",
                 program, cumulative);
    }
    emit(&o, "social_post_http_request_duration_ms_sum{program=\"%s\"} %.3f\n", program,
         (double)atomic_load(&total_us) / 1000.0);
    emit(&o, "social_post_http_request_duration_ms_count{program=\"%s\"} %lu\n", program, count);
    return o.overflow ? -1 : (int)o.off;
}

int sp_metrics_render_queue(const sp_queue_stats *stats, char *buf, size_t len) {
    text_out o = {.buf = buf, .len = len};
    emit(&o,
         "# HELP social_post_database_up Whether the queue could be read.\n"
         "# TYPE social_post_database_up gauge\nsocial_post_database_up %d\n",
         stats ? 1 : 0);
    if (stats) {
        emit(&o, "# HELP social_post_deliveries Deliveries by state.\n"
                 "# TYPE social_post_deliveries gauge\n");
        for (int i = 0; i < SP_QUEUE_STATES; i++)
            emit(&o, "social_post_deliveries{state=\"%s\"} %lld\n", stats->state[i],
                 stats->deliveries[i]);
        emit(&o,
             "# HELP social_post_oldest_due_seconds Age of the oldest due delivery.\n"
             "# TYPE social_post_oldest_due_seconds gauge\n"
             "social_post_oldest_due_seconds %.3f\n",
             stats->oldest_due_seconds);
    }
    return o.overflow ? -1 : (int)o.off;
}
