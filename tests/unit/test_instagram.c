/* Unit tests of instagram.c's phase machine: which phase follows which event. */
#include "check.h"
#include "platforms/instagram.h"

static sp_ig_phase after(sp_ig_phase p, sp_ig_event e) {
    return sp_instagram_phase_after(p, e);
}

static void a_reel_goes_container_processing_publishing_published(void) {
    sp_ig_phase p = SP_IG_CONTAINER;
    p = after(p, SP_IG_CREATED);
    CHECK(p == SP_IG_PROCESSING);
    p = after(p, SP_IG_READY);
    CHECK(p == SP_IG_PUBLISHING);
    p = after(p, SP_IG_MEDIA_KNOWN);
    CHECK(p == SP_IG_PUBLISHED);
}

static void a_container_not_ready_after_all_goes_back_to_processing(void) {
    CHECK(after(SP_IG_PUBLISHING, SP_IG_NOT_READY) == SP_IG_PROCESSING);
    CHECK(after(SP_IG_PROCESSING, SP_IG_NOT_READY) == SP_IG_PROCESSING);
}

static void a_container_found_published_is_recorded_not_published_again(void) {
    /* the container read PUBLISHED: the media is looked up and recorded */
    CHECK(after(SP_IG_PROCESSING, SP_IG_MEDIA_KNOWN) == SP_IG_PUBLISHED);
}

static void nothing_skips_a_phase(void) {
    CHECK(after(SP_IG_CONTAINER, SP_IG_READY) == SP_IG_CONTAINER);
    CHECK(after(SP_IG_CONTAINER, SP_IG_MEDIA_KNOWN) == SP_IG_CONTAINER);
    CHECK(after(SP_IG_PROCESSING, SP_IG_CREATED) == SP_IG_PROCESSING);
    CHECK(after(SP_IG_PUBLISHING, SP_IG_READY) == SP_IG_PUBLISHING);
}

static void a_published_reel_stays_published(void) {
    CHECK(after(SP_IG_PUBLISHED, SP_IG_CREATED) == SP_IG_PUBLISHED);
    CHECK(after(SP_IG_PUBLISHED, SP_IG_READY) == SP_IG_PUBLISHED);
    CHECK(after(SP_IG_PUBLISHED, SP_IG_NOT_READY) == SP_IG_PUBLISHED);
    CHECK(after(SP_IG_PUBLISHED, SP_IG_MEDIA_KNOWN) == SP_IG_PUBLISHED);
}

static void names_are_what_the_checkpoint_and_retry_read(void) {
    CHECK_STR(sp_instagram_phase_name(SP_IG_CONTAINER), "container");
    CHECK_STR(sp_instagram_phase_name(SP_IG_PROCESSING), "processing");
    CHECK_STR(sp_instagram_phase_name(SP_IG_PUBLISHING), "publishing");
    CHECK_STR(sp_instagram_phase_name(SP_IG_PUBLISHED), "published");
}

int main(void) {
    a_reel_goes_container_processing_publishing_published();
    a_container_not_ready_after_all_goes_back_to_processing();
    a_container_found_published_is_recorded_not_published_again();
    nothing_skips_a_phase();
    a_published_reel_stays_published();
    names_are_what_the_checkpoint_and_retry_read();
    return check_done("test_instagram");
}
