/*
 * facebook: a Facebook Page video through the Graph API's resumable upload
 * (POST /{page-id}/videos: upload_phase start, transfer, finish).
 *
 * Phases: start -> transfer -> publishing -> published. The checkpoint is
 * {"phase", "videoId", "sessionId", "start", "end"}. "start" opens the
 * session (once: its ids are saved before any byte is sent); each "transfer"
 * sends the range [start, end) the server asked for, from the spooled file,
 * and saves the next range the server answers with, so after a fault or a
 * takeover the upload continues where the server is; "finish" publishes with
 * the title and description. The publishing phase is saved before finish is
 * sent, so a finish whose answer was lost is checked (GET the video) before
 * it is sent again; a session's video id is fixed at start, so retrying a
 * finish can never make a second video.
 */
#include "platforms/facebook.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platforms/graph.h"

static const char *const phase_names[SP_FB_PHASES] = {"start", "transfer", "publishing",
                                                      "published"};

sp_fb_phase sp_facebook_phase_after(sp_fb_phase phase, sp_fb_event event) {
    if (phase == SP_FB_START && event == SP_FB_STARTED) return SP_FB_TRANSFER;
    if (phase == SP_FB_TRANSFER && event == SP_FB_SENT) return SP_FB_PUBLISHING;
    if (phase == SP_FB_PUBLISHING && event == SP_FB_CONFIRMED) return SP_FB_PUBLISHED;
    return phase; /* nothing else moves it; a published video stays published */
}

/* The phase machine as step.c drives it. */
static int phase_after(int phase, int event) {
    return (int)sp_facebook_phase_after((sp_fb_phase)phase, (sp_fb_event)event);
}

static const sp_phase_machine phases = {phase_names, SP_FB_PHASES, phase_after};

const char *sp_facebook_phase_name(sp_fb_phase phase) {
    return sp_phase_name(&phases, (int)phase);
}

/* The phase the checkpoint is in. */
static sp_fb_phase current_phase(const sp_step_ctx *ctx) {
    return (sp_fb_phase)sp_step_phase(ctx, &phases);
}

/* Moves the phase on after event and saves the checkpoint with it. */
static int advance(sp_step_ctx *ctx, sp_fb_event event, sp_step_outcome *out) {
    return sp_step_advance(ctx, &phases, (int)event, out);
}

typedef struct {
    sp_step_ctx *ctx;
    FILE *video;
    long long size;
} fb_run;

/* The one place a Facebook answer is classified; fills out. */
static void classify(const sp_graph_resp *r, const char *doing, sp_step_outcome *out) {
    switch (sp_graph_classify(r)) {
    case SP_GRAPH_TRANSIENT:
        sp_step_set(out, SP_STEP_RETRY, "Facebook %s failed: %s", doing, r->message);
        out->delay = r->retry_after >= 0 ? (double)r->retry_after : -1;
        break;
    case SP_GRAPH_AUTH:
        sp_step_set(out, SP_STEP_FAILED,
                    "Facebook refused the Page token: reconnect your Facebook account (%s)",
                    r->message);
        break;
    default:
        sp_step_set(out, SP_STEP_FAILED, "Facebook rejected the video: %s", r->message);
    }
}

/* A call on the Page's videos edge with the given form fields. */
static void videos_call(fb_run *run, const sp_http_field *fields, int n, off_t offset, off_t length,
                        sp_graph_resp *r) {
    char path[256];
    snprintf(path, sizeof path, "%s/videos", run->ctx->post->account_id);
    sp_graph_call call = {.method = "POST",
                          .base = run->ctx->cfg->facebook_video_url,
                          .path = path,
                          .params = fields,
                          .nparams = n,
                          .access_token = run->ctx->post->access_token,
                          .file = length > 0 ? run->video : NULL,
                          .file_offset = offset,
                          .file_length = length,
                          .file_field = length > 0 ? "video_file_chunk" : NULL};
    sp_graph_request(&call, r);
}

/* Saves the range the server wants next, and reports the bytes before it as
 * the upload's progress. */
