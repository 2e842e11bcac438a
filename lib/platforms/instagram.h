/*
 * instagram: the Instagram Reels adapter (Graph container flow) and its
 * phase machine, exposed so that tests can check which phase follows which
 * event, with the readers of the answers that decide what comes next, so
 * that tests feed them the documented answers (tests/platform_docs/instagram/).
 */
#ifndef SP_INSTAGRAM_H
#define SP_INSTAGRAM_H

#include "platforms/graph.h"
#include "platforms/step.h"

typedef enum {
    SP_IG_CONTAINER,  /* no container yet: create one from the video's URL */
    SP_IG_PROCESSING, /* Instagram is processing the container: look again later */
    SP_IG_PUBLISHING, /* media_publish sent (its answer may be lost): look before sending again */
    SP_IG_PUBLISHED,  /* the media id is known */
    SP_IG_PHASES
} sp_ig_phase;

typedef enum {
    SP_IG_CREATED,     /* the container id is known */
    SP_IG_READY,       /* the container reads FINISHED: media_publish goes out next */
    SP_IG_NOT_READY,   /* media_publish said the container is not ready (9007/2207027) */
    SP_IG_MEDIA_KNOWN, /* the published media's id is known (answered, or found) */
    SP_IG_REMADE       /* the container broke (2207053) and nothing was published:
                          a new one is made */
} sp_ig_event;

/* The phase that follows phase after event. */
sp_ig_phase sp_instagram_phase_after(sp_ig_phase phase, sp_ig_event event);

/* The phase's name as the checkpoint stores it. */
const char *sp_instagram_phase_name(sp_ig_phase phase);

/* What a failed Instagram answer asks for, before the common rules. */
typedef enum {
    SP_IG_CLASSIFY,      /* the common rules (graph.h) decide */
    SP_IG_TRY_AGAIN,     /* code -1 (2207001, 2207032), 2207003, 2207052: transient */
    SP_IG_NEW_CONTAINER, /* 2207053: make a new container */
    SP_IG_RESTRICTED,    /* 4/2207051: an anti-spam restriction, not a rate limit */
    SP_IG_LIMIT,         /* 9/2207042: the publishing limit is reached */
    SP_IG_UNREADY        /* 9007/2207027: the container is not ready yet */
} sp_ig_error_action;

/* Reads the error of a failed answer r. */
sp_ig_error_action sp_instagram_error_action(const sp_graph_resp *r);

/* Reads content_publishing_limit's answer ({"data": [{"quota_usage",
 * "config": {"quota_total", "quota_duration"}}]}): usage and total posts,
 * and the window in seconds (86400 when the answer gives none); false when
 * it has no usage and total. */
bool sp_instagram_read_quota(const cJSON *body, long long *usage, long long *total,
                             long long *window);

extern const sp_adapter sp_adapter_instagram;

#endif
