/*
 * tiktok: a TikTok video through the Content Posting API's Direct Post with
 * FILE_UPLOAD: creator_info/query, video/init, the chunks PUT in order to the
 * upload_url, then status/fetch until PUBLISH_COMPLETE or FAILED.
 *
 * Phases: init -> uploading -> publishing -> published. The checkpoint is
 * {"phase", "publishId", "uploadUrl", "size", "chunkSize", "chunks",
 * "offset", "privacy", "username", "restarts", "publishingSince", "polls",
 * "postId", "url"}. The publish_id and upload_url are saved (with the
 * uploading phase) before any byte goes up; after each chunk TikTok accepts
 * (206) the next offset is saved. The publishing phase is saved before the
 * last chunk is sent, since its 201 starts the post.
 *
 * The one idea that makes it exactly once: nothing is posted until TikTok
 * holds every byte, and status/fetch says how many it holds
 * (uploaded_bytes). A step that continues an upload (after a crash, a
 * takeover, a 416) first asks status/fetch and goes on from there; when the
 * upload_url is gone (403 expired, 404 unknown) and status/fetch says TikTok
 * lacks bytes, or the publish FAILED or is unknown to TikTok, nothing was
 * posted, and only then a new publish starts. In the publishing phase the step looks before it does
 * anything: PUBLISH_COMPLETE is recorded, a status still short of bytes
 * sends them, PROCESSING waits without holding a worker slot (WAIT, at a
 * growing interval, with the Instagram processing deadline).
 *
 * What TikTok is asked comes from the job's options (privacyLevel required:
 * the API has no default and we do not pick one) checked against what
 * creator_info offers this creator; the post's visibility is the privacy
 * level it was posted with. Tokens are refreshed with the refresh token
 * (rotated by TikTok, so both are stored together) before they expire and
 * once when TikTok says access_token_invalid.
 */
#include "platforms/tiktok.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/json.h"
#include "platforms/catalog.h"
#include "platforms/tiktok_api.h"
#include "platforms/tiktok_oauth.h"

static const char *const phase_names[SP_TT_PHASES] = {"init", "uploading", "publishing",
                                                      "published"};

sp_tt_phase sp_tiktok_phase_after(sp_tt_phase phase, sp_tt_event event) {
    switch (event) {
    case SP_TT_INITIALIZED:
        return phase == SP_TT_INIT ? SP_TT_UPLOADING : phase;
    case SP_TT_LAST_CHUNK:
        return phase == SP_TT_UPLOADING ? SP_TT_PUBLISHING : phase;
    case SP_TT_UPLOAD_INCOMPLETE:
        return phase == SP_TT_PUBLISHING ? SP_TT_UPLOADING : phase;
    case SP_TT_NOTHING_PUBLISHED:
        return phase == SP_TT_UPLOADING || phase == SP_TT_PUBLISHING ? SP_TT_INIT : phase;
    case SP_TT_POSTED:
        return phase == SP_TT_UPLOADING || phase == SP_TT_PUBLISHING ? SP_TT_PUBLISHED : phase;
    }
    return phase; /* a published post stays published */
}

/* The phase machine as step.c drives it. */
static int phase_after(int phase, int event) {
    return (int)sp_tiktok_phase_after((sp_tt_phase)phase, (sp_tt_event)event);
}

static const sp_phase_machine phases = {phase_names, SP_TT_PHASES, phase_after};

const char *sp_tiktok_phase_name(sp_tt_phase phase) {
    return sp_phase_name(&phases, (int)phase);
}

/* The phase the checkpoint is in. */
static sp_tt_phase current_phase(const sp_step_ctx *ctx) {
    return (sp_tt_phase)sp_step_phase(ctx, &phases);
}

/* Moves the phase on after event and saves the checkpoint with it. */
static int advance(sp_step_ctx *ctx, sp_tt_event event, sp_step_outcome *out) {
    return sp_step_advance(ctx, &phases, (int)event, out);
}

#define TT_CHUNK_BYTES (8LL * 1024 * 1024)
#define TT_RESTARTS 3    /* new publishes after lost ones, per delivery */
#define TT_TRANSITIONS 8 /* phase changes within one step */
#define TT_POLL_GROWTH 1.5
#define TT_POLL_MAX 60.0

