/*
 * http_headers: reading the response header lines the worker acts on, from
 * the bytes libcurl hands over (which are not NUL-terminated), and the
 * numbers inside them, every one range-checked before use.
 *
 * A line is one header as received ("Content-Range: bytes 0-9/10\r\n") or a
 * status line ("HTTP/1.1 206 Partial Content\r\n"). Unknown headers are
 * ignored; a known one with a malformed value reads as absent (-1 or ""),
 * never as a wrong number. Not here: what a status or header means to a
 * download or an adapter (http_client.c, the adapters).
 */
#ifndef SP_HTTP_HEADERS_H
#define SP_HTTP_HEADERS_H

#include <stdbool.h>
#include <stddef.h>

/* The headers kept from one response; the last response when there were
 * several (redirects, 100 Continue). */
typedef struct {
    long status;              /* of the last status line; 0 before one */
    char location[2048];      /* Location */
    char range[128];          /* Range (YouTube's "bytes=0-n") */
    char content_type[128];   /* Content-Type */
    char content_range[128];  /* Content-Range */
    char etag[128];           /* ETag */
    char last_modified[64];   /* Last-Modified */
    long retry_after;         /* Retry-After seconds (0..3600; a date counts 60), -1 absent */
    long long content_length; /* Content-Length, -1 when absent or malformed */
    /* Meta's rate-limit usage, JSON text as sent (X-App-Usage,
     * X-Business-Use-Case-Usage); "" when absent or longer than the buffer
     * (a cut JSON text could only mislead) */
    char app_usage[256];
    char business_usage[2048];
} sp_http_headers;

/* Empties h (no status, every header absent). */
void sp_http_headers_reset(sp_http_headers *h);

/* Reads one line of len bytes (not NUL-terminated, may end in CR LF). A
 * status line starts a new response: the headers read so far are dropped.
 * Returns true when the line was the blank line that ends a response's
 * headers. */
bool sp_http_headers_line(sp_http_headers *h, const char *line, size_t len);

/* Parses a Content-Range value "bytes first-last/total" (total may be "*",
 * read as -1): digits only, first <= last, last < total when total is known,
 * every number below 2^62. false (outputs untouched) otherwise. */
bool sp_http_content_range_parse(const char *value, long long *first, long long *last,
                                 long long *total);

/* Parses the Content-Range of a 416 (Range Not Satisfiable), "bytes *\/total"
 * (RFC 9110, 14.4 and 15.5.17): digits only, below 2^62. false (total
 * untouched) otherwise. */
bool sp_http_unsatisfied_range_parse(const char *value, long long *total);

/* Reads a whole non-negative decimal number below 2^62 from text[0..len):
 * digits only, nothing else; false otherwise. */
bool sp_http_parse_count(const char *text, size_t len, long long *out);

#endif
