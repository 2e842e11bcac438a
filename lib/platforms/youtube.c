/*
 * youtube: YouTube Data API v3 resumable upload, resumable for real.
 *
 * Phases: session (no upload session yet) -> uploading -> published. The
 * checkpoint is {"phase", "session": upload URI, "offset": bytes the server
 * has, "total": size, "videoId": id once known}. A step opens a session only
 * in the session phase (and saves it before sending a byte); while uploading
 * it asks the session where it stands (PUT "bytes * / total") and continues
 * from the server's offset, so a dropped connection, a crash or a takeover
 * never starts over unless YouTube has forgotten the session (404/410).
 * Chunks are 8 MiB, a multiple of 256 KiB as the protocol requires, read from
 * the spooled file. The video id is saved the moment it is known, so the
 * video is never uploaded twice. After each chunk the server's offset is
 * reported as the upload's progress.
 *
 * The finished upload's answer says how YouTube really published the video
 * (status.privacyStatus: an unaudited API project gets private whatever was
 * asked); it is saved with the id and the post's URL (a Short's only when
 * the file's header shows a square or vertical video of at most three
 * minutes) and reported as the result's visibility. A custom thumbnail
 * (option thumbnailUrl) is set after that, in the published phase, at most
 * once: "thumbnail": "sending" is saved before the image goes out, and a
 * step that finds it does not send again; its failure never fails the post.
 */
#include "platforms/youtube.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/http_client.h"
#include "core/http_headers.h"
#include "core/json.h"
#include "platforms/google_oauth.h"
#include "platforms/youtube_thumbnail.h"

static const char *const phase_names[SP_YT_PHASES] = {"session", "uploading", "published"};

sp_yt_phase sp_youtube_phase_after(sp_yt_phase phase, sp_yt_event event) {
    if (phase == SP_YT_SESSION && event == SP_YT_SESSION_OPENED) return SP_YT_UPLOADING;
    if (phase == SP_YT_UPLOADING && event == SP_YT_SESSION_LOST) return SP_YT_SESSION;
    if (phase == SP_YT_UPLOADING && event == SP_YT_UPLOADED) return SP_YT_PUBLISHED;
    return phase; /* nothing else moves it; a published video stays published */
}

/* The phase machine as step.c drives it. */
static int phase_after(int phase, int event) {
    return (int)sp_youtube_phase_after((sp_yt_phase)phase, (sp_yt_event)event);
}

static const sp_phase_machine phases = {phase_names, SP_YT_PHASES, phase_after};

const char *sp_youtube_phase_name(sp_yt_phase phase) {
    return sp_phase_name(&phases, (int)phase);
}

/* The phase the checkpoint is in. */
static sp_yt_phase current_phase(const sp_step_ctx *ctx) {
    return (sp_yt_phase)sp_step_phase(ctx, &phases);
}

/* Moves the phase on after event and saves the checkpoint with it. */
static int advance(sp_step_ctx *ctx, sp_yt_event event, sp_step_outcome *out) {
    return sp_step_advance(ctx, &phases, (int)event, out);
}

#define YT_CHUNK_BYTES (8LL * 1024 * 1024)
#define YT_SESSION_RESTARTS 3 /* forgotten sessions started over within one step */

typedef sp_yt_class yt_class;
#define YT_OK SP_YT_OK
#define YT_AUTH SP_YT_AUTH
#define YT_SESSION_GONE SP_YT_SESSION_GONE
#define YT_TRANSIENT SP_YT_TRANSIENT
#define YT_PERMANENT SP_YT_PERMANENT

typedef struct {
    sp_step_ctx *ctx;
    FILE *video;
    long long size;
    /* The token was just refreshed and YouTube has not accepted it yet: a 401
     * now means the account itself is refused, not that the token aged. A
     * multi-hour upload outlives many tokens; each one that worked is
     * refreshed again when it is refused. */
    bool fresh_token;
    int refreshes; /* in this step; bounded against a server that refuses every other call */
    char auth[4096];
} yt_run;

