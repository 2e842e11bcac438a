/* Unit tests of graph.c: reading Graph answers, their errors and offsets. */
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "check.h"
#include "platform_docs.h"
#include "core/json.h"
#include "platforms/graph.h"

static void offsets_are_whole_numbers_inside_the_file(void) {
    long long a = -7, b = -7;
    cJSON *o = cJSON_Parse("{\"start_offset\":\"0\",\"end_offset\":\"1048576\"}");
    CHECK(sp_graph_parse_offsets(o, 3145728, &a, &b) && a == 0 && b == 1048576);
    CHECK(sp_graph_parse_offsets(o, 1000, &a, &b) && a == 0 && b == 1000); /* the rest */
    cJSON_Delete(o);
    /* once a double cast back to long long: undefined */
    o = cJSON_Parse("{\"start_offset\":\"0\",\"end_offset\":\"9223372036854775807\"}");
    CHECK(sp_graph_parse_offsets(o, 3145728, &a, &b) && a == 0 && b == 3145728);
    cJSON_Delete(o);
    o = cJSON_Parse("{\"start_offset\":\"99999999999999999999999\",\"end_offset\":\"1e3\"}");
    CHECK(!sp_graph_parse_offsets(o, 3145728, &a, &b));
    cJSON_Delete(o);
    o = cJSON_Parse("{\"start_offset\":\"2000\",\"end_offset\":\"3000\"}");
    CHECK(!sp_graph_parse_offsets(o, 1000, &a, &b)); /* starts past the file */
    cJSON_Delete(o);
    o = cJSON_Parse("{\"start_offset\":\"3145728\",\"end_offset\":\"3145728\"}");
    CHECK(sp_graph_parse_offsets(o, 3145728, &a, &b) && a == 3145728 && b == 3145728);
    cJSON_Delete(o);
    const char *bad[] = {"{\"start_offset\":\"-1\",\"end_offset\":\"10\"}",
                         "{\"start_offset\":\"20\",\"end_offset\":\"10\"}",
                         "{\"start_offset\":\"0\",\"end_offset\":\"1e3\"}",
                         "{\"start_offset\":\"0\",\"end_offset\":\" 10\"}",
                         "{\"start_offset\":-1,\"end_offset\":10}",
                         "{\"start_offset\":0.5,\"end_offset\":10}",
                         "{\"start_offset\":true,\"end_offset\":10}",
                         "{\"start_offset\":\"0\"}",
                         "{}"};
    a = b = -7;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = cJSON_Parse(bad[i]);
        CHECK(!sp_graph_parse_offsets(o, 1LL << 40, &a, &b));
        cJSON_Delete(o);
    }
    CHECK(!sp_graph_parse_offsets(NULL, 100, &a, &b));
    CHECK(a == -7 && b == -7);
}

/* A transfer at the wrong offset carries the wanted range as JSON numbers
 * in error_data (Video API error codes, 1363037); strings still read. */
static void offsets_as_numbers_are_read_too(void) {
    long long a = -7, b = -7;
    cJSON *o = cJSON_Parse("{\"start_offset\":8388608,\"end_offset\":12582912}");
    CHECK(sp_graph_parse_offsets(o, 20000000, &a, &b) && a == 8388608 && b == 12582912);
    CHECK(sp_graph_parse_offsets(o, 10000000, &a, &b) && a == 8388608 && b == 10000000);
    cJSON_Delete(o);
    o = cJSON_Parse("{\"start_offset\":1e300,\"end_offset\":1e300}");
    CHECK(!sp_graph_parse_offsets(o, 1000, &a, &b)); /* beyond any file */
    cJSON_Delete(o);
    o = cJSON_Parse("{\"start_offset\":\"0\",\"end_offset\":1e300}");
    CHECK(sp_graph_parse_offsets(o, 1000, &a, &b) && a == 0 && b == 1000);
    cJSON_Delete(o);
}

/* rupload answers a refusal with debug_info, not Graph's error object. */
static void rupload_refusals_are_read(void) {
    cJSON *doc = sp_doc_load("facebook", "reels_upload_refused");
    char *body = sp_doc_body_text(doc);
    sp_graph_resp r;
    sp_graph_parse(sp_doc_status(doc), body, -1, &r);
    CHECK(r.failed && !r.is_transient && sp_graph_classify(&r) == SP_GRAPH_PERMANENT);
    CHECK(strstr(r.message, "Header Offset not convertable") != NULL);
    sp_graph_resp_free(&r);
    sp_graph_parse(503, "{\"debug_info\":{\"retriable\":true,\"message\":\"busy\"}}", -1, &r);
    CHECK(r.failed && r.is_transient && sp_graph_classify(&r) == SP_GRAPH_TRANSIENT);
    CHECK_STR(r.message, "busy (HTTP 503)");
    sp_graph_resp_free(&r);
    free(body);
    cJSON_Delete(doc);
}