typedef struct {
    sp_step_ctx *ctx;
    FILE *video;
    long long size;
    bool refreshed;    /* the token was refreshed in this step */
    bool just_started; /* this step made the publish: no need to ask where it stands */
    char auth[4096];
} tt_run;

/* An answer and the HTTP response its text lives in. */
typedef struct {
    sp_http_resp http;
    sp_tt_resp r;
} tt_answer;

static void answer_free(tt_answer *a) {
    sp_tiktok_resp_free(&a->r);
    sp_http_resp_free(&a->http);
}

void sp_tiktok_post_url(const char *username, const char *post_id, char *buf, size_t len) {
    if (username && *username && post_id && *post_id)
        snprintf(buf, len, "https://www.tiktok.com/@%s/video/%s", username, post_id);
    else if (username && *username)
        snprintf(buf, len, "https://www.tiktok.com/@%s", username);
    else
        snprintf(buf, len, "https://www.tiktok.com/");
}

/* Sets the Authorization line from the delivery's current token. */
static void set_auth(tt_run *run) {
    const char *tok = run->ctx->post->access_token;
    snprintf(run->auth, sizeof run->auth, "Authorization: Bearer %s", tok ? tok : "");
}

/* Gets new tokens with the refresh token and stores both (TikTok rotates
 * the refresh token: the spent one is what finds the account row). */
static int refresh_token(tt_run *run, sp_step_outcome *out) {
    sp_post *d = run->ctx->post;
    sp_err err;
    sp_err_clear(&err);
    char *access = NULL, *refresh = NULL;
    long long expires_at = 0;
    if (sp_tiktok_refresh(run->ctx->cfg, d->refresh_token, &access, &refresh, &expires_at, &err) <
        0) {
        sp_step_from_err(out, &err);
        /* another delivery of this account may have spent the refresh token a
         * moment ago (TikTok rotates them): the next attempt is claimed with
         * the tokens that one stored, so refused once is tried once more */
        if (!strcmp(err.code, "reconnect_account") && d->attempts == 0)
            sp_step_set(out, SP_STEP_RETRY,
                        "%s (trying once more with the account's latest "
                        "tokens)",
                        err.msg);
        return -1;
    }
    char *spent = d->refresh_token;
    free(d->access_token);
    d->access_token = access;
    d->refresh_token = refresh;
    d->token_expires_at = expires_at;
    run->refreshed = true;
    set_auth(run);
    int rc = sp_step_store_tokens(run->ctx, spent, out);
    free(spent);
    return rc;
}

/* POSTs a JSON body (NULL: none) to an Open API path with the token. A token
 * TikTok calls invalid is refreshed once per step and the call made again. */
static sp_tt_class call(tt_run *run, const char *path, const char *body, const char *doing,
                        tt_answer *a, sp_step_outcome *out) {
    char url[2048];
    snprintf(url, sizeof url, "%s%s", run->ctx->cfg->tiktok_api_url, path);
    for (;;) {
        sp_http_req req = {.method = "POST",
                           .url = url,
                           .body = body ? body : "",
                           .body_len = body ? strlen(body) : 0,
                           .has_body = true,
                           .timeout_seconds = 60,
                           .headers = {run->auth, "Content-Type: application/json; charset=UTF-8"}};
        sp_err err;
        sp_http_perform(&req, &a->http, &err);
        sp_tiktok_read(&a->http, &a->r);
        sp_tt_class c = sp_tiktok_classify(&a->r, doing, out);
        if (c == SP_TT_AUTH && !run->refreshed && !run->ctx->post->refresh_token)
            sp_step_set(out, SP_STEP_FAILED,
                        "TikTok refused the token and there is no refresh token: reconnect your "
                        "TikTok account");
        if (c != SP_TT_AUTH || run->refreshed || !run->ctx->post->refresh_token) return c;
        answer_free(a);
        if (refresh_token(run, out) < 0) {
            memset(a, 0, sizeof *a);
            a->r.retry_after = -1;
            return SP_TT_STOP; /* out says why */
        }
    }
}