#define YT_MAX_REFRESHES 100

/* Sets the Authorization line from the delivery's current token. */
static void set_auth(yt_run *run) {
    const char *tok = run->ctx->post->access_token;
    snprintf(run->auth, sizeof run->auth, "Authorization: Bearer %s", tok ? tok : "");
}

/* Gets a new access token and stores it for the account. */
static int refresh_token(yt_run *run, sp_step_outcome *out) {
    sp_post *d = run->ctx->post;
    sp_err err;
    char *token = NULL;
    long long expires_at = 0;
    run->refreshes++;
    if (sp_google_refresh(run->ctx->cfg, d->refresh_token, &token, &expires_at, &err) < 0) {
        sp_step_from_err(out, &err);
        return -1;
    }
    free(d->access_token);
    d->access_token = token;
    d->token_expires_at = expires_at;
    run->fresh_token = true;
    set_auth(run);
    sp_step_store_token(run->ctx, out); /* a token not stored is refreshed again next time */
    return 0;
}

/* True when the answer was a 401 that a new token may cure (done here): the
 * refused token is not one refreshed in this step and never accepted since. */
static bool cured_by_refresh(yt_run *run, yt_class c, sp_step_outcome *out) {
    if (c != YT_AUTH || run->fresh_token || run->refreshes >= YT_MAX_REFRESHES) return false;
    return refresh_token(run, out) == 0;
}

/* True when the token runs out within a minute and can be refreshed. */
static bool token_expiring(const yt_run *run) {
    const sp_post *d = run->ctx->post;
    return d->token_expires_at > 0 && d->token_expires_at < (long long)time(NULL) + 60 &&
           d->refresh_token && *d->refresh_token && run->refreshes < YT_MAX_REFRESHES;
}

/* Classifies an answer; one YouTube accepted proves the current token. */
static yt_class classify(yt_run *run, const sp_http_resp *r, sp_step_outcome *out) {
    yt_class c = sp_youtube_classify(r, out);
    if (c == YT_OK) run->fresh_token = false;
    return c;
}

/* Reports the published video from the checkpoint: its URL, how YouTube
 * published it, and whether its thumbnail could not be set. */
static void report_done(sp_step_ctx *ctx, sp_step_outcome *out) {
    const char *id = sp_step_cp_string(ctx, "videoId");
    const char *url = sp_step_cp_string(ctx, "url");
    char watch[256];
    if (!url) { /* saved before URLs were: a watch URL is right for any video */
        sp_youtube_post_url(id, false, watch, sizeof watch);
        url = watch;
    }
    sp_step_done(out, url, id);
    sp_step_visibility(out, sp_step_cp_string(ctx, "privacy"));
    sp_step_thumbnail_error(out, sp_step_cp_string(ctx, "thumbnailError"));
}

/* The thumbnailUrl option, or NULL. */
static const char *thumbnail_url(const sp_step_ctx *ctx) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ctx->post->options, "thumbnailUrl");
    return cJSON_IsString(v) && *v->valuestring ? v->valuestring : NULL;
}

/* True when a thumbnail was asked for and its fate is not saved yet. */
static bool thumbnail_pending(const sp_step_ctx *ctx) {
    const char *state = sp_step_cp_string(ctx, "thumbnail");
    return thumbnail_url(ctx) && !(state && !strcmp(state, "done"));
}

/* Fetches and sets the custom thumbnail, sending it at most once; saves its
 * fate. -1 when the checkpoint could not be saved (out says why). */
