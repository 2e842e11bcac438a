/*
 * graph: one request function for every Graph call, and the common error
 * rules. GET parameters go in the query string; POSTs are multipart forms,
 * which the Graph API accepts for every edge we use and which carries the
 * Facebook upload chunks without holding them in memory.
 */
#include "platforms/graph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

/* Builds base/path?params for a GET; caller frees. */
static char *get_url(const sp_graph_call *c) {
    size_t cap = strlen(c->base) + strlen(c->path) + 16;
    char **escaped = calloc((size_t)c->nparams + 1, sizeof *escaped);
    char *url = NULL;
    if (!escaped) return NULL;
    for (int i = 0; i <= c->nparams; i++) {
        const char *v = i < c->nparams ? c->params[i].value : c->access_token;
        escaped[i] = sp_http_escape(v ? v : "");
        if (!escaped[i]) goto done;
        cap += strlen(escaped[i]) + strlen(i < c->nparams ? c->params[i].name : "access_token") + 2;
    }
    url = malloc(cap);
    if (!url) goto done;
    int n = snprintf(url, cap, "%s/%s", c->base, c->path);
    for (int i = 0; i <= c->nparams; i++)
        n += snprintf(url + n, cap - (size_t)n, "%c%s=%s", i ? '&' : '?',
                      i < c->nparams ? c->params[i].name : "access_token", escaped[i]);
done:
    for (int i = 0; i <= c->nparams; i++)
        free(escaped[i]);
    free(escaped);
    return url;
}

/* Writes text (Meta's words, cut on a character) and the codes as r's
 * message. */
static void set_message(sp_graph_resp *r, const char *text) {
    char words[264]; /* Meta translates its messages: cut on a character */
    snprintf(words, sizeof words, "%s", text);
    sp_utf8_truncate(words, 260);
    if (r->subcode)
        snprintf(r->message, sizeof r->message, "%s (code %d, subcode %d)", words, r->code,
                 r->subcode);
    else if (r->code)
        snprintf(r->message, sizeof r->message, "%s (code %d)", words, r->code);
    else
        snprintf(r->message, sizeof r->message, "%s (HTTP %ld)", words, r->status);
}

/* Reads rupload's failure {"debug_info": {"retriable", "type", "message"}}
 * into r; false when the body has none. */
static bool read_debug_info(sp_graph_resp *r) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(r->body, "debug_info");
    if (!r->failed || !cJSON_IsObject(d)) return false;
    const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "message"));
    r->is_transient = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "retriable"));
    set_message(r, msg ? msg : "upload refused");
    return true;
}

/* Reads {"error": {...}} (when present) into r. */
static void read_error(sp_graph_resp *r) {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(r->body, "error");
    if (!cJSON_IsObject(e)) {
        if (r->failed && !read_debug_info(r))
            snprintf(r->message, sizeof r->message, "HTTP %ld", r->status);
        return;
    }
    r->failed = true;
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(e, "error_subcode");
    const cJSON *user_msg = cJSON_GetObjectItemCaseSensitive(e, "error_user_msg");
    r->code = cJSON_IsNumber(code) ? code->valueint : 0; /* cJSON saturates to int */
    r->subcode = cJSON_IsNumber(sub) ? sub->valueint : 0;
    r->is_transient = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "is_transient"));
    const char *text = cJSON_IsString(user_msg) ? user_msg->valuestring
                       : cJSON_IsString(msg)    ? msg->valuestring
                                                : "unknown error";
    set_message(r, text);
}

void sp_graph_parse(long status, const char *body, long retry_after, sp_graph_resp *out) {
    memset(out, 0, sizeof *out);
    out->status = status;
    out->retry_after = retry_after;
    out->regain_after = -1;
    out->usage_percent = -1;
    out->body = body ? cJSON_Parse(body) : NULL;
    out->failed = status < 200 || status >= 300;
    read_error(out);
}

