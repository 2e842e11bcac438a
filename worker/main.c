/*
 * social-post-worker: drains the delivery queue.
 *
 * main parses flags, starts the slots, the lease keeper and the listener, and
 * handles stopping: SIGTERM/SIGINT or --max-runtime stop claiming and let
 * steps end at a safe point (uploads checkpoint between chunks); after the
 * grace period transfers are aborted. Leases still held are then released so
 * another worker continues at once, and the process exits 0.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "process.h"
#include "queue.h"
#include "spool.h"
#include "worker.h"

void sp_worker_wake(sp_worker *w) {
    pthread_mutex_lock(&w->lock);
    w->wake_seq++;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

void sp_worker_wait(sp_worker *w, double seconds) {
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until); /* the condition variable's clock */
    long long ns = (long long)until.tv_nsec + (long long)(seconds * 1e9);
    until.tv_sec += (time_t)(ns / 1000000000LL);
    until.tv_nsec = (long)(ns % 1000000000LL);
    pthread_mutex_lock(&w->lock);
    unsigned long seen = w->wake_seq;
    while (w->wake_seq == seen && !atomic_load(&w->stopping)) {
        if (pthread_cond_timedwait(&w->wake, &w->lock, &until) == ETIMEDOUT) break;
    }
    pthread_mutex_unlock(&w->lock);
}

static void usage(FILE *out) {
    fprintf(out, "Usage: social-post-worker [options]\n"
                 "Posts queued jobs' videos to their platforms.\n\n"
                 "  --concurrency N       deliveries worked on at once (default 2)\n"
                 "  --once                work off what is ready now, then exit (for cron)\n"
                 "  --max-runtime SECONDS stop claiming after this long, finish, exit 0\n"
                 "  --lease SECONDS       how long a claim lasts without renewal (default 30;\n"
                 "                        renewed every third of it)\n"
                 "  --grace SECONDS       on SIGTERM, time to end steps cleanly (default 25)\n"
                 "  --poll SECONDS        fallback poll when no notification comes (default 30)\n"
                 "  --backoff-base SECONDS  first retry delay, doubled per retry (default 10)\n"
                 "  --max-attempts N      transient failures before a platform fails (default 8)\n"
                 "  --max-video-bytes N   largest video accepted (default 17179869184)\n"
                 "  --ig-poll SECONDS     first wait before checking Instagram's processing,\n"
                 "                        growing 1.5x per check up to 60 (default 5)\n"
                 "  --ig-deadline SECONDS fail a reel Instagram has not processed by then\n"
                 "                        (default 1800)\n"
                 "  --help                show this help\n\n"
                 "Configuration comes from the environment (DATABASE_URL, YOUTUBE_UPLOAD_URL,\n"
                 "GOOGLE_TOKEN_URL, GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET, FACEBOOK_GRAPH_URL,\n"
                 "FACEBOOK_VIDEO_URL, SOCIAL_POST_SPOOL_DIR); see README.\n");
}

/* Parses a positive number option; -1 when malformed. */
static double number_arg(const char *name, const char *text, double min, double max) {
    char *end = NULL;
    double v = strtod(text, &end);
    if (!end || *end || v < min || v > max) {
        fprintf(stderr, "social-post-worker: --%s must be a number from %g to %g\n", name, min,
                max);
        return -1;
    }
    return v;
}

