/*
 * http_client: libcurl easy handles.
 *
 * By default a call has a handle of its own, so nothing of one call reaches
 * the next. A thread that makes many calls (a worker slot) may keep its
 * connections instead (sp_http_client_keep_connections): it then keeps one
 * handle per policy (API call or download; through the environment's proxy
 * or direct; public addresses only or any), reset after each call, so every
 * option is set afresh per call while the handle's connection cache lets the
 * next call of the same policy to the same host reuse an open connection.
 * A connection is therefore only ever reused under the policy that opened it:
 * the private-address check (made when a connection opens) and the no-proxy
 * rule of downloads hold for every request that runs on it.
 *
 * libcurl sends a request again, on a new connection, when a reused one
 * closes before any answer: right for a keep-alive connection the server had
 * just dropped, but the server may also have acted on the request and died
 * before answering. So only requests that may safely be repeated (GET, HEAD,
 * PUT, DELETE, OPTIONS: a YouTube chunk is a PUT of a byte range) go out on
 * a reused connection, their body rewound for the repeat (on_seek); any other
 * (a POST that publishes a post) always opens its own connection, which
 * libcurl never repeats a request on, so a post is never made twice behind
 * the adapters' backs.
 *
 * Response headers are parsed as they arrive (http_headers.c,
 * only those the adapters read); bodies go to a capped buffer or, for a
 * download, to a file once the response's headers were judged.
 */
#include "core/http_client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/http_headers.h"
#include "core/netaddr.h"

#define SP_HTTP_BODY_CAP (1024 * 1024)
#define DOWNLOAD_RATE_GRACE 60.0 /* seconds before the average rate is judged */
/* A download reads up to this much per piece (libcurl's default is 16 KiB:
 * a write and, with an observer, a wake-up of the file's readers per 16 KiB),
 * and tells its observer once this much more is in the file (or at libcurl's
 * progress calls, about once a second when the body trickles). */
#define DOWNLOAD_PIECE (256L * 1024)

static __thread sp_http_abort_fn abort_fn;
static __thread void *abort_arg;

void sp_http_client_set_abort(sp_http_abort_fn fn, void *arg) {
    abort_fn = fn;
    abort_arg = arg;
}

/* The policies whose connections are kept apart: a connection opened under
 * one is never reused under another. */
enum {
    POLICY_PUBLIC = 1, /* bit: only public addresses */
    POLICY_DIRECT = 2, /* bit: never through a proxy */
    POLICY_DOWNLOAD = 4,
    POLICY_COUNT = 8
};

static __thread bool keeping;
static __thread CURL *kept[POLICY_COUNT];

void sp_http_client_keep_connections(bool keep) {
    for (int i = 0; !keep && i < POLICY_COUNT; i++) {
        curl_easy_cleanup(kept[i]); /* closes its connections */
        kept[i] = NULL;
    }
    keeping = keep;
}

/* A handle for a call under policy: the thread's kept one (reset when it was
 * last used), or a new one. NULL when out of memory. */
static CURL *handle_for(int policy) {
    if (!keeping) return curl_easy_init();
    if (!kept[policy]) kept[policy] = curl_easy_init();
    return kept[policy];
}

/* Ends a call's use of h: reset (every option back to its default, the
 * connections kept) or cleaned up. Before the call's headers and form are
 * freed, so the handle never points at freed memory. */
static void handle_done(CURL *h) {
    if (!h) return;
    if (keeping)
        curl_easy_reset(h);
    else
        curl_easy_cleanup(h);
}

/* Why a download stopped before its end, besides the transport. */
typedef enum {
    STOP_NONE,
    STOP_STATUS,     /* a final answer other than 200/206: nothing written */
    STOP_TOO_LARGE,  /* the file is larger than max_bytes */
    STOP_MEDIA_TYPE, /* not a video */
    STOP_RANGE,      /* a 206 that does not continue the file */
    STOP_TOO_SLOW,   /* below the minimum average rate, or past the deadline */
    STOP_WRITE,      /* the file could not be written */
    STOP_PRIVATE,    /* a connection to a private address was refused */
} stop_reason;

