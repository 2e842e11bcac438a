/* Unit tests of delivery.c: how a step's outcome moves a delivery. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/json.h"
#include "queue/delivery.h"

static const sp_retry_policy policy = {.max_attempts = 4, .backoff_base = 10, .backoff_max = 60};

static sp_transition after_releases(sp_step_kind kind, int attempts, int releases, double delay,
                                    double jitter) {
    sp_step_outcome o;
    memset(&o, 0, sizeof o);
    o.kind = kind;
    o.delay = delay;
    strcpy(o.message, "HTTP 503");
    sp_transition t;
    sp_delivery_history h = {.attempts = attempts, .releases = releases};
    sp_delivery_transition(&o, &h, &policy, jitter, &t);
    return t;
}

static sp_transition after(sp_step_kind kind, int attempts, double delay, double jitter) {
    return after_releases(kind, attempts, 0, delay, jitter);
}

static void done_and_failed_are_final(void) {
    sp_transition t = after(SP_STEP_DONE, 0, -1, 0.5);
    CHECK(t.state == SP_DELIVERY_SUCCEEDED && t.message[0] == '\0' && !t.count_attempt);
    t = after(SP_STEP_FAILED, 2, -1, 0.5);
    CHECK(t.state == SP_DELIVERY_FAILED);
    CHECK_STR(t.message, "HTTP 503");
}

static void retries_back_off_exponentially_with_jitter_and_cap(void) {
    sp_transition t = after(SP_STEP_RETRY, 0, -1, 0.5);
    CHECK(t.state == SP_DELIVERY_QUEUED && t.count_attempt && t.run_in == 10);
    CHECK(after(SP_STEP_RETRY, 1, -1, 0.5).run_in == 20);
    CHECK(after(SP_STEP_RETRY, 2, -1, 0.0).run_in == 20); /* 40 * 0.5 */
    CHECK(after(SP_STEP_RETRY, 2, -1, 0.99).run_in > 59); /* 40 * 1.49 */
    sp_retry_policy many = policy;
    many.max_attempts = 100;
    sp_step_outcome o = {.kind = SP_STEP_RETRY, .delay = -1};
    sp_transition capped;
    sp_delivery_history h = {.attempts = 20};
    sp_delivery_transition(&o, &h, &many, 0.5, &capped);
    CHECK(capped.run_in == 60);
}

static void retry_after_wins_when_longer(void) {
    CHECK(after(SP_STEP_RETRY, 0, 120, 0.5).run_in == 120);
    CHECK(after(SP_STEP_RETRY, 0, 1, 0.5).run_in == 10);
}

static void too_many_retries_fail_with_the_last_error(void) {
    sp_transition t = after(SP_STEP_RETRY, 3, -1, 0.5);
    CHECK(t.state == SP_DELIVERY_FAILED);
    CHECK_STR(t.message, "gave up after 4 attempts: HTTP 503");
}

static void waits_and_releases_do_not_count_as_attempts(void) {
    sp_transition t = after(SP_STEP_WAIT, 3, 7, 0.5);
    CHECK(t.state == SP_DELIVERY_QUEUED && !t.count_attempt && t.run_in == 7);
    t = after(SP_STEP_RELEASED, 3, -1, 0.5);
    CHECK(t.state == SP_DELIVERY_QUEUED && !t.count_attempt && t.run_in == 0 && t.count_release);
    CHECK(!after(SP_STEP_RETRY, 0, -1, 0.5).count_release); /* anything else ends the row */
}

/* A platform quota: queued until it allows the call, shown as such, no attempt. */
static void quota_waits_are_shown_and_not_counted(void) {
    sp_step_outcome o;
    sp_step_quota(&o, 3600, "quota used up");
    sp_transition t;
    sp_delivery_history h = {.attempts = 7};
    sp_delivery_transition(&o, &h, &policy, 0.5, &t);
    CHECK(t.state == SP_DELIVERY_QUEUED && t.quota && !t.count_attempt && t.run_in == 3600);
    CHECK_STR(t.message, "quota used up");
    CHECK(!after(SP_STEP_WAIT, 0, 5, 0.5).quota); /* a transcoding wait is not a quota */
    CHECK(!after(SP_STEP_RETRY, 0, 5, 0.5).quota);
}

