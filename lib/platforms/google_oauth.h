/*
 * google_oauth: refreshing a Google access token (for YouTube) at
 * GOOGLE_TOKEN_URL with the account's refresh token.
 */
#ifndef SP_GOOGLE_OAUTH_H
#define SP_GOOGLE_OAUTH_H

#include "core/config.h"
#include "core/err.h"

/* Exchanges refresh_token for a new access token (*access_token, caller
 * frees) valid until *expires_at (unix seconds). invalid_grant and missing
 * client credentials fail with SP_ERR_UNPROCESSABLE (the user must reconnect
 * or the operator must configure); network and 5xx with SP_ERR_TRANSIENT. */
int sp_google_refresh(const sp_config *cfg, const char *refresh_token, char **access_token,
                      long long *expires_at, sp_err *err);

/* Reads a token endpoint's answer (status, body or NULL) received at now
 * (unix seconds), with the errors of sp_google_refresh. A 200 without a token
 * is transient; expires_in outside 0..1e7 seconds counts as an hour. Exposed
 * for tests and the fuzzer. */
int sp_google_parse_token(long status, const char *body, long long now, char **access_token,
                          long long *expires_at, sp_err *err);

#endif
