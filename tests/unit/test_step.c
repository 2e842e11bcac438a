/* Unit tests of step.c and the adapters' use of their host: a fake host
 * records what an adapter asks of storage, with no database and no network. */
#include <stdlib.h>

#include "check.h"
#include "core/json.h"
#include "platforms/step.h"

typedef struct {
    int saves, tokens, videos, reports;
    long long confirmed, total; /* the last progress report */
    char last_phase[32];
    char reported_phase[32]; /* the checkpoint's phase at the last report */
    sp_err_kind fail_with;   /* SP_OK: saves succeed */
} fake_host;

static int fake_save(void *self, const sp_post *post, sp_err *err) {
    fake_host *h = self;
    h->saves++;
    const char *phase =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(post->checkpoint, "phase"));
    snprintf(h->last_phase, sizeof h->last_phase, "%s", phase ? phase : "");
    if (h->fail_with == SP_OK) return 0;
    return sp_err_set(err, h->fail_with, "lease_lost", "the delivery's lease was lost");
}

static int fake_token(void *self, const sp_post *post, const char *old_refresh_token,
                      sp_err *err) {
    (void)post, (void)old_refresh_token, (void)err;
    ((fake_host *)self)->tokens++;
    return 0;
}

static int fake_video(void *self, const sp_post *post, FILE **f, long long *size, sp_err *err) {
    (void)post, (void)f, (void)size;
    ((fake_host *)self)->videos++;
    return sp_err_set(err, SP_ERR_TRANSIENT, "network", "no video in unit tests");
}

static void fake_report(void *self, const sp_post *post, long long confirmed, long long total) {
    fake_host *h = self;
    h->reports++;
    h->confirmed = confirmed;
    h->total = total;
    const char *phase =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(post->checkpoint, "phase"));
    snprintf(h->reported_phase, sizeof h->reported_phase, "%s", phase ? phase : "");
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

static void setup(fixture *f, sp_platform platform, const char *checkpoint) {
    memset(f, 0, sizeof *f);
    f->host = (sp_step_host){.self = &f->state,
                             .save_checkpoint = fake_save,
                             .store_token = fake_token,
                             .open_video = fake_video,
                             .stopping = fake_stopping,
                             .report_progress = fake_report};
    f->post.platform = platform;
    f->post.checkpoint = cJSON_Parse(checkpoint);
    f->ctx = (sp_step_ctx){.post = &f->post, .host = &f->host};
}

static void teardown(fixture *f) {
    cJSON_Delete(f->post.checkpoint);
}

/* A two-phase machine: event 1 moves "one" to "two". */
static int one_two_after(int phase, int event) {
    return phase == 0 && event == 1 ? 1 : phase;
}

static const char *const one_two_names[] = {"one", "two"};
static const sp_phase_machine one_two = {one_two_names, 2, one_two_after};

static void the_phase_is_the_first_until_one_is_saved(void) {
    fixture f;
    setup(&f, SP_YOUTUBE, "{}");
    CHECK(sp_step_phase(&f.ctx, &one_two) == 0);
    sp_step_outcome out;
    CHECK(sp_step_advance(&f.ctx, &one_two, 0, &out) == 0); /* no move, still saved */
    CHECK_STR(f.state.last_phase, "one");
    CHECK(sp_step_advance(&f.ctx, &one_two, 1, &out) == 0);
    CHECK(f.state.saves == 2);
    CHECK_STR(f.state.last_phase, "two");
    CHECK(sp_step_phase(&f.ctx, &one_two) == 1);
    sp_step_cp_set_string(&f.ctx, "phase", "three"); /* unknown: the first */
    CHECK(sp_step_phase(&f.ctx, &one_two) == 0);
    CHECK_STR(sp_phase_name(&one_two, 2), "unknown");
    teardown(&f);
}

static void a_phase_change_and_confirmed_bytes_are_reported(void) {
    fixture f;
    setup(&f, SP_YOUTUBE, "{}");
    sp_step_outcome out;
    CHECK(sp_step_advance(&f.ctx, &one_two, 1, &out) == 0);
    CHECK(f.state.reports == 1 && f.state.total == 0); /* the phase only */
    CHECK_STR(f.state.reported_phase, "two");          /* reported after it was saved */
    sp_step_progress(&f.ctx, 300, 1200);
    CHECK(f.state.reports == 2 && f.state.confirmed == 300 && f.state.total == 1200);
    f.host.report_progress = NULL; /* a host that shows nothing */
    sp_step_progress(&f.ctx, 600, 1200);
    CHECK(sp_step_advance(&f.ctx, &one_two, 1, &out) == 0);
    CHECK(f.state.reports == 2);
    teardown(&f);
}

