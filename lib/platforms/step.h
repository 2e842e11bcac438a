/*
 * step: the interface between the worker and a platform adapter.
 *
 * An adapter is a small table: the platform and a step function. A step works
 * on one post (the job's text, the video, the account, the adapter's
 * checkpoint), talks to its platform, and ends with an sp_step_outcome. It
 * never touches storage itself: what it needs from storage (saving the
 * checkpoint, storing a refreshed token, opening the spooled video) it asks of
 * the host, a table of functions the worker implements. So adapters speak
 * HTTP and nothing else, and can be run against a fake host in tests.
 *
 * An adapter's progress is an explicit phase (its own enum), saved in the
 * checkpoint as "phase" by sp_step_advance alone. Two phase names mean the same
 * to every adapter and to the database: "publishing" (the call that makes the
 * post may have gone out; its answer may be lost) and "published" (the post
 * exists). A retried delivery keeps its checkpoint in those two phases, so it
 * records or finishes the post instead of making a second one.
 *
 * The video an adapter uploads is named in the checkpoint as "video":
 * {"validator", "size", "sent"}: what the host said names its bytes (a strong
 * ETag or Last-Modified, else a hash of the whole file) and their size,
 * saved with "sent" by the first sp_step_video_wait past byte 0, so it is in
 * the database before the first byte can reach the platform (and noted by
 * sp_step_video when the checkpoint already holds something, such as a
 * session made for that version; an empty checkpoint, nothing on the
 * platform, stays empty until then). Every later open compares: the same version
 * goes on; another one, when bytes may have gone out, fails the post as
 * changed at the first sp_step_video_wait (the platform would finish a video
 * made of two versions; until then the adapter may still learn from its
 * platform that the upload had finished), and when none had, starts it
 * afresh (new session). The checkpoint lives with the
 * delivery, so a worker on another host, with another spool, judges the same.
 *
 * Progress is shown, not stored for resuming: after each checkpoint an
 * adapter that uploads bytes reports how many the platform has confirmed
 * (sp_step_progress), and every phase change is reported too; the host
 * decides how often the job shows it.
 *
 * Not here: retry rules and delivery states (queue/delivery.c).
 */
#ifndef SP_STEP_H
#define SP_STEP_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/config.h"
#include "core/mp4.h"
#include "core/err.h"
#include "platforms/catalog.h"

/* What a step ended with. */
typedef enum {
    SP_STEP_DONE,    /* posted: url and post_id are set */
    SP_STEP_FAILED,  /* permanent: message says why, for the user */
    SP_STEP_RETRY,   /* transient: try again after a backoff (or retry_after) */
    SP_STEP_WAIT,    /* not an error: come back after delay (Instagram transcoding) */
    SP_STEP_RELEASED /* interrupted (worker stopping): run again at once, anywhere */
} sp_step_kind;

typedef struct {
    sp_step_kind kind;
    char message[512]; /* FAILED/RETRY: what went wrong, safe to show the user */
    double delay;      /* WAIT: seconds; RETRY: the platform's Retry-After, or < 0 */
    /* WAIT: the platform's quota for this account (or app) is used up, and
     * delay is when it allows the call again: the job shows the delivery as
     * phase "waiting_for_quota" with that time, no attempt is counted, and
     * nothing is sent to the platform meanwhile (sp_step_quota sets it). */
    bool quota;
    /* WAIT with quota: the platform said its quota is used up but not for
     * how long, so the worker's backoff decides the wait (queue/delivery.c,
     * growing with such waits in a row) and delay is only its floor (the
     * answer's Retry-After, or < 0). sp_step_quota_backoff sets it. */
    bool quota_backoff;
    char url[512];     /* DONE */
    char post_id[128]; /* DONE */
    /* DONE: how the platform really published the post, in its own words
     * (YouTube's privacyStatus, TikTok's privacy level); "" when unknown.
     * The job's result shows it as "visibility". */
    char visibility[64];
    /* DONE: the post exists but its custom thumbnail could not be set (why,
     * for the user); "" when it was set or none was asked. The job's
     * result shows it as "thumbnailError". */
    char thumbnail_error[256];
} sp_step_outcome;

/* The post one step works on. Strings are owned by whoever filled it (the
 * worker, from the claimed delivery); checkpoint is the adapter's to change,
 * never NULL. title and description are already this platform's own when
 * its options give them (options.<platform>.title / .description). */
