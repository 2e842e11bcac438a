/* Unit tests of oauth_answers.c: each platform's documented connection
 * answers (tests/platform_docs) read into the account they describe, the
 * documented refusals read as refusals, and answers of the wrong shape or
 * with an expires_in no token lasts read as missing, not converted. */
#include <stdlib.h>
#include <string.h>

#include "api/oauth_answers.h"
#include "check.h"
#include "platform_docs.h"

/* The documented answer's body, parsed; caller deletes. */
static cJSON *answer(const char *platform, const char *name) {
    cJSON *doc = sp_doc_load(platform, name);
    char *text = doc ? sp_doc_body_text(doc) : NULL;
    cJSON *json = text ? cJSON_Parse(text) : NULL;
    free(text);
    cJSON_Delete(doc);
    return json;
}

static void fresh(sp_oauth_account *a) {
    memset(a, 0, sizeof *a);
    a->expires_in = -1;
}

static void test_token_exchanges(void) {
    sp_oauth_account a;
    sp_err err;
    cJSON *j = answer("google", "token_code");
    fresh(&a);
    CHECK(sp_oauth_read_tokens("Google", j, &a, &err) == 0);
    CHECK_STR(a.access_token, "1/fFAGRNJru1FTz70BzhT3Zg");
    CHECK(a.refresh_token && a.expires_in == 3920);
    sp_oauth_account_free(&a);
    cJSON_Delete(j);
    j = answer("google", "token_code_invalid_grant");
    CHECK(sp_oauth_read_tokens("Google", j, &a, &err) < 0);
    CHECK_STR(err.code, "exchange_failed");
    CHECK(strstr(err.msg, "invalid_grant") != NULL);
    sp_oauth_account_free(&a);
    cJSON_Delete(j);
    j = answer("tiktok", "token_code");
    CHECK(sp_oauth_read_tiktok_token(j, &a, &err) == 0);
    CHECK_STR(a.account_id, "afd97af1-b87b-48b9-ac98-410aghda5344");
    CHECK(a.refresh_token && a.expires_in == 86400);
    sp_oauth_account_free(&a);
    cJSON_Delete(j);
    j = answer("instagram", "login_token_code");
    CHECK_STR(sp_oauth_read_instagram_code(j), "IGAAmWJaxzZC2xBZAE1Kc0RhV3pYR");
    cJSON_Delete(j);
}

static void test_account_lookups(void) {
    sp_oauth_account a;
    sp_err err;
    fresh(&a);
    cJSON *j = answer("youtube", "channels_mine");
    CHECK(sp_oauth_read_channel(j, &a, &err) == 0);
    CHECK_STR(a.account_id, "UC_x5XG1OV2P6uZZ5FSM9Ttw");
    CHECK_STR(a.display_name, "Google for Developers");
    sp_oauth_account_free(&a);
    cJSON_Delete(j);
    j = answer("youtube", "channels_mine_none");
    CHECK(sp_oauth_read_channel(j, &a, &err) < 0);
    CHECK_STR(err.code, "no_account");
    cJSON_Delete(j);
    j = answer("facebook", "login_me_accounts");
    CHECK(sp_oauth_read_pages(j, false, &a, &err) == 0);
    CHECK(cJSON_GetArraySize(a.choices) == 2);
    sp_oauth_account_free(&a);
    /* Instagram: only the Page with a linked professional account */
    cJSON_Delete(j);
    j = answer("facebook", "login_me_accounts_instagram");
    CHECK(sp_oauth_read_pages(j, true, &a, &err) == 0);
    CHECK(cJSON_GetArraySize(a.choices) == 1);
    CHECK_STR(sp_oauth_answer_string(cJSON_GetArrayItem(a.choices, 0), "name"), "mikeapicalls");
    sp_oauth_account_free(&a);
    cJSON_Delete(j);
    j = answer("instagram", "login_me");
    CHECK(sp_oauth_read_instagram_user(j, &a, &err) == 0);
    CHECK_STR(a.account_id, "17841405822304914");
    sp_oauth_account_free(&a);
    cJSON_Delete(j);
    j = answer("tiktok", "user_info");
    CHECK(sp_oauth_read_tiktok_user(j, &a, &err) == 0);
    CHECK_STR(a.display_name, "Tik Toker");
    sp_oauth_account_free(&a);
    cJSON_Delete(j);
}

static void test_wrong_shapes_are_missing_fields(void) {
    sp_oauth_account a;
    sp_err err;
    fresh(&a);
    const char *bodies[] = {"[]", "null", "{\"items\": {\"id\": \"x\"}}", "{\"data\": 7}",
                            "{\"data\": [{\"id\": 1, \"access_token\": \"t\"}]}"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        cJSON *j = cJSON_Parse(bodies[i]);
        CHECK(sp_oauth_read_channel(j, &a, &err) < 0);
        CHECK(sp_oauth_read_pages(j, false, &a, &err) < 0);
        CHECK(sp_oauth_read_instagram_user(j, &a, &err) < 0);
        CHECK(sp_oauth_read_tiktok_token(j, &a, &err) < 0);
        CHECK(i == 4 || sp_oauth_read_instagram_code(j) == NULL);
        sp_oauth_account_free(&a);
        cJSON_Delete(j);
    }
    /* an expires_in beyond any token's life (or a long's range) is not said */
    const char *lifetimes[] = {"5e300", "-1", "1e10"};
    for (size_t i = 0; i < sizeof lifetimes / sizeof lifetimes[0]; i++) {
        char body[96];
        snprintf(body, sizeof body, "{\"access_token\": \"t\", \"expires_in\": %s}", lifetimes[i]);
        cJSON *j = cJSON_Parse(body);
        CHECK(sp_oauth_read_tokens("Google", j, &a, &err) == 0 && a.expires_in == -1);
        sp_oauth_account_free(&a);
        cJSON_Delete(j);
    }
}

int main(void) {
    test_token_exchanges();
    test_account_lookups();
    test_wrong_shapes_are_missing_fields();
    return check_done("test_oauth_answers");
}