static int set_thumbnail(yt_run *run, sp_step_outcome *out) {
    sp_step_ctx *ctx = run->ctx;
    const char *state = sp_step_cp_string(ctx, "thumbnail");
    char why[256] = "";
    sp_yt_image img;
    if (state && !strcmp(state, "sending")) {
        snprintf(why, sizeof why,
                 "the worker stopped while sending the thumbnail to YouTube; it may not be set");
    } else if (sp_youtube_thumbnail_fetch(ctx->cfg, thumbnail_url(ctx), &img, why, sizeof why)) {
        sp_step_cp_set_string(ctx, "thumbnail", "sending");
        int saved = sp_step_save(ctx, out);
        if (saved == 0)
            sp_youtube_thumbnail_send(ctx->cfg, run->auth, sp_step_cp_string(ctx, "videoId"), &img,
                                      why, sizeof why);
        sp_youtube_thumbnail_free(&img);
        if (saved < 0) return -1;
    }
    sp_step_cp_set_string(ctx, "thumbnail", "done");
    if (why[0]) sp_step_cp_set_string(ctx, "thumbnailError", why);
    return sp_step_save(ctx, out);
}

/* The published video's remaining work (its thumbnail), then its report. */
static void finish_published(yt_run *run, sp_step_outcome *out) {
    if (thumbnail_pending(run->ctx) && set_thumbnail(run, out) < 0) return;
    report_done(run->ctx, out);
}

/* True when the uploaded file is known to be a Short by its header. */
static bool known_short(yt_run *run) {
    sp_mp4_info info;
    sp_step_outcome scratch; /* every byte went up: the file is whole */
    return sp_step_video_info(run->ctx, run->video, run->size, &info, &scratch) == 1 &&
           info.has_video && sp_youtube_is_short(info.width, info.height, info.duration);
}

/* Saves the published video (id, privacy, URL) and finishes it. */
static void succeed(yt_run *run, const char *video_id, const char *privacy, sp_step_outcome *out) {
    char url[256];
    sp_youtube_post_url(video_id, known_short(run), url, sizeof url);
    sp_step_cp_set_string(run->ctx, "videoId", video_id);
    sp_step_cp_set_string(run->ctx, "privacy", privacy);
    sp_step_cp_set_string(run->ctx, "url", url);
    if (advance(run->ctx, SP_YT_UPLOADED, out) == 0) finish_published(run, out);
}

/* Reads the video id and privacy out of a final 200/201 answer. */
static void finish_from_body(yt_run *run, const sp_http_resp *r, sp_step_outcome *out) {
    char id[128], privacy[64];
    if (sp_youtube_parse_video(r->body, id, sizeof id, privacy, sizeof privacy))
        succeed(run, id, privacy, out);
    else
        sp_step_set(out, SP_STEP_RETRY, "YouTube finished the upload without a video id");
}

/* Sets the checkpoint's session fields (none when session is NULL). */
static void set_session(yt_run *run, const char *session, long long offset) {
    sp_step_cp_set_string(run->ctx, "session", session);
    sp_step_cp_set_number(run->ctx, "offset", (double)offset);
    sp_step_cp_set_number(run->ctx, "total", (double)run->size);
}

/* Sets the session fields and saves them. */
static int save_session(yt_run *run, const char *session, long long offset, sp_step_outcome *out) {
    set_session(run, session, offset);
    return sp_step_save(run->ctx, out);
}

