/*
 * oauth: each platform's authorization-code flow, as its documentation
 * writes it (the examples and their sources: tests/platform_docs/google,
 * youtube, facebook, instagram, tiktok).
 *
 *   youtube    Google OAuth 2.0 for web server apps, PKCE S256, offline
 *              access (a refresh token); the channel from channels?mine=true
 *   facebook   Facebook Login's manual flow; the User token traded for a
 *              long-lived one; the user's Pages from /me/accounts with each
 *              Page's own token, which then does not expire (several: a choice)
 *   instagram  Instagram API with Instagram Login (business login); the
 *              short-lived token traded for a long-lived one; the user
 *              from /me (login "instagram": the worker posts through
 *              graph.instagram.com). Or, login "facebook": Facebook Login,
 *              the professional accounts linked to the user's Pages
 *              (/me/accounts with instagram_business_account), with the
 *              Page's token
 *   tiktok     Login Kit for Web v2; open_id with the token, the nickname
 *              from /v2/user/info/
 *
 * A platform's refusal becomes "exchange_failed" with the platform's own
 * error code in the message; the answers are read by oauth_answers.c.
 * Nothing here logs a token.
 */
#include "api/oauth.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/oauth_answers.h"
#include "core/base64url.h"
#include "core/http_client.h"
#include "core/json.h"

#define GOOGLE_SCOPES                                                                              \
    "https://www.googleapis.com/auth/youtube.upload "                                              \
    "https://www.googleapis.com/auth/youtube.readonly"
#define FACEBOOK_SCOPES "pages_show_list,pages_read_engagement,pages_manage_posts"
#define INSTAGRAM_SCOPES "instagram_business_basic,instagram_business_content_publish"
#define INSTAGRAM_FACEBOOK_SCOPES                                                                  \
    "instagram_basic,instagram_content_publish,pages_show_list,pages_read_engagement"
#define TIKTOK_SCOPES "user.info.basic,video.publish"
#define CALL_TIMEOUT 30

static const char *const platforms[] = {"youtube", "facebook", "instagram", "tiktok"};

bool sp_oauth_platform_known(const char *name) {
    for (size_t i = 0; i < sizeof platforms / sizeof platforms[0]; i++)
        if (name && strcmp(name, platforms[i]) == 0) return true;
    return false;
}

bool sp_oauth_uses_pkce(const char *platform) {
    return strcmp(platform, "youtube") == 0;
}

const char *sp_oauth_login(const sp_config *cfg, const char *platform, const char *wanted) {
    if (strcmp(platform, "instagram") != 0) return NULL;
    if (!wanted) return cfg->instagram_app_id ? "instagram" : "facebook";
    return !strcmp(wanted, "instagram")  ? "instagram"
           : !strcmp(wanted, "facebook") ? "facebook"
                                         : NULL;
}

/* True when a connection goes through Facebook Login. */
static bool via_facebook(const char *platform, const char *login) {
    return !strcmp(platform, "facebook") || (login && !strcmp(login, "facebook"));
}

/* The client id and secret settings of a platform's login. */
static void credentials(const sp_config *cfg, const char *platform, const char *login,
                        const char **id, const char **secret, const char **id_name) {
    if (!strcmp(platform, "youtube")) {
        *id = cfg->google_client_id, *secret = cfg->google_client_secret, *id_name = "GOOGLE";
    } else if (via_facebook(platform, login)) {
        *id = cfg->facebook_app_id, *secret = cfg->facebook_app_secret, *id_name = "FACEBOOK";
    } else if (!strcmp(platform, "instagram")) {
        *id = cfg->instagram_app_id, *secret = cfg->instagram_app_secret, *id_name = "INSTAGRAM";
    } else {
        *id = cfg->tiktok_client_key, *secret = cfg->tiktok_client_secret, *id_name = "TIKTOK";
    }
}

bool sp_oauth_configured(const sp_config *cfg, const char *platform, const char *login,
                         sp_err *err) {
    const char *id, *secret, *prefix;
    credentials(cfg, platform, login, &id, &secret, &prefix);
    if (!cfg->public_url) {
        sp_err_set(err, SP_ERR_CONFLICT, "connecting_off",
                   "connecting accounts is off: SOCIAL_POST_PUBLIC_URL is not set");
        return false;
    }
    if (!id || !secret) {
        bool tiktok = !strcmp(platform, "tiktok"), google = !strcmp(platform, "youtube");
        sp_err_set(err, SP_ERR_CONFLICT, "platform_not_configured",
                   "connecting %s is not configured: set %s_%s and %s_%s", platform, prefix,
                   tiktok   ? "CLIENT_KEY"
                   : google ? "CLIENT_ID"
                            : "APP_ID",
                   prefix, tiktok || google ? "CLIENT_SECRET" : "APP_SECRET");
        return false;
    }
    return true;
}

