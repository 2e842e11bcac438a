/* fuzz_iso8601: the ISO 8601 reader behind scheduledAt and list cursors. */
#include "core/iso8601.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_text(data, size);
    if (!text) return 0;
    double t;
    sp_iso8601_parse(text, &t);
    free(text);
    return 0;
}
