/*
 * callback_url: a small parser that walks the URL once, part by part
 * (scheme, authority, host, port, path and query), and stops at the first
 * thing it does not accept. It never reads past len, so it needs no NUL and
 * no copy of the input, except the host handed to inet_pton.
 */
#include "webhooks/callback_url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HOST_MAX 253
#define LABEL_MAX 63

/* Fails with the one code of this module. */
static int refuse(sp_err *err, const char *why) {
    return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_callback_url", "callbackUrl %s", why);
}

/* Length of the scheme and "://" ("http://" or "https://", any case), or 0. */
static size_t scheme_length(const char *url, size_t len) {
    if (len >= 7 && strncasecmp(url, "http://", 7) == 0) return 7;
    if (len >= 8 && strncasecmp(url, "https://", 8) == 0) return 8;
    return 0;
}

/* True when s[0..n) is a dotted IPv4 address as inet_pton reads it (four
 * decimal parts, no leading zeros) or, with v6, an IPv6 address. */
static bool ip_literal(const char *s, size_t n, bool v6) {
    char text[64];
    unsigned char addr[16];
    if (n == 0 || n >= sizeof text) return false;
    memcpy(text, s, n);
    text[n] = '\0';
    return inet_pton(v6 ? AF_INET6 : AF_INET, text, addr) == 1;
}

/* Checks a DNS name: labels of letters, digits and inner hyphens. A name
 * whose last label starts with a digit is an IPv4 address, and must be a
 * dotted one. */
static int check_name(const char *host, size_t n, sp_err *err) {
    if (n == 0) return refuse(err, "has no host");
    if (n > HOST_MAX) return refuse(err, "has a host name longer than 253 characters");
    size_t last = 0; /* start of the current label */
    for (size_t i = 0; i <= n; i++) {
        if (i < n && host[i] != '.') {
            if (!isalnum((unsigned char)host[i]) && host[i] != '-')
                return refuse(err, "has a host with characters a host name cannot have");
            continue;
        }
        size_t label = i - last;
        if (label == 0 || label > LABEL_MAX || host[last] == '-' || host[i - 1] == '-')
            return refuse(err, "has a malformed host name");
        if (i < n) last = i + 1;
    }
    if (isdigit((unsigned char)host[last]) && !ip_literal(host, n, false))
        return refuse(err, "has a numeric host that is not a dotted IPv4 address");
    return 0;
}

/* Checks ":port" (the colon included): 1 to 65535. */
static int check_port(const char *p, size_t n, sp_err *err) {
    long port = 0;
    if (n < 2 || n > 6) return refuse(err, "has an invalid port");
    for (size_t i = 1; i < n; i++) {
        if (!isdigit((unsigned char)p[i])) return refuse(err, "has an invalid port");
        port = port * 10 + (p[i] - '0');
    }
    if (port < 1 || port > 65535) return refuse(err, "has a port outside 1-65535");
    return 0;
}

/* Checks the authority: host and optional port, never credentials. */
static int check_authority(const char *a, size_t n, sp_err *err) {
    if (memchr(a, '@', n))
        return refuse(err, "must not contain credentials (user:password@); "
                           "put a token in the path or query instead");
    size_t host_end;
    if (n > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (!close || !ip_literal(a + 1, (size_t)(close - a) - 1, true))
            return refuse(err, "has a malformed IPv6 address");
        host_end = (size_t)(close - a) + 1;
    } else {
        const char *colon = memchr(a, ':', n);
        host_end = colon ? (size_t)(colon - a) : n;
        if (check_name(a, host_end, err) < 0) return -1;
    }
    if (host_end == n) return 0;
    if (a[host_end] != ':') return refuse(err, "has a malformed IPv6 address");
    return check_port(a + host_end, n - host_end, err);
}

/* True for the characters a path or query may hold as they are (RFC 3986
 * pchar, "/" and "?"), '%' aside. */
static bool path_char(unsigned char c) {
    return isalnum(c) || strchr("-._~!$&'()*+,;=:@/?", c) != NULL;
}

/* Checks the path and query: allowed characters and whole %XX escapes. */
static int check_path(const char *p, size_t n, sp_err *err) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '#')
            return refuse(err, "must not have a fragment (#...): it is never sent to the server");
        if (c == '%') {
            if (n - i < 3 || !isxdigit((unsigned char)p[i + 1]) ||
                !isxdigit((unsigned char)p[i + 2]))
                return refuse(err, "has a broken %-escape");
            i += 2;
        } else if (!path_char(c)) {
            return refuse(err, "has a character that must be percent-encoded");
        }
    }
    return 0;
}

int sp_callback_url_check(const char *url, size_t len, sp_err *err) {
    if (len == 0) return refuse(err, "must be an http or https URL");
    if (len > SP_CALLBACK_URL_MAX) return refuse(err, "is longer than 2048 characters");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c >= 0x7f)
            return refuse(err, "must be ASCII without spaces or control characters "
                               "(percent-encode the rest)");
    }
    size_t start = scheme_length(url, len);
    if (start == 0) return refuse(err, "must start with http:// or https://");
    size_t end = start;
    while (end < len && url[end] != '/' && url[end] != '?' && url[end] != '#')
        end++;
    if (check_authority(url + start, end - start, err) < 0) return -1;
    return check_path(url + end, len - end, err);
}

void sp_callback_url_origin(const char *url, char *out, size_t len) {
    size_t start = scheme_length(url, strlen(url));
    size_t end = start + strcspn(url + start, "/?#");
    snprintf(out, len, "%.*s", (int)end, url);
}
