/* Unit tests of the TikTok adapter's parts: the phase machine, the chunk
 * arithmetic of TikTok's media transfer guide, and the readers of TikTok's
 * answers, fed the documented answers (tests/platform_docs/tiktok/). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "platform_docs.h"
#include "platforms/catalog.h"
#include "platforms/tiktok.h"
#include "platforms/tiktok_api.h"

static sp_tt_phase after(sp_tt_phase p, sp_tt_event e) {
    return sp_tiktok_phase_after(p, e);
}

static void a_post_goes_init_uploading_publishing_published(void) {
    sp_tt_phase p = SP_TT_INIT;
    CHECK((p = after(p, SP_TT_INITIALIZED)) == SP_TT_UPLOADING);
    CHECK((p = after(p, SP_TT_LAST_CHUNK)) == SP_TT_PUBLISHING);
    CHECK((p = after(p, SP_TT_POSTED)) == SP_TT_PUBLISHED);
    CHECK_STR(sp_tiktok_phase_name(SP_TT_INIT), "init");
    CHECK_STR(sp_tiktok_phase_name(SP_TT_UPLOADING), "uploading");
    CHECK_STR(sp_tiktok_phase_name(SP_TT_PUBLISHING), "publishing"); /* kept by a retry */
    CHECK_STR(sp_tiktok_phase_name(SP_TT_PUBLISHED), "published");
}

static void only_a_publish_with_nothing_posted_starts_over(void) {
    CHECK(after(SP_TT_UPLOADING, SP_TT_NOTHING_PUBLISHED) == SP_TT_INIT);
    CHECK(after(SP_TT_PUBLISHING, SP_TT_NOTHING_PUBLISHED) == SP_TT_INIT);
    CHECK(after(SP_TT_PUBLISHING, SP_TT_UPLOAD_INCOMPLETE) == SP_TT_UPLOADING);
    CHECK(after(SP_TT_INIT, SP_TT_LAST_CHUNK) == SP_TT_INIT); /* nothing skips init */
    CHECK(after(SP_TT_INIT, SP_TT_POSTED) == SP_TT_INIT);
    CHECK(after(SP_TT_UPLOADING, SP_TT_INITIALIZED) == SP_TT_UPLOADING);
    for (int e = SP_TT_INITIALIZED; e <= SP_TT_POSTED; e++) /* a post stays posted */
        CHECK(after(SP_TT_PUBLISHED, (sp_tt_event)e) == SP_TT_PUBLISHED);
}

static void chunks_follow_the_media_transfer_guides_example(void) {
    sp_tt_chunks c;
    long long first, length;
    /* 50,000,123 bytes in 10,000,000-byte chunks: 5, the last absorbing 123 */
    CHECK(sp_tiktok_chunk_plan(50000123, 10000000, &c));
    CHECK(c.chunk_size == 10000000 && c.count == 5);
    sp_tiktok_chunk_range(&c, 50000123, 0, &first, &length);
    CHECK(first == 0 && length == 10000000);
    sp_tiktok_chunk_range(&c, 50000123, 4, &first, &length);
    CHECK(first == 40000000 && length == 10000123);
    /* the whole-upload example: 4 MB goes up as one chunk of its own size */
    CHECK(sp_tiktok_chunk_plan(4194304, 10000000, &c));
    CHECK(c.chunk_size == 4194304 && c.count == 1);
}

static void every_plan_keeps_tiktoks_chunk_rules(void) {
    const long long sizes[] = {1,        5242879,  5242880,  16777215,  16777216, 16777217,
                               50000123, 64000000, 64000001, 1LL << 30, 4LL << 30};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        long long size = sizes[i], first, length, sum = 0;
        sp_tt_chunks c;
        CHECK(sp_tiktok_chunk_plan(size, 8LL << 20, &c));
        CHECK(c.count == size / c.chunk_size); /* floor(video_size / chunk_size) */
        CHECK(c.count >= 1 && c.count <= 1000);
        if (size < SP_TT_CHUNK_MIN) CHECK(c.count == 1 && c.chunk_size == size); /* whole */
        if (size > SP_TT_CHUNK_MAX) CHECK(c.count > 1);
        for (long long k = 0; k < c.count; k++) {
            sp_tiktok_chunk_range(&c, size, k, &first, &length);
            CHECK(first == sum);
            if (c.count > 1 && k + 1 < c.count)
                CHECK(length >= SP_TT_CHUNK_MIN && length <= SP_TT_CHUNK_MAX);
            if (k + 1 == c.count) CHECK(length >= c.chunk_size && length <= SP_TT_LAST_CHUNK_MAX);
            sum += length;
        }
        CHECK(sum == size);
    }
}

