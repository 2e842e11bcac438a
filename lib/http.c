/*
 * http: FastCGI in, JSON out.
 *
 * Responses are written as one CGI header block ("Status: ..." first) and a
 * body with an exact Content-Length. The error table below is the only place
 * that knows which status an error kind becomes.
 */
#include "http.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "log.h"

static const struct {
    sp_err_kind kind;
    int status;
} error_statuses[] = {
    {SP_ERR_BAD_REQUEST, 400}, {SP_ERR_UNAUTHORIZED, 401},  {SP_ERR_NOT_FOUND, 404},
    {SP_ERR_METHOD, 405},      {SP_ERR_CONFLICT, 409},      {SP_ERR_TOO_LARGE, 413},
    {SP_ERR_MEDIA_TYPE, 415},  {SP_ERR_UNPROCESSABLE, 422}, {SP_ERR_DB_UNAVAILABLE, 503},
    {SP_ERR_TRANSIENT, 503},
};

int sp_http_status_for(sp_err_kind kind) {
    for (size_t i = 0; i < sizeof error_statuses / sizeof error_statuses[0]; i++)
        if (error_statuses[i].kind == kind) return error_statuses[i].status;
    return 500;
}

static const char *status_text(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

/* Returns origin when the comma-separated allowed list admits it. */
static const char *cors_match(const char *allowed, const char *origin) {
    if (!allowed || !origin || !*origin) return NULL;
    const char *p = allowed;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        size_t n = (size_t)(end - p);
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if ((n == 1 && *p == '*') || (n == strlen(origin) && strncmp(p, origin, n) == 0))
            return origin;
        p = end;
    }
    return NULL;
}

/* True when an Origin value is safe to echo in a header (no CR/LF etc.). */
static bool header_safe(const char *v) {
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7F) return false;
    return strlen(v) < 256;
}

void sp_http_request_init(sp_request *r, FCGX_Request *fcgx, const char *allowed_origins) {
    memset(r, 0, sizeof *r);
    r->fcgx = fcgx;
    r->method = sp_http_param(r, "REQUEST_METHOD");
    r->path = sp_http_param(r, "PATH_INFO");
    r->query = sp_http_param(r, "QUERY_STRING");
    r->document_uri = sp_http_param(r, "DOCUMENT_URI");
    if (!r->method) r->method = "GET";
    if (!r->path) r->path = "";
    if (!r->query) r->query = "";
    if (!r->document_uri) r->document_uri = "";
    const char *origin = sp_http_param(r, "HTTP_ORIGIN");
    if (origin && header_safe(origin)) r->cors_origin = cors_match(allowed_origins, origin);
}

void sp_http_request_done(sp_request *r) {
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
}

const char *sp_http_param(const sp_request *r, const char *name) {
    return FCGX_GetParam(name, r->fcgx->envp);
}

bool sp_http_path_segment(const sp_request *r, int n, char *out, size_t outlen) {
    const char *p = r->path;
    for (int i = 0; *p; i++) {
        if (*p == '/') p++;
        size_t len = strcspn(p, "/");
        if (i == n) {
            if (len == 0 || len >= outlen) return false;
            memcpy(out, p, len);
            out[len] = '\0';
            return true;
        }
        p += len;
    }
    return false;
}

const char *sp_http_base(const sp_request *r) {
    static const char netlify[] = "/.netlify/functions/";
    return strncmp(r->document_uri, netlify, sizeof netlify - 1) == 0 ? netlify : "/";
}

/* True for the media types we read as JSON. */
static bool json_media_type(const char *ct) {
    if (!ct || !*ct) return true;
    size_t n = strcspn(ct, ";");
    while (n > 0 && ct[n - 1] == ' ')
        n--;
    static const char *ok[] = {"application/json", "text/plain"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (n == strlen(ok[i]) && strncasecmp(ct, ok[i], n) == 0) return true;
    /* application/<anything>+json, e.g. application/merge-patch+json */
    return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
           strncasecmp(ct + n - 5, "+json", 5) == 0;
}

int sp_http_read_json_body(sp_request *r, size_t limit, sp_err *err) {
    if (!json_media_type(sp_http_param(r, "CONTENT_TYPE")))
        return sp_err_set(err, SP_ERR_MEDIA_TYPE, "unsupported_media_type",
                          "send the body as application/json");
    const char *cl = sp_http_param(r, "CONTENT_LENGTH");
    if (cl && *cl && strtoull(cl, NULL, 10) > limit)
        return sp_err_set(err, SP_ERR_TOO_LARGE, "body_too_large",
                          "the request body is larger than %zu bytes", limit);
    r->body = malloc(limit + 2);
    if (!r->body) return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    int got = FCGX_GetStr(r->body, (int)limit + 1, r->fcgx->in);
    if (got < 0) got = 0;
    r->body_len = (size_t)got;
    r->body[r->body_len] = '\0';
    if (r->body_len > limit)
        return sp_err_set(err, SP_ERR_TOO_LARGE, "body_too_large",
                          "the request body is larger than %zu bytes", limit);
    return 0;
}

static int hex_value(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* URL-decodes src[0..n) into out; -1 when it does not fit or is malformed. */
static int url_decode(const char *src, size_t n, char *out, size_t outlen) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)src[i];
        if (c == '+')
            c = ' ';
        else if (c == '%') {
            if (i + 2 >= n) return -1;
            int hi = hex_value(src[i + 1]), lo = hex_value(src[i + 2]);
            if (hi < 0 || lo < 0) return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0 || o + 1 >= outlen) return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

int sp_http_query(const sp_request *r, const char *name, char *out, size_t outlen, sp_err *err) {
    size_t nlen = strlen(name);
    const char *p = r->query;
    while (*p) {
        const char *end = p + strcspn(p, "&");
        const char *eq = memchr(p, '=', (size_t)(end - p));
        const char *key_end = eq ? eq : end;
        if ((size_t)(key_end - p) == nlen && strncmp(p, name, nlen) == 0) {
            const char *v = eq ? eq + 1 : end;
            if (url_decode(v, (size_t)(end - v), out, outlen) < 0)
                return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_query",
                                  "query parameter %s is malformed or too long", name);
            return 1;
        }
        p = *end ? end + 1 : end;
    }
    return 0;
}