char *sp_oauth_challenge(const char *verifier) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)verifier, strlen(verifier), digest);
    return sp_b64url_encode(digest, sizeof digest);
}

char *sp_oauth_redirect_uri(const sp_config *cfg) {
    char *uri = NULL;
    if (asprintf(&uri, "%s/social-post-accounts/callback", cfg->public_url) < 0) return NULL;
    return uri;
}

static char *url_with(const char *base, const char *path, const char *const *pairs);

char *sp_oauth_authorize_url(const sp_config *cfg, const char *platform, const char *login,
                             const char *state, const char *challenge) {
    const char *id, *secret, *prefix, *base, *scopes;
    credentials(cfg, platform, login, &id, &secret, &prefix);
    bool youtube = !strcmp(platform, "youtube");
    if (youtube) {
        base = cfg->google_auth_url, scopes = GOOGLE_SCOPES;
    } else if (via_facebook(platform, login)) {
        base = cfg->facebook_auth_url,
        scopes = strcmp(platform, "facebook") ? INSTAGRAM_FACEBOOK_SCOPES : FACEBOOK_SCOPES;
    } else if (!strcmp(platform, "instagram")) {
        base = cfg->instagram_auth_url, scopes = INSTAGRAM_SCOPES;
    } else {
        base = cfg->tiktok_auth_url, scopes = TIKTOK_SCOPES;
    }
    char *redirect = sp_oauth_redirect_uri(cfg);
    if (!redirect) return NULL;
    const char *pairs[20] = {strcmp(platform, "tiktok") ? "client_id" : "client_key",
                             id,
                             "redirect_uri",
                             redirect,
                             "response_type",
                             "code",
                             "scope",
                             scopes,
                             "state",
                             state};
    int n = 10;
    /* offline: a refresh token; consent: one every time, also for an account
     * connected before */
    if (youtube) {
        pairs[n++] = "access_type", pairs[n++] = "offline";
        pairs[n++] = "prompt", pairs[n++] = "consent";
    }
    if (challenge) {
        pairs[n++] = "code_challenge", pairs[n++] = challenge;
        pairs[n++] = "code_challenge_method", pairs[n++] = "S256";
    }
    char *url = url_with(base, "", pairs);
    free(redirect);
    return url;
}

/* Performs one call and parses its JSON answer into *json (NULL when the
 * body is not JSON). form: a urlencoded POST body, or NULL for GET/DELETE. */
static int call(const char *method, const char *url, const char *form, const char *bearer,
                long *status, cJSON **json, sp_err *err) {
    char auth[4096];
    sp_http_req req = {.method = method, .url = url, .timeout_seconds = CALL_TIMEOUT};
    int h = 0;
    req.headers[h++] = "Accept: application/json";
    if (form) {
        req.headers[h++] = "Content-Type: application/x-www-form-urlencoded";
        req.body = form, req.body_len = strlen(form), req.has_body = true;
    }
    if (bearer) {
        if ((size_t)snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer) >= sizeof auth)
            return sp_err_set(err, SP_ERR_UNPROCESSABLE, "exchange_failed", "token too long");
        req.headers[h++] = auth;
    }
    sp_http_resp resp = {0};
    *json = NULL;
    if (sp_http_perform(&req, &resp, err) < 0) {
        sp_http_resp_free(&resp);
        return sp_err_set(err, SP_ERR_TRANSIENT, "platform_unreachable",
                          "the platform could not be reached; try connecting again");
    }
    *status = resp.status;
    if (resp.body) *json = cJSON_ParseWithLength(resp.body, resp.body_len);
    sp_http_resp_free(&resp);
    return 0;
}

/* A non-empty string member, or NULL. */
static const char *str(const cJSON *obj, const char *name) {
    return sp_oauth_answer_string(obj, name);
}

static int refused(const char *platform, const char *step, long status, const cJSON *json,
                   sp_err *err) {
    return sp_oauth_refused(platform, step, status, json, err);
}

/* The urlencoded form of name/value pairs (NULL-terminated; at most 10
 * pairs), through the one form encoder; caller frees. */
