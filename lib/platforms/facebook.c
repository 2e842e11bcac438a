/*
 * facebook: a Facebook Page video, either as a regular video through the
 * Graph API's resumable upload (POST /{page-id}/videos: upload_phase start,
 * transfer, finish) or as a Reel (POST /{page-id}/video_reels start, the
 * bytes to rupload, then finish with video_state=PUBLISHED). A vertical
 * video sent as a regular video may end up a draft the Page must publish by
 * hand, so vertical videos go as Reels (options.facebook.asReel overrides).
 *
 * Phases: start -> transfer -> publishing -> published, for both paths. The
 * checkpoint is {"phase", "path" ("video" | "reel"), "videoId", and
 * "sessionId", "start", "end" (video) or "sending" (reel)}. The path is
 * chosen once and saved with the session, so a retry never changes it.
 * "start" opens the session once: its ids are saved before any byte is sent.
 *
 * Video: each transfer sends the range [start, end) the server asked for,
 * from the spooled file, and saves the next range the server answers with;
 * a transfer at the wrong offset is answered with code 6001, subcode 1363037
 * and the wanted range in error_data (numbers): the upload continues there,
 * so after a fault or a takeover it continues where the server is.
 *
 * Reel: "sending" is saved before the bytes go to rupload; a step that finds
 * it set asks the video's status first (uploading_phase.bytes_transferred)
 * and sends the rest from there with the offset header. rupload gets the
 * bytes at FACEBOOK_RUPLOAD_URL/{video-id}, never at the upload_url the
 * answer names, so the token goes nowhere the deployment did not choose.
 *
 * The publishing phase is saved before finish is sent, so a finish whose
 * answer was lost is checked (GET the video) before it is sent again; a
 * session's video id is fixed at start, so retrying a finish can never make
 * a second video. A Reel is reported once its status reads published; while
 * Facebook processes it the step WAITs (holding no worker slot), and a Reel
 * whose processing fails fails with Facebook's message. The checkpoint of a
 * Reel also holds "finished", "finishedAt" and "polls".
 */
#include "platforms/facebook.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/json.h"
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

sp_fb_transfer_verdict sp_facebook_transfer_verdict(const sp_graph_resp *r, long long size,
                                                    long long *start, long long *end) {
    /* the subcodes php-graph-sdk's FacebookResponseException reads as a
     * resumable-upload error: the same chunk is sent again */
    static const int same_range[] = {1363030, 1363019, 1363033, 1363021, 1363041};
    if (!r->failed)
        return sp_graph_parse_offsets(r->body, size, start, end) ? SP_FB_NEXT_RANGE
                                                                 : SP_FB_NO_OFFSETS;
    if (r->subcode == 1363037)
        return sp_graph_parse_offsets(sp_graph_error_data(r), size, start, end) ? SP_FB_NEXT_RANGE
                                                                                : SP_FB_SAME_RANGE;
    for (size_t i = 0; i < sizeof same_range / sizeof same_range[0]; i++)
        if (r->subcode == same_range[i]) return SP_FB_SAME_RANGE;
    if (r->code == 6000 && r->subcode == 1363045) return SP_FB_OTHER_FILE;
    return SP_FB_CLASSIFY;
}

/* The status string of phase member name of status ("" when absent). */
static const char *phase_status(const cJSON *status, const char *name) {
    const cJSON *phase = cJSON_GetObjectItemCaseSensitive(status, name);
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(phase, "status"));
    return s ? s : "";
}

/* Copies the message of phase name's error, when it has one. */
static void phase_error(const cJSON *status, const char *name, sp_fb_video_status *out) {
    const cJSON *phase = cJSON_GetObjectItemCaseSensitive(status, name);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(phase, "errors");
    const cJSON *first = cJSON_IsArray(e) ? cJSON_GetArrayItem(e, 0) : e;
    const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(first, "message"));
    if (msg && !out->error_message[0]) {
        snprintf(out->error_message, sizeof out->error_message, "%s", msg);
        sp_utf8_truncate(out->error_message, sizeof out->error_message - 4);
    }
}

