/*
 * worker: what the threads of social-post-worker share.
 *
 * Threads: N slots (slot.c: claim, step, record, repeat; each borrowing one
 * of a few shared database connections (db_pool.c) for each database call,
 * offering adapters storage through step_host.c), a lease keeper
 * (lease_keeper.c: renews all of this process's leases in one statement well
 * before they lapse, on a connection of the same pool, and between renewals
 * prunes old history: pruner.c), a listener (wakeup.c: LISTEN for new jobs, so idle slots wake at
 * once instead of at their next poll, and for new webhook events, which wake
 * the webhook senders), a stopper (stopper.c: signals, the run-time limit,
 * the grace period) and the webhook thread (webhooks.c: with a webhook
 * secret, its senders take the outbox's events to their callbackUrls;
 * without one, it expires the events nobody sends). Only the listener has a
 * connection of its own; every other thread borrows from the pool, so a
 * worker holds at most --db-connections + 1. main.c starts and joins them all.
 */
#ifndef SP_WORKER_H
#define SP_WORKER_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "core/config.h"
#include "db/db.h"
#include "db_pool.h"
#include "queue/delivery.h"
#include "spool/spool.h"
#include "webhooks/webhook.h"

/* Slots cost a thread and a lease each, no database connection (they share
 * --db-connections): 256 leaves room for a host's worth of uploads, which
 * wait on the network, not on the CPU. */
#define SP_MAX_CONCURRENCY 256

/* One slot's current claim, as the lease keeper and the fairness limit see
 * it; guarded by sp_worker.lock, except lease_lost (atomic: the slot's
 * transfers poll it). */
typedef struct {
    char owner[200];        /* the claim's lease owner, "" when idle */
    char user_id[37];       /* whose delivery it holds, "" before the claim returns */
    bool held;              /* the claim returned a delivery: its lease is renewed */
    double renew_at;        /* CLOCK_MONOTONIC: when the keeper renews it next */
    atomic_bool lease_lost; /* a renewal did not find it ours: stop its platform call */
} sp_claim;

typedef struct {
    const sp_config *cfg;
    char owner[160]; /* this process: host:pid:random; claims are owner:n */
    char spool_dir[1024];
    int concurrency;
    int db_connections; /* the pool's size: connections shared by the slots and the keeper */
    sp_db_pool *pool;   /* made by main before the threads start */
    int lease_seconds;
    double grace_seconds;
    double poll_seconds;
    double max_runtime; /* 0 = no limit */
    bool once;
    bool reseal_tokens;      /* --reseal-tokens: re-seal the accounts, exit */
    bool allow_plain_tokens; /* --allow-plain-tokens: start beside plain rows */
    long long max_video_bytes;
    int per_user;              /* deliveries of one user this worker runs at once */
    double progress_every;     /* seconds between two progress reports of a delivery */
    double retention_days;     /* finished deliveries' details and webhook events: 0 keeps them */
    double job_retention_days; /* finished jobs: 0 keeps them (the default) */
    double db_deadline;        /* seconds a database call may wait (the lease) */
    double ig_poll_base;       /* first wait for Instagram's processing */
    double ig_deadline;        /* how long Instagram may process a video */
    sp_retry_policy policy;
    sp_webhook_policy webhook_policy; /* the outbox's retry schedule */

    /* each slot's current claim, which the lease keeper renews */
    sp_claim claims[SP_MAX_CONCURRENCY];
    unsigned long claim_seq;
    pthread_mutex_t claim_lock; /* one claim at a time: the fairness limit holds */

    atomic_bool stopping;     /* stop claiming; steps and their transfers go on */
    atomic_bool winding_down; /* later in the grace period: end steps at a safe point */
    atomic_bool hard_stop;    /* grace is over: abort transfers now */
    atomic_int slots_running;
    atomic_bool webhook_busy; /* an attempt is in flight: the grace period waits for it */

    pthread_mutex_t lock; /* guards wake_seq (with wake), webhook_seq (with webhook_wake), claims, claim_seq */
    pthread_cond_t wake;
    unsigned long wake_seq;
    pthread_cond_t webhook_wake; /* a webhook event was notified (the listener hears them) */
    unsigned long webhook_seq;
    atomic_bool webhooks_heard; /* the listener LISTENs for webhook events: senders need not poll */
    int listener_stop_fd; /* eventfd: ends the listener's wait when the slots have ended */
} sp_worker;

/* Fills w with the defaults (flags.c). */
void sp_worker_defaults(sp_worker *w);

/* Reads argv into w; 0 to run, 1 to exit 0 (--help, --version), -1 on misuse. */
int sp_worker_parse_flags(int argc, char **argv, sp_worker *w);

/* Wakes every idle slot (new work, a stop, or a changed schedule). */
void sp_worker_wake(sp_worker *w);

/* Waits until woken or seconds pass (negative or NaN: not at all). */
void sp_worker_wait(sp_worker *w, double seconds);

/* The webhook senders' wake-ups (wakeup.c): sp_webhooks_seen before looking
 * at the outbox, then sp_webhooks_wait sleeps until a notification after
 * that look (true) or seconds pass (false), so none is missed in between. */
unsigned long sp_webhooks_seen(sp_worker *w);
bool sp_webhooks_wait(sp_worker *w, unsigned long seen, double seconds);

/* True once the grace period is over: transfers and database calls stop. */
bool sp_worker_hard_stopped(void *w);

/* Runs one batch of pruning when one is due (pruner.c; the lease keeper's
 * thread only); seconds until it wants to run again. */
double sp_pruner_tick(sp_worker *w);

/* A slot thread's argument. */
typedef struct {
    sp_worker *w;
    int index;
} sp_slot;

/* The stopper thread's argument: the stop signals it waits for. */
typedef struct {
    sp_worker *w;
    sigset_t *signals;
} sp_stopper_args;

/* What a slot offers the adapter of the delivery it runs (step_host.c). */
typedef struct {
    sp_worker *w;
    const char *owner; /* the claim's lease owner */
    sp_claim *claim;   /* the slot's claim: its lease may be lost */
    sp_delivery *d;
    double shown_at; /* monotonic time the job last showed this step's progress */
    FILE *video;     /* the video open_video gave last (borrowed), and what names it */
    char video_validator[SP_SPOOL_VALIDATOR_MAX];
    /* the checkpoint the delivery was claimed with (borrowed), and whether
     * the step has saved another one since: its progress */
    const cJSON *claimed;
    bool progressed;
} sp_slot_host;

/* --reseal-tokens: seals every account row with the current key; 0 when
 * every row is sealed with it (worker/tokens.c). */
int sp_worker_reseal_tokens(const sp_worker *w);

/* Refuses (-1, logged) to run while a key is set and plain rows exist,
 * unless --allow-plain-tokens. */
int sp_worker_check_tokens(const sp_worker *w);

/* The step host of h's delivery, for sp_step_ctx.host. */
sp_step_host sp_slot_step_host(sp_slot_host *h);

/* Thread bodies; arg is an sp_slot for slots, sp_stopper_args for the
 * stopper, the sp_worker otherwise. */
void *sp_slot_main(void *arg);
void *sp_lease_keeper_main(void *arg);
void *sp_wakeup_main(void *arg);
/* Ends the listener's wait at once (its loop then sees why); without it the
 * listener notices within a second. */
void sp_wakeup_stop(sp_worker *w);
void *sp_stopper_main(void *arg);
void *sp_webhooks_main(void *arg);

#endif
