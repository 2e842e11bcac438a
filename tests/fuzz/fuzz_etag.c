/*
 * fuzz_etag: If-None-Match lists. The input is the field value, a newline,
 * and the ETag to look for (or the field value alone, against a fixed tag).
 */
#include "api/etag.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_text(data, size);
    if (!text) return 0;
    char *nl = strchr(text, '\n');
    const char *etag = nl ? nl + 1 : "\"abc\"";
    if (nl) *nl = '\0';
    sp_etag_none_match_names(text, etag);
    sp_etag_none_match_names(etag, text);
    free(text);
    return 0;
}
