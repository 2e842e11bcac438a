/*
 * flags: the worker's command line and its defaults. Every option is
 * documented in usage(), which --help prints.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/rand.h"
#include "worker.h"

static void usage(FILE *out) {
    fprintf(out, "Usage: social-post-worker [options]\n"
                 "Posts queued jobs' videos to their platforms.\n\n"
                 "  --concurrency N       deliveries worked on at once (default 2)\n"
                 "  --per-user N          deliveries of one user worked on at once (default\n"
                 "                        half the concurrency, at least 1)\n"
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
                 "  --webhook-backoff SECONDS  wait before a webhook's second attempt,\n"
                 "                        doubled per attempt up to an hour (default 5)\n"
                 "  --webhook-give-up SECONDS  start no attempt this long after the event\n"
                 "                        (default 86400: a day)\n"
                 "  --reseal-tokens       seal every account's tokens with the first key of\n"
                 "                        SOCIAL_POST_TOKEN_KEYS (plain rows too), then exit\n"
                 "  --allow-plain-tokens  start although SOCIAL_POST_TOKEN_KEYS is set and\n"
                 "                        some accounts' tokens are stored in clear\n"
                 "  --version             print the version and exit\n"
                 "  --help                show this help\n\n"
                 "Configuration comes from the environment (DATABASE_URL, YOUTUBE_UPLOAD_URL,\n"
                 "GOOGLE_TOKEN_URL, GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET, FACEBOOK_GRAPH_URL,\n"
                 "FACEBOOK_VIDEO_URL, SOCIAL_POST_SPOOL_DIR, SOCIAL_POST_WEBHOOK_SECRET, ...);\n"
                 "see README.\n");
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
int sp_worker_parse_flags(int argc, char **argv, sp_worker *w) {
    enum {
        O_CONC = 1,
        O_PER_USER,
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
        O_WH_BACKOFF,
        O_WH_GIVE_UP,
        O_RESEAL,
        O_ALLOW_PLAIN,
        O_HELP,
        O_VERSION
    };
    static const struct option opts[] = {{"concurrency", required_argument, NULL, O_CONC},
                                         {"per-user", required_argument, NULL, O_PER_USER},
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
                                         {"webhook-backoff", required_argument, NULL, O_WH_BACKOFF},
                                         {"webhook-give-up", required_argument, NULL, O_WH_GIVE_UP},
                                         {"reseal-tokens", no_argument, NULL, O_RESEAL},
                                         {"allow-plain-tokens", no_argument, NULL, O_ALLOW_PLAIN},
                                         {"help", no_argument, NULL, O_HELP},
                                         {"version", no_argument, NULL, O_VERSION},
                                         {NULL, 0, NULL, 0}};
    int c;
    double v = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_CONC:
            v = number_arg("concurrency", optarg, 1, SP_MAX_CONCURRENCY);
            w->concurrency = (int)v;
            break;
        case O_PER_USER:
            v = number_arg("per-user", optarg, 1, SP_MAX_CONCURRENCY);
            w->per_user = (int)v;
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
        case O_WH_BACKOFF:
            v = number_arg("webhook-backoff", optarg, 0.01, 3600);
            w->webhook_policy.backoff_base = v;
            break;
        case O_WH_GIVE_UP:
            v = number_arg("webhook-give-up", optarg, 1, 30 * 86400);
            w->webhook_policy.give_up_age = v;
            break;
        case O_RESEAL:
            w->reseal_tokens = true;
            break;
        case O_ALLOW_PLAIN:
            w->allow_plain_tokens = true;
            break;
        case O_HELP:
            usage(stdout);
            return 1;
        case O_VERSION:
            printf("social-post-worker %s\n", SP_VERSION);
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
    if (w->per_user == 0) w->per_user = w->concurrency / 2 > 1 ? w->concurrency / 2 : 1;
    return 0;
}

void sp_worker_defaults(sp_worker *w) {
    memset(w, 0, sizeof *w);
    w->concurrency = 2;
    w->lease_seconds = 30;
    w->grace_seconds = 25;
    w->poll_seconds = 30;
    w->max_video_bytes = 16LL * 1024 * 1024 * 1024;
    w->ig_poll_base = 5;
    w->ig_deadline = 1800;
    w->policy = (sp_retry_policy){.max_attempts = 8, .backoff_base = 10, .backoff_max = 900};
    w->webhook_policy =
        (sp_webhook_policy){.backoff_base = 5, .backoff_max = 3600, .give_up_age = 86400};
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    for (char *c = host; *c; c++) /* owners go into SQL array literals: keep them plain */
        if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-') *c = '-';
    snprintf(w->owner, sizeof w->owner, "%s:%d:%08lx", host, (int)getpid(),
             (unsigned long)(sp_rand_u64() & 0xffffffffu));
    pthread_mutex_init(&w->lock, NULL);
    pthread_mutex_init(&w->claim_lock, NULL);
    /* waits measured on the monotonic clock: a wall-clock step must not make
     * the lease keeper oversleep */
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &attr);
    pthread_condattr_destroy(&attr);
    w->listener_stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); /* -1: it polls each second */
}
