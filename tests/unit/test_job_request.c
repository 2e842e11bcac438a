/* Unit tests of job_request.c and catalog.c: what a submit body may say. */
#include <stdlib.h>
#include <string.h>

#include "api/job_request.h"
#include "check.h"
#include "core/iso8601.h"

#define VID "3F2504E0-4F89-11D3-9A0C-0305E82C3301"

static int parse(const char *body, sp_job_request *req, sp_err *err) {
    return sp_job_request_parse(body, strlen(body), req, err);
}

/* Expects body to be refused with code. */
static void refused(const char *body, const char *code) {
    sp_job_request req;
    sp_err err;
    sp_err_clear(&err);
    CHECK(parse(body, &req, &err) < 0);
    CHECK(err.kind == SP_ERR_BAD_REQUEST);
    CHECK_STR(err.code, code);
}

static void seed_body_is_accepted(void) {
    sp_job_request req;
    sp_err err;
    const char *body = "{\"videoId\":\"" VID "\",\"platforms\":[\"youtube\",\"instagram\"],"
                       "\"title\":\"Hello\",\"description\":\"World\",\"extra\":true}";
    CHECK(parse(body, &req, &err) == 0);
    CHECK_STR(req.video_id, "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
    CHECK(req.nplatforms == 2 && req.platforms[0] == SP_YOUTUBE &&
          req.platforms[1] == SP_INSTAGRAM);
    CHECK_STR(req.title, "Hello");
    CHECK_STR(req.description, "World");
    char *platforms = sp_job_request_platforms_json(&req);
    CHECK_STR(platforms, "[\"youtube\",\"instagram\"]");
    free(platforms);
    sp_job_request_free(&req);
}

static void optional_fields_may_be_absent_or_null(void) {
    sp_job_request req;
    sp_err err;
    CHECK(parse("{\"videoId\":\"" VID "\",\"platforms\":[\"facebook\"],\"title\":null}", &req,
                &err) == 0);
    CHECK(req.title == NULL && req.description == NULL);
    sp_job_request_free(&req);
}

static void bad_bodies_are_refused_with_codes(void) {
    refused("[]", "invalid_json");
    refused("{\"platforms\":[\"youtube\"]}", "missing_field");
    refused("{\"videoId\":42,\"platforms\":[\"youtube\"]}", "invalid_field");
    refused("{\"videoId\":\"not-a-uuid\",\"platforms\":[\"youtube\"]}", "invalid_field");
    refused("{\"videoId\":\"" VID "'; DROP TABLE x;--\",\"platforms\":[\"youtube\"]}",
            "invalid_field");
    refused("{\"videoId\":\"" VID "\"}", "missing_field");
    refused("{\"videoId\":\"" VID "\",\"platforms\":\"youtube\"}", "invalid_field");
    refused("{\"videoId\":\"" VID "\",\"platforms\":[]}", "invalid_field");
    refused("{\"videoId\":\"" VID "\",\"platforms\":[1]}", "invalid_field");
    refused("{\"videoId\":\"" VID "\",\"platforms\":[\"myspace\"]}", "unknown_platform");
    refused("{\"videoId\":\"" VID "\",\"platforms\":[\"YouTube\"]}", "unknown_platform");
    refused("{\"videoId\":\"" VID "\",\"platforms\":[\"youtube\",\"youtube\"]}",
            "duplicate_platform");
    refused("{\"videoId\":\"" VID "\",\"platforms\":[\"youtube\"],\"title\":7}", "invalid_field");
    refused("{\"videoId\":\"" VID "\",\"platforms\":[\"youtube\"],\"description\":[]}",
            "invalid_field");
}

static void a_callback_url_is_read_and_checked(void) {
    sp_job_request req;
    sp_err err;
    const char *body = "{\"videoId\":\"" VID "\",\"platforms\":[\"youtube\"],"
                       "\"callbackUrl\":\"https://example.com/hook?t=1\"}";
    CHECK(parse(body, &req, &err) == 0);
    CHECK_STR(req.callback_url, "https://example.com/hook?t=1");
    CHECK(sp_job_request_check_webhooks(&req, true, &err) == 0);
    CHECK(sp_job_request_check_webhooks(&req, false, &err) < 0);
    CHECK(err.kind == SP_ERR_BAD_REQUEST);
    CHECK_STR(err.code, "webhooks_not_configured");
    sp_job_request_free(&req);
    CHECK(parse("{\"videoId\":\"" VID "\",\"platforms\":[\"youtube\"],\"callbackUrl\":null}", &req,
                &err) == 0);
    CHECK(req.callback_url == NULL);
    CHECK(sp_job_request_check_webhooks(&req, false, &err) == 0); /* none: nothing to send */
    sp_job_request_free(&req);
    refused("{\"videoId\":\"" VID "\",\"platforms\":[\"youtube\"],\"callbackUrl\":7}",
            "invalid_callback_url");
    refused("{\"videoId\":\"" VID "\",\"platforms\":[\"youtube\"],\"callbackUrl\":\"\"}",
            "invalid_callback_url");
    refused("{\"videoId\":\"" VID "\",\"platforms\":[\"youtube\"],"
            "\"callbackUrl\":\"http://u:p@example.com/\"}",
            "invalid_callback_url");
}

static char *repeat(const char *unit, int n) {
    size_t len = strlen(unit);
    char *s = malloc(len * (size_t)n + 1);
    for (int i = 0; i < n; i++)
        memcpy(s + len * (size_t)i, unit, len);
    s[len * (size_t)n] = '\0';
    return s;
}

static void platform_text_limits_hold(void) {
    sp_err err;
    char *t100 = repeat("\xc3\xa9", 100), *t101 = repeat("a", 101);
    char *d5000 = repeat("a", 5000), *d5001 = repeat("a", 5001), *d2199 = repeat("b", 2199);
    CHECK(sp_platform_check_text(SP_YOUTUBE, t100, d5000, &err) == 0);
    CHECK(sp_platform_check_text(SP_YOUTUBE, t101, NULL, &err) < 0);
    CHECK_STR(err.code, "title_too_long");
    CHECK(sp_platform_check_text(SP_YOUTUBE, "ok", d5001, &err) < 0);
    CHECK_STR(err.code, "description_too_long");
    CHECK(sp_platform_check_text(SP_YOUTUBE, NULL, NULL, &err) < 0);
    CHECK_STR(err.code, "title_required");
    CHECK(sp_platform_check_text(SP_YOUTUBE, "a <b>", NULL, &err) < 0);
    CHECK(sp_platform_check_text(SP_FACEBOOK, t101, d5001, &err) == 0);
    CHECK(sp_platform_check_text(SP_INSTAGRAM, NULL, d2199, &err) == 0);
    CHECK(sp_platform_check_text(SP_INSTAGRAM, "x", d2199, &err) < 0); /* x + \n\n + 2199 */
    CHECK_STR(err.code, "caption_too_long");
    char *caption = sp_platform_caption("T", "D");
    CHECK_STR(caption, "T\n\nD");
    free(caption);
    free(t100), free(t101), free(d5000), free(d5001), free(d2199);
}

/* Parses body (which must pass) and checks its text with title. */
static int check_text(const char *body, const char *title, sp_err *err) {
    sp_job_request req;
    CHECK(parse(body, &req, err) == 0);
    int rc = sp_job_request_check_text(&req, title, err);
    sp_job_request_free(&req);
    return rc;
}

static void options_are_kept_checked_and_stored(void) {
    sp_job_request req;
    sp_err err;
    const char *body = "{\"videoId\":\"" VID "\",\"platforms\":[\"youtube\",\"tiktok\"],"
                       "\"options\":{\"youtube\":{\"privacyStatus\":\"unlisted\"},"
                       "\"tiktok\":{\"privacyLevel\":\"SELF_ONLY\",\"disableDuet\":true}}}";
    CHECK(parse(body, &req, &err) == 0);
    char *json = sp_job_request_options_json(&req);
    CHECK_STR(json, "{\"youtube\":{\"privacyStatus\":\"unlisted\"},"
                    "\"tiktok\":{\"privacyLevel\":\"SELF_ONLY\",\"disableDuet\":true}}");
    free(json);
    sp_job_request_free(&req);
    CHECK(parse("{\"videoId\":\"" VID "\",\"platforms\":[\"youtube\"],\"options\":null}", &req,
                &err) == 0);
    json = sp_job_request_options_json(&req);
    CHECK_STR(json, "{}");
    free(json);
    sp_job_request_free(&req);
    refused("{\"videoId\":\"" VID "\",\"platforms\":[\"tiktok\"]}", "missing_option");
    refused("{\"videoId\":\"" VID "\",\"platforms\":[\"youtube\"],\"options\":[]}",
            "invalid_field");
    refused("{\"videoId\":\"" VID "\",\"platforms\":[\"youtube\"],"
            "\"options\":{\"youtube\":{\"tags\":[],\"tags\":[\"x\"]}}}",
            "duplicate_key");
}

static void a_platforms_own_text_replaces_the_jobs_and_is_named(void) {
    sp_err err;
    char body[512];
    /* the job's title is too long for YouTube, YouTube's own is not */
    char *t101 = repeat("a", 101);
    snprintf(body, sizeof body,
             "{\"videoId\":\"" VID "\",\"platforms\":[\"youtube\"],"
             "\"options\":{\"youtube\":{\"title\":\"Short\"}}}");
    CHECK(check_text(body, t101, &err) == 0);
    snprintf(body, sizeof body,
             "{\"videoId\":\"" VID "\",\"platforms\":[\"youtube\"],"
             "\"options\":{\"youtube\":{\"title\":\"%s\"}}}",
             t101);
    CHECK(check_text(body, "Short", &err) < 0);
    CHECK_STR(err.code, "title_too_long");
    CHECK(strncmp(err.msg, "options.youtube.title ", 22) == 0);
    /* an empty one of its own means the job's */
    snprintf(body, sizeof body,
             "{\"videoId\":\"" VID "\",\"platforms\":[\"youtube\"],"
             "\"options\":{\"youtube\":{\"title\":\"\"}}}");
    CHECK(check_text(body, t101, &err) < 0);
    CHECK(strncmp(err.msg, "title ", 6) == 0);
    snprintf(body, sizeof body,
             "{\"videoId\":\"" VID "\",\"platforms\":[\"youtube\"],"
             "\"options\":{\"youtube\":{\"description\":\"<b>\"}}}");
    CHECK(check_text(body, "Fine", &err) < 0);
    CHECK_STR(err.code, "invalid_characters");
    CHECK(strstr(err.msg, "options.youtube.description") != NULL);
    free(t101);
}

static void tiktok_counts_its_caption_in_utf16_units(void) {
    sp_err err;
    char *emoji1100 = repeat("\xf0\x9f\x98\x80", 1100),
         *emoji1101 = repeat("\xf0\x9f\x98\x80", 1101);
    CHECK(sp_platform_check_text(SP_TIKTOK, emoji1100, NULL, &err) == 0); /* 2200 units */
    CHECK(sp_platform_check_text(SP_TIKTOK, emoji1101, NULL, &err) < 0);
    CHECK_STR(err.code, "caption_too_long");
    CHECK(sp_platform_check_text(SP_INSTAGRAM, emoji1101, NULL, &err) == 0); /* characters */
    free(emoji1100), free(emoji1101);
}

static void iso8601_times_parse_with_zones(void) {
    double t;
    CHECK(sp_iso8601_parse("2026-01-23T10:00:00Z", &t) && t == 1769162400);
    CHECK(sp_iso8601_parse("2026-01-23T10:00:00.250Z", &t) && t == 1769162400.25);
    CHECK(sp_iso8601_parse("2026-01-23T12:30:00+02:30", &t) && t == 1769162400);
    CHECK(sp_iso8601_parse("2026-01-23T05:00:00-05:00", &t) && t == 1769162400);
    CHECK(!sp_iso8601_parse("2026-01-23 05:00:00-05:00", &t)); /* not a documented form */
    CHECK(sp_iso8601_parse("2026-01-23T10:00:00+0000", &t) && t == 1769162400);
    CHECK(!sp_iso8601_parse("2026-01-23T10:00:00+00", &t));
    CHECK(!sp_iso8601_parse("2026-01-23T10:00:00", &t)); /* no zone */
    CHECK(!sp_iso8601_parse("2026-01-23", &t));
    CHECK(!sp_iso8601_parse("2026-02-30T10:00:00Z", &t)); /* no such day */
    CHECK(!sp_iso8601_parse("2026-01-23T24:00:00Z", &t));
    CHECK(!sp_iso8601_parse("2026-01-23T10:00:00Zjunk", &t));
    CHECK(!sp_iso8601_parse("2026-01-23T10:00:00.Z", &t));
    CHECK(!sp_iso8601_parse("2026-1-23T10:00:00Z", &t));
    CHECK(!sp_iso8601_parse("", &t));
}

int main(void) {
    iso8601_times_parse_with_zones();
    seed_body_is_accepted();
    optional_fields_may_be_absent_or_null();
    bad_bodies_are_refused_with_codes();
    a_callback_url_is_read_and_checked();
    platform_text_limits_hold();
    options_are_kept_checked_and_stored();
    a_platforms_own_text_replaces_the_jobs_and_is_named();
    tiktok_counts_its_caption_in_utf16_units();
    return check_done("test_job_request");
}
