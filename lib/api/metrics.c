/*
 * metrics: counters in a shared memory segment per listening socket, and
 * their Prometheus text; see metrics.h.
 */
#include "api/metrics.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

static const double bucket_seconds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                        0.5,   1,      2.5,   5,    10,    30,   60};
#define NBUCKETS (sizeof bucket_seconds / sizeof bucket_seconds[0])

#define SHM_MAGIC 0x5350 /* "SP" */
#define SHM_VERSION 1    /* change with the layout below */

typedef struct {
    atomic_uint magic; /* set last by the creator: the rest is ready */
    uint32_t version;
    uint32_t nbuckets;
    atomic_int attached;      /* processes using it; the last one removes it */
    atomic_ulong by_class[6]; /* 1xx..5xx, index status / 100 */
    atomic_ulong buckets[NBUCKETS + 1];
    atomic_ulong total_us;
    atomic_ulong connections;
    atomic_long parked;
} counters;

static counters own; /* this process's, until (or unless) shared */
static counters *c = &own;
static char shm_name[128];

/* Maps an existing segment once its creator has sized and marked it. */
static counters *map_existing(int fd) {
    struct timespec tick = {.tv_nsec = 10 * 1000 * 1000};
    struct stat st;
    for (int i = 0; i < 100 && fstat(fd, &st) == 0 && (size_t)st.st_size < sizeof(counters); i++)
        nanosleep(&tick, NULL);
    if (fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(counters)) return NULL;
    counters *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) return NULL;
    for (int i = 0; i < 100 && atomic_load(&m->magic) != SHM_MAGIC; i++)
        nanosleep(&tick, NULL);
    if (atomic_load(&m->magic) == SHM_MAGIC && m->version == SHM_VERSION && m->nbuckets == NBUCKETS)
        return m;
    munmap(m, sizeof *m);
    return NULL;
}

/* Creates and maps a new segment (zeroed by ftruncate), marked ready. */
static counters *map_new(int fd) {
    if (ftruncate(fd, sizeof(counters)) != 0) return NULL;
    counters *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) return NULL;
    m->version = SHM_VERSION;
    m->nbuckets = NBUCKETS;
    atomic_store(&m->magic, SHM_MAGIC);
    return m;
}

int sp_metrics_attach(const char *program, int listen_fd) {
    struct stat st;
    if (fstat(listen_fd, &st) != 0) return -1;
    snprintf(shm_name, sizeof shm_name, "/%s-metrics-%lx-%lx", program, (unsigned long)st.st_dev,
             (unsigned long)st.st_ino);
    counters *m = NULL;
    int fd = shm_open(shm_name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) {
        m = map_new(fd);
    } else if ((fd = shm_open(shm_name, O_RDWR, 0600)) >= 0) {
        m = map_existing(fd);
    }
    if (fd >= 0) close(fd);
    if (!m) {
        sp_log(SP_LOG_WARN, "metrics: shared memory %s unusable; counting this process only",
               shm_name);
        shm_name[0] = '\0';
        return -1;
    }
    atomic_fetch_add(&m->attached, 1);
    c = m;
    return 0;
}

void sp_metrics_detach(void) {
    if (c == &own) return;
    counters *m = c;
    c = &own;
    if (atomic_fetch_sub(&m->attached, 1) == 1) shm_unlink(shm_name);
    munmap(m, sizeof *m);
}

void sp_metrics_observe(int status, double seconds) {
    int cls = status / 100;
    if (cls < 1 || cls > 5) cls = 5;
    size_t i = 0;
    while (i < NBUCKETS && seconds > bucket_seconds[i])
        i++;
    atomic_fetch_add(&c->buckets[i], 1);
    atomic_fetch_add(&c->total_us, (unsigned long)(seconds * 1e6));
    atomic_fetch_add(&c->by_class[cls], 1); /* last: a scrape's count never exceeds buckets */
}

void sp_metrics_count_connection(void) {
    atomic_fetch_add(&c->connections, 1);
}

void sp_metrics_parked(int delta) {
    atomic_fetch_add(&c->parked, delta);
}

