/*
 * step: the helpers every adapter uses on top of its host (see step.h):
 * checkpoint fields, the phase, progress reports, outcomes.
 */
#include "platforms/step.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "platforms/facebook.h"
#include "platforms/instagram.h"
#include "platforms/tiktok.h"
#include "platforms/youtube.h"

const sp_adapter *sp_adapter_for(sp_platform p) {
    static const sp_adapter *const adapters[] = {&sp_adapter_youtube, &sp_adapter_facebook,
                                                 &sp_adapter_instagram, &sp_adapter_tiktok};
    for (size_t i = 0; i < sizeof adapters / sizeof adapters[0]; i++)
        if (adapters[i]->platform == p) return adapters[i];
    return NULL;
}

bool sp_step_stopping(const sp_step_ctx *ctx) {
    return ctx->host->stopping(ctx->host->self);
}

void sp_step_set(sp_step_outcome *out, sp_step_kind kind, const char *fmt, ...) {
    memset(out, 0, sizeof *out);
    out->kind = kind;
    out->delay = -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
    /* platforms' words may be cut anywhere, or not be UTF-8: Postgres must
     * take the message, or the outcome could never be recorded */
    sp_utf8_truncate(out->message, sizeof out->message - 1);
}

/* A quota WAIT of delay seconds (backoff: the worker's backoff decides,
 * delay being its floor) saying fmt. */
static void quota_wait(sp_step_outcome *out, double delay, bool backoff, const char *fmt,
                       va_list ap) {
    memset(out, 0, sizeof *out);
    out->kind = SP_STEP_WAIT;
    out->delay = delay;
    out->quota = true;
    out->quota_backoff = backoff;
    vsnprintf(out->message, sizeof out->message, fmt, ap);
    sp_utf8_truncate(out->message, sizeof out->message - 1);
}

void sp_step_quota(sp_step_outcome *out, double delay, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    quota_wait(out, delay, false, fmt, ap);
    va_end(ap);
}

void sp_step_quota_backoff(sp_step_outcome *out, double floor, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    quota_wait(out, floor >= 0 ? floor : -1, true, fmt, ap);
    va_end(ap);
}

void sp_step_from_err(sp_step_outcome *out, const sp_err *err) {
    if (err->kind == SP_ERR_CONFLICT || err->kind == SP_ERR_DB_UNAVAILABLE)
        sp_step_set(out, SP_STEP_RELEASED, "%s", err->msg);
    else if (err->kind == SP_ERR_UNPROCESSABLE)
        sp_step_set(out, SP_STEP_FAILED, "%s", err->msg);
    else
        sp_step_set(out, SP_STEP_RETRY, "%s", err->msg);
}

/* True when the checkpoint says the post may exist (the two phase names
 * every adapter shares): the platform holds a whole video by then, and
 * nothing about the video may stop the step from recording the post. */
static bool may_have_posted(const sp_step_ctx *ctx) {
    const char *phase = sp_step_cp_string(ctx, "phase");
    return phase && (!strcmp(phase, "publishing") || !strcmp(phase, "published"));
}

/* True when the checkpoint holds something of the adapter's (the worker's
 * own key says nothing about the platform). */
static bool holds_something(const sp_step_ctx *ctx) {
    const cJSON *item;
    cJSON_ArrayForEach(item, ctx->post->checkpoint) {
        if (!item->string || strcmp(item->string, SP_STEP_CP_QUOTA_BACKOFFS) != 0) return true;
    }
    return false;
}

/* The checkpoint's record of the video it uploads, or NULL. */
static cJSON *video_record(const sp_step_ctx *ctx) {
    cJSON *rec = cJSON_GetObjectItemCaseSensitive(ctx->post->checkpoint, "video");
    return cJSON_IsObject(rec) ? rec : NULL;
}

/* Adds the checkpoint's record of the video f (in memory); -1 with out
 * filled when it cannot. */
static int record_version(sp_step_ctx *ctx, const char *validator, sp_step_outcome *out) {
    cJSON *v = cJSON_CreateObject();
    if (!v || !cJSON_AddStringToObject(v, "validator", validator) ||
        !cJSON_AddNumberToObject(v, "size", (double)ctx->video_size)) {
        cJSON_Delete(v);
        sp_step_set(out, SP_STEP_RETRY, "out of memory");
        return -1;
    }
    cJSON_AddItemToObject(ctx->post->checkpoint, "video", v);
    return 0;
}

