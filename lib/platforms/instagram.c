/*
 * instagram: an Instagram Reel through the Graph API's container flow:
 * create a REELS container from the video's URL, wait until Instagram has
 * processed it, publish it, read its permalink.
 *
 * Phases: container -> processing -> publishing -> published. The wait holds
 * no worker slot: while the container is IN_PROGRESS the step ends with WAIT
 * and the delivery is claimed again later, at a growing interval, until
 * FINISHED or the deadline. The checkpoint is {"phase", "containerId",
 * "createdAt", "polls", "publishedAt", "publishAnswer", "mediaId",
 * "permalink"}.
 *
 * Our reel is known by the container we made, never by its caption (captions
 * repeat, or are empty). The publishing phase is saved before media_publish
 * is sent, and the container's status is always read first: PUBLISHED means
 * our publish went through. The Graph API links neither way between a
 * container and its media (a container exposes id, status, status_code; a
 * media has no creation_id), so when the publish answer was lost the
 * container's id is recorded for the reel, with Instagram's address as its
 * link. A container still FINISHED after a publish went out is looked at
 * again for a while (its status lags the publish), then published again: a
 * container publishes at most once, so that cannot make a second reel. A
 * look-up that fails is retried, never read as "not published".
 */
#include "platforms/instagram.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "platforms/catalog.h"
#include "platforms/graph.h"

static const char *const phase_names[SP_IG_PHASES] = {"container", "processing", "publishing",
                                                      "published"};

sp_ig_phase sp_instagram_phase_after(sp_ig_phase phase, sp_ig_event event) {
    switch (event) {
    case SP_IG_CREATED:
        return phase == SP_IG_CONTAINER ? SP_IG_PROCESSING : phase;
    case SP_IG_READY:
        return phase == SP_IG_PROCESSING ? SP_IG_PUBLISHING : phase;
    case SP_IG_NOT_READY:
        return phase == SP_IG_PUBLISHING ? SP_IG_PROCESSING : phase;
    case SP_IG_MEDIA_KNOWN:
        return phase == SP_IG_PROCESSING || phase == SP_IG_PUBLISHING ? SP_IG_PUBLISHED : phase;
    }
    return phase;
}

/* The phase machine as step.c drives it. */
static int phase_after(int phase, int event) {
    return (int)sp_instagram_phase_after((sp_ig_phase)phase, (sp_ig_event)event);
}

static const sp_phase_machine phases = {phase_names, SP_IG_PHASES, phase_after};

const char *sp_instagram_phase_name(sp_ig_phase phase) {
    return sp_phase_name(&phases, (int)phase);
}

/* The phase the checkpoint is in. */
static sp_ig_phase current_phase(const sp_step_ctx *ctx) {
    return (sp_ig_phase)sp_step_phase(ctx, &phases);
}

/* Moves the phase on after event and saves the checkpoint with it. */
static int advance(sp_step_ctx *ctx, sp_ig_event event, sp_step_outcome *out) {
    return sp_step_advance(ctx, &phases, (int)event, out);
}

#define IG_POLL_GROWTH 1.5
#define IG_POLL_MAX 60.0
/* How long a container may read FINISHED after our publish went out before
 * it is published again (its status lags the publish by seconds). */
#define IG_PUBLISH_SETTLE 120.0

/* The one place an Instagram answer is classified; fills out. */
static void classify(const sp_graph_resp *r, const char *doing, sp_step_outcome *out) {
    if (r->code == 9 || r->subcode == 2207042) {
        sp_step_set(out, SP_STEP_FAILED,
                    "Instagram's publishing limit for this account is reached; post again "
                    "later (%s)",
                    r->message);
        return;
    }
    bool transient_subcode = r->subcode == 2207003 || r->subcode == 2207052;
    sp_graph_class c = transient_subcode ? SP_GRAPH_TRANSIENT : sp_graph_classify(r);
    if (c == SP_GRAPH_TRANSIENT) {
        sp_step_set(out, SP_STEP_RETRY, "Instagram %s failed: %s", doing, r->message);
        out->delay = r->retry_after >= 0 ? (double)r->retry_after : -1;
    } else if (c == SP_GRAPH_AUTH) {
        sp_step_set(out, SP_STEP_FAILED,
                    "Instagram refused the token: reconnect your Instagram account (%s)",
                    r->message);
    } else {
        sp_step_set(out, SP_STEP_FAILED, "Instagram rejected the reel: %s", r->message);
    }
}

/* A Graph call for this delivery. */
static void call(sp_step_ctx *ctx, const char *method, const char *path,
                 const sp_http_field *params, int n, sp_graph_resp *r) {
    sp_graph_call c = {.method = method,
                       .base = ctx->cfg->facebook_graph_url,
                       .path = path,
                       .params = params,
                       .nparams = n,
                       .access_token = ctx->post->access_token};
    sp_graph_request(&c, r);
}

