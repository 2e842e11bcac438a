/*
 * step: what a platform adapter gets to run one step of a delivery, and the
 * adapter interface itself.
 *
 * An adapter is a small table: the platform and a step function. A step
 * reads and updates d->checkpoint (saving it with sp_step_checkpoint before
 * anything it must not repeat), and ends with an sp_step_outcome. It never
 * touches the queue's SQL or decides retries: delivery.c does that.
 */
#ifndef SP_STEP_H
#define SP_STEP_H

#include <stdatomic.h>
#include <stdio.h>

#include "config.h"
#include "db.h"
#include "delivery.h"

typedef struct {
    const sp_config *cfg;
    sp_db *db;         /* the slot's connection */
    const char *owner; /* lease owner, for checkpoints */
    sp_delivery *d;    /* the claimed delivery */
    const char *spool_dir;
    long long max_video_bytes;
    const atomic_bool *stopping; /* set when the worker must stop soon */
    double ig_poll_base;         /* first wait for Instagram's processing, seconds */
    double ig_deadline;          /* give up on processing after this many seconds */
} sp_step_ctx;

typedef struct {
    sp_platform platform;
    /* Runs one step of ctx->d; always fills out. */
    void (*step)(sp_step_ctx *ctx, sp_step_outcome *out);
} sp_adapter;

extern const sp_adapter sp_adapter_youtube;
extern const sp_adapter sp_adapter_facebook;
extern const sp_adapter sp_adapter_instagram;

/* The adapter of platform p, or NULL when none is built in. */
const sp_adapter *sp_adapter_for(sp_platform p);

/* Saves ctx->d->checkpoint; -1 when that failed or the lease was lost, in
 * which case the step must end at once (RELEASED). */
int sp_step_checkpoint(sp_step_ctx *ctx, sp_err *err);

/* True when the worker is stopping: end the step at a safe point. */
bool sp_step_stopping(const sp_step_ctx *ctx);

/* Opens the job's video from the spool (fetching it once). On failure fills
 * out with RETRY or FAILED as the cause deserves and returns -1. */
int sp_step_video(sp_step_ctx *ctx, FILE **f, long long *size, sp_step_outcome *out);

/* Checkpoint fields: read (borrowed; NULL/def when absent) and set (in
 * memory; sp_step_checkpoint saves). A NULL value removes the field. */
const char *sp_step_cp_string(const sp_step_ctx *ctx, const char *name);
double sp_step_cp_number(const sp_step_ctx *ctx, const char *name, double def);
bool sp_step_cp_bool(const sp_step_ctx *ctx, const char *name);
void sp_step_cp_set_string(sp_step_ctx *ctx, const char *name, const char *value);
void sp_step_cp_set_number(sp_step_ctx *ctx, const char *name, double value);
void sp_step_cp_set_bool(sp_step_ctx *ctx, const char *name, bool value);

/* Saves the checkpoint; on failure fills out (RELEASED: the step must end). */
int sp_step_save(sp_step_ctx *ctx, sp_step_outcome *out);

/* Fills out as DONE with the post's url and id. */
void sp_step_done(sp_step_outcome *out, const char *url, const char *post_id);

/* Fills out with kind and a printf-style message. */
void sp_step_set(sp_step_outcome *out, sp_step_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fills out from a failed checkpoint or other internal error: lost leases and
 * database trouble release the delivery, which is safe to run again. */
void sp_step_from_err(sp_step_outcome *out, const sp_err *err);

#endif
