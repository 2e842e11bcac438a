/*
 * worker: what the threads of social-post-worker share.
 *
 * Threads: N slots (slot.c: claim, step, record, repeat; each with its own
 * database connection), a lease keeper (lease_keeper.c: renews this process's
 * leases well before they lapse) and a listener (wakeup.c: LISTEN for new
 * jobs, so idle slots wake at once instead of at their next poll). main.c
 * parses flags, handles signals and the run-time limit, and joins them all.
 */
#ifndef SP_WORKER_H
#define SP_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "config.h"
#include "delivery.h"

#define SP_MAX_CONCURRENCY 64

typedef struct {
    const sp_config *cfg;
    char owner[160]; /* this process: host:pid:random; claims are owner:n */
    char spool_dir[1024];
    int concurrency;
    int lease_seconds;
    double grace_seconds;
    double poll_seconds;
    double max_runtime; /* 0 = no limit */
    bool once;
    long long max_video_bytes;
    double ig_poll_base; /* first wait for Instagram's processing */
    double ig_deadline;  /* how long Instagram may process a video */
    sp_retry_policy policy;

    /* the lease owner of each slot's current claim ("" when idle), which the
     * lease keeper renews; guarded by lock */
    char claims[SP_MAX_CONCURRENCY][200];
    unsigned long claim_seq;

    atomic_bool stopping;  /* stop claiming; end steps at a safe point */
    atomic_bool hard_stop; /* grace is over: abort transfers now */
    atomic_int slots_running;

    pthread_mutex_t lock; /* guards wake_seq (with wake), claims, claim_seq */
    pthread_cond_t wake;
    unsigned long wake_seq;
} sp_worker;

/* Wakes every idle slot (new work, a stop, or a changed schedule). */
void sp_worker_wake(sp_worker *w);

/* Waits until woken or seconds pass. */
void sp_worker_wait(sp_worker *w, double seconds);

/* A slot thread's argument. */
typedef struct {
    sp_worker *w;
    int index;
} sp_slot;

/* Thread bodies; arg is an sp_slot for slots, the sp_worker otherwise. */
void *sp_slot_main(void *arg);
void *sp_lease_keeper_main(void *arg);
void *sp_wakeup_main(void *arg);

#endif