static void impossible_sizes_and_odd_wishes(void) {
    sp_tt_chunks c;
    CHECK(!sp_tiktok_chunk_plan(0, 8LL << 20, &c));
    CHECK(!sp_tiktok_chunk_plan(-5, 8LL << 20, &c));
    CHECK(!sp_tiktok_chunk_plan(9000LL << 20, 8LL << 20, &c)); /* over 1000 chunks */
    CHECK(sp_tiktok_chunk_plan(100LL << 20, 1, &c) && c.chunk_size == SP_TT_CHUNK_MIN);
    CHECK(sp_tiktok_chunk_plan(1LL << 30, 1LL << 40, &c) && c.chunk_size == SP_TT_CHUNK_MAX);
}

/* An answer as the adapter reads it: the documented status and body. */
typedef struct {
    sp_http_resp http;
    sp_tt_resp r;
} answer;

static void read_doc(const char *name, long retry_after, answer *a) {
    cJSON *doc = sp_doc_load("tiktok", name);
    memset(a, 0, sizeof *a);
    a->http.status = sp_doc_status(doc);
    a->http.body = sp_doc_body_text(doc);
    a->http.retry_after = retry_after;
    cJSON_Delete(doc);
    sp_tiktok_read(&a->http, &a->r);
}

static void free_answer(answer *a) {
    sp_tiktok_resp_free(&a->r);
    free(a->http.body);
}

static sp_tt_class classify_doc(const char *name, long retry_after, sp_step_outcome *out) {
    answer a;
    read_doc(name, retry_after, &a);
    sp_tt_class c = sp_tiktok_classify(&a.r, "starting the post", out);
    free_answer(&a);
    return c;
}

static void documented_errors_are_classified(void) {
    sp_step_outcome out;
    CHECK(classify_doc("video_init", -1, &out) == SP_TT_OK);
    CHECK(classify_doc("video_init_rate_limited", -1, &out) == SP_TT_STOP);
    CHECK(out.kind == SP_STEP_WAIT && out.delay == SP_TT_RATE_WAIT); /* about a minute */
    CHECK(out.quota); /* waited out as a quota: no attempt counted */
    CHECK(classify_doc("video_init_rate_limited", 7, &out) == SP_TT_STOP);
    CHECK(out.kind == SP_STEP_WAIT && out.quota && out.delay == 7); /* Retry-After honoured */
    CHECK(classify_doc("video_init_spam_risk_too_many_posts", -1, &out) == SP_TT_STOP);
    CHECK(out.kind == SP_STEP_WAIT && out.quota && out.delay == SP_TT_DAILY_WAIT);
    CHECK(classify_doc("video_init_unaudited", -1, &out) == SP_TT_STOP);
    CHECK(!out.quota);
    CHECK(classify_doc("video_init_unaudited", -1, &out) == SP_TT_STOP);
    CHECK(out.kind == SP_STEP_FAILED && strstr(out.message, "SELF_ONLY") &&
          strstr(out.message, "audited"));
    CHECK(classify_doc("video_init_privacy_mismatch", -1, &out) == SP_TT_STOP);
    CHECK(out.kind == SP_STEP_FAILED && strstr(out.message, "privacyLevel"));
    CHECK(strstr(out.message, "log id 202210112248442CB9319E1FB30C1073F3") != NULL);
    CHECK(classify_doc("video_init_token_invalid", -1, &out) == SP_TT_AUTH);
    CHECK(classify_doc("creator_info_token_invalid", -1, &out) == SP_TT_AUTH);
    CHECK(classify_doc("status_invalid_publish_id", -1, &out) == SP_TT_GONE);
}

