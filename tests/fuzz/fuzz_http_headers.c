/*
 * fuzz_http_headers: response header lines as libcurl hands them over (each
 * in a buffer of exactly its length, no NUL after it), split at newlines,
 * and the Content-Range of what was read (as a 206's and as a 416's) (Meta's usage headers are kept
 * as text here; fuzz_graph_usage reads them).
 */
#include "core/http_headers.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sp_http_headers h;
    sp_http_headers_reset(&h);
    while (size > 0) {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t len = nl ? (size_t)(nl - data) + 1 : size;
        char *line = malloc(len);
        if (!line) return 0;
        memcpy(line, data, len);
        sp_http_headers_line(&h, line, len);
        free(line);
        data += len;
        size -= len;
    }
    long long a, b, t;
    sp_http_content_range_parse(h.content_range, &a, &b, &t);
    sp_http_content_range_parse(h.range, &a, &b, &t);
    sp_http_unsatisfied_range_parse(h.content_range, &t);
    return 0;
}