bool sp_facebook_read_status(const cJSON *body, sp_fb_video_status *out) {
    memset(out, 0, sizeof *out);
    out->bytes_transferred = -1;
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(body, "status");
    if (!cJSON_IsObject(status)) return false;
    const cJSON *up = cJSON_GetObjectItemCaseSensitive(status, "uploading_phase");
    const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(up, "bytes_transferred");
    if (cJSON_IsNumber(bytes) && bytes->valuedouble >= 0 && bytes->valuedouble <= SP_STEP_COUNT_MAX)
        out->bytes_transferred = (long long)bytes->valuedouble;
    out->uploaded = !strcmp(phase_status(status, "uploading_phase"), "complete");
    const char *pub = phase_status(status, "publishing_phase");
    out->published = !strcmp(pub, "complete") ||
                     cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "published"));
    out->publishing = out->published || !strcmp(pub, "in_progress");
    const char *video =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(status, "video_status"));
    static const char *const phase_names_read[] = {"uploading_phase", "processing_phase",
                                                   "publishing_phase"};
    out->error = video && !strcmp(video, "error");
    for (size_t i = 0; i < 3; i++) {
        if (!strcmp(phase_status(status, phase_names_read[i]), "error")) out->error = true;
        phase_error(status, phase_names_read[i], out);
    }
    return true;
}

bool sp_facebook_as_reel(const cJSON *options, int known, int width, int height) {
    const cJSON *as_reel = cJSON_GetObjectItemCaseSensitive(options, "asReel");
    if (cJSON_IsBool(as_reel)) return cJSON_IsTrue(as_reel);
    return known > 0 && height > width;
}

/* The wait between looks at a Reel Facebook is processing grows so, up to
 * a minute; the first is the worker's platform poll (--ig-poll). */
#define FB_POLL_GROWTH 1.5
#define FB_POLL_MAX 60.0

typedef struct {
    sp_step_ctx *ctx;
    FILE *video;
    long long size;
} fb_run;

