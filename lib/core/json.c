/*
 * json: a UTF-8 and NUL check in front of cJSON, which accepts both silently
 * (cJSON would cut a string at an escaped \u0000 and pass invalid bytes on).
 */
#include "core/json.h"

#include <string.h>

bool sp_utf8_valid(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned c = *p;
        size_t n;
        unsigned cp, min;
        if (c < 0x80) {
            p++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
            min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
            min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
            min = 0x10000;
        } else
            return false;
        if ((size_t)(end - p) <= n) return false;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        p += n + 1;
    }
    return true;
}

size_t sp_utf8_chars(const char *s) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80) n++;
    return n;
}

/* True when body contains the escape \u0000, which cJSON would turn into a
 * string cut short. Walking escape by escape keeps "\\u0000" (an escaped
 * backslash, then text) from matching. */
static bool has_escaped_nul(const char *body, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (body[i] != '\\') continue;
        if (i + 5 < len && body[i + 1] == 'u' && memcmp(body + i + 2, "0000", 4) == 0) return true;
        i++; /* skip the escaped character */
    }
    return false;
}

int sp_json_parse_strict(const char *body, size_t len, cJSON **out, sp_err *err) {
    *out = NULL;
    if (len == 0)
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_json", "the request body is empty");
    if (memchr(body, '\0', len))
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_json",
                          "the request body contains a NUL byte");
    if (!sp_utf8_valid(body, len))
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_utf8",
                          "the request body is not valid UTF-8");
    if (has_escaped_nul(body, len))
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_json",
                          "strings may not contain \\u0000");
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
    if (!root)
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_json",
                          "the request body is not valid JSON");
    while (end && end < body + len && strchr(" \t\r\n", *end))
        end++;
    if (end != body + len) {
        cJSON_Delete(root);
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_json",
                          "unexpected data after the JSON value");
    }
    *out = root;
    return 0;
}

int sp_json_opt_string(const cJSON *obj, const char *name, const char **value, sp_err *err) {
    *value = NULL;
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!item || cJSON_IsNull(item)) return 0;
    if (!cJSON_IsString(item) || !item->valuestring)
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_field", "%s must be a string", name);
    *value = item->valuestring;
    return 0;
}

char *sp_json_print(const cJSON *item) {
    return cJSON_PrintUnformatted(item);
}
