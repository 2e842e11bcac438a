/*
 * flags: the worker's command line and its defaults, as one table with a row
 * per option (name, argument, help, setter). getopt_long's options and
 * --help are both made from the table, so an option cannot be accepted
 * without being documented, or documented without being accepted. A numeric
 * option names the field it sets (its offset in sp_worker) and its range;
 * the setter turns the checked number into the field's type.
 */
#include <ctype.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/rand.h"
#include "worker.h"

typedef struct flag flag;

/* Applies a flag's argument (NULL for a flag without one) to w: 0 to go on,
 * 1 to exit 0 (--help, --version), -1 on misuse (said on stderr). */
typedef int (*flag_setter)(const flag *f, const char *arg, sp_worker *w);

struct flag {
    const char *name; /* without the leading dashes */
    const char *arg;  /* the argument's name in --help, NULL: takes none */
    const char *help; /* one or more lines ('\n' between them) */
    flag_setter set;  /* what the flag does */
    size_t field;     /* numbers: offsetof the sp_worker field set */
    double min, max;  /* numbers: the accepted range */
};

/* Checks a numeric argument against f's range; the number, or -1 when
 * malformed or out of range (said on stderr). Every range is >= 0. */
static double number_arg(const flag *f, const char *text) {
    char *end = NULL;
    double v = strtod(text, &end);
    if (!end || end == text || *end || !(v >= f->min && v <= f->max)) {
        fprintf(stderr, "social-post-worker: --%s must be a number from %g to %g\n", f->name,
                f->min, f->max);
        return -1;
    }
    return v;
}

/* The sp_worker field a numeric flag sets. */
static void *field_of(const flag *f, sp_worker *w) {
    return (char *)w + f->field;
}

/* Sets an int field (counts). */
static int set_int(const flag *f, const char *arg, sp_worker *w) {
    double v = number_arg(f, arg);
    if (v < 0) return -1;
    *(int *)field_of(f, w) = (int)v;
    return 0;
}

/* Sets a double field (seconds). */
static int set_seconds(const flag *f, const char *arg, sp_worker *w) {
    double v = number_arg(f, arg);
    if (v < 0) return -1;
    *(double *)field_of(f, w) = v;
    return 0;
}

/* Sets a long long field (bytes). */
static int set_bytes(const flag *f, const char *arg, sp_worker *w) {
    double v = number_arg(f, arg);
    if (v < 0) return -1;
    *(long long *)field_of(f, w) = (long long)v;
    return 0;
}

/* --once: work off what is ready, then exit. */
static int set_once(const flag *f, const char *arg, sp_worker *w) {
    (void)f, (void)arg;
    w->once = true;
    return 0;
}

/* --reseal-tokens: seal every account row with the current key, then exit. */
static int set_reseal(const flag *f, const char *arg, sp_worker *w) {
    (void)f, (void)arg;
    w->reseal_tokens = true;
    return 0;
}

/* --allow-plain-tokens: start beside plain rows although a key is set. */
static int set_allow_plain(const flag *f, const char *arg, sp_worker *w) {
    (void)f, (void)arg;
    w->allow_plain_tokens = true;
    return 0;
}

/* --help: the usage on stdout, then exit 0. */
static int show_help(const flag *f, const char *arg, sp_worker *w);

/* --version: the version on stdout, then exit 0. */
static int show_version(const flag *f, const char *arg, sp_worker *w) {
    (void)f, (void)arg, (void)w;
    printf("social-post-worker %s\n", SP_VERSION);
    return 1;
}

#define FIELD(member) offsetof(sp_worker, member)