static void transport_and_server_errors_retry(void) {
    sp_step_outcome out;
    sp_http_resp http = {.status = 0, .retry_after = -1};
    snprintf(http.transport_error, sizeof http.transport_error, "connection reset");
    sp_tt_resp r;
    sp_tiktok_read(&http, &r);
    CHECK(sp_tiktok_classify(&r, "checking the post", &out) == SP_TT_STOP);
    CHECK(out.kind == SP_STEP_RETRY && strstr(out.message, "connection reset"));
    sp_tiktok_resp_free(&r);
    char body[] =
        "{\"data\":{},\"error\":{\"code\":\"internal_error\",\"message\":\"x\",\"log_id\":\"1\"}}";
    http = (sp_http_resp){.status = 500, .body = body, .retry_after = -1};
    sp_tiktok_read(&http, &r);
    CHECK(sp_tiktok_classify(&r, "checking the post", &out) == SP_TT_STOP);
    CHECK(out.kind == SP_STEP_RETRY);
    sp_tiktok_resp_free(&r);
    char html[] = "<html>bad gateway</html>"; /* no envelope at all */
    http = (sp_http_resp){.status = 502, .body = html, .retry_after = -1};
    sp_tiktok_read(&http, &r);
    CHECK(sp_tiktok_classify(&r, "checking the post", &out) == SP_TT_STOP &&
          out.kind == SP_STEP_RETRY);
    sp_tiktok_resp_free(&r);
}

static void creator_info_reads_the_documented_answer(void) {
    answer a;
    sp_tt_creator c;
    read_doc("creator_info", -1, &a);
    CHECK(sp_tiktok_parse_creator(a.r.data, &c));
    CHECK_STR(c.username, "tiktok");
    CHECK(c.privacy_options == ((1u << 0) | (1u << 1) | (1u << 3))); /* no FOLLOWER_OF_CREATOR */
    CHECK(!c.comment_disabled && !c.duet_disabled && c.stitch_disabled);
    CHECK(c.max_duration == 300);
    free_answer(&a);
    CHECK(!sp_tiktok_parse_creator(NULL, &c) && c.max_duration == -1);
}

static void init_reads_publish_id_and_upload_url(void) {
    answer a;
    char id[128], url[2048];
    read_doc("video_init", -1, &a);
    CHECK(sp_tiktok_parse_init(a.r.data, id, sizeof id, url, sizeof url));
    CHECK_STR(id, "v_pub_file~v2-1.123456789");
    CHECK_STR(url, "https://open-upload.tiktokapis.com/video/?upload_id=67890&upload_token=Xza123");
    free_answer(&a);
    read_doc("video_init_unaudited", -1, &a); /* an error's empty data has neither */
    CHECK(!sp_tiktok_parse_init(a.r.data, id, sizeof id, url, sizeof url));
    free_answer(&a);
}

/* The example file's text as stored: the post id's digits are only exact there. */
static char *doc_text(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tiktok/%s.json", SP_PLATFORM_DOCS_DIR, name);
    FILE *f = fopen(path, "rb");
    static char text[1 << 16];
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    text[n] = '\0';
    return text;
}

static void status_reads_each_documented_state(void) {
    answer a;
    sp_tt_status st;
    read_doc("status_processing_upload", -1, &a);
    CHECK(sp_tiktok_parse_status(a.r.data, a.r.raw, &st));
    CHECK_STR(st.status, "PROCESSING_UPLOAD");
    CHECK(st.uploaded_bytes == 10000000 && st.post_id[0] == '\0');
    free_answer(&a);
    read_doc("status_failed", -1, &a);
    CHECK(sp_tiktok_parse_status(a.r.data, a.r.raw, &st));
    CHECK_STR(st.status, "FAILED");
    CHECK_STR(st.fail_reason, "picture_size_check_failed");
    free_answer(&a);
    read_doc("status_publish_complete", -1, &a);
    /* the id is an int64 beyond a double's exact range: read from the text */
    CHECK(sp_tiktok_parse_status(a.r.data, doc_text("status_publish_complete"), &st));
    CHECK_STR(st.status, "PUBLISH_COMPLETE");
    CHECK_STR(st.post_id, "7345678901234567891");
    free_answer(&a);
    CHECK(!sp_tiktok_parse_status(NULL, NULL, &st));
}

static void post_ids_as_strings_or_odd_text(void) {
    sp_tt_status st;
    const char *bodies[] = {
        "{\"status\":\"PUBLISH_COMPLETE\",\"publicaly_available_post_id\":[\"7000000000000000001\"]"
        "}",
        "{\"status\":\"PUBLISH_COMPLETE\",\"publicaly_available_post_id\" : [ 12 , 13 ]}",
        "{\"status\":\"PUBLISH_COMPLETE\",\"publicaly_available_post_id\":["
        "123456789012345678901234567890123456]}"};
    const char *want[] = {"7000000000000000001", "12", ""};
    for (int i = 0; i < 3; i++) {
        cJSON *data = cJSON_Parse(bodies[i]);
        CHECK(sp_tiktok_parse_status(data, bodies[i], &st));
        CHECK_STR(st.post_id, want[i]);
        cJSON_Delete(data);
    }
}

