/*
 * step_host: the storage a slot offers the adapter of its delivery (the
 * sp_step_host of platforms/step.h): checkpoints go to the delivery row under
 * the claim's lease, refreshed tokens to the account row the delivery used,
 * and the video comes from this machine's spool, readable while it is still
 * being downloaded (queue/spool_stream.h). Adapters never see the
 * database handle. Progress reports reach the job at most once a second
 * per delivery (the rest are dropped: the next one says more anyway), so a
 * fast upload does not turn into a stream of job updates.
 */
#include "core/clock.h"
#include "core/log.h"
#include "queue/accounts.h"
#include "queue/queue.h"
#include "queue/spool.h"
#include "queue/spool_stream.h"
#include "worker.h"

static int save_checkpoint(void *self, const sp_post *post, sp_err *err) {
    sp_slot_host *h = self;
    (void)post; /* h->d->post */
    return sp_queue_checkpoint(h->db, h->owner, h->d, err);
}

/* post is h->d->post; the row is found by the refresh token it holds now
 * (h->d->stored_refresh_token: old_refresh_token, as stored). */
static int store_token(void *self, const sp_post *post, const char *old_refresh_token,
                       sp_err *err) {
    sp_slot_host *h = self;
    (void)post;
    (void)old_refresh_token;
    return sp_accounts_store_token(h->db, h->w->cfg->token_keys, h->d, err);
}

static int open_video(void *self, const sp_post *post, FILE **f, long long *size, sp_err *err) {
    sp_slot_host *h = self;
    return sp_spool_open_stream(h->w->spool_dir, h->d->job_id, post->video_url,
                                h->w->max_video_bytes, !h->w->cfg->allow_private_video_urls,
                                sp_worker_hard_stopped, h->w, f, size, err);
}

static int wait_video(void *self, FILE *f, long long end, sp_err *err) {
    (void)self;
    return sp_spool_wait(f, end, err);
}

static bool stopping(void *self) {
    sp_slot_host *h = self;
    return atomic_load(&h->w->stopping) || (h->claim && atomic_load(&h->claim->lease_lost));
}

#define PROGRESS_EVERY 1.0 /* seconds between two reports the job shows */

static void report_progress(void *self, const sp_post *post, long long confirmed, long long total) {
    sp_slot_host *h = self;
    (void)post; /* h->d->post */
    double now = sp_clock_monotonic();
    if (h->shown_at > 0 && now - h->shown_at < PROGRESS_EVERY) return;
    h->shown_at = now;
    sp_err err;
    if (sp_queue_progress(h->db, h->owner, h->d, confirmed, total, &err) < 0)
        sp_log(SP_LOG_DEBUG, "progress of delivery %lld not shown: %s", h->d->id, err.msg);
}

sp_step_host sp_slot_step_host(sp_slot_host *h) {
    return (sp_step_host){.self = h,
                          .save_checkpoint = save_checkpoint,
                          .store_token = store_token,
                          .open_video = open_video,
                          .wait_video = wait_video,
                          .stopping = stopping,
                          .report_progress = report_progress};
}