typedef struct {
    sp_http_resp *resp;
    sp_http_headers hdr;
    size_t cap;
    /* uploads: where the body is, and how far it has been read */
    FILE *src;
    off_t src_offset, src_length;
    off_t remaining;
    const char *mem_start;
    size_t mem_len;
    const char *mem;
    size_t mem_left;
    /* downloads */
    const sp_http_download_req *dl; /* NULL for API calls */
    FILE *sink;
    long long written;  /* bytes the file holds */
    long long received; /* body bytes of this transfer */
    bool accepted;      /* the current response's body goes to the file */
    double started;     /* CLOCK_MONOTONIC */
    double deadline;    /* 0: none */
    long long total;    /* the file's size the accepted answer announced, -1: unknown */
    long long observed; /* bytes the observer was last told of */
    stop_reason stop;
    int write_errno;
    bool public_only; /* an API call to a URL a user chose (webhooks) */
} transfer;

static size_t on_header(char *line, size_t size, size_t n, void *arg);

/* Empties the sink: what it holds cannot be continued. */
static bool restart_sink(transfer *t) {
    if (ftruncate(fileno(t->sink), 0) != 0 || fseeko(t->sink, 0, SEEK_SET) != 0) {
        t->write_errno = errno;
        t->stop = STOP_WRITE;
        return false;
    }
    t->written = 0;
    return true;
}

/* True when the Content-Type is one the download accepts. */
static bool media_type_ok(const transfer *t) {
    const char *ct = t->hdr.content_type;
    if (!t->dl->media_types || !*ct) return true;
    for (const char *const *m = t->dl->media_types; *m; m++)
        if (strncasecmp(ct, *m, strlen(*m)) == 0) return true;
    return false;
}

/* Checks that a 206 continues the file exactly; *total gets its size. */
static bool continues_file(const transfer *t, long long *total) {
    long long first, last;
    if (t->written == 0 || !sp_http_content_range_parse(t->hdr.content_range, &first, &last, total))
        return false;
    return first == t->written && *total > 0 && last == *total - 1 &&
           (t->hdr.content_length < 0 || t->hdr.content_length == last - first + 1);
}

/* Records why the download stops; returns false for the caller to pass on. */
static bool stop_for(transfer *t, stop_reason why) {
    if (t->stop == STOP_NONE) t->stop = why;
    return false;
}

/* What names the answer's bytes: its strong ETag, else its Last-Modified. */
static const char *answer_validator(const transfer *t) {
    return t->hdr.etag[0] && strncmp(t->hdr.etag, "W/", 2) != 0 ? t->hdr.etag
                                                                : t->hdr.last_modified;
}

/* True when a 206 names the bytes it continues as the If-Range sent did: a
 * server that ignores If-Range answers a 206 of whatever it holds now. */
static bool same_version(const transfer *t) {
    return t->dl->validator && !strcmp(answer_validator(t), t->dl->validator);
}

/* Judges a 200 or 206 from its headers, before any of its body: its type,
 * where it starts, its size. Sets the deadline its size allows. */
static bool accept_body(transfer *t) {
    long long total = -1;
    const sp_http_download_req *dl = t->dl;
    if (!media_type_ok(t)) return stop_for(t, STOP_MEDIA_TYPE);
    if (t->hdr.status == 200) {
        if (t->written > 0 && !restart_sink(t)) return false; /* the whole file, again */
        total = t->hdr.content_length;
    } else if (!continues_file(t, &total) || !same_version(t)) {
        restart_sink(t);
        return stop_for(t, STOP_RANGE);
    }
    if (dl->max_bytes >= 0 && total > dl->max_bytes) return stop_for(t, STOP_TOO_LARGE);
    if (dl->min_rate > 0 && total >= 0)
        t->deadline = sp_clock_monotonic() + DOWNLOAD_RATE_GRACE +
                      (double)(total - t->written) / dl->min_rate;
    t->accepted = true;
    t->total = total;
    t->observed = t->written;
    if (dl->observe) dl->observe(dl->observe_arg, total, t->written, answer_validator(t));
    return true;
}

/* At the end of a download response's headers: decides what its body is.
 * false aborts the transfer. */