/* Fills w's settings from argv; 0 to run, 1 to exit 0 (help), -1 on misuse. */
static int parse_flags(int argc, char **argv, sp_worker *w) {
    enum {
        O_CONC = 1,
        O_ONCE,
        O_RUNTIME,
        O_LEASE,
        O_GRACE,
        O_POLL,
        O_BACKOFF,
        O_ATTEMPTS,
        O_MAXBYTES,
        O_IG_POLL,
        O_IG_DEADLINE,
        O_HELP
    };
    static const struct option opts[] = {{"concurrency", required_argument, NULL, O_CONC},
                                         {"once", no_argument, NULL, O_ONCE},
                                         {"max-runtime", required_argument, NULL, O_RUNTIME},
                                         {"lease", required_argument, NULL, O_LEASE},
                                         {"grace", required_argument, NULL, O_GRACE},
                                         {"poll", required_argument, NULL, O_POLL},
                                         {"backoff-base", required_argument, NULL, O_BACKOFF},
                                         {"max-attempts", required_argument, NULL, O_ATTEMPTS},
                                         {"max-video-bytes", required_argument, NULL, O_MAXBYTES},
                                         {"ig-poll", required_argument, NULL, O_IG_POLL},
                                         {"ig-deadline", required_argument, NULL, O_IG_DEADLINE},
                                         {"help", no_argument, NULL, O_HELP},
                                         {NULL, 0, NULL, 0}};
    int c;
    double v = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_CONC:
            v = number_arg("concurrency", optarg, 1, SP_MAX_CONCURRENCY);
            w->concurrency = (int)v;
            break;
        case O_ONCE:
            w->once = true;
            break;
        case O_RUNTIME:
            v = number_arg("max-runtime", optarg, 1, 1e7);
            w->max_runtime = v;
            break;
        case O_LEASE:
            v = number_arg("lease", optarg, 3, 3600);
            w->lease_seconds = (int)v;
            break;
        case O_GRACE:
            v = number_arg("grace", optarg, 0, 3600);
            w->grace_seconds = v;
            break;
        case O_POLL:
            v = number_arg("poll", optarg, 0.1, 3600);
            w->poll_seconds = v;
            break;
        case O_BACKOFF:
            v = number_arg("backoff-base", optarg, 0.01, 3600);
            w->policy.backoff_base = v;
            break;
        case O_ATTEMPTS:
            v = number_arg("max-attempts", optarg, 1, 1000);
            w->policy.max_attempts = (int)v;
            break;
        case O_MAXBYTES:
            v = number_arg("max-video-bytes", optarg, 1, 1e13);
            w->max_video_bytes = (long long)v;
            break;
        case O_IG_POLL:
            v = number_arg("ig-poll", optarg, 0.1, 3600);
            w->ig_poll_base = v;
            break;
        case O_IG_DEADLINE:
            v = number_arg("ig-deadline", optarg, 1, 86400);
            w->ig_deadline = v;
            break;
        case O_HELP:
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return -1;
        }
        if (v < 0) return -1;
    }
    if (optind < argc) {
        fprintf(stderr, "social-post-worker: unexpected argument %s\n", argv[optind]);
        return -1;
    }
    return 0;
}

static void set_defaults(sp_worker *w) {
    memset(w, 0, sizeof *w);
    w->concurrency = 2;
    w->lease_seconds = 30;
    w->grace_seconds = 25;
    w->poll_seconds = 30;
    w->max_video_bytes = 16LL * 1024 * 1024 * 1024;
    w->ig_poll_base = 5;
    w->ig_deadline = 1800;
    w->policy = (sp_retry_policy){.max_attempts = 8, .backoff_base = 10, .backoff_max = 900};
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    for (char *c = host; *c; c++) /* owners go into SQL array literals: keep them plain */
        if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-') *c = '-';
    srandom((unsigned)time(NULL) ^ (unsigned)getpid());
    snprintf(w->owner, sizeof w->owner, "%s:%d:%08lx", host, (int)getpid(),
             (unsigned long)random());
    pthread_mutex_init(&w->lock, NULL);
    /* waits measured on the monotonic clock: a wall-clock step must not make
     * the lease keeper oversleep */
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &attr);
    pthread_condattr_destroy(&attr);
}

typedef struct {
    sp_worker *w;
    sigset_t *signals;
} stopper_args;

/* Waits for a stop signal or the run-time limit, then for the grace period. */
static void *stopper_main(void *arg) {
    stopper_args *a = arg;
    sp_worker *w = a->w;
    struct timespec limit = {.tv_sec = w->max_runtime > 0 ? (time_t)w->max_runtime : 365 * 86400};
    siginfo_t info;
    int sig = sigtimedwait(a->signals, &info, &limit);
    if (sig > 0 || w->max_runtime > 0) {
        sp_log(SP_LOG_INFO, "%s: no new claims; ending steps within %.0f s",
               sig > 0 ? "stop signal" : "max runtime reached", w->grace_seconds);
        atomic_store(&w->stopping, true);
        sp_worker_wake(w);
    }
    double waited = 0;
    struct timespec tick = {.tv_nsec = 100 * 1000 * 1000};
    while (atomic_load(&w->slots_running) > 0 && waited < w->grace_seconds) {
        nanosleep(&tick, NULL);
        waited += 0.1;
    }
    atomic_store(&w->hard_stop, true);
    return NULL;
}

