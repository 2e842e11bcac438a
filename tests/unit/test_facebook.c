/* Unit tests of facebook.c: its phase machine, and the readers of Graph's
 * answers fed the documented answers the fake also sends. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "platform_docs.h"
#include "platforms/facebook.h"

static sp_fb_phase after(sp_fb_phase p, sp_fb_event e) {
    return sp_facebook_phase_after(p, e);
}

static void an_upload_goes_start_transfer_publishing_published(void) {
    sp_fb_phase p = SP_FB_START;
    p = after(p, SP_FB_STARTED);
    CHECK(p == SP_FB_TRANSFER);
    p = after(p, SP_FB_SENT);
    CHECK(p == SP_FB_PUBLISHING);
    p = after(p, SP_FB_CONFIRMED);
    CHECK(p == SP_FB_PUBLISHED);
}

static void a_finish_sent_again_stays_publishing(void) {
    /* the answer to finish was lost and the video reads unpublished */
    CHECK(after(SP_FB_PUBLISHING, SP_FB_SENT) == SP_FB_PUBLISHING);
    CHECK(after(SP_FB_PUBLISHING, SP_FB_STARTED) == SP_FB_PUBLISHING);
}

static void nothing_skips_a_phase(void) {
    CHECK(after(SP_FB_START, SP_FB_SENT) == SP_FB_START);
    CHECK(after(SP_FB_START, SP_FB_CONFIRMED) == SP_FB_START);
    CHECK(after(SP_FB_TRANSFER, SP_FB_CONFIRMED) == SP_FB_TRANSFER);
    CHECK(after(SP_FB_TRANSFER, SP_FB_STARTED) == SP_FB_TRANSFER);
}

static void a_published_video_stays_published(void) {
    CHECK(after(SP_FB_PUBLISHED, SP_FB_STARTED) == SP_FB_PUBLISHED);
    CHECK(after(SP_FB_PUBLISHED, SP_FB_SENT) == SP_FB_PUBLISHED);
    CHECK(after(SP_FB_PUBLISHED, SP_FB_CONFIRMED) == SP_FB_PUBLISHED);
}

static void names_are_what_the_checkpoint_and_retry_read(void) {
    CHECK_STR(sp_facebook_phase_name(SP_FB_START), "start");
    CHECK_STR(sp_facebook_phase_name(SP_FB_TRANSFER), "transfer");
    CHECK_STR(sp_facebook_phase_name(SP_FB_PUBLISHING), "publishing");
    CHECK_STR(sp_facebook_phase_name(SP_FB_PUBLISHED), "published");
}

/* The documented answer <name> parsed as the adapter reads it. */
static void parse_doc(const char *name, sp_graph_resp *r) {
    cJSON *doc = sp_doc_load("facebook", name);
    char *body = sp_doc_body_text(doc);
    sp_graph_parse(sp_doc_status(doc), body, -1, r);
    free(body);
    cJSON_Delete(doc);
}

static void a_transfer_goes_where_the_answer_says(void) {
    sp_graph_resp r;
    long long a = -1, b = -1;
    parse_doc("videos_start", &r);
    CHECK(sp_facebook_transfer_verdict(&r, 22420886, &a, &b) == SP_FB_NEXT_RANGE);
    CHECK(a == 0 && b == 1048576);
    sp_graph_resp_free(&r);
    parse_doc("videos_transfer", &r);
    CHECK(sp_facebook_transfer_verdict(&r, 22420886, &a, &b) == SP_FB_NEXT_RANGE);
    CHECK(a == 1048576 && b == 2097152);
    sp_graph_resp_free(&r);
}

/* Issue 15 item 1: the retry of a transfer whose answer was lost is
 * answered 6001/1363037 with numbers in error_data: continue there. */
static void a_transfer_at_the_wrong_offset_continues_where_facebook_is(void) {
    sp_graph_resp r;
    long long a = -1, b = -1;
    parse_doc("videos_transfer_wrong_offset", &r);
    CHECK(r.code == 6001 && r.subcode == 1363037);
    CHECK(sp_facebook_transfer_verdict(&r, 22420886, &a, &b) == SP_FB_NEXT_RANGE);
    CHECK(a == 8388608 && b == 12582912);
    /* a range outside the file is not followed: the same chunk goes again */
    CHECK(sp_facebook_transfer_verdict(&r, 1000, &a, &b) == SP_FB_SAME_RANGE);
    sp_graph_resp_free(&r);
    sp_graph_parse(400,
                   "{\"error\":{\"code\":6000,\"error_subcode\":1363037,"
                   "\"error_data\":{\"start_offset\":\"10\",\"end_offset\":\"20\"}}}",
                   -1, &r);
    CHECK(sp_facebook_transfer_verdict(&r, 100, &a, &b) == SP_FB_NEXT_RANGE && a == 10 && b == 20);
    sp_graph_resp_free(&r);
}