static void a_lost_lease_releases_the_delivery(void) {
    fixture f;
    setup(&f, SP_YOUTUBE, "{}");
    f.state.fail_with = SP_ERR_CONFLICT;
    sp_step_outcome out;
    CHECK(sp_step_advance(&f.ctx, &one_two, 1, &out) == -1);
    CHECK(out.kind == SP_STEP_RELEASED);
    CHECK(f.state.reports == 0); /* a phase that was not saved is not shown */
    teardown(&f);
}

static void a_published_youtube_video_reports_its_saved_url_and_visibility(void) {
    fixture f;
    setup(&f, SP_YOUTUBE,
          "{\"phase\": \"published\", \"videoId\": \"abc\", \"privacy\": \"private\","
          " \"url\": \"https://www.youtube.com/shorts/abc\"}");
    sp_step_outcome out;
    sp_adapter_for(SP_YOUTUBE)->step(&f.ctx, &out);
    CHECK(out.kind == SP_STEP_DONE);
    CHECK_STR(out.url, "https://www.youtube.com/shorts/abc");
    CHECK_STR(out.visibility, "private");
    CHECK_STR(out.thumbnail_error, "");
    CHECK(f.state.videos == 0 && f.state.saves == 0);
    teardown(&f);
}

static void a_thumbnail_that_may_have_gone_out_is_never_sent_again(void) {
    fixture f;
    setup(&f, SP_YOUTUBE,
          "{\"phase\": \"published\", \"videoId\": \"abc\", \"privacy\": \"public\","
          " \"thumbnail\": \"sending\"}");
    f.post.options = cJSON_Parse("{\"thumbnailUrl\": \"http://127.0.0.1:9/never.jpg\"}");
    f.post.access_token = "ya29.token";
    sp_step_outcome out;
    sp_adapter_for(SP_YOUTUBE)->step(&f.ctx, &out);
    CHECK(out.kind == SP_STEP_DONE); /* a thumbnail never fails the post */
    CHECK(strstr(out.thumbnail_error, "may not be set") != NULL);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(f.post.checkpoint, "thumbnail")), "done");
    CHECK(f.state.saves == 1 && f.state.videos == 0);
    cJSON_Delete(f.post.options);
    teardown(&f);
}

static void a_published_video_whose_token_cannot_be_refreshed_still_succeeds(void) {
    fixture f;
    setup(&f, SP_YOUTUBE, "{\"phase\": \"published\", \"videoId\": \"abc\"}");
    f.post.options = cJSON_Parse("{\"thumbnailUrl\": \"http://127.0.0.1:9/never.jpg\"}");
    sp_config cfg = {0}; /* no client credentials: the refresh is refused */
    f.ctx.cfg = &cfg;
    f.post.refresh_token = "1//r";
    sp_step_outcome out;
    sp_adapter_for(SP_YOUTUBE)->step(&f.ctx, &out);
    CHECK(out.kind == SP_STEP_DONE);
    CHECK(strstr(out.thumbnail_error, "the thumbnail was not set") != NULL);
    cJSON_Delete(f.post.options);
    teardown(&f);
}

static void a_published_youtube_video_is_reported_without_uploading(void) {
    fixture f;
    setup(&f, SP_YOUTUBE, "{\"phase\": \"published\", \"videoId\": \"abc\"}");
    sp_step_outcome out;
    sp_adapter_for(SP_YOUTUBE)->step(&f.ctx, &out);
    CHECK(out.kind == SP_STEP_DONE);
    CHECK_STR(out.url, "https://www.youtube.com/watch?v=abc"); /* not known to be a Short */
    CHECK(f.state.videos == 0 && f.state.saves == 0);
    teardown(&f);
}

static void a_published_reel_is_reported_from_its_checkpoint(void) {
    fixture f;
    setup(&f, SP_INSTAGRAM,
          "{\"phase\": \"published\", \"mediaId\": \"m1\", \"permalink\": \"https://i.test/p\"}");
    f.post.account_id = "ig1";
    f.post.access_token = "tok";
    sp_step_outcome out;
    sp_adapter_for(SP_INSTAGRAM)->step(&f.ctx, &out);
    CHECK(out.kind == SP_STEP_DONE);
    CHECK_STR(out.post_id, "m1");
    CHECK_STR(out.url, "https://i.test/p");
    teardown(&f);
}

static void no_account_fails_without_touching_storage(void) {
    static const sp_platform platforms[] = {SP_FACEBOOK, SP_INSTAGRAM};
    for (size_t i = 0; i < 2; i++) {
        fixture f;
        setup(&f, platforms[i], "{}");
        sp_step_outcome out;
        sp_adapter_for(platforms[i])->step(&f.ctx, &out);
        CHECK(out.kind == SP_STEP_FAILED);
        CHECK(f.state.saves == 0 && f.state.videos == 0 && f.state.tokens == 0);
        teardown(&f);
    }
}

