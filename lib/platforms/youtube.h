/*
 * youtube: the YouTube adapter (resumable upload) and its phase machine,
 * exposed so that tests can check which phase follows which event.
 */
#ifndef SP_YOUTUBE_H
#define SP_YOUTUBE_H

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

extern const sp_adapter sp_adapter_youtube;

#endif
