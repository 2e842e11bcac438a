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

/* The platform's own words for an error: error.message and errors[0].reason. */
static void google_error(const sp_http_resp *r, char *message, size_t mlen, char *reason,
                         size_t rlen) {
    snprintf(message, mlen, "HTTP %ld", r->status);
    reason[0] = '\0';
    cJSON *root = r->body ? cJSON_Parse(r->body) : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
    const cJSON *errs = cJSON_GetObjectItemCaseSensitive(e, "errors");
    const cJSON *why = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(errs, 0), "reason");
    if (cJSON_IsString(m)) {
        snprintf(message, mlen, "%s", m->valuestring);
        sp_utf8_truncate(message, mlen < 301 ? mlen - 1 : 300);
    }
    if (cJSON_IsString(why)) snprintf(reason, rlen, "%.60s", why->valuestring);
    cJSON_Delete(root);
}

/* The one place a YouTube answer is classified. Fills out for failures. */
sp_yt_class sp_youtube_classify(const sp_http_resp *r, sp_step_outcome *out) {
    char message[320], reason[64];
    if (r->status == 0) {
        sp_step_set(out, SP_STEP_RETRY, "network error talking to YouTube: %s", r->transport_error);
        return YT_TRANSIENT;
    }
    if (r->status == 200 || r->status == 201 || r->status == 308) return YT_OK;
    google_error(r, message, sizeof message, reason, sizeof reason);
    if (r->status == 401) {
        sp_step_set(out, SP_STEP_FAILED,
                    "YouTube refused a freshly refreshed token: reconnect your YouTube account");
        return YT_AUTH;
    }
    if (r->status == 404 || r->status == 410) return YT_SESSION_GONE;
    if (r->status == 429 || r->status >= 500 ||
        (r->status == 403 &&
         (!strcmp(reason, "rateLimitExceeded") || !strcmp(reason, "userRateLimitExceeded")))) {
        sp_step_set(out, SP_STEP_RETRY, "YouTube is busy (HTTP %ld%s%s)", r->status,
                    *reason ? ": " : "", reason);
        out->delay = r->retry_after >= 0 ? (double)r->retry_after : -1;
        return YT_TRANSIENT;
    }
    if (!strcmp(reason, "quotaExceeded"))
        sp_step_set(out, SP_STEP_FAILED, "YouTube quota exceeded: %s", message);
    else
        sp_step_set(out, SP_STEP_FAILED, "YouTube rejected the upload: %s", message);
    return YT_PERMANENT;
}

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

/* Reports the uploaded video as the post. */
static void report_done(const char *video_id, sp_step_outcome *out) {
    char url[256];
    snprintf(url, sizeof url, "https://youtube.com/shorts/%s", video_id);
    sp_step_done(out, url, video_id);
}

/* Saves the success in the checkpoint and reports it. */
static void succeed(yt_run *run, const char *video_id, sp_step_outcome *out) {
    sp_step_cp_set_string(run->ctx, "videoId", video_id);
    if (advance(run->ctx, SP_YT_UPLOADED, out) == 0) report_done(video_id, out);
}

/* Reads the video id out of a final 200/201 answer. */
static void finish_from_body(yt_run *run, const sp_http_resp *r, sp_step_outcome *out) {
    cJSON *root = r->body ? cJSON_Parse(r->body) : NULL;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    if (cJSON_IsString(id) && *id->valuestring)
        succeed(run, id->valuestring, out);
    else
        sp_step_set(out, SP_STEP_RETRY, "YouTube finished the upload without a video id");
    cJSON_Delete(root);
}

bool sp_youtube_parse_range(const char *range, long long total, long long *offset) {
    long long last;
    size_t len = strlen(range);
    if (len == 0) { /* the session holds nothing yet */
        *offset = 0;
        return true;
    }
    if (len < 9 || strncmp(range, "bytes=0-", 8) != 0 ||
        !sp_http_parse_count(range + 8, len - 8, &last) || last >= total)
        return false;
    *offset = last + 1;
    return true;
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

/* The JSON metadata of the new video. Caller frees. */
static char *video_metadata(const sp_post *d) {
    cJSON *root = cJSON_CreateObject();
    cJSON *snippet = cJSON_AddObjectToObject(root, "snippet");
    cJSON_AddStringToObject(snippet, "title", d->title ? d->title : "");
    cJSON_AddStringToObject(snippet, "description", d->description ? d->description : "");
    cJSON_AddStringToObject(snippet, "categoryId", "22");
    cJSON *status = cJSON_AddObjectToObject(root, "status");
    cJSON_AddStringToObject(status, "privacyStatus", "public");
    cJSON_AddBoolToObject(status, "selfDeclaredMadeForKids", false);
    char *text = sp_json_print(root);
    cJSON_Delete(root);
    return text;
}

/* Opens an upload session and saves its URI. Returns YT_OK or the class. */
static yt_class open_session(yt_run *run, sp_step_outcome *out) {
    char url[2048], length[64];
    snprintf(url, sizeof url, "%s?uploadType=resumable&part=snippet,status",
             run->ctx->cfg->youtube_upload_url);
    snprintf(length, sizeof length, "X-Upload-Content-Length: %lld", run->size);
    char *body = video_metadata(run->ctx->post);
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

/* One step of a YouTube delivery: upload the whole video, resumably. */
static void youtube_step(sp_step_ctx *ctx, sp_step_outcome *out) {
    sp_post *d = ctx->post;
    const char *done_id = sp_step_cp_string(ctx, "videoId");
    if (current_phase(ctx) == SP_YT_PUBLISHED) { /* uploaded, not yet recorded */
        if (done_id && *done_id)
            report_done(done_id, out);
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
