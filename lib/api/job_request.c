/*
 * job_request: JSON body -> sp_job_request, with one clear message per
 * mistake. Strings arrive already checked for UTF-8 and NULs (json.c).
 */
#include "api/job_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/iso8601.h"
#include "core/json.h"
#include "core/uuid.h"
#include "platforms/options.h"
#include "webhooks/callback_url.h"

/* Reads "platforms": a non-empty array of distinct known names. */
static int parse_platforms(const cJSON *root, sp_job_request *out, sp_err *err) {
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "platforms");
    if (!arr) return sp_err_set(err, SP_ERR_BAD_REQUEST, "missing_field", "platforms is required");
    if (!cJSON_IsArray(arr))
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_field",
                          "platforms must be an array of platform names");
    if (cJSON_GetArraySize(arr) == 0)
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_field",
                          "platforms must name at least one of: %s", sp_platform_names());
    const cJSON *item;
    cJSON_ArrayForEach(item, arr) {
        if (!cJSON_IsString(item))
            return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_field",
                              "platforms must contain only strings");
        sp_platform p;
        if (!sp_platform_from_name(item->valuestring, &p))
            return sp_err_set(err, SP_ERR_BAD_REQUEST, "unknown_platform",
                              "unknown platform; use one of: %s", sp_platform_names());
        for (int i = 0; i < out->nplatforms; i++)
            if (out->platforms[i] == p)
                return sp_err_set(err, SP_ERR_BAD_REQUEST, "duplicate_platform",
                                  "platform %s is listed twice", sp_platform_name(p));
        out->platforms[out->nplatforms++] = p;
    }
    return 0;
}

/* Copies an optional string member; an empty string counts as absent. */
static int copy_opt_string(const cJSON *root, const char *name, char **dst, sp_err *err) {
    const char *v;
    if (sp_json_opt_string(root, name, &v, err) < 0) return -1;
    if (!v || !*v) return 0;
    *dst = strdup(v);
    if (!*dst) return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    return 0;
}

#define MAX_SCHEDULE_AHEAD (366.0 * 86400)

/* Reads the optional "scheduledAt": an ISO 8601 time at most a year ahead. */
static int parse_scheduled_at(const cJSON *root, sp_job_request *out, sp_err *err) {
    const char *text;
    if (sp_json_opt_string(root, "scheduledAt", &text, err) < 0) return -1;
    if (!text) return 0;
    if (!sp_iso8601_parse(text, &out->scheduled_at))
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_field",
                          "scheduledAt must be an ISO 8601 time with a zone, such as "
                          "2026-01-23T10:00:00.000Z");
    if (out->scheduled_at > (double)time(NULL) + MAX_SCHEDULE_AHEAD)
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_field",
                          "scheduledAt is more than a year ahead");
    out->has_scheduled_at = true;
    return 0;
}

/* Reads the optional "callbackUrl": where the job's final states are POSTed. */
static int parse_callback_url(const cJSON *root, sp_job_request *out, sp_err *err) {
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(root, "callbackUrl");
    if (!url || cJSON_IsNull(url)) return 0;
    if (!cJSON_IsString(url))
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_callback_url",
                          "callbackUrl must be a string: an http or https URL");
    if (sp_callback_url_check(url->valuestring, strlen(url->valuestring), err) < 0) return -1;
    out->callback_url = strdup(url->valuestring);
    if (!out->callback_url) return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    return 0;
}

/* Reads the optional "options": checked against the chosen platforms, kept
 * whole (detached from root) unless it is empty. */
static int parse_options(cJSON *root, sp_job_request *out, sp_err *err) {
    cJSON *options = cJSON_GetObjectItemCaseSensitive(root, "options");
    if (!options || cJSON_IsNull(options)) /* still: TikTok needs its privacy level */
        return sp_options_check(NULL, out->platforms, out->nplatforms, err);
    if (cJSON_IsObject(options) && sp_json_has_duplicate_keys(options))
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "duplicate_key", "options names a member twice");
    if (sp_options_check(options, out->platforms, out->nplatforms, err) < 0) return -1;
    if (options->child) out->options = cJSON_DetachItemViaPointer(root, options);
    return 0;
}

int sp_job_request_parse(const char *body, size_t len, sp_job_request *out, sp_err *err) {
    memset(out, 0, sizeof *out);
    cJSON *root = NULL;
    int rc = -1;
    if (sp_json_parse_strict(body, len, &root, err) < 0) goto done;
    if (!cJSON_IsObject(root)) {
        sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_json", "the body must be a JSON object");
        goto done;
    }
    const cJSON *vid = cJSON_GetObjectItemCaseSensitive(root, "videoId");
    if (!vid || cJSON_IsNull(vid)) {
        sp_err_set(err, SP_ERR_BAD_REQUEST, "missing_field", "videoId is required");
        goto done;
    }
    if (!cJSON_IsString(vid) || !sp_uuid_normalize(vid->valuestring, out->video_id)) {
        sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_field", "videoId must be a UUID");
        goto done;
    }
    if (parse_platforms(root, out, err) < 0) goto done;
    if (copy_opt_string(root, "title", &out->title, err) < 0) goto done;
    if (copy_opt_string(root, "description", &out->description, err) < 0) goto done;
    if (parse_scheduled_at(root, out, err) < 0) goto done;
    if (parse_callback_url(root, out, err) < 0) goto done;
    if (parse_options(root, out, err) < 0) goto done;
    rc = 0;
done:
    cJSON_Delete(root);
    if (rc < 0) sp_job_request_free(out);
    return rc;
}

void sp_job_request_free(sp_job_request *req) {
    free(req->title);
    free(req->description);
    free(req->callback_url);
    cJSON_Delete(req->options);
    req->title = req->description = req->callback_url = NULL;
    req->options = NULL;
}

int sp_job_request_check_webhooks(const sp_job_request *req, bool configured, sp_err *err) {
    if (!req->callback_url || configured) return 0;
    return sp_err_set(err, SP_ERR_BAD_REQUEST, "webhooks_not_configured",
                      "this service sends no webhooks (no signing secret is configured): "
                      "leave callbackUrl out and poll the job's status");
}

int sp_job_request_check_text(const sp_job_request *req, const char *title, sp_err *err) {
    for (int i = 0; i < req->nplatforms; i++) {
        sp_platform p = req->platforms[i];
        const char *name = sp_platform_name(p);
        const char *own_title = sp_options_string(req->options, p, "title");
        const char *own_desc = sp_options_string(req->options, p, "description");
        char title_field[48], desc_field[48];
        snprintf(title_field, sizeof title_field, "options.%s.title", name);
        snprintf(desc_field, sizeof desc_field, "options.%s.description", name);
        /* an empty title of its own means the job's (the worker's rule) */
        bool by_title = own_title && *own_title;
        if (sp_platform_check_text_named(p, by_title ? own_title : title,
                                         by_title ? title_field : "title",
                                         own_desc ? own_desc : req->description,
                                         own_desc ? desc_field : "description", err) < 0)
            return -1;
    }
    return 0;
}

char *sp_job_request_options_json(const sp_job_request *req) {
    return req->options ? sp_json_print(req->options) : strdup("{}");
}

char *sp_job_request_platforms_json(const sp_job_request *req) {
    cJSON *arr = cJSON_CreateArray();
    if (!arr) return NULL;
    for (int i = 0; i < req->nplatforms; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(sp_platform_name(req->platforms[i])));
    char *text = sp_json_print(arr);
    cJSON_Delete(arr);
    return text;
}
