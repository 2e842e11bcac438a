/*
 * request: what a FastCGI request says, read safely.
 *
 * Parameters are borrowed from libfcgi; the body is read once, capped and
 * NUL-terminated; query values are URL-decoded into caller buffers that fail
 * rather than truncate. The caller's Origin is matched against
 * CORS_ALLOWED_ORIGINS here, once, so every response can echo it.
 */
#include "api/request.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth/bearer.h"

/* Returns origin when the comma-separated allowed list admits it. */
static const char *cors_match(const char *allowed, const char *origin) {
    if (!allowed || !origin || !*origin) return NULL;
    const char *p = allowed;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        size_t n = (size_t)(end - p);
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if ((n == 1 && *p == '*') || (n == strlen(origin) && strncmp(p, origin, n) == 0))
            return origin;
        p = end;
    }
    return NULL;
}

/* True when an Origin value is safe to echo in a header (no CR/LF etc.). */
static bool header_safe(const char *v) {
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7F) return false;
    return strlen(v) < 256;
}

const char *sp_request_path_in_uri(const char *uri) {
    static const char *const programs[] = {"social-post-status", "social-post"};
    for (const char *seg = uri; seg && *seg; seg = strchr(seg + 1, '/')) {
        if (*seg != '/') continue;
        for (size_t i = 0; i < sizeof programs / sizeof programs[0]; i++) {
            size_t n = strlen(programs[i]);
            const char *after = seg + 1 + n;
            if (strncmp(seg + 1, programs[i], n) == 0 && (*after == '/' || *after == '\0'))
                return after;
        }
    }
    return "";
}

bool sp_request_accounts_path(const char *uri, char *out, size_t outlen) {
    static const char name[] = "social-post-accounts";
    for (const char *seg = uri; seg && *seg; seg = strchr(seg + 1, '/')) {
        const char *after = seg + 1 + strlen(name);
        if (*seg != '/' || strncmp(seg + 1, name, strlen(name)) != 0 ||
            (*after != '/' && *after != '\0'))
            continue;
        int n = snprintf(out, outlen, "/accounts%s", after);
        return n >= 0 && (size_t)n < outlen;
    }
    return false;
}

void sp_request_init(sp_request *r, FCGX_Request *fcgx, const char *allowed_origins) {
    memset(r, 0, sizeof *r);
    r->fcgx = fcgx;
    r->method = sp_request_param(r, "REQUEST_METHOD");
    r->path = sp_request_param(r, "PATH_INFO");
    r->query = sp_request_param(r, "QUERY_STRING");
    r->document_uri = sp_request_param(r, "DOCUMENT_URI");
    if (!r->method) r->method = "GET";
    if (!r->query) r->query = "";
    if (!r->document_uri) r->document_uri = "";
    /* a stock location (include fastcgi_params) sets no PATH_INFO at all */
    if (!r->path && sp_request_accounts_path(r->document_uri, r->path_buf, sizeof r->path_buf))
        r->path = r->path_buf;
    if (!r->path) r->path = sp_request_path_in_uri(r->document_uri);
    const char *origin = sp_request_param(r, "HTTP_ORIGIN");
    if (origin && header_safe(origin)) r->cors_origin = cors_match(allowed_origins, origin);
}

void sp_request_done(sp_request *r) {
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
}

const char *sp_request_param(const sp_request *r, const char *name) {
    return FCGX_GetParam(name, r->fcgx->envp);
}

bool sp_request_path_segment(const sp_request *r, int n, char *out, size_t outlen) {
    const char *p = r->path;
    for (int i = 0; *p; i++) {
        if (*p == '/') p++;
        size_t len = strcspn(p, "/");
        if (i == n) {
            if (len == 0 || len >= outlen) return false;
            memcpy(out, p, len);
            out[len] = '\0';
            return true;
        }
        p += len;
    }
    return false;
}

