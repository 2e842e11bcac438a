/*
 * tiktok: the TikTok adapter (Content Posting API, Direct Post, FILE_UPLOAD)
 * and its phase machine, exposed so that tests can check which phase follows
 * which event.
 */
#ifndef SP_TIKTOK_H
#define SP_TIKTOK_H

#include "platforms/step.h"

typedef enum {
    SP_TT_INIT,       /* no publish yet: creator_info, then video/init */
    SP_TT_UPLOADING,  /* publish_id and upload_url saved: send the chunks in order */
    SP_TT_PUBLISHING, /* the last chunk may have gone out: TikTok may be posting */
    SP_TT_PUBLISHED,  /* PUBLISH_COMPLETE: the post exists */
    SP_TT_PHASES
} sp_tt_phase;

typedef enum {
    SP_TT_INITIALIZED,       /* video/init answered a publish_id and an upload_url */
    SP_TT_LAST_CHUNK,        /* the last chunk goes out next (or TikTok holds every byte) */
    SP_TT_UPLOAD_INCOMPLETE, /* status/fetch: TikTok still lacks bytes */
    SP_TT_NOTHING_PUBLISHED, /* the publish ended or was lost before anything was posted */
    SP_TT_POSTED             /* status/fetch: PUBLISH_COMPLETE */
} sp_tt_event;

/* The phase that follows phase after event. */
sp_tt_phase sp_tiktok_phase_after(sp_tt_phase phase, sp_tt_event event);

/* The phase's name as the checkpoint stores it. */
const char *sp_tiktok_phase_name(sp_tt_phase phase);

/* The public address of a post: the video when its id is known, else the
 * creator's profile (username may be ""). Writes into buf. */
void sp_tiktok_post_url(const char *username, const char *post_id, char *buf, size_t len);

extern const sp_adapter sp_adapter_tiktok;

#endif
