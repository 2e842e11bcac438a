/*
 * facebook: the Facebook Page video adapter (Graph resumable upload, or a
 * Reel through video_reels and rupload) and its phase machine, exposed so
 * that tests can check which phase follows which event, with the readers of
 * the answers that decide what comes next, so that tests feed them the
 * documented answers (tests/platform_docs/facebook/).
 */
#ifndef SP_FACEBOOK_H
#define SP_FACEBOOK_H

#include "platforms/graph.h"
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

/* What a transfer's answer asks for next. */
typedef enum {
    SP_FB_NEXT_RANGE, /* send [start, end) next: the answer's range, or error_data's
                         after a transfer at the wrong offset (1363037) */
    SP_FB_SAME_RANGE, /* a resumable-upload error the SDKs retry (1363030, 1363019,
                         1363033, 1363021, 1363041, or 1363037 without offsets) */
    SP_FB_OTHER_FILE, /* 6000/1363045: Facebook will not take this file */
    SP_FB_CLASSIFY,   /* another error: the common rules decide */
    SP_FB_NO_OFFSETS  /* a success without a range inside the file */
} sp_fb_transfer_verdict;

/* Reads a transfer's answer r for a file of size bytes; sets *start and
 * *end for SP_FB_NEXT_RANGE. */
sp_fb_transfer_verdict sp_facebook_transfer_verdict(const sp_graph_resp *r, long long size,
                                                    long long *start, long long *end);

/* A video's status (GET /{video-id}?fields=status), as a Reel's upload and
 * publishing read it. */
typedef struct {
    long long bytes_transferred; /* uploading_phase.bytes_transferred; -1 when absent */
    bool uploaded;               /* uploading_phase.status "complete" */
    bool publishing;             /* publishing_phase "in_progress" or "complete", or published */
    bool published;              /* publishing_phase "complete", or published */
    bool error;                  /* video_status "error", or a phase "error" */
    char error_message[200];     /* its message, when one is given */
} sp_fb_video_status;

/* Reads body (a video's status answer) into out; false when it has no
 * status object. */
bool sp_facebook_read_status(const cJSON *body, sp_fb_video_status *out);

/* True when the post goes out as a Reel: options.facebook.asReel when it is
 * a boolean, else vertical (height > width) when the video's shape is known
 * (known > 0), else a regular video. */
bool sp_facebook_as_reel(const cJSON *options, int known, int width, int height);

extern const sp_adapter sp_adapter_facebook;

#endif