/* The privacy level the options ask for, or NULL (not one of TikTok's). */
static const char *wanted_privacy(const sp_post *d) {
    const char *v =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d->options, "privacyLevel"));
    return sp_tiktok_privacy_index(v) >= 0 ? v : NULL;
}

/* A bool option; false when absent or not a bool. */
static bool option_on(const sp_post *d, const char *name) {
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d->options, name));
}

/* Reports the recorded post as done, with the privacy it was posted with. */
static void report_done(tt_run *run, sp_step_outcome *out) {
    sp_step_ctx *ctx = run->ctx;
    const char *post_id = sp_step_cp_string(ctx, "postId");
    sp_step_done(out, sp_step_cp_string(ctx, "url"),
                 post_id && *post_id ? post_id : sp_step_cp_string(ctx, "publishId"));
    sp_step_visibility(out, sp_step_cp_string(ctx, "privacy"));
}

/* Checks the creator allows what the post asks; fills out (FAILED) if not. */
static int check_creator(const sp_tt_creator *c, const char *privacy, sp_step_outcome *out) {
    if (c->privacy_options & (1u << sp_tiktok_privacy_index(privacy))) return 0;
    char offered[160] = "";
    for (int i = 0; i < SP_TT_PRIVACY_LEVELS; i++)
        if (c->privacy_options & (1u << i))
            snprintf(offered + strlen(offered), sizeof offered - strlen(offered), "%s%s",
                     offered[0] ? ", " : "", sp_tiktok_privacy_levels[i]);
    sp_step_set(out, SP_STEP_FAILED,
                "this TikTok account does not offer privacyLevel %s; it offers: %s", privacy,
                offered[0] ? offered : "none");
    return -1;
}

/* The body of video/init: the post's caption, privacy and interaction
 * settings (a setting the creator has disabled stays disabled), and the
 * FILE_UPLOAD source with its chunks. Caller frees. */
static char *init_body(tt_run *run, const sp_tt_creator *c, const char *privacy,
                       const sp_tt_chunks *plan) {
    const sp_post *d = run->ctx->post;
    cJSON *root = cJSON_CreateObject();
    cJSON *info = cJSON_AddObjectToObject(root, "post_info");
    char *caption = sp_platform_caption(d->title, d->description);
    if (caption) cJSON_AddStringToObject(info, "title", caption);
    free(caption);
    cJSON_AddStringToObject(info, "privacy_level", privacy);
    cJSON_AddBoolToObject(info, "disable_comment",
                          option_on(d, "disableComment") || c->comment_disabled);
    cJSON_AddBoolToObject(info, "disable_duet", option_on(d, "disableDuet") || c->duet_disabled);
    cJSON_AddBoolToObject(info, "disable_stitch",
                          option_on(d, "disableStitch") || c->stitch_disabled);
    const cJSON *cover = cJSON_GetObjectItemCaseSensitive(d->options, "videoCoverTimestampMs");
    if (cJSON_IsNumber(cover) && cover->valuedouble >= 0 && cover->valuedouble <= 2147483647.0)
        cJSON_AddNumberToObject(info, "video_cover_timestamp_ms", floor(cover->valuedouble));
    cJSON_AddBoolToObject(info, "brand_content_toggle", option_on(d, "brandContentToggle"));
    cJSON_AddBoolToObject(info, "brand_organic_toggle", option_on(d, "brandOrganicToggle"));
    cJSON_AddBoolToObject(info, "is_aigc", option_on(d, "isAigc"));
    cJSON *source = cJSON_AddObjectToObject(root, "source_info");
    cJSON_AddStringToObject(source, "source", "FILE_UPLOAD");
    cJSON_AddNumberToObject(source, "video_size", (double)run->size);
    cJSON_AddNumberToObject(source, "chunk_size", (double)plan->chunk_size);
    cJSON_AddNumberToObject(source, "total_chunk_count", (double)plan->count);
    char *text = sp_json_print(root);
    cJSON_Delete(root);
    return text;
}

/* Opens the spooled video once per step. */
static int open_video(tt_run *run, sp_step_outcome *out) {
    if (run->video) return 0;
    return sp_step_video(run->ctx, &run->video, &run->size, out);
}

