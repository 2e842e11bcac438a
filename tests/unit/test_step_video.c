/* Unit tests of step.c's video versions: the version of the video a post
 * uploads is in its checkpoint, saved before the first byte can reach the
 * platform; a later open of another version fails the post when bytes of
 * the old one may have gone out, and starts it afresh when none had. A fake
 * host serves the video from memory, with no database and no network. */
#include <stdlib.h>

#include "check.h"
#include "core/json.h"
#include "platforms/step.h"

typedef struct {
    int saves, opens;
    const char *validator; /* what names the video the host has now */
    long long size;
    FILE *open;          /* the file open_video gave last */
    char saved[512];     /* the checkpoint as last saved */
} fake_host;

static int fake_save(void *self, const sp_post *post, sp_err *err) {
    (void)err;
    fake_host *h = self;
    h->saves++;
    char *text = sp_json_print(post->checkpoint);
    snprintf(h->saved, sizeof h->saved, "%s", text ? text : "");
    free(text);
    return 0;
}

static int fake_token(void *self, const sp_post *post, const char *old_refresh_token,
                      sp_err *err) {
    (void)self, (void)post, (void)old_refresh_token, (void)err;
    return 0;
}

static int fake_open(void *self, const sp_post *post, FILE **f, long long *size, sp_err *err) {
    (void)post;
    fake_host *h = self;
    h->opens++;
    *f = tmpfile();
    if (!*f) return sp_err_set(err, SP_ERR_TRANSIENT, "spool", "no temp file");
    for (long long i = 0; i < h->size; i++)
        fputc('v', *f);
    rewind(*f);
    *size = h->size;
    h->open = *f;
    return 0;
}

static int fake_wait(void *self, FILE *f, long long end, sp_err *err) {
    (void)self, (void)f, (void)end, (void)err;
    return 0;
}

static const char *fake_validator(void *self, FILE *f) {
    fake_host *h = self;
    return f == h->open ? h->validator : NULL;
}

static bool fake_stopping(void *self) {
    (void)self;
    return false;
}

typedef struct {
    fake_host state;
    sp_step_host host;
    sp_post post;
    sp_step_ctx ctx;
} fixture;

static void setup(fixture *f, const char *checkpoint, const char *validator, long long size) {
    memset(f, 0, sizeof *f);
    f->state.validator = validator;
    f->state.size = size;
    f->host = (sp_step_host){.self = &f->state,
                             .save_checkpoint = fake_save,
                             .store_token = fake_token,
                             .open_video = fake_open,
                             .wait_video = fake_wait,
                             .video_validator = fake_validator,
                             .stopping = fake_stopping};
    f->post.platform = SP_YOUTUBE;
    f->post.checkpoint = cJSON_Parse(checkpoint);
    f->ctx = (sp_step_ctx){.post = &f->post, .host = &f->host};
}

static void teardown(fixture *f) {
    cJSON_Delete(f->post.checkpoint);
}

static void the_version_is_saved_before_the_first_byte_can_go_out(void) {
    fixture f;
    setup(&f, "{}", "\"v1\"", 100);
    FILE *video = NULL;
    long long size = 0;
    sp_step_outcome out;
    CHECK(sp_step_video(&f.ctx, &video, &size, &out) == 0 && video && size == 100);
    CHECK(f.state.saves == 0); /* opening sends nothing */
    CHECK(cJSON_GetArraySize(f.post.checkpoint) == 0); /* nothing is on the platform */
    CHECK(sp_step_video_wait(&f.ctx, video, 0, &out) == 0 && f.state.saves == 0);
    CHECK(sp_step_video_wait(&f.ctx, video, 50, &out) == 0);
    CHECK(f.state.saves == 1); /* before the first byte */
    CHECK(strstr(f.state.saved, "\"video\":{\"validator\":\"\\\"v1\\\"\",\"size\":100,\"sent\":true}"));
    CHECK(sp_step_video_wait(&f.ctx, video, 100, &out) == 0 && f.state.saves == 1); /* once */
    if (video) fclose(video);
    teardown(&f);
}

/* The worker's own count of quota waits says nothing is on the platform:
 * a checkpoint holding only it is empty to the adapter, and stays so. */
static void the_workers_own_key_leaves_a_checkpoint_empty(void) {
    fixture f;
    setup(&f, "{\"" SP_STEP_CP_QUOTA_BACKOFFS "\": 2}", "\"v1\"", 100);
    FILE *video = NULL;
    long long size = 0;
    sp_step_outcome out;
    CHECK(sp_step_video(&f.ctx, &video, &size, &out) == 0 && video);
    CHECK(!cJSON_GetObjectItemCaseSensitive(f.post.checkpoint, "video")); /* not noted yet */
    CHECK(f.state.saves == 0);
    if (video) fclose(video);
    teardown(&f);
}

static void a_session_is_recorded_with_the_version_it_was_made_for(void) {
    fixture f;
    setup(&f, "{\"phase\": \"uploading\", \"session\": \"s\"}", "\"v1\"", 100);
    FILE *video = NULL;
    long long size = 0;
    sp_step_outcome out;
    CHECK(sp_step_video(&f.ctx, &video, &size, &out) == 0 && video);
    CHECK(cJSON_GetObjectItemCaseSensitive(f.post.checkpoint, "video") != NULL); /* in memory */
    CHECK(sp_step_save(&f.ctx, &out) == 0 && strstr(f.state.saved, "\"size\":100"));
    if (video) fclose(video);
    teardown(&f);
}

