/*
 * oauth: the platforms' authorization-code flows, as the HTTP API runs them
 * to connect a user's account: the consent page's URL, the code exchanged
 * for tokens, the account those tokens belong to, and revocation.
 *
 * One table row per platform says its consent page, scopes, whether it
 * takes PKCE (S256), and its exchange, identity and revoke calls; each call
 * is the one its platform documents (tests/platform_docs/<platform>/). This
 * module speaks HTTP only: storing what it finds is accounts.c's.
 */
#ifndef SP_OAUTH_H
#define SP_OAUTH_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "core/config.h"
#include "core/err.h"

/* What a connection found. Strings are owned; sp_oauth_account_free. */
typedef struct {
    char *account_id;   /* the channel, Page, Instagram user or TikTok open_id */
    char *display_name; /* the channel title, Page name, username, nickname */
    char *access_token;
    char *refresh_token; /* NULL when the platform gives none */
    long expires_in;     /* seconds the access token lasts; -1 when not said */
    const char *login;   /* "instagram" for Instagram Login tokens, else NULL */
    /* Facebook Login's long-lived User token (a Page's or a linked Instagram
     * account's connection): the one Meta revokes the app's grant with */
    char *user_token;
    /* several accounts the user must choose from (Facebook Pages):
     * [{"id", "name", "access_token", "login"}]; the fields above are then
     * unset */
    cJSON *choices;
} sp_oauth_account;

/* True when name is a platform accounts can be connected to. */
bool sp_oauth_platform_known(const char *name);

/* The login a connection of platform goes through: for Instagram, "instagram"
 * (Instagram Login) or "facebook" (Facebook Login, the Page's linked
 * professional account); wanted is the caller's choice or NULL for the
 * default (Instagram Login when INSTAGRAM_APP_ID is set). NULL for the other
 * platforms, and for a choice that is not one of those. */
const char *sp_oauth_login(const sp_config *cfg, const char *platform, const char *wanted);

/* True when the client id and secret of the platform's login are configured
 * (and SOCIAL_POST_PUBLIC_URL); otherwise err says which setting is missing. */
bool sp_oauth_configured(const sp_config *cfg, const char *platform, const char *login,
                         sp_err *err);

/* True when the platform's flow takes a PKCE code_challenge (S256). */
bool sp_oauth_uses_pkce(const char *platform);

/* The S256 challenge of verifier (base64url of its SHA-256); caller frees. */
char *sp_oauth_challenge(const char *verifier);

/* The redirect URI the platforms send the browser back to; caller frees. */
char *sp_oauth_redirect_uri(const sp_config *cfg);

/* The consent page's URL for state (and challenge, NULL without PKCE);
 * caller frees. NULL on out of memory. */
char *sp_oauth_authorize_url(const sp_config *cfg, const char *platform, const char *login,
                             const char *state, const char *challenge);

/* Exchanges code (with verifier when PKCE) and finds the account. Fails
 * with SP_ERR_UNPROCESSABLE "exchange_failed" naming what the platform
 * answered, or "no_account" (no channel, no Page, ...). */
int sp_oauth_connect(const sp_config *cfg, const char *platform, const char *login,
                     const char *code, const char *verifier, sp_oauth_account *out, sp_err *err);

/* Tells the platform to revoke the tokens (Google's revoke endpoint,
 * TikTok's /v2/oauth/revoke/, and for a Facebook Login (a Page, or an
 * Instagram account linked to one) DELETE /me/permissions with the User
 * token: Graph refuses it with the Page token). Returns 1 revoked, 0 when
 * there is nothing to revoke with (Instagram Login has no revocation; an
 * account connected before user tokens were kept has none), -1 when the
 * platform refused or could not be reached (err says why). */
int sp_oauth_revoke(const sp_config *cfg, const char *platform, const char *access_token,
                    const char *refresh_token, const char *user_token, sp_err *err);

void sp_oauth_account_free(sp_oauth_account *a);

#endif