static void a_video_that_cannot_be_read_retries(void) {
    fixture f;
    setup(&f, SP_FACEBOOK, "{}");
    f.post.account_id = "page1";
    f.post.access_token = "tok";
    sp_step_outcome out;
    sp_adapter_for(SP_FACEBOOK)->step(&f.ctx, &out);
    CHECK(out.kind == SP_STEP_RETRY && f.state.videos == 1 && f.state.saves == 0);
    teardown(&f);
}

/* A checkpoint whose phase says a post may have gone out, without the id
 * that lets the adapter look: failed (starting over could post twice), no
 * crash, no platform call, no video opened. */
static void checkpoints_without_their_ids_fail_without_calls(void) {
    static const struct {
        sp_platform platform;
        const char *checkpoint;
    } cases[] = {
        {SP_FACEBOOK, "{\"phase\": \"publishing\"}"},
        {SP_FACEBOOK, "{\"phase\": \"publishing\", \"videoId\": \"v1\"}"},
        {SP_FACEBOOK, "{\"phase\": \"transfer\", \"sessionId\": \"s1\"}"},
        {SP_FACEBOOK, "{\"phase\": \"published\"}"},
        {SP_INSTAGRAM, "{\"phase\": \"publishing\"}"},
        {SP_INSTAGRAM, "{\"phase\": \"published\"}"},
        {SP_YOUTUBE, "{\"phase\": \"published\"}"},
        {SP_YOUTUBE, "{\"phase\": \"published\", \"videoId\": \"\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fixture f;
        setup(&f, cases[i].platform, cases[i].checkpoint);
        f.post.account_id = "acct1";
        f.post.access_token = "tok";
        sp_step_outcome out;
        sp_adapter_for(cases[i].platform)->step(&f.ctx, &out);
        CHECK(out.kind == SP_STEP_FAILED && f.state.videos == 0);
        if (out.kind != SP_STEP_FAILED)
            fprintf(stderr, "  %s: %s\n", cases[i].checkpoint, out.message);
        teardown(&f);
    }
}

static void messages_are_cut_on_a_character_boundary(void) {
    char text[600];
    size_t n = 0;
    while (n + 3 < sizeof text) { /* "あ", three bytes each */
        memcpy(text + n, "\xe3\x81\x82", 3);
        n += 3;
    }
    text[n] = '\0';
    sp_step_outcome out;
    for (int shift = 0; shift < 3; shift++) {
        sp_step_set(&out, SP_STEP_FAILED, "%.*sX: %s", shift, "ab", text);
        CHECK(sp_utf8_valid(out.message, strlen(out.message)));
        CHECK(strlen(out.message) >= sizeof out.message - 4);
    }
    sp_step_set(&out, SP_STEP_RETRY, "raw \xff\xfe bytes");
    CHECK_STR(out.message, "raw ?? bytes");
}

static void checkpoint_counts_are_whole_numbers_in_range(void) {
    fixture f;
    setup(&f, SP_FACEBOOK,
          "{\"a\": 42, \"big\": 9223372036854775807, \"huge\": 1e300, \"neg\": -1,"
          " \"frac\": 1.5, \"text\": \"7\", \"max\": 9007199254740992}");
    CHECK(sp_step_cp_count(&f.ctx, "a", -1) == 42);
    CHECK(sp_step_cp_count(&f.ctx, "big", -1) == -1);
    CHECK(sp_step_cp_count(&f.ctx, "huge", -1) == -1);
    CHECK(sp_step_cp_count(&f.ctx, "neg", -1) == -1);
    CHECK(sp_step_cp_count(&f.ctx, "frac", -1) == -1);
    CHECK(sp_step_cp_count(&f.ctx, "text", -1) == -1);
    CHECK(sp_step_cp_count(&f.ctx, "missing", 5) == 5);
    CHECK(sp_step_cp_count(&f.ctx, "max", -1) == 9007199254740992LL);
    teardown(&f);
}

int main(void) {
    checkpoints_without_their_ids_fail_without_calls();
    messages_are_cut_on_a_character_boundary();
    checkpoint_counts_are_whole_numbers_in_range();
    the_phase_is_the_first_until_one_is_saved();
    a_phase_change_and_confirmed_bytes_are_reported();
    a_lost_lease_releases_the_delivery();
    a_published_youtube_video_is_reported_without_uploading();
    a_published_youtube_video_reports_its_saved_url_and_visibility();
    a_thumbnail_that_may_have_gone_out_is_never_sent_again();
    a_published_video_whose_token_cannot_be_refreshed_still_succeeds();
    a_published_reel_is_reported_from_its_checkpoint();
    no_account_fails_without_touching_storage();
    a_video_that_cannot_be_read_retries();
    return check_done("test_step");
}
