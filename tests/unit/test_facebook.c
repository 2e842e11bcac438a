/* Unit tests of facebook.c's phase machine: which phase follows which event. */
#include "check.h"
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

int main(void) {
    an_upload_goes_start_transfer_publishing_published();
    a_finish_sent_again_stays_publishing();
    nothing_skips_a_phase();
    a_published_video_stays_published();
    names_are_what_the_checkpoint_and_retry_read();
    return check_done("test_facebook");
}
