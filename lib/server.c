/*
 * server: options, the thread pool and graceful stop for the FastCGI programs.
 *
 * Stopping: all threads block SIGTERM/SIGINT; one signal thread waits for
 * them, marks libfcgi's shutdown and shuts the listening socket down, which
 * wakes every thread blocked in accept(). Threads finish the request they
 * hold, free their connection and return; main joins them and frees the rest,
 * so a sanitizer build can check that nothing leaks.
 */
#include "server.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "process.h"

#define SP_MAX_THREADS 256

typedef struct {
    const sp_server_spec *spec;
    sp_ctx ctx;
    int listen_fd;
    pthread_t thread;
    atomic_bool in_accept; /* waiting for a connection: safe to interrupt */
    atomic_bool done;
} worker_thread;

static atomic_bool stopping;

static void usage(const sp_server_spec *spec, FILE *out) {
    fprintf(out,
            "Usage: %s [--listen PATH|:PORT|HOST:PORT] [--threads N]\n"
            "%s\n\n"
            "  --listen ADDR   open this socket instead of accepting on fd 0 (the socket\n"
            "                  spawn-fcgi or a systemd socket unit passes)\n"
            "  --threads N     requests served at once, each with its own database\n"
            "                  connection (default %d)\n"
            "  --help          show this help\n\n"
            "Configuration comes from the environment (DATABASE_URL, SUPABASE_JWT_SECRET,\n"
            "SUPABASE_JWKS_FILE, SUPABASE_URL, JWT_AUDIENCE, CORS_ALLOWED_ORIGINS); see README.\n",
            spec->program, spec->summary, spec->default_threads);
}

/* Milliseconds since an arbitrary point, for request durations. */
static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Writes the one log line each request gets. */
static void log_request(const sp_request *r, double ms) {
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "method", r->method);
    cJSON_AddStringToObject(f, "uri", r->document_uri);
    cJSON_AddNumberToObject(f, "status", r->status);
    cJSON_AddNumberToObject(f, "ms", (double)(long)(ms * 100) / 100);
    if (r->user_id[0]) cJSON_AddStringToObject(f, "user", r->user_id);
    if (r->job_id[0]) cJSON_AddStringToObject(f, "job", r->job_id);
    sp_log_event(r->status >= 500 ? SP_LOG_WARN : SP_LOG_INFO, "request", f);
}

/* True when path matches pattern segment by segment; a "*" segment of the
 * pattern matches any one non-empty segment. */
static bool path_matches(const char *pattern, const char *path) {
    for (;;) {
        if (*pattern == '\0' || *path == '\0') return *pattern == *path;
        if (*pattern++ != '/' || *path++ != '/') return false;
        size_t plen = strcspn(pattern, "/"), len = strcspn(path, "/");
        bool wildcard = plen == 1 && *pattern == '*';
        if (wildcard ? len == 0 : plen != len || strncmp(pattern, path, len) != 0) return false;
        pattern += plen;
        path += len;
    }
}

/* Finds r's route and calls it, or answers OPTIONS, 404 or 405 itself. */
static void dispatch(worker_thread *w, sp_request *r) {
    const char *path = strcmp(r->path, "/") == 0 ? "" : r->path;
    const sp_route *route = w->spec->routes;
    while (route->path && !path_matches(route->path, path))
        route++;
    sp_err err;
    if (!route->path) {
        sp_err_set(&err, SP_ERR_NOT_FOUND, "not_found", "no such endpoint");
        sp_http_send_error(r, &err);
        return;
    }
    snprintf(r->allow_buf, sizeof r->allow_buf, "%s, OPTIONS", route->method);
    r->allow = r->allow_buf;
    if (!strcmp(r->method, "OPTIONS")) {
        sp_http_send_options(r);
    } else if (!strcmp(r->method, route->method)) {
        route->handle(&w->ctx, r);
    } else {
        sp_err_set(&err, SP_ERR_METHOD, "method_not_allowed", "use %s", route->method);
        sp_http_send_error(r, &err);
    }
}