static char *form_of(const char *const *pairs) {
    sp_http_field fields[10];
    int n = 0;
    for (; pairs[2 * n] && n < 10; n++)
        fields[n] = (sp_http_field){pairs[2 * n], pairs[2 * n + 1]};
    return sp_http_form_encode(fields, n);
}

/* base + "?" + the urlencoded pairs; caller frees. */
static char *url_with(const char *base, const char *path, const char *const *pairs) {
    char *q = form_of(pairs), *url = NULL;
    if (q && asprintf(&url, "%s%s?%s", base, path, q) < 0) url = NULL;
    free(q);
    return url;
}

/* POSTs a form and requires a 200 JSON object answer. */
static int post_form(const char *platform, const char *step, const char *url,
                     const char *const *pairs, cJSON **json, sp_err *err) {
    char *form = form_of(pairs);
    long status = 0;
    if (!form) return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    int rc = call("POST", url, form, NULL, &status, json, err);
    free(form);
    if (rc == 0 && (status != 200 || !cJSON_IsObject(*json)))
        rc = refused(platform, step, status, *json, err);
    return rc;
}

/* POSTs a form and requires a 200 (revocations answer no body to speak of). */
static int post_status(const char *platform, const char *step, const char *url,
                       const char *const *pairs, cJSON **json, sp_err *err) {
    char *form = form_of(pairs);
    long status = 0;
    if (!form) return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    int rc = call("POST", url, form, NULL, &status, json, err);
    free(form);
    if (rc == 0 && status != 200) rc = refused(platform, step, status, *json, err);
    return rc;
}

/* GETs url (with a bearer token or none) and requires a 200 JSON object. */
static int get_json(const char *platform, const char *step, const char *url, const char *bearer,
                    cJSON **json, sp_err *err) {
    long status = 0;
    int rc = call("GET", url, NULL, bearer, &status, json, err);
    if (rc == 0 && (status != 200 || !cJSON_IsObject(*json)))
        rc = refused(platform, step, status, *json, err);
    return rc;
}

/* The YouTube Data API's base, from YOUTUBE_UPLOAD_URL (its upload path
 * taken off); caller frees. */
static char *youtube_api_base(const sp_config *cfg) {
    const char *tail = "/upload/youtube/v3/videos";
    size_t n = strlen(cfg->youtube_upload_url), t = strlen(tail);
    if (n > t && strcmp(cfg->youtube_upload_url + n - t, tail) == 0)
        return strndup(cfg->youtube_upload_url, n - t);
    return strdup("https://www.googleapis.com");
}

/* YouTube: the code for tokens (with the PKCE verifier), then the channel. */
static int connect_youtube(const sp_config *cfg, const char *code, const char *verifier,
                           const char *redirect, sp_oauth_account *out, sp_err *err) {
    const char *pairs[] = {"code",
                           code,
                           "client_id",
                           cfg->google_client_id,
                           "client_secret",
                           cfg->google_client_secret,
                           "redirect_uri",
                           redirect,
                           "grant_type",
                           "authorization_code",
                           "code_verifier",
                           verifier,
                           NULL};
    cJSON *json = NULL;
    char *base = youtube_api_base(cfg), *url = NULL;
    int rc = post_form("Google", "code", cfg->google_token_url, pairs, &json, err);
    if (rc == 0) rc = sp_oauth_read_tokens("Google", json, out, err);
    cJSON_Delete(json);
    json = NULL;
    if (rc == 0 &&
        (!base || asprintf(&url, "%s/youtube/v3/channels?part=snippet&mine=true", base) < 0)) {
        url = NULL;
        rc = sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    }
    if (rc == 0) rc = get_json("YouTube", "channel lookup", url, out->access_token, &json, err);
    if (rc == 0) rc = sp_oauth_read_channel(json, out, err);
    cJSON_Delete(json);
    free(base);
    free(url);
    return rc;
}

/* GETs base + path?pairs and requires a 200 JSON object with an
 * access_token (what Graph's token endpoints answer); *json gets it. */
static int graph_token(const sp_config *cfg, const char *step, const char *const *pairs,
                       cJSON **json, sp_err *err) {
    char *url = url_with(cfg->facebook_graph_url, "/oauth/access_token", pairs);
    int rc = url ? get_json("Facebook", step, url, NULL, json, err)
                 : sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    if (rc == 0 && !str(*json, "access_token")) rc = refused("Facebook", step, 200, *json, err);
    free(url);
    return rc;
}

