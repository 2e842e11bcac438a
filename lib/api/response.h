/*
 * response: writing JSON responses to a FastCGI request.
 *
 * Everything that turns an sp_err into an HTTP status lives here, in one table
 * (error_statuses in response.c), with the headers each status needs:
 * WWW-Authenticate on 401, Allow on 405, Retry-After on 503. Every response
 * carries Cache-Control: no-store, and CORS headers when the caller's Origin
 * is allowed by CORS_ALLOWED_ORIGINS.
 */
#ifndef SP_RESPONSE_H
#define SP_RESPONSE_H

#include <stddef.h>

#include "api/request.h"
#include "core/err.h"

/* A response being built: status plus extra header lines. */
typedef struct {
    int status;
    char headers[1024];
    size_t len;
} sp_response;

void sp_response_init(sp_response *resp, int status);

/* Adds "Name: value" (printf-style value). Lines that do not fit are dropped
 * with a log line; header values never come from unchecked input. */
void sp_response_header(sp_response *resp, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sends resp with a JSON body of len bytes (body may be NULL for none). */
void sp_response_send(sp_request *r, sp_response *resp, const char *body, size_t len);

/* Sends resp with a body of another media type (e.g. Prometheus text). */
void sp_response_send_typed(sp_request *r, sp_response *resp, const char *content_type,
                            const char *body, size_t len);

/* Sends status with a JSON text body. */
void sp_response_send_json(sp_request *r, int status, const char *json);

/* Sends a JSON body that has an ETag: 304 without a body when the caller's
 * If-None-Match names etag, else 200 with it. */
void sp_response_send_versioned(sp_request *r, const char *json, const char *etag);

/* Sends {"error": msg, "code": code} with the status err's kind maps to. */
void sp_response_send_error(sp_request *r, const sp_err *err);

/* Answers an OPTIONS request (CORS preflight or not) with 204. */
void sp_response_send_options(sp_request *r);

/* The status an error kind maps to (exposed for tests and logs). */
int sp_response_status_for(sp_err_kind kind);

#endif
