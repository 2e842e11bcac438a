/* Unit tests of oauth.c: the consent pages' URLs as each platform documents
 * them (tests/platform_docs/<p>/authorize-like examples), the PKCE challenge,
 * and the settings a connection needs. The exchanges are tested end to end
 * (tests/e2e/test_api_accounts.py, against the OAuth fake). */
#include <stdlib.h>
#include <string.h>

#include "api/oauth.h"
#include "check.h"
#include "core/http_client.h"
#include "platform_docs.h"

static sp_config config(void) {
    sp_config c = {0};
    c.public_url = "https://posts.example.com";
    c.google_auth_url = "https://accounts.google.com/o/oauth2/v2/auth";
    c.facebook_auth_url = "https://www.facebook.com/v21.0/dialog/oauth";
    c.instagram_auth_url = "https://www.instagram.com/oauth/authorize";
    c.tiktok_auth_url = "https://www.tiktok.com/v2/auth/authorize/";
    c.google_client_id = "gid", c.google_client_secret = "gsecret";
    c.facebook_app_id = "fid", c.facebook_app_secret = "fsecret";
    c.instagram_app_id = "iid", c.instagram_app_secret = "isecret";
    c.tiktok_client_key = "tkey", c.tiktok_client_secret = "tsecret";
    return c;
}

/* True when url's query has name=value (value form-encoded as sent). */
static bool has_param(const char *url, const char *name, const char *value) {
    sp_http_field f = {name, value};
    char *pair = sp_http_form_encode(&f, 1);
    const char *q = strchr(url, '?');
    bool found = false;
    for (const char *p = q; pair && p && !found; p = strchr(p + 1, '&')) {
        size_t n = strlen(pair);
        found = strncmp(p + 1, pair, n) == 0 && (p[1 + n] == '&' || p[1 + n] == '\0');
    }
    free(pair);
    return found;
}

/* Every query parameter of the documented consent request is in our URL, with
 * the documented value where it is not a placeholder. */
static void consent_urls_carry_the_documented_parameters(void) {
    static const char *const cases[][3] = {{"youtube", "google", "authorize"},
                                           {"facebook", "facebook", "login_dialog"},
                                           {"instagram", "instagram", "login_authorize"},
                                           {"tiktok", "tiktok", "authorize"}};
    sp_config c = config();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool pkce = sp_oauth_uses_pkce(cases[i][0]);
        char *url = sp_oauth_authorize_url(&c, cases[i][0], sp_oauth_login(&c, cases[i][0], NULL),
                                           "STATE", pkce ? "CHALLENGE" : NULL);
        CHECK(url != NULL);
        cJSON *doc = sp_doc_load(cases[i][1], cases[i][2]);
        const cJSON *query = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(doc, "request"), "query");
        const cJSON *p;
        cJSON_ArrayForEach(p, query) {
            const char *v = p->valuestring;
            bool placeholder = v[0] == '{';
            if (!strcmp(p->string, "state")) v = "STATE";
            if (!strcmp(p->string, "code_challenge")) v = "CHALLENGE";
            if (!strcmp(p->string, "redirect_uri"))
                v = "https://posts.example.com/social-post-accounts/callback";
            if (placeholder && strcmp(p->string, "state") && strcmp(p->string, "code_challenge") &&
                strcmp(p->string, "redirect_uri")) {
                CHECK(strstr(url, p->string) != NULL);
            } else if (!has_param(url, p->string, v)) {
                fprintf(stderr, "%s: %s=%s missing from %s\n", cases[i][0], p->string, v, url);
                CHECK(false);
            }
        }
        cJSON_Delete(doc);
        free(url);
    }
}

/* RFC 7636, appendix B (https://www.rfc-editor.org/rfc/rfc7636#appendix-B). */
static void challenge_is_s256_of_the_verifier(void) {
    char *c = sp_oauth_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    CHECK_STR(c, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    free(c);
    CHECK(sp_oauth_uses_pkce("youtube") && !sp_oauth_uses_pkce("facebook"));
}

static void missing_settings_are_named(void) {
    sp_config c = config();
    sp_err err;
    CHECK(sp_oauth_configured(&c, "tiktok", NULL, &err));
    c.tiktok_client_secret = NULL;
    CHECK(!sp_oauth_configured(&c, "tiktok", NULL, &err));
    CHECK_STR(err.code, "platform_not_configured");
    CHECK(strstr(err.msg, "TIKTOK_CLIENT_KEY") && strstr(err.msg, "TIKTOK_CLIENT_SECRET"));
    c.facebook_app_id = NULL;
    CHECK(!sp_oauth_configured(&c, "facebook", NULL, &err) && strstr(err.msg, "FACEBOOK_APP_ID"));
    /* Instagram through Facebook Login needs the Facebook app */
    CHECK(sp_oauth_configured(&c, "instagram", "instagram", &err));
    CHECK(!sp_oauth_configured(&c, "instagram", "facebook", &err) &&
          strstr(err.msg, "FACEBOOK_APP_ID"));
    c.public_url = NULL;
    CHECK(!sp_oauth_configured(&c, "youtube", NULL, &err));
    CHECK_STR(err.code, "connecting_off");
    c.instagram_app_id = NULL;
    CHECK_STR(sp_oauth_login(&c, "instagram", NULL), "facebook");
    CHECK(sp_oauth_login(&c, "instagram", "myspace") == NULL &&
          sp_oauth_login(&c, "tiktok", NULL) == NULL);
    CHECK(sp_oauth_platform_known("instagram") && !sp_oauth_platform_known("myspace") &&
          !sp_oauth_platform_known(NULL));
}

int main(void) {
    consent_urls_carry_the_documented_parameters();
    challenge_is_s256_of_the_verifier();
    missing_settings_are_named();
    return check_done("test_oauth");
}