/* Serves one accepted request, always with exactly one response. */
static void serve_one(worker_thread *w, FCGX_Request *fcgx) {
    double start = now_ms();
    sp_request r;
    sp_http_request_init(&r, fcgx, w->ctx.cfg->cors_allowed_origins);
    dispatch(w, &r);
    if (!r.status) {
        sp_err err;
        sp_err_set(&err, SP_ERR_INTERNAL, "internal_error", "no response");
        sp_http_send_error(&r, &err);
    }
    sp_db_rollback(w->ctx.db); /* a handler that failed mid-transaction */
    double ms = now_ms() - start;
    sp_metrics_observe(r.status, ms);
    log_request(&r, ms);
    sp_http_request_done(&r);
}

/* Accepts and serves until the program stops. An accept that fails for
 * another reason (out of file descriptors, memory) is retried after a pause:
 * a thread never quietly ends while the program is meant to serve. */
static void *thread_main(void *arg) {
    worker_thread *w = arg;
    FCGX_Request fcgx;
    if (FCGX_InitRequest(&fcgx, w->listen_fd, 0) == 0) {
        while (!atomic_load(&stopping)) {
            atomic_store(&w->in_accept, true);
            int rc = FCGX_Accept_r(&fcgx);
            atomic_store(&w->in_accept, false);
            if (rc < 0) {
                if (atomic_load(&stopping)) break;
                sp_log(SP_LOG_ERROR, "accept failed (%d); trying again in a second", rc);
                sleep(1);
                continue;
            }
            serve_one(w, &fcgx);
            FCGX_Finish_r(&fcgx);
        }
        FCGX_Free(&fcgx, 0);
    }
    atomic_store(&w->done, true);
    return NULL;
}

bool sp_server_stopping(void) {
    return atomic_load(&stopping);
}

/* Interrupts accept() (SIGUSR2 arrives without SA_RESTART); does nothing else. */
static void on_wake_signal(int sig) {
    (void)sig;
}

typedef struct {
    sigset_t *stop_signals;
    worker_thread *threads;
    int nthreads;
} signal_args;

/* Waits for SIGTERM/SIGINT, then wakes the threads waiting in accept until
 * every thread has finished its request and returned. The listening socket
 * itself is left alone: it may be shared with other processes (a systemd
 * socket unit, spawn-fcgi -F) that must go on accepting. */
static void *signal_main(void *arg) {
    signal_args *a = arg;
    int sig = 0;
    sigwait(a->stop_signals, &sig);
    sp_log(SP_LOG_INFO, "signal %d: finishing requests in flight, then exiting", sig);
    atomic_store(&stopping, true);
    FCGX_ShutdownPending();
    struct timespec tick = {.tv_nsec = 50 * 1000 * 1000};
    for (bool all_done = false; !all_done; nanosleep(&tick, NULL)) {
        all_done = true;
        for (int i = 0; i < a->nthreads; i++) {
            if (atomic_load(&a->threads[i].done)) continue;
            all_done = false;
            if (atomic_load(&a->threads[i].in_accept)) pthread_kill(a->threads[i].thread, SIGUSR2);
        }
    }
    return NULL;
}

/* Options of the command line. */
typedef struct {
    const char *listen;
    int threads;
} server_options;

