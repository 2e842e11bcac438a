/* Unit tests of log.c: the lines sp_log_fields and sp_log write are one JSON
 * object each, with the same escaping cJSON uses. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/json.h"
#include "core/log.h"

/* Runs what on a temporary stderr; returns what it wrote (caller frees). */
static char *capture(void (*what)(void)) {
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    FILE *tmp = tmpfile();
    if (saved < 0 || !tmp) return NULL;
    dup2(fileno(tmp), STDERR_FILENO);
    what();
    dup2(saved, STDERR_FILENO);
    close(saved);
    off_t n = lseek(fileno(tmp), 0, SEEK_END);
    char *out = n >= 0 ? calloc(1, (size_t)n + 1) : NULL;
    if (out && (lseek(fileno(tmp), 0, SEEK_SET) < 0 || read(fileno(tmp), out, (size_t)n) != n)) {
        free(out);
        out = NULL;
    }
    fclose(tmp);
    return out;
}

static const char tricky[] = "a\"b\\c\nd\re\tf\bg\fh\x01i\x1fj/k\xc3\xa9l";

static void write_fields(void) {
    sp_log_field f[] = {
        {.key = "uri", .str = tricky}, {.key = "status", .num = 200}, {.key = "ms", .num = 2.95},
        {.key = "neg", .num = -1.5},   {.key = "zero", .num = 0},     {.key = "big", .num = 1e300},
        {.key = "k\"ey", .str = ""},
    };
    sp_log_fields(SP_LOG_INFO, "request", f, (int)(sizeof f / sizeof f[0]));
}

static void write_long(void) {
    size_t n = 10000;
    char *s = malloc(n + 1);
    if (!s) return;
    memset(s, '\n', n);
    s[n] = '\0';
    sp_log_fields(SP_LOG_WARN, s, NULL, 0);
    free(s);
}

/* request bytes that are not UTF-8: a lone 0xff, a cut sequence, an overlong
 * '/', a surrogate; and a valid 4-byte character between them */
static const char not_utf8[] = "a\xff b\xc3 c\xc0\xaf d\xed\xa0\x80 e\xf0\x9f\x98\x80";

static void write_not_utf8_fields(void) {
    sp_log_field f[] = {{.key = "uri", .str = not_utf8}};
    sp_log_fields(SP_LOG_INFO, "request", f, 1);
}

static void write_not_utf8_event(void) {
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "detail", not_utf8);
    sp_log_event(SP_LOG_WARN, not_utf8, f);
}

/* True when the line is valid UTF-8 JSON whose key holds what is expected:
 * each invalid byte of not_utf8 replaced by U+FFFD. */
static bool replaced(const char *out, const char *key) {
    const char *want = "a\xef\xbf\xbd b\xef\xbf\xbd c\xef\xbf\xbd\xef\xbf\xbd "
                       "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd e\xf0\x9f\x98\x80";
    if (!out || !sp_utf8_valid(out, strlen(out))) return false;
    cJSON *line = cJSON_Parse(out);
    const char *got = cJSON_GetStringValue(cJSON_GetObjectItem(line, key));
    bool ok = got && strcmp(got, want) == 0;
    cJSON_Delete(line);
    return ok;
}

static void write_below_level(void) {
    sp_log_fields(SP_LOG_DEBUG, "not written", NULL, 0);
}

static void write_printf(void) {
    sp_log(SP_LOG_ERROR, "n=%d %s", 3, "x\"y");
}

int main(void) {
    sp_log_init("test-log", SP_LOG_INFO);

    char *out = capture(write_fields);
    CHECK(out && strchr(out, '\n') == out + strlen(out) - 1); /* one line */
    cJSON *line = out ? cJSON_Parse(out) : NULL;
    CHECK(line != NULL);
    if (line) {
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(line, "uri")), tricky);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(line, "msg")), "request");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(line, "level")), "info");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(line, "program")), "test-log");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(line, "k\"ey")), "");
        CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(line, "status")) == 200);
        CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(line, "ms")) == 2.95);
        CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(line, "neg")) == -1.5);
        CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(line, "zero")) == 0);
        CHECK(cJSON_IsNull(cJSON_GetObjectItem(line, "big")));
        const char *ts = cJSON_GetStringValue(cJSON_GetObjectItem(line, "ts"));
        CHECK(ts && strlen(ts) == 24 && ts[10] == 'T' && ts[19] == '.' && ts[23] == 'Z');
        /* the same escaping as cJSON's */
        cJSON *s = cJSON_CreateString(tricky);
        char *printed = cJSON_PrintUnformatted(s);
        CHECK(printed && strstr(out, printed));
        free(printed);
        cJSON_Delete(s);
    }
    cJSON_Delete(line);
    free(out);

    out = capture(write_long);
    line = out ? cJSON_Parse(out) : NULL;
    CHECK(line && strlen(cJSON_GetStringValue(cJSON_GetObjectItem(line, "msg"))) == 10000);
    CHECK(out && strchr(out, '\n') == out + strlen(out) - 1);
    cJSON_Delete(line);
    free(out);

    out = capture(write_not_utf8_fields);
    CHECK(replaced(out, "uri"));
    free(out);
    out = capture(write_not_utf8_event);
    CHECK(replaced(out, "detail") && replaced(out, "msg"));
    free(out);

    out = capture(write_below_level);
    CHECK_STR(out, "");
    free(out);

    out = capture(write_printf);
    line = out ? cJSON_Parse(out) : NULL;
    CHECK(line && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(line, "msg")), "n=3 x\"y"));
    CHECK(line && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(line, "level")), "error"));
    cJSON_Delete(line);
    free(out);
    return check_done("test_log");
}