static void token_answers_rotate_and_schedule_from_expires_in(void) {
    cJSON *doc = sp_doc_load("tiktok", "token_refresh");
    char *body = sp_doc_body_text(doc);
    char *access, *refresh;
    long long expires_at;
    sp_err err;
    CHECK(sp_tiktok_parse_token(200, body, 1000, &access, &refresh, &expires_at, &err) == 0);
    CHECK_STR(access, "act.example12345Example12345Example");
    CHECK_STR(refresh, "rft.example12345Example12345Example");
    CHECK(expires_at == 1000 + 86400);
    free(access), free(refresh), free(body);
    cJSON_Delete(doc);
    /* no lifetime given: taken (its refresh token must not be lost), expiry unknown */
    CHECK(sp_tiktok_parse_token(200, "{\"access_token\":\"a\",\"refresh_token\":\"r\"}", 1000,
                                &access, &refresh, &expires_at, &err) == 0);
    CHECK(expires_at == 0 && !strcmp(refresh, "r"));
    free(access), free(refresh);
    CHECK(sp_tiktok_parse_token(200, "{\"access_token\":\"a\",\"expires_in\":60}", 1000, &access,
                                &refresh, &expires_at, &err) == 0);
    CHECK(refresh == NULL && expires_at == 1060); /* not rotated: the old one stays */
    free(access);
    doc = sp_doc_load("tiktok", "token_refresh_invalid_grant");
    body = sp_doc_body_text(doc);
    CHECK(sp_tiktok_parse_token(sp_doc_status(doc), body, 1000, &access, &refresh, &expires_at,
                                &err) < 0);
    CHECK(err.kind == SP_ERR_UNPROCESSABLE && strstr(err.msg, "reconnect"));
    CHECK(access == NULL && refresh == NULL);
    free(body);
    cJSON_Delete(doc);
    CHECK(sp_tiktok_parse_token(503, "oops", 1000, &access, &refresh, &expires_at, &err) < 0);
    CHECK(err.kind == SP_ERR_TRANSIENT);
    CHECK(sp_tiktok_parse_token(200, "{\"error\":\"invalid_grant\",\"access_token\":\"a\"}", 1000,
                                &access, &refresh, &expires_at, &err) < 0);
    CHECK(err.kind == SP_ERR_UNPROCESSABLE);
}

static void post_urls_name_the_video_or_the_profile(void) {
    char url[256];
    sp_tiktok_post_url("cat", "7345678901234567891", url, sizeof url);
    CHECK_STR(url, "https://www.tiktok.com/@cat/video/7345678901234567891");
    sp_tiktok_post_url("cat", "", url, sizeof url);
    CHECK_STR(url, "https://www.tiktok.com/@cat");
    sp_tiktok_post_url("", "1", url, sizeof url);
    CHECK_STR(url, "https://www.tiktok.com/");
}

static void captions_count_utf16_units(void) {
    CHECK(sp_platform_utf16_length("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80") == 5); /* a é € 😀 */
    char *text = malloc(4 * 1101 + 1);
    sp_err err;
    memset(text, 'a', 2200);
    text[2200] = '\0';
    CHECK(sp_platform_check_text(SP_TIKTOK, text, NULL, &err) == 0);
    strcpy(text + 2200, "a");
    CHECK(sp_platform_check_text(SP_TIKTOK, text, NULL, &err) < 0);
    for (int i = 0; i < 1100; i++)
        memcpy(text + 4 * i, "\xf0\x9f\x98\x80", 4);
    text[4 * 1100] = '\0';
    CHECK(sp_platform_check_text(SP_TIKTOK, text, NULL, &err) == 0); /* 1100 emoji: 2200 units */
    strcpy(text + 4 * 1100, "\xf0\x9f\x98\x80");
    CHECK(sp_platform_check_text(SP_TIKTOK, text, NULL, &err) < 0);
    CHECK_STR(err.code, "caption_too_long");
    free(text);
}

/* A host that records what the adapter asked of storage; no video. */
typedef struct {
    int saves, tokens, videos;
} fake_host;

static int host_save(void *self, const sp_post *post, sp_err *err) {
    (void)post, (void)err;
    ((fake_host *)self)->saves++;
    return 0;
}