static bool judge_response(transfer *t) {
    long s = t->hdr.status;
    t->accepted = false;
    if (s < 200 || (s >= 300 && s < 400 && t->hdr.location[0])) return true; /* more follows */
    if (s == 200 || s == 206) return accept_body(t);
    return stop_for(t, STOP_STATUS);
}

static size_t on_header(char *line, size_t size, size_t n, void *arg) {
    transfer *t = arg;
    size_t len = size * n;
    bool end = sp_http_headers_line(&t->hdr, line, len);
    if (end && t->dl && !judge_response(t)) return 0; /* aborts */
    return len;
}

/* Writes the file through and tells the download's observer how far it is
 * (when there is one and something is new). false when the write failed. */
static bool tell_observer(transfer *t) {
    if (!t->dl->observe || !t->accepted || t->written == t->observed) return true;
    if (fflush(t->sink) != 0) { /* readers see what the file holds */
        t->write_errno = errno ? errno : EIO;
        t->stop = STOP_WRITE;
        return false;
    }
    t->observed = t->written;
    t->dl->observe(t->dl->observe_arg, t->total, t->written, answer_validator(t));
    return true;
}

/* Appends a download body to the file, once its response was accepted. */
static size_t write_download(transfer *t, const char *data, size_t len) {
    if (!t->accepted) return len; /* an answer we follow past: not the file */
    if (t->dl->max_bytes >= 0 && t->written + (long long)len > t->dl->max_bytes) {
        t->stop = STOP_TOO_LARGE;
        return 0;
    }
    if (fwrite(data, 1, len, t->sink) != len) {
        t->write_errno = errno ? errno : EIO;
        t->stop = STOP_WRITE;
        return 0;
    }
    t->written += (long long)len;
    t->received += (long long)len;
    if (t->written - t->observed >= DOWNLOAD_PIECE && !tell_observer(t)) return 0;
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg) {
    transfer *t = arg;
    size_t len = size * n;
    if (t->dl) return write_download(t, data, len);
    sp_http_resp *r = t->resp;
    if (r->body_len + len > SP_HTTP_BODY_CAP) len = SP_HTTP_BODY_CAP - r->body_len;
    if (r->body_len + len + 1 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 4096;
        while (cap < r->body_len + len + 1)
            cap *= 2;
        char *grown = realloc(r->body, cap);
        if (!grown) return 0;
        r->body = grown;
        t->cap = cap;
    }
    memcpy(r->body + r->body_len, data, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return size * n;
}

static size_t on_read(char *buf, size_t size, size_t n, void *arg) {
    transfer *t = arg;
    size_t want = size * n;
    if (t->mem) {
        if (want > t->mem_left) want = t->mem_left;
        memcpy(buf, t->mem, want);
        t->mem += want;
        t->mem_left -= want;
        return want;
    }
    if ((off_t)want > t->remaining) want = (size_t)t->remaining;
    size_t got = want ? fread(buf, 1, want, t->src) : 0;
    if (got < want && ferror(t->src)) return CURL_READFUNC_ABORT;
    t->remaining -= (off_t)got;
    return got;
}

/* Rewinds the body to offset, for a request sent again (its reused
 * connection had closed) or a redirect. */
static int on_seek(void *arg, curl_off_t offset, int origin) {
    transfer *t = arg;
    if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
    if (t->src) {
        if ((off_t)offset > t->src_length ||
            fseeko(t->src, t->src_offset + (off_t)offset, SEEK_SET) != 0)
            return CURL_SEEKFUNC_FAIL;
        t->remaining = t->src_length - (off_t)offset;
        return CURL_SEEKFUNC_OK;
    }
    if ((size_t)offset > t->mem_len) return CURL_SEEKFUNC_FAIL;
    t->mem = t->mem_start + offset;
    t->mem_left = t->mem_len - (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

/* True when a download is too slow: past its deadline, or below the
 * minimum average rate once the first minute is over. */
static bool too_slow(const transfer *t) {
    if (!t->dl || t->dl->min_rate <= 0) return false;
    double now = sp_clock_monotonic(), elapsed = now - t->started;
    if (t->deadline > 0 && now > t->deadline) return true;
    return elapsed > DOWNLOAD_RATE_GRACE && (double)t->received / elapsed < t->dl->min_rate;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un) {
    transfer *t = arg;
    (void)dt, (void)dn, (void)ut, (void)un;
    if (abort_fn && abort_fn(abort_arg)) return 1;
    if (t->dl && !tell_observer(t)) return 1; /* what a slow server sent is readable too */
    if (too_slow(t)) {
        t->stop = STOP_TOO_SLOW;
        return 1;
    }
    return 0;
}

/* True for the methods a request may be repeated with, unchanged, at no
 * harm (RFC 9110's idempotent methods). */
static bool repeatable(const char *method) {
    static const char *const safe[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"};
    for (size_t i = 0; method && i < sizeof safe / sizeof *safe; i++)
        if (strcmp(method, safe[i]) == 0) return true;
    return false;
}

/* Options every transfer shares: timeouts, no signals, abort checks. */
static void common_options(CURL *h, transfer *t, long timeout) {
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout > 0 ? timeout : 300L);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "social-post/0.1");
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
}

/* Copies the headers read into resp. */
static void keep_headers(const transfer *t) {
    sp_http_resp *r = t->resp;
    snprintf(r->location, sizeof r->location, "%s", t->hdr.location);
    snprintf(r->range, sizeof r->range, "%s", t->hdr.range);
    snprintf(r->content_type, sizeof r->content_type, "%s", t->hdr.content_type);
    snprintf(r->etag, sizeof r->etag, "%s", t->hdr.etag);
    snprintf(r->last_modified, sizeof r->last_modified, "%s", t->hdr.last_modified);
    r->retry_after = t->hdr.retry_after;
    r->content_length = t->hdr.content_length;
    snprintf(r->app_usage, sizeof r->app_usage, "%s", t->hdr.app_usage);
    snprintf(r->business_usage, sizeof r->business_usage, "%s", t->hdr.business_usage);
}

/* Turns a finished API call's outcome into resp/err. */
static int finish(CURL *h, CURLcode rc, transfer *t, sp_err *err) {
    sp_http_resp *r = t->resp;
    keep_headers(t);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
        return 0;
    }
    r->status = 0;
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        snprintf(r->transport_error, sizeof r->transport_error, "interrupted: worker stopping");
    else
        snprintf(r->transport_error, sizeof r->transport_error, "%s", curl_easy_strerror(rc));
    return sp_err_set(err, SP_ERR_INTERNAL, "network", "%s", r->transport_error);
}

static void resp_init(sp_http_resp *resp) {
    memset(resp, 0, sizeof *resp);
    resp->retry_after = -1;
    resp->content_length = -1;
}

/* The multipart body of req: its fields, then the file range as file_field. */
static curl_mime *build_form(CURL *h, const sp_http_req *req, transfer *t) {
    curl_mime *mime = curl_mime_init(h);
    if (!mime) return NULL;
    for (int i = 0; i < req->nform; i++) {
        curl_mimepart *part = curl_mime_addpart(mime);
        if (!part || curl_mime_name(part, req->form[i].name) != CURLE_OK ||
            curl_mime_data(part, req->form[i].value, CURL_ZERO_TERMINATED) != CURLE_OK)
            goto fail;
    }
    if (req->file_field && req->body_file) {
        curl_mimepart *part = curl_mime_addpart(mime);
        t->src = req->body_file;
        t->src_offset = req->file_offset;
        t->src_length = req->file_length;
        t->remaining = req->file_length;
        if (!part || fseeko(req->body_file, req->file_offset, SEEK_SET) != 0 ||
            curl_mime_name(part, req->file_field) != CURLE_OK ||
            curl_mime_filename(part, "video.mp4") != CURLE_OK ||
            curl_mime_type(part, "application/octet-stream") != CURLE_OK ||
            curl_mime_data_cb(part, (curl_off_t)req->file_length, on_read, on_seek, NULL, t) !=
                CURLE_OK)
            goto fail;
    }
    return mime;
fail:
    curl_mime_free(mime);
    return NULL;
}

static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr);