/* The one place a Facebook answer is classified; fills out. */
static void classify(const sp_graph_resp *r, const char *doing, sp_step_outcome *out) {
    switch (sp_graph_classify(r)) {
    case SP_GRAPH_QUOTA: /* waited out, holding nothing: no attempt, no call meanwhile */
        sp_graph_quota_outcome(r, "Facebook", doing, out);
        break;
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

/* True when the checkpoint says this post goes out as a Reel. */
static bool is_reel(const sp_step_ctx *ctx) {
    const char *path = sp_step_cp_string(ctx, "path");
    return path && !strcmp(path, "reel");
}

/* A call on the Page's videos or video_reels edge with the given form
 * fields (and a file range as video_file_chunk). */
static void page_call(fb_run *run, const char *edge, const sp_http_field *fields, int n,
                      off_t offset, off_t length, sp_graph_resp *r) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", run->ctx->post->account_id, edge);
    const sp_config *cfg = run->ctx->cfg;
    sp_graph_call call = {.method = "POST",
                          .base = strcmp(edge, "videos") ? cfg->facebook_graph_url
                                                         : cfg->facebook_video_url,
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

/* upload_phase=start of a regular video: opens the session and saves its
 * ids and first range. */
static int start_video(fb_run *run, sp_step_outcome *out) {
    char size[32];
    snprintf(size, sizeof size, "%lld", run->size);
    sp_http_field fields[] = {{"upload_phase", "start"}, {"file_size", size}};
    sp_graph_resp r;
    page_call(run, "videos", fields, 2, 0, 0, &r);
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
        sp_step_cp_set_string(run->ctx, "path", "video");
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
    page_call(run, "videos", fields, 3, (off_t)start, (off_t)(end - start), &r);
    long long next_start = 0, next_end = 0;
    int rc = -1;
    switch (sp_facebook_transfer_verdict(&r, run->size, &next_start, &next_end)) {
    case SP_FB_NEXT_RANGE: /* also where a transfer at the wrong offset is told to go */
        rc = save_range(run, next_start, next_end, out);
        break;
    case SP_FB_SAME_RANGE:
        sp_step_set(out, SP_STEP_RETRY, "Facebook asked for the same part again: %s", r.message);
        break;
    case SP_FB_OTHER_FILE:
        sp_step_set(out, SP_STEP_FAILED,
                    "Facebook could not take this video file; try another file (%s)", r.message);
        break;
    case SP_FB_CLASSIFY:
        classify(&r, "transferring the video", out);
        break;
    case SP_FB_NO_OFFSETS:
        sp_step_set(out, SP_STEP_RETRY, "Facebook's transfer answer had no offsets in the file");
        break;
    }
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

/* upload_phase=start of a Reel: saves its video id before any byte goes. */
static int start_reel(fb_run *run, sp_step_outcome *out) {
    sp_http_field fields[] = {{"upload_phase", "start"}};
    sp_graph_resp r;
    page_call(run, "video_reels", fields, 1, 0, 0, &r);
    const char *video_id = sp_graph_string(&r, "video_id");
    int rc = -1;
    if (r.failed)
        classify(&r, "starting the reel", out);
    else if (!video_id || !*video_id)
        sp_step_set(out, SP_STEP_RETRY, "Facebook's reel start answer had no video id");
    else {
        sp_step_cp_set_string(run->ctx, "path", "reel");
        sp_step_cp_set_string(run->ctx, "videoId", video_id);
        rc = advance(run->ctx, SP_FB_STARTED, out);
    }
    sp_graph_resp_free(&r);
    return rc;
}

/* GET /{video-id}?fields=status,published into st; -1 with out set on failure. */
static int read_video_status(sp_step_ctx *ctx, sp_fb_video_status *st, sp_step_outcome *out) {
    sp_http_field params[] = {{"fields", "status,published"}};
    sp_graph_call call = {.method = "GET",
                          .base = ctx->cfg->facebook_graph_url,
                          .path = sp_step_cp_string(ctx, "videoId"),
                          .params = params,
                          .nparams = 1,
                          .access_token = ctx->post->access_token};
    sp_graph_resp r;
    sp_graph_request(&call, &r);
    int rc = 0;
    if (r.failed) {
        classify(&r, "checking the video", out);
        rc = -1;
    } else if (!sp_facebook_read_status(r.body, st)) {
        sp_step_set(out, SP_STEP_RETRY, "Facebook did not say how the video stands");
        rc = -1;
    }
    sp_graph_resp_free(&r);
    return rc;
}

/* Where the reel's bytes continue: 0 on the first send, else what the
 * video's uploading phase holds. -1 with out set on failure. */
static long long reel_offset(fb_run *run, sp_step_outcome *out) {
    if (!sp_step_cp_string(run->ctx, "sending")) return 0;
    sp_fb_video_status st;
    if (read_video_status(run->ctx, &st, out) < 0) return -1;
    if (st.uploaded) return run->size;
    if (st.bytes_transferred > run->size) {
        sp_step_set(out, SP_STEP_FAILED,
                    "Facebook holds more bytes of this reel than the video has: it was "
                    "replaced while it was uploaded");
        return -1;
    }
    return st.bytes_transferred > 0 ? st.bytes_transferred : 0;
}

/* Sends the reel's bytes from where Facebook has them to rupload. */
static int transfer_reel(fb_run *run, sp_step_outcome *out) {
    long long offset = reel_offset(run, out);
    if (offset < 0) return -1;
    sp_step_progress(run->ctx, offset, run->size);
    if (offset >= run->size) return 0;
    if (sp_step_video_wait(run->ctx, run->video, run->size, out) < 0) return -1;
    sp_step_cp_set_string(run->ctx, "sending", "yes"); /* saved before any byte goes */
    if (sp_step_save(run->ctx, out) < 0) return -1;
    char auth[2048], offset_h[48], size_h[48];
    snprintf(auth, sizeof auth, "Authorization: OAuth %s", run->ctx->post->access_token);
    snprintf(offset_h, sizeof offset_h, "offset: %lld", offset);
    snprintf(size_h, sizeof size_h, "file_size: %lld", run->size);
    sp_graph_call call = {
        .method = "POST",
        .base = run->ctx->cfg->facebook_rupload_url,
        .path = sp_step_cp_string(run->ctx, "videoId"),
        .file = run->video,
        .file_offset = (off_t)offset,
        .file_length = (off_t)(run->size - offset),
        .raw = true,
        .headers = {auth, offset_h, size_h, "Content-Type: application/octet-stream", NULL}};
    sp_graph_resp r;
    sp_graph_request(&call, &r);
    explicit_bzero(auth, sizeof auth);
    int rc = -1;
    if (r.failed)
        classify(&r, "uploading the reel", out);
    else if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.body, "success")))
        sp_step_set(out, SP_STEP_RETRY, "Facebook did not confirm the reel's upload");
    else {
        sp_step_progress(run->ctx, run->size, run->size);
        rc = 0;
    }
    sp_graph_resp_free(&r);
    return rc;
}

/* Ends the step with a wait before the next look at a Reel Facebook is
 * processing, at a growing interval. */
static void wait_for_reel(sp_step_ctx *ctx, sp_step_outcome *out) {
    double polls = sp_step_cp_number(ctx, "polls", 0);
    double delay = ctx->ig_poll_base * pow(FB_POLL_GROWTH, polls);
    sp_step_cp_set_number(ctx, "polls", polls + 1);
    if (sp_step_save(ctx, out) < 0) return;
    sp_step_set(out, SP_STEP_WAIT, "%s", "");
    out->delay = delay < FB_POLL_MAX ? delay : FB_POLL_MAX;
}

/* Looks at a Reel whose finish may have gone out (the Reels guide: the
 * video's status shows its processing and publishing). 1: published (saved);
 * 0: Facebook has no publish of it, finish must go (again); -1: out set
 * (a wait while Facebook processes it, or a failure). */
static int reel_check(sp_step_ctx *ctx, sp_step_outcome *out) {
    sp_fb_video_status st;
    if (read_video_status(ctx, &st, out) < 0) return -1;
    if (st.error) {
        sp_step_set(out, SP_STEP_FAILED, "Facebook could not publish the reel: %s",
                    st.error_message[0] ? st.error_message : "the video reads error");
        return -1;
    }
    bool finished = sp_step_cp_string(ctx, "finished") != NULL;
    double age = (double)time(NULL) - sp_step_cp_number(ctx, "finishedAt", (double)time(NULL));
    /* published, or accepted long enough ago: Facebook has it; it is never
     * finished twice (the video id is the one reel) */
    if (st.published || (st.publishing && age > ctx->ig_deadline))
        return advance(ctx, SP_FB_CONFIRMED, out) == 0 ? 1 : -1;
    if (!st.publishing && !finished) return 0;
    if (!finished) { /* a finish whose answer was lost went through */
        sp_step_cp_set_string(ctx, "finished", "yes");
        sp_step_cp_set_number(ctx, "finishedAt", (double)time(NULL));
    }
    if (age > ctx->ig_deadline) {
        sp_step_set(out, SP_STEP_FAILED,
                    "Facebook did not start publishing the reel within %.0f minutes",
                    ctx->ig_deadline / 60);
        return -1;
    }
    wait_for_reel(ctx, out);
    return -1;
}

/* upload_phase=finish: publishes the uploaded video (or reel) with its text. */
static int finish(fb_run *run, sp_step_outcome *out) {
    const sp_post *d = run->ctx->post;
    bool reel = is_reel(run->ctx);
    sp_http_field video_fields[] = {{"upload_phase", "finish"},
                                    {"upload_session_id", sp_step_cp_string(run->ctx, "sessionId")},
                                    {"title", d->title ? d->title : ""},
                                    {"description", d->description ? d->description : ""}};
    sp_http_field reel_fields[] = {{"upload_phase", "finish"},
                                   {"video_id", sp_step_cp_string(run->ctx, "videoId")},
                                   {"video_state", "PUBLISHED"},
                                   {"title", d->title ? d->title : ""},
                                   {"description", d->description ? d->description : ""}};
    if (advance(run->ctx, SP_FB_SENT, out) < 0) return -1;
    sp_graph_resp r;
    if (reel)
        page_call(run, "video_reels", reel_fields, 5, 0, 0, &r);
    else
        page_call(run, "videos", video_fields, 4, 0, 0, &r);
    int rc = -1;
    if (r.failed)
        classify(&r, reel ? "publishing the reel" : "publishing the video", out);
    else if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.body, "success")))
        sp_step_set(out, SP_STEP_RETRY, "Facebook did not confirm the video was published");
    else if (reel) { /* Facebook now processes and publishes it: watch it do so */
        sp_step_cp_set_string(run->ctx, "finished", "yes");
        sp_step_cp_set_number(run->ctx, "finishedAt", (double)time(NULL));
        sp_step_cp_set_number(run->ctx, "polls", 0);
        if (sp_step_save(run->ctx, out) == 0) rc = reel_check(run->ctx, out) == 1 ? 0 : -1;
    } else
        rc = advance(run->ctx, SP_FB_CONFIRMED, out);
    sp_graph_resp_free(&r);
    return rc;
}

