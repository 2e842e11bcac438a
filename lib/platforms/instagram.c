/*
 * instagram: an Instagram Reel through the Graph API's container flow:
 * create a REELS container from the video's URL, wait until Instagram has
 * processed it, publish it, read its permalink. Instagram Login tokens
 * (the account's login "instagram") are served by graph.instagram.com
 * (INSTAGRAM_GRAPH_URL), Page-linked tokens by graph.facebook.com
 * (FACEBOOK_GRAPH_URL); each refuses the other's tokens.
 *
 * Phases: container -> processing -> publishing -> published. The wait holds
 * no worker slot: while the container is IN_PROGRESS the step ends with WAIT
 * and the delivery is claimed again later, at a growing interval, until
 * FINISHED or the deadline. Before a container is made, the account's
 * content_publishing_limit is read: at its limit (50 posts in 24 hours) the
 * step WAITs too, instead of failing. The checkpoint is {"phase",
 * "containerId", "createdAt", "polls", "publishedAt", "publishAnswer",
 * "mediaId", "permalink", "remakes"}.
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
 * look-up that fails is retried, never read as "not published". A container
 * Instagram breaks (2207053, "generate a new container") is replaced only
 * while it reads unpublished, so a new one can never make a second reel.
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
    case SP_IG_REMADE:
        return phase == SP_IG_PROCESSING || phase == SP_IG_PUBLISHING ? SP_IG_CONTAINER : phase;
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
/* Containers made again after Instagram broke one (2207053) before failing. */
#define IG_MAX_REMAKES 3
/* The longest wait for the publishing window before looking again. */
#define IG_QUOTA_WAIT_MAX 3600.0

sp_ig_error_action sp_instagram_error_action(const sp_graph_resp *r) {
    if (r->subcode == 2207053) return SP_IG_NEW_CONTAINER;
    if (r->code == 4 && r->subcode == 2207051) return SP_IG_RESTRICTED;
    if (r->code == 9 || r->subcode == 2207042) return SP_IG_LIMIT;
    if (r->code == 9007 && r->subcode == 2207027) return SP_IG_UNREADY;
    if (r->code == -1 || r->subcode == 2207001 || r->subcode == 2207032 || r->subcode == 2207003 ||
        r->subcode == 2207052)
        return SP_IG_TRY_AGAIN;
    return SP_IG_CLASSIFY;
}

bool sp_instagram_read_quota(const cJSON *body, long long *usage, long long *total,
                             long long *window) {
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(body, "data");
    const cJSON *first = cJSON_IsArray(data) ? cJSON_GetArrayItem(data, 0) : NULL;
    const cJSON *used = cJSON_GetObjectItemCaseSensitive(first, "quota_usage");
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(first, "config");
    const cJSON *tot = cJSON_GetObjectItemCaseSensitive(config, "quota_total");
    const cJSON *dur = cJSON_GetObjectItemCaseSensitive(config, "quota_duration");
    if (!cJSON_IsNumber(used) || !cJSON_IsNumber(tot) || !(used->valuedouble >= 0) ||
        !(tot->valuedouble >= 0) || used->valuedouble > 1e9 || tot->valuedouble > 1e9)
        return false;
    *usage = (long long)used->valuedouble;
    *total = (long long)tot->valuedouble;
    *window = cJSON_IsNumber(dur) && dur->valuedouble >= 1 && dur->valuedouble <= 1e7
                  ? (long long)dur->valuedouble
                  : 86400;
    return true;
}

