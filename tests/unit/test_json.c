/* Unit tests of json.c: the strict body parser and the UTF-8 helpers. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/json.h"

static int parses(const char *text, size_t len) {
    cJSON *root = NULL;
    sp_err err;
    int rc = sp_json_parse_strict(text, len, &root, &err);
    cJSON_Delete(root);
    return rc == 0;
}

#define PARSES(lit) parses(lit, sizeof(lit) - 1)

static void valid_json_objects_parse(void) {
    CHECK(PARSES("{\"a\":1}"));
    CHECK(PARSES("  {\"a\":\"caf\xc3\xa9\"}\n"));
    CHECK(PARSES("{\"a\":\"\\u00e9 \\ud83d\\ude00\"}"));
    CHECK(PARSES("{\"a\":\"\\\\u0000 is text\"}")); /* escaped backslash, then text */
}

static void malformed_bodies_are_rejected(void) {
    CHECK(!PARSES(""));
    CHECK(!PARSES("{"));
    CHECK(!PARSES("{\"a\":1} trailing"));
    CHECK(!PARSES("{\"a\":1}{}"));
    CHECK(!PARSES("{\"a\":\"\\u0000\"}"));
    CHECK(!PARSES("{\"a\":\"x\\\\\\u0000\"}"));
    CHECK(!PARSES("{\"a\":\"\0\"}"));
    CHECK(!PARSES("{\"a\":\"\xff\"}"));
    CHECK(!PARSES("{\"a\":\"\xc0\xaf\"}"));     /* overlong '/' */
    CHECK(!PARSES("{\"a\":\"\xed\xa0\x80\"}")); /* UTF-8 encoded surrogate */
    CHECK(!PARSES("{\"a\":\"\\ud800\"}"));      /* lone surrogate escape */
}

static void utf8_helpers_count_code_points(void) {
    CHECK(sp_utf8_valid("abc", 3));
    CHECK(sp_utf8_valid("\xf0\x9f\x98\x80", 4));
    CHECK(!sp_utf8_valid("\xf0\x9f\x98", 3));
    CHECK(!sp_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
    CHECK(sp_utf8_chars("caf\xc3\xa9") == 4);
    CHECK(sp_utf8_chars("\xf0\x9f\x98\x80!") == 2);
}

static void opt_string_rejects_other_types(void) {
    cJSON *root = cJSON_Parse("{\"s\":\"x\",\"n\":1,\"z\":null}");
    const char *v;
    sp_err err;
    CHECK(sp_json_opt_string(root, "s", &v, &err) == 0 && v && !strcmp(v, "x"));
    CHECK(sp_json_opt_string(root, "z", &v, &err) == 0 && v == NULL);
    CHECK(sp_json_opt_string(root, "missing", &v, &err) == 0 && v == NULL);
    CHECK(sp_json_opt_string(root, "n", &v, &err) < 0 && err.kind == SP_ERR_BAD_REQUEST);
    cJSON_Delete(root);
}

int main(void) {
    valid_json_objects_parse();
    malformed_bodies_are_rejected();
    utf8_helpers_count_code_points();
    opt_string_rejects_other_types();
    return check_done("test_json");
}
