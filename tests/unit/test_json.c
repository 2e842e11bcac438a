/* Unit tests of json.c: the strict body parser and the UTF-8 helpers. */
#include <stdio.h>
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

/* Truncates a copy of text to max bytes; the result, in a static buffer. */
static const char *cut(const char *text, size_t max) {
    static char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    sp_utf8_truncate(buf, max);
    return buf;
}

static void truncation_ends_on_a_character_boundary(void) {
    CHECK_STR(cut("abcdef", 3), "abc");
    CHECK_STR(cut("abc", 10), "abc");
    CHECK_STR(cut("", 0), "");
    /* "é" is two bytes: a cut between them drops the whole character */
    CHECK_STR(cut("caf\xc3\xa9", 4), "caf");
    CHECK_STR(cut("caf\xc3\xa9", 5), "caf\xc3\xa9");
    /* a four-byte emoji cut after 1, 2 or 3 of its bytes */
    for (size_t max = 2; max <= 4; max++)
        CHECK_STR(cut("a\xf0\x9f\x98\x80", max), "a");
    CHECK_STR(cut("a\xf0\x9f\x98\x80", 5), "a\xf0\x9f\x98\x80");
    /* Cyrillic as Meta translates its messages: never half a letter */
    const char *ru = "\xd0\x9e\xd1\x88\xd0\xb8\xd0\xb1\xd0\xba\xd0\xb0"; /* Oshibka */
    for (size_t max = 0; max <= 12; max++) {
        const char *c = cut(ru, max);
        CHECK(strlen(c) == max - max % 2 && sp_utf8_valid(c, strlen(c)));
    }
}

static void truncation_repairs_what_is_not_utf8(void) {
    CHECK_STR(cut("a\xff"
                  "b",
                  10),
              "a?b");
    CHECK_STR(cut("\xc0\xafx", 10), "??x"); /* overlong */
    CHECK_STR(cut("\xed\xa0\x80!", 10), "?"
                                        "?"
                                        "?!"); /* surrogate */
    CHECK_STR(cut("x\xc3(", 10), "x?(");       /* lead byte without its tail */
    CHECK_STR(cut("ok\xe2\x82", 10), "ok");    /* text that arrived cut */
    char long_text[200];
    memset(long_text, '\xe9', sizeof long_text - 1); /* Latin-1, not UTF-8 */
    long_text[sizeof long_text - 1] = '\0';
    size_t n = sp_utf8_truncate(long_text, 50);
    CHECK(n == 50 && sp_utf8_valid(long_text, n));
}

static int parses_unique(const char *text) {
    cJSON *root = NULL;
    sp_err err;
    int rc = sp_json_parse_unique(text, strlen(text), &root, &err);
    cJSON_Delete(root);
    return rc == 0;
}

static void duplicate_member_names_are_refused_at_any_depth(void) {
    CHECK(parses_unique("{\"sub\":\"a\",\"aud\":\"b\"}"));
    CHECK(parses_unique("[{\"a\":1},{\"a\":2}]")); /* same name, different objects */
    CHECK(parses_unique("{\"a\":{\"a\":{\"a\":1}}}"));
    CHECK(!parses_unique("{\"sub\":\"a\",\"sub\":\"b\"}"));
    CHECK(!parses_unique("{\"x\":1,\"y\":2,\"x\":3}"));
    CHECK(!parses_unique("{\"app_metadata\":{\"role\":1,\"role\":2}}"));
    CHECK(!parses_unique("{\"a\":[{\"k\":1,\"k\":1}]}"));
    CHECK(!parses_unique("{\"\\u0073ub\":\"a\",\"sub\":\"b\"}")); /* same name, escaped */
    /* many members (sorted, not compared pairwise) */
    char big[8192];
    size_t off = (size_t)snprintf(big, sizeof big, "{");
    for (int i = 0; i < 500; i++)
        off += (size_t)snprintf(big + off, sizeof big - off, "%s\"k%d\":%d", i ? "," : "", i, i);
    snprintf(big + off, sizeof big - off, "}");
    CHECK(parses_unique(big));
    snprintf(big + off - 1, sizeof big - off + 1, ",\"k7\":1}");
    CHECK(!parses_unique(big));
}

int main(void) {
    truncation_ends_on_a_character_boundary();
    truncation_repairs_what_is_not_utf8();
    duplicate_member_names_are_refused_at_any_depth();
    valid_json_objects_parse();
    malformed_bodies_are_rejected();
    utf8_helpers_count_code_points();
    opt_string_rejects_other_types();
    return check_done("test_json");
}
