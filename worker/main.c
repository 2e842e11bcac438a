/*
 * social-post-worker: drains the delivery queue.
 *
 * main reads the flags (flags.c) and the configuration, makes the database
 * connection pool every thread but the listener shares (db_pool.c), starts
 * the slots (slot.c), the lease keeper, the listener (wakeup.c) and the stopper
 * (stopper.c), and waits for the slots. SIGTERM/SIGINT or --max-runtime stop
 * claiming and let transfers go on for most of the grace period, then end
 * steps at a safe point (uploads checkpoint between chunks); after the
 * grace period transfers are aborted. Leases still held
 * are then released so another worker continues at once, and the process
 * exits 0.
 */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/log.h"
#include "core/process.h"
#include "queue/queue.h"
#include "spool/spool.h"
#include "spool/spool_stream.h"
#include "worker.h"

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

/* Starts a helper thread; false (logged) when it could not be created. */
static bool start(pthread_t *t, void *(*body)(void *), void *arg, const char *name) {
    if (pthread_create(t, NULL, body, arg) == 0) return true;
    sp_log(SP_LOG_ERROR, "could not start the %s thread", name);
    return false;
}

/* Starts the threads and waits for the slots; returns how many slots ran
 * (fewer than asked, or -1 when a helper thread could not start, fails). */
static int run(sp_worker *w, sigset_t *signals) {
    pthread_t *slots = calloc((size_t)w->concurrency, sizeof *slots);
    sp_slot *args = calloc((size_t)w->concurrency, sizeof *args);
    if (!slots || !args) {
        free(slots);
        free(args);
        return 0;
    }
    pthread_t keeper, listener, stopper, webhooks;
    sp_stopper_args sa = {.w = w, .signals = signals};
    int started = 0;
    atomic_store(&w->slots_running, w->concurrency);
    for (; started < w->concurrency; started++) {
        args[started] = (sp_slot){.w = w, .index = started};
        if (pthread_create(&slots[started], NULL, sp_slot_main, &args[started]) != 0) break;
    }
    atomic_store(&w->slots_running, started);
    bool has_keeper = start(&keeper, sp_lease_keeper_main, w, "lease keeper");
    bool has_listener = start(&listener, sp_wakeup_main, w, "listener");
    bool has_stopper = start(&stopper, sp_stopper_main, &sa, "stopper");
    bool sending = start(&webhooks, sp_webhooks_main, w, "webhook sender");
    if (!has_keeper || !has_stopper) { /* no leases renewed, or no way to stop: stop now */
        atomic_store(&w->stopping, true);
        atomic_store(&w->winding_down, true);
        atomic_store(&w->hard_stop, true);
        sp_worker_wake(w);
    }
    for (int i = 0; i < started; i++)
        pthread_join(slots[i], NULL);
    if (sending) pthread_join(webhooks, NULL); /* with --once: after the events due now */
    if (has_stopper) {
        /* still waiting for a signal when --once ended the slots: give it one
         * (blocked here, so only its sigtimedwait takes it). Not
         * pthread_cancel: unwinding a frame mid-call skips the sanitizers'
         * bookkeeping and leaves the thread's stack poisoned. */
        pthread_kill(stopper, SIGTERM);
        pthread_join(stopper, NULL);
    }
    sp_worker_wake(w);
    sp_wakeup_stop(w);
    if (has_keeper) pthread_join(keeper, NULL);
    if (has_listener) pthread_join(listener, NULL);
    free(slots);
    free(args);
    return has_keeper && has_stopper ? started : -1;
}

/* Puts back whatever this process still holds, so nobody waits for a lease. */
static void release_leases(sp_worker *w) {
    sp_err err;
    sp_db *db = sp_db_pool_take(w->pool, true, &err); /* every slot has ended: one is free */
    if (db) sp_db_set_deadline(db, 3, NULL, NULL);    /* exiting: not worth waiting long */
    int n = db ? sp_queue_release_all(db, w->owner, &err) : -1;
    sp_db_pool_give(w->pool, db);
    if (n < 0)
        sp_log(SP_LOG_WARN, "could not release leases (they lapse in %d s): %s", w->lease_seconds,
               err.msg);
    else if (n > 0)
        sp_log(SP_LOG_INFO, "released %d deliveries for other workers", n);
}

int main(int argc, char **argv) {
    sigset_t signals;
    sp_process_init("social-post-worker", &signals);
    sp_config cfg;
    sp_err err;
    sp_worker w;
    int status = 1;
    sp_worker_defaults(&w);
    int parsed = sp_worker_parse_flags(argc, argv, &w);
    if (parsed != 0) return parsed > 0 ? 0 : 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (sp_config_load(&cfg, &err) < 0) {
        sp_log(SP_LOG_ERROR, "%s", err.msg);
        goto done;
    }
    use_config(&w, &cfg);
    if (w.reseal_tokens) {
        if (sp_worker_reseal_tokens(&w) == 0) status = 0;
        goto done;
    }
    if (sp_worker_check_tokens(&w) < 0) goto done;
    /* long enough for a slow database (a renewal answered late still renews),
     * bounded for one that never answers; a hard stop abandons calls at once */
    w.db_deadline = w.lease_seconds;
    if (sp_spool_init(w.spool_dir, &err) < 0) {
        sp_log(SP_LOG_ERROR, "%s", err.msg);
        goto done;
    }
    w.pool = sp_db_pool_new(cfg.database_url, w.db_connections, w.db_deadline,
                            sp_worker_hard_stopped, &w);
    if (!w.pool) {
        sp_log(SP_LOG_ERROR, "out of memory");
        goto done;
    }
    sp_log(SP_LOG_INFO,
           "worker %s starting: concurrency %d (%d per user), %d database connections, lease %d "
           "s%s%s",
           w.owner, w.concurrency, w.per_user, w.db_connections, w.lease_seconds,
           w.once ? ", once" : "",
           cfg.webhook_key ? "" : "; no webhooks (SOCIAL_POST_WEBHOOK_SECRET is not set)");
    if (run(&w, &signals) == w.concurrency) status = 0;
    atomic_store(&w.hard_stop, true); /* downloads nobody reads any more end (.part stays) */
    sp_spool_stream_drain();
    release_leases(&w);
    sp_log(SP_LOG_INFO, "worker stopped");
done:
    sp_db_pool_free(w.pool);
    if (w.listener_stop_fd >= 0) close(w.listener_stop_fd);
    sp_config_free(&cfg);
    curl_global_cleanup();
    return status;
}
