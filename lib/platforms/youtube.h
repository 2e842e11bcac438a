/*
 * youtube: the YouTube adapter (resumable upload) and its phase machine,
 * exposed so that tests can check which phase follows which event.
 */
#ifndef SP_YOUTUBE_H
#define SP_YOUTUBE_H

#include <stdbool.h>

#include "core/http_client.h"
#include "platforms/step.h"

typedef enum {
    SP_YT_SESSION,   /* no upload session: open one */
    SP_YT_UPLOADING, /* a session exists: continue from the server's offset */
    SP_YT_PUBLISHED, /* the last chunk was accepted: the video exists */
    SP_YT_PHASES
} sp_yt_phase;

typedef enum {
    SP_YT_SESSION_OPENED, /* YouTube gave us a session URI */
    SP_YT_SESSION_LOST,   /* the session answered 404/410: it is forgotten */
    SP_YT_UPLOADED        /* the session answered 200/201 with the video id */
} sp_yt_event;

/* The phase that follows phase after event. */
sp_yt_phase sp_youtube_phase_after(sp_yt_phase phase, sp_yt_event event);

/* The phase's name as the checkpoint stores it. */
const char *sp_youtube_phase_name(sp_yt_phase phase);

/* What a YouTube answer means to the upload (the one classification). */
typedef enum {
    SP_YT_OK,           /* 200/201 (the video) or 308 (go on) */
    SP_YT_AUTH,         /* 401: the token was refused */
    SP_YT_SESSION_GONE, /* 404/410: the upload session is forgotten */
    SP_YT_TRANSIENT,    /* network, 5xx, 429, rate limits: try again later */
    SP_YT_PERMANENT     /* quota and other refusals */
} sp_yt_class;

/* Classifies r, filling out (message cut on a character boundary) for every
 * class but SP_YT_OK. Exposed for tests and the fuzzer. */
sp_yt_class sp_youtube_classify(const sp_http_resp *r, sp_step_outcome *out);

/* Reads the Range of a 308 ("bytes=0-n", or "" when the session holds
 * nothing) into the next offset (n + 1). The first byte must be 0 and n + 1 at
 * most total, the video's size; false for anything else (a malformed, negative
 * or overflowing range). */
bool sp_youtube_parse_range(const char *range, long long total, long long *offset);

extern const sp_adapter sp_adapter_youtube;

#endif
