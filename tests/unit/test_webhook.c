/* Unit tests of webhook.c and of the webhook secret in config.c: the
 * Standard Webhooks signature, the retry schedule, and which secrets load. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/base64url.h"
#include "core/config.h"
#include "webhooks/webhook.h"

/* The example of the Standard Webhooks libraries: secret
 * whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw. */
static void the_signature_matches_the_standard_example(void) {
    static const char secret[] = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    unsigned char *key = NULL;
    size_t key_len = 0;
    sp_err err;
    CHECK(sp_b64_decode(secret, strlen(secret), &key, &key_len, &err) == 0 && key_len == 24);
    char sig[SP_WEBHOOK_SIGNATURE_MAX];
    CHECK(sp_webhook_sign(key, key_len, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                          "{\"test\": 2432232314}", sig, &err) == 0);
    CHECK_STR(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /* another timestamp, another signature */
    CHECK(sp_webhook_sign(key, key_len, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331,
                          "{\"test\": 2432232314}", sig, &err) == 0);
    CHECK(strcmp(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=") != 0);
    free(key);
}

static const sp_webhook_policy policy = {
    .backoff_base = 5, .backoff_max = 3600, .give_up_age = 86400};

static sp_webhook_attempt attempt(sp_webhook_result result, long status, double retry_after) {
    sp_webhook_attempt a = {.result = result, .status = status, .retry_after = retry_after};
    snprintf(a.message, sizeof a.message, "the receiver answered HTTP %ld", status);
    return a;
}

static void a_2xx_is_delivered(void) {
    sp_webhook_attempt a = attempt(SP_WEBHOOK_DELIVERED, 204, -1);
    sp_webhook_next_step next;
    sp_webhook_next(&a, 3, 100, &policy, 0.5, &next);
    CHECK(next.done && !next.failed);
}

static void failures_back_off_doubling_up_to_an_hour(void) {
    sp_webhook_attempt a = attempt(SP_WEBHOOK_FAILED, 500, -1);
    sp_webhook_next_step next;
    static const double expected[] = {5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600};
    for (int n = 1; n <= 12; n++) {
        sp_webhook_next(&a, n, 0, &policy, 0.5, &next); /* jitter 0.5: the middle */
        CHECK(!next.done);
        CHECK(next.run_in > expected[n - 1] - 1e-9 && next.run_in < expected[n - 1] + 1e-9);
    }
    sp_webhook_next(&a, 1, 0, &policy, 0, &next);
    CHECK(next.run_in > 3.99 && next.run_in < 4.01); /* -20% */
    sp_webhook_next(&a, 1, 0, &policy, 0.999999, &next);
    CHECK(next.run_in > 5.99 && next.run_in < 6.01); /* +20% */
}

static void retry_after_is_honoured_up_to_an_hour(void) {
    sp_webhook_attempt a = attempt(SP_WEBHOOK_FAILED, 503, 120);
    sp_webhook_next_step next;
    sp_webhook_next(&a, 1, 0, &policy, 0.5, &next);
    CHECK(!next.done && next.run_in == 120);
    a.retry_after = 86400;
    sp_webhook_next(&a, 1, 0, &policy, 0.5, &next);
    CHECK(!next.done && next.run_in == 3600);
    a.retry_after = 1; /* shorter than the backoff: the backoff wins */
    sp_webhook_next(&a, 1, 0, &policy, 0.5, &next);
    CHECK(next.run_in == 5);
}

static void a_day_of_failures_gives_up(void) {
    sp_webhook_attempt a = attempt(SP_WEBHOOK_FAILED, 500, -1);
    sp_webhook_next_step next;
    sp_webhook_next(&a, 31, 86400 - 3600, &policy, 0.5, &next); /* the next one fits */
    CHECK(!next.done);
    sp_webhook_next(&a, 32, 86400 - 100, &policy, 0.5, &next); /* it would not */
    CHECK(next.done && next.failed);
    CHECK(strstr(next.message, "gave up after 32 attempts") != NULL);
    CHECK(strstr(next.message, "HTTP 500") != NULL);
    /* the schedule: about 30 attempts in the day */
    double age = 0;
    int n = 1;
    for (;; n++) {
        sp_webhook_next(&a, n, age, &policy, 0.5, &next);
        if (next.done) break;
        age += next.run_in;
    }
    CHECK(n >= 28 && n <= 36);
}

static void gone_and_invalid_urls_end_at_once(void) {
    sp_webhook_attempt a = attempt(SP_WEBHOOK_REFUSED, 410, -1);
    snprintf(a.message, sizeof a.message, "the receiver answered 410 Gone");
    sp_webhook_next_step next;
    sp_webhook_next(&a, 1, 0, &policy, 0.5, &next);
    CHECK(next.done && next.failed);
    CHECK_STR(next.message, "the receiver answered 410 Gone");
}

static void an_invalid_url_is_never_sent(void) {
    sp_config cfg = {0};
    unsigned char key[32] = {1};
    cfg.webhook_key = key;
    cfg.webhook_key_len = sizeof key;
    sp_webhook_event ev = {.id = "msg_1", .url = "ftp://example.com/", .body = "{}"};
    sp_webhook_attempt a;
    sp_webhook_send(&cfg, &ev, &a);
    CHECK(a.result == SP_WEBHOOK_REFUSED && a.status == 0);
    CHECK(strstr(a.message, "http:// or https://") != NULL);
}

/* Loads the configuration with SOCIAL_POST_WEBHOOK_SECRET = secret. */
static int load(const char *secret, sp_config *cfg, sp_err *err) {
    setenv("DATABASE_URL", "postgresql://unit-test", 1);
    if (secret)
        setenv("SOCIAL_POST_WEBHOOK_SECRET", secret, 1);
    else
        unsetenv("SOCIAL_POST_WEBHOOK_SECRET");
    return sp_config_load(cfg, err);
}

static void webhook_secrets_load_as_standard_webhooks_writes_them(void) {
    sp_config cfg;
    sp_err err;
    CHECK(load(NULL, &cfg, &err) == 0 && cfg.webhook_key == NULL);
    sp_config_free(&cfg);
    CHECK(load("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &cfg, &err) == 0);
    CHECK(cfg.webhook_key_len == 24 && cfg.webhook_key && cfg.webhook_key[0] == 0x31);
    sp_config_free(&cfg);
    CHECK(load("v1,whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &cfg, &err) == 0); /* Supabase's */
    CHECK(cfg.webhook_key_len == 24);
    sp_config_free(&cfg);
    static const char *const bad[] = {
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",        /* no prefix */
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La",      /* 18 bytes: too short */
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!",  /* not base64 */
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw=", /* bad padding */
        "whsec_"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sp_err_clear(&err);
        CHECK(load(bad[i], &cfg, &err) < 0);
        CHECK(cfg.webhook_key == NULL);
        CHECK(strstr(err.msg, "SOCIAL_POST_WEBHOOK_SECRET must be whsec_") != NULL);
        CHECK(strstr(err.msg, "MfKQ") == NULL); /* never the value */
        sp_config_free(&cfg);
    }
    unsetenv("SOCIAL_POST_WEBHOOK_SECRET");
}

static void the_private_callback_flag_is_exactly_1(void) {
    sp_config cfg;
    sp_err err;
    setenv("SOCIAL_POST_ALLOW_PRIVATE_CALLBACK_URLS", "1", 1);
    CHECK(load(NULL, &cfg, &err) == 0 && cfg.allow_private_callback_urls);
    sp_config_free(&cfg);
    setenv("SOCIAL_POST_ALLOW_PRIVATE_CALLBACK_URLS", "yes", 1);
    CHECK(load(NULL, &cfg, &err) == 0 && !cfg.allow_private_callback_urls);
    sp_config_free(&cfg);
    unsetenv("SOCIAL_POST_ALLOW_PRIVATE_CALLBACK_URLS");
}

int main(void) {
    the_signature_matches_the_standard_example();
    a_2xx_is_delivered();
    failures_back_off_doubling_up_to_an_hour();
    retry_after_is_honoured_up_to_an_hour();
    a_day_of_failures_gives_up();
    gone_and_invalid_urls_end_at_once();
    an_invalid_url_is_never_sent();
    webhook_secrets_load_as_standard_webhooks_writes_them();
    the_private_callback_flag_is_exactly_1();
    return check_done("test_webhook");
}
