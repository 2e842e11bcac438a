/*
 * account_routes: connecting and disconnecting accounts over HTTP.
 *
 * The callback's order is what keeps errors whole: the state is taken (and
 * so spent) in its own transaction first, the platform is asked next with
 * no transaction open, and only a connection that fully worked is stored;
 * every other outcome writes nothing and sends the browser to the status
 * page with a code saying what happened (?accounts=<outcome>&platform=).
 */
#include "api/account_routes.h"

#include <cjson/cJSON.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/accounts.h"
#include "api/oauth.h"
#include "core/base64url.h"
#include "core/json.h"
#include "core/log.h"

#define COOKIE "sp_connect"
#define SECRET_BYTES 32
#define CHOOSE_BODY_LIMIT 4096

/* A random base64url secret of SECRET_BYTES bytes; caller frees. */
static char *random_secret(void) {
    unsigned char b[SECRET_BYTES];
    if (RAND_bytes(b, sizeof b) != 1) return NULL;
    return sp_b64url_encode(b, sizeof b);
}

bool sp_account_routes_cookie(const char *c, char out[64]) {
    for (const char *p = c; p && (p = strstr(p, COOKIE "=")); p++) {
        if (p != c && p[-1] != ' ' && p[-1] != ';') continue;
        p += strlen(COOKIE "=");
        size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
        if (n != 43) return false;
        memcpy(out, p, n);
        out[n] = '\0';
        return true;
    }
    return false;
}

/* The request's sp_connect cookie, into out. */
static bool browser_cookie(const sp_request *r, char out[64]) {
    return sp_account_routes_cookie(sp_request_param(r, "HTTP_COOKIE"), out);
}

/* The platform named by the path's second segment, checked, into out. */
static int path_platform(const sp_request *r, char out[16], sp_err *err) {
    if (!sp_request_path_segment(r, 1, out, 16) || !sp_oauth_platform_known(out))
        return sp_err_set(err, SP_ERR_NOT_FOUND, "unknown_platform",
                          "platform must be youtube, facebook, instagram or tiktok");
    return 0;
}

void sp_account_routes_list(sp_ctx *ctx, sp_request *r) {
    sp_err err;
    sp_jwt_claims claims;
    char *json = NULL;
    if (sp_request_authenticate(r, ctx->jwt, &claims, &err) < 0 ||
        !(json = sp_accounts_list_json_as(ctx->db, claims.claims_json, &err))) {
        sp_response_send_error(r, &err);
    } else {
        sp_response_send_json(r, 200, json);
    }
    free(json);
    sp_jwt_claims_clear(&claims);
}

/* Sends {authorizeUrl} with the browser's cookie. */
static void send_authorize(const sp_ctx *ctx, sp_request *r, const char *url, const char *browser) {
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "authorizeUrl", url);
    char *text = sp_json_print(body);
    cJSON_Delete(body);
    sp_response resp;
    sp_response_init(&resp, 200);
    bool secure = strncmp(ctx->cfg->public_url, "https://", 8) == 0;
    sp_response_header(&resp, "Set-Cookie",
                       COOKIE "=%s; Path=/; Max-Age=600; HttpOnly; SameSite=Lax%s", browser,
                       secure ? "; Secure" : "");
    sp_response_send(r, &resp, text ? text : "{}", strlen(text ? text : "{}"));
    free(text);
}

