/*
 * server: options, the threads and graceful stop for the FastCGI programs.
 *
 * Threads: a fixed pool of worker threads, each with its own database
 * connection, waiting together for the next connection with a request
 * (dispatcher.c); the status program adds one long-poll waker (long_poll.c). A
 * request is finished in one place (finish_request), whether a worker
 * answered it or the waker answered it after it was parked.
 *
 * Stopping: all threads block SIGTERM/SIGINT; one signal thread waits for
 * them, has the waker answer every parked long-poll and stops the
 * dispatcher, which serves what already reached the program and then lets
 * the workers return. libfcgi's own shutdown flag is never set: it fails
 * every later read, which would drop a request accepted a moment before the
 * signal. Main joins the threads and frees the rest, so a sanitizer build
 * can check that nothing leaks. The listening socket itself is left alone:
 * it may be shared with other processes (a systemd socket unit, spawn-fcgi
 * -F) that must go on accepting.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/dispatcher.h"
#include "api/long_poll.h"
#include "api/metrics.h"
#include "api/router.h"
#include "api/server_flags.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/process.h"

typedef struct server server;

typedef struct {
    server *srv;
    sp_ctx ctx;
    pthread_t thread;
    FCGX_Request *serving; /* the request this thread is on, or NULL */
} worker_thread;

struct server {
    const sp_server_spec *spec;
    sp_dispatcher *dispatcher;
    sp_long_poll *long_poll; /* NULL unless the program parks long-polls */
    worker_thread *workers;
    int nworkers;
};

static atomic_bool stopping;

/* Writes the one log line each request gets. */
static void log_request(const sp_request *r, double ms) {
    sp_log_field f[6] = {
        {.key = "method", .str = r->method},
        {.key = "uri", .str = r->document_uri},
        {.key = "status", .num = r->status},
        {.key = "ms", .num = (double)(long)(ms * 100) / 100},
    };
    int n = 4;
    if (r->user_id[0]) f[n++] = (sp_log_field){.key = "user", .str = r->user_id};
    if (r->job_id[0]) f[n++] = (sp_log_field){.key = "job", .str = r->job_id};
    sp_log_fields(r->status >= 500 ? SP_LOG_WARN : SP_LOG_INFO, "request", f, n);
}

/* Counts, logs and finishes an answered request; its connection goes back
 * to the dispatcher when nginx keeps it. */
static void finish_request(server *srv, sp_request *r) {
    double seconds = sp_clock_monotonic() - r->started;
    sp_metrics_observe(r->status, seconds);
    log_request(r, seconds * 1000.0);
    sp_request_done(r);
    sp_dispatcher_finish(srv->dispatcher, r->fcgx);
}

/* The long-poll waker's callback for a parked request it answered. */
static void parked_done(void *arg, sp_request *r) {
    finish_request(arg, r);
}

/* The worker's database calls' abort check: the client of the request
 * being served has gone (the answer would be thrown away), or the handler's
 * promised answer time has come. */
static bool must_stop_waiting(void *arg) {
    worker_thread *w = arg;
    if (w->ctx.answer_by > 0 && sp_clock_monotonic() >= w->ctx.answer_by) return true;
    return w->serving && sp_dispatcher_peer_gone(w->serving);
}

/* Serves one request: exactly one response, now or (parked) later. A
 * request whose client has gone is not served (logged as nginx's 499). */
static void serve_one(worker_thread *w, FCGX_Request *fcgx) {
    sp_request r;
    sp_request_init(&r, fcgx, w->ctx.cfg->cors_allowed_origins);
    r.started = sp_clock_monotonic();
    if (sp_dispatcher_peer_gone(fcgx)) {
        r.status = 499;
        fcgx->keepConnection = 0;
        finish_request(w->srv, &r);
        return;
    }
    w->serving = fcgx;
    w->ctx.answer_by = 0;
    sp_router_dispatch(w->srv->spec->routes, &w->ctx, &r);
    w->serving = NULL;
    w->ctx.answer_by = 0;
    sp_db_rollback(w->ctx.db); /* a handler that failed mid-transaction */
    if (r.parked) return;      /* the waker answers and finishes it */
    if ((!r.status || r.status >= 500) && sp_dispatcher_peer_gone(fcgx)) {
        r.status = 499; /* gone meanwhile (its database call abandoned): nobody read it */
        fcgx->keepConnection = 0;
    }
    if (!r.status) {
        sp_err err;
        sp_err_set(&err, SP_ERR_INTERNAL, "internal_error", "no response");
        sp_response_send_error(&r, &err);
    }
    finish_request(w->srv, &r);
}

