/*
 * fuzz_json: the strict JSON reader (UTF-8, NULs, duplicate member names)
 * and cutting text on character boundaries, which must always leave valid
 * UTF-8 no longer than asked.
 */
#include "core/json.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    unsigned max = fuzz_byte(&data, &size);
    cJSON *root = NULL;
    sp_err err;
    if (sp_json_parse_unique((const char *)data, size, &root, &err) == 0) {
        char *printed = sp_json_print(root);
        free(printed);
        cJSON_Delete(root);
    }
    char *text = fuzz_text(data, size);
    if (!text) return 0;
    size_t n = sp_utf8_truncate(text, max);
    if (n > max || n != strlen(text) || !sp_utf8_valid(text, n)) abort();
    free(text);
    return 0;
}