int sp_http_perform(const sp_http_req *req, sp_http_resp *resp, sp_err *err) {
    resp_init(resp);
    CURL *h =
        handle_for((req->public_only ? POLICY_PUBLIC : 0) | (req->no_proxy ? POLICY_DIRECT : 0));
    if (!h) return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "curl init failed");
    transfer t = {.resp = resp};
    sp_http_headers_reset(&t.hdr);
    struct curl_slist *headers = NULL;
    /* no "Expect: 100-continue" round trip before each chunk */
    headers = curl_slist_append(headers, "Expect:");
    for (int i = 0; i < SP_HTTP_MAX_HEADERS && req->headers[i]; i++)
        headers = curl_slist_append(headers, req->headers[i]);
    common_options(h, &t, req->timeout_seconds);
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    if (!req->form && (req->has_body || req->body || req->body_file)) {
        t.src = req->body_file;
        t.src_offset = req->file_offset;
        t.src_length = req->file_length;
        t.remaining = req->file_length;
        t.mem = t.mem_start = req->body_file ? NULL : (req->body ? req->body : "");
        t.mem_left = t.mem_len = req->body_file ? 0 : req->body_len;
        if (req->body_file && fseeko(req->body_file, req->file_offset, SEEK_SET) != 0) {
            handle_done(h);
            curl_slist_free_all(headers);
            return sp_err_set(err, SP_ERR_INTERNAL, "spool", "cannot seek in the spool file");
        }
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, &t);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, &t);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                         (curl_off_t)(req->body_file ? req->file_length : (off_t)req->body_len));
    }
    curl_mime *mime = NULL;
    if (req->form) {
        mime = build_form(h, req, &t);
        if (!mime) {
            handle_done(h);
            curl_slist_free_all(headers);
            return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "building a form failed");
        }
        curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    /* a connection of its own: libcurl never sends it twice (see the top) */
    if (!repeatable(req->method)) curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    if (req->public_only) {
        t.public_only = true;
        curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
        curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &t);
    }
    if (req->no_proxy) {
        curl_easy_setopt(h, CURLOPT_PROXY, "");
        curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    }
    CURLcode rc = curl_easy_perform(h);
    int out = finish(h, rc, &t, err);
    if (out < 0 && t.stop == STOP_PRIVATE) {
        snprintf(resp->transport_error, sizeof resp->transport_error,
                 "the URL points to a private network address");
        out = sp_err_set(err, SP_ERR_UNPROCESSABLE, "private_address", "%s", resp->transport_error);
    }
    handle_done(h);
    curl_mime_free(mime);
    curl_slist_free_all(headers);
    return out;
}