/* A finish was sent before and its answer lost: asks the video whether it
 * was published. 1 yes (saved), 0 no, -1 with out set on failure. */
static int already_published(sp_step_ctx *ctx, sp_step_outcome *out) {
    sp_fb_video_status st;
    if (read_video_status(ctx, &st, out) < 0) return -1;
    if (!st.publishing) return 0;
    return advance(ctx, SP_FB_CONFIRMED, out) == 0 ? 1 : -1;
}

/* Reports the published video. */
static void report_done(sp_step_ctx *ctx, sp_step_outcome *out) {
    const char *video_id = sp_step_cp_string(ctx, "videoId");
    char url[512];
    if (is_reel(ctx))
        snprintf(url, sizeof url, "https://www.facebook.com/reel/%s", video_id ? video_id : "");
    else
        snprintf(url, sizeof url, "https://www.facebook.com/%s/videos/%s/", ctx->post->account_id,
                 video_id ? video_id : "");
    sp_step_done(out, url, video_id);
}

/* True when the checkpoint holds the ids its phase needs: the video id once
 * a session exists, and a regular video's session id until it is published. */
static bool checkpoint_complete(const sp_step_ctx *ctx, sp_fb_phase phase) {
    if (phase == SP_FB_START) return true;
    return sp_step_cp_string(ctx, "videoId") &&
           (phase == SP_FB_PUBLISHED || is_reel(ctx) || sp_step_cp_string(ctx, "sessionId"));
}