static void resumable_upload_errors_send_the_same_chunk_again(void) {
    const char *names[] = {"videos_transfer_retry_1363030", "videos_transfer_retry_1363019",
                           "videos_transfer_retry_1363033", "videos_transfer_retry_1363021",
                           "videos_transfer_retry_1363041"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        sp_graph_resp r;
        long long a = -1, b = -1;
        parse_doc(names[i], &r);
        CHECK(sp_facebook_transfer_verdict(&r, 22420886, &a, &b) == SP_FB_SAME_RANGE);
        sp_graph_resp_free(&r);
    }
}

static void another_file_is_asked_for_on_1363045(void) {
    sp_graph_resp r;
    long long a, b;
    parse_doc("videos_transfer_other_file", &r);
    CHECK(sp_facebook_transfer_verdict(&r, 22420886, &a, &b) == SP_FB_OTHER_FILE);
    CHECK(strstr(r.message, "another file") != NULL);
    sp_graph_resp_free(&r);
    parse_doc("expired_token", &r);
    CHECK(sp_facebook_transfer_verdict(&r, 22420886, &a, &b) == SP_FB_CLASSIFY);
    CHECK(sp_graph_classify(&r) == SP_GRAPH_AUTH);
    sp_graph_resp_free(&r);
}

static void a_video_s_status_says_where_its_bytes_end_and_whether_it_is_published(void) {
    sp_graph_resp r;
    sp_fb_video_status st;
    parse_doc("video_status", &r);
    CHECK(sp_facebook_read_status(r.body, &st));
    CHECK(st.bytes_transferred == 50002 && st.uploaded && !st.publishing && !st.error);
    CHECK(!st.published);
    sp_graph_resp_free(&r);
    parse_doc("reels_status_published", &r);
    CHECK(sp_facebook_read_status(r.body, &st) && st.publishing && st.published && !st.error);
    sp_graph_resp_free(&r);
    parse_doc("video_status_error", &r);
    CHECK(sp_facebook_read_status(r.body, &st) && st.error && !st.publishing);
    CHECK_STR(st.error_message, "The video file you tried to upload is too short.");
    sp_graph_resp_free(&r);
    parse_doc("reels_start", &r);
    CHECK(!sp_facebook_read_status(r.body, &st) && st.bytes_transferred == -1);
    sp_graph_resp_free(&r);
    parse_doc("reels_finish", &r);
    CHECK(!r.failed && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.body, "success")));
    sp_graph_resp_free(&r);
}

/* Issue 15 item 5: vertical videos go as Reels; asReel overrides; unknown
 * shape: a regular video. */
static void vertical_videos_go_as_reels_unless_asked_otherwise(void) {
    cJSON *none = cJSON_CreateObject();
    CHECK(sp_facebook_as_reel(none, 1, 1080, 1920));
    CHECK(!sp_facebook_as_reel(none, 1, 1920, 1080));
    CHECK(!sp_facebook_as_reel(none, 1, 1080, 1080));
    CHECK(!sp_facebook_as_reel(none, 0, 0, 0));
    cJSON *yes = cJSON_Parse("{\"asReel\":true}");
    cJSON *no = cJSON_Parse("{\"asReel\":false}");
    cJSON *wrong = cJSON_Parse("{\"asReel\":\"yes\"}");
    CHECK(sp_facebook_as_reel(yes, 0, 0, 0) && sp_facebook_as_reel(yes, 1, 1920, 1080));
    CHECK(!sp_facebook_as_reel(no, 1, 1080, 1920));
    CHECK(sp_facebook_as_reel(wrong, 1, 1080, 1920) && !sp_facebook_as_reel(wrong, 0, 0, 0));
    cJSON_Delete(none);
    cJSON_Delete(yes);
    cJSON_Delete(no);
    cJSON_Delete(wrong);
}

int main(void) {
    a_transfer_goes_where_the_answer_says();
    a_transfer_at_the_wrong_offset_continues_where_facebook_is();
    resumable_upload_errors_send_the_same_chunk_again();
    another_file_is_asked_for_on_1363045();
    a_video_s_status_says_where_its_bytes_end_and_whether_it_is_published();
    vertical_videos_go_as_reels_unless_asked_otherwise();
    an_upload_goes_start_transfer_publishing_published();
    a_finish_sent_again_stays_publishing();
    nothing_skips_a_phase();
    a_published_video_stays_published();
    names_are_what_the_checkpoint_and_retry_read();
    return check_done("test_facebook");
}