/* Creates the container from the video's URL and saves its id. */
static int create_container(sp_step_ctx *ctx, sp_step_outcome *out) {
    const sp_post *d = ctx->post;
    char path[256];
    snprintf(path, sizeof path, "%s/media", d->account_id);
    char *caption = sp_platform_caption(d->title, d->description);
    sp_http_field params[] = {{"media_type", "REELS"},
                              {"video_url", d->video_url ? d->video_url : ""},
                              {"caption", caption ? caption : ""}};
    sp_graph_resp r;
    call(ctx, "POST", path, params, 3, &r);
    free(caption);
    const char *id = sp_graph_string(&r, "id");
    int rc = -1;
    if (r.failed)
        classify(&r, "creating the reel", out);
    else if (!id)
        sp_step_set(out, SP_STEP_RETRY, "Instagram did not return a container id");
    else {
        sp_step_cp_set_string(ctx, "containerId", id);
        sp_step_cp_set_number(ctx, "createdAt", (double)time(NULL));
        sp_step_cp_set_number(ctx, "polls", 0);
        rc = advance(ctx, SP_IG_CREATED, out);
    }
    sp_graph_resp_free(&r);
    return rc;
}

/* Ends the step with a wait before the next look at the container. */
static void wait_for_processing(sp_step_ctx *ctx, sp_step_outcome *out) {
    double polls = sp_step_cp_number(ctx, "polls", 0);
    double delay = ctx->ig_poll_base * pow(IG_POLL_GROWTH, polls);
    sp_step_cp_set_number(ctx, "polls", polls + 1);
    if (sp_step_save(ctx, out) < 0) return;
    sp_step_set(out, SP_STEP_WAIT, "%s", "");
    out->delay = delay < IG_POLL_MAX ? delay : IG_POLL_MAX;
}

/* Reads the permalink of the saved media and reports success. */
static void finish_with_permalink(sp_step_ctx *ctx, sp_step_outcome *out) {
    const char *media_id = sp_step_cp_string(ctx, "mediaId");
    const char *known = sp_step_cp_string(ctx, "permalink");
    if (known) {
        sp_step_done(out, known, media_id);
        return;
    }
    sp_http_field params[] = {{"fields", "permalink"}};
    sp_graph_resp r;
    call(ctx, "GET", media_id, params, 1, &r);
    const char *permalink = sp_graph_string(&r, "permalink");
    if (r.failed && sp_graph_classify(&r) == SP_GRAPH_TRANSIENT && ctx->post->attempts < 3) {
        classify(&r, "reading the reel's link", out);
    } else {
        /* published either way: a link we cannot read is never a failure */
        char fallback[256];
        snprintf(fallback, sizeof fallback, "https://www.instagram.com/");
        sp_step_cp_set_string(ctx, "permalink", permalink ? permalink : fallback);
        if (sp_step_save(ctx, out) == 0)
            sp_step_done(out, sp_step_cp_string(ctx, "permalink"), media_id);
    }
    sp_graph_resp_free(&r);
}

/* Records the published reel: the media id saved from media_publish's
 * answer, or, when that answer was lost, the container's id with
 * Instagram's address as its link (the API cannot tell us the media). */
static void record_media(sp_step_ctx *ctx, sp_step_outcome *out) {
    if (!sp_step_cp_string(ctx, "mediaId")) {
        sp_step_cp_set_string(ctx, "mediaId", sp_step_cp_string(ctx, "containerId"));
        sp_step_cp_set_string(ctx, "permalink", "https://www.instagram.com/");
    }
    if (advance(ctx, SP_IG_MEDIA_KNOWN, out) == 0) finish_with_permalink(ctx, out);
}

/* media_publish of a FINISHED container; saves the media id at once. A
 * publish sent again (the container still read FINISHED long after the
 * first) that fails for any reason but the token is retried: the next look
 * at the container tells whether one went through. */
static void publish(sp_step_ctx *ctx, sp_step_outcome *out) {
    bool again = current_phase(ctx) == SP_IG_PUBLISHING;
    sp_step_cp_set_number(ctx, "publishedAt", (double)time(NULL));
    sp_step_cp_set_string(ctx, "publishAnswer", NULL); /* unknown until an answer comes */
    if (advance(ctx, SP_IG_READY, out) < 0) return;
    char path[256];
    snprintf(path, sizeof path, "%s/media_publish", ctx->post->account_id);
    sp_http_field params[] = {{"creation_id", sp_step_cp_string(ctx, "containerId")}};
    sp_graph_resp r;
    call(ctx, "POST", path, params, 1, &r);
    const char *id = sp_graph_string(&r, "id");
    if (r.failed && r.status != 0) /* refused, not lost: no need to wait for the status */
        sp_step_cp_set_string(ctx, "publishAnswer", "refused");
    if (r.failed && r.code == 9007 && r.subcode == 2207027) {
        if (advance(ctx, SP_IG_NOT_READY, out) == 0)
            wait_for_processing(ctx, out); /* not ready after all */
    } else if (r.failed && again && sp_graph_classify(&r) != SP_GRAPH_AUTH) {
        sp_step_set(out, SP_STEP_RETRY, "Instagram did not take the reel again (%s); checking it",
                    r.message);
    } else if (r.failed) {
        classify(&r, "publishing the reel", out);
    } else if (!id) {
        sp_step_set(out, SP_STEP_RETRY, "Instagram did not return the published media id");
    } else {
        sp_step_cp_set_string(ctx, "mediaId", id);
        if (advance(ctx, SP_IG_MEDIA_KNOWN, out) == 0) finish_with_permalink(ctx, out);
    }
    sp_graph_resp_free(&r);
}