const char *sp_request_base(const sp_request *r) {
    static const char netlify[] = "/.netlify/functions/";
    return strncmp(r->document_uri, netlify, sizeof netlify - 1) == 0 ? netlify : "/";
}

/* True for the media types we read as JSON. */
static bool json_media_type(const char *ct) {
    if (!ct || !*ct) return true;
    size_t n = strcspn(ct, ";");
    while (n > 0 && ct[n - 1] == ' ')
        n--;
    static const char *ok[] = {"application/json", "text/plain"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (n == strlen(ok[i]) && strncasecmp(ct, ok[i], n) == 0) return true;
    /* application/<anything>+json, e.g. application/merge-patch+json */
    return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
           strncasecmp(ct + n - 5, "+json", 5) == 0;
}

int sp_request_read_json_body(sp_request *r, size_t limit, sp_err *err) {
    if (!json_media_type(sp_request_param(r, "CONTENT_TYPE")))
        return sp_err_set(err, SP_ERR_MEDIA_TYPE, "unsupported_media_type",
                          "send the body as application/json");
    const char *cl = sp_request_param(r, "CONTENT_LENGTH");
    if (cl && *cl && strtoull(cl, NULL, 10) > limit)
        return sp_err_set(err, SP_ERR_TOO_LARGE, "body_too_large",
                          "the request body is larger than %zu bytes", limit);
    r->body = malloc(limit + 2);
    if (!r->body) return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    int got = FCGX_GetStr(r->body, (int)limit + 1, r->fcgx->in);
    if (got < 0) got = 0;
    r->body_len = (size_t)got;
    r->body[r->body_len] = '\0';
    if (r->body_len > limit)
        return sp_err_set(err, SP_ERR_TOO_LARGE, "body_too_large",
                          "the request body is larger than %zu bytes", limit);
    return 0;
}

static int hex_value(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* URL-decodes src[0..n) into out; -1 when it does not fit or is malformed. */
static int url_decode(const char *src, size_t n, char *out, size_t outlen) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)src[i];
        if (c == '+')
            c = ' ';
        else if (c == '%') {
            if (i + 2 >= n) return -1;
            int hi = hex_value(src[i + 1]), lo = hex_value(src[i + 2]);
            if (hi < 0 || lo < 0) return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0 || o + 1 >= outlen) return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

int sp_request_query(const sp_request *r, const char *name, char *out, size_t outlen, sp_err *err) {
    size_t nlen = strlen(name);
    const char *p = r->query;
    while (*p) {
        const char *end = p + strcspn(p, "&");
        const char *eq = memchr(p, '=', (size_t)(end - p));
        const char *key_end = eq ? eq : end;
        if ((size_t)(key_end - p) == nlen && strncmp(p, name, nlen) == 0) {
            const char *v = eq ? eq + 1 : end;
            if (url_decode(v, (size_t)(end - v), out, outlen) < 0)
                return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_query",
                                  "query parameter %s is malformed or too long", name);
            return 1;
        }
        p = *end ? end + 1 : end;
    }
    return 0;
}

int sp_request_authenticate(sp_request *r, sp_jwt_verifier *jwt, sp_jwt_claims *claims,
                            sp_err *err) {
    if (sp_auth_bearer(jwt, sp_request_param(r, "HTTP_AUTHORIZATION"), time(NULL), claims, err) < 0)
        return -1;
    memcpy(r->user_id, claims->sub, sizeof r->user_id);
    return 0;
}

int sp_request_int_query(const sp_request *r, const char *name, int def, int min, int max, int *out,
                         sp_err *err) {
    char raw[16];
    *out = def;
    int found = sp_request_query(r, name, raw, sizeof raw, err);
    if (found <= 0) return found;
    char *end = NULL;
    long v = strtol(raw, &end, 10);
    if (!*raw || *end || v < min || v > max)
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_query",
                          "%s must be a whole number from %d to %d", name, min, max);
    *out = (int)v;
    return 0;
}
