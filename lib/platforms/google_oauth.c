/*
 * google_oauth: POST grant_type=refresh_token, read access_token/expires_in.
 * Secrets go in the request body only; nothing here is logged.
 */
#include "platforms/google_oauth.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/http_client.h"

/* Builds the form body; caller frees. */
static char *refresh_form(const sp_config *cfg, const char *refresh_token) {
    sp_http_field fields[] = {{"grant_type", "refresh_token"},
                              {"refresh_token", refresh_token},
                              {"client_id", cfg->google_client_id},
                              {"client_secret", cfg->google_client_secret}};
    return sp_http_form_encode(fields, 4);
}

/* Seconds a new token lasts, from expires_in: a number from 0 to 1e7 (the
 * cast of anything else would overflow); an hour when absent or out of range. */
static long long token_lifetime(const cJSON *expires_in) {
    if (!cJSON_IsNumber(expires_in)) return 3600;
    double v = expires_in->valuedouble;
    return v >= 0 && v <= 1e7 ? (long long)v : 3600;
}

int sp_google_parse_token(long status, const char *body, long long now, char **access_token,
                          long long *expires_at, sp_err *err) {
    cJSON *root = body ? cJSON_Parse(body) : NULL;
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(root, "access_token");
    int rc = -1;
    *access_token = NULL;
    if (status == 200 && cJSON_IsString(tok) && *tok->valuestring) {
        *access_token = strdup(tok->valuestring);
        *expires_at = now + token_lifetime(cJSON_GetObjectItemCaseSensitive(root, "expires_in"));
        rc = *access_token ? 0 : sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    } else if (status == 429 || status >= 500 || status == 200) {
        sp_err_set(err, SP_ERR_TRANSIENT, "token_refresh_failed",
                   "refreshing the YouTube token failed with HTTP %ld", status);
    } else {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(root, "error");
        bool invalid_grant = cJSON_IsString(code) && !strcmp(code->valuestring, "invalid_grant");
        sp_err_set(err, SP_ERR_UNPROCESSABLE, "reconnect_account",
                   invalid_grant ? "YouTube access was revoked or expired: reconnect your YouTube "
                                   "account"
                                 : "refreshing the YouTube token was refused (HTTP %ld): reconnect "
                                   "your YouTube account",
                   status);
    }
    cJSON_Delete(root);
    return rc;
}

int sp_google_refresh(const sp_config *cfg, const char *refresh_token, char **access_token,
                      long long *expires_at, sp_err *err) {
    *access_token = NULL;
    if (!refresh_token || !*refresh_token)
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "reconnect_account",
                          "the YouTube token expired and there is no refresh token: reconnect "
                          "your YouTube account");
    if (!cfg->google_client_id || !cfg->google_client_secret)
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "not_configured",
                          "the YouTube token expired and GOOGLE_CLIENT_ID/GOOGLE_CLIENT_SECRET "
                          "are not configured to refresh it");
    char *form = refresh_form(cfg, refresh_token);
    if (!form) return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    sp_http_req req = {.method = "POST",
                       .url = cfg->google_token_url,
                       .headers = {"Content-Type: application/x-www-form-urlencoded"},
                       .body = form,
                       .body_len = strlen(form),
                       .timeout_seconds = 30};
    sp_http_resp resp;
    int rc;
    if (sp_http_perform(&req, &resp, err) < 0)
        rc = sp_err_set(err, SP_ERR_TRANSIENT, "token_refresh_failed",
                        "could not reach Google to refresh the token: %s", resp.transport_error);
    else
        rc = sp_google_parse_token(resp.status, resp.body, (long long)time(NULL), access_token,
                                   expires_at, err);
    sp_http_resp_free(&resp);
    free(form);
    return rc;
}