typedef struct {
    sp_platform platform;
    int attempts; /* transient failures so far */
    char *title, *description, *video_url;
    char *account_id, *access_token, *refresh_token;
    /* social_accounts.login: how the token was issued, where a platform has
     * two logins ("instagram": Instagram Login, served by graph.instagram.com;
     * NULL or "facebook": a Page-linked token on graph.facebook.com) */
    char *account_login;
    long long token_expires_at; /* unix seconds, 0 when unknown */
    /* The job's options for this platform (the submit body's
     * options.<platform>, checked when the job was written): an object,
     * never NULL, empty when none were given. Read-only. */
    cJSON *options;
    cJSON *checkpoint;
} sp_post;

/* What the worker offers an adapter; self is passed back to each function. */
typedef struct {
    void *self;
    /* Saves post->checkpoint. Fails with SP_ERR_CONFLICT "lease_lost" when
     * the delivery is no longer this worker's, or SP_ERR_DB_UNAVAILABLE. */
    int (*save_checkpoint)(void *self, const sp_post *post, sp_err *err);
    /* Stores post->access_token (valid until post->token_expires_at) and
     * post->refresh_token, in one statement, for the account the post used:
     * the row whose refresh token is old_refresh_token (the one the refresh
     * spent; post->refresh_token itself when the platform did not rotate it,
     * as TikTok does). */
    int (*store_token)(void *self, const sp_post *post, const char *old_refresh_token,
                       sp_err *err);
    /* Opens the post's video from local disk (fetching it once). *f is the
     * caller's to fclose. Errors: SP_ERR_TRANSIENT or SP_ERR_UNPROCESSABLE. */
    int (*open_video)(void *self, const sp_post *post, FILE **f, long long *size, sp_err *err);
    /* Waits until the first end bytes of the video f (from open_video) can
     * be read: the video may still be arriving while it is uploaded, and a
     * read of bytes not there yet would block inside a request. Fails with
     * the download's error when it failed. May be NULL (f is whole). */
    int (*wait_video)(void *self, FILE *f, long long end, sp_err *err);
    /* What names the bytes of the video f (from open_video): the strong
     * ETag or Last-Modified its server gave them, else a hash of them;
     * borrowed while f is open, NULL when unknown. May be NULL (versions
     * are not compared). */
    const char *(*video_validator)(void *self, FILE *f);
    /* True when the worker is stopping: end the step at a safe point. */
    bool (*stopping)(void *self);
    /* Shows where the post stands on its job: the phase saved in the
     * checkpoint and, when total > 0, confirmed of total bytes held by the
     * platform. The host may skip reports (it shows about one a second);
     * a report never fails the step. May be NULL (nothing is shown). */
    void (*report_progress)(void *self, const sp_post *post, long long confirmed, long long total);
} sp_step_host;

typedef struct {
    const sp_config *cfg;
    sp_post *post;
    const sp_step_host *host;
    double ig_poll_base; /* first wait for Instagram's processing, seconds */
    double ig_deadline;  /* give up on processing after this many seconds */
    /* step.c's own: the video opened is not the version bytes went out of,
     * so no byte of it may be sent (sp_step_video_wait fails the post) */
    bool video_changed;
    long long video_size; /* step.c's own: the size of the video opened */
} sp_step_ctx;

typedef struct {
    sp_platform platform;
    /* Runs one step of ctx->post; always fills out. */
    void (*step)(sp_step_ctx *ctx, sp_step_outcome *out);
} sp_adapter;

/* The adapter of platform p, or NULL when none is built in. */
const sp_adapter *sp_adapter_for(sp_platform p);

/* True when the worker is stopping: end the step at a safe point. */
bool sp_step_stopping(const sp_step_ctx *ctx);

/* Opens the post's video. On failure fills out with RETRY or FAILED as the
 * cause deserves and returns -1. The video may still be arriving: call
 * sp_step_video_wait before sending a range of it. Compares the video with
 * the version the checkpoint recorded (see the top): when a changed one finds
 * no byte of the old one sent, empties the checkpoint and ends the step with
 * WAIT (no delay, out filled, -1), so the next step starts afresh; when bytes
 * may be on the platform, the first sp_step_video_wait fails the post. The
 * first open records the version. */
int sp_step_video(sp_step_ctx *ctx, FILE **f, long long *size, sp_step_outcome *out);

/* Waits until the first end bytes of the video f are on this machine. On
 * failure (the download failed) fills out like sp_step_video and returns -1.
 * Call it before sending any range of the video: the first call past byte 0
 * saves the checkpoint with the video's version marked "sent" before any
 * byte can go out (on failure to save, out is RELEASED), and any call past
 * byte 0 fails the post (FAILED) when the video is not the version whose
 * bytes went out before. */
int sp_step_video_wait(sp_step_ctx *ctx, FILE *f, long long end, sp_step_outcome *out);

/* Reads the video's picture size and duration from its MP4 header, waiting
 * for the bytes that hold it (at the end of a file that is not fast-start,
 * that is the whole video). 1: info filled; 0: unknown (not an MP4 this can
 * read; every caller has a default); -1: the download failed (out filled
 * like sp_step_video_wait). */
