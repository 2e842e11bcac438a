/*
 * job_request: the body of POST /social-post, parsed and checked.
 *
 * {"videoId": uuid, "platforms": [names...], "title"?: string,
 *  "description"?: string, "scheduledAt"?: ISO 8601 time, "callbackUrl"?: http(s) URL (see
 * webhooks/callback_url.h), "options"?: {platform: {...}} (see platforms/options.h)}.
 * Unknown members are ignored, so callers may send more than we read; inside
 * "options" nothing unknown is (a misspelt option would be silently lost).
 * Everything that can be judged without the database is judged here; the text
 * limits need the effective title (the video's title when none is sent), so
 * sp_job_request_check_text runs once that is known.
 */
#ifndef SP_JOB_REQUEST_H
#define SP_JOB_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "platforms/catalog.h"

typedef struct {
    char video_id[37];                        /* lower-case UUID */
    sp_platform platforms[SP_PLATFORM_COUNT]; /* in the order sent, no duplicates */
    int nplatforms;
    char *title;       /* owned; NULL when omitted, null or empty */
    char *description; /* owned; NULL when omitted or null */
    bool has_scheduled_at;
    double scheduled_at; /* unix seconds; no earlier than now is meaningful */
    char *callback_url;  /* owned; NULL when omitted or null */
    cJSON *options;      /* owned, checked; NULL when omitted, null or {} */
} sp_job_request;

/* Parses and checks body. On failure nothing needs freeing; on success free
 * with sp_job_request_free. Errors are SP_ERR_BAD_REQUEST with a message that
 * names the field. */
int sp_job_request_parse(const char *body, size_t len, sp_job_request *out, sp_err *err);

void sp_job_request_free(sp_job_request *req);

/* Refuses a callbackUrl when this service cannot sign webhooks (configured
 * is false: no SOCIAL_POST_WEBHOOK_SECRET): SP_ERR_BAD_REQUEST
 * "webhooks_not_configured". */
int sp_job_request_check_webhooks(const sp_job_request *req, bool configured, sp_err *err);

/* Checks title (the effective one) and the description against the limits of
 * every chosen platform, each platform's own title and description (options)
 * taking their place where given, as the worker does. */
int sp_job_request_check_text(const sp_job_request *req, const char *title, sp_err *err);

/* The options as stored with the job: a JSON object text, "{}" when none.
 * Caller frees; NULL when out of memory. */
char *sp_job_request_options_json(const sp_job_request *req);

/* The platforms as a JSON array text, e.g. ["youtube","facebook"]. Caller frees. */
char *sp_job_request_platforms_json(const sp_job_request *req);

#endif
