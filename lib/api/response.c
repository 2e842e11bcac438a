/*
 * response: JSON out.
 *
 * Responses are written as one CGI header block ("Status: ..." first) and a
 * body with an exact Content-Length (left out for HEAD, whose headers are
 * GET's). Every answer says X-Content-Type-Options: nosniff, so a browser
 * never reads a JSON body as something else. The error table below is the only place
 * that knows which status an error kind becomes.
 */
#include "api/response.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/etag.h"
#include "core/json.h"
#include "core/log.h"

static const struct {
    sp_err_kind kind;
    int status;
} error_statuses[] = {
    {SP_ERR_BAD_REQUEST, 400}, {SP_ERR_UNAUTHORIZED, 401},  {SP_ERR_NOT_FOUND, 404},
    {SP_ERR_METHOD, 405},      {SP_ERR_CONFLICT, 409},      {SP_ERR_TOO_LARGE, 413},
    {SP_ERR_MEDIA_TYPE, 415},  {SP_ERR_UNPROCESSABLE, 422}, {SP_ERR_DB_UNAVAILABLE, 503},
    {SP_ERR_TRANSIENT, 503},
};

int sp_response_status_for(sp_err_kind kind) {
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
    case 303:
        return "See Other";
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

void sp_response_send_typed(sp_request *r, sp_response *resp, const char *content_type,
                            const char *body, size_t len) {
    add_cors(r, resp);
    /* formatted here: FCGX_FPrintF knows no %zu */
    char head[sizeof resp->headers + 256];
    int n = snprintf(head, sizeof head,
                     "Status: %d %s\r\n%s%s%sContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n%s\r\n",
                     resp->status, status_text(resp->status), body ? "Content-Type: " : "",
                     body ? content_type : "", body ? "\r\n" : "", body ? len : 0, resp->headers);
    if (n > 0) FCGX_PutStr(head, n < (int)sizeof head ? n : (int)sizeof head - 1, r->fcgx->out);
    bool head_only = r->method && strcmp(r->method, "HEAD") == 0; /* the headers GET would get */
    if (body && len && !head_only) FCGX_PutStr(body, (int)len, r->fcgx->out);
    r->status = resp->status;
}

void sp_response_send(sp_request *r, sp_response *resp, const char *body, size_t len) {
    sp_response_send_typed(r, resp, "application/json; charset=utf-8", body, len);
}

void sp_response_send_json(sp_request *r, int status, const char *json) {
    sp_response resp;
    sp_response_init(&resp, status);
    sp_response_send(r, &resp, json, strlen(json));
}

void sp_response_send_versioned(sp_request *r, const char *json, const char *etag) {
    const char *inm = sp_request_param(r, "HTTP_IF_NONE_MATCH");
    bool unchanged = sp_etag_none_match_names(inm, etag);
    sp_response resp;
    sp_response_init(&resp, unchanged ? 304 : 200);
    sp_response_header(&resp, "ETag", "%s", etag);
    sp_response_send(r, &resp, unchanged ? NULL : json, unchanged ? 0 : strlen(json));
}

void sp_response_send_error(sp_request *r, const sp_err *err) {
    sp_response resp;
    sp_response_init(&resp, sp_response_status_for(err->kind));
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
    sp_response_send(r, &resp, text ? text : fallback, strlen(text ? text : fallback));
    free(text);
}

void sp_response_send_options(sp_request *r) {
    sp_response resp;
    sp_response_init(&resp, 204);
    sp_response_header(&resp, "Allow", "%s", r->allow ? r->allow : "");
    if (r->cors_origin) {
        sp_response_header(&resp, "Access-Control-Allow-Methods", "%s", r->allow ? r->allow : "");
        sp_response_header(&resp, "Access-Control-Allow-Headers",
                           "Authorization, Content-Type, Idempotency-Key, If-None-Match");
        sp_response_header(&resp, "Access-Control-Max-Age", "600");
    }
    sp_response_send(r, &resp, NULL, 0);
}
