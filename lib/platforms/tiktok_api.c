/*
 * tiktok_api: the reading of TikTok's answers (see tiktok_api.h). Each error
 * code has one row in the classification table below, with what the worker
 * does about it and the words the user sees.
 */
#include "platforms/tiktok_api.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

const char *const sp_tiktok_privacy_levels[SP_TT_PRIVACY_LEVELS] = {
    "PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"};

int sp_tiktok_privacy_index(const char *name) {
    for (int i = 0; name && i < SP_TT_PRIVACY_LEVELS; i++)
        if (strcmp(name, sp_tiktok_privacy_levels[i]) == 0) return i;
    return -1;
}

/* Copies a string member of obj into buf ("" when absent or not a string). */
static void copy_string(const cJSON *obj, const char *name, char *buf, size_t len) {
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, name));
    snprintf(buf, len, "%s", v ? v : "");
    sp_utf8_truncate(buf, len - 1);
}

void sp_tiktok_read(const sp_http_resp *r, sp_tt_resp *out) {
    memset(out, 0, sizeof *out);
    out->status = r->status;
    out->retry_after = r->retry_after;
    out->raw = r->body;
    if (r->status == 0) {
        snprintf(out->message, sizeof out->message, "network error: %s", r->transport_error);
        return;
    }
    out->root = r->body ? cJSON_Parse(r->body) : NULL;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(out->root, "data");
    out->data = cJSON_IsObject(data) ? data : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(out->root, "error");
    copy_string(e, "code", out->code, sizeof out->code);
    copy_string(e, "message", out->message, sizeof out->message);
    copy_string(e, "log_id", out->log_id, sizeof out->log_id);
    if (!out->message[0]) snprintf(out->message, sizeof out->message, "HTTP %ld", r->status);
}

void sp_tiktok_resp_free(sp_tt_resp *r) {
    cJSON_Delete(r->root);
    r->root = NULL;
    r->data = NULL;
}

/* What the worker does about an error code. */
typedef enum { ACT_RETRY, ACT_RATE, ACT_DAILY, ACT_FAIL } tt_action;

/* One row per documented error code: what it means to us, in the user's words.
 * developers.tiktok.com/doc/content-posting-api-reference-direct-post (init),
 * .../content-posting-api-reference-get-video-status (status),
 * .../tiktok-api-v2-error-handling (all). */
static const struct {
    const char *code;
    tt_action action;
    const char *say;
} error_table[] = {
    {"rate_limit_exceeded", ACT_RATE, "TikTok's rate limit (6 posts a minute per account) was hit"},
    {"spam_risk_too_many_posts", ACT_DAILY,
     "TikTok's daily post cap for this account is reached; it is tried again in 24 hours"},
    {"reached_active_user_cap", ACT_DAILY,
     "this app's daily quota of TikTok posting users is reached; it is tried again in 24 hours"},
    {"unaudited_client_can_only_post_to_private_accounts", ACT_FAIL,
     "TikTok accepts only private posts from this app until TikTok has audited it: post with "
     "privacyLevel SELF_ONLY, or have the app audited for the Content Posting API"},
    {"privacy_level_option_mismatch", ACT_FAIL,
     "TikTok does not offer this account the privacyLevel asked for: choose one the account "
     "allows"},
    {"spam_risk_user_banned_from_posting", ACT_FAIL, "TikTok has banned this account from posting"},
    {"scope_not_authorized", ACT_FAIL,
     "the TikTok account did not grant video.publish: reconnect your TikTok account"},
    {"scope_permission_missed", ACT_FAIL,
     "the TikTok token lacks a scope: reconnect your TikTok account"},
    {"invalid_param", ACT_FAIL, "TikTok refused the request"},
    {"invalid_params", ACT_FAIL, "TikTok refused the request"},
    {"invalid_file_upload", ACT_FAIL, "TikTok refused the video file"},
    {"token_not_authorized_for_specified_publish_id", ACT_FAIL,
     "the TikTok token does not own this post: reconnect your TikTok account"},
    {"internal_error", ACT_RETRY, "TikTok had an internal error"},
};

