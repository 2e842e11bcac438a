/*
 * platform_docs: the platforms' documented examples (tests/platform_docs/) for
 * unit tests, so an adapter's parser is tested on the very answers the
 * documentation shows, the same files the fakes answer from.
 *
 * Header-only, for tests: SP_PLATFORM_DOCS_DIR is set by tests/CMakeLists.txt.
 */
#ifndef SP_TEST_PLATFORM_DOCS_H
#define SP_TEST_PLATFORM_DOCS_H

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SP_PLATFORM_DOCS_DIR
#error "SP_PLATFORM_DOCS_DIR must name tests/platform_docs"
#endif

/* The example file <platform>/<name>.json; exits the test when it is missing
 * or not JSON. Caller frees with cJSON_Delete. */
static inline cJSON *sp_doc_load(const char *platform, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s.json", SP_PLATFORM_DOCS_DIR, platform, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "missing documented example %s\n", path);
        exit(1);
    }
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    cJSON *doc = cJSON_Parse(text);
    if (!doc) {
        fprintf(stderr, "documented example %s is not JSON\n", path);
        exit(1);
    }
    return doc;
}

/* The documented answer's HTTP status. */
static inline long sp_doc_status(const cJSON *doc) {
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(doc, "response");
    return (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(resp, "status"));
}

/* The documented answer's body as the platform sends it (JSON text, or the
 * string itself). Caller frees. */
static inline char *sp_doc_body_text(const cJSON *doc) {
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(doc, "response");
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(resp, "body");
    if (cJSON_IsString(body)) {
        char *copy = malloc(strlen(body->valuestring) + 1);
        if (copy) strcpy(copy, body->valuestring);
        return copy;
    }
    return body ? cJSON_PrintUnformatted(body) : NULL;
}

/* A documented answer's header (borrowed), or NULL. */
static inline const char *sp_doc_header(const cJSON *doc, const char *name) {
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(doc, "response");
    const cJSON *headers = cJSON_GetObjectItemCaseSensitive(resp, "headers");
    return cJSON_GetStringValue(cJSON_GetObjectItem(headers, name)); /* case-insensitive */
}

#endif
