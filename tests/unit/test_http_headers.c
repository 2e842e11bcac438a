/* Unit tests of http_headers.c: response header lines as libcurl hands
 * them over (no NUL after the line), and the numbers in them. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/http_headers.h"

/* Feeds text to h as one line in a buffer of exactly its length, with no
 * NUL after it (ASan catches a read past it). */
static bool feed(sp_http_headers *h, const char *text) {
    size_t n = strlen(text);
    char *exact = malloc(n ? n : 1);
    memcpy(exact, text, n);
    bool end = sp_http_headers_line(h, exact, n);
    free(exact);
    return end;
}

static void status_lines_start_a_response(void) {
    sp_http_headers h;
    sp_http_headers_reset(&h);
    CHECK(h.status == 0 && h.retry_after == -1 && h.content_length == -1);
    feed(&h, "HTTP/1.1 302 Found\r\n");
    CHECK(h.status == 302);
    feed(&h, "Location: https://cdn.example/v.mp4\r\n");
    CHECK_STR(h.location, "https://cdn.example/v.mp4");
    feed(&h, "HTTP/2 206\r\n"); /* the redirect's target answers: its headers only */
    CHECK(h.status == 206 && h.location[0] == '\0');
    feed(&h, "HTTP/1.1 200\r\n");
    CHECK(h.status == 200);
    feed(&h, "HTTP/1.1 20\r\n");
    CHECK(h.status == 0);
    feed(&h, "HTTP/1.1 2000 OK\r\n");
    CHECK(h.status == 0);
    feed(&h, "HTTP/1.1");
    CHECK(h.status == 0);
    feed(&h, "HTTP/1.1 ");
    CHECK(h.status == 0);
    feed(&h, "HTTP/1.1 -20 x");
    CHECK(h.status == 0);
    CHECK(feed(&h, "\r\n") && feed(&h, "\n") && !feed(&h, "X: y\r\n"));
}

static void values_are_trimmed_and_cut_to_their_buffers(void) {
    sp_http_headers h;
    sp_http_headers_reset(&h);
    feed(&h, "content-type:   video/mp4 \r\n");
    CHECK_STR(h.content_type, "video/mp4");
    feed(&h, "ETag: \"abc\"\r\n");
    CHECK_STR(h.etag, "\"abc\"");
    feed(&h, "Last-Modified: Tue, 01 Dec 2026 10:00:00 GMT\r\n");
    CHECK_STR(h.last_modified, "Tue, 01 Dec 2026 10:00:00 GMT");
    feed(&h, "Range: bytes=0-99\r\n");
    CHECK_STR(h.range, "bytes=0-99");
    char long_line[400] = "Content-Type: ";
    memset(long_line + 14, 'x', 300);
    long_line[314] = '\0';
    feed(&h, long_line);
    CHECK(strlen(h.content_type) == sizeof h.content_type - 1);
    feed(&h, "Content-Type: video/webm");
    feed(&h, "Content-Type:"); /* no value, not even a space: not read */
    CHECK_STR(h.content_type, "video/webm");
}

/* Meta's usage headers are JSON text: kept whole, or not at all. */
static void meta_usage_headers_are_kept_whole_or_not_at_all(void) {
    sp_http_headers h;
    sp_http_headers_reset(&h);
    feed(&h, "x-app-usage: {\"call_count\":28,\"total_time\":25,\"total_cputime\":25}\r\n");
    CHECK_STR(h.app_usage, "{\"call_count\":28,\"total_time\":25,\"total_cputime\":25}");
    feed(&h, "X-Business-Use-Case-Usage: {\"1\":[{\"type\":\"pages\"}]}\r\n");
    CHECK_STR(h.business_usage, "{\"1\":[{\"type\":\"pages\"}]}");
    char long_line[3000] = "X-Business-Use-Case-Usage: ";
    size_t n = strlen(long_line);
    memset(long_line + n, 'x', 2500);
    long_line[n + 2500] = '\0';
    feed(&h, long_line);
    CHECK_STR(h.business_usage, ""); /* a cut JSON text is none */
    feed(&h, "HTTP/1.1 200 OK\r\n"); /* a new response forgets them */
    CHECK_STR(h.app_usage, "");
}

