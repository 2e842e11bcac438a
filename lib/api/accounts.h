/*
 * accounts: every statement the HTTP programs run on connected accounts,
 * and the one place a token is handed to the database (store_token in
 * accounts.c: where tokens are sealed before they are written).
 *
 * The statements call 0018's SECURITY DEFINER functions: as the caller
 * (their own rows), or, for a callback that carries no bearer token, as a
 * caller with no user whom the state names. None reads a token back,
 * except a removal, which runs as the role social_post_accounts (0022) and
 * hands the removed row's tokens over once for revocation.
 */
#ifndef SP_ACCOUNTS_H
#define SP_ACCOUNTS_H

#include "api/oauth.h"
#include "db/db.h"

/* The claims a callback runs with: role authenticated, no user. */
#define SP_ACCOUNTS_NO_USER_CLAIMS "{\"role\":\"authenticated\"}"

/* Records a started connection for the caller. SP_ERR_CONFLICT
 * "too_many_connections" when 20 are open. */
int sp_accounts_begin_as(sp_db *db, const char *claims_json, const char *platform,
                         const char *login, const char *state, const char *verifier,
                         const char *browser, sp_err *err);

/* Takes state as a callback brings it back (single use). outcome gets "ok",
 * "unknown_state", "expired_state", "used_state" or "other_session";
 * platform, verifier (caller frees), login ("" when none) and the state's
 * user are set for "ok". */
int sp_accounts_take(sp_db *db, const char *state, const char *browser, char outcome[32],
                     char platform[16], char login[16], char user_id[37], char **verifier,
                     sp_err *err);

/* Stores what the connection of state found for user_id's platform account:
 * the account, or the choices to offer. Tokens go through the one writing
 * point, for that account. */
int sp_accounts_store(sp_db *db, const sp_config *cfg, const char *state, const char *user_id,
                      const char *platform, const sp_oauth_account *a, sp_err *err);

/* Ends a taken state whose connection failed (reason: access_denied,
 * exchange_failed, ...): nothing stored, the reason counted. */
int sp_accounts_fail(sp_db *db, const char *state, const char *reason, sp_err *err);

/* The caller's choice of an offered account; SP_ERR_NOT_FOUND when there
 * is no such offer. */
int sp_accounts_choose_as(sp_db *db, const char *claims_json, const char *platform,
                          const char *account_id, sp_err *err);

/* The caller's accounts as the JSON body of GET /social-post-accounts
 * ({"accounts": [...], "choices": [...]}); caller frees. */
char *sp_accounts_list_json_as(sp_db *db, const char *claims_json, sp_err *err);

/* A removed account's tokens in clear, for revoking them (each NULL when
 * absent or not readable: then it is only not revoked). Owned;
 * sp_removed_account_clear wipes and frees them. */
typedef struct {
    char *access_token;
    char *refresh_token;
    char *user_token; /* Facebook Login's User token */
} sp_removed_account;

/* Removes the caller's (user_id's) account of platform as the accounts role
 * (the one role that may read a removed row's tokens). Returns 1 with its
 * tokens in *out when there was one, 0 when none. */
int sp_accounts_remove_as(sp_db *db, const sp_config *cfg, const char *claims_json,
                          const char *user_id, const char *platform, sp_removed_account *out,
                          sp_err *err);

void sp_removed_account_clear(sp_removed_account *a);

#endif
