/*
 * json: strict parsing of request bodies, and the small helpers around cJSON
 * that every module would otherwise repeat.
 *
 * The one idea: decide once, at the edge, that a body is valid UTF-8 JSON
 * with no NUL anywhere (raw or as \u0000), so every string the rest of the code
 * sees is a proper C string that Postgres will store unchanged.
 */
#ifndef SP_JSON_H
#define SP_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

/* Parses exactly len bytes of body as one JSON value. Rejects invalid UTF-8,
 * NUL bytes, \u0000 escapes and trailing garbage with SP_ERR_BAD_REQUEST.
 * Caller frees *out with cJSON_Delete. */
int sp_json_parse_strict(const char *body, size_t len, cJSON **out, sp_err *err);

/* Length of the well-formed UTF-8 sequence at s (before end), or 0 when
 * there is none there. */
size_t sp_utf8_next(const char *s, const char *end);

/* True when the len bytes of s are well-formed UTF-8 (no overlongs, no
 * surrogates, nothing above U+10FFFF). */
bool sp_utf8_valid(const char *s, size_t len);

/* Cuts the NUL-terminated s to at most max_bytes bytes, on a character
 * boundary, and replaces every byte that is not part of well-formed UTF-8
 * with '?'. What it leaves is valid UTF-8 that Postgres stores (text from a
 * platform may be cut anywhere, or not be UTF-8 at all). Returns the new
 * length. */
size_t sp_utf8_truncate(char *s, size_t max_bytes);

/* Number of code points in a valid UTF-8 string (what "characters" means to
 * the platforms' length limits). */
size_t sp_utf8_chars(const char *s);

/* sp_json_parse_strict, and also refuses (SP_ERR_BAD_REQUEST
 * "duplicate_key") any object, at any depth, with two members of one name:
 * readers disagree on which one counts (cJSON takes the first, Postgres's
 * jsonb the last), so a signed token with two "sub" would name two users. */
int sp_json_parse_unique(const char *body, size_t len, cJSON **out, sp_err *err);

/* True when item or anything inside it is an object with a repeated member
 * name. */
bool sp_json_has_duplicate_keys(const cJSON *item);

/* The string member name of obj; NULL when absent or null. Fails with
 * SP_ERR_BAD_REQUEST when present with another type. *value is borrowed. */
int sp_json_opt_string(const cJSON *obj, const char *name, const char **value, sp_err *err);

/* Prints item unformatted, always as valid UTF-8 (a string's bytes that are
 * not become \ufffd, the replacement character); caller frees. NULL on out
 * of memory. */
char *sp_json_print(const cJSON *item);

#endif