/* Opens each connection of a transfer (a download's redirects included),
 * refusing private addresses when asked to. */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr) {
    transfer *t = arg;
    (void)purpose;
    bool public_only = t->dl ? t->dl->public_only : t->public_only;
    if (public_only && sp_netaddr_private(&addr->addr)) {
        t->stop = STOP_PRIVATE;
        return CURL_SOCKET_BAD;
    }
    return socket(addr->family, addr->socktype, addr->protocol);
}

/* The download's outcome as resp/err: an answer (0), or why it stopped. */
static int finish_download(CURL *h, CURLcode rc, transfer *t, sp_err *err) {
    sp_http_resp *r = t->resp;
    keep_headers(t);
    r->status = t->hdr.status;
    if (rc == CURLE_OK || t->stop == STOP_STATUS) {
        if (rc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
        long long total;
        r->whole = r->status == 416 && t->written > 0 &&
                   sp_http_unsatisfied_range_parse(t->hdr.content_range, &total) &&
                   total == t->written && same_version(t);
        return 0;
    }
    switch (t->stop) {
    case STOP_TOO_LARGE:
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "too_large", "larger than the size limit");
    case STOP_MEDIA_TYPE:
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "media_type", "the URL answered %s",
                          r->content_type);
    case STOP_PRIVATE:
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "private_address",
                          "the video URL points to a private network address");
    case STOP_RANGE:
        return sp_err_set(err, SP_ERR_TRANSIENT, "range_mismatch",
                          "the server's partial answer did not continue the file");
    case STOP_TOO_SLOW:
        return sp_err_set(err, SP_ERR_TRANSIENT, "too_slow",
                          "the download was slower than %.0f bytes/s", t->dl->min_rate);
    case STOP_WRITE: {
        char eb[128];
        return sp_err_set(err, SP_ERR_TRANSIENT, "write_failed", "writing the file failed: %s",
                          sp_strerror(t->write_errno, eb, sizeof eb));
    }
    default:
        break;
    }
    r->status = t->accepted ? t->hdr.status : 0; /* the answer the file holds part of */
    snprintf(r->transport_error, sizeof r->transport_error, "%s",
             rc == CURLE_ABORTED_BY_CALLBACK ? "interrupted" : curl_easy_strerror(rc));
    return sp_err_set(err, SP_ERR_TRANSIENT, "network", "%s", r->transport_error);
}

