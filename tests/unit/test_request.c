/* Unit tests of request.c: the path a request names when nginx sets no
 * PATH_INFO, and query parameters. */
#include "api/request.h"
#include "check.h"

static void path_follows_the_program_name_in_both_styles(void) {
    char buf[64];
    CHECK(sp_request_accounts_path("/social-post-accounts", buf, sizeof buf));
    CHECK_STR(buf, "/accounts");
    CHECK(sp_request_accounts_path("/.netlify/functions/social-post-accounts/youtube/connect", buf,
                                   sizeof buf));
    CHECK_STR(buf, "/accounts/youtube/connect");
    CHECK(!sp_request_accounts_path("/social-post-accountsx", buf, sizeof buf));
    CHECK(!sp_request_accounts_path("/social-post/accounts", buf, sizeof buf));
    CHECK(!sp_request_accounts_path("/social-post-accounts/x", buf, 8)); /* does not fit */
    CHECK_STR(sp_request_path_in_uri("/social-post"), "");
    CHECK_STR(sp_request_path_in_uri("/social-post/"), "/");
    CHECK_STR(sp_request_path_in_uri("/social-post/abc/retry"), "/abc/retry");
    CHECK_STR(sp_request_path_in_uri("/social-post/abc/cancel"), "/abc/cancel");
    CHECK_STR(sp_request_path_in_uri("/social-post-status"), "");
    CHECK_STR(sp_request_path_in_uri("/social-post-status/health"), "/health");
    CHECK_STR(sp_request_path_in_uri("/social-post-status/metrics"), "/metrics");
    CHECK_STR(sp_request_path_in_uri("/.netlify/functions/social-post"), "");
    CHECK_STR(sp_request_path_in_uri("/.netlify/functions/social-post/x/cancel"), "/x/cancel");
    CHECK_STR(sp_request_path_in_uri("/.netlify/functions/social-post-status/health"), "/health");
    CHECK_STR(sp_request_path_in_uri("/api/v1/social-post-status/health"), "/health");
}

static void other_uris_name_no_path(void) {
    CHECK_STR(sp_request_path_in_uri(""), "");
    CHECK_STR(sp_request_path_in_uri("/"), "");
    CHECK_STR(sp_request_path_in_uri("/social-posts/health"), "");
    CHECK_STR(sp_request_path_in_uri("/social-post-statusx/health"), "");
    CHECK_STR(sp_request_path_in_uri("/my-social-post/health"), "");
    CHECK_STR(sp_request_path_in_uri("social-post/health"), "");
}

static void query_values_are_decoded_or_refused(void) {
    sp_request r = {.query = "jobId=a%2Fb&wait=5&flag&x=%zz&long="};
    char out[8];
    sp_err err;
    CHECK(sp_request_query(&r, "jobId", out, sizeof out, &err) == 1);
    CHECK_STR(out, "a/b");
    CHECK(sp_request_query(&r, "flag", out, sizeof out, &err) == 1);
    CHECK_STR(out, "");
    CHECK(sp_request_query(&r, "missing", out, sizeof out, &err) == 0);
    CHECK(sp_request_query(&r, "x", out, sizeof out, &err) == -1);
    int wait = 0;
    CHECK(sp_request_int_query(&r, "wait", 0, 0, 60, &wait, &err) == 0 && wait == 5);
    CHECK(sp_request_int_query(&r, "jobId", 0, 0, 60, &wait, &err) == -1);
    sp_request nul = {.query = "a=%00"};
    CHECK(sp_request_query(&nul, "a", out, sizeof out, &err) == -1);
    sp_request cut = {.query = "a=%4"};
    CHECK(sp_request_query(&cut, "a", out, sizeof out, &err) == -1);
    sp_request big = {.query = "a=12345678"};
    CHECK(sp_request_query(&big, "a", out, sizeof out, &err) == -1);
}

int main(void) {
    path_follows_the_program_name_in_both_styles();
    other_uris_name_no_path();
    query_values_are_decoded_or_refused();
    return check_done("test_request");
}
