/*
 * request: reading a FastCGI request: its parameters, path, query, body and
 * caller.
 *
 * Not here: writing the answer (response.c), routing (server.c) and token
 * verification itself (auth/).
 */
#ifndef SP_REQUEST_H
#define SP_REQUEST_H

#include <fcgiapp.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth/jwt.h"
#include "core/err.h"

/* One request being served. Strings are borrowed from libfcgi until the
 * request is finished; body is owned and freed by sp_request_done. */
typedef struct {
    FCGX_Request *fcgx;
    const char *method;       /* REQUEST_METHOD */
    const char *path;         /* PATH_INFO ("" for the program's bare path), or
                                 from DOCUMENT_URI when nginx sets none */
    const char *query;        /* QUERY_STRING, "" when none */
    const char *document_uri; /* DOCUMENT_URI, for building links */
    const char *allow;        /* methods for Allow on 405/OPTIONS, set by routing */
    char allow_buf[48];
    char path_buf[256]; /* the path when it is made from DOCUMENT_URI (accounts) */
    const char *cors_origin; /* the Origin to echo, or NULL: no CORS headers */
    char *body;
    size_t body_len;
    int status;       /* status sent, 0 until then */
    char user_id[37]; /* the verified caller, "" before auth; for logs */
    char job_id[37];  /* the job concerned, when known; for logs */
    double started;   /* monotonic seconds when it was read */
    bool parked;      /* a long-poll took it: answered later, by the waker */
} sp_request;

/* Fills r from fcgx. allowed_origins is CORS_ALLOWED_ORIGINS (may be NULL). */
void sp_request_init(sp_request *r, FCGX_Request *fcgx, const char *allowed_origins);

/* The part of a request URI after its program's name: for
 * "/social-post/<id>/retry" or "/.netlify/functions/social-post/<id>/retry"
 * it is "/<id>/retry", for "/social-post-status" "". It is what PATH_INFO
 * holds behind the nginx snippet; a stock location (include fastcgi_params;
 * fastcgi_pass ...) sets none, so routing falls back to DOCUMENT_URI through
 * this. "" when uri names neither program. Points into uri. */
const char *sp_request_path_in_uri(const char *uri);

/* The path the submit program routes a /social-post-accounts[/...] URI by,
 * when nginx sets no PATH_INFO (the snippet passes "/accounts[/...]"): into
 * out, true; false when uri names no accounts route or out is too small. */
bool sp_request_accounts_path(const char *uri, char *out, size_t outlen);

/* Frees the body. */
void sp_request_done(sp_request *r);

/* A CGI parameter such as "HTTP_AUTHORIZATION"; NULL when absent. Borrowed. */
const char *sp_request_param(const sp_request *r, const char *name);

/* Reads the body (at most limit bytes, else SP_ERR_TOO_LARGE) into r->body,
 * NUL-terminated. Checks the media type first: JSON, text/plain (what a
 * browser's fetch sends for a string body) or none, else SP_ERR_MEDIA_TYPE. */
int sp_request_read_json_body(sp_request *r, size_t limit, sp_err *err);

/* Looks up name in r->query and URL-decodes it into out. Returns 1 when found,
 * 0 when absent, -1 (err set) when too long or badly encoded. */
int sp_request_query(const sp_request *r, const char *name, char *out, size_t outlen, sp_err *err);

/* Reads the optional whole-number query parameter name into *out (def when
 * absent). Returns 0, or -1 with SP_ERR_BAD_REQUEST when it is not a number
 * from min to max. */
int sp_request_int_query(const sp_request *r, const char *name, int def, int min, int max, int *out,
                         sp_err *err);

/* Copies segment n (0-based) of r->path into out; false when absent or too
 * long. "/abc/retry": segment 0 is "abc". */
bool sp_request_path_segment(const sp_request *r, int n, char *out, size_t outlen);

/* The link prefix this request came through: "/.netlify/functions/" or "/". */
const char *sp_request_base(const sp_request *r);

/* Verifies the request's "Authorization: Bearer <token>". On success fills
 * claims (release with sp_jwt_claims_clear) and r->user_id; otherwise fails
 * with SP_ERR_UNAUTHORIZED. */
int sp_request_authenticate(sp_request *r, sp_jwt_verifier *jwt, sp_jwt_claims *claims,
                            sp_err *err);

#endif