static int save_range(fb_run *run, long long start, long long end, sp_step_outcome *out) {
    sp_step_cp_set_number(run->ctx, "start", (double)start);
    sp_step_cp_set_number(run->ctx, "end", (double)end);
    if (sp_step_save(run->ctx, out) < 0) return -1;
    sp_step_progress(run->ctx, start, run->size);
    return 0;
}

/* upload_phase=start: opens the session and saves its ids and first range. */
static int start_session(fb_run *run, sp_step_outcome *out) {
    char size[32];
    snprintf(size, sizeof size, "%lld", run->size);
    sp_http_field fields[] = {{"upload_phase", "start"}, {"file_size", size}};
    sp_graph_resp r;
    videos_call(run, fields, 2, 0, 0, &r);
    const char *video_id = sp_graph_string(&r, "video_id");
    const char *session = sp_graph_string(&r, "upload_session_id");
    long long start = 0, end = 0;
    int rc = -1;
    if (r.failed)
        classify(&r, "starting the upload", out);
    else if (!video_id || !session || !sp_graph_parse_offsets(r.body, run->size, &start, &end))
        sp_step_set(out, SP_STEP_RETRY,
                    "Facebook's upload start answer was incomplete or outside the file");
    else {
        sp_step_cp_set_string(run->ctx, "videoId", video_id);
        sp_step_cp_set_string(run->ctx, "sessionId", session);
        sp_step_cp_set_number(run->ctx, "start", (double)start);
        sp_step_cp_set_number(run->ctx, "end", (double)end);
        rc = advance(run->ctx, SP_FB_STARTED, out);
    }
    sp_graph_resp_free(&r);
    return rc;
}

/* upload_phase=transfer of [start, end); moves the checkpoint to the range
 * the server answers with (also when it says we were at the wrong offset). */
static int transfer_chunk(fb_run *run, long long start, long long end, sp_step_outcome *out) {
    char offset[32];
    snprintf(offset, sizeof offset, "%lld", start);
    sp_http_field fields[] = {{"upload_phase", "transfer"},
                              {"upload_session_id", sp_step_cp_string(run->ctx, "sessionId")},
                              {"start_offset", offset}};
    sp_graph_resp r;
    videos_call(run, fields, 3, (off_t)start, (off_t)(end - start), &r);
    long long next_start, next_end;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(r.body, "error"), "error_data");
    int rc = -1;
    long long size = run->size;
    if (!r.failed && sp_graph_parse_offsets(r.body, size, &next_start, &next_end))
        rc = save_range(run, next_start, next_end, out);
    else if (r.failed && r.code == 6000 &&
             sp_graph_parse_offsets(data, size, &next_start, &next_end))
        rc = save_range(run, next_start, next_end, out); /* the server is elsewhere: follow it */
    else if (r.failed)
        classify(&r, "transferring the video", out);
    else
        sp_step_set(out, SP_STEP_RETRY, "Facebook's transfer answer had no offsets in the file");
    sp_graph_resp_free(&r);
    return rc;
}

/* Sends every range the server asks for until it asks for none. */
static int transfer_all(fb_run *run, sp_step_outcome *out) {
    long long last_start = -1;
    for (int stalls = 0;;) {
        long long start = sp_step_cp_count(run->ctx, "start", 0);
        stalls = start == last_start ? stalls + 1 : 0;
        last_start = start;
        if (stalls >= 3) {
            sp_step_set(out, SP_STEP_RETRY, "Facebook stopped taking the upload at byte %lld",
                        start);
            return -1;
        }
        long long end = sp_step_cp_count(run->ctx, "end", 0);
        if (start >= end || start >= run->size) return 0;
        if (end > run->size) end = run->size;
        if (sp_step_stopping(run->ctx)) {
            sp_step_set(out, SP_STEP_RELEASED, "worker stopping; upload resumes at byte %lld",
                        start);
            return -1;
        }
        if (sp_step_video_wait(run->ctx, run->video, end, out) < 0) return -1;
        if (transfer_chunk(run, start, end, out) < 0) return -1;
    }
}

