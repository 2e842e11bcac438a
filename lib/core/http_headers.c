/*
 * http_headers: byte-bounded header parsing. Every read stays inside the
 * line's length (libcurl promises no NUL after it), values are copied
 * trimmed and cut to their buffers, and numbers go through one bounded
 * reader.
 */
#include "core/http_headers.h"

#include <string.h>
#include <strings.h>

/* Numbers from outside stay below this: sums and +1 never overflow. */
#define COUNT_LIMIT (1LL << 62)

void sp_http_headers_reset(sp_http_headers *h) {
    memset(h, 0, sizeof *h);
    h->retry_after = -1;
    h->content_length = -1;
}

bool sp_http_parse_count(const char *text, size_t len, long long *out) {
    if (len == 0 || len > 19) return false;
    long long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9') return false;
        int digit = text[i] - '0';
        if (v > (COUNT_LIMIT - 1 - digit) / 10) return false; /* checked before it overflows */
        v = v * 10 + digit;
    }
    *out = v;
    return true;
}

/* Length of the run of digits at text[0..len). */
static size_t digit_run(const char *text, size_t len) {
    size_t n = 0;
    while (n < len && text[n] >= '0' && text[n] <= '9')
        n++;
    return n;
}

bool sp_http_content_range_parse(const char *value, long long *first, long long *last,
                                 long long *total) {
    size_t len = strlen(value);
    if (len < 6 || strncasecmp(value, "bytes ", 6) != 0) return false;
    const char *p = value + 6, *end = value + len;
    long long a, b, t = -1;
    size_t n = digit_run(p, (size_t)(end - p));
    if (!sp_http_parse_count(p, n, &a)) return false;
    p += n;
    if (p == end || *p++ != '-') return false;
    n = digit_run(p, (size_t)(end - p));
    if (!sp_http_parse_count(p, n, &b)) return false;
    p += n;
    if (p == end || *p++ != '/') return false;
    if (end - p == 1 && *p == '*') {
        p++;
    } else {
        n = digit_run(p, (size_t)(end - p));
        if (!sp_http_parse_count(p, n, &t)) return false;
        p += n;
    }
    if (p != end || a > b || (t >= 0 && b >= t)) return false;
    *first = a;
    *last = b;
    *total = t;
    return true;
}

bool sp_http_unsatisfied_range_parse(const char *value, long long *total) {
    size_t len = strlen(value);
    if (len < 8 || strncasecmp(value, "bytes */", 8) != 0) return false;
    return sp_http_parse_count(value + 8, len - 8, total);
}

/* Copies the value of a header line (after name_len bytes), trimmed, into
 * out; cut to outlen - 1 bytes. */
static void header_value(const char *line, size_t len, size_t name_len, char *out, size_t outlen) {
    const char *v = line + name_len, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t n = (size_t)(end - v);
    if (n >= outlen) n = outlen - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

/* Copies a header value like header_value, or "" when it does not fit
 * whole: for values whose end matters (a JSON text). */
static void whole_value(const char *line, size_t len, size_t name_len, char *out, size_t outlen) {
    header_value(line, len, name_len, out, outlen);
    if (strlen(out) == outlen - 1) out[0] = '\0'; /* maybe cut */
}

/* The status of a status line "HTTP/x[.y] NNN ...", or 0. */
static long status_code(const char *line, size_t len) {
    const char *sp = memchr(line, ' ', len);
    if (!sp) return 0;
    size_t rest = len - (size_t)(sp + 1 - line);
    long long code;
    if (rest < 3 || !sp_http_parse_count(sp + 1, 3, &code)) return 0;
    if (rest > 3 && sp[4] != ' ' && sp[4] != '\r' && sp[4] != '\n') return 0;
    return code >= 100 ? (long)code : 0;
}

/* Retry-After: whole seconds, or an HTTP date (counted as a minute); at
 * most an hour. -1 when malformed. */
static long retry_after(const char *value) {
    long long secs;
    size_t len = strlen(value), digits = digit_run(value, len);
    if (digits == 0) return *value ? 60 : -1;
    if (digits != len) return -1;
    if (!sp_http_parse_count(value, len, &secs)) return 3600; /* longer than any limit */
    return secs > 3600 ? 3600 : (long)secs;
}

/* True when the line starts with the header name (colon included). */
static bool named(const char *line, size_t len, const char *name) {
    size_t n = strlen(name);
    return len > n && strncasecmp(line, name, n) == 0;
}

bool sp_http_headers_line(sp_http_headers *h, const char *line, size_t len) {
    char value[64];
    long long n;
    if ((len == 2 && line[0] == '\r' && line[1] == '\n') || (len == 1 && line[0] == '\n'))
        return true;
    if (len > 5 && strncmp(line, "HTTP/", 5) == 0) { /* a new response (redirect, 100) */
        sp_http_headers_reset(h);
        h->status = status_code(line, len);
    } else if (named(line, len, "Location:")) {
        header_value(line, len, 9, h->location, sizeof h->location);
    } else if (named(line, len, "Range:")) {
        header_value(line, len, 6, h->range, sizeof h->range);
    } else if (named(line, len, "Content-Type:")) {
        header_value(line, len, 13, h->content_type, sizeof h->content_type);
    } else if (named(line, len, "Content-Range:")) {
        header_value(line, len, 14, h->content_range, sizeof h->content_range);
    } else if (named(line, len, "ETag:")) {
        header_value(line, len, 5, h->etag, sizeof h->etag);
    } else if (named(line, len, "Last-Modified:")) {
        header_value(line, len, 14, h->last_modified, sizeof h->last_modified);
    } else if (named(line, len, "Retry-After:")) {
        header_value(line, len, 12, value, sizeof value);
        h->retry_after = retry_after(value);
    } else if (named(line, len, "X-App-Usage:")) {
        whole_value(line, len, 12, h->app_usage, sizeof h->app_usage);
    } else if (named(line, len, "X-Business-Use-Case-Usage:")) {
        whole_value(line, len, 26, h->business_usage, sizeof h->business_usage);
    } else if (named(line, len, "Content-Length:")) {
        header_value(line, len, 15, value, sizeof value);
        h->content_length = sp_http_parse_count(value, strlen(value), &n) ? n : -1;
    }
    return false;
}