/* Takes the configuration: SOCIAL_POST_SPOOL_DIR, or a folder in the temp dir. */
static void use_config(sp_worker *w, const sp_config *cfg) {
    w->cfg = cfg;
    const char *tmp = getenv("TMPDIR");
    if (cfg->spool_dir)
        snprintf(w->spool_dir, sizeof w->spool_dir, "%s", cfg->spool_dir);
    else
        snprintf(w->spool_dir, sizeof w->spool_dir, "%s/social-post-spool",
                 tmp && *tmp ? tmp : "/tmp");
}

/* Starts the threads and waits for the slots; returns how many started. */
static int run(sp_worker *w, sigset_t *signals) {
    pthread_t *slots = calloc((size_t)w->concurrency, sizeof *slots);
    sp_slot *args = calloc((size_t)w->concurrency, sizeof *args);
    if (!slots || !args) {
        free(slots);
        free(args);
        return 0;
    }
    pthread_t keeper, listener, stopper;
    stopper_args sa = {.w = w, .signals = signals};
    int started = 0;
    atomic_store(&w->slots_running, w->concurrency);
    for (; started < w->concurrency; started++) {
        args[started] = (sp_slot){.w = w, .index = started};
        if (pthread_create(&slots[started], NULL, sp_slot_main, &args[started]) != 0) break;
    }
    atomic_store(&w->slots_running, started);
    pthread_create(&keeper, NULL, sp_lease_keeper_main, w);
    pthread_create(&listener, NULL, sp_wakeup_main, w);
    pthread_create(&stopper, NULL, stopper_main, &sa);
    for (int i = 0; i < started; i++)
        pthread_join(slots[i], NULL);
    pthread_cancel(stopper); /* still waiting when --once ended the slots */
    pthread_join(stopper, NULL);
    sp_worker_wake(w);
    pthread_join(keeper, NULL);
    pthread_join(listener, NULL);
    free(slots);
    free(args);
    return started;
}

/* Puts back whatever this process still holds, so nobody waits for a lease. */
static void release_leases(sp_worker *w) {
    sp_db *db = sp_db_new(w->cfg->database_url);
    sp_err err;
    int n = db ? sp_queue_release_all(db, w->owner, &err) : -1;
    if (n < 0)
        sp_log(SP_LOG_WARN, "could not release leases (they lapse in %d s): %s", w->lease_seconds,
               db ? err.msg : "out of memory");
    else if (n > 0)
        sp_log(SP_LOG_INFO, "released %d deliveries for other workers", n);
    sp_db_free(db);
}

int main(int argc, char **argv) {
    sigset_t signals;
    sp_process_init("social-post-worker", &signals);
    sp_config cfg;
    sp_err err;
    sp_worker w;
    int status = 1;
    set_defaults(&w);
    int parsed = parse_flags(argc, argv, &w);
    if (parsed != 0) return parsed > 0 ? 0 : 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (sp_config_load(&cfg, &err) < 0) {
        sp_log(SP_LOG_ERROR, "%s", err.msg);
        goto done;
    }
    use_config(&w, &cfg);
    if (sp_spool_init(w.spool_dir, &err) < 0) {
        sp_log(SP_LOG_ERROR, "%s", err.msg);
        goto done;
    }
    sp_log(SP_LOG_INFO, "worker %s starting: concurrency %d, lease %d s%s", w.owner, w.concurrency,
           w.lease_seconds, w.once ? ", once" : "");
    if (run(&w, &signals) == w.concurrency) status = 0;
    release_leases(&w);
    sp_log(SP_LOG_INFO, "worker stopped");
done:
    sp_config_free(&cfg);
    curl_global_cleanup();
    return status;
}
