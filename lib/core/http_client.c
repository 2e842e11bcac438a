/*
 * http_client: libcurl easy handles, one per call.
 *
 * A handle per call costs a little connection reuse but keeps every call
 * independent of the last, which matters more to a worker that must survive
 * any failure. Response headers are parsed as they arrive (only those the
 * adapters read); bodies go to a capped buffer or straight to a file.
 */
#include "core/http_client.h"

#include <ctype.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define SP_HTTP_BODY_CAP (1024 * 1024)

static __thread sp_http_abort_fn abort_fn;
static __thread void *abort_arg;

void sp_http_client_set_abort(sp_http_abort_fn fn, void *arg) {
    abort_fn = fn;
    abort_arg = arg;
}

static __thread sp_http_download_observer observer_fn;
static __thread void *observer_arg;

void sp_http_client_set_observer(sp_http_download_observer fn, void *arg) {
    observer_fn = fn;
    observer_arg = arg;
}

typedef struct {
    sp_http_resp *resp;
    size_t cap;
    FILE *sink; /* download target, or NULL: keep the body in memory */
    long long max_bytes;
    long long written;
    bool too_large;
    FILE *src; /* upload source */
    off_t remaining;
    const char *mem; /* in-memory upload source */
    size_t mem_left;
    long long resume_from; /* download: bytes already in sink */
    bool public_only;      /* refuse private network addresses */
    bool blocked;          /* ... and one was refused */
    long code;             /* status of the answer being received */
} transfer;

/* Copies the value of a "Name: value" header line, trimmed, into out. */
static void header_value(const char *line, size_t len, size_t name_len, char *out, size_t outlen) {
    const char *v = line + name_len;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t n = (size_t)(end - v);
    if (n >= outlen) n = outlen - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

static size_t on_header(char *line, size_t size, size_t n, void *arg) {
    transfer *t = arg;
    size_t len = size * n;
    sp_http_resp *r = t->resp;
    char value[64];
    if (len > 9 && strncmp(line, "HTTP/", 5) == 0) { /* a new response (after 100-continue) */
        r->location[0] = r->range[0] = r->content_type[0] = '\0';
        r->retry_after = -1;
        r->content_length = -1;
        const char *code = strchr(line, ' ');
        t->code = code ? atol(code) : 0;
        if (t->sink && t->resume_from > 0 && code && atoi(code) == 200) {
            /* the server sent the whole file, not the rest: start over */
            if (ftruncate(fileno(t->sink), 0) != 0 || fseeko(t->sink, 0, SEEK_SET) != 0) return 0;
            t->resume_from = 0;
            t->written = 0;
        }
    } else if (len > 9 && strncasecmp(line, "Location:", 9) == 0) {
        header_value(line, len, 9, r->location, sizeof r->location);
    } else if (len > 6 && strncasecmp(line, "Range:", 6) == 0) {
        header_value(line, len, 6, r->range, sizeof r->range);
    } else if (len > 13 && strncasecmp(line, "Content-Type:", 13) == 0) {
        header_value(line, len, 13, r->content_type, sizeof r->content_type);
    } else if (len > 12 && strncasecmp(line, "Retry-After:", 12) == 0) {
        header_value(line, len, 12, value, sizeof value);
        /* seconds (an HTTP date counts as a minute), never more than an hour */
        long secs = isdigit((unsigned char)value[0]) ? strtol(value, NULL, 10) : 60;
        r->retry_after = secs < 0 ? 0 : secs > 3600 ? 3600 : secs;
    } else if (len > 15 && strncasecmp(line, "Content-Length:", 15) == 0) {
        header_value(line, len, 15, value, sizeof value);
        r->content_length = atoll(value);
    }
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg) {
    transfer *t = arg;
    size_t len = size * n;
    if (t->sink) {
        if (t->max_bytes >= 0 && t->written + (long long)len > t->max_bytes) {
            t->too_large = true;
            return 0; /* aborts the transfer */
        }
        if (fwrite(data, 1, len, t->sink) != len) return 0;
        t->written += (long long)len;
        if (observer_fn && (t->code == 200 || t->code == 206)) {
            if (fflush(t->sink) != 0) return 0; /* readers see what the file holds */
            long long cl = t->resp->content_length;
            observer_fn(observer_arg, cl >= 0 ? t->resume_from + cl : -1, t->written);
        }
        return len;
    }
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

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un) {
    (void)arg, (void)dt, (void)dn, (void)ut, (void)un;
    return abort_fn && abort_fn(abort_arg) ? 1 : 0;
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
    curl_easy_setopt(h, CURLOPT_USERAGENT, "social-post/0.1");
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
}

/* Turns a finished transfer's outcome into resp/err. */
static int finish(CURL *h, CURLcode rc, transfer *t, sp_err *err) {
    sp_http_resp *r = t->resp;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
        return 0;
    }
    r->status = 0;
    if (t->too_large)
        snprintf(r->transport_error, sizeof r->transport_error, "larger than the size limit");
    else if (rc == CURLE_ABORTED_BY_CALLBACK)
        snprintf(r->transport_error, sizeof r->transport_error, "interrupted: worker stopping");
    else
        snprintf(r->transport_error, sizeof r->transport_error, "%s", curl_easy_strerror(rc));
    return sp_err_set(err, SP_ERR_INTERNAL, t->too_large ? "too_large" : "network", "%s",
                      r->transport_error);
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
        t->remaining = req->file_length;
        if (!part || fseeko(req->body_file, req->file_offset, SEEK_SET) != 0 ||
            curl_mime_name(part, req->file_field) != CURLE_OK ||
            curl_mime_filename(part, "video.mp4") != CURLE_OK ||
            curl_mime_type(part, "application/octet-stream") != CURLE_OK ||
            curl_mime_data_cb(part, (curl_off_t)req->file_length, on_read, NULL, NULL, t) !=
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
    CURL *h = curl_easy_init();
    if (!h) return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "curl init failed");
    transfer t = {.resp = resp, .max_bytes = -1};
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
        t.remaining = req->file_length;
        t.mem = req->body_file ? NULL : (req->body ? req->body : "");
        t.mem_left = req->body_file ? 0 : req->body_len;
        if (req->body_file && fseeko(req->body_file, req->file_offset, SEEK_SET) != 0) {
            curl_slist_free_all(headers);
            curl_easy_cleanup(h);
            return sp_err_set(err, SP_ERR_INTERNAL, "spool", "cannot seek in the spool file");
        }
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, &t);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                         (curl_off_t)(req->body_file ? req->file_length : (off_t)req->body_len));
    }
    curl_mime *mime = NULL;
    if (req->form) {
        mime = build_form(h, req, &t);
        if (!mime) {
            curl_slist_free_all(headers);
            curl_easy_cleanup(h);
            return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "building a form failed");
        }
        curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    if (req->public_only) {
        t.public_only = true;
        curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
        curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &t);
    }
    if (req->no_proxy) curl_easy_setopt(h, CURLOPT_PROXY, "");
    CURLcode rc = curl_easy_perform(h);
    int out = finish(h, rc, &t, err);
    if (out < 0 && t.blocked) {
        snprintf(resp->transport_error, sizeof resp->transport_error,
                 "the URL points to a private network address");
        out = sp_err_set(err, SP_ERR_UNPROCESSABLE, "private_address", "%s", resp->transport_error);
    }
    curl_mime_free(mime);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    return out;
}