/* Parses argv; returns 0 to run, 1 to exit 0 (help), -1 on a usage error. */
static int parse_options(int argc, char **argv, const sp_server_spec *spec, server_options *o) {
    static const struct option longopts[] = {{"listen", required_argument, NULL, 'l'},
                                             {"threads", required_argument, NULL, 't'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    o->listen = NULL;
    o->threads = spec->default_threads;
    int c;
    while ((c = getopt_long(argc, argv, "l:t:h", longopts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'l':
            o->listen = optarg;
            break;
        case 't':
            o->threads = (int)strtol(optarg, &end, 10);
            if (!end || *end || o->threads < 1 || o->threads > SP_MAX_THREADS) {
                fprintf(stderr, "%s: --threads must be 1..%d\n", spec->program, SP_MAX_THREADS);
                return -1;
            }
            break;
        case 'h':
            usage(spec, stdout);
            return 1;
        default:
            usage(spec, stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument %s\n", spec->program, argv[optind]);
        return -1;
    }
    return 0;
}

/* Opens --listen's socket, or checks that fd 0 is one. */
static int open_listener(const server_options *o, const char *program) {
    if (o->listen) {
        int fd = FCGX_OpenSocket(o->listen, 128);
        if (fd < 0) sp_log(SP_LOG_ERROR, "cannot listen on %s", o->listen);
        return fd;
    }
    int type;
    socklen_t len = sizeof type;
    if (getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &len) != 0) {
        fprintf(stderr,
                "%s: standard input is not a socket; start it under spawn-fcgi or a systemd "
                "socket unit, or pass --listen\n",
                program);
        return -1;
    }
    return 0;
}

/* Starts the threads, waits for them, and frees their connections. */
/* Starts the threads and the signal thread, waits for them, and frees the
 * threads' connections. */
static int run_threads(const sp_server_spec *spec, sp_ctx shared, int fd, int nthreads,
                       sigset_t *stop_signals) {
    worker_thread *threads = calloc((size_t)nthreads, sizeof *threads);
    if (!threads) return -1;
    int started = 0;
    for (; started < nthreads; started++) {
        worker_thread *w = &threads[started];
        w->spec = spec;
        w->ctx = shared;
        w->listen_fd = fd;
        w->ctx.db = sp_db_new(shared.cfg->database_url);
        if (!w->ctx.db || pthread_create(&w->thread, NULL, thread_main, w) != 0) {
            sp_db_free(w->ctx.db);
            break;
        }
    }
    signal_args args = {.stop_signals = stop_signals, .threads = threads, .nthreads = started};
    pthread_t signal_thread;
    bool signals_handled = pthread_create(&signal_thread, NULL, signal_main, &args) == 0;
    if (started < nthreads || !signals_handled) {
        sp_log(SP_LOG_ERROR, "could not start %d threads; stopping", nthreads);
        kill(getpid(), SIGTERM); /* the signal thread stops the started ones */
    }
    for (int i = 0; i < started; i++) {
        pthread_join(threads[i].thread, NULL);
        sp_db_free(threads[i].ctx.db);
    }
    if (signals_handled) pthread_join(signal_thread, NULL);
    free(threads);
    return started == nthreads && signals_handled ? 0 : -1;
}

int sp_server_main(int argc, char **argv, const sp_server_spec *spec) {
    server_options opts;
    int parsed = parse_options(argc, argv, spec, &opts);
    if (parsed != 0) return parsed > 0 ? 0 : 2;
    sigset_t stop_signals;
    sp_process_init(spec->program, &stop_signals);

    int status = 1;
    sp_err err;
    sp_err_clear(&err);
    sp_config cfg;
    sp_jwt_verifier *jwt = NULL;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (sp_config_load(&cfg, &err) < 0) goto done;
    jwt = sp_jwt_verifier_new(&cfg, &err);
    if (!jwt) goto done;
    if (FCGX_Init() != 0) {
        sp_err_set(&err, SP_ERR_INTERNAL, "fcgi", "FCGX_Init failed");
        goto done;
    }
    int listen_fd = open_listener(&opts, spec->program);
    if (listen_fd < 0) goto done;
    struct sigaction wake = {.sa_handler = on_wake_signal}; /* no SA_RESTART */
    sigemptyset(&wake.sa_mask);
    sigaction(SIGUSR2, &wake, NULL);
    sp_log(SP_LOG_INFO, "serving with %d threads", opts.threads);
    sp_ctx shared = {.threads = opts.threads, .cfg = &cfg, .jwt = jwt, .db = NULL};
    int rc = run_threads(spec, shared, listen_fd, opts.threads, &stop_signals);
    status = rc == 0 ? 0 : 1;
    sp_log(SP_LOG_INFO, "stopped");
done:
    if (status != 0 && err.kind != SP_OK) sp_log(SP_LOG_ERROR, "%s", err.msg);
    sp_jwt_verifier_free(jwt);
    sp_config_free(&cfg);
    curl_global_cleanup();
    return status;
}
