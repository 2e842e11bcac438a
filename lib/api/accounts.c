/*
 * accounts: the connected accounts' SQL (migration 0018's functions), and
 * store_token, the one point where a token goes towards the database.
 */
#include "api/accounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/json.h"
#include "core/log.h"
#include "core/seal.h"

static const sp_stmt begin_stmt = {
    "accounts_begin", "SELECT public.social_post_account_begin($1, $2, $3, $4, $5)", 5};
static const sp_stmt take_stmt = {"accounts_take",
                                  "SELECT outcome, platform, verifier, login, user_id FROM "
                                  "public.social_post_account_take($1, $2)",
                                  2};
static const sp_stmt store_stmt = {"accounts_store",
                                   "SELECT public.social_post_account_store($1, $2, $3, $4, $5, "
                                   "CASE WHEN $6::bigint IS NULL THEN NULL ELSE now() + "
                                   "make_interval(secs => $6::bigint) END, $7, $8)",
                                   8};
static const sp_stmt offer_stmt = {"accounts_offer",
                                   "SELECT public.social_post_account_offer($1, $2::jsonb)", 2};
static const sp_stmt fail_stmt = {"accounts_fail", "SELECT public.social_post_account_fail($1, $2)",
                                  2};
static const sp_stmt choose_stmt = {"accounts_choose",
                                    "SELECT public.social_post_account_choose($1, $2)", 2};
static const sp_stmt list_stmt = {
    "accounts_list",
    "SELECT json_build_object("
    " 'accounts', coalesce(json_agg(json_build_object("
    "   'platform', platform, 'accountId', account_id, 'displayName', display_name,"
    "   'connectedAt', to_char(connected_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    "   'needsReconnect', needs_reconnect)) FILTER (WHERE choices IS NULL), '[]'),"
    " 'choices', coalesce(json_agg(json_build_object('platform', platform, 'options', choices))"
    "   FILTER (WHERE choices IS NOT NULL), '[]'))::text "
    "FROM public.social_post_accounts_of_caller()",
    0};
/* Removal reads the tokens, which only the accounts role may: the caller's
 * transaction becomes it for the one call (as /metrics becomes
 * social_post_metrics); auth.uid() is still the caller. */
static const sp_stmt become_accounts = {
    "accounts_become_accounts", "SELECT set_config('role', 'social_post_accounts', true)", 0};
static const sp_stmt revoke_take_stmt = {"accounts_revoke_take",
                                         "SELECT access_token, refresh_token, user_token "
                                         "FROM public.social_post_account_revoke_take($1)",
                                         1};

/* The one point where a token goes towards the database: the token of
 * user_id's platform account sealed with SOCIAL_POST_TOKEN_KEYS (as given
 * when no keys are set). Caller frees; NULL stays NULL; *failed set when it
 * could not be sealed (nothing is then written). */
static char *store_token(const sp_config *cfg, const char *user_id, const char *platform,
                         const char *token, bool *failed) {
    sp_err err;
    if (!token) return NULL;
    char *out = sp_seal(cfg->token_keys, user_id, platform, token, &err);
    if (!out) {
        sp_log(SP_LOG_ERROR, "sealing a %s token failed: %s", platform, err.msg);
        *failed = true;
    }
    return out;
}

/* Its counterpart: the token a stored text holds, opened. Caller frees;
 * NULL when absent or when it does not open (then it is only not revoked). */
static char *open_token(const sp_config *cfg, const char *user_id, const char *platform,
                        const char *stored) {
    sp_err err;
    if (!stored) return NULL;
    char *out = sp_unseal(cfg->token_keys, user_id, platform, stored, &err);
    if (!out)
        sp_log(SP_LOG_WARN, "the removed %s account's token did not open: %s", platform, err.msg);
    return out;
}

/* Frees and wipes a stored token's text. */
static void drop_token(char *t) {
    if (t) explicit_bzero(t, strlen(t));
    free(t);
}

/* Runs a statement whose only answer is "done", as claims. */
static int exec_as(sp_db *db, const char *claims, const sp_stmt *stmt, const char *const *params,
                   sp_rows **out, sp_err *err) {
    sp_rows *res = sp_db_exec1_as(db, claims, stmt, params, err);
    if (!res) return -1;
    if (out)
        *out = res;
    else
        sp_rows_free(res);
    return 0;
}

int sp_accounts_begin_as(sp_db *db, const char *claims_json, const char *platform,
                         const char *login, const char *state, const char *verifier,
                         const char *browser, sp_err *err) {
    const char *params[] = {platform, login, state, verifier, browser};
    return exec_as(db, claims_json, &begin_stmt, params, NULL, err);
}

int sp_accounts_take(sp_db *db, const char *state, const char *browser, char outcome[32],
                     char platform[16], char login[16], char user_id[37], char **verifier,
                     sp_err *err) {
    const char *params[] = {state, browser};
    sp_rows *res;
    *verifier = NULL;
    if (exec_as(db, SP_ACCOUNTS_NO_USER_CLAIMS, &take_stmt, params, &res, err) < 0) return -1;
    int rc = 0;
    if (sp_rows_count(res) != 1) {
        rc = sp_err_set(err, SP_ERR_INTERNAL, "internal", "no answer taking a state");
    } else {
        snprintf(outcome, 32, "%s", sp_rows_value(res, 0, 0));
        snprintf(platform, 16, "%s", sp_rows_value(res, 0, 1));
        snprintf(login, 16, "%s", sp_rows_value(res, 0, 3));
        snprintf(user_id, 37, "%s", sp_rows_value(res, 0, 4));
        if (!sp_rows_is_null(res, 0, 2) && !(*verifier = strdup(sp_rows_value(res, 0, 2))))
            rc = sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    }
    sp_rows_free(res);
    return rc;
}