/* Opens an upload session and saves its URI. Returns YT_OK or the class. */
static yt_class open_session(yt_run *run, sp_step_outcome *out) {
    char url[2048], query[128], length[64];
    sp_youtube_insert_query(run->ctx->post, query, sizeof query);
    snprintf(url, sizeof url, "%s?%s", run->ctx->cfg->youtube_upload_url, query);
    snprintf(length, sizeof length, "X-Upload-Content-Length: %lld", run->size);
    char *body = sp_youtube_metadata(run->ctx->post);
    if (!body) {
        sp_step_set(out, SP_STEP_RETRY, "out of memory");
        return YT_TRANSIENT;
    }
    sp_http_req req = {.method = "POST",
                       .url = url,
                       .body = body,
                       .body_len = strlen(body),
                       .timeout_seconds = 60,
                       .headers = {run->auth, "Content-Type: application/json; charset=UTF-8",
                                   length, "X-Upload-Content-Type: video/*"}};
    sp_http_resp r;
    sp_err err;
    sp_http_perform(&req, &r, &err);
    free(body);
    yt_class c = classify(run, &r, out);
    if (c == YT_SESSION_GONE) {
        sp_step_set(out, SP_STEP_FAILED, "YouTube upload endpoint not found (HTTP %ld)", r.status);
        c = YT_PERMANENT;
    } else if (c == YT_OK && !r.location[0]) {
        sp_step_set(out, SP_STEP_RETRY, "YouTube did not return an upload session");
        c = YT_TRANSIENT;
    } else if (c == YT_OK) {
        set_session(run, r.location, 0);
        if (advance(run->ctx, SP_YT_SESSION_OPENED, out) < 0)
            c = YT_PERMANENT; /* out says why (lost lease: released) */
    }
    sp_http_resp_free(&r);
    return c;
}

/* PUTs one request to the session: a chunk from offset, or a status probe
 * when len is 0. Updates *offset from a 308; finishes on 200/201. */
static yt_class put_session(yt_run *run, const char *session, long long *offset, long long len,
                            sp_step_outcome *out, bool *finished) {
    char range[96];
    if (len > 0)
        snprintf(range, sizeof range, "Content-Range: bytes %lld-%lld/%lld", *offset,
                 *offset + len - 1, run->size);
    else
        snprintf(range, sizeof range, "Content-Range: bytes */%lld", run->size);
    sp_http_req req = {.method = "PUT",
                       .url = session,
                       .has_body = true,
                       .body_file = len > 0 ? run->video : NULL,
                       .file_offset = *offset,
                       .file_length = len,
                       .timeout_seconds = 600,
                       .headers = {run->auth, range, "Content-Type: video/*"}};
    sp_http_resp r;
    sp_err err;
    sp_http_perform(&req, &r, &err);
    yt_class c = classify(run, &r, out);
    *finished = false;
    if (c == YT_OK && r.status == 308 && !sp_youtube_parse_range(r.range, run->size, offset)) {
        sp_step_set(out, SP_STEP_RETRY, "YouTube answered an unreadable upload offset");
        c = YT_TRANSIENT;
    } else if (c == YT_OK && r.status != 308) {
        *finished = true;
        finish_from_body(run, &r, out);
    }
    sp_http_resp_free(&r);
    return c;
}

/* Asks the session where it stands, then sends the rest chunk by chunk,
 * saving the server's offset after each. YT_OK means out is final. */
static yt_class continue_upload(yt_run *run, sp_step_outcome *out) {
    char *session = strdup(sp_step_cp_string(run->ctx, "session"));
    if (!session) {
        sp_step_set(out, SP_STEP_RETRY, "out of memory");
        return YT_TRANSIENT;
    }
    long long offset = 0;
    bool finished = false;
    yt_class c = put_session(run, session, &offset, 0, out, &finished);
    while (c == YT_OK && !finished) {
        if (offset >= run->size) {
            sp_step_set(out, SP_STEP_RETRY, "YouTube holds every byte but has not finished");
            c = YT_TRANSIENT;
            break;
        }
        if (sp_step_stopping(run->ctx)) {
            if (save_session(run, session, offset, out) == 0)
                sp_step_set(out, SP_STEP_RELEASED, "worker stopping; upload resumes at byte %lld",
                            offset);
            c = YT_PERMANENT;
            break;
        }
        if (token_expiring(run) && refresh_token(run, out) < 0) { /* before it is refused */
            c = YT_PERMANENT;                                     /* out says why */
            break;
        }
        long long len = run->size - offset < YT_CHUNK_BYTES ? run->size - offset : YT_CHUNK_BYTES;
        if (sp_step_video_wait(run->ctx, run->video, offset + len, out) < 0) {
            c = YT_PERMANENT; /* out says why (the download failed) */
            break;
        }
        c = put_session(run, session, &offset, len, out, &finished);
        if (c == YT_OK && !finished && save_session(run, session, offset, out) < 0)
            c = YT_PERMANENT;
        else if (c == YT_OK && !finished)
            sp_step_progress(run->ctx, offset, run->size);
    }
    free(session);
    return c;
}