/* One row per option, in the order --help lists them. */
static const flag flags[] = {
    {"concurrency", "N", "deliveries worked on at once (default 2)", set_int, FIELD(concurrency), 1,
     SP_MAX_CONCURRENCY},
    {"per-user", "N",
     "deliveries of one user worked on at once (default\nhalf the concurrency, at least 1)",
     set_int, FIELD(per_user), 1, SP_MAX_CONCURRENCY},
    {"db-connections", "N",
     "database connections the slots, the lease keeper and\nthe webhook senders share, each "
     "borrowed for one call\n(the listener has one more; default 4)",
     set_int, FIELD(db_connections), 1, SP_DB_POOL_MAX},
    {"once", NULL, "work off what is ready now, then exit (for cron)", set_once, 0, 0, 0},
    {"max-runtime", "SECONDS", "stop claiming after this long, finish, exit 0", set_seconds,
     FIELD(max_runtime), 1, 1e7},
    {"lease", "SECONDS",
     "how long a claim lasts without renewal (default 30;\nrenewed every third of it)", set_int,
     FIELD(lease_seconds), 3, 3600},
    {"grace", "SECONDS",
     "on SIGTERM or at --max-runtime, time for steps to end:\ntransfers go on for two thirds "
     "of it, then steps end\nat a safe point (default 25)",
     set_seconds, FIELD(grace_seconds), 0, 3600},
    {"poll", "SECONDS", "fallback poll when no notification comes (default 30)", set_seconds,
     FIELD(poll_seconds), 0.1, 3600},
    {"backoff-base", "SECONDS", "first retry delay, doubled per retry (default 10)", set_seconds,
     FIELD(policy.backoff_base), 0.01, 3600},
    {"max-attempts", "N", "transient failures before a platform fails (default 8)", set_int,
     FIELD(policy.max_attempts), 1, 1000},
    {"max-video-bytes", "N", "largest video accepted (default 17179869184)", set_bytes,
     FIELD(max_video_bytes), 1, 1e13},
    {"ig-poll", "SECONDS",
     "first wait before checking Instagram's processing,\ngrowing 1.5x per check up to 60 "
     "(default 5)",
     set_seconds, FIELD(ig_poll_base), 0.1, 3600},
    {"ig-deadline", "SECONDS", "fail a reel Instagram has not processed by then\n(default 1800)",
     set_seconds, FIELD(ig_deadline), 1, 86400},
    {"webhook-backoff", "SECONDS",
     "wait before a webhook's second attempt,\ndoubled per attempt up to an hour (default 5)",
     set_seconds, FIELD(webhook_policy.backoff_base), 0.01, 3600},
    {"webhook-give-up", "SECONDS",
     "start no attempt this long after the event\n(default 86400: a day)", set_seconds,
     FIELD(webhook_policy.give_up_age), 1, 30 * 86400},
    {"reseal-tokens", NULL,
     "seal every account's tokens with the first key of\nSOCIAL_POST_TOKEN_KEYS (plain rows "
     "too), then exit",
     set_reseal, 0, 0, 0},
    {"allow-plain-tokens", NULL,
     "start although SOCIAL_POST_TOKEN_KEYS is set and\nsome accounts' tokens are stored in clear",
     set_allow_plain, 0, 0, 0},
    {"retention-days", "DAYS",
     "remove finished deliveries' checkpoints and errors,\nand finished webhook events, this "
     "long after\nthey ended (default 30; 0 keeps them)",
     set_seconds, FIELD(retention_days), 0, 36500},
    {"job-retention-days", "DAYS",
     "remove finished jobs this long after they ended\n(default 0: jobs are kept)", set_seconds,
     FIELD(job_retention_days), 0, 36500},
    {"version", NULL, "print the version and exit", show_version, 0, 0, 0},
    {"help", NULL, "show this help", show_help, 0, 0, 0},
};

#define NFLAGS (sizeof flags / sizeof flags[0])

/* getopt_long answers FLAG_VAL + a row's index: clear of '?' and of -1. */
#define FLAG_VAL 256

/* Where help texts start: two spaces, "--", the widest usual name and
 * argument; a longer one is followed by two spaces instead. */
#define HELP_COLUMN 24

/* Prints the usage, every row of the table, and where configuration comes from. */
static void usage(FILE *out) {
    fprintf(out, "Usage: social-post-worker [options]\n"
                 "Posts queued jobs' videos to their platforms.\n\n");
    for (size_t i = 0; i < NFLAGS; i++) {
        int n = fprintf(out, "  --%s%s%s", flags[i].name, flags[i].arg ? " " : "",
                        flags[i].arg ? flags[i].arg : "");
        fprintf(out, "%*s", n < HELP_COLUMN ? HELP_COLUMN - n : 2, "");
        for (const char *line = flags[i].help; *line;) {
            size_t len = strcspn(line, "\n");
            fprintf(out, "%.*s\n", (int)len, line);
            line += len;
            if (*line == '\n' && *++line) fprintf(out, "%*s", HELP_COLUMN, "");
        }
    }
    fprintf(out, "\nConfiguration comes from the environment (DATABASE_URL, YOUTUBE_UPLOAD_URL,\n"
                 "GOOGLE_TOKEN_URL, GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET, FACEBOOK_GRAPH_URL,\n"
                 "FACEBOOK_VIDEO_URL, SOCIAL_POST_SPOOL_DIR, SOCIAL_POST_WEBHOOK_SECRET, ...);\n"
                 "see README.\n");
}

/* --help (declared above the table). */
static int show_help(const flag *f, const char *arg, sp_worker *w) {
    (void)f, (void)arg, (void)w;
    usage(stdout);
    return 1;
}

/* Fills w's settings from argv; 0 to run, 1 to exit 0 (help), -1 on misuse. */
int sp_worker_parse_flags(int argc, char **argv, sp_worker *w) {
    struct option opts[NFLAGS + 1];
    for (size_t i = 0; i < NFLAGS; i++)
        opts[i] = (struct option){flags[i].name, flags[i].arg ? required_argument : no_argument,
                                  NULL, FLAG_VAL + (int)i};
    opts[NFLAGS] = (struct option){NULL, 0, NULL, 0};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c < FLAG_VAL || (size_t)(c - FLAG_VAL) >= NFLAGS) { /* '?': unknown, or no argument */
            usage(stderr);
            return -1;
        }
        const flag *f = &flags[c - FLAG_VAL];
        int rc = f->set(f, optarg, w);
        if (rc != 0) return rc;
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
    w->db_connections = 4;
    w->retention_days = 30;
    /* benchmarks compare with 0 (every report); not a flag: DESIGN.md's list */
    const char *every = getenv("SOCIAL_POST_PROGRESS_EVERY");
    w->progress_every = every && *every ? atof(every) : 1.0;
    if (!(w->progress_every >= 0 && w->progress_every <= 3600)) w->progress_every = 1.0;
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
    const char *named = getenv("SOCIAL_POST_WORKER_HOST"); /* tests: several "hosts" on one */
    if (named && *named)
        snprintf(host, sizeof host, "%s", named);
    else
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
    pthread_cond_init(&w->webhook_wake, &attr);
    pthread_condattr_destroy(&attr);
    w->listener_stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); /* -1: it polls each second */
}
