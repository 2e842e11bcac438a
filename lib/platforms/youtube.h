/*
 * youtube: the YouTube adapter (resumable upload, then the optional custom
 * thumbnail) and its phase machine, exposed so that tests can check which
 * phase follows which event. What YouTube's answers mean is in
 * youtube_answers.h; what the job's options become, in sp_youtube_metadata.
 */
#ifndef SP_YOUTUBE_H
#define SP_YOUTUBE_H

#include <stdbool.h>

#include "core/http_client.h"
#include "platforms/step.h"
#include "platforms/youtube_answers.h"

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

/* The videos.insert body (a video resource: snippet and status) for post,
 * its options applied (privacyStatus, tags, categoryId, madeForKids; a
 * member of the wrong type reads as absent). Caller frees. */
char *sp_youtube_metadata(const sp_post *post);

/* The videos.insert query after "?" for post's options (notifySubscribers
 * only when given) into query. */
void sp_youtube_insert_query(const sp_post *post, char *query, size_t len);

extern const sp_adapter sp_adapter_youtube;

#endif