void sp_graph_request(const sp_graph_call *c, sp_graph_resp *out) {
    memset(out, 0, sizeof *out);
    out->retry_after = -1;
    out->regain_after = -1;
    out->usage_percent = -1;
    if (!c->path || !*c->path || !c->base) { /* a checkpoint without the id it needs */
        snprintf(out->message, sizeof out->message, "no Graph object to ask for");
        out->failed = true;
        return;
    }
    bool get = strcmp(c->method, "GET") == 0;
    char *url = get ? get_url(c) : NULL;
    char post_url[2048];
    sp_http_field fields[16];
    int n = 0;
    for (int i = 0; i < c->nparams && n < 15; i++)
        fields[n++] = c->params[i];
    fields[n++] = (sp_http_field){"access_token", c->access_token ? c->access_token : ""};
    snprintf(post_url, sizeof post_url, "%s/%s", c->base, c->path);
    sp_http_req req = {.method = c->method,
                       .url = get ? url : post_url,
                       .timeout_seconds = 300,
                       .form = get || c->raw ? NULL : fields,
                       .nform = get || c->raw ? 0 : n,
                       .file_field = c->raw ? NULL : c->file_field,
                       .body_file = c->file,
                       .file_offset = c->file_offset,
                       .file_length = c->file_length,
                       .has_body = c->raw};
    for (int i = 0; c->raw && i < 5 && c->headers[i] && i < SP_HTTP_MAX_HEADERS - 1; i++)
        req.headers[i] = c->headers[i];
    sp_http_resp resp;
    sp_err err;
    if (get && !url) {
        snprintf(out->message, sizeof out->message, "out of memory");
        out->failed = true;
        return;
    }
    sp_http_perform(&req, &resp, &err);
    if (resp.status == 0) {
        out->failed = true;
        snprintf(out->message, sizeof out->message, "network error: %.280s", resp.transport_error);
    } else {
        sp_graph_parse(resp.status, resp.body, resp.retry_after, out);
        sp_graph_read_usage(out, resp.app_usage);
        sp_graph_read_usage(out, resp.business_usage);
    }
    sp_http_resp_free(&resp);
    free(url);
}

/* An offset as Graph writes it: a string of digits, or a whole JSON number
 * (error_data); past 2^62 it reads as 2^62 (beyond any file), so no number
 * overflows. */
static bool parse_offset(const cJSON *item, long long *out) {
    const long long limit = 1LL << 62;
    if (cJSON_IsNumber(item)) {
        double d = item->valuedouble;
        if (!(d >= 0) || d != floor(d)) return false; /* NaN, negative or a fraction */
        *out = d >= (double)limit ? limit : (long long)d;
        return true;
    }
    const char *s = cJSON_GetStringValue(item);
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || strspn(s, "0123456789") != n) return false;
    long long v = 0;
    for (size_t i = 0; i < n && v < limit; i++)
        v = v > (limit - 9) / 10 ? limit : v * 10 + (s[i] - '0');
    *out = v;
    return true;
}

bool sp_graph_parse_offsets(const cJSON *obj, long long size, long long *start, long long *end) {
    long long a, b;
    if (!parse_offset(cJSON_GetObjectItemCaseSensitive(obj, "start_offset"), &a) ||
        !parse_offset(cJSON_GetObjectItemCaseSensitive(obj, "end_offset"), &b) || a > b || a > size)
        return false;
    *start = a;
    *end = b < size ? b : size; /* more than the file asked for: the rest of it */
    return true;
}

void sp_graph_resp_free(sp_graph_resp *r) {
    cJSON_Delete(r->body);
    r->body = NULL;
}

const cJSON *sp_graph_error_data(const sp_graph_resp *r) {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(r->body, "error");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(e, "error_data");
    return cJSON_IsObject(data) ? data : NULL;
}

const char *sp_graph_string(const sp_graph_resp *r, const char *name) {
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r->body, name));
}

sp_graph_class sp_graph_classify(const sp_graph_resp *r) {
    static const int transient_codes[] = {1, 2, 368, 6000};
    if (r->status == 0) return SP_GRAPH_TRANSIENT;
    if (sp_graph_throttled(r)) return SP_GRAPH_QUOTA;
    if (r->status >= 500 || r->status == 429 || r->is_transient) return SP_GRAPH_TRANSIENT;
    if (r->code == 190) return SP_GRAPH_AUTH;
    for (size_t i = 0; i < sizeof transient_codes / sizeof transient_codes[0]; i++)
        if (r->code == transient_codes[i]) return SP_GRAPH_TRANSIENT;
    return SP_GRAPH_PERMANENT;
}
