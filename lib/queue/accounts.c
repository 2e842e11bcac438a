/*
 * accounts: social_accounts as the worker sees it. Tokens are opened right
 * after the claim and sealed right before each write, so only this file and
 * the adapters' memory ever hold them in clear. A row is found by what the
 * claim read from it (the app's table need not have a key of its own): the
 * user, the platform, the account id and the refresh token's stored text,
 * which also makes each write a compare-and-set against a concurrent one.
 */
#include "queue/accounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* $4 the refresh token's stored text the row holds (the one just spent),
 * $7 the one to keep: TikTok rotates refresh tokens, and the spent one no
 * longer works. */
static const sp_stmt store_token = {
    "accounts_store_token",
    "UPDATE public.social_accounts SET access_token = $5, token_expires_at = "
    "to_timestamp($6::bigint), refresh_token = $7"
    " WHERE user_id = $1::uuid AND platform = $2 AND account_id IS NOT DISTINCT FROM $3"
    "   AND refresh_token IS NOT DISTINCT FROM $4",
    7};

/* Rows holding a sealed token, and rows holding one that is not sealed
 * ('sp1:' starts every sealed one). */
static const sp_stmt count_tokens = {
    "accounts_count_tokens",
    "SELECT count(*) FILTER (WHERE left(access_token, 4) = 'sp1:'"
    "                           OR left(refresh_token, 4) = 'sp1:'),"
    "       count(*) FILTER (WHERE (access_token IS NOT NULL AND left(access_token, 4) <> 'sp1:')"
    "                           OR (refresh_token IS NOT NULL AND left(refresh_token, 4) <> "
    "'sp1:'))"
    " FROM public.social_accounts",
    0};

/* Rows with a token not sealed with the current key; $1 its prefix. */
static const sp_stmt not_current = {
    "accounts_not_current",
    "SELECT user_id::text, platform, account_id, access_token, refresh_token"
    " FROM public.social_accounts"
    " WHERE (access_token IS NOT NULL AND left(access_token, length($1)) <> $1)"
    "    OR (refresh_token IS NOT NULL AND left(refresh_token, length($1)) <> $1)",
    1};

/* One row re-sealed, only when it still holds what was read ($4, $5). */
static const sp_stmt reseal_row = {
    "accounts_reseal_row",
    "UPDATE public.social_accounts SET access_token = $6, refresh_token = $7"
    " WHERE user_id = $1::uuid AND platform = $2 AND account_id IS NOT DISTINCT FROM $3"
    "   AND access_token IS NOT DISTINCT FROM $4 AND refresh_token IS NOT DISTINCT FROM $5",
    7};

/* Frees *s after wiping it (it may hold a token in clear). */
static void wipe_free(char **s) {
    if (*s) explicit_bzero(*s, strlen(*s));
    free(*s);
    *s = NULL;
}

int sp_accounts_open_tokens(const sp_seal_keys *keys, sp_delivery *d, sp_err *err) {
    sp_post *p = &d->post;
    const char *platform = sp_platform_name(p->platform);
    sp_err why;
    sp_err_clear(&why);
    char *access = sp_unseal(keys, d->user_id, platform, p->access_token, &why);
    char *refresh =
        why.kind == SP_OK ? sp_unseal(keys, d->user_id, platform, p->refresh_token, &why) : NULL;
    free(d->stored_refresh_token);
    d->stored_refresh_token = p->refresh_token; /* the row's text, to find it again */
    p->refresh_token = NULL;
    free(p->access_token);
    p->access_token = NULL;
    if (why.kind != SP_OK) {
        wipe_free(&access);
        wipe_free(&refresh);
        return sp_err_set(err, why.kind, why.code,
                          "the %s account %s of user %s cannot be used: %s; connect it again, "
                          "or check SOCIAL_POST_TOKEN_KEYS",
                          platform, p->account_id ? p->account_id : "(no account id)", d->user_id,
                          why.msg);
    }
    p->access_token = access;
    p->refresh_token = refresh;
    return 0;
}

