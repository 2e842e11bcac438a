/*
 * http_client: the few things the worker asks of libcurl, in one place.
 *
 * A request is a method, a URL, header lines and a body that comes from
 * memory, from a byte range of a file, or is a multipart form whose file part
 * is such a range (so uploads stream from the spool and memory stays flat). The response keeps its
 * status, the headers the platform adapters read (Location, Range, Retry-After, Content-Type) and a
 * body capped in size; a download streams into a file instead.
 *
 * Transport failures (refused, reset, timed out) are reported as status 0 with
 * a message, so adapters classify them as transient in their one classify
 * function. Callers never see CURL handles.
 */
#ifndef SP_HTTP_CLIENT_H
#define SP_HTTP_CLIENT_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/err.h"

#define SP_HTTP_MAX_HEADERS 8

/* A field of a multipart/form-data body. */
typedef struct {
    const char *name;
    const char *value;
} sp_http_field;

typedef struct {
    const char *method; /* "GET", "POST", "PUT" */
    const char *url;
    const char *headers[SP_HTTP_MAX_HEADERS]; /* "Name: value" lines, NULL-terminated */
    const char *body;                         /* in-memory body, or NULL */
    size_t body_len;
    FILE *body_file; /* or a file range as the body */
    off_t file_offset;
    off_t file_length;
    bool has_body;             /* send a (possibly empty) body */
    const sp_http_field *form; /* multipart/form-data fields, or NULL */
    int nform;
    const char *file_field; /* with form: a part holding the file range */
    long timeout_seconds;   /* whole transfer; 0 = 300 */
    bool public_only;       /* refuse private, loopback and link-local addresses
                               (SP_ERR_UNPROCESSABLE "private_address"): for
                               URLs that users chose */
    bool no_proxy;          /* connect directly, whatever the environment's
                               proxy settings say */
} sp_http_req;

typedef struct {
    long status; /* 0 when no HTTP answer arrived */
    char *body;  /* NUL-terminated, caller frees via sp_http_resp_free */
    size_t body_len;
    char location[2048];
    char range[128]; /* YouTube's "bytes=0-n" */
    char content_type[128];
    long retry_after;          /* seconds, -1 when absent */
    long long content_length;  /* -1 when absent */
    char transport_error[256]; /* set when status == 0 */
} sp_http_resp;

/* A check the transfer calls while it runs; returning true aborts it (used by
 * the worker to stop in time on SIGTERM). */
typedef bool (*sp_http_abort_fn)(void *arg);

/* Sets the abort check every later transfer of this thread polls. */
void sp_http_client_set_abort(sp_http_abort_fn fn, void *arg);

/* Told by a download as its body reaches the file: total is the file's size
 * as the answer announced it (what the file held before a 206 plus its
 * Content-Length; -1 when not announced), have how many bytes the file holds,
 * all of them written through (readers of the file see them). */
typedef void (*sp_http_download_observer)(void *arg, long long total, long long have);

/* Sets the observer every later download of this thread tells (NULL: none). */
void sp_http_client_set_observer(sp_http_download_observer fn, void *arg);

/* Performs req. Returns 0 when an HTTP answer arrived (any status) and -1 on
 * a transport failure (resp->status 0, transport_error set, err set with
 * SP_ERR_INTERNAL code "network", or "private_address" when public_only
 * refused the address). Redirects are not followed. Response bodies over
 * 1 MiB are cut. */
int sp_http_perform(const sp_http_req *req, sp_http_resp *resp, sp_err *err);

/* GETs url into out, failing past max_bytes. With resume_from > 0, out
 * already holds that many bytes and only the rest is asked for (Range); a
 * server that sends the whole file anyway has out truncated first. Aborts
 * only on a stall (under 1 KiB/s for a minute), not on total time. With
 * public_only, connections to private, loopback and link-local addresses
 * (redirects included) are refused: SP_ERR_UNPROCESSABLE "private_address".
 * resp gets status and headers; no body is kept in memory. */
int sp_http_download(const char *url, FILE *out, long long resume_from, long long max_bytes,
                     bool public_only, sp_http_resp *resp, sp_err *err);

void sp_http_resp_free(sp_http_resp *resp);

/* URL-encodes s for a form body or query; caller frees. */
char *sp_http_escape(const char *s);

#endif