int sp_step_video_info(sp_step_ctx *ctx, FILE *f, long long size, sp_mp4_info *info,
                       sp_step_outcome *out);

/* Reports that the platform holds confirmed of total bytes of the video
 * (total 0: only the phase changed). Call it after saving the checkpoint
 * that holds the same position. */
void sp_step_progress(sp_step_ctx *ctx, long long confirmed, long long total);

/* Stores the post's (just refreshed) token; on failure fills out. */
int sp_step_store_token(sp_step_ctx *ctx, sp_step_outcome *out);

/* Stores the post's just refreshed tokens, its access token and the refresh
 * token the platform rotated to (post->refresh_token), for the account row
 * that held old_refresh_token; on failure fills out. */
int sp_step_store_tokens(sp_step_ctx *ctx, const char *old_refresh_token, sp_step_outcome *out);

/* An adapter's phase machine: its phase names, indexed by its own enum, and
 * the function that says which phase follows a phase after an event. */
typedef struct {
    const char *const *names;
    int count;
    int (*after)(int phase, int event);
} sp_phase_machine;

/* The name of phase, or "unknown". */
const char *sp_phase_name(const sp_phase_machine *m, int phase);

/* The checkpoint's phase: the index of its "phase" among m's names, or 0
 * (the first phase) when absent or unknown. */
int sp_step_phase(const sp_step_ctx *ctx, const sp_phase_machine *m);

/* Moves the phase on after event and saves the checkpoint with it: the one
 * way a phase changes (and reports it). On failure fills out (RELEASED: the
 * step must end) and returns -1. */
int sp_step_advance(sp_step_ctx *ctx, const sp_phase_machine *m, int event, sp_step_outcome *out);

/* Checkpoint fields: read (borrowed; NULL/def when absent) and set (in
 * memory; sp_step_save saves). A NULL value removes the field. */
const char *sp_step_cp_string(const sp_step_ctx *ctx, const char *name);
double sp_step_cp_number(const sp_step_ctx *ctx, const char *name, double def);
void sp_step_cp_set_string(sp_step_ctx *ctx, const char *name, const char *value);

/* Largest byte count or offset a checkpoint holds: exact as a JSON number
 * (a double), far above any video. */
#define SP_STEP_COUNT_MAX 9007199254740992.0 /* 2^53 */

/* A whole number from 0 to SP_STEP_COUNT_MAX at name (an offset, a size);
 * def when absent or anything else, so no cast from a double overflows. */
long long sp_step_cp_count(const sp_step_ctx *ctx, const char *name, long long def);
void sp_step_cp_set_number(sp_step_ctx *ctx, const char *name, double value);

/* Saves the checkpoint; on failure fills out (RELEASED when the lease was
 * lost or the database is away: the step must end) and returns -1. */
int sp_step_save(sp_step_ctx *ctx, sp_step_outcome *out);

/* Fills out as a WAIT of delay seconds for a platform quota, with a
 * printf-style message for the user (as sp_step_set). */
void sp_step_quota(sp_step_outcome *out, double delay, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fills out as a quota WAIT whose length the platform did not give: the
 * worker backs off (see quota_backoff), at least floor seconds (the
 * answer's Retry-After; < 0 for none). Message as sp_step_set. */
void sp_step_quota_backoff(sp_step_outcome *out, double floor, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The checkpoint key the worker keeps its own count in (quota waits without
 * a time from the platform, in a row: queue/delivery.h). Adapters never
 * read or write it, and a checkpoint holding nothing else is empty to them
 * (nothing is on the platform). */
#define SP_STEP_CP_QUOTA_BACKOFFS "quotaBackoffs"

/* Fills out as DONE with the post's url and id. */
void sp_step_done(sp_step_outcome *out, const char *url, const char *post_id);

/* Sets a DONE outcome's visibility (as the platform reported it; NULL or ""
 * for unknown), cut to fit and made valid UTF-8. */
void sp_step_visibility(sp_step_outcome *out, const char *visibility);

/* Sets a DONE outcome's thumbnail_error (NULL or "": none), cut to fit and
 * made valid UTF-8. */
void sp_step_thumbnail_error(sp_step_outcome *out, const char *why);

/* Fills out with kind and a printf-style message, cut on a character
 * boundary and made valid UTF-8 (sp_utf8_truncate). */
void sp_step_set(sp_step_outcome *out, sp_step_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fills out from an error: lost leases and database trouble release the
 * delivery (safe to run again), SP_ERR_UNPROCESSABLE fails it, the rest
 * retries. */
void sp_step_from_err(sp_step_outcome *out, const sp_err *err);

#endif