static int host_token(void *self, const sp_post *post, const char *old, sp_err *err) {
    (void)post, (void)old, (void)err;
    ((fake_host *)self)->tokens++;
    return 0;
}

static int host_video(void *self, const sp_post *post, FILE **f, long long *size, sp_err *err) {
    (void)post, (void)f, (void)size;
    ((fake_host *)self)->videos++;
    return sp_err_set(err, SP_ERR_TRANSIENT, "spool", "no video in this test");
}

static bool host_stopping(void *self) {
    (void)self;
    return false;
}

/* Runs one TikTok step on checkpoint with a token and options; no network
 * is reached by the cases below. */
static void run_step(const char *checkpoint, const char *options, fake_host *h,
                     sp_step_outcome *out) {
    sp_step_host host = {.self = h,
                         .save_checkpoint = host_save,
                         .store_token = host_token,
                         .open_video = host_video,
                         .stopping = host_stopping};
    sp_config cfg = {.tiktok_api_url = "http://127.0.0.1:9"};
    sp_post post = {.platform = SP_TIKTOK,
                    .account_id = "open1",
                    .access_token = "act.1",
                    .checkpoint = cJSON_Parse(checkpoint),
                    .options = cJSON_Parse(options)};
    sp_step_ctx ctx = {
        .cfg = &cfg, .post = &post, .host = &host, .ig_poll_base = 1, .ig_deadline = 60};
    memset(h, 0, sizeof *h);
    sp_adapter_for(SP_TIKTOK)->step(&ctx, out);
    cJSON_Delete(post.checkpoint);
    cJSON_Delete(post.options);
}

static void a_recorded_post_is_reported_with_its_privacy(void) {
    fake_host h;
    sp_step_outcome out;
    run_step("{\"phase\": \"published\", \"publishId\": \"v_pub_file~1\", \"postId\": \"73\","
             " \"url\": \"https://www.tiktok.com/@cat/video/73\", \"privacy\": \"SELF_ONLY\"}",
             "{}", &h, &out);
    CHECK(out.kind == SP_STEP_DONE);
    CHECK_STR(out.url, "https://www.tiktok.com/@cat/video/73");
    CHECK_STR(out.post_id, "73");
    CHECK_STR(out.visibility, "SELF_ONLY");
    CHECK(h.saves == 0 && h.videos == 0 && h.tokens == 0);
}

static void progress_without_its_ids_fails_without_calls(void) {
    const char *cases[] = {"{\"phase\": \"publishing\"}", "{\"phase\": \"published\"}",
                           "{\"phase\": \"publishing\", \"uploadUrl\": \"http://127.0.0.1:9/\"}",
                           "{\"phase\": \"published\", \"publishId\": \"p\"}"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fake_host h;
        sp_step_outcome out;
        run_step(cases[i], "{\"privacyLevel\": \"SELF_ONLY\"}", &h, &out);
        CHECK(out.kind == SP_STEP_FAILED && h.videos == 0 && h.saves == 0);
    }
}

static void no_privacy_level_fails_naming_the_option(void) {
    const char *options[] = {"{}", "{\"privacyLevel\": \"EVERYONE\"}", "{\"privacyLevel\": 3}"};
    for (size_t i = 0; i < 3; i++) {
        fake_host h;
        sp_step_outcome out;
        run_step("{}", options[i], &h, &out);
        CHECK(out.kind == SP_STEP_FAILED && strstr(out.message, "privacyLevel"));
        CHECK(h.videos == 0 && h.saves == 0);
    }
}

int main(void) {
    a_post_goes_init_uploading_publishing_published();
    only_a_publish_with_nothing_posted_starts_over();
    chunks_follow_the_media_transfer_guides_example();
    every_plan_keeps_tiktoks_chunk_rules();
    impossible_sizes_and_odd_wishes();
    documented_errors_are_classified();
    transport_and_server_errors_retry();
    creator_info_reads_the_documented_answer();
    init_reads_publish_id_and_upload_url();
    status_reads_each_documented_state();
    post_ids_as_strings_or_odd_text();
    token_answers_rotate_and_schedule_from_expires_in();
    post_urls_name_the_video_or_the_profile();
    captions_count_utf16_units();
    a_recorded_post_is_reported_with_its_privacy();
    progress_without_its_ids_fails_without_calls();
    no_privacy_level_fails_naming_the_option();
    return check_done("test_tiktok");
}