/* True for addresses a user-supplied URL must not reach: loopback, private,
 * link-local, carrier-grade NAT, unspecified and multicast ranges. */
static bool private_address(const struct sockaddr *sa) {
    if (sa->sa_family == AF_INET) {
        uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
        return (a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 || (a >> 20) == 0xAC1 ||
               (a >> 16) == 0xC0A8 || (a >> 16) == 0xA9FE || (a >> 22) == (100u << 2 | 1) ||
               (a >> 28) >= 0xE;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            struct sockaddr_in v4 = {.sin_family = AF_INET};
            memcpy(&v4.sin_addr, &a->s6_addr[12], 4);
            return private_address((const struct sockaddr *)&v4);
        }
        return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LINKLOCAL(a) ||
               IN6_IS_ADDR_MULTICAST(a) || (a->s6_addr[0] & 0xFE) == 0xFC;
    }
    return true;
}

/* Opens each connection of a transfer (a download's redirects included),
 * refusing private addresses when asked to. */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr) {
    transfer *t = arg;
    (void)purpose;
    if (t->public_only && private_address(&addr->addr)) {
        t->blocked = true;
        return CURL_SOCKET_BAD;
    }
    return socket(addr->family, addr->socktype, addr->protocol);
}

int sp_http_download(const char *url, FILE *out, long long resume_from, long long max_bytes,
                     bool public_only, sp_http_resp *resp, sp_err *err) {
    resp_init(resp);
    CURL *h = curl_easy_init();
    if (!h) return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "curl init failed");
    transfer t = {.resp = resp,
                  .sink = out,
                  .max_bytes = max_bytes,
                  .written = resume_from,
                  .resume_from = resume_from,
                  .public_only = public_only};
    common_options(h, &t, 0);
    /* no cap on the whole download (a large video takes long), only on a stall */
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 0L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &t);
    if (resume_from > 0) curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)resume_from);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(h, CURLOPT_FAILONERROR, 0L);
    CURLcode rc = curl_easy_perform(h);
    int rc_out = finish(h, rc, &t, err);
    if (rc_out < 0 && t.blocked)
        rc_out = sp_err_set(err, SP_ERR_UNPROCESSABLE, "private_address",
                            "the video URL points to a private network address");
    curl_easy_cleanup(h);
    return rc_out;
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
