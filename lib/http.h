/*
 * http: reading a FastCGI request and writing JSON responses.
 *
 * Everything that turns an sp_err into an HTTP status lives here, in one table
 * (error_statuses in http.c), with the headers each status needs:
 * WWW-Authenticate on 401, Allow on 405, Retry-After on 503. Every response is
 * JSON with Cache-Control: no-store, and carries CORS headers when the caller's
 * Origin is allowed by CORS_ALLOWED_ORIGINS.
 *
 * Not here: routing (the cgi-bin mains) and authentication (auth.c).
 */
#ifndef SP_HTTP_H
#define SP_HTTP_H

#include <fcgiapp.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* One request being served. Strings are borrowed from libfcgi until the
 * request is finished; body is owned and freed by sp_http_request_done. */
typedef struct {
    FCGX_Request *fcgx;
    const char *method;       /* REQUEST_METHOD */
    const char *path;         /* PATH_INFO: "" for the program's bare path */
    const char *query;        /* QUERY_STRING, "" when none */
    const char *document_uri; /* DOCUMENT_URI, for building links */
    const char *allow;        /* methods for Allow on 405/OPTIONS, set by routing */
    char allow_buf[48];
    const char *cors_origin; /* the Origin to echo, or NULL: no CORS headers */
    char *body;
    size_t body_len;
    int status;       /* status sent, 0 until then */
    char user_id[37]; /* the verified caller, "" before auth; for logs */
    char job_id[37];  /* the job concerned, when known; for logs */
} sp_request;

/* A response being built: status plus extra header lines. */
typedef struct {
    int status;
    char headers[1024];
    size_t len;
} sp_response;

/* Fills r from fcgx. allowed_origins is CORS_ALLOWED_ORIGINS (may be NULL). */
void sp_http_request_init(sp_request *r, FCGX_Request *fcgx, const char *allowed_origins);

/* Frees the body. */
void sp_http_request_done(sp_request *r);

/* A CGI parameter such as "HTTP_AUTHORIZATION"; NULL when absent. Borrowed. */
const char *sp_http_param(const sp_request *r, const char *name);

/* Reads the body (at most limit bytes, else SP_ERR_TOO_LARGE) into r->body,
 * NUL-terminated. Checks the media type first: JSON, text/plain (what a
 * browser's fetch sends for a string body) or none, else SP_ERR_MEDIA_TYPE. */
int sp_http_read_json_body(sp_request *r, size_t limit, sp_err *err);

/* Looks up name in r->query and URL-decodes it into out. Returns 1 when found,
 * 0 when absent, -1 (err set) when too long or badly encoded. */
int sp_http_query(const sp_request *r, const char *name, char *out, size_t outlen, sp_err *err);

/* Copies segment n (0-based) of r->path into out; false when absent or too
 * long. "/abc/retry": segment 0 is "abc". */
bool sp_http_path_segment(const sp_request *r, int n, char *out, size_t outlen);

/* The link prefix this request came through: "/.netlify/functions/" or "/". */
const char *sp_http_base(const sp_request *r);

void sp_response_init(sp_response *resp, int status);

/* Adds "Name: value" (printf-style value). Lines that do not fit are dropped
 * with a log line; header values never come from unchecked input. */
void sp_response_header(sp_response *resp, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sends resp with a JSON body of len bytes (body may be NULL for none). */
void sp_http_send(sp_request *r, sp_response *resp, const char *body, size_t len);

/* Sends resp with a body of another media type (e.g. Prometheus text). */
void sp_http_send_typed(sp_request *r, sp_response *resp, const char *content_type,
                        const char *body, size_t len);

/* Sends status with a JSON text body. */
void sp_http_send_json(sp_request *r, int status, const char *json);

/* Sends {"error": msg, "code": code} with the status err's kind maps to. */
void sp_http_send_error(sp_request *r, const sp_err *err);

/* Answers an OPTIONS request (CORS preflight or not) with 204. */
void sp_http_send_options(sp_request *r);

/* The status an error kind maps to (exposed for tests and logs). */
int sp_http_status_for(sp_err_kind kind);

#endif
