/*
 * http_client: the few things the worker asks of libcurl, in one place.
 *
 * A request is a method, a URL, header lines and a body that comes from
 * memory, from a byte range of a file, or is a multipart form whose file part
 * is such a range (so uploads stream from the spool and memory stays flat).
 * The response keeps its status, the headers the platform adapters read
 * (Location, Range, Retry-After, Content-Type, Meta's rate-limit usage) and a
 * body capped in size; a download streams into a file instead.
 *
 * Transport failures (refused, reset, timed out) are reported as status 0 with
 * a message, so adapters classify them as transient in their one classify
 * function. Callers never see CURL handles.
 *
 * A download (a user's video URL) is stricter than an API call: only a 200 or
 * a 206 that continues the partial file exactly (Content-Range checked, and
 * its validator the one sent in If-Range: servers that ignore If-Range answer
 * a 206 of a replaced file) reaches the file, after its type
 * and size were judged from the headers; it goes to the target itself, never
 * through a proxy (a proxy would reach private addresses for us), and it must
 * keep a minimum average rate.
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
    char etag[128]; /* download: the file's validators, "" when absent */
    char last_modified[64];
    long retry_after;          /* seconds, -1 when absent */
    long long content_length;  /* -1 when absent */
    char app_usage[256];       /* Meta's X-App-Usage JSON text, "" when absent */
    char business_usage[2048]; /* Meta's X-Business-Use-Case-Usage, "" when absent */
    char transport_error[256]; /* set when status == 0 */
    bool whole;                /* download: a 416 saying the file held the whole video already */
} sp_http_resp;

/* A check the transfer calls while it runs; returning true aborts it (used by
 * the worker to stop in time on SIGTERM). */
typedef bool (*sp_http_abort_fn)(void *arg);

/* Sets the abort check every later transfer of this thread polls. */
void sp_http_client_set_abort(sp_http_abort_fn fn, void *arg);

/* true: this thread's later calls keep their connections open for the next
 * call of the same policy (API call or download, proxy or direct, public
 * addresses only or not) to the same host; a connection is never reused
 * under another policy, and no option or header of one call reaches the
 * next. false: closes the kept connections (call it before the thread ends)
 * and goes back to one handle per call, the default. */
void sp_http_client_keep_connections(bool keep);

/* Performs req. Returns 0 when an HTTP answer arrived (any status) and -1 on
 * a transport failure (resp->status 0, transport_error set, err set with
 * SP_ERR_INTERNAL code "network", or "private_address" when public_only
 * refused the address). Redirects are not followed. Response bodies over
 * 1 MiB are cut. */
int sp_http_perform(const sp_http_req *req, sp_http_resp *resp, sp_err *err);

/* Told by a download once its answer was accepted (have: the bytes the file
 * kept) and as its body reaches the file (every 256 KiB, and at least once a
 * second while new bytes come), written through
 * so that readers of the file see it: total is the size the file will have
 * (what it held before a 206 plus the rest; -1 when the answer did not say),
 * have how many bytes it holds now, validator what names the answer's bytes
 * (its strong ETag, else its Last-Modified; "" when it gave neither): with
 * it a cut download can be continued without a doubt that the rest belongs
 * to the same file. */
typedef void (*sp_http_download_observer)(void *arg, long long total, long long have,
                                          const char *validator);

/* A download of a user-supplied URL into a file. */
typedef struct {
    const char *url;
    long long resume_from; /* bytes the file already holds, asked for no more */
    const char *validator; /* their ETag or Last-Modified (sent as If-Range); without
                              one a partial file is started over */
    long long max_bytes;   /* a larger file is refused from its headers, or when it grows past */
    bool public_only;      /* refuse private addresses (netaddr.h), redirects included */
    const char *const *media_types; /* accepted Content-Type prefixes (NULL-terminated);
                                       an absent Content-Type passes; NULL: any */
    double min_rate;                /* bytes/s on average, judged after the first minute; 0: none */
    sp_http_download_observer observe; /* NULL: none (the file is then written through only
                                          at the end, by the caller) */
    void *observe_arg;
} sp_http_download_req;

/* GETs req->url into out (a file opened for appending that holds
 * req->resume_from bytes). Returns 0 when an HTTP answer arrived: with
 * status 200 or 206 out then holds the whole file; with any other status
 * nothing was written (no body is kept). A 416 to a Range from
 * resume_from sets resp->whole when it says the file is resume_from bytes
 * long ("Content-Range: bytes *\/resume_from") and names the version sent in
 * If-Range (its strong ETag, else its Last-Modified): out held every byte of
 * that version already (a download cut between its last byte and its end).
 * A 416 that names no version, or another, leaves whole false. Returns -1 otherwise, err saying
 * why: SP_ERR_TRANSIENT "network" (out keeps what arrived), "range_mismatch"
 * (a 206 that does not continue the file, or names other bytes than
 * req->validator: out emptied), "too_slow" (below
 * min_rate, or past the deadline its size allows), "write_failed" (the disk);
 * SP_ERR_UNPROCESSABLE "too_large", "media_type", "private_address". resp
 * gets the headers either way, and the status of the answer whose body went
 * to the file (0 when none did). */
int sp_http_download(const sp_http_download_req *req, FILE *out, sp_http_resp *resp, sp_err *err);

void sp_http_resp_free(sp_http_resp *resp);

/* URL-encodes s for a form body or query; caller frees. */
char *sp_http_escape(const char *s);

/* An application/x-www-form-urlencoded body (or query) of n fields, each
 * name and value escaped, in order; caller frees. NULL when out of memory or
 * a value is NULL (a missing setting is the caller's to report). */
char *sp_http_form_encode(const sp_http_field *fields, int n);

#endif
