/* Unit tests of receivers.c: which webhook receivers a worker's senders
 * must pass over. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "webhooks/receivers.h"

/* Expects the busy list of calling (n rows, limit) to be want. */
static void busy_is(const char (*calling)[SP_RECEIVER_MAX], int n, int limit, const char *want) {
    char *got = sp_receivers_busy(calling, n, limit);
    CHECK(got != NULL);
    if (got) CHECK_STR(got, want);
    free(got);
}

static void a_receiver_is_the_lowercased_origin(void) {
    char r[SP_RECEIVER_MAX];
    sp_receiver_of("HTTPS://Hooks.Example.COM:8443/a/B?token=X", r);
    CHECK_STR(r, "https://hooks.example.com:8443");
    sp_receiver_of("http://example.com?x=1", r);
    CHECK_STR(r, "http://example.com");
    sp_receiver_of("http://example.com#frag", r);
    CHECK_STR(r, "http://example.com");
}

static void only_receivers_at_the_limit_are_busy_each_once(void) {
    const char calling[4][SP_RECEIVER_MAX] = {"http://slow.example", "", "http://slow.example",
                                              "http://quick.example"};
    busy_is(calling, 4, 2, "[\"http://slow.example\"]");
    busy_is(calling, 4, 1, "[\"http://slow.example\",\"http://quick.example\"]");
    busy_is(calling, 4, 3, "[]");
}

static void idle_senders_make_no_receiver_busy(void) {
    const char calling[3][SP_RECEIVER_MAX] = {"", "", ""};
    busy_is(calling, 3, 1, "[]");
    busy_is(calling, 0, 1, "[]");
}

static void odd_characters_stay_one_element(void) {
    const char calling[2][SP_RECEIVER_MAX] = {"http://a\"b\\c,{d}", "http://a\"b\\c,{d}"};
    busy_is(calling, 2, 2, "[\"http://a\\\"b\\\\c,{d}\"]");
}

int main(void) {
    a_receiver_is_the_lowercased_origin();
    only_receivers_at_the_limit_are_busy_each_once();
    idle_senders_make_no_receiver_busy();
    odd_characters_stay_one_element();
    return check_done("test_receivers");
}
