/* Unit tests of delivery.c: how a step's outcome moves a delivery. */
#include <string.h>

#include "check.h"
#include "queue/delivery.h"

static const sp_retry_policy policy = {.max_attempts = 4, .backoff_base = 10, .backoff_max = 60};

static sp_transition after(sp_step_kind kind, int attempts, double delay, double jitter) {
    sp_step_outcome o;
    memset(&o, 0, sizeof o);
    o.kind = kind;
    o.delay = delay;
    strcpy(o.message, "HTTP 503");
    sp_transition t;
    sp_delivery_transition(&o, attempts, &policy, jitter, &t);
    return t;
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
    sp_delivery_transition(&o, 20, &many, 0.5, &capped);
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
    CHECK(t.state == SP_DELIVERY_QUEUED && !t.count_attempt && t.run_in == 0);
}

int main(void) {
    done_and_failed_are_final();
    retries_back_off_exponentially_with_jitter_and_cap();
    retry_after_wins_when_longer();
    too_many_retries_fail_with_the_last_error();
    waits_and_releases_do_not_count_as_attempts();
    return check_done("test_delivery");
}