/* A publish went out yet the container still reads FINISHED. When its
 * answer was lost, look again shortly, and publish again only once the
 * status has had time to catch up; when it was refused, publish again now. */
static void publish_unless_published(sp_step_ctx *ctx, sp_step_outcome *out) {
    double sent = sp_step_cp_number(ctx, "publishedAt", 0);
    bool refused = sp_step_cp_string(ctx, "publishAnswer") != NULL;
    if (!refused && (double)time(NULL) - sent < IG_PUBLISH_SETTLE)
        wait_for_processing(ctx, out);
    else
        publish(ctx, out);
}

/* Looks at the container and acts on its status_code. */
static void check_container(sp_step_ctx *ctx, sp_step_outcome *out) {
    sp_http_field params[] = {{"fields", "status_code,status"}};
    sp_graph_resp r;
    call(ctx, "GET", sp_step_cp_string(ctx, "containerId"), params, 1, &r);
    const char *code = sp_graph_string(&r, "status_code");
    const char *status = sp_graph_string(&r, "status");
    double age = (double)time(NULL) - sp_step_cp_number(ctx, "createdAt", (double)time(NULL));
    if (r.failed && current_phase(ctx) == SP_IG_PUBLISHING &&
        sp_graph_classify(&r) != SP_GRAPH_AUTH) /* maybe published: never give up on a look */
        sp_step_set(out, SP_STEP_RETRY, "checking whether Instagram published the reel failed: %s",
                    r.message);
    else if (r.failed)
        classify(&r, "checking the reel's processing", out);
    else if (!code)
        sp_step_set(out, SP_STEP_RETRY, "Instagram did not say how the processing goes");
    else if (!strcmp(code, "FINISHED") && current_phase(ctx) == SP_IG_PUBLISHING)
        publish_unless_published(ctx, out);
    else if (!strcmp(code, "FINISHED"))
        publish(ctx, out);
    else if (!strcmp(code, "PUBLISHED")) /* our publish went through; its answer was lost */
        record_media(ctx, out);
    else if (!strcmp(code, "ERROR"))
        sp_step_set(out, SP_STEP_FAILED, "Instagram could not process the video: %s",
                    status ? status : "ERROR");
    else if (!strcmp(code, "EXPIRED"))
        sp_step_set(out, SP_STEP_FAILED,
                    "the Instagram container expired before it could be published");
    else if (age > ctx->ig_deadline)
        sp_step_set(out, SP_STEP_FAILED,
                    "Instagram did not finish processing the video within %.0f minutes",
                    ctx->ig_deadline / 60);
    else
        wait_for_processing(ctx, out);
    sp_graph_resp_free(&r);
}

/* One step of an Instagram delivery: create, or look and maybe publish. */
static void instagram_step(sp_step_ctx *ctx, sp_step_outcome *out) {
    const sp_post *d = ctx->post;
    if (!d->account_id || !*d->account_id || !d->access_token || !*d->access_token) {
        sp_step_set(out, SP_STEP_FAILED, "no Instagram account is connected for this user");
        return;
    }
    sp_ig_phase phase = current_phase(ctx);
    bool has_container = sp_step_cp_string(ctx, "containerId") != NULL;
    if (phase == SP_IG_PUBLISHED && sp_step_cp_string(ctx, "mediaId"))
        finish_with_permalink(ctx, out);
    else if (phase >= SP_IG_PUBLISHING && !has_container) /* a publish may have gone out */
        sp_step_set(out, SP_STEP_FAILED,
                    "the saved progress of this reel lacks its container id: "
                    "it cannot be continued without risking a second post");
    else if (phase == SP_IG_CONTAINER || !has_container) {
        if (!d->video_url || !*d->video_url)
            sp_step_set(out, SP_STEP_FAILED, "the video has no URL");
        else if (create_container(ctx, out) == 0)
            wait_for_processing(ctx, out);
    } else
        check_container(ctx, out);
}

const sp_adapter sp_adapter_instagram = {.platform = SP_INSTAGRAM, .step = instagram_step};