/* Facebook Login's code for a long-lived User token (Page tokens read with a
 * short-lived one expire within the hour); caller frees. */
static char *facebook_user_token(const sp_config *cfg, const char *code, const char *redirect,
                                 sp_err *err) {
    const char *exchange[] = {"client_id",
                              cfg->facebook_app_id,
                              "redirect_uri",
                              redirect,
                              "client_secret",
                              cfg->facebook_app_secret,
                              "code",
                              code,
                              NULL};
    cJSON *json = NULL, *lasting = NULL;
    char *token = NULL;
    if (graph_token(cfg, "code", exchange, &json, err) == 0) {
        const char *trade[] = {
            "grant_type",         "fb_exchange_token",       "client_id",
            cfg->facebook_app_id, "client_secret",           cfg->facebook_app_secret,
            "fb_exchange_token",  str(json, "access_token"), NULL};
        if (graph_token(cfg, "long-lived token", trade, &lasting, err) == 0 &&
            !(token = strdup(str(lasting, "access_token"))))
            sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    }
    cJSON_Delete(json);
    cJSON_Delete(lasting);
    return token;
}

/* Facebook Login: a long-lived User token, then the user's Pages with
 * theirs (for Instagram: the professional accounts linked to them). */
static int connect_facebook(const sp_config *cfg, bool instagram, const char *code,
                            const char *redirect, sp_oauth_account *out, sp_err *err) {
    char *user = facebook_user_token(cfg, code, redirect, err), *url = NULL;
    cJSON *json = NULL;
    if (!user) return -1;
    const char *pages[] = {"fields",
                           instagram
                               ? "id,name,access_token,instagram_business_account{id,username}"
                               : "id,name,access_token",
                           "access_token", user, NULL};
    url = url_with(cfg->facebook_graph_url, "/me/accounts", pages);
    int rc = url ? get_json("Facebook", "Page lookup", url, NULL, &json, err)
                 : sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    if (rc == 0) rc = sp_oauth_read_pages(json, instagram, out, err);
    out->user_token = user; /* kept for revoking the grant */
    cJSON_Delete(json);
    free(url);
    return rc;
}

/* Instagram Login: the code for a short-lived token, that for a long-lived
 * one, then the user (id and username). */
static int connect_instagram(const sp_config *cfg, const char *code, const char *redirect,
                             sp_oauth_account *out, sp_err *err) {
    const char *pairs[] = {"client_id",
                           cfg->instagram_app_id,
                           "client_secret",
                           cfg->instagram_app_secret,
                           "grant_type",
                           "authorization_code",
                           "redirect_uri",
                           redirect,
                           "code",
                           code,
                           NULL};
    cJSON *json = NULL;
    char *url = NULL;
    int rc = post_form("Instagram", "code", cfg->instagram_token_url, pairs, &json, err);
    const char *short_token = sp_oauth_read_instagram_code(json);
    if (rc == 0 && !short_token) rc = refused("Instagram", "code", 200, json, err);
    if (rc == 0) {
        const char *trade[] = {"grant_type",
                               "ig_exchange_token",
                               "client_secret",
                               cfg->instagram_app_secret,
                               "access_token",
                               short_token,
                               NULL};
        if (!(url = url_with(cfg->instagram_graph_url, "/access_token", trade)))
            rc = sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    }
    cJSON_Delete(json);
    json = NULL;
    if (rc == 0) rc = get_json("Instagram", "long-lived token", url, NULL, &json, err);
    if (rc == 0) rc = sp_oauth_read_tokens("Instagram", json, out, err);
    cJSON_Delete(json);
    json = NULL;
    free(url);
    url = NULL;
    if (rc == 0 && asprintf(&url, "%s/me?fields=user_id,username", cfg->instagram_graph_url) < 0) {
        url = NULL;
        rc = sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    }
    if (rc == 0) rc = get_json("Instagram", "user lookup", url, out->access_token, &json, err);
    if (rc == 0) rc = sp_oauth_read_instagram_user(json, out, err);
    out->login = "instagram";
    cJSON_Delete(json);
    free(url);
    return rc;
}

