/*
 * facebook: the Facebook Page video adapter (Graph resumable upload) and its
 * phase machine, exposed so that tests can check which phase follows which
 * event.
 */
#ifndef SP_FACEBOOK_H
#define SP_FACEBOOK_H

#include "platforms/step.h"

typedef enum {
    SP_FB_START,      /* no upload session: upload_phase=start */
    SP_FB_TRANSFER,   /* sending the ranges the server asks for */
    SP_FB_PUBLISHING, /* finish sent (its answer may be lost): check before sending again */
    SP_FB_PUBLISHED,  /* Facebook confirmed the video is published */
    SP_FB_PHASES
} sp_fb_phase;

typedef enum {
    SP_FB_STARTED,  /* the session's video id and first range are known */
    SP_FB_SENT,     /* the server wants no more bytes: finish goes out next */
    SP_FB_CONFIRMED /* finish succeeded, or the video reads published */
} sp_fb_event;

/* The phase that follows phase after event. */
sp_fb_phase sp_facebook_phase_after(sp_fb_phase phase, sp_fb_event event);

/* The phase's name as the checkpoint stores it. */
const char *sp_facebook_phase_name(sp_fb_phase phase);

extern const sp_adapter sp_adapter_facebook;

#endif