/* upload_phase=finish: publishes the uploaded video with its text. */
static int finish(fb_run *run, sp_step_outcome *out) {
    const sp_post *d = run->ctx->post;
    sp_http_field fields[] = {{"upload_phase", "finish"},
                              {"upload_session_id", sp_step_cp_string(run->ctx, "sessionId")},
                              {"title", d->title ? d->title : ""},
                              {"description", d->description ? d->description : ""}};
    if (advance(run->ctx, SP_FB_SENT, out) < 0) return -1;
    sp_graph_resp r;
    videos_call(run, fields, 4, 0, 0, &r);
    int rc = -1;
    if (r.failed)
        classify(&r, "publishing the video", out);
    else if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.body, "success")))
        sp_step_set(out, SP_STEP_RETRY, "Facebook did not confirm the video was published");
    else
        rc = advance(run->ctx, SP_FB_CONFIRMED, out);
    sp_graph_resp_free(&r);
    return rc;
}

/* A finish was sent before and its answer lost: asks the video whether it
 * was published. 1 yes (saved), 0 no, -1 with out set on failure. */
static int already_published(sp_step_ctx *ctx, sp_step_outcome *out) {
    sp_http_field params[] = {{"fields", "published,status"}};
    sp_graph_call call = {.method = "GET",
                          .base = ctx->cfg->facebook_graph_url,
                          .path = sp_step_cp_string(ctx, "videoId"),
                          .params = params,
                          .nparams = 1,
                          .access_token = ctx->post->access_token};
    sp_graph_resp r;
    sp_graph_request(&call, &r);
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(r.body, "status");
    const cJSON *phase = cJSON_GetObjectItemCaseSensitive(status, "publishing_phase");
    const char *phase_status =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(phase, "status"));
    bool published = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.body, "published")) ||
                     (phase_status && !strcmp(phase_status, "complete"));
    int rc = 0;
    if (r.failed) {
        classify(&r, "checking the video", out);
        rc = -1;
    } else if (published) {
        rc = advance(ctx, SP_FB_CONFIRMED, out) == 0 ? 1 : -1;
    }
    sp_graph_resp_free(&r);
    return rc;
}

/* Reports the published video. */
static void report_done(sp_step_ctx *ctx, sp_step_outcome *out) {
    const char *video_id = sp_step_cp_string(ctx, "videoId");
    char url[512];
    snprintf(url, sizeof url, "https://www.facebook.com/%s/videos/%s/", ctx->post->account_id,
             video_id ? video_id : "");
    sp_step_done(out, url, video_id);
}

/* True when the checkpoint holds the ids its phase needs: the video id once
 * a session exists, and the session id until the video is published. */
static bool checkpoint_complete(const sp_step_ctx *ctx, sp_fb_phase phase) {
    if (phase == SP_FB_START) return true;
    return sp_step_cp_string(ctx, "videoId") &&
           (phase == SP_FB_PUBLISHED || sp_step_cp_string(ctx, "sessionId"));
}

/* One step of a Facebook delivery: start (once), transfer, finish. */
static void facebook_step(sp_step_ctx *ctx, sp_step_outcome *out) {
    const sp_post *d = ctx->post;
    sp_fb_phase phase = current_phase(ctx);
    if (!checkpoint_complete(ctx, phase)) {
        /* nothing to continue or to look up; starting over could post twice */
        sp_step_set(out, SP_STEP_FAILED,
                    "the saved progress of this Facebook upload lacks its ids: it cannot "
                    "be continued without risking a second post");
        return;
    }
    if (phase == SP_FB_PUBLISHED && d->account_id) {
        report_done(ctx, out);
        return;
    }
    if (!d->account_id || !*d->account_id || !d->access_token || !*d->access_token) {
        sp_step_set(out, SP_STEP_FAILED, "no Facebook Page is connected for this user");
        return;
    }
    if (phase == SP_FB_PUBLISHING) {
        int published = already_published(ctx, out);
        if (published == 1) report_done(ctx, out);
        if (published != 0) return;
    }
    fb_run run = {.ctx = ctx};
    if (sp_step_video(ctx, &run.video, &run.size, out) < 0) return;
    if ((phase != SP_FB_START || start_session(&run, out) == 0) && transfer_all(&run, out) == 0 &&
        finish(&run, out) == 0)
        report_done(ctx, out);
    fclose(run.video);
}

const sp_adapter sp_adapter_facebook = {.platform = SP_FACEBOOK, .step = facebook_step};