int sp_accounts_store_token(sp_db *db, const sp_seal_keys *keys, sp_delivery *d, sp_err *err) {
    const sp_post *post = &d->post;
    const char *platform = sp_platform_name(post->platform);
    char expires[32];
    snprintf(expires, sizeof expires, "%lld", post->token_expires_at);
    sp_err_clear(err);
    char *access = sp_seal(keys, d->user_id, platform, post->access_token, err);
    char *refresh =
        err->kind == SP_OK ? sp_seal(keys, d->user_id, platform, post->refresh_token, err) : NULL;
    int rc = -1;
    if (err->kind == SP_OK) {
        const char *params[] = {d->user_id, platform, post->account_id, d->stored_refresh_token,
                                access,     expires,  refresh};
        sp_rows *res = sp_db_exec(db, &store_token, params, err);
        if (res) {
            sp_rows_free(res);
            free(d->stored_refresh_token);
            d->stored_refresh_token = refresh;
            refresh = NULL;
            rc = 0;
        }
    }
    free(access);
    free(refresh);
    return rc;
}

int sp_accounts_count_tokens(sp_db *db, long long *sealed, long long *plain, sp_err *err) {
    sp_rows *res = sp_db_exec(db, &count_tokens, NULL, err);
    if (!res) return -1;
    *sealed = atoll(sp_rows_value(res, 0, 0));
    *plain = atoll(sp_rows_value(res, 0, 1));
    sp_rows_free(res);
    return 0;
}

/* Re-seals row of res; 1 done (or changed meanwhile), 0 did not open, -1 error. */
static int reseal_one(sp_db *db, const sp_seal_keys *keys, const sp_rows *res, int row,
                      sp_err *err) {
    const char *user = sp_rows_value(res, row, 0), *platform = sp_rows_value(res, row, 1);
    const char *account = sp_rows_is_null(res, row, 2) ? NULL : sp_rows_value(res, row, 2);
    const char *old_access = sp_rows_is_null(res, row, 3) ? NULL : sp_rows_value(res, row, 3);
    const char *old_refresh = sp_rows_is_null(res, row, 4) ? NULL : sp_rows_value(res, row, 4);
    sp_err why;
    sp_err_clear(&why);
    char *access = sp_seal(keys, user, platform, old_access, &why);
    char *refresh = why.kind == SP_OK ? sp_seal(keys, user, platform, old_refresh, &why) : NULL;
    int rc = 0;
    if (why.kind == SP_ERR_OOM || why.kind == SP_ERR_INTERNAL) {
        *err = why;
        rc = -1;
    } else if (why.kind != SP_OK) {
        sp_log(SP_LOG_ERROR, "the %s account %s of user %s was not re-sealed: %s", platform,
               account ? account : "(no account id)", user, why.msg);
    } else {
        const char *params[] = {user, platform, account, old_access, old_refresh, access, refresh};
        sp_rows *up = sp_db_exec(db, &reseal_row, params, err);
        rc = up ? 1 : -1;
        sp_rows_free(up);
    }
    free(access);
    free(refresh);
    return rc;
}

int sp_accounts_reseal(sp_db *db, const sp_seal_keys *keys, sp_reseal_report *out, sp_err *err) {
    memset(out, 0, sizeof *out);
    if (!keys)
        return sp_err_set(err, SP_ERR_INTERNAL, "config",
                          "SOCIAL_POST_TOKEN_KEYS is not set: there is no key to seal with");
    char prefix[64];
    snprintf(prefix, sizeof prefix, SP_SEAL_PREFIX "%s:", sp_seal_current_kid(keys));
    const char *params[] = {prefix};
    sp_rows *res = sp_db_exec(db, &not_current, params, err);
    if (!res) return -1;
    int rc = 0;
    for (int row = 0; row < sp_rows_count(res) && rc == 0; row++) {
        int done = reseal_one(db, keys, res, row, err);
        if (done < 0)
            rc = -1;
        else if (done)
            out->resealed++;
        else
            out->failed++;
    }
    sp_rows_free(res);
    return rc;
}