/* A quota without a time from the platform (Meta's throttling without an
 * estimate) backs off as retries do, from the worker's base, growing with
 * such waits in a row and capped at backoff_max; it never counts an attempt,
 * however long the row. */
static void quota_waits_without_a_time_back_off_and_never_count(void) {
    const sp_retry_policy fast = {.max_attempts = 4, .backoff_base = 0.2, .backoff_max = 900};
    sp_step_outcome o;
    sp_step_quota_backoff(&o, -1, "rate limit reached");
    sp_delivery_history h = {.attempts = 3}; /* one more attempt would fail it */
    double want = 0.2;
    for (int n = 0; n < 20; n++, want *= 2) {
        sp_transition t;
        h.quota_backoffs = n;
        sp_delivery_transition(&o, &h, &fast, 0.5, &t);
        CHECK(t.state == SP_DELIVERY_QUEUED && t.quota && t.quota_backoff && !t.count_attempt);
        CHECK(t.run_in == (want < 900 ? want : 900)); /* 0.2, 0.4, 0.8, ... 900 */
    }
    sp_transition t;
    h.quota_backoffs = 3;
    sp_delivery_transition(&o, &h, &fast, 0.0, &t);
    CHECK(t.run_in == 0.8); /* jitter: 1.6 * 0.5 */
    sp_delivery_transition(&o, &h, &fast, 0.99, &t);
    CHECK(t.run_in > 2.38 && t.run_in < 2.4); /* 1.6 * 1.49 */
    h.quota_backoffs = SP_QUOTA_BACKOFFS_MAX;
    sp_delivery_transition(&o, &h, &fast, 0.99, &t);
    CHECK(t.run_in == 900); /* the cap holds, jitter included */
    h.quota_backoffs = 0;
    sp_step_quota_backoff(&o, 30, "rate limit reached"); /* Retry-After: the floor */
    sp_delivery_transition(&o, &h, &fast, 0.5, &t);
    CHECK(t.quota_backoff && t.run_in == 30 && !t.count_attempt);
    /* the platform's own time is kept as it is, whatever the row */
    sp_step_quota(&o, 19 * 60, "rate limit reached");
    h.quota_backoffs = 5;
    sp_delivery_transition(&o, &h, &fast, 0.5, &t);
    CHECK(t.quota && !t.quota_backoff && t.run_in == 19 * 60 && !t.count_attempt);
}

/* Puts n as the row of quota backoffs in checkpoint cp. */
static void set_backoffs(cJSON *cp, int n) {
    cJSON_DeleteItemFromObjectCaseSensitive(cp, SP_STEP_CP_QUOTA_BACKOFFS);
    cJSON_AddNumberToObject(cp, SP_STEP_CP_QUOTA_BACKOFFS, n);
}

/* The row of quota waits without a time lives in the checkpoint under the
 * worker's key: one more after each such wait, unchanged by a release,
 * gone after anything else. */