void sp_account_routes_connect(sp_ctx *ctx, sp_request *r) {
    sp_err err;
    sp_jwt_claims claims;
    char platform[16], browser[64], wanted[16];
    char *state = NULL, *verifier = NULL, *challenge = NULL, *url = NULL, *fresh = NULL;
    const char *login;
    if (sp_request_authenticate(r, ctx->jwt, &claims, &err) < 0) goto fail;
    if (path_platform(r, platform, &err) < 0) goto fail;
    int asked = sp_request_query(r, "login", wanted, sizeof wanted, &err);
    login = sp_oauth_login(ctx->cfg, platform, asked == 1 ? wanted : NULL);
    if (asked < 0 || (asked == 1 && !login)) {
        sp_err_set(&err, SP_ERR_BAD_REQUEST, "invalid_login",
                   "login must be instagram or facebook, and only for instagram");
        goto fail;
    }
    if (!sp_oauth_configured(ctx->cfg, platform, login, &err)) goto fail;
    /* one cookie per browser: connections started side by side all keep working */
    if (!browser_cookie(r, browser)) {
        if (!(fresh = random_secret())) goto oom;
        snprintf(browser, sizeof browser, "%s", fresh);
    }
    if (!(state = random_secret()) || !(verifier = random_secret())) goto oom;
    if (sp_oauth_uses_pkce(platform) && !(challenge = sp_oauth_challenge(verifier))) goto oom;
    if (!(url = sp_oauth_authorize_url(ctx->cfg, platform, login, state, challenge))) goto oom;
    if (sp_accounts_begin_as(ctx->db, claims.claims_json, platform, login, state, verifier, browser,
                             &err) < 0)
        goto fail;
    send_authorize(ctx, r, url, browser);
    goto done;
oom:
    sp_err_set(&err, SP_ERR_OOM, "out_of_memory", "out of memory");
fail:
    sp_response_send_error(r, &err);
done:
    free(state), free(verifier), free(challenge), free(url), free(fresh);
    sp_jwt_claims_clear(&claims);
}

/* Sends the browser to the status page with the outcome. */
static void redirect_outcome(const sp_ctx *ctx, sp_request *r, const char *outcome,
                             const char *platform) {
    sp_log_field fields[] = {{"event", "account_connection", 0},
                             {"outcome", outcome, 0},
                             {"platform", platform && *platform ? platform : "unknown", 0}};
    sp_log_fields(strcmp(outcome, "connected") && strcmp(outcome, "choose") ? SP_LOG_WARN
                                                                            : SP_LOG_INFO,
                  "account connection", fields, 3);
    sp_response resp;
    sp_response_init(&resp, 303);
    sp_response_header(&resp, "Location", "%s/social-post-ui/?accounts=%s%s%s#accounts",
                       ctx->cfg->public_url ? ctx->cfg->public_url : "", outcome,
                       platform && *platform ? "&platform=" : "", platform ? platform : "");
    sp_response_send(r, &resp, NULL, 0);
}

/* The query parameter name into out ("" when absent or unreadable). */
static void query_or_empty(const sp_request *r, const char *name, char *out, size_t len) {
    sp_err ignored;
    if (sp_request_query(r, name, out, len, &ignored) != 1) out[0] = '\0';
}

/* Exchanges the code and stores what it found; the outcome's name. */
static const char *finish(sp_ctx *ctx, const char *state, const char *user_id, const char *platform,
                          const char *login, const char *code, const char *verifier) {
    sp_err err;
    sp_oauth_account a;
    if (sp_oauth_connect(ctx->cfg, platform, login, code, verifier, &a, &err) < 0) {
        sp_log(SP_LOG_WARN, "connecting %s failed: %s", platform, err.msg);
        return strcmp(err.code, "no_account") == 0             ? "no_account"
               : strcmp(err.code, "platform_unreachable") == 0 ? "platform_unreachable"
                                                               : "exchange_failed";
    }
    /* Facebook: one Page is simply the account; several are offered */
    if (a.choices && cJSON_GetArraySize(a.choices) == 1) {
        cJSON *only = cJSON_GetArrayItem(a.choices, 0);
        a.account_id = strdup(cJSON_GetObjectItem(only, "id")->valuestring);
        a.display_name = strdup(cJSON_GetObjectItem(only, "name")->valuestring);
        a.access_token = strdup(cJSON_GetObjectItem(only, "access_token")->valuestring);
        cJSON_Delete(a.choices);
        a.choices = NULL;
    }
    bool offered = a.choices != NULL;
    int rc = (offered || (a.account_id && a.access_token))
                 ? sp_accounts_store(ctx->db, ctx->cfg, state, user_id, platform, &a, &err)
                 : -1;
    sp_oauth_account_free(&a);
    if (rc < 0) return "error";
    return offered ? "choose" : "connected";
}