/* The one place an Instagram answer is classified; fills out. */
static void classify(const sp_graph_resp *r, const char *doing, sp_step_outcome *out) {
    sp_ig_error_action action = sp_instagram_error_action(r);
    if (action == SP_IG_LIMIT) { /* the window frees in its own time: wait, do not fail */
        sp_step_quota(out, IG_QUOTA_WAIT_MAX,
                      "Instagram's publishing limit for this account is reached; waiting for "
                      "room (%s)",
                      r->message);
        return;
    }
    if (action == SP_IG_RESTRICTED) {
        sp_step_set(out, SP_STEP_FAILED,
                    "Instagram restricted this account's activity to protect its community "
                    "(it took the post for spam): nothing was published; check the account "
                    "in the Instagram app, and post again later or tell Instagram it made a "
                    "mistake (%s)",
                    r->message);
        return;
    }
    sp_graph_class c = action == SP_IG_TRY_AGAIN || action == SP_IG_NEW_CONTAINER
                           ? SP_GRAPH_TRANSIENT
                           : sp_graph_classify(r);
    if (c == SP_GRAPH_QUOTA) { /* Meta's rate limit: waited out, no call meanwhile */
        sp_graph_quota_outcome(r, "Instagram", doing, out);
    } else if (c == SP_GRAPH_TRANSIENT) {
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

/* True when Meta's rate limit refused the call (and no Instagram rule
 * reads the code otherwise, such as 4 with subcode 2207051). */
static bool throttled(const sp_graph_resp *r) {
    return sp_instagram_error_action(r) == SP_IG_CLASSIFY && sp_graph_classify(r) == SP_GRAPH_QUOTA;
}

/* The Graph host of the account's token: graph.instagram.com for an
 * Instagram Login token, graph.facebook.com for a Page-linked one. */
static const char *graph_base(const sp_step_ctx *ctx) {
    const char *login = ctx->post->account_login;
    return login && !strcmp(login, "instagram") ? ctx->cfg->instagram_graph_url
                                                : ctx->cfg->facebook_graph_url;
}

/* A Graph call for this delivery. */
static void call(sp_step_ctx *ctx, const char *method, const char *path,
                 const sp_http_field *params, int n, sp_graph_resp *r) {
    sp_graph_call c = {.method = method,
                       .base = graph_base(ctx),
                       .path = path,
                       .params = params,
                       .nparams = n,
                       .access_token = ctx->post->access_token};
    sp_graph_request(&c, r);
}

/* Adds the job's Instagram options to params as the Reels container
 * parameters (IG User Media reference): coverUrl -> cover_url, thumbOffsetMs
 * -> thumb_offset, shareToFeed -> share_to_feed, collaborators (a JSON list
 * of usernames), locationId -> location_id. A wrong type reads as absent.
 * Strings written go to text (freed by the caller); returns the new count. */
static int add_options(const cJSON *options, sp_http_field *params, int n, char **text) {
    const char *cover = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(options, "coverUrl"));
    const cJSON *thumb = cJSON_GetObjectItemCaseSensitive(options, "thumbOffsetMs");
    const cJSON *feed = cJSON_GetObjectItemCaseSensitive(options, "shareToFeed");
    const cJSON *collab = cJSON_GetObjectItemCaseSensitive(options, "collaborators");
    const char *location =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(options, "locationId"));
    if (cover && *cover) params[n++] = (sp_http_field){"cover_url", cover};
    if (cJSON_IsNumber(thumb) && thumb->valuedouble >= 0 && thumb->valuedouble <= 1e12 &&
        (text[0] = malloc(24)) != NULL) {
        snprintf(text[0], 24, "%.0f", thumb->valuedouble);
        params[n++] = (sp_http_field){"thumb_offset", text[0]};
    }
    if (cJSON_IsBool(feed))
        params[n++] = (sp_http_field){"share_to_feed", cJSON_IsTrue(feed) ? "true" : "false"};
    if (cJSON_IsArray(collab) && cJSON_GetArraySize(collab) > 0 &&
        (text[1] = cJSON_PrintUnformatted(collab)) != NULL)
        params[n++] = (sp_http_field){"collaborators", text[1]};
    if (location && *location) params[n++] = (sp_http_field){"location_id", location};
    return n;
}