/* Opens or continues the upload until it ends, a fault ends the step, or a
 * cure has been tried: a new token for each token YouTube stops accepting,
 * a new session (a few times) when YouTube has forgotten one. */
static void drive_upload(yt_run *run, sp_step_outcome *out) {
    for (int restarts = 0;;) {
        yt_class c;
        if (current_phase(run->ctx) == SP_YT_SESSION || !sp_step_cp_string(run->ctx, "session")) {
            c = open_session(run, out);
            if (c == YT_OK) continue;
        } else {
            c = continue_upload(run, out);
            if (c == YT_OK) return;
        }
        if (cured_by_refresh(run, c, out)) continue;
        if (c != YT_SESSION_GONE) return;
        if (++restarts > YT_SESSION_RESTARTS) {
            sp_step_set(out, SP_STEP_RETRY, "the YouTube upload did not settle; will retry");
            return;
        }
        set_session(run, NULL, 0); /* forgotten: start over */
        if (advance(run->ctx, SP_YT_SESSION_LOST, out) < 0) return;
    }
}

/* The published phase after an interruption: the thumbnail still to set
 * (with a token that works) or nothing, then the report. Nothing here may
 * fail the post: a token that cannot be refreshed is the thumbnail's error. */
static void resume_published(sp_step_ctx *ctx, sp_step_outcome *out) {
    sp_post *d = ctx->post;
    yt_run run = {.ctx = ctx};
    set_auth(&run);
    bool expiring = d->token_expires_at > 0 && d->token_expires_at < (long long)time(NULL) + 60;
    if (thumbnail_pending(ctx) && (expiring || !d->access_token) && refresh_token(&run, out) < 0) {
        if (out->kind == SP_STEP_RELEASED) return; /* the lease is gone: not ours to finish */
        char why[sizeof out->message + 32];
        snprintf(why, sizeof why, "the thumbnail was not set: %s", out->message);
        sp_step_cp_set_string(ctx, "thumbnail", "done");
        sp_step_cp_set_string(ctx, "thumbnailError", why);
        if (sp_step_save(ctx, out) < 0) return;
    }
    finish_published(&run, out);
}

/* One step of a YouTube delivery: upload the whole video, resumably, then
 * set its thumbnail when asked. */
static void youtube_step(sp_step_ctx *ctx, sp_step_outcome *out) {
    sp_post *d = ctx->post;
    const char *done_id = sp_step_cp_string(ctx, "videoId");
    if (current_phase(ctx) == SP_YT_PUBLISHED) { /* uploaded, not yet recorded */
        if (done_id && *done_id)
            resume_published(ctx, out);
        else /* uploading again could post twice */
            sp_step_set(out, SP_STEP_FAILED,
                        "the saved progress of this YouTube upload says it "
                        "was published but has no video id");
        return;
    }
    if (!d->access_token && !d->refresh_token) {
        sp_step_set(out, SP_STEP_FAILED, "no YouTube account is connected for this user");
        return;
    }
    yt_run run = {.ctx = ctx};
    set_auth(&run);
    bool expiring = d->token_expires_at > 0 && d->token_expires_at < (long long)time(NULL) + 60;
    if ((expiring || !d->access_token) && refresh_token(&run, out) < 0) return;
    if (sp_step_video(ctx, &run.video, &run.size, out) < 0) return;
    drive_upload(&run, out);
    fclose(run.video);
}

const sp_adapter sp_adapter_youtube = {.platform = SP_YOUTUBE, .step = youtube_step};
