/*
 * json: a UTF-8 and NUL check in front of cJSON, which accepts both silently
 * (cJSON would cut a string at an escaped \u0000 and pass invalid bytes on).
 */
#include "core/json.h"

#include <stdlib.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at p (before end), or 0 when
 * there is none (overlong, surrogate, above U+10FFFF, cut short). */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end) {
    unsigned c = *p;
    size_t n;
    unsigned cp, min;
    if (c < 0x80) return 1;
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
        return 0;
    if ((size_t)(end - p) <= n) return 0;
    for (size_t i = 1; i <= n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n + 1;
}

size_t sp_utf8_next(const char *s, const char *end) {
    return utf8_sequence((const unsigned char *)s, (const unsigned char *)end);
}

bool sp_utf8_valid(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        size_t n = utf8_sequence(p, end);
        if (n == 0) return false;
        p += n;
    }
    return true;
}

size_t sp_utf8_truncate(char *s, size_t max_bytes) {
    unsigned char *p = (unsigned char *)s;
    size_t len = strlen(s), at = 0;
    const unsigned char *end = p + len;
    while (at < len) {
        size_t n = utf8_sequence(p + at, end);
        if (n == 0 && len - at < 4 && (p[at] & 0xC0) == 0xC0) {
            /* a lead byte whose sequence runs off the end: cut there, as
             * a byte cut of longer text leaves it */
            bool cut = true;
            for (size_t i = at + 1; i < len; i++)
                cut = cut && (p[i] & 0xC0) == 0x80;
            if (cut) break;
        }
        if (n == 0) {
            p[at] = '?';
            n = 1;
        }
        if (at + n > max_bytes) break;
        at += n;
    }
    p[at] = '\0';
    return at;
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

/* Orders member names for the duplicate check. */
static int compare_names(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* True when the members of object o repeat a name: sorted, neighbours differ. */
static bool object_repeats_a_name(const cJSON *o) {
    size_t n = 0;
    for (const cJSON *c = o->child; c; c = c->next)
        n++;
    if (n < 2) return false;
    const char *stack[32];
    const char **names = n <= 32 ? stack : malloc(n * sizeof *names);
    if (!names) return true; /* out of memory: refuse rather than guess */
    size_t i = 0;
    for (const cJSON *c = o->child; c; c = c->next)
        names[i++] = c->string ? c->string : "";
    qsort(names, n, sizeof *names, compare_names);
    bool repeated = false;
    for (i = 1; i < n && !repeated; i++)
        repeated = strcmp(names[i - 1], names[i]) == 0;
    if (names != stack) free(names);
    return repeated;
}

bool sp_json_has_duplicate_keys(const cJSON *item) {
    if (!item) return false;
    if (cJSON_IsObject(item) && object_repeats_a_name(item)) return true;
    if (cJSON_IsObject(item) || cJSON_IsArray(item))
        for (const cJSON *c = item->child; c; c = c->next)
            if (sp_json_has_duplicate_keys(c)) return true;
    return false;
}

int sp_json_parse_unique(const char *body, size_t len, cJSON **out, sp_err *err) {
    if (sp_json_parse_strict(body, len, out, err) < 0) return -1;
    if (!sp_json_has_duplicate_keys(*out)) return 0;
    cJSON_Delete(*out);
    *out = NULL;
    return sp_err_set(err, SP_ERR_BAD_REQUEST, "duplicate_key",
                      "an object has two members with the same name");
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

/* Returns text (taken) with every byte that is not part of well-formed
 * UTF-8 written as \ufffd: cJSON copies string bytes as they are, and such
 * bytes can only sit inside a string there, where the escape is valid. */
static char *replace_invalid_utf8(char *text) {
    size_t len = strlen(text), bad = 0;
    const char *end = text + len;
    for (const char *p = text; p < end; p += sp_utf8_next(p, end) ? sp_utf8_next(p, end) : 1)
        bad += sp_utf8_next(p, end) == 0;
    if (!bad) return text;
    char *out = malloc(len + 5 * bad + 1);
    if (out) {
        char *o = out;
        for (const char *p = text; p < end;) {
            size_t n = sp_utf8_next(p, end);
            if (n) {
                memcpy(o, p, n);
                o += n;
                p += n;
            } else {
                memcpy(o, "\\ufffd", 6);
                o += 6;
                p++;
            }
        }
        *o = '\0';
    }
    free(text);
    return out;
}

char *sp_json_print(const cJSON *item) {
    char *text = cJSON_PrintUnformatted(item);
    return text ? replace_invalid_utf8(text) : NULL;
}
