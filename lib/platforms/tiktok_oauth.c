/*
 * tiktok_oauth: POST grant_type=refresh_token with client_key and
 * client_secret as a form (developers.tiktok.com/doc/oauth-user-access-token-management),
 * read by sp_tiktok_parse_token. Secrets go in the request body only;
 * nothing here is logged.
 */
#include "platforms/tiktok_oauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/http_client.h"
#include "platforms/tiktok_api.h"

/* Builds the form body; caller frees. */
static char *refresh_form(const sp_config *cfg, const char *refresh_token) {
    sp_http_field fields[] = {{"client_key", cfg->tiktok_client_key},
                              {"client_secret", cfg->tiktok_client_secret},
                              {"grant_type", "refresh_token"},
                              {"refresh_token", refresh_token}};
    return sp_http_form_encode(fields, 4);
}

int sp_tiktok_refresh(const sp_config *cfg, const char *refresh_token, char **access_token,
                      char **refresh_out, long long *expires_at, sp_err *err) {
    *access_token = *refresh_out = NULL;
    if (!refresh_token || !*refresh_token)
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "no_refresh_token",
                          "the TikTok token expired and there is no refresh token: reconnect "
                          "your TikTok account");
    if (!cfg->tiktok_client_key || !cfg->tiktok_client_secret)
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "not_configured",
                          "the TikTok token expired and TIKTOK_CLIENT_KEY/TIKTOK_CLIENT_SECRET "
                          "are not configured to refresh it");
    char url[1024];
    snprintf(url, sizeof url, "%s/v2/oauth/token/", cfg->tiktok_api_url);
    char *form = refresh_form(cfg, refresh_token);
    if (!form) return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    sp_http_req req = {
        .method = "POST",
        .url = url,
        .headers = {"Content-Type: application/x-www-form-urlencoded", "Cache-Control: no-cache"},
        .body = form,
        .body_len = strlen(form),
        .timeout_seconds = 30};
    sp_http_resp resp;
    int rc;
    if (sp_http_perform(&req, &resp, err) < 0)
        rc = sp_err_set(err, SP_ERR_TRANSIENT, "token_refresh_failed",
                        "could not reach TikTok to refresh the token: %s", resp.transport_error);
    else
        rc = sp_tiktok_parse_token(resp.status, resp.body, (long long)time(NULL), access_token,
                                   refresh_out, expires_at, err);
    sp_http_resp_free(&resp);
    free(form);
    if (rc == 0 && !*refresh_out && !(*refresh_out = strdup(refresh_token))) {
        free(*access_token);
        *access_token = NULL;
        rc = sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    }
    return rc;
}
