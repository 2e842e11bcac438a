/*
 * server: options, the thread pool and graceful stop for the FastCGI programs.
 *
 * Stopping: all threads block SIGTERM/SIGINT; one signal thread waits for
 * them, marks libfcgi's shutdown and shuts the listening socket down, which
 * wakes every thread blocked in accept(). Threads finish the request they
 * hold, free their connection and return; main joins them and frees the rest,
 * so a sanitizer build can check that nothing leaks.
 */
#include "api/server.h"

#include <curl/curl.h>
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

#include "api/metrics.h"
#include "api/router.h"
#include "api/server_flags.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/process.h"

typedef struct {
    const sp_server_spec *spec;
    sp_ctx ctx;
    int listen_fd;
    pthread_t thread;
    atomic_bool in_accept; /* waiting for a connection: safe to interrupt */
    atomic_bool done;
} worker_thread;

static atomic_bool stopping;

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

/* Serves one accepted request, always with exactly one response. */
static void serve_one(worker_thread *w, FCGX_Request *fcgx) {
    double start = sp_clock_monotonic();
    sp_request r;
    sp_request_init(&r, fcgx, w->ctx.cfg->cors_allowed_origins);
    sp_router_dispatch(w->spec->routes, &w->ctx, &r);
    if (!r.status) {
        sp_err err;
        sp_err_set(&err, SP_ERR_INTERNAL, "internal_error", "no response");
        sp_response_send_error(&r, &err);
    }
    sp_db_rollback(w->ctx.db); /* a handler that failed mid-transaction */
    double ms = (sp_clock_monotonic() - start) * 1000.0;
    sp_metrics_observe(r.status, ms);
    log_request(&r, ms);
    sp_request_done(&r);
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

/* Opens --listen's socket, or checks that fd 0 is one. */
static int open_listener(const sp_server_flags *o, const char *program) {
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
    sp_server_flags opts;
    int parsed = sp_server_flags_parse(argc, argv, spec, &opts);
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