static void the_same_version_goes_on(void) {
    fixture f;
    setup(&f, "{\"phase\": \"uploading\", \"video\": {\"validator\": \"\\\"v1\\\"\", \"size\": 100,"
              " \"sent\": true}}",
          "\"v1\"", 100);
    FILE *video = NULL;
    long long size = 0;
    sp_step_outcome out;
    CHECK(sp_step_video(&f.ctx, &video, &size, &out) == 0 && video);
    CHECK(sp_step_video_wait(&f.ctx, video, 100, &out) == 0 && f.state.saves == 0);
    if (video) fclose(video);
    teardown(&f);
}

static void another_version_after_bytes_went_out_fails_before_a_byte_is_sent(void) {
    const char *cp = "{\"phase\": \"uploading\", \"session\": \"s\", \"video\": {\"validator\":"
                     " \"\\\"v1\\\"\", \"size\": 100, \"sent\": true}}";
    const struct {
        const char *validator;
        long long size;
    } others[] = {{"\"v2\"", 100}, {"\"v1\"", 99}, {"", 100}};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        fixture f;
        setup(&f, cp, others[i].validator, others[i].size);
        FILE *video = NULL;
        long long size = 0;
        sp_step_outcome out;
        /* opened: the adapter may still learn the upload had finished */
        CHECK(sp_step_video(&f.ctx, &video, &size, &out) == 0 && video);
        CHECK(sp_step_video_wait(&f.ctx, video, 0, &out) == 0);
        CHECK(sp_step_video_wait(&f.ctx, video, 1, &out) == -1); /* but sends nothing */
        CHECK(out.kind == SP_STEP_FAILED && strstr(out.message, "changed"));
        CHECK(sp_step_cp_string(&f.ctx, "session") != NULL); /* nothing forgotten */
        CHECK(f.state.saves == 0);
        if (video) fclose(video);
        teardown(&f);
    }
}

static void another_version_before_any_byte_went_out_starts_afresh(void) {
    fixture f;
    setup(&f, "{\"phase\": \"uploading\", \"session\": \"s\", \"video\": {\"validator\":"
              " \"\\\"v1\\\"\", \"size\": 100}}",
          "\"v2\"", 120);
    FILE *video = NULL;
    long long size = 0;
    sp_step_outcome out;
    CHECK(sp_step_video(&f.ctx, &video, &size, &out) == -1 && !video);
    CHECK(out.kind == SP_STEP_WAIT && out.delay == 0);
    CHECK(cJSON_GetArraySize(f.post.checkpoint) == 0); /* a new session next time */
    /* the next step records the new version */
    CHECK(sp_step_video(&f.ctx, &video, &size, &out) == 0 && video && size == 120);
    CHECK(sp_step_video_wait(&f.ctx, video, 1, &out) == 0 && f.state.saves == 1);
    CHECK(strstr(f.state.saved, "\\\"v2\\\"") && strstr(f.state.saved, "\"size\":120"));
    if (video) fclose(video);
    teardown(&f);
}

static void a_post_that_may_exist_is_never_judged_by_its_video(void) {
    fixture f;
    setup(&f, "{\"phase\": \"publishing\", \"video\": {\"validator\": \"\\\"v1\\\"\","
              " \"size\": 100, \"sent\": true}}",
          "\"v2\"", 100);
    FILE *video = NULL;
    long long size = 0;
    sp_step_outcome out;
    CHECK(sp_step_video(&f.ctx, &video, &size, &out) == 0 && video);
    if (video) fclose(video);
    teardown(&f);
}

static void reading_the_header_is_not_sending(void) {
    fixture f;
    setup(&f, "{}", "\"v1\"", 100);
    FILE *video = NULL;
    long long size = 0;
    sp_step_outcome out;
    sp_mp4_info info;
    CHECK(sp_step_video(&f.ctx, &video, &size, &out) == 0 && video);
    CHECK(sp_step_video_info(&f.ctx, video, size, &info, &out) == 0); /* not an MP4 */
    CHECK(f.state.saves == 0);
    CHECK(!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(f.post.checkpoint, "video"), "sent")));
    if (video) fclose(video);
    teardown(&f);
}

static void a_host_that_names_no_version_is_not_judged(void) {
    fixture f;
    setup(&f, "{\"video\": {\"validator\": \"\\\"v1\\\"\", \"size\": 100, \"sent\": true}}",
          "\"v2\"", 100);
    f.host.video_validator = NULL;
    FILE *video = NULL;
    long long size = 0;
    sp_step_outcome out;
    CHECK(sp_step_video(&f.ctx, &video, &size, &out) == 0 && video);
    if (video) fclose(video);
    teardown(&f);
}

int main(void) {
    the_version_is_saved_before_the_first_byte_can_go_out();
    a_session_is_recorded_with_the_version_it_was_made_for();
    the_workers_own_key_leaves_a_checkpoint_empty();
    the_same_version_goes_on();
    another_version_after_bytes_went_out_fails_before_a_byte_is_sent();
    another_version_before_any_byte_went_out_starts_afresh();
    a_post_that_may_exist_is_never_judged_by_its_video();
    reading_the_header_is_not_sending();
    a_host_that_names_no_version_is_not_judged();
    return check_done("test_step_video");
}