/* TikTok: the code for tokens and open_id, then the nickname. */
static int connect_tiktok(const sp_config *cfg, const char *code, const char *redirect,
                          sp_oauth_account *out, sp_err *err) {
    const char *pairs[] = {"client_key",
                           cfg->tiktok_client_key,
                           "client_secret",
                           cfg->tiktok_client_secret,
                           "code",
                           code,
                           "grant_type",
                           "authorization_code",
                           "redirect_uri",
                           redirect,
                           NULL};
    cJSON *json = NULL;
    char *url = NULL, *token_url = NULL;
    int rc =
        asprintf(&token_url, "%s/v2/oauth/token/", cfg->tiktok_api_url) >= 0
            ? 0
            : (token_url = NULL, sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory"));
    if (rc == 0) rc = post_form("TikTok", "code", token_url, pairs, &json, err);
    if (rc == 0) rc = sp_oauth_read_tiktok_token(json, out, err);
    cJSON_Delete(json);
    json = NULL;
    if (rc == 0 &&
        asprintf(&url, "%s/v2/user/info/?fields=open_id,display_name", cfg->tiktok_api_url) < 0) {
        url = NULL;
        rc = sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    }
    if (rc == 0) rc = get_json("TikTok", "user lookup", url, out->access_token, &json, err);
    if (rc == 0) rc = sp_oauth_read_tiktok_user(json, out, err);
    cJSON_Delete(json);
    free(url);
    free(token_url);
    return rc;
}

int sp_oauth_connect(const sp_config *cfg, const char *platform, const char *login,
                     const char *code, const char *verifier, sp_oauth_account *out, sp_err *err) {
    memset(out, 0, sizeof *out);
    out->expires_in = -1;
    char *redirect = sp_oauth_redirect_uri(cfg);
    int rc;
    if (!redirect) return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    if (!strcmp(platform, "youtube"))
        rc = connect_youtube(cfg, code, verifier, redirect, out, err);
    else if (via_facebook(platform, login))
        rc = connect_facebook(cfg, strcmp(platform, "facebook") != 0, code, redirect, out, err);
    else if (!strcmp(platform, "instagram"))
        rc = connect_instagram(cfg, code, redirect, out, err);
    else
        rc = connect_tiktok(cfg, code, redirect, out, err);
    free(redirect);
    if (rc < 0) sp_oauth_account_free(out);
    return rc;
}

int sp_oauth_revoke(const sp_config *cfg, const char *platform, const char *access_token,
                    const char *refresh_token, const char *user_token, sp_err *err) {
    cJSON *json = NULL;
    char *url = NULL;
    long status = 0;
    int rc = 0;
    bool meta = !strcmp(platform, "facebook") || !strcmp(platform, "instagram");
    /* Meta: only a User token revokes (Instagram Login keeps none) */
    if (meta ? !user_token : !access_token) return 0;
    if (!strcmp(platform, "youtube")) {
        /* revoking the refresh token ends the whole grant */
        const char *pairs[] = {"token", refresh_token ? refresh_token : access_token, NULL};
        rc = post_status("Google", "revocation", cfg->google_revoke_url, pairs, &json, err);
    } else if (!strcmp(platform, "tiktok")) {
        const char *pairs[] = {"client_key",
                               cfg->tiktok_client_key,
                               "client_secret",
                               cfg->tiktok_client_secret,
                               "token",
                               access_token,
                               NULL};
        rc = asprintf(&url, "%s/v2/oauth/revoke/", cfg->tiktok_api_url) >= 0
                 ? post_status("TikTok", "revocation", url, pairs, &json, err)
                 : (url = NULL, sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory"));
    } else {
        /* DELETE /{user-id}/permissions, /me being the token's user */
        const char *pairs[] = {"access_token", user_token, NULL};
        rc = (url = url_with(cfg->facebook_graph_url, "/me/permissions", pairs))
                 ? call("DELETE", url, NULL, NULL, &status, &json, err)
                 : sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
        if (rc == 0 && status != 200) rc = refused("Facebook", "revocation", status, json, err);
    }
    cJSON_Delete(json);
    free(url);
    return rc < 0 ? -1 : 1;
}

void sp_oauth_account_free(sp_oauth_account *a) {
    free(a->account_id);
    free(a->display_name);
    if (a->access_token) explicit_bzero(a->access_token, strlen(a->access_token));
    if (a->refresh_token) explicit_bzero(a->refresh_token, strlen(a->refresh_token));
    if (a->user_token) explicit_bzero(a->user_token, strlen(a->user_token));
    free(a->access_token);
    free(a->refresh_token);
    free(a->user_token);
    cJSON_Delete(a->choices);
    memset(a, 0, sizeof *a);
    a->expires_in = -1;
}
