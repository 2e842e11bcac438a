/*
 * step_host: the storage a slot offers the adapter of its delivery (the
 * sp_step_host of platforms/step.h), each call on a database connection
 * borrowed from the worker's pool for that call only (never across a
 * platform call): checkpoints go to the delivery row under the claim's
 * lease, refreshed tokens to the account row the delivery used,
 * and the video comes from this machine's spool, readable while it is still
 * being downloaded (spool/spool_stream.h), with what names its bytes (the
 * adapter's checkpoint records it: platforms/step.h); its waits end when the
 * worker stops hard or the slot's lease is lost. Adapters never see the
 * database handle. Progress reports reach the database at most once a second
 * per delivery (SOCIAL_POST_PROGRESS_EVERY; the rest are dropped: the next
 * one says more anyway), and the job at most once a second however many of
 * its platforms report (migration 0021), so fast uploads do not turn into a
 * stream of job updates and notifications. A saved checkpoint
 * that differs from the one the delivery was claimed with is the step's
 * progress, which makes a release after it free (queue/delivery.h). Adapters
 * are told to stop at a safe point only once the worker winds down, late in
 * the grace period (stopper.c), or when the lease is lost.
 */
#include "core/clock.h"
#include "core/log.h"
#include "queue/accounts.h"
#include "queue/queue.h"
#include "spool/spool.h"
#include "spool/spool_stream.h"
#include "worker.h"

/* Saves the checkpoint; one that differs from the claimed one is progress
 * (a release after it costs the delivery nothing: delivery.h). */
static int save_checkpoint(void *self, const sp_post *post, sp_err *err) {
    sp_slot_host *h = self;
    (void)post; /* h->d->post */
    sp_db *db = sp_db_pool_take(h->w->pool, false, err);
    int rc = db ? sp_queue_checkpoint(db, h->owner, h->d, err) : -1;
    sp_db_pool_give(h->w->pool, db);
    if (rc < 0) return -1;
    if (h->claimed && !cJSON_Compare(h->claimed, h->d->post.checkpoint, true)) h->progressed = true;
    return 0;
}

/* post is h->d->post; the row is found by the refresh token it holds now
 * (h->d->stored_refresh_token: old_refresh_token, as stored). */
static int store_token(void *self, const sp_post *post, const char *old_refresh_token,
                       sp_err *err) {
    sp_slot_host *h = self;
    (void)post;
    (void)old_refresh_token;
    sp_db *db = sp_db_pool_take(h->w->pool, false, err);
    int rc = db ? sp_accounts_store_token(db, h->w->cfg->token_keys, h->d, err) : -1;
    sp_db_pool_give(h->w->pool, db);
    return rc;
}

/* A wait for the video ends at the hard stop, or when the lease is lost. */
static bool video_wait_must_stop(void *self) {
    sp_slot_host *h = self;
    return atomic_load(&h->w->hard_stop) || (h->claim && atomic_load(&h->claim->lease_lost));
}

/* Opens the job's video from the spool, keeping what names its bytes. */
static int open_video(void *self, const sp_post *post, FILE **f, long long *size, sp_err *err) {
    sp_slot_host *h = self;
    int rc = sp_spool_open_stream(h->w->spool_dir, h->d->job_id, post->video_url,
                                  h->w->max_video_bytes, !h->w->cfg->allow_private_video_urls,
                                  video_wait_must_stop, h, f, size, h->video_validator, err);
    h->video = rc == 0 ? *f : NULL;
    return rc;
}

/* What names the bytes of f, when it is the video open_video gave last. */
static const char *video_validator(void *self, FILE *f) {
    sp_slot_host *h = self;
    return f && f == h->video ? h->video_validator : NULL;
}

static int wait_video(void *self, FILE *f, long long end, sp_err *err) {
    (void)self;
    return sp_spool_wait(f, end, err);
}

/* True when the step must end at its next safe point. */
static bool stopping(void *self) {
    sp_slot_host *h = self;
    return atomic_load(&h->w->winding_down) || (h->claim && atomic_load(&h->claim->lease_lost));
}

static void report_progress(void *self, const sp_post *post, long long confirmed, long long total) {
    sp_slot_host *h = self;
    (void)post; /* h->d->post */
    double now = sp_clock_monotonic();
    if (h->shown_at > 0 && now - h->shown_at < h->w->progress_every) return;
    h->shown_at = now;
    sp_err err;
    sp_db *db = sp_db_pool_take(h->w->pool, false, &err);
    int rc = db ? sp_queue_progress(db, h->owner, h->d, confirmed, total, &err) : -1;
    sp_db_pool_give(h->w->pool, db);
    if (rc < 0) sp_log(SP_LOG_DEBUG, "progress of delivery %lld not shown: %s", h->d->id, err.msg);
}

sp_step_host sp_slot_step_host(sp_slot_host *h) {
    return (sp_step_host){.self = h,
                          .save_checkpoint = save_checkpoint,
                          .store_token = store_token,
                          .open_video = open_video,
                          .wait_video = wait_video,
                          .video_validator = video_validator,
                          .stopping = stopping,
                          .report_progress = report_progress};
}
