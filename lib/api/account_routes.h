/*
 * account_routes: the handlers of /social-post-accounts (served by the
 * social-post program, to which nginx passes them as PATH_INFO
 * "/accounts...").
 *
 *   GET    /accounts                the caller's accounts and open choices
 *   POST   /accounts/{p}/connect    {authorizeUrl}: the platform's consent page
 *   GET    /accounts/callback       the browser comes back (no bearer token)
 *   POST   /accounts/{p}/choose     {"accountId"}: one of the Pages offered
 *   DELETE /accounts/{p}            revoke at the platform, remove the row
 *
 * A connection is bound to the browser that started it by a cookie
 * (sp_connect, HttpOnly, SameSite=Lax) whose hash the state keeps: a state
 * that comes back in another browser (another user's) is refused.
 */
#ifndef SP_ACCOUNT_ROUTES_H
#define SP_ACCOUNT_ROUTES_H

#include "api/server.h"

/* The value of the sp_connect cookie in a Cookie header (NULL: none) when it
 * is one of ours (43 base64url characters), into out; false otherwise.
 * Exposed for the fuzzer. */
bool sp_account_routes_cookie(const char *cookie_header, char out[64]);

void sp_account_routes_list(sp_ctx *ctx, sp_request *r);
void sp_account_routes_connect(sp_ctx *ctx, sp_request *r);
void sp_account_routes_callback(sp_ctx *ctx, sp_request *r);
void sp_account_routes_choose(sp_ctx *ctx, sp_request *r);
void sp_account_routes_disconnect(sp_ctx *ctx, sp_request *r);

#endif
