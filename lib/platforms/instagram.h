/*
 * instagram: the Instagram Reels adapter (Graph container flow) and its
 * phase machine, exposed so that tests can check which phase follows which
 * event.
 */
#ifndef SP_INSTAGRAM_H
#define SP_INSTAGRAM_H

#include "platforms/step.h"

typedef enum {
    SP_IG_CONTAINER,  /* no container yet: create one from the video's URL */
    SP_IG_PROCESSING, /* Instagram is processing the container: look again later */
    SP_IG_PUBLISHING, /* media_publish sent (its answer may be lost): look before sending again */
    SP_IG_PUBLISHED,  /* the media id is known */
    SP_IG_PHASES
} sp_ig_phase;

typedef enum {
    SP_IG_CREATED,    /* the container id is known */
    SP_IG_READY,      /* the container reads FINISHED: media_publish goes out next */
    SP_IG_NOT_READY,  /* media_publish said the container is not ready (9007/2207027) */
    SP_IG_MEDIA_KNOWN /* the published media's id is known (answered, or found) */
} sp_ig_event;

/* The phase that follows phase after event. */
sp_ig_phase sp_instagram_phase_after(sp_ig_phase phase, sp_ig_event event);

/* The phase's name as the checkpoint stores it. */
const char *sp_instagram_phase_name(sp_ig_phase phase);

extern const sp_adapter sp_adapter_instagram;

#endif
