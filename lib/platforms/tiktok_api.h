/*
 * tiktok_api: TikTok's Content Posting API answers, read and classified, and
 * the chunk arithmetic of its file upload. No I/O: the adapter (tiktok.c)
 * makes the calls; the unit tests and the fuzzer feed these functions the
 * documented answers (tests/platform_docs/tiktok/).
 *
 * Every Open API answer has one envelope, {"data": {...}, "error": {"code",
 * "message", "log_id"}}, where code "ok" is success whatever else is there
 * (developers.tiktok.com/doc/tiktok-api-v2-error-handling). The error codes
 * are classified in one place, sp_tiktok_classify, by the tables of the
 * Direct Post and Get Post Status references.
 */
#ifndef SP_TIKTOK_API_H
#define SP_TIKTOK_API_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "core/http_client.h"
#include "platforms/step.h"

/* An Open API answer, read. */
typedef struct {
    long status;       /* HTTP status; 0 when no answer came */
    cJSON *root;       /* the parsed body, or NULL */
    const cJSON *data; /* root's "data" object (borrowed), or NULL */
    const char *raw;   /* the body as sent (borrowed from the response), or NULL */
    char code[64];     /* error.code; "" when absent */
    char message[320]; /* error.message, or what went wrong */
    char log_id[80];   /* error.log_id, for TikTok's support */
    long retry_after;  /* seconds, -1 when absent */
} sp_tt_resp;

/* Reads an HTTP answer (r's body is borrowed by out->raw until r is freed).
 * Free with sp_tiktok_resp_free. */
void sp_tiktok_read(const sp_http_resp *r, sp_tt_resp *out);
void sp_tiktok_resp_free(sp_tt_resp *r);

/* What an answer means to the adapter. */
typedef enum {
    SP_TT_OK,   /* error.code "ok" on a 2xx */
    SP_TT_AUTH, /* access_token_invalid: a refreshed token may cure it */
    SP_TT_GONE, /* invalid_publish_id: TikTok does not know the publish */
    SP_TT_STOP  /* anything else: out says what to do (retry, wait, fail) */
} sp_tt_class;

/* The one classification of TikTok's errors; fills out for SP_TT_STOP (and
 * with a reconnect message for SP_TT_AUTH, for when no refresh cures it).
 * doing names the call for messages ("starting the post"). */
sp_tt_class sp_tiktok_classify(const sp_tt_resp *r, const char *doing, sp_step_outcome *out);

/* Seconds to wait on a daily cap (spam_risk_too_many_posts: "too many posts
 * within the last 24 hours"). */
#define SP_TT_DAILY_WAIT 86400.0
/* Seconds to wait on a rate limit answered without Retry-After. */
#define SP_TT_RATE_WAIT 60.0

/* creator_info/query's data. */
typedef struct {
    char username[128];       /* creator_username, "" when absent */
    unsigned privacy_options; /* bit i: privacy level i of sp_tiktok_privacy_levels */
    bool comment_disabled, duet_disabled, stitch_disabled;
    long long max_duration; /* max_video_post_duration_sec; -1 when absent */
} sp_tt_creator;

/* PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, FOLLOWER_OF_CREATOR, SELF_ONLY. */
#define SP_TT_PRIVACY_LEVELS 4
extern const char *const sp_tiktok_privacy_levels[SP_TT_PRIVACY_LEVELS];

/* The index of privacy level name, or -1 when it is not one. */
int sp_tiktok_privacy_index(const char *name);

/* Reads creator info from an answer's data; false when data is no object. */
bool sp_tiktok_parse_creator(const cJSON *data, sp_tt_creator *out);

/* video/init's data: publish_id and upload_url (both required). */
bool sp_tiktok_parse_init(const cJSON *data, char *publish_id, size_t id_len, char *upload_url,
                          size_t url_len);

/* status/fetch's data. */
typedef struct {
    char status[40];          /* PROCESSING_UPLOAD, ..., PUBLISH_COMPLETE, FAILED */
    char fail_reason[80];     /* "" when absent */
    long long uploaded_bytes; /* -1 when absent */
    char post_id[32];         /* publicaly_available_post_id[0], digits; "" when none */
} sp_tt_status;

/* Reads status/fetch's data. The post ids are 19-digit int64s, beyond what a
 * JSON number read as a double keeps exactly, so the first is read as the
 * digits the answer's text holds (raw: the body). False without a status. */
bool sp_tiktok_parse_status(const cJSON *data, const char *raw, sp_tt_status *out);

/* The chunks of a FILE_UPLOAD (developers.tiktok.com/doc/content-posting-api-media-transfer-guide):
 * chunk_size bytes each, count = floor(size / chunk_size), the last chunk
 * absorbing the rest. */
typedef struct {
    long long chunk_size, count;
} sp_tt_chunks;

#define SP_TT_CHUNK_MIN (5LL * 1024 * 1024) /* "at least 5 MB" */
#define SP_TT_CHUNK_MAX 64000000LL          /* "no greater than 64 MB" */
#define SP_TT_LAST_CHUNK_MAX 128000000LL    /* the last: "up to 128 MB" */
#define SP_TT_CHUNKS_MAX 1000

/* Plans the chunks of a video of size bytes with chunks of about want bytes
 * (clamped to the limits): a video under two chunks goes up whole (TikTok
 * demands it under 5 MB and allows it up to 64 MB). False when TikTok cannot
 * take the size (0, or more than its rules allow). */
bool sp_tiktok_chunk_plan(long long size, long long want, sp_tt_chunks *out);

/* The first byte and length of chunk index (0-based) of a plan for size. */
void sp_tiktok_chunk_range(const sp_tt_chunks *c, long long size, long long index, long long *first,
                           long long *length);

/* Reads the token endpoint's answer received at now: the new access token,
 * the refresh token (TikTok rotates them: NULL when the answer has none, so
 * the old one is kept) and when the access token expires, from expires_in
 * (seconds, 0 to 1e7; otherwise *expires_at is 0, unknown: the token is
 * used until TikTok refuses it, never given a lifetime of our own, and the
 * answer is still taken, since its rotated refresh token must not be lost).
 * invalid_grant and other refusals fail with
 * SP_ERR_UNPROCESSABLE (reconnect), 429/5xx/odd answers with SP_ERR_TRANSIENT.
 * Caller frees both strings. */
int sp_tiktok_parse_token(long status, const char *body, long long now, char **access_token,
                          char **refresh_token, long long *expires_at, sp_err *err);

#endif
