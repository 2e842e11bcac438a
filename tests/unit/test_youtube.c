/* Unit tests of youtube.c's phase machine: which phase follows which event. */
#include "check.h"
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

int main(void) {
    an_upload_goes_session_uploading_published();
    a_forgotten_session_starts_over();
    nothing_skips_a_phase();
    a_published_video_stays_published();
    names_are_what_the_checkpoint_and_retry_read();
    return check_done("test_youtube");
}
