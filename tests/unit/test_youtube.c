/* Unit tests of youtube.c's phase machine: which phase follows which event. */
#include <string.h>

#include "check.h"
#include "core/json.h"
#include "platforms/youtube.h"

static sp_yt_phase after(sp_yt_phase p, sp_yt_event e) {
    return sp_youtube_phase_after(p, e);
}

static void an_upload_goes_session_uploading_published(void) {
    sp_yt_phase p = SP_YT_SESSION;
    p = after(p, SP_YT_SESSION_OPENED);
    CHECK(p == SP_YT_UPLOADING);
    p = after(p, SP_YT_UPLOADED);
    CHECK(p == SP_YT_PUBLISHED);
}

static void a_forgotten_session_starts_over(void) {
    CHECK(after(SP_YT_UPLOADING, SP_YT_SESSION_LOST) == SP_YT_SESSION);
    CHECK(after(SP_YT_SESSION, SP_YT_SESSION_LOST) == SP_YT_SESSION);
}

static void nothing_skips_a_phase(void) {
    CHECK(after(SP_YT_SESSION, SP_YT_UPLOADED) == SP_YT_SESSION);
    CHECK(after(SP_YT_UPLOADING, SP_YT_SESSION_OPENED) == SP_YT_UPLOADING);
}

static void a_published_video_stays_published(void) {
    CHECK(after(SP_YT_PUBLISHED, SP_YT_SESSION_LOST) == SP_YT_PUBLISHED);
    CHECK(after(SP_YT_PUBLISHED, SP_YT_SESSION_OPENED) == SP_YT_PUBLISHED);
    CHECK(after(SP_YT_PUBLISHED, SP_YT_UPLOADED) == SP_YT_PUBLISHED);
}

static void names_are_what_the_checkpoint_and_retry_read(void) {
    CHECK_STR(sp_youtube_phase_name(SP_YT_SESSION), "session");
    CHECK_STR(sp_youtube_phase_name(SP_YT_UPLOADING), "uploading");
    CHECK_STR(sp_youtube_phase_name(SP_YT_PUBLISHED), "published");
    CHECK_STR(sp_youtube_phase_name(SP_YT_PHASES), "unknown");
}

static void ranges_give_the_next_offset_within_the_video(void) {
    long long off = -7;
    CHECK(sp_youtube_parse_range("", 100, &off) && off == 0); /* nothing stored yet */
    CHECK(sp_youtube_parse_range("bytes=0-0", 100, &off) && off == 1);
    CHECK(sp_youtube_parse_range("bytes=0-8388607", 16777216, &off) && off == 8388608);
    CHECK(sp_youtube_parse_range("bytes=0-99", 100, &off) && off == 100);
    off = -7;
    /* each of these once overflowed, went negative or past the file */
    CHECK(!sp_youtube_parse_range("bytes=0-9223372036854775807", 100, &off));
    CHECK(!sp_youtube_parse_range("bytes=0-9223372036854775806", 1LL << 62, &off));
    CHECK(!sp_youtube_parse_range("bytes=0--50", 100, &off));
    CHECK(!sp_youtube_parse_range("bytes=0-100", 100, &off));
    CHECK(!sp_youtube_parse_range("bytes=5-10", 100, &off));
    CHECK(!sp_youtube_parse_range("bytes=0-", 100, &off));
    CHECK(!sp_youtube_parse_range("bytes=0-1x", 100, &off));
    CHECK(!sp_youtube_parse_range("bytes=0-+1", 100, &off));
    CHECK(!sp_youtube_parse_range("0-10", 100, &off));
    CHECK(off == -7);
}

/* An answer with status and body, for the classifier. */
static sp_yt_class classify(long status, const char *body, sp_step_outcome *out) {
    sp_http_resp r;
    memset(&r, 0, sizeof r);
    r.status = status;
    r.body = (char *)body;
    r.retry_after = -1;
    return sp_youtube_classify(&r, out);
}

static void answers_are_classified_once(void) {
    sp_step_outcome out;
    CHECK(classify(200, "{}", &out) == SP_YT_OK);
    CHECK(classify(308, NULL, &out) == SP_YT_OK);
    CHECK(classify(0, NULL, &out) == SP_YT_TRANSIENT && out.kind == SP_STEP_RETRY);
    CHECK(classify(401, NULL, &out) == SP_YT_AUTH && strstr(out.message, "reconnect"));
    CHECK(classify(404, NULL, &out) == SP_YT_SESSION_GONE);
    CHECK(classify(503, "<html>", &out) == SP_YT_TRANSIENT);
    const char *rate = "{\"error\":{\"errors\":[{\"reason\":\"rateLimitExceeded\"}]}}";
    CHECK(classify(403, rate, &out) == SP_YT_TRANSIENT);
    const char *quota =
        "{\"error\":{\"message\":\"over\",\"errors\":[{\"reason\":\"quotaExceeded\"}]}}";
    CHECK(classify(403, quota, &out) == SP_YT_PERMANENT && strstr(out.message, "quota"));
    CHECK(classify(400, "{\"error\":{\"message\":7,\"errors\":\"x\"}}", &out) == SP_YT_PERMANENT);
}

static void google_messages_are_cut_on_a_character_boundary(void) {
    char body[2048] = "{\"error\":{\"message\":\"";
    size_t n = strlen(body);
    for (int i = 0; i < 200; i++, n += 3)
        memcpy(body + n, "\xe7\x84\xa1", 3); /* a three-byte character */
    snprintf(body + n, sizeof body - n, "\"}}");
    sp_step_outcome out;
    CHECK(classify(400, body, &out) == SP_YT_PERMANENT);
    CHECK(sp_utf8_valid(out.message, strlen(out.message)));
}

int main(void) {
    ranges_give_the_next_offset_within_the_video();
    answers_are_classified_once();
    google_messages_are_cut_on_a_character_boundary();
    an_upload_goes_session_uploading_published();
    a_forgotten_session_starts_over();
    nothing_skips_a_phase();
    a_published_video_stays_published();
    names_are_what_the_checkpoint_and_retry_read();
    return check_done("test_youtube");
}