/* Creates the container from the video's URL and saves its id. */
static int create_container(sp_step_ctx *ctx, sp_step_outcome *out) {
    const sp_post *d = ctx->post;
    char path[256];
    snprintf(path, sizeof path, "%s/media", d->account_id);
    char *caption = sp_platform_caption(d->title, d->description);
    sp_http_field params[10] = {{"media_type", "REELS"},
                                {"video_url", d->video_url ? d->video_url : ""},
                                {"caption", caption ? caption : ""}};
    char *text[2] = {NULL, NULL};
    int n = add_options(d->options, params, 3, text);
    sp_graph_resp r;
    call(ctx, "POST", path, params, n, &r);
    free(caption);
    free(text[0]);
    free(text[1]);
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

/* Reads the account's content_publishing_limit before a container is made.
 * 1: room for a post; 0: the limit is reached and out says to WAIT for the
 * window (holding no worker slot); -1: out set (a failure). The limit is
 * enforced by media_publish in any case, so an answer that cannot be read,
 * or a permanent refusal of this read alone, lets the post go on. */
static int check_quota(sp_step_ctx *ctx, sp_step_outcome *out) {
    char path[256];
    snprintf(path, sizeof path, "%s/content_publishing_limit", ctx->post->account_id);
    sp_http_field params[] = {{"fields", "quota_usage,config"}};
    sp_graph_resp r;
    call(ctx, "GET", path, params, 1, &r);
    long long usage = 0, total = 0, window = 0;
    int rc = 1;
    if (r.failed && sp_graph_classify(&r) != SP_GRAPH_PERMANENT) {
        classify(&r, "reading the publishing limit", out);
        rc = -1;
    } else if (!r.failed && sp_instagram_read_quota(r.body, &usage, &total, &window) &&
               usage >= total) {
        double delay = (double)window / 24;
        if (delay > IG_QUOTA_WAIT_MAX) delay = IG_QUOTA_WAIT_MAX;
        if (delay < ctx->ig_poll_base) delay = ctx->ig_poll_base;
        sp_step_quota(out, delay,
                      "Instagram's publishing limit is reached (%lld of %lld posts in %lld "
                      "hours); waiting for room",
                      usage, total, window / 3600);
        rc = 0;
    }
    sp_graph_resp_free(&r);
    return rc;
}

/* Instagram broke the container (2207053, "generate a new container") and
 * it reads unpublished: forgets it, so the next step makes a new one. */
static void remake_container(sp_step_ctx *ctx, const char *why, sp_step_outcome *out) {
    double remakes = sp_step_cp_number(ctx, "remakes", 0);
    if (remakes >= IG_MAX_REMAKES) {
        sp_step_set(out, SP_STEP_FAILED, "Instagram failed the upload %d times: %s",
                    IG_MAX_REMAKES + 1, why);
        return;
    }
    sp_step_cp_set_number(ctx, "remakes", remakes + 1);
    sp_step_cp_set_string(ctx, "containerId", NULL);
    sp_step_cp_set_string(ctx, "publishAnswer", NULL);
    sp_step_cp_set_number(ctx, "polls", 0);
    if (advance(ctx, SP_IG_REMADE, out) == 0)
        sp_step_set(out, SP_STEP_RETRY, "Instagram asked for a new container (%s); making one",
                    why);
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
    if (r.failed && sp_instagram_error_action(&r) == SP_IG_UNREADY) {
        if (advance(ctx, SP_IG_NOT_READY, out) == 0)
            wait_for_processing(ctx, out); /* not ready after all */
    } else if (r.failed && r.status != 0 && sp_instagram_error_action(&r) == SP_IG_NEW_CONTAINER) {
        /* refused, and the container read FINISHED (not published) just
         * before: nothing of it was published */
        remake_container(ctx, r.message, out);
    } else if (r.failed && again && sp_graph_classify(&r) != SP_GRAPH_AUTH && !throttled(&r)) {
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
        sp_graph_classify(&r) != SP_GRAPH_AUTH &&
        !throttled(&r)) /* maybe published: never give up on a look */
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
    else if (!strcmp(code, "ERROR") && status && strstr(status, "2207053"))
        remake_container(ctx, status, out); /* an ERROR container was never published */
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
        else if (check_quota(ctx, out) == 1 && create_container(ctx, out) == 0)
            wait_for_processing(ctx, out);
    } else
        check_container(ctx, out);
}

const sp_adapter sp_adapter_instagram = {.platform = SP_INSTAGRAM, .step = instagram_step};