static void the_row_of_quota_backoffs_is_kept_in_the_checkpoint(void) {
    const sp_retry_policy fast = {.max_attempts = 4, .backoff_base = 0.2, .backoff_max = 900};
    cJSON *cp = cJSON_Parse("{\"phase\":\"transfer\"}");
    sp_step_outcome o;
    sp_transition t;
    sp_delivery_history h = {0};
    sp_step_quota_backoff(&o, -1, "rate limit reached");
    for (int n = 0; n < 3; n++) {
        h.quota_backoffs = sp_delivery_quota_backoffs(cp);
        CHECK(h.quota_backoffs == n);
        sp_delivery_transition(&o, &h, &fast, 0.5, &t);
        CHECK(t.run_in == 0.2 * (1 << n));
        CHECK(sp_delivery_note_quota_backoffs(cp, &o, &t, &h));
    }
    CHECK(sp_delivery_quota_backoffs(cp) == 3);
    sp_step_set(&o, SP_STEP_RELEASED, "worker stopping");
    h.quota_backoffs = 3;
    sp_delivery_transition(&o, &h, &fast, 0.5, &t);
    CHECK(sp_delivery_note_quota_backoffs(cp, &o, &t, &h) && sp_delivery_quota_backoffs(cp) == 3);
    const sp_step_kind others[] = {SP_STEP_DONE, SP_STEP_FAILED, SP_STEP_RETRY, SP_STEP_WAIT};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        set_backoffs(cp, 3);
        sp_step_set(&o, others[i], "anything else");
        sp_delivery_transition(&o, &h, &fast, 0.5, &t);
        CHECK(sp_delivery_note_quota_backoffs(cp, &o, &t, &h));
        CHECK(!cJSON_GetObjectItemCaseSensitive(cp, SP_STEP_CP_QUOTA_BACKOFFS));
    }
    sp_step_quota(&o, 600, "estimated"); /* a wait of the platform's time ends the row too */
    set_backoffs(cp, 3);
    sp_delivery_transition(&o, &h, &fast, 0.5, &t);
    CHECK(sp_delivery_note_quota_backoffs(cp, &o, &t, &h) && sp_delivery_quota_backoffs(cp) == 0);
    char *left = cJSON_PrintUnformatted(cp); /* the adapter's keys untouched */
    CHECK_STR(left, "{\"phase\":\"transfer\"}");
    free(left);
    /* what a checkpoint holds there that is not a count reads as none */
    const char *bad[] = {"{\"quotaBackoffs\":-1}", "{\"quotaBackoffs\":1.5}",
                         "{\"quotaBackoffs\":\"3\"}", "{\"quotaBackoffs\":1e300}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *b = cJSON_Parse(bad[i]);
        CHECK(sp_delivery_quota_backoffs(b) == 0);
        cJSON_Delete(b);
    }
    CHECK(sp_delivery_quota_backoffs(NULL) == 0);
    cJSON_Delete(cp);
}

/* A delivery that keeps being put back (claim, abort, requeue) must not cycle
 * for ever: past SP_FREE_RELEASES in a row, each release is an attempt. */
static void repeated_releases_count_toward_the_attempt_limit(void) {
    sp_transition t = after_releases(SP_STEP_RELEASED, 0, SP_FREE_RELEASES - 1, -1, 0.5);
    CHECK(t.state == SP_DELIVERY_QUEUED && !t.count_attempt && t.count_release);
    t = after_releases(SP_STEP_RELEASED, 0, SP_FREE_RELEASES, -1, 0.5);
    CHECK(t.state == SP_DELIVERY_QUEUED && t.count_attempt && t.count_release && t.run_in == 10);
    t = after_releases(SP_STEP_RELEASED, 3, SP_FREE_RELEASES + 5, -1, 0.5);
    CHECK(t.state == SP_DELIVERY_FAILED);
    CHECK_STR(t.message, "gave up after 4 attempts: HTTP 503");
}

/* Applies t to a delivery's counters as social_post_record does. */
static void apply(const sp_transition *t, sp_delivery_history *h) {
    h->attempts += t->count_attempt ? 1 : 0;
    h->releases = t->count_release ? h->releases + 1 : 0;
}

/* cron's --max-runtime 600 releases an upload every ten minutes: one that
 * needs 100 minutes (ten releases, each after checkpointed progress) must
 * go on to the end, not fail after three free releases and the attempts. */
static void releases_after_checkpointed_progress_never_count(void) {
    sp_step_outcome o;
    sp_step_set(&o, SP_STEP_RELEASED, "worker stopping; upload resumes at byte 1");
    sp_delivery_history h = {.attempts = 0, .releases = 0, .progressed = true};
    for (int run = 0; run < 10 * policy.max_attempts; run++) {
        sp_transition t;
        sp_delivery_transition(&o, &h, &policy, 0.5, &t);
        CHECK(t.state == SP_DELIVERY_QUEUED && t.run_in == 0 && !t.count_attempt);
        apply(&t, &h);
    }
    CHECK(h.attempts == 0 && h.releases == 0);
}

