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

/* The documented answer platform/name read as sp_graph_request reads it:
 * the body, then both usage headers. */
static void parse_doc_with_headers(const char *platform, const char *name, sp_graph_resp *r) {
    cJSON *doc = sp_doc_load(platform, name);
    char *body = sp_doc_body_text(doc);
    sp_graph_parse(sp_doc_status(doc), body, -1, r);
    sp_graph_read_usage(r, sp_doc_header(doc, "X-App-Usage"));
    sp_graph_read_usage(r, sp_doc_header(doc, "X-Business-Use-Case-Usage"));
    free(body);
    cJSON_Delete(doc);
}

/* Issue 17: Meta's throttling is a quota to wait out, as long as its
 * X-Business-Use-Case-Usage estimates, else on the worker's backoff (no
 * time of its own: the worker decides, queue/delivery.c). */
static void throttling_is_a_quota_wait_as_long_as_meta_estimates(void) {
    static const struct {
        const char *platform, *name;
        int code;
        double wait;
    } cases[] = {{"facebook", "throttle_page_80001", 80001, 19 * 60},
                 {"instagram", "throttle_80002", 80002, 19 * 60},
                 {"facebook", "throttle_page_32", 32, -1},
                 {"facebook", "throttle_app_4", 4, -1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sp_graph_resp r;
        parse_doc_with_headers(cases[i].platform, cases[i].name, &r);
        CHECK(r.failed && r.code == cases[i].code);
        CHECK(sp_graph_throttled(&r) && sp_graph_classify(&r) == SP_GRAPH_QUOTA);
        CHECK(sp_graph_quota_wait(&r) == cases[i].wait);
        CHECK(r.usage_percent == (cases[i].code == 32 ? -1 : 100));
        sp_step_outcome out;
        sp_graph_quota_outcome(&r, "Facebook", "starting the upload", &out);
        bool estimated = cases[i].wait > 0;
        CHECK(out.kind == SP_STEP_WAIT && out.quota && out.delay == cases[i].wait);
        CHECK(out.quota_backoff == !estimated); /* no estimate: the worker's backoff */
        CHECK(strstr(out.message, "rate limit") && strstr(out.message, "starting the upload"));
        CHECK(strstr(out.message, r.message) != NULL);
        /* a wait of Meta's says how long; a backoff says when is in retryAt */
        CHECK(estimated ? strstr(out.message, "19 minutes, as Meta estimates") != NULL
                        : strstr(out.message, "did not say") && strstr(out.message, "retryAt") &&
                              !strstr(out.message, "minutes"));
        sp_graph_resp_free(&r);
    }
    /* 613, 17 and 341 too; unknown and service errors (1, 2) stay transient */
    const char *quota[] = {"{\"error\":{\"code\":613}}",
                           "{\"error\":{\"code\":17,"
                           "\"error_subcode\":2446079}}",
                           "{\"error\":{\"code\":341,\"is_transient\":true}}"};
    for (size_t i = 0; i < sizeof quota / sizeof quota[0]; i++) {
        sp_graph_resp r;
        sp_graph_parse(400, quota[i], -1, &r);
        CHECK(sp_graph_classify(&r) == SP_GRAPH_QUOTA && sp_graph_quota_wait(&r) < 0);
        sp_step_outcome out;
        sp_graph_quota_outcome(&r, "Facebook", "sending the video", &out);
        CHECK(out.kind == SP_STEP_WAIT && out.quota && out.quota_backoff && out.delay < 0);
        sp_graph_resp_free(&r);
    }
    /* without an estimate, a Retry-After is the backoff's floor */
    sp_graph_resp after;
    sp_graph_parse(400, "{\"error\":{\"code\":17}}", 120, &after);
    sp_step_outcome out;
    sp_graph_quota_outcome(&after, "Facebook", "sending the video", &out);
    CHECK(out.quota && out.quota_backoff && out.delay == 120);
    sp_graph_read_usage(&after, "{\"1\":[{\"estimated_time_to_regain_access\":3}]}");
    sp_graph_quota_outcome(&after, "Facebook", "sending the video", &out);
    CHECK(out.quota && !out.quota_backoff && out.delay == 3 * 60); /* Meta's estimate as is */
    sp_graph_resp_free(&after);
    const char *transient[] = {"{\"error\":{\"code\":1}}", "{\"error\":{\"code\":2}}",
                               "{\"error\":{\"code\":368}}"};
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++) {
        sp_graph_resp r;
        sp_graph_parse(400, transient[i], -1, &r);
        CHECK(sp_graph_classify(&r) == SP_GRAPH_TRANSIENT);
        sp_graph_resp_free(&r);
    }
}

/* The longest estimate of any entry is the wait; a header that cannot be
 * read, or a number that makes no sense, changes nothing. */
static void usage_headers_give_the_longest_estimate_and_nothing_else(void) {
    sp_graph_resp r;
    sp_graph_parse(400, "{\"error\":{\"code\":80001}}", -1, &r);
    sp_graph_read_usage(&r, "{\"1\":[{\"type\":\"pages\",\"call_count\":97,"
                            "\"estimated_time_to_regain_access\":0}],"
                            "\"2\":[{\"type\":\"pages\",\"estimated_time_to_regain_access\":7},"
                            "{\"estimated_time_to_regain_access\":3.5}]}");
    CHECK(r.regain_after == 7 * 60 && r.usage_percent == 97);
    CHECK(sp_graph_quota_wait(&r) == 7 * 60);
    const char *ignored[] = {NULL,
                             "",
                             "not json",
                             "[1,2]",
                             "{\"1\":[{\"estimated_time_to_regain_access\":-5}]}",
                             "{\"1\":[{\"estimated_time_to_regain_access\":\"60\"}]}",
                             "{\"1\":{\"estimated_time_to_regain_access\":60}}",
                             "{\"1\":[7,null,\"x\",[{\"estimated_time_to_regain_access\":60}]]}",
                             "{\"call_count\":-1,\"total_time\":1e300}",
                             "{\"1\":[{\"estimated_time_to_regain_access\":2}]"};
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
        sp_graph_read_usage(&r, ignored[i]);
    CHECK(r.regain_after == 7 * 60 && r.usage_percent == 97);
    sp_graph_read_usage(&r, "{\"1\":[{\"estimated_time_to_regain_access\":1e300}]}");
    CHECK(r.regain_after == 24 * 3600); /* at most Instagram's day */
    sp_graph_resp_free(&r);
    /* an estimate of 0 while refused: no time given, the worker backs off */
    sp_graph_parse(400, "{\"error\":{\"code\":80001}}", -1, &r);
    sp_graph_read_usage(&r, "{\"1\":[{\"estimated_time_to_regain_access\":0}]}");
    CHECK(sp_graph_quota_wait(&r) < 0);
    sp_step_outcome out;
    sp_graph_quota_outcome(&r, "Facebook", "starting the upload", &out);
    CHECK(out.quota && out.quota_backoff);
    sp_graph_resp_free(&r);
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
    throttling_is_a_quota_wait_as_long_as_meta_estimates();
    usage_headers_give_the_longest_estimate_and_nothing_else();
    return check_done("test_graph");
}
