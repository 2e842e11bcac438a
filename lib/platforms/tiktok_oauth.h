/*
 * tiktok_oauth: refreshing a TikTok access token at TIKTOK_API_URL +
 * /v2/oauth/token/ with the account's refresh token. TikTok rotates refresh
 * tokens: the answer's refresh token replaces the one spent, and the caller
 * stores both tokens together.
 */
#ifndef SP_TIKTOK_OAUTH_H
#define SP_TIKTOK_OAUTH_H

#include "core/config.h"
#include "core/err.h"

/* Exchanges refresh_token for a new access token and the refresh token to
 * keep (*refresh_out: the rotated one, or a copy of refresh_token when the
 * answer gave none); both are the caller's to free. *expires_at is unix
 * seconds from expires_in, 0 when the answer gave no lifetime. Errors as
 * sp_tiktok_parse_token; missing TIKTOK_CLIENT_KEY/SECRET or no refresh
 * token fail with SP_ERR_UNPROCESSABLE. */
int sp_tiktok_refresh(const sp_config *cfg, const char *refresh_token, char **access_token,
                      char **refresh_out, long long *expires_at, sp_err *err);

#endif
