/*
 * accounts: token refresh results go back to social_accounts, so the next
 * delivery (on any worker) starts with a valid token. The row is found by
 * what the claim read from it (queue.c), since the app's table need not have
 * a key of its own.
 */
#include "queue/accounts.h"

#include <stdio.h>

static const sp_stmt store_token = {
    "accounts_store_token",
    "UPDATE public.social_accounts SET access_token = $5, token_expires_at = "
    "to_timestamp($6::bigint)"
    " WHERE user_id = $1::uuid AND platform = $2 AND account_id IS NOT DISTINCT FROM $3"
    "   AND refresh_token IS NOT DISTINCT FROM $4",
    6};

int sp_accounts_store_token(sp_db *db, const char *user_id, const sp_post *post, sp_err *err) {
    char expires[32];
    snprintf(expires, sizeof expires, "%lld", post->token_expires_at);
    const char *params[] = {user_id,
                            sp_platform_name(post->platform),
                            post->account_id,
                            post->refresh_token,
                            post->access_token,
                            expires};
    PGresult *res = sp_db_exec(db, &store_token, params, err);
    if (!res) return -1;
    PQclear(res);
    return 0;
}
