/* test_mp4: the picture size and duration read from MP4 headers, fast-start
 * or not, rotated, with an audio track first, and what is not an MP4. The
 * files are the fuzz target's seeds (tests/fuzz/corpus/mp4/), made by
 * tests/fakes/mp4file.py as the fake video server makes its videos. */
#include <stdlib.h>

#include "check.h"
#include "core/mp4.h"

#define CORPUS SP_PLATFORM_DOCS_DIR "/../fuzz/corpus/mp4/"

static unsigned char buf[1 << 16];

/* Reads a seed file into buf; its length. */
static size_t load(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s%s", CORPUS, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "missing %s\n", path);
        exit(1);
    }
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return n;
}

static void vertical_fast_start_is_read_from_its_first_bytes(void) {
    size_t n = load("vertical_fast_start");
    sp_mp4_info info;
    long long need = 0;
    CHECK(sp_mp4_probe_buffer(buf, 600, &info, &need) == 1); /* the header is in the first 600 */
    CHECK(info.has_video && info.width == 1080 && info.height == 1920);
    CHECK(info.duration > 29.99 && info.duration < 30.01);
    CHECK(sp_mp4_is_vertical(&info));
    CHECK(sp_mp4_probe_buffer(buf, n, &info, &need) == 1);
}

static void header_at_the_end_asks_for_the_bytes_that_hold_it(void) {
    size_t n = load("landscape_moov_at_end");
    sp_mp4_info info;
    long long need = 0;
    CHECK(sp_mp4_probe_buffer(buf, 1024, &info, &need) == 0);
    CHECK(need > 1024 && need < (long long)n); /* first the header of the box after mdat */
    long long box_header = need;
    CHECK(sp_mp4_probe_buffer(buf, (size_t)box_header, &info, &need) == 0);
    CHECK(need == (long long)n); /* then the whole moov box, which ends the file */
    CHECK(sp_mp4_probe_buffer(buf, n, &info, &need) == 1);
    CHECK(info.width == 1920 && info.height == 1080 && !sp_mp4_is_vertical(&info));
    CHECK(info.duration > 61.49 && info.duration < 61.51);
}

static void rotated_track_counts_as_displayed(void) {
    size_t n = load("rotated_90");
    sp_mp4_info info;
    long long need;
    CHECK(sp_mp4_probe_buffer(buf, n, &info, &need) == 1);
    CHECK(info.width == 1080 && info.height == 1920 && sp_mp4_is_vertical(&info));
}

static void video_track_is_found_after_an_audio_track(void) {
    size_t n = load("audio_track_first");
    sp_mp4_info info;
    long long need;
    CHECK(sp_mp4_probe_buffer(buf, n, &info, &need) == 1);
    CHECK(info.has_video && info.width == 720 && info.height == 1280);
}

static void large_size_boxes_are_walked(void) {
    size_t n = load("largesize_mdat");
    sp_mp4_info info;
    long long need;
    CHECK(sp_mp4_probe_buffer(buf, n, &info, &need) == 1);
    CHECK(info.width == 720 && info.height == 1280);
}

static void what_is_not_an_mp4_is_unknown(void) {
    sp_mp4_info info;
    long long need = 0;
    const char *text = "<html>not found</html>";
    CHECK(sp_mp4_probe_buffer((const unsigned char *)text, strlen(text), &info, &need) == -1);
    /* a box size larger than any file, and one smaller than its own header */
    unsigned char huge[16] = {0, 0, 0, 1, 'f', 't', 'y', 'p', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    CHECK(sp_mp4_probe_buffer(huge, sizeof huge, &info, &need) == -1);
    unsigned char tiny[8] = {0, 0, 0, 4, 'f', 't', 'y', 'p'};
    CHECK(sp_mp4_probe_buffer(tiny, sizeof tiny, &info, &need) == -1);
    /* a file that has no moov at all and nothing after its last box: wait for more */
    size_t n = load("vertical_fast_start");
    CHECK(sp_mp4_probe_buffer(buf, 20, &info, &need) == 0 && need > 20);
    (void)n;
}

int main(void) {
    vertical_fast_start_is_read_from_its_first_bytes();
    header_at_the_end_asks_for_the_bytes_that_hold_it();
    rotated_track_counts_as_displayed();
    video_track_is_found_after_an_audio_track();
    large_size_boxes_are_walked();
    what_is_not_an_mp4_is_unknown();
    return check_done("test_mp4");
}
