/* Unit tests of options.c: each case of tests/options/cases.json, the file
 * the API's and the database's end-to-end tests read too, goes through the
 * submit body's parser and text check as the API runs them. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "api/job_request.h"
#include "check.h"
#include "core/json.h"
#include "platforms/options.h"

#define CASES SP_PLATFORM_DOCS_DIR "/../options/cases.json"
#define VID "3f2504e0-4f89-11d3-9a0c-0305e82c3301"

/* The cases file; exits when it cannot be read. Caller frees. */
static cJSON *load_cases(void) {
    FILE *f = fopen(CASES, "rb");
    static char text[1 << 20];
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    text[n] = '\0';
    cJSON *cases = cJSON_Parse(text);
    if (!cases) {
        fprintf(stderr, "cannot read %s\n", CASES);
        exit(1);
    }
    return cases;
}

/* Runs one case as a submit body: 0 accepted, else -1 with err set. */
static int run_case(const cJSON *c, sp_err *err) {
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "videoId", VID);
    cJSON_AddItemToObject(body, "platforms",
                          cJSON_Duplicate(cJSON_GetObjectItem(c, "platforms"), 1));
    cJSON_AddItemToObject(body, "options", cJSON_Duplicate(cJSON_GetObjectItem(c, "options"), 1));
    const cJSON *title = cJSON_GetObjectItem(c, "title");
    char *text = sp_json_print(body);
    cJSON_Delete(body);
    sp_job_request req;
    int rc = sp_job_request_parse(text, strlen(text), &req, err);
    if (rc == 0) {
        rc = sp_job_request_check_text(&req, cJSON_IsString(title) ? title->valuestring : "A title",
                                       err);
        sp_job_request_free(&req);
    }
    free(text);
    return rc;
}

static void the_shared_cases_are_judged_as_written(void) {
    cJSON *cases = load_cases();
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(cases, "accepted")) {
        sp_err err;
        sp_err_clear(&err);
        if (run_case(c, &err) < 0)
            fprintf(stderr, "refused: %s: %s\n", cJSON_GetObjectItem(c, "what")->valuestring,
                    err.msg);
        CHECK(err.kind == SP_OK);
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(cases, "refused")) {
        sp_err err;
        sp_err_clear(&err);
        const char *what = cJSON_GetObjectItem(c, "what")->valuestring;
        const char *field = cJSON_GetObjectItem(c, "field")->valuestring;
        CHECK(run_case(c, &err) < 0);
        CHECK(err.kind == SP_ERR_BAD_REQUEST);
        CHECK_STR(err.code, cJSON_GetObjectItem(c, "code")->valuestring);
        const char *at = strstr(err.msg, field);
        bool named = at && (at[strlen(field)] == ' ' || at[strlen(field)] == '\0');
        if (!named) fprintf(stderr, "%s: message \"%s\" does not name %s\n", what, err.msg, field);
        CHECK(named);
    }
    cJSON_Delete(cases);
}

static void messages_start_with_the_fields_path(void) {
    cJSON *options = cJSON_Parse("{\"instagram\":{\"collaborators\":[\"a\",\"b\",\"c\",\"d\"]}}");
    sp_platform chosen[] = {SP_INSTAGRAM};
    sp_err err;
    CHECK(sp_options_check(options, chosen, 1, &err) < 0);
    CHECK_STR(err.msg, "options.instagram.collaborators has at most 3 usernames");
    cJSON_Delete(options);
    CHECK(sp_options_check(NULL, (sp_platform[]){SP_TIKTOK}, 1, &err) < 0);
    CHECK(strncmp(err.msg, "options.tiktok.privacyLevel is required", 39) == 0);
    CHECK(sp_options_check(NULL, chosen, 1, &err) == 0);
}

static void strings_are_read_only_when_they_are_strings(void) {
    cJSON *options = cJSON_Parse("{\"youtube\":{\"title\":\"Own\",\"description\":7}}");
    CHECK_STR(sp_options_string(options, SP_YOUTUBE, "title"), "Own");
    CHECK(sp_options_string(options, SP_YOUTUBE, "description") == NULL);
    CHECK(sp_options_string(options, SP_FACEBOOK, "title") == NULL);
    CHECK(sp_options_string(NULL, SP_YOUTUBE, "title") == NULL);
    cJSON_Delete(options);
}

int main(void) {
    the_shared_cases_are_judged_as_written();
    messages_start_with_the_fields_path();
    strings_are_read_only_when_they_are_strings();
    return check_done("test_options");
}
