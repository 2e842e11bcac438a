/* Unit tests of google_oauth.c: reading the token endpoint's answers. */
#include <stdlib.h>

#include "check.h"
#include "platform_docs.h"
#include "platforms/google_oauth.h"

#define NOW 1800000000LL

static long long lifetime(const char *body) {
    char *token = NULL;
    long long at = -1;
    sp_err err;
    int rc = sp_google_parse_token(200, body, NOW, &token, &at, &err);
    free(token);
    return rc == 0 ? at - NOW : -1;
}

static void token_lifetimes_are_range_checked(void) {
    CHECK(lifetime("{\"access_token\":\"ya29.a\",\"expires_in\":3599}") == 3599);
    CHECK(lifetime("{\"access_token\":\"ya29.a\"}") == 3600);
    /* once cast straight to long long: undefined for 1e300 */
    CHECK(lifetime("{\"access_token\":\"ya29.a\",\"expires_in\":1e300}") == 3600);
    CHECK(lifetime("{\"access_token\":\"ya29.a\",\"expires_in\":-1e300}") == 3600);
    CHECK(lifetime("{\"access_token\":\"ya29.a\",\"expires_in\":-5}") == 3600);
    CHECK(lifetime("{\"access_token\":\"ya29.a\",\"expires_in\":\"3600\"}") == 3600);
    CHECK(lifetime("{\"access_token\":\"ya29.a\",\"expires_in\":10000000}") == 10000000);
    CHECK(lifetime("{\"access_token\":\"ya29.a\",\"expires_in\":10000001}") == 3600);
}

static void refusals_say_what_to_do(void) {
    char *token = NULL;
    long long at;
    sp_err err;
    CHECK(sp_google_parse_token(400, "{\"error\":\"invalid_grant\"}", NOW, &token, &at, &err) < 0);
    CHECK(err.kind == SP_ERR_UNPROCESSABLE && strstr(err.msg, "reconnect") && !token);
    CHECK(sp_google_parse_token(503, "busy", NOW, &token, &at, &err) < 0);
    CHECK(err.kind == SP_ERR_TRANSIENT);
    CHECK(sp_google_parse_token(200, "{\"access_token\":\"\"}", NOW, &token, &at, &err) < 0);
    CHECK(err.kind == SP_ERR_TRANSIENT);
    CHECK(sp_google_parse_token(200, NULL, NOW, &token, &at, &err) < 0);
}

/* sp_google_parse_token on a documented answer (tests/platform_docs/google/). */
static int parse_doc(const char *name, char **token, long long *at, sp_err *err) {
    cJSON *doc = sp_doc_load("google", name);
    char *body = sp_doc_body_text(doc);
    int rc = sp_google_parse_token(sp_doc_status(doc), body, NOW, token, at, err);
    free(body);
    cJSON_Delete(doc);
    return rc;
}

static void documented_answers_read_as_documented(void) {
    char *token = NULL;
    long long at = 0;
    sp_err err;
    CHECK(parse_doc("token_refresh", &token, &at, &err) == 0);
    CHECK_STR(token, "1/fFAGRNJru1FTz70BzhT3Zg");
    CHECK(at == NOW + 3920);
    free(token);
    token = NULL;
    CHECK(parse_doc("token_invalid_grant", &token, &at, &err) < 0 && !token);
    CHECK(err.kind == SP_ERR_UNPROCESSABLE && strstr(err.msg, "reconnect your YouTube account"));
}

int main(void) {
    documented_answers_read_as_documented();
    token_lifetimes_are_range_checked();
    refusals_say_what_to_do();
    return check_done("test_google_oauth");
}