long sp_metrics_parked_now(void) {
    return atomic_load(&c->parked);
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

/* The duration histogram; count is the requests counted by class. */
static void render_durations(text_out *o, const char *program) {
    emit(o, "# HELP social_post_http_request_duration_seconds Time to answer a request.\n"
            "# TYPE social_post_http_request_duration_seconds histogram\n");
    unsigned long cumulative = 0;
    for (size_t i = 0; i < NBUCKETS; i++) {
        cumulative += atomic_load(&c->buckets[i]);
        emit(o, "social_post_http_request_duration_seconds_bucket{program=\"%s\",le=\"%g\"} %lu\n",
             program, bucket_seconds[i], cumulative);
    }
    cumulative += atomic_load(&c->buckets[NBUCKETS]);
    emit(o,
         "social_post_http_request_duration_seconds_bucket{program=\"%s\",le=\"+Inf\"} %lu\n"
         "social_post_http_request_duration_seconds_sum{program=\"%s\"} %.6f\n"
         "social_post_http_request_duration_seconds_count{program=\"%s\"} %lu\n",
         program, cumulative, program, (double)atomic_load(&c->total_us) / 1e6, program,
         cumulative);
}

int sp_metrics_render(const char *program, char *buf, size_t len) {
    text_out o = {.buf = buf, .len = len};
    emit(&o, "# HELP social_post_http_requests_total Requests answered, by status class.\n"
             "# TYPE social_post_http_requests_total counter\n");
    for (int cls = 1; cls <= 5; cls++)
        emit(&o, "social_post_http_requests_total{program=\"%s\",code=\"%dxx\"} %lu\n", program,
             cls, atomic_load(&c->by_class[cls]));
    render_durations(&o, program);
    emit(&o,
         "# HELP social_post_fastcgi_connections_total FastCGI connections accepted.\n"
         "# TYPE social_post_fastcgi_connections_total counter\n"
         "social_post_fastcgi_connections_total{program=\"%s\"} %lu\n"
         "# HELP social_post_long_polls_parked Long-polls waiting for their job to change.\n"
         "# TYPE social_post_long_polls_parked gauge\n"
         "social_post_long_polls_parked{program=\"%s\"} %ld\n",
         program, atomic_load(&c->connections), program, atomic_load(&c->parked));
    return o.overflow ? -1 : (int)o.off;
}

int sp_metrics_render_queue(const sp_queue_stats *stats, char *buf, size_t len) {
    text_out o = {.buf = buf, .len = len};
    emit(&o,
         "# HELP social_post_database_up Whether the queue could be read.\n"
         "# TYPE social_post_database_up gauge\nsocial_post_database_up %d\n",
         stats ? 1 : 0);
    if (!stats) return o.overflow ? -1 : (int)o.off;
    emit(&o, "# HELP social_post_deliveries Deliveries by platform and state.\n"
             "# TYPE social_post_deliveries gauge\n");
    for (int i = 0; i < stats->nrows; i++)
        emit(&o, "social_post_deliveries{platform=\"%s\",state=\"%s\"} %lld\n",
             stats->rows[i].platform, stats->rows[i].state, stats->rows[i].deliveries);
    emit(&o, "# HELP social_post_oldest_due_seconds Age of the oldest due delivery.\n"
             "# TYPE social_post_oldest_due_seconds gauge\n");
    for (int i = 0; i < stats->nrows; i++)
        if (!strcmp(stats->rows[i].state, "queued"))
            emit(&o, "social_post_oldest_due_seconds{platform=\"%s\"} %.3f\n",
                 stats->rows[i].platform, stats->rows[i].oldest_due_seconds);
    emit(&o, "# HELP social_post_deliveries_waiting_for_quota Deliveries waiting until a "
             "platform's quota allows them.\n"
             "# TYPE social_post_deliveries_waiting_for_quota gauge\n");
    for (int i = 0; i < stats->nquota; i++)
        emit(&o, "social_post_deliveries_waiting_for_quota{platform=\"%s\"} %lld\n",
             stats->quota[i].platform, stats->quota[i].deliveries);
    emit(&o,
         "# HELP social_post_account_tokens Connected accounts by how their tokens are stored.\n"
         "# TYPE social_post_account_tokens gauge\n"
         "social_post_account_tokens{stored=\"sealed\"} %lld\n"
         "social_post_account_tokens{stored=\"plain\"} %lld\n",
         stats->tokens_sealed, stats->tokens_plain);
    return o.overflow ? -1 : (int)o.off;
}