/* Asks creator_info what this creator allows; fills c. */
static int query_creator(tt_run *run, sp_tt_creator *c, sp_step_outcome *out) {
    tt_answer a = {0};
    int rc = -1;
    if (call(run, "/v2/post/publish/creator_info/query/", NULL, "reading the creator's settings",
             &a, out) != SP_TT_OK)
        ; /* out says why */
    else if (!sp_tiktok_parse_creator(a.r.data, c))
        sp_step_set(out, SP_STEP_RETRY, "TikTok answered no creator settings");
    else
        rc = 0;
    answer_free(&a);
    return rc;
}

/* Checks the video fits the creator's longest allowed post, when both are
 * known. */
static int check_duration(tt_run *run, const sp_tt_creator *c, sp_step_outcome *out) {
    if (c->max_duration <= 0) return 0;
    sp_mp4_info info;
    int known = sp_step_video_info(run->ctx, run->video, run->size, &info, out);
    if (known < 0) return -1; /* out says why (the download failed) */
    if (known == 0 || info.duration <= 0 || info.duration <= (double)c->max_duration) return 0;
    sp_step_set(out, SP_STEP_FAILED,
                "the video lasts %.0f seconds; this TikTok account may post at most %lld",
                ceil(info.duration), c->max_duration);
    return -1;
}

/* creator_info, then video/init; saves the publish before any byte goes up. */
static int start_post(tt_run *run, const char *privacy, sp_step_outcome *out) {
    sp_step_ctx *ctx = run->ctx;
    sp_tt_creator c;
    sp_tt_chunks plan;
    if (query_creator(run, &c, out) < 0 || check_creator(&c, privacy, out) < 0) return -1;
    if (open_video(run, out) < 0 || check_duration(run, &c, out) < 0) return -1;
    if (!sp_tiktok_chunk_plan(run->size, TT_CHUNK_BYTES, &plan)) {
        sp_step_set(out, SP_STEP_FAILED, "TikTok cannot take a video of %lld bytes", run->size);
        return -1;
    }
    char *body = init_body(run, &c, privacy, &plan);
    if (!body) {
        sp_step_set(out, SP_STEP_RETRY, "out of memory");
        return -1;
    }
    tt_answer a = {0};
    char publish_id[128], upload_url[2048];
    int rc = -1;
    if (call(run, "/v2/post/publish/video/init/", body, "starting the post", &a, out) != SP_TT_OK)
        ; /* out says why */
    else if (!sp_tiktok_parse_init(a.r.data, publish_id, sizeof publish_id, upload_url,
                                   sizeof upload_url))
        sp_step_set(out, SP_STEP_RETRY, "TikTok did not answer a publish id and upload URL");
    else {
        sp_step_cp_set_string(ctx, "publishId", publish_id);
        sp_step_cp_set_string(ctx, "uploadUrl", upload_url);
        sp_step_cp_set_number(ctx, "size", (double)run->size);
        sp_step_cp_set_number(ctx, "chunkSize", (double)plan.chunk_size);
        sp_step_cp_set_number(ctx, "chunks", (double)plan.count);
        sp_step_cp_set_number(ctx, "offset", 0);
        sp_step_cp_set_string(ctx, "privacy", privacy);
        sp_step_cp_set_string(ctx, "username", c.username);
        run->just_started = true;
        rc = advance(ctx, SP_TT_INITIALIZED, out);
    }
    free(body);
    answer_free(&a);
    return rc;
}

/* Asks status/fetch about the saved publish. Returns the class; st is
 * filled for SP_TT_OK (out for the others). */
static sp_tt_class fetch_status(tt_run *run, sp_tt_status *st, sp_step_outcome *out) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "publish_id", sp_step_cp_string(run->ctx, "publishId"));
    char *body = sp_json_print(root);
    cJSON_Delete(root);
    if (!body) {
        sp_step_set(out, SP_STEP_RETRY, "out of memory");
        return SP_TT_STOP;
    }
    tt_answer a = {0};
    sp_tt_class c = call(run, "/v2/post/publish/status/fetch/", body, "checking the post", &a, out);
    if (c == SP_TT_OK && !sp_tiktok_parse_status(a.r.data, a.r.raw, st)) {
        sp_step_set(out, SP_STEP_RETRY, "TikTok answered no post status");
        c = SP_TT_STOP;
    }
    free(body);
    answer_free(&a);
    return c;
}