void sp_response_init(sp_response *resp, int status) {
    resp->status = status;
    resp->len = 0;
    resp->headers[0] = '\0';
}

void sp_response_header(sp_response *resp, const char *name, const char *fmt, ...) {
    char value[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    size_t room = sizeof resp->headers - resp->len;
    int n = snprintf(resp->headers + resp->len, room, "%s: %s\r\n", name, value);
    if (n < 0 || (size_t)n >= room) {
        resp->headers[resp->len] = '\0';
        sp_log(SP_LOG_ERROR, "response header %s dropped: no room", name);
        return;
    }
    resp->len += (size_t)n;
}

/* Adds the CORS headers an allowed origin gets on every response. */
static void add_cors(const sp_request *r, sp_response *resp) {
    if (!r->cors_origin) return;
    sp_response_header(resp, "Access-Control-Allow-Origin", "%s", r->cors_origin);
    sp_response_header(resp, "Vary", "Origin");
    sp_response_header(resp, "Access-Control-Expose-Headers", "Location, ETag, Retry-After");
}

void sp_http_send_typed(sp_request *r, sp_response *resp, const char *content_type,
                        const char *body, size_t len) {
    add_cors(r, resp);
    /* formatted here: FCGX_FPrintF knows no %zu */
    char head[sizeof resp->headers + 256];
    int n = snprintf(head, sizeof head,
                     "Status: %d %s\r\n%s%s%sContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\n%s\r\n",
                     resp->status, status_text(resp->status), body ? "Content-Type: " : "",
                     body ? content_type : "", body ? "\r\n" : "", body ? len : 0, resp->headers);
    if (n > 0) FCGX_PutStr(head, n < (int)sizeof head ? n : (int)sizeof head - 1, r->fcgx->out);
    if (body && len) FCGX_PutStr(body, (int)len, r->fcgx->out);
    r->status = resp->status;
}

void sp_http_send(sp_request *r, sp_response *resp, const char *body, size_t len) {
    sp_http_send_typed(r, resp, "application/json; charset=utf-8", body, len);
}

void sp_http_send_json(sp_request *r, int status, const char *json) {
    sp_response resp;
    sp_response_init(&resp, status);
    sp_http_send(r, &resp, json, strlen(json));
}

void sp_http_send_error(sp_request *r, const sp_err *err) {
    sp_response resp;
    sp_response_init(&resp, sp_http_status_for(err->kind));
    if (resp.status == 401) sp_response_header(&resp, "WWW-Authenticate", "Bearer");
    if (resp.status == 405) sp_response_header(&resp, "Allow", "%s", r->allow ? r->allow : "");
    if (resp.status == 503) sp_response_header(&resp, "Retry-After", "5");
    bool internal = resp.status == 500;
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "error", internal ? "internal error" : err->msg);
    cJSON_AddStringToObject(body, "code", internal ? "internal_error" : err->code);
    char *text = sp_json_print(body);
    cJSON_Delete(body);
    const char *fallback = "{\"error\":\"internal error\",\"code\":\"internal_error\"}";
    sp_http_send(r, &resp, text ? text : fallback, strlen(text ? text : fallback));
    free(text);
}

void sp_http_send_options(sp_request *r) {
    sp_response resp;
    sp_response_init(&resp, 204);
    sp_response_header(&resp, "Allow", "%s", r->allow ? r->allow : "");
    if (r->cors_origin) {
        sp_response_header(&resp, "Access-Control-Allow-Methods", "%s", r->allow ? r->allow : "");
        sp_response_header(&resp, "Access-Control-Allow-Headers",
                           "Authorization, Content-Type, Idempotency-Key, If-None-Match");
        sp_response_header(&resp, "Access-Control-Max-Age", "600");
    }
    sp_http_send(r, &resp, NULL, 0);
}