/* Serves the requests of the connections the dispatcher wakes it for until it stops. */
static void *worker_main(void *arg) {
    worker_thread *w = arg;
    FCGX_Request *fcgx;
    while (sp_dispatcher_next(w->srv->dispatcher, &fcgx) == 0)
        serve_one(w, fcgx);
    return NULL;
}

bool sp_server_stopping(void) {
    return atomic_load(&stopping);
}

typedef struct {
    sigset_t *stop_signals;
    server *srv;
} signal_args;

/* Waits for SIGTERM/SIGINT, then stops everything in order (see above). */
static void *signal_main(void *arg) {
    signal_args *a = arg;
    server *srv = a->srv;
    int sig = 0;
    sigwait(a->stop_signals, &sig);
    sp_log(SP_LOG_INFO, "signal %d: finishing requests in flight, then exiting", sig);
    atomic_store(&stopping, true);
    if (srv->long_poll) sp_long_poll_stop(srv->long_poll);
    sp_dispatcher_stop(srv->dispatcher);
    return NULL;
}

/* Opens --listen's socket, or checks that fd 0 is one. */
static int open_listener(const sp_server_flags *o, const char *program) {
    if (o->listen) {
        int fd = FCGX_OpenSocket(o->listen, 1024);
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

/* Lets the process hold a connection per parked long-poll (1,000s). */
static void raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Starts the worker threads; returns how many started. */
static int start_workers(server *srv, sp_ctx shared, int n) {
    int started = 0;
    for (; started < n; started++) {
        worker_thread *w = &srv->workers[started];
        w->srv = srv;
        w->ctx = shared;
        w->ctx.db = sp_db_new(shared.cfg->database_url);
        if (w->ctx.db) sp_db_set_deadline(w->ctx.db, 0, must_stop_waiting, w);
        if (!w->ctx.db || pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            sp_db_free(w->ctx.db);
            break;
        }
    }
    srv->nworkers = started;
    return started;
}

/* Starts the waker, the workers and the signal thread, waits for them all,
 * and frees what they used. */
static int run_threads(server *srv, sp_ctx shared, int nthreads, sigset_t *stop_signals) {
    pthread_t waker_thread, signal_thread;
    signal_args args = {.stop_signals = stop_signals, .srv = srv};
    srv->workers = calloc((size_t)nthreads, sizeof *srv->workers);
    bool dispatching = srv->workers != NULL;
    bool waking = !srv->long_poll ||
                  pthread_create(&waker_thread, NULL, sp_long_poll_main, srv->long_poll) == 0;
    if (!waking) {
        sp_long_poll_free(srv->long_poll);
        srv->long_poll = NULL;
    }
    shared.long_poll = srv->long_poll;
    int started = dispatching ? start_workers(srv, shared, nthreads) : 0;
    bool signals_handled = pthread_create(&signal_thread, NULL, signal_main, &args) == 0;
    bool ok = dispatching && waking && started == nthreads && signals_handled;
    if (!ok) {
        sp_log(SP_LOG_ERROR, "could not start %d threads; stopping", nthreads);
        kill(getpid(), SIGTERM); /* the signal thread stops the started ones */
    }
    for (int i = 0; i < started; i++)
        pthread_join(srv->workers[i].thread, NULL);
    if (signals_handled) pthread_join(signal_thread, NULL);
    if (srv->long_poll) pthread_join(waker_thread, NULL);
    for (int i = 0; i < started; i++)
        sp_db_free(srv->workers[i].ctx.db);
    free(srv->workers);
    return ok ? 0 : -1;
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
    raise_fd_limit();
    sp_metrics_attach(spec->program, listen_fd);
    server srv = {.spec = spec, .dispatcher = sp_dispatcher_new(listen_fd)};
    if (spec->long_polls) srv.long_poll = sp_long_poll_new(cfg.database_url, parked_done, &srv);
    if (!srv.dispatcher || (spec->long_polls && !srv.long_poll)) {
        sp_err_set(&err, SP_ERR_OOM, "out_of_memory", "cannot set up the dispatcher");
    } else {
        sp_log(SP_LOG_INFO, "serving with %d threads", opts.threads);
        sp_ctx shared = {.threads = opts.threads, .cfg = &cfg, .jwt = jwt};
        status = run_threads(&srv, shared, opts.threads, &stop_signals) == 0 ? 0 : 1;
        sp_log(SP_LOG_INFO, "stopped");
    }
    sp_long_poll_free(srv.long_poll);
    sp_dispatcher_free(srv.dispatcher);
    sp_metrics_detach();
done:
    if (status != 0 && err.kind != SP_OK) sp_log(SP_LOG_ERROR, "%s", err.msg);
    sp_jwt_verifier_free(jwt);
    sp_config_free(&cfg);
    curl_global_cleanup();
    return status;
}
