/*
 * accounts: token refresh results go back to social_accounts, so the next
 * delivery (on any worker) starts with a valid token; a refresh token the
 * platform rotated replaces the spent one in the same statement. The row is found by
 * what the claim read from it (queue.c), since the app's table need not have
 * a key of its own.
 */
#include "queue/accounts.h"

#include <stdio.h>

/* $4 the refresh token the row holds (the one just spent), $7 the one to
 * keep: TikTok rotates refresh tokens, and the spent one no longer works. */
static const sp_stmt store_token = {
    "accounts_store_token",
    "UPDATE public.social_accounts SET access_token = $5, token_expires_at = "
    "to_timestamp($6::bigint), refresh_token = $7"
    " WHERE user_id = $1::uuid AND platform = $2 AND account_id IS NOT DISTINCT FROM $3"
    "   AND refresh_token IS NOT DISTINCT FROM $4",
    7};

int sp_accounts_store_token(sp_db *db, const char *user_id, const sp_post *post,
                            const char *old_refresh_token, sp_err *err) {
    char expires[32];
    snprintf(expires, sizeof expires, "%lld", post->token_expires_at);
    const char *params[] = {user_id,
                            sp_platform_name(post->platform),
                            post->account_id,
                            old_refresh_token,
                            post->access_token,
                            expires,
                            post->refresh_token};
    PGresult *res = sp_db_exec(db, &store_token, params, err);
    if (!res) return -1;
    PQclear(res);
    return 0;
}