/* Fills out for action, with TikTok's message and log id for support. */
static void act(tt_action action, const char *say, const sp_tt_resp *r, const char *doing,
                sp_step_outcome *out) {
    const char *what = r->code[0] ? r->code : r->message, *log = r->log_id[0] ? ", log id " : "";
    if (action == ACT_DAILY || action == ACT_RATE) { /* quotas: waited out, never failed */
        double delay = action == ACT_DAILY   ? SP_TT_DAILY_WAIT
                       : r->retry_after >= 0 ? (double)r->retry_after
                                             : SP_TT_RATE_WAIT;
        sp_step_quota(out, delay, "%s while %s (%s%s%s)", say, doing, what, log, r->log_id);
        return;
    }
    sp_step_set(out, action == ACT_FAIL ? SP_STEP_FAILED : SP_STEP_RETRY, "%s while %s (%s%s%s)",
                say, doing, what, log, r->log_id);
    if (action == ACT_RETRY) out->delay = r->retry_after >= 0 ? (double)r->retry_after : -1;
}

sp_tt_class sp_tiktok_classify(const sp_tt_resp *r, const char *doing, sp_step_outcome *out) {
    if (r->status == 0) {
        sp_step_set(out, SP_STEP_RETRY, "TikTok could not be reached while %s: %s", doing,
                    r->message);
        return SP_TT_STOP;
    }
    bool ok_code = strcmp(r->code, "ok") == 0;
    if (r->status >= 200 && r->status < 300 && ok_code) return SP_TT_OK;
    if (!strcmp(r->code, "access_token_invalid") || (r->status == 401 && !r->code[0])) {
        sp_step_set(out, SP_STEP_FAILED,
                    "TikTok refused a freshly refreshed token: reconnect your TikTok account");
        return SP_TT_AUTH;
    }
    if (!strcmp(r->code, "invalid_publish_id")) {
        sp_step_set(out, SP_STEP_RETRY, "TikTok does not know the post being made");
        return SP_TT_GONE;
    }
    for (size_t i = 0; i < sizeof error_table / sizeof error_table[0]; i++)
        if (!strcmp(r->code, error_table[i].code)) {
            act(error_table[i].action, error_table[i].say, r, doing, out);
            return SP_TT_STOP;
        }
    if (r->status == 429)
        act(ACT_RATE, "TikTok's rate limit was hit", r, doing, out);
    else if (r->status >= 500 || (r->status >= 200 && r->status < 300 && !r->code[0]))
        act(ACT_RETRY, "TikTok answered unexpectedly", r, doing, out); /* 5xx, or no envelope */
    else
        act(ACT_FAIL, "TikTok refused the post", r, doing, out);
    return SP_TT_STOP;
}

/* A bool member of obj; false when absent or not a bool. */
static bool get_bool(const cJSON *obj, const char *name) {
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, name));
}

/* A whole number member from 0 to 2^53; -1 when absent or anything else. */
static long long get_count(const cJSON *obj, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsNumber(v)) return -1;
    double d = v->valuedouble;
    return d >= 0 && d <= SP_STEP_COUNT_MAX && d == (double)(long long)d ? (long long)d : -1;
}

bool sp_tiktok_parse_creator(const cJSON *data, sp_tt_creator *out) {
    memset(out, 0, sizeof *out);
    out->max_duration = -1;
    if (!cJSON_IsObject(data)) return false;
    copy_string(data, "creator_username", out->username, sizeof out->username);
    const cJSON *options = cJSON_GetObjectItemCaseSensitive(data, "privacy_level_options");
    const cJSON *item;
    if (!cJSON_IsArray(options)) options = NULL;
    cJSON_ArrayForEach(item, options) {
        int i = sp_tiktok_privacy_index(cJSON_GetStringValue(item));
        if (i >= 0) out->privacy_options |= 1u << i;
    }
    out->comment_disabled = get_bool(data, "comment_disabled");
    out->duet_disabled = get_bool(data, "duet_disabled");
    out->stitch_disabled = get_bool(data, "stitch_disabled");
    out->max_duration = get_count(data, "max_video_post_duration_sec");
    return true;
}

bool sp_tiktok_parse_init(const cJSON *data, char *publish_id, size_t id_len, char *upload_url,
                          size_t url_len) {
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "publish_id"));
    const char *url = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "upload_url"));
    if (!id || !*id || strlen(id) >= id_len || !url || strlen(url) >= url_len) return false;
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) return false;
    snprintf(publish_id, id_len, "%s", id);
    snprintf(upload_url, url_len, "%s", url);
    return true;
}

/* The digits of the first element of publicaly_available_post_id as the text
 * raw writes it (a number or a string of digits); "" when none. */