/* The publish is gone or failed with nothing posted: back to init for a new
 * one, at most TT_RESTARTS times per delivery. */
static int start_over(tt_run *run, sp_step_outcome *out) {
    sp_step_ctx *ctx = run->ctx;
    double restarts = sp_step_cp_number(ctx, "restarts", 0);
    if (restarts >= TT_RESTARTS) {
        sp_step_set(out, SP_STEP_FAILED, "TikTok lost the post %d times; giving up", TT_RESTARTS);
        return -1;
    }
    const char *keep[] = {"publishId", "uploadUrl",       "size", "chunkSize", "chunks",
                          "offset",    "publishingSince", "polls"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(ctx->post->checkpoint, keep[i]);
    sp_step_cp_set_number(ctx, "restarts", restarts + 1);
    return advance(ctx, SP_TT_NOTHING_PUBLISHED, out);
}

/* Records a PUBLISH_COMPLETE post and reports it. */
static void record_post(tt_run *run, const sp_tt_status *st, sp_step_outcome *out) {
    char url[512];
    sp_tiktok_post_url(sp_step_cp_string(run->ctx, "username"), st->post_id, url, sizeof url);
    sp_step_cp_set_string(run->ctx, "postId", st->post_id[0] ? st->post_id : NULL);
    sp_step_cp_set_string(run->ctx, "url", url);
    if (advance(run->ctx, SP_TT_POSTED, out) == 0) report_done(run, out);
}

/* What TikTok's status says about where the upload stands: 1 all bytes are
 * there (go on to publishing), 0 some are missing (*offset: the chunk to
 * send next), -1 nothing can come of this publish (start over). A status
 * without uploaded_bytes tells nothing: the checkpoint's own position holds
 * while uploading, and the post is waited for once the last chunk went out. */
static int upload_standing(tt_run *run, const sp_tt_status *st, long long *offset) {
    long long size = sp_step_cp_count(run->ctx, "size", 0);
    long long chunk = sp_step_cp_count(run->ctx, "chunkSize", 0);
    long long chunks = sp_step_cp_count(run->ctx, "chunks", 0);
    if (!strcmp(st->status, "FAILED")) return -1;
    if (strcmp(st->status, "PROCESSING_UPLOAD") != 0) return 1; /* posting, or posted */
    if (st->uploaded_bytes >= size) return 1;
    if (st->uploaded_bytes < 0 && current_phase(run->ctx) == SP_TT_PUBLISHING) return 1;
    long long have =
        st->uploaded_bytes >= 0 ? st->uploaded_bytes : sp_step_cp_count(run->ctx, "offset", 0);
    long long index = chunk > 0 ? have / chunk : 0; /* chunks are taken whole */
    *offset = (index < chunks ? index : chunks - 1) * chunk;
    if (*offset < 0) *offset = 0;
    return 0;
}

/* Asks where the saved publish stands before bytes go up again. Returns 1
 * (phase moved on: the caller loops), 0 (offset set: upload) or -1 (out). */
static int resync(tt_run *run, long long *offset, sp_step_outcome *out) {
    sp_tt_status st;
    sp_tt_class c = fetch_status(run, &st, out);
    if (c == SP_TT_GONE) return start_over(run, out) == 0 ? 1 : -1;
    if (c != SP_TT_OK) return -1;
    int standing = upload_standing(run, &st, offset);
    if (standing < 0) return start_over(run, out) == 0 ? 1 : -1;
    if (standing > 0) return advance(run->ctx, SP_TT_LAST_CHUNK, out) == 0 ? 1 : -1;
    sp_step_cp_set_number(run->ctx, "offset", (double)*offset);
    return 0;
}

/* The Content-Type of the upload, one of the three TikTok takes, by the
 * video URL's file name (.mov, .webm; MP4 otherwise). */
static const char *upload_type(const char *video_url) {
    const char *end = video_url ? video_url + strcspn(video_url, "?#") : NULL;
    if (end && end - video_url >= 4 && !strncasecmp(end - 4, ".mov", 4)) return "video/quicktime";
    if (end && end - video_url >= 5 && !strncasecmp(end - 5, ".webm", 5)) return "video/webm";
    return "video/mp4";
}

/* PUTs one chunk; returns the HTTP status (0: no answer). */
static long put_chunk(tt_run *run, const char *upload_url, long long first, long long length) {
    char range[96], type[64];
    snprintf(range, sizeof range, "Content-Range: bytes %lld-%lld/%lld", first, first + length - 1,
             run->size);
    snprintf(type, sizeof type, "Content-Type: %s", upload_type(run->ctx->post->video_url));
    sp_http_req req = {.method = "PUT",
                       .url = upload_url,
                       .has_body = true,
                       .body_file = run->video,
                       .file_offset = first,
                       .file_length = length,
                       .timeout_seconds = 600,
                       .headers = {range, type}};
    sp_http_resp r;
    sp_err err;
    sp_http_perform(&req, &r, &err);
    long status = r.status;
    sp_http_resp_free(&r);
    return status;
}

/* What send_chunks ended with, beyond "out is set" (-1). */
#define TT_SENT_ALL 1    /* TikTok holds every byte: the phase moved on */
#define TT_OFF_RANGE 2   /* 416: TikTok holds other bytes than we think: ask */
#define TT_UPLOAD_GONE 3 /* 403/404: the upload_url expired or is unknown */

/* Sends the chunks from offset in order, saving each accepted one; the
 * publishing phase is saved before the last goes out. Returns one of the
 * above, or -1 (out). */
static int send_chunks(tt_run *run, long long offset, sp_step_outcome *out) {
    sp_step_ctx *ctx = run->ctx;
    sp_tt_chunks plan = {sp_step_cp_count(ctx, "chunkSize", 0), sp_step_cp_count(ctx, "chunks", 0)};
    char *url = strdup(sp_step_cp_string(ctx, "uploadUrl"));
    int rc = -1;
    for (long long i = plan.chunk_size > 0 ? offset / plan.chunk_size : plan.count; url;) {
        if (i >= plan.count) {
            sp_step_set(out, SP_STEP_RETRY, "the saved TikTok upload position is out of range");
            break;
        }
        long long first, length;
        sp_tiktok_chunk_range(&plan, run->size, i, &first, &length);
        if (sp_step_stopping(ctx)) {
            if (sp_step_save(ctx, out) == 0)
                sp_step_set(out, SP_STEP_RELEASED, "worker stopping; upload resumes at byte %lld",
                            first);
            break;
        }
        if (i + 1 == plan.count && advance(ctx, SP_TT_LAST_CHUNK, out) < 0) break;
        if (sp_step_video_wait(ctx, run->video, first + length, out) < 0) break;
        long status = put_chunk(run, url, first, length);
        if (status == 206 || status == 201) {
            sp_step_cp_set_number(ctx, "offset", (double)(first + length));
            if (sp_step_save(ctx, out) < 0) break;
            sp_step_progress(ctx, first + length, run->size);
            if (status == 201 || i + 1 == plan.count) { /* every byte is there */
                rc = TT_SENT_ALL;
                break;
            }
            i++;
        } else if (status == 416) {
            rc = TT_OFF_RANGE;
            break;
        } else if (status == 403 || status == 404) {
            rc = TT_UPLOAD_GONE;
            break;
        } else if (status == 0 || status >= 500) {
            sp_step_set(out, SP_STEP_RETRY, "sending the video to TikTok failed (%s)",
                        status ? "a server error" : "the connection broke");
            break;
        } else {
            sp_step_set(out, SP_STEP_FAILED, "TikTok refused a chunk of the video (HTTP %ld)",
                        status);
            break;
        }
    }
    if (!url) sp_step_set(out, SP_STEP_RETRY, "out of memory");
    free(url);
    return rc;
}

/* The upload_url is gone (403/404). When status/fetch says TikTok holds
 * every byte the post goes on; otherwise nothing can be posted from this
 * publish, and a new one starts. Returns 1, or -1 (out). */
static int upload_gone(tt_run *run, sp_step_outcome *out) {
    sp_tt_status st;
    long long offset = 0;
    sp_tt_class c = fetch_status(run, &st, out);
    if (c != SP_TT_OK && c != SP_TT_GONE) return -1;
    if (c == SP_TT_OK && upload_standing(run, &st, &offset) > 0)
        return advance(run->ctx, SP_TT_LAST_CHUNK, out) == 0 ? 1 : -1;
    return start_over(run, out) == 0 ? 1 : -1;
}

/* The uploading phase: where TikTok stands (unless this step just made the
 * publish), then the chunks. Returns 1 when the phase moved on, else -1. */
static int upload(tt_run *run, sp_step_outcome *out) {
    if (open_video(run, out) < 0) return -1;
    if (run->size != sp_step_cp_count(run->ctx, "size", -1))
        return start_over(run, out) == 0 ? 1 : -1; /* another file: TikTok cannot have it whole */
    long long offset = sp_step_cp_count(run->ctx, "offset", 0);
    for (int asked = 0; asked < 3; asked++) {
        if (!run->just_started || asked > 0) {
            int r = resync(run, &offset, out);
            if (r != 0) return r;
        }
        int sent = send_chunks(run, offset, out);
        if (sent == TT_UPLOAD_GONE) return upload_gone(run, out);
        if (sent != TT_OFF_RANGE) return sent;
    }
    sp_step_set(out, SP_STEP_RETRY, "TikTok's upload did not settle; will retry");
    return -1;
}

/* Ends the step with a wait before the next look at the post. */
static void wait_for_post(tt_run *run, sp_step_outcome *out) {
    sp_step_ctx *ctx = run->ctx;
    double polls = sp_step_cp_number(ctx, "polls", 0);
    double delay = ctx->ig_poll_base * pow(TT_POLL_GROWTH, polls);
    sp_step_cp_set_number(ctx, "polls", polls + 1);
    if (sp_step_save(ctx, out) < 0) return;
    sp_step_set(out, SP_STEP_WAIT, "%s", "");
    out->delay = delay < TT_POLL_MAX ? delay : TT_POLL_MAX;
}

/* A FAILED post: nothing was posted. Starts over where TikTok says a retry
 * helps (internal, the daily cap after a wait), else fails with its reason. */
static int post_failed(tt_run *run, const sp_tt_status *st, sp_step_outcome *out) {
    const char *why = st->fail_reason[0] ? st->fail_reason : "no reason given";
    if (!strcmp(why, "internal")) {
        if (start_over(run, out) == 0)
            sp_step_set(out, SP_STEP_RETRY, "TikTok failed the post (internal); posting again");
    } else if (!strcmp(why, "spam_risk_too_many_posts")) {
        if (start_over(run, out) == 0) {
            sp_step_quota(out, SP_TT_DAILY_WAIT,
                          "TikTok's daily post cap for this account is reached; it is tried "
                          "again in 24 hours (spam_risk_too_many_posts)");
        }
    } else {
        sp_step_set(out, SP_STEP_FAILED, "TikTok could not post the video: %s", why);
    }
    return -1;
}

/* The publishing phase: looks at the post and records, waits or goes back. */
static int look_at_post(tt_run *run, sp_step_outcome *out) {
    sp_step_ctx *ctx = run->ctx;
    sp_tt_status st;
    sp_tt_class c = fetch_status(run, &st, out);
    if (c == SP_TT_GONE) return start_over(run, out) == 0 ? 1 : -1;
    if (c != SP_TT_OK) return -1;
    long long offset = 0;
    if (!strcmp(st.status, "PUBLISH_COMPLETE") || !strcmp(st.status, "SEND_TO_USER_INBOX")) {
        record_post(run, &st, out);
        return -1; /* out is final */
    }
    if (!strcmp(st.status, "FAILED")) return post_failed(run, &st, out);
    if (upload_standing(run, &st, &offset) == 0) { /* the last chunk never arrived */
        sp_step_cp_set_number(ctx, "offset", (double)offset);
        run->just_started = true; /* the status just read is where it stands */
        return advance(ctx, SP_TT_UPLOAD_INCOMPLETE, out) == 0 ? 1 : -1;
    }
    double now = (double)time(NULL);
    double since = sp_step_cp_number(ctx, "publishingSince", 0);
    if (since <= 0) {
        sp_step_cp_set_number(ctx, "publishingSince", now);
        since = now;
    }
    if (now - since > ctx->ig_deadline)
        sp_step_set(out, SP_STEP_FAILED,
                    "TikTok did not finish posting the video within %.0f minutes (%s); retry the "
                    "job later to look again: it will not post twice",
                    ctx->ig_deadline / 60, st.status);
    else
        wait_for_post(run, out);
    return -1;
}

/* Runs phases until one ends the step. */
static void drive(tt_run *run, const char *privacy, sp_step_outcome *out) {
    for (int moves = 0; moves < TT_TRANSITIONS; moves++) {
        int r;
        switch (current_phase(run->ctx)) {
        case SP_TT_INIT:
            r = start_post(run, privacy, out) == 0 ? 1 : -1;
            break;
        case SP_TT_UPLOADING:
            r = upload(run, out);
            break;
        case SP_TT_PUBLISHING:
            r = look_at_post(run, out);
            break;
        default:
            report_done(run, out);
            return;
        }
        if (r < 0) return;
    }
    sp_step_set(out, SP_STEP_RETRY, "the TikTok post did not settle; will retry");
}

/* One step of a TikTok delivery. */
static void tiktok_step(sp_step_ctx *ctx, sp_step_outcome *out) {
    sp_post *d = ctx->post;
    tt_run run = {.ctx = ctx};
    if (current_phase(ctx) == SP_TT_PUBLISHED) {
        if (sp_step_cp_string(ctx, "url") && sp_step_cp_string(ctx, "publishId"))
            report_done(&run, out);
        else /* posting again could post twice */
            sp_step_set(out, SP_STEP_FAILED,
                        "the saved progress of this TikTok post says it was posted but has no "
                        "link to it");
        return;
    }
    if (!d->access_token && !d->refresh_token) {
        sp_step_set(out, SP_STEP_FAILED, "no TikTok account is connected for this user");
        return;
    }
    sp_tt_phase phase = current_phase(ctx);
    if (phase >= SP_TT_UPLOADING &&
        (!sp_step_cp_string(ctx, "publishId") || !sp_step_cp_string(ctx, "uploadUrl"))) {
        if (phase == SP_TT_UPLOADING) { /* nothing went out whole: a new publish is safe */
            sp_step_cp_set_string(ctx, "phase", phase_names[SP_TT_INIT]);
        } else {
            sp_step_set(out, SP_STEP_FAILED,
                        "the saved progress of this TikTok post lacks its publish id: it cannot "
                        "be continued without risking a second post");
            return;
        }
    }
    /* a copy: the checkpoint's own string is replaced when a publish starts */
    char privacy[32];
    const char *level =
        current_phase(ctx) == SP_TT_INIT ? wanted_privacy(d) : sp_step_cp_string(ctx, "privacy");
    snprintf(privacy, sizeof privacy, "%s", sp_tiktok_privacy_index(level) >= 0 ? level : "");
    if (!privacy[0]) {
        sp_step_set(out, SP_STEP_FAILED,
                    "TikTok needs options.tiktok.privacyLevel (PUBLIC_TO_EVERYONE, "
                    "MUTUAL_FOLLOW_FRIENDS, FOLLOWER_OF_CREATOR or SELF_ONLY): TikTok has no "
                    "default and none is picked for you");
        return;
    }
    set_auth(&run);
    bool expiring = d->token_expires_at > 0 && d->token_expires_at < (long long)time(NULL) + 60;
    if ((expiring || !d->access_token) && refresh_token(&run, out) < 0) return;
    drive(&run, privacy, out);
    if (run.video) fclose(run.video);
}

const sp_adapter sp_adapter_tiktok = {.platform = SP_TIKTOK, .step = tiktok_step};