static void numbers_are_range_checked(void) {
    sp_http_headers h;
    sp_http_headers_reset(&h);
    feed(&h, "Content-Length: 1048576\r\n");
    CHECK(h.content_length == 1048576);
    feed(&h, "Content-Length: 99999999999999999999999\r\n");
    CHECK(h.content_length == -1);
    feed(&h, "Content-Length: -5\r\n");
    CHECK(h.content_length == -1);
    feed(&h, "Content-Length: 12abc\r\n");
    CHECK(h.content_length == -1);
    feed(&h, "Retry-After: 30\r\n");
    CHECK(h.retry_after == 30);
    feed(&h, "Retry-After: 86400\r\n");
    CHECK(h.retry_after == 3600);
    feed(&h, "Retry-After: 999999999999999999999999\r\n");
    CHECK(h.retry_after == 3600);
    feed(&h, "Retry-After: Wed, 21 Oct 2026 07:28:00 GMT\r\n");
    CHECK(h.retry_after == 60);
    feed(&h, "Retry-After: 5s\r\n");
    CHECK(h.retry_after == -1);
}

static void content_range_is_parsed_strictly(void) {
    long long a = 7, b = 7, t = 7;
    CHECK(sp_http_content_range_parse("bytes 0-99/100", &a, &b, &t) && a == 0 && b == 99 &&
          t == 100);
    CHECK(sp_http_content_range_parse("bytes 100-199/*", &a, &b, &t) && a == 100 && b == 199 &&
          t == -1);
    CHECK(sp_http_content_range_parse("BYTES 5-5/6", &a, &b, &t) && a == 5 && t == 6);
    a = b = t = 7;
    const char *bad[] = {"bytes 0-100/100",
                         "bytes 10-9/100",
                         "bytes -1-9/100",
                         "bytes 0--50/100",
                         "bytes 0-9223372036854775807/9223372036854775808",
                         "bytes 0-99/100 ",
                         "bytes  0-99/100",
                         "bytes */100",
                         "bytes 0-99",
                         "bytes 0-99/",
                         "bytes 0-99/1x0",
                         "items 0-99/100",
                         "bytes +0-99/100",
                         "",
                         "bytes "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bool parsed = sp_http_content_range_parse(bad[i], &a, &b, &t);
        CHECK(!parsed);
        if (parsed) fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
    }
    CHECK(a == 7 && b == 7 && t == 7);
}

static void unsatisfied_range_is_parsed_strictly(void) {
    long long t = 7;
    CHECK(sp_http_unsatisfied_range_parse("bytes */262144", &t) && t == 262144);
    CHECK(sp_http_unsatisfied_range_parse("BYTES */0", &t) && t == 0);
    t = 7;
    const char *bad[] = {"bytes */",
                         "bytes */*",
                         "bytes 0-99/100",
                         "bytes */100 ",
                         "bytes * /100",
                         "bytes */-1",
                         "bytes */1x0",
                         "items */100",
                         "",
                         "bytes */4611686018427387904"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bool parsed = sp_http_unsatisfied_range_parse(bad[i], &t);
        CHECK(!parsed);
        if (parsed) fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
    }
    CHECK(t == 7);
}

static void counts_are_digits_below_two_to_the_62(void) {
    long long v;
    CHECK(sp_http_parse_count("0", 1, &v) && v == 0);
    CHECK(sp_http_parse_count("4611686018427387903", 19, &v) && v == 4611686018427387903LL);
    CHECK(!sp_http_parse_count("4611686018427387904", 19, &v));
    CHECK(!sp_http_parse_count("9223372036854775807", 19, &v));
    CHECK(!sp_http_parse_count("9999999999999999999", 19, &v)); /* found by fuzz_youtube */
    CHECK(!sp_http_parse_count("9223378036854775837", 19, &v));
    CHECK(!sp_http_parse_count("12345678901234567890", 20, &v));
    CHECK(!sp_http_parse_count("", 0, &v));
    CHECK(!sp_http_parse_count("1 ", 2, &v));
    CHECK(!sp_http_parse_count("-1", 2, &v));
}

int main(void) {
    status_lines_start_a_response();
    values_are_trimmed_and_cut_to_their_buffers();
    meta_usage_headers_are_kept_whole_or_not_at_all();
    numbers_are_range_checked();
    content_range_is_parsed_strictly();
    unsatisfied_range_is_parsed_strictly();
    counts_are_digits_below_two_to_the_62();
    return check_done("test_http_headers");
}