static void first_post_id(const char *raw, char *buf, size_t len) {
    static const char key[] = "\"publicaly_available_post_id\"";
    buf[0] = '\0';
    for (const char *p = raw ? strstr(raw, key) : NULL; p; p = strstr(p + 1, key)) {
        const char *q = p + sizeof key - 1;
        while (isspace((unsigned char)*q))
            q++;
        if (*q++ != ':') continue;
        while (isspace((unsigned char)*q))
            q++;
        if (*q++ != '[') continue;
        while (isspace((unsigned char)*q))
            q++;
        if (*q == '"') q++;
        size_t n = 0;
        while (isdigit((unsigned char)q[n]) && n + 1 < len)
            n++;
        if (n == 0 || isdigit((unsigned char)q[n])) return; /* none, or too long to be an id */
        memcpy(buf, q, n);
        buf[n] = '\0';
        return;
    }
}

bool sp_tiktok_parse_status(const cJSON *data, const char *raw, sp_tt_status *out) {
    memset(out, 0, sizeof *out);
    out->uploaded_bytes = -1;
    copy_string(data, "status", out->status, sizeof out->status);
    if (!out->status[0]) return false;
    copy_string(data, "fail_reason", out->fail_reason, sizeof out->fail_reason);
    out->uploaded_bytes = get_count(data, "uploaded_bytes");
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(data, "publicaly_available_post_id");
    const cJSON *first = cJSON_GetArrayItem(cJSON_IsArray(ids) ? ids : NULL, 0);
    if (cJSON_IsNumber(first) || cJSON_IsString(first))
        first_post_id(raw, out->post_id, sizeof out->post_id);
    return true;
}

bool sp_tiktok_chunk_plan(long long size, long long want, sp_tt_chunks *out) {
    long long chunk = want < SP_TT_CHUNK_MIN ? SP_TT_CHUNK_MIN : want;
    if (chunk > SP_TT_CHUNK_MAX) chunk = SP_TT_CHUNK_MAX;
    if (size <= 0) return false;
    if (size < 2 * chunk && size <= SP_TT_CHUNK_MAX) { /* whole: under 5 MB it must be */
        out->chunk_size = size;
        out->count = 1;
        return true;
    }
    out->chunk_size = chunk;
    out->count = size / chunk; /* the last one absorbs the rest */
    long long last = size - (out->count - 1) * chunk;
    return out->count <= SP_TT_CHUNKS_MAX && last <= SP_TT_LAST_CHUNK_MAX;
}

void sp_tiktok_chunk_range(const sp_tt_chunks *c, long long size, long long index, long long *first,
                           long long *length) {
    *first = index * c->chunk_size;
    *length = index + 1 >= c->count ? size - *first : c->chunk_size;
}

/* Fills err from a token endpoint's refusal. */
static int token_refused(long status, const cJSON *root, sp_err *err) {
    const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "error"));
    if (status == 429 || status >= 500 || status == 0)
        return sp_err_set(err, SP_ERR_TRANSIENT, "token_refresh_failed",
                          "refreshing the TikTok token failed with HTTP %ld", status);
    if (code && !strcmp(code, "invalid_grant"))
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "reconnect_account",
                          "TikTok access was revoked or expired: reconnect your TikTok account");
    return sp_err_set(err, SP_ERR_UNPROCESSABLE, "reconnect_account",
                      "refreshing the TikTok token was refused (HTTP %ld, %.60s): reconnect your "
                      "TikTok account",
                      status, code ? code : "no error code");
}

int sp_tiktok_parse_token(long status, const char *body, long long now, char **access_token,
                          char **refresh_token, long long *expires_at, sp_err *err) {
    *access_token = *refresh_token = NULL;
    *expires_at = 0;
    cJSON *root = body ? cJSON_Parse(body) : NULL;
    const char *tok = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "access_token"));
    const char *rt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "refresh_token"));
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    bool refused = cJSON_IsString(error) && *error->valuestring; /* TikTok may say so in a 200 */
    int rc = -1;
    if (status == 200 && !refused && tok && *tok) {
        *access_token = strdup(tok);
        *refresh_token = rt && *rt ? strdup(rt) : NULL;
        long long lifetime = get_count(root, "expires_in");
        *expires_at = lifetime >= 0 && lifetime <= 10000000 ? now + lifetime : 0;
        if (*access_token && (!rt || !*rt || *refresh_token))
            rc = 0;
        else
            rc = sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    } else if (status == 200 && !refused) {
        sp_err_set(err, SP_ERR_TRANSIENT, "token_refresh_failed",
                   "TikTok's token answer had no access token");
    } else {
        token_refused(status == 200 ? 400 : status, root, err);
    }
    if (rc < 0) {
        free(*access_token);
        free(*refresh_token);
        *access_token = *refresh_token = NULL;
    }
    cJSON_Delete(root);
    return rc;
}