/* Progress ends a row of releases without it: the next ones are free again. */
static void progress_starts_the_row_of_releases_again(void) {
    sp_step_outcome o;
    sp_step_set(&o, SP_STEP_RELEASED, "the lease was lost");
    sp_delivery_history h = {.attempts = 1, .releases = SP_FREE_RELEASES + 2, .progressed = true};
    sp_transition t;
    sp_delivery_transition(&o, &h, &policy, 0.5, &t);
    CHECK(t.state == SP_DELIVERY_QUEUED && !t.count_attempt && !t.count_release);
    apply(&t, &h);
    h.progressed = false;
    for (int i = 0; i < SP_FREE_RELEASES; i++) {
        sp_delivery_transition(&o, &h, &policy, 0.5, &t);
        CHECK(t.state == SP_DELIVERY_QUEUED && !t.count_attempt && t.count_release);
        apply(&t, &h);
    }
    sp_delivery_transition(&o, &h, &policy, 0.5, &t); /* no progress, one too many */
    CHECK(t.state == SP_DELIVERY_QUEUED && t.count_attempt && t.count_release);
    CHECK(h.attempts == 1);
}

static void messages_stay_valid_utf8(void) {
    sp_step_outcome o;
    memset(&o, 0, sizeof o);
    o.kind = SP_STEP_RETRY;
    for (size_t i = 0; i + 3 < sizeof o.message; i += 3)
        memcpy(o.message + i, "\xe6\x97\xa5", 3);
    sp_transition t;
    sp_delivery_history h = {.attempts = 3};
    sp_delivery_transition(&o, &h, &policy, 0.5, &t); /* "gave up after 4 attempts: " + text */
    CHECK(t.state == SP_DELIVERY_FAILED && sp_utf8_valid(t.message, strlen(t.message)));
}

/* Users write jobs straight through Supabase: the worker checks a claimed
 * delivery as the API would have, and fails it with the API's words. */
static void claimed_deliveries_are_checked_as_the_api_would(void) {
    char title[120];
    memset(title, 'T', 101);
    title[101] = '\0';
    sp_delivery d;
    memset(&d, 0, sizeof d);
    d.video_owned = true;
    d.post.platform = SP_YOUTUBE;
    d.post.title = "Fine";
    d.post.video_url = "https://cdn.example/v.mp4";
    sp_err err;
    CHECK(sp_delivery_check(&d, &err) == 0);
    d.post.title = title;
    CHECK(sp_delivery_check(&d, &err) < 0 && !strcmp(err.code, "title_too_long"));
    d.post.title = "a <b>";
    CHECK(sp_delivery_check(&d, &err) < 0 && !strcmp(err.code, "invalid_characters"));
    d.post.title = "";
    CHECK(sp_delivery_check(&d, &err) < 0 && !strcmp(err.code, "title_required"));
    d.post.platform = SP_FACEBOOK; /* no title needed */
    CHECK(sp_delivery_check(&d, &err) == 0);
    d.post.video_url = "file:///etc/passwd";
    CHECK(sp_delivery_check(&d, &err) < 0 && !strcmp(err.code, "invalid_video_url"));
    d.post.video_url = NULL;
    CHECK(sp_delivery_check(&d, &err) < 0 && !strcmp(err.code, "invalid_video_url"));
    d.video_owned = false; /* another user's video, or none */
    CHECK(sp_delivery_check(&d, &err) < 0 && !strcmp(err.code, "video_not_found"));
}

int main(void) {
    claimed_deliveries_are_checked_as_the_api_would();
    done_and_failed_are_final();
    retries_back_off_exponentially_with_jitter_and_cap();
    retry_after_wins_when_longer();
    too_many_retries_fail_with_the_last_error();
    waits_and_releases_do_not_count_as_attempts();
    quota_waits_are_shown_and_not_counted();
    quota_waits_without_a_time_back_off_and_never_count();
    the_row_of_quota_backoffs_is_kept_in_the_checkpoint();
    repeated_releases_count_toward_the_attempt_limit();
    releases_after_checkpointed_progress_never_count();
    progress_starts_the_row_of_releases_again();
    messages_stay_valid_utf8();
    return check_done("test_delivery");
}
