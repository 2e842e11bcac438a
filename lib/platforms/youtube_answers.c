/*
 * youtube_answers: reading YouTube's answers (see youtube_answers.h).
 *
 * Google's errors are {"error": {"code", "message", "errors": [{"reason",
 * "domain", "message"}]}}; the reason decides, the message is shown. The
 * documented answers these functions are tested on are in
 * tests/platform_docs/youtube/.
 */
#include "platforms/youtube_answers.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "core/http_headers.h"
#include "core/json.h"

#define YT_UPLOAD_LIMIT_WAIT 86400 /* "try again in 24 hours" */
#define YT_SHORT_MAX_SECONDS 180.0 /* Shorts are up to three minutes (since 15 October 2024) */

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

/* True for the answers that only a later try can cure. */
static bool busy(long status, const char *reason) {
    return status == 429 || status >= 500 ||
           (status == 403 &&
            (!strcmp(reason, "rateLimitExceeded") || !strcmp(reason, "userRateLimitExceeded")));
}

/* The quotas: a WAIT until they reset, holding nothing, counting no attempt. */
static bool quota(const char *reason, time_t now, sp_step_outcome *out) {
    if (!strcmp(reason, "quotaExceeded")) {
        sp_step_quota(out, (double)sp_youtube_quota_reset_in(now),
                      "YouTube's daily API quota is used up; the upload waits until it resets "
                      "at midnight Pacific time");
        return true;
    }
    if (!strcmp(reason, "uploadLimitExceeded")) {
        sp_step_quota(out, YT_UPLOAD_LIMIT_WAIT,
                      "this YouTube channel reached its daily upload limit; trying again in 24 "
                      "hours");
        return true;
    }
    return false;
}

sp_yt_class sp_youtube_classify_at(const sp_http_resp *r, time_t now, sp_step_outcome *out) {
    char message[320], reason[64];
    if (r->status == 0) {
        sp_step_set(out, SP_STEP_RETRY, "network error talking to YouTube: %s", r->transport_error);
        return SP_YT_TRANSIENT;
    }
    if (r->status == 200 || r->status == 201 || r->status == 308) return SP_YT_OK;
    google_error(r, message, sizeof message, reason, sizeof reason);
    if (r->status == 401 && !strcmp(reason, "youtubeSignupRequired")) {
        sp_step_set(out, SP_STEP_FAILED,
                    "this Google account has no YouTube channel: create a YouTube channel for "
                    "this account, then post again");
        return SP_YT_PERMANENT;
    }
    if (r->status == 401) {
        sp_step_set(out, SP_STEP_FAILED,
                    "YouTube refused a freshly refreshed token: reconnect your YouTube account");
        return SP_YT_AUTH;
    }
    if (r->status == 404 || r->status == 410) return SP_YT_SESSION_GONE;
    if (quota(reason, now, out)) return SP_YT_WAIT;
    if (busy(r->status, reason)) {
        sp_step_set(out, SP_STEP_RETRY, "YouTube is busy (HTTP %ld%s%s)", r->status,
                    *reason ? ": " : "", reason);
        out->delay = r->retry_after >= 0 ? (double)r->retry_after : -1;
        return SP_YT_TRANSIENT;
    }
    sp_step_set(out, SP_STEP_FAILED, "YouTube rejected the upload: %s", message);
    return SP_YT_PERMANENT;
}

sp_yt_class sp_youtube_classify(const sp_http_resp *r, sp_step_outcome *out) {
    return sp_youtube_classify_at(r, time(NULL), out);
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

bool sp_youtube_parse_video(const char *body, char *id, size_t idlen, char *privacy, size_t plen) {
    cJSON *root = body ? cJSON_Parse(body) : NULL;
    const cJSON *vid = cJSON_GetObjectItemCaseSensitive(root, "id");
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(root, "status");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(status, "privacyStatus");
    bool ok = cJSON_IsString(vid) && *vid->valuestring && strlen(vid->valuestring) < idlen;
    snprintf(id, idlen, "%s", ok ? vid->valuestring : "");
    snprintf(privacy, plen, "%s", cJSON_IsString(p) ? p->valuestring : "");
    sp_utf8_truncate(privacy, plen - 1);
    cJSON_Delete(root);
    return ok;
}

bool sp_youtube_thumbnail_answer(const sp_http_resp *r, char *why, size_t len) {
    char message[320], reason[64];
    if (r->status >= 200 && r->status < 300) {
        why[0] = '\0';
        return true;
    }
    if (r->status == 0) {
        snprintf(why, len, "the thumbnail could not be sent to YouTube: %s", r->transport_error);
    } else {
        google_error(r, message, sizeof message, reason, sizeof reason);
        if (r->status == 403)
            snprintf(why, len,
                     "YouTube refused the custom thumbnail (the channel may need to be "
                     "verified to use custom thumbnails): %s",
                     message);
        else
            snprintf(why, len, "YouTube refused the thumbnail (%s%s%ld): %s", reason,
                     *reason ? ", HTTP " : "HTTP ", r->status, message);
    }
    sp_utf8_truncate(why, len - 1);
    return false;
}

/* Unix time of 00:00 UTC on the nth Sunday of month (0-11) of year. */
static time_t nth_sunday(int year, int month, int n) {
    struct tm tm = {.tm_year = year - 1900, .tm_mon = month, .tm_mday = 1};
    time_t first = timegm(&tm);
    struct tm day;
    gmtime_r(&first, &day);
    int to_sunday = (7 - day.tm_wday) % 7;
    return first + (time_t)(to_sunday + 7 * (n - 1)) * 86400;
}

/* True when US Pacific daylight time is in force at t: from 02:00 PST on
 * March's second Sunday (10:00 UTC) to 02:00 PDT on November's first (09:00 UTC). */
static bool pacific_dst(time_t t) {
    struct tm utc;
    gmtime_r(&t, &utc);
    int year = utc.tm_year + 1900;
    return t >= nth_sunday(year, 2, 2) + 10 * 3600 && t < nth_sunday(year, 10, 1) + 9 * 3600;
}

long sp_youtube_quota_reset_in(time_t now) {
    long offset = pacific_dst(now) ? -7 * 3600 : -8 * 3600;
    time_t local = now + offset;
    time_t midnight = (local / 86400 + 1) * 86400; /* the next local midnight, as if UTC */
    time_t reset = midnight + 8 * 3600;            /* in standard time */
    if (pacific_dst(reset)) reset = midnight + 7 * 3600;
    return (long)(reset - now);
}

bool sp_youtube_is_short(int width, int height, double duration_seconds) {
    return width > 0 && height > 0 && height >= width && duration_seconds > 0 &&
           duration_seconds <= YT_SHORT_MAX_SECONDS;
}

void sp_youtube_post_url(const char *id, bool is_short, char *url, size_t len) {
    if (is_short)
        snprintf(url, len, "https://www.youtube.com/shorts/%s", id);
    else
        snprintf(url, len, "https://www.youtube.com/watch?v=%s", id);
}
