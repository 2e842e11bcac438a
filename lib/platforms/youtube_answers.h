/*
 * youtube_answers: what YouTube's answers mean, in one place, without I/O.
 *
 * The one classification of an answer (go on, new token, new session, try
 * again later, wait for a quota, give up), the 308's Range, the finished
 * upload's video resource (id and the privacyStatus YouTube really gave it:
 * an API project Google has not audited gets private whatever was asked),
 * thumbnails.set's answer, when the daily quota resets (midnight Pacific
 * time), and the video's public URL (a Short only when its shape and length
 * say so). Exposed for the adapter, its tests and the fuzzer.
 */
#ifndef SP_YOUTUBE_ANSWERS_H
#define SP_YOUTUBE_ANSWERS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/http_client.h"
#include "platforms/step.h"

/* What a YouTube answer means to the upload (the one classification). */
typedef enum {
    SP_YT_OK,           /* 200/201 (the video) or 308 (go on) */
    SP_YT_AUTH,         /* 401 authError: the token was refused */
    SP_YT_SESSION_GONE, /* 404/410: the upload session is forgotten */
    SP_YT_TRANSIENT,    /* network, 5xx, 429, rate limits: try again later */
    SP_YT_WAIT,         /* a daily quota or upload limit: out is WAIT until it resets */
    SP_YT_PERMANENT     /* other refusals (a channel to create, bad metadata) */
} sp_yt_class;

/* Classifies r received at now, filling out (message cut on a character
 * boundary) for every class but SP_YT_OK. */
sp_yt_class sp_youtube_classify_at(const sp_http_resp *r, time_t now, sp_step_outcome *out);

/* sp_youtube_classify_at at the current time. */
sp_yt_class sp_youtube_classify(const sp_http_resp *r, sp_step_outcome *out);

/* Reads the Range of a 308 ("bytes=0-n", or "" when the session holds
 * nothing) into the next offset (n + 1). The first byte must be 0 and n + 1 at
 * most total, the video's size; false for anything else (a malformed, negative
 * or overflowing range). */
bool sp_youtube_parse_range(const char *range, long long total, long long *offset);

/* Reads the video resource of a finished upload: its id (non-empty) into id
 * and its status.privacyStatus into privacy ("" when absent or not a
 * string). False when the body has no id. */
bool sp_youtube_parse_video(const char *body, char *id, size_t idlen, char *privacy, size_t plen);

/* Reads thumbnails.set's answer: true for a 2xx; otherwise why, in words a
 * user can act on, into why. */
bool sp_youtube_thumbnail_answer(const sp_http_resp *r, char *why, size_t len);

/* Seconds from now (unix seconds) until the next midnight in Pacific time,
 * when YouTube's daily quota resets (US daylight saving time applied). */
long sp_youtube_quota_reset_in(time_t now);

/* True when YouTube makes this video a Short: square or vertical and at
 * most three minutes long. */
bool sp_youtube_is_short(int width, int height, double duration_seconds);

/* The public URL of video id: /shorts/<id> when is_short, else watch?v=. */
void sp_youtube_post_url(const char *id, bool is_short, char *url, size_t len);

#endif