/* Compares the video f (size bytes) with the version the checkpoint
 * recorded; notes it when none is and the checkpoint holds something (in
 * memory: the adapter's next save, or the first sp_step_video_wait, saves
 * it). 0: go on (with video_changed set when bytes of another version went
 * out); -1: out filled. */
static int judge_version(sp_step_ctx *ctx, FILE *f, long long size, sp_step_outcome *out) {
    if (!ctx->host->video_validator || may_have_posted(ctx)) return 0;
    const char *now = ctx->host->video_validator(ctx->host->self, f);
    if (!now) return 0; /* the host cannot say: nothing to compare */
    cJSON *rec = video_record(ctx);
    if (!rec) /* an empty checkpoint (nothing on the platform) stays so until a byte goes */
        return holds_something(ctx) ? record_version(ctx, now, out) : 0;
    const char *was = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "validator"));
    const cJSON *was_size = cJSON_GetObjectItemCaseSensitive(rec, "size");
    if (was && !strcmp(was, now) && cJSON_IsNumber(was_size) && was_size->valuedouble == (double)size)
        return 0;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "sent"))) {
        ctx->video_changed = true; /* no byte of it goes out (sp_step_video_wait) */
        return 0;
    }
    /* nothing of the old version went out: the next step starts afresh */
    cJSON *child;
    while ((child = ctx->post->checkpoint->child) != NULL)
        cJSON_Delete(cJSON_DetachItemViaPointer(ctx->post->checkpoint, child));
    sp_step_set(out, SP_STEP_WAIT,
                "the video at its URL changed before any of it was sent; starting afresh");
    out->delay = 0;
    return -1;
}

int sp_step_video(sp_step_ctx *ctx, FILE **f, long long *size, sp_step_outcome *out) {
    ctx->video_changed = false;
    ctx->video_size = 0;
    sp_err err;
    sp_err_clear(&err);
    if (ctx->host->open_video(ctx->host->self, ctx->post, f, size, &err) < 0) {
        sp_step_from_err(out, &err);
        return -1;
    }
    ctx->video_size = *size;
    if (judge_version(ctx, *f, *size, out) == 0) return 0;
    fclose(*f);
    *f = NULL;
    return -1;
}

/* Waits for the first end bytes of f, and nothing else. */
static int wait_bytes(sp_step_ctx *ctx, FILE *f, long long end, sp_step_outcome *out) {
    if (!ctx->host->wait_video) return 0;
    sp_err err;
    sp_err_clear(&err);
    if (ctx->host->wait_video(ctx->host->self, f, end, &err) == 0) return 0;
    sp_step_from_err(out, &err);
    return -1;
}

int sp_step_video_wait(sp_step_ctx *ctx, FILE *f, long long end, sp_step_outcome *out) {
    if (end > 0 && ctx->video_changed) {
        sp_step_set(out, SP_STEP_FAILED,
                    "the video at its URL changed while it was being uploaded (part of the "
                    "old version went out); submit it again");
        return -1;
    }
    if (wait_bytes(ctx, f, end, out) < 0) return -1;
    if (end <= 0 || !ctx->host->video_validator || may_have_posted(ctx)) return 0;
    cJSON *rec = video_record(ctx);
    if (!rec) { /* the first byte of this post: its version first */
        const char *now = ctx->host->video_validator(ctx->host->self, f);
        if (!now) return 0;
        if (record_version(ctx, now, out) < 0) return -1;
        rec = video_record(ctx);
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "sent"))) return 0;
    /* bytes may go out from now on: the version they belong to is saved first */
    cJSON_DeleteItemFromObjectCaseSensitive(rec, "sent");
    cJSON_AddItemToObject(rec, "sent", cJSON_CreateTrue());
    return sp_step_save(ctx, out);
}

void sp_step_progress(sp_step_ctx *ctx, long long confirmed, long long total) {
    if (ctx->host->report_progress)
        ctx->host->report_progress(ctx->host->self, ctx->post, confirmed, total);
}

int sp_step_store_token(sp_step_ctx *ctx, sp_step_outcome *out) {
    return sp_step_store_tokens(ctx, ctx->post->refresh_token, out);
}

int sp_step_store_tokens(sp_step_ctx *ctx, const char *old_refresh_token, sp_step_outcome *out) {
    sp_err err;
    sp_err_clear(&err);
    if (ctx->host->store_token(ctx->host->self, ctx->post, old_refresh_token, &err) == 0) return 0;
    sp_step_from_err(out, &err);
    return -1;
}