/* Chooses the path of a post not started yet: a Reel when asked, or when
 * the video is vertical. -1 with out set when the video failed. */
static int choose_path(fb_run *run, bool *reel, sp_step_outcome *out) {
    sp_mp4_info info = {0};
    int known = 0;
    const cJSON *as_reel = cJSON_GetObjectItemCaseSensitive(run->ctx->post->options, "asReel");
    if (!cJSON_IsBool(as_reel)) { /* the shape is needed only when not asked */
        known = sp_step_video_info(run->ctx, run->video, run->size, &info, out);
        if (known < 0) return -1;
    }
    *reel = sp_facebook_as_reel(run->ctx->post->options, known, info.width, info.height);
    return 0;
}

/* One run of a post whose video is open: start (once), transfer, finish. */
static void run_upload(fb_run *run, sp_fb_phase phase, sp_step_outcome *out) {
    bool reel = is_reel(run->ctx);
    if (phase == SP_FB_START) {
        if (choose_path(run, &reel, out) < 0) return;
        if ((reel ? start_reel(run, out) : start_video(run, out)) < 0) return;
    }
    if ((reel ? transfer_reel(run, out) : transfer_all(run, out)) == 0 && finish(run, out) == 0)
        report_done(run->ctx, out);
}

/* One step of a Facebook delivery. */
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
        int published = is_reel(ctx) ? reel_check(ctx, out) : already_published(ctx, out);
        if (published == 1) report_done(ctx, out);
        if (published != 0) return;
    }
    fb_run run = {.ctx = ctx};
    if (sp_step_video(ctx, &run.video, &run.size, out) < 0) return;
    run_upload(&run, phase, out);
    fclose(run.video);
}

const sp_adapter sp_adapter_facebook = {.platform = SP_FACEBOOK, .step = facebook_step};