/* Graph's answer to a version it does not serve is a permanent error that
 * names the path. */
static void an_unknown_version_is_permanent(void) {
    cJSON *doc = sp_doc_load("facebook", "unknown_version");
    char *body = sp_doc_body_text(doc);
    sp_graph_resp r;
    sp_graph_parse(sp_doc_status(doc), body, -1, &r);
    CHECK(r.failed && r.code == 2500 && sp_graph_classify(&r) == SP_GRAPH_PERMANENT);
    CHECK(strstr(r.message, "Unknown path components") != NULL);
    sp_graph_resp_free(&r);
    free(body);
    cJSON_Delete(doc);
}

static void errors_are_read_and_classified(void) {
    sp_graph_resp r;
    sp_graph_parse(400,
                   "{\"error\":{\"message\":\"Invalid parameter\",\"code\":100,"
                   "\"error_subcode\":33,\"is_transient\":false}}",
                   -1, &r);
    CHECK(r.failed && r.code == 100 && r.subcode == 33);
    CHECK_STR(r.message, "Invalid parameter (code 100, subcode 33)");
    CHECK(sp_graph_classify(&r) == SP_GRAPH_PERMANENT);
    sp_graph_resp_free(&r);
    sp_graph_parse(200, "{\"error\":{\"code\":190}}", -1, &r); /* an error in a 200 */
    CHECK(r.failed && sp_graph_classify(&r) == SP_GRAPH_AUTH);
    sp_graph_resp_free(&r);
    sp_graph_parse(400, "{\"error\":{\"code\":1e300,\"error_subcode\":-1e300}}", -1, &r);
    CHECK(r.failed && sp_graph_classify(&r) == SP_GRAPH_PERMANENT);
    sp_graph_resp_free(&r);
    sp_graph_parse(502, "<html>bad gateway</html>", 30, &r);
    CHECK(r.failed && r.retry_after == 30 && sp_graph_classify(&r) == SP_GRAPH_TRANSIENT);
    CHECK_STR(r.message, "HTTP 502");
    sp_graph_resp_free(&r);
    sp_graph_parse(200, "{\"id\":\"17890\"}", -1, &r);
    CHECK(!r.failed);
    CHECK_STR(sp_graph_string(&r, "id"), "17890");
    sp_graph_resp_free(&r);
}

/* Meta translates its messages; a cut at a fixed byte count may land inside
 * a character whatever text comes before it. */
static void translated_messages_are_cut_on_a_character_boundary(void) {
    for (int lead = 0; lead < 3; lead++) {
        char body[4096];
        size_t n = (size_t)snprintf(body, sizeof body,
                                    "{\"error\":{\"code\":100,\"message\":\"%.*s", lead, "xx");
        for (int i = 0; i < 300; i++, n += 3)
            memcpy(body + n, "\xe5\x8b\x95", 3); /* a Japanese character */
        snprintf(body + n, sizeof body - n, "\"}}");
        sp_graph_resp r;
        sp_graph_parse(400, body, -1, &r);
        CHECK(sp_utf8_valid(r.message, strlen(r.message)));
        CHECK(strstr(r.message, "(code 100)") != NULL);
        sp_graph_resp_free(&r);
    }
}

static void a_call_without_an_object_fails_without_a_request(void) {
    sp_graph_call call = {.method = "GET", .base = "http://127.0.0.1:1", .path = NULL};
    sp_graph_resp r;
    sp_graph_request(&call, &r);
    CHECK(r.failed && r.status == 0);
    sp_graph_resp_free(&r);
    call.path = "";
    sp_graph_request(&call, &r);
    CHECK(r.failed && r.status == 0);
    sp_graph_resp_free(&r);
}

int main(void) {
    offsets_are_whole_numbers_inside_the_file();
    errors_are_read_and_classified();
    offsets_as_numbers_are_read_too();
    rupload_refusals_are_read();
    an_unknown_version_is_permanent();
    translated_messages_are_cut_on_a_character_boundary();
    a_call_without_an_object_fails_without_a_request();
    return check_done("test_graph");
}