const char *sp_step_cp_string(const sp_step_ctx *ctx, const char *name) {
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ctx->post->checkpoint, name));
}

double sp_step_cp_number(const sp_step_ctx *ctx, const char *name, double def) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(ctx->post->checkpoint, name);
    return cJSON_IsNumber(item) ? item->valuedouble : def;
}

/* Replaces name with item (NULL: removes it). */
static void cp_put(sp_step_ctx *ctx, const char *name, cJSON *item) {
    cJSON_DeleteItemFromObjectCaseSensitive(ctx->post->checkpoint, name);
    if (item) cJSON_AddItemToObject(ctx->post->checkpoint, name, item);
}

long long sp_step_cp_count(const sp_step_ctx *ctx, const char *name, long long def) {
    double v = sp_step_cp_number(ctx, name, (double)def);
    return v >= 0 && v <= SP_STEP_COUNT_MAX && v == (double)(long long)v ? (long long)v : def;
}

void sp_step_cp_set_string(sp_step_ctx *ctx, const char *name, const char *value) {
    cp_put(ctx, name, value ? cJSON_CreateString(value) : NULL);
}

void sp_step_cp_set_number(sp_step_ctx *ctx, const char *name, double value) {
    cp_put(ctx, name, cJSON_CreateNumber(value));
}

const char *sp_phase_name(const sp_phase_machine *m, int phase) {
    return phase >= 0 && phase < m->count ? m->names[phase] : "unknown";
}

int sp_step_phase(const sp_step_ctx *ctx, const sp_phase_machine *m) {
    const char *phase = sp_step_cp_string(ctx, "phase");
    for (int i = 0; phase && i < m->count; i++)
        if (strcmp(phase, m->names[i]) == 0) return i;
    return 0;
}

int sp_step_advance(sp_step_ctx *ctx, const sp_phase_machine *m, int event, sp_step_outcome *out) {
    int next = m->after(sp_step_phase(ctx, m), event);
    sp_step_cp_set_string(ctx, "phase", sp_phase_name(m, next));
    if (sp_step_save(ctx, out) < 0) return -1;
    sp_step_progress(ctx, 0, 0);
    return 0;
}

int sp_step_save(sp_step_ctx *ctx, sp_step_outcome *out) {
    sp_err err;
    sp_err_clear(&err);
    if (ctx->host->save_checkpoint(ctx->host->self, ctx->post, &err) == 0) return 0;
    sp_step_from_err(out, &err);
    return -1;
}

#define VIDEO_INFO_FIRST_BYTES (1LL << 20) /* a fast-start header is well within */

int sp_step_video_info(sp_step_ctx *ctx, FILE *f, long long size, sp_mp4_info *info,
                       sp_step_outcome *out) {
    long long available = size < VIDEO_INFO_FIRST_BYTES ? size : VIDEO_INFO_FIRST_BYTES;
    for (int rounds = 0; rounds < 64; rounds++) { /* each round is a box further on */
        if (wait_bytes(ctx, f, available, out) < 0) return -1; /* read here, not sent */
        long long need = 0;
        int rc = sp_mp4_probe(f, available, info, &need);
        if (rc == 1) return 1;
        if (rc < 0 || need > size || need <= available) return 0;
        available = need;
    }
    return 0;
}

void sp_step_done(sp_step_outcome *out, const char *url, const char *post_id) {
    sp_step_set(out, SP_STEP_DONE, "%s", "");
    snprintf(out->url, sizeof out->url, "%s", url ? url : "");
    snprintf(out->post_id, sizeof out->post_id, "%s", post_id ? post_id : "");
    /* the platform's words: a post that exists must be recordable */
    sp_utf8_truncate(out->url, sizeof out->url - 1);
    sp_utf8_truncate(out->post_id, sizeof out->post_id - 1);
}

void sp_step_thumbnail_error(sp_step_outcome *out, const char *why) {
    snprintf(out->thumbnail_error, sizeof out->thumbnail_error, "%s", why ? why : "");
    sp_utf8_truncate(out->thumbnail_error, sizeof out->thumbnail_error - 1);
}

void sp_step_visibility(sp_step_outcome *out, const char *visibility) {
    snprintf(out->visibility, sizeof out->visibility, "%s", visibility ? visibility : "");
    sp_utf8_truncate(out->visibility, sizeof out->visibility - 1);
}
