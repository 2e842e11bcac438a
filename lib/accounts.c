/*
 * accounts: token refresh results go back to social_accounts, so the next
 * delivery (on any worker) starts with a valid token.
 */
#include "accounts.h"

#include <stdio.h>

static const sp_stmt store_token = {"accounts_store_token",
                                    "UPDATE public.social_accounts SET access_token = $3,"
                                    " token_expires_at = to_timestamp($4::bigint)"
                                    " WHERE user_id = $1::uuid AND platform = $2",
                                    4};

int sp_accounts_store_token(sp_db *db, const char *user_id, sp_platform p, const char *access_token,
                            long long expires_at, sp_err *err) {
    char expires[32];
    snprintf(expires, sizeof expires, "%lld", expires_at);
    const char *params[] = {user_id, sp_platform_name(p), access_token, expires};
    PGresult *res = sp_db_exec(db, &store_token, params, err);
    if (!res) return -1;
    PQclear(res);
    return 0;
}