void sp_account_routes_callback(sp_ctx *ctx, sp_request *r) {
    char state[128], code[2048], error[64], browser[64], outcome[32] = "", platform[16] = "";
    char login[16] = "", user_id[37] = "";
    char *verifier = NULL;
    sp_err err;
    query_or_empty(r, "state", state, sizeof state);
    query_or_empty(r, "code", code, sizeof code);
    query_or_empty(r, "error", error, sizeof error);
    if (!browser_cookie(r, browser)) browser[0] = '\0';
    if (!state[0]) {
        redirect_outcome(ctx, r, error[0] ? "access_denied" : "unknown_state", NULL);
        return;
    }
    /* the state is spent here, whatever comes next */
    if (sp_accounts_take(ctx->db, state, browser[0] ? browser : NULL, outcome, platform, login,
                         user_id, &verifier, &err) < 0) {
        redirect_outcome(ctx, r, "error", NULL);
        return;
    }
    const char *result = outcome;
    if (strcmp(outcome, "ok") != 0)
        result = outcome;
    else if (error[0])
        result = strcmp(error, "access_denied") == 0 ? "access_denied" : "consent_failed";
    else if (!code[0])
        result = "missing_code";
    else
        result = finish(ctx, state, user_id, platform, login[0] ? login : NULL, code, verifier);
    /* a taken state that connected nothing: finished and counted */
    if (!strcmp(outcome, "ok") && strcmp(result, "connected") && strcmp(result, "choose") &&
        sp_accounts_fail(ctx->db, state, result, &err) < 0)
        sp_log(SP_LOG_WARN, "recording a failed connection: %s", err.msg);
    redirect_outcome(ctx, r, result, platform);
    free(verifier);
}

void sp_account_routes_choose(sp_ctx *ctx, sp_request *r) {
    sp_err err;
    sp_jwt_claims claims;
    cJSON *body = NULL;
    char platform[16];
    const char *account_id = NULL;
    if (sp_request_authenticate(r, ctx->jwt, &claims, &err) < 0) goto fail;
    if (path_platform(r, platform, &err) < 0) goto fail;
    if (sp_request_read_json_body(r, CHOOSE_BODY_LIMIT, &err) < 0) goto fail;
    if (sp_json_parse_strict(r->body, r->body_len, &body, &err) < 0) goto fail;
    if (sp_json_opt_string(body, "accountId", &account_id, &err) < 0) goto fail;
    if (!account_id || !*account_id) {
        sp_err_set(&err, SP_ERR_BAD_REQUEST, "missing_account_id", "accountId is required");
        goto fail;
    }
    if (sp_accounts_choose_as(ctx->db, claims.claims_json, platform, account_id, &err) < 0)
        goto fail;
    sp_response_send_json(r, 200, "{\"connected\":true}");
    goto done;
fail:
    sp_response_send_error(r, &err);
done:
    cJSON_Delete(body);
    sp_jwt_claims_clear(&claims);
}

void sp_account_routes_disconnect(sp_ctx *ctx, sp_request *r) {
    sp_err err, revoke_err;
    sp_jwt_claims claims;
    char platform[16];
    sp_removed_account gone = {0};
    int found;
    if (sp_request_authenticate(r, ctx->jwt, &claims, &err) < 0) goto fail;
    if (path_platform(r, platform, &err) < 0) goto fail;
    if ((found = sp_accounts_remove_as(ctx->db, ctx->cfg, claims.claims_json, claims.sub, platform,
                                       &gone, &err)) < 0)
        goto fail;
    if (!found) {
        sp_err_set(&err, SP_ERR_NOT_FOUND, "account_not_found", "no %s account is connected",
                   platform);
        goto fail;
    }
    /* the row is gone already: a platform that refuses only leaves the grant
     * for the user to remove in its settings, which the answer says */
    int revoked = sp_oauth_revoke(ctx->cfg, platform, gone.access_token, gone.refresh_token,
                                  gone.user_token, &revoke_err);
    if (revoked < 0) sp_log(SP_LOG_WARN, "revoking %s failed: %s", platform, revoke_err.msg);
    sp_response_send_json(r, 200,
                          revoked > 0    ? "{\"disconnected\":true,\"revoked\":true}"
                          : revoked == 0 ? "{\"disconnected\":true,\"revoked\":false}"
                                         : "{\"disconnected\":true,\"revoked\":false,"
                                           "\"message\":\"the platform could not be told; "
                                           "remove the app in its settings\"}");
    goto done;
fail:
    sp_response_send_error(r, &err);
done:
    sp_removed_account_clear(&gone);
    sp_jwt_claims_clear(&claims);
}