/* The choices with each token passed through store_token, each with the
 * User token too (NULL: none); caller frees. */
static char *sealed_choices(const sp_config *cfg, const char *user_id, const char *platform,
                            const cJSON *choices, const char *user_token, bool *oom) {
    cJSON *copy = cJSON_Duplicate(choices, true), *o;
    if (!copy) {
        *oom = true;
        return NULL;
    }
    cJSON_ArrayForEach(o, copy) {
        cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "access_token");
        char *stored =
            cJSON_IsString(t) ? store_token(cfg, user_id, platform, t->valuestring, oom) : NULL;
        if (stored)
            cJSON_ReplaceItemInObjectCaseSensitive(o, "access_token", cJSON_CreateString(stored));
        drop_token(stored);
        /* the User token the Pages were read with goes with whichever is chosen */
        if ((stored = store_token(cfg, user_id, platform, user_token, oom)) &&
            !cJSON_AddStringToObject(o, "user_token", stored))
            *oom = true;
        drop_token(stored);
    }
    char *text = sp_json_print(copy);
    cJSON_Delete(copy);
    if (!text) *oom = true;
    return text;
}

int sp_accounts_store(sp_db *db, const sp_config *cfg, const char *state, const char *user_id,
                      const char *platform, const sp_oauth_account *a, sp_err *err) {
    bool oom = false;
    int rc;
    if (a->choices) {
        char *options = sealed_choices(cfg, user_id, platform, a->choices, a->user_token, &oom);
        const char *params[] = {state, options};
        rc = oom ? sp_err_set(err, SP_ERR_INTERNAL, "token_not_stored",
                              "a token could not be stored")
                 : exec_as(db, SP_ACCOUNTS_NO_USER_CLAIMS, &offer_stmt, params, NULL, err);
        if (options) explicit_bzero(options, strlen(options));
        free(options);
        return rc;
    }
    char *access = store_token(cfg, user_id, platform, a->access_token, &oom);
    char *refresh = store_token(cfg, user_id, platform, a->refresh_token, &oom);
    char *user_token = store_token(cfg, user_id, platform, a->user_token, &oom);
    char expires[24];
    snprintf(expires, sizeof expires, "%ld", a->expires_in);
    const char *params[] = {state,    a->account_id, a->display_name,
                            access,   refresh,       a->expires_in >= 0 ? expires : NULL,
                            a->login, user_token};
    rc = oom ? sp_err_set(err, SP_ERR_INTERNAL, "token_not_stored", "a token could not be stored")
             : exec_as(db, SP_ACCOUNTS_NO_USER_CLAIMS, &store_stmt, params, NULL, err);
    drop_token(access);
    drop_token(refresh);
    drop_token(user_token);
    return rc;
}

int sp_accounts_fail(sp_db *db, const char *state, const char *reason, sp_err *err) {
    const char *params[] = {state, reason};
    return exec_as(db, SP_ACCOUNTS_NO_USER_CLAIMS, &fail_stmt, params, NULL, err);
}

int sp_accounts_choose_as(sp_db *db, const char *claims_json, const char *platform,
                          const char *account_id, sp_err *err) {
    const char *params[] = {platform, account_id};
    sp_rows *res;
    if (exec_as(db, claims_json, &choose_stmt, params, &res, err) < 0) return -1;
    bool chosen = sp_rows_count(res) == 1 && sp_rows_value(res, 0, 0)[0] == 't';
    sp_rows_free(res);
    if (!chosen)
        return sp_err_set(err, SP_ERR_NOT_FOUND, "choice_not_found",
                          "no such %s account to choose: connect again", platform);
    return 0;
}

char *sp_accounts_list_json_as(sp_db *db, const char *claims_json, sp_err *err) {
    sp_rows *res;
    if (exec_as(db, claims_json, &list_stmt, NULL, &res, err) < 0) return NULL;
    char *json = sp_rows_count(res) == 1 ? strdup(sp_rows_value(res, 0, 0)) : NULL;
    sp_rows_free(res);
    if (!json) sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    return json;
}

/* Column col of the removed row, opened; NULL when absent or unopened. */
static char *removed_token(const sp_config *cfg, const char *user_id, const char *platform,
                           sp_rows *res, int col) {
    return open_token(cfg, user_id, platform,
                      sp_rows_is_null(res, 0, col) ? NULL : sp_rows_value(res, 0, col));
}

int sp_accounts_remove_as(sp_db *db, const sp_config *cfg, const char *claims_json,
                          const char *user_id, const char *platform, sp_removed_account *out,
                          sp_err *err) {
    const char *params[] = {platform};
    sp_db_step steps[] = {{&become_accounts, NULL}, {&revoke_take_stmt, params}};
    sp_rows *res[2];
    memset(out, 0, sizeof *out);
    if (sp_db_exec_as(db, claims_json, steps, 2, res, err) < 0) return -1;
    int rc = sp_rows_count(res[1]) > 0 ? 1 : 0;
    if (rc == 1) {
        out->access_token = removed_token(cfg, user_id, platform, res[1], 0);
        out->refresh_token = removed_token(cfg, user_id, platform, res[1], 1);
        out->user_token = removed_token(cfg, user_id, platform, res[1], 2);
    }
    sp_rows_free(res[0]);
    sp_rows_free(res[1]);
    /* the row is gone either way; a token not opened is only not revoked */
    return rc;
}

void sp_removed_account_clear(sp_removed_account *a) {
    drop_token(a->access_token);
    drop_token(a->refresh_token);
    drop_token(a->user_token);
    memset(a, 0, sizeof *a);
}