/* Sets the request side of a download: URL, no proxy, redirects, the range. */
static void download_options(CURL *h, transfer *t, struct curl_slist **headers) {
    char range[48];
    curl_easy_setopt(h, CURLOPT_URL, t->dl->url);
    /* a proxy would fetch private addresses on our behalf: go direct */
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 0L); /* bounded by the rate checks instead */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, t);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(h, CURLOPT_FAILONERROR, 0L);
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, DOWNLOAD_PIECE);
    if (t->written > 0) {
        snprintf(range, sizeof range, "%lld-", t->written);
        curl_easy_setopt(h, CURLOPT_RANGE, range);
        char *line = NULL;
        if (asprintf(&line, "If-Range: %s", t->dl->validator) >= 0) {
            *headers = curl_slist_append(*headers, line);
            free(line);
        }
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, *headers);
    }
}

int sp_http_download(const sp_http_download_req *req, FILE *out, sp_http_resp *resp, sp_err *err) {
    resp_init(resp);
    transfer t = {.resp = resp, .dl = req, .sink = out, .written = req->resume_from, .total = -1};
    sp_http_headers_reset(&t.hdr);
    bool can_resume = req->validator && *req->validator && !strpbrk(req->validator, "\r\n");
    if (t.written > 0 && !can_resume && !restart_sink(&t)) /* nothing to tell the bytes by */
        return finish_download(NULL, CURLE_WRITE_ERROR, &t, err);
    /* always direct (download_options): kept apart from API calls all the same */
    CURL *h = handle_for(POLICY_DOWNLOAD | POLICY_DIRECT | (req->public_only ? POLICY_PUBLIC : 0));
    if (!h) return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "curl init failed");
    struct curl_slist *headers = NULL;
    common_options(h, &t, 0);
    download_options(h, &t, &headers);
    t.started = sp_clock_monotonic();
    CURLcode rc = curl_easy_perform(h);
    int out_rc = finish_download(h, rc, &t, err);
    handle_done(h);
    curl_slist_free_all(headers);
    return out_rc;
}

void sp_http_resp_free(sp_http_resp *resp) {
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}

char *sp_http_escape(const char *s) {
    char *escaped = curl_easy_escape(NULL, s, 0);
    if (!escaped) return NULL;
    char *copy = strdup(escaped);
    curl_free(escaped);
    return copy;
}

char *sp_http_form_encode(const sp_http_field *fields, int n) {
    size_t len = 0, cap = 256;
    char *out = malloc(cap);
    if (!out) return NULL;
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (!fields[i].name || !fields[i].value) goto fail;
        char *name = sp_http_escape(fields[i].name), *value = sp_http_escape(fields[i].value);
        size_t need = len + (name ? strlen(name) : 0) + (value ? strlen(value) : 0) + 3;
        char *grown = need <= cap ? out : realloc(out, cap = need * 2);
        if (!name || !value || !grown) {
            free(name);
            free(value);
            if (grown) out = grown;
            goto fail;
        }
        out = grown;
        len += (size_t)sprintf(out + len, "%s%s=%s", i ? "&" : "", name, value);
        free(name);
        free(value);
    }
    return out;
fail:
    free(out);
    return NULL;
}
