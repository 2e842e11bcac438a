/*
 * step: the services a worker offers its adapters, on top of queue and spool.
 */
#include "step.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "queue.h"
#include "spool.h"

const sp_adapter *sp_adapter_for(sp_platform p) {
    static const sp_adapter *const adapters[] = {&sp_adapter_youtube, &sp_adapter_facebook,
                                                 &sp_adapter_instagram};
    for (size_t i = 0; i < sizeof adapters / sizeof adapters[0]; i++)
        if (adapters[i]->platform == p) return adapters[i];
    return NULL;
}

int sp_step_checkpoint(sp_step_ctx *ctx, sp_err *err) {
    return sp_queue_checkpoint(ctx->db, ctx->owner, ctx->d, err);
}

bool sp_step_stopping(const sp_step_ctx *ctx) {
    return ctx->stopping && atomic_load(ctx->stopping);
}

void sp_step_set(sp_step_outcome *out, sp_step_kind kind, const char *fmt, ...) {
    memset(out, 0, sizeof *out);
    out->kind = kind;
    out->delay = -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof out->message, fmt, ap);
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

int sp_step_video(sp_step_ctx *ctx, FILE **f, long long *size, sp_step_outcome *out) {
    sp_err err;
    sp_err_clear(&err);
    if (sp_spool_open(ctx->spool_dir, ctx->d->job_id, ctx->d->video_url, ctx->max_video_bytes,
                      !ctx->cfg->allow_private_video_urls, f, size, &err) == 0)
        return 0;
    sp_step_from_err(out, &err);
    return -1;
}

const char *sp_step_cp_string(const sp_step_ctx *ctx, const char *name) {
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ctx->d->checkpoint, name));
}

double sp_step_cp_number(const sp_step_ctx *ctx, const char *name, double def) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(ctx->d->checkpoint, name);
    return cJSON_IsNumber(item) ? item->valuedouble : def;
}

bool sp_step_cp_bool(const sp_step_ctx *ctx, const char *name) {
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ctx->d->checkpoint, name));
}

/* Replaces name with item (NULL: removes it). */
static void cp_put(sp_step_ctx *ctx, const char *name, cJSON *item) {
    cJSON_DeleteItemFromObjectCaseSensitive(ctx->d->checkpoint, name);
    if (item) cJSON_AddItemToObject(ctx->d->checkpoint, name, item);
}

void sp_step_cp_set_string(sp_step_ctx *ctx, const char *name, const char *value) {
    cp_put(ctx, name, value ? cJSON_CreateString(value) : NULL);
}

void sp_step_cp_set_number(sp_step_ctx *ctx, const char *name, double value) {
    cp_put(ctx, name, cJSON_CreateNumber(value));
}

void sp_step_cp_set_bool(sp_step_ctx *ctx, const char *name, bool value) {
    cp_put(ctx, name, cJSON_CreateBool(value));
}

int sp_step_save(sp_step_ctx *ctx, sp_step_outcome *out) {
    sp_err err;
    if (sp_step_checkpoint(ctx, &err) == 0) return 0;
    sp_step_from_err(out, &err);
    return -1;
}

void sp_step_done(sp_step_outcome *out, const char *url, const char *post_id) {
    sp_step_set(out, SP_STEP_DONE, "%s", "");
    snprintf(out->url, sizeof out->url, "%s", url ? url : "");
    snprintf(out->post_id, sizeof out->post_id, "%s", post_id ? post_id : "");
}
