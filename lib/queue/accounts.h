/*
 * accounts: the worker's side of social_accounts: a claimed delivery's
 * tokens opened (core/seal.h), refreshed tokens written back sealed, and
 * the rows re-sealed with the current key (--reseal-tokens). Reading an
 * account happens with the claim (queue.c).
 *
 * The rule for every writer of social_accounts: tokens are written only
 * sealed when SOCIAL_POST_TOKEN_KEYS is set.
 */
#ifndef SP_ACCOUNTS_H
#define SP_ACCOUNTS_H

#include "core/seal.h"
#include "db/db.h"
#include "queue/delivery.h"

/* Opens the claimed delivery's tokens in place (d->post.access_token and
 * refresh_token), keeping the refresh token's stored text in
 * d->stored_refresh_token to find the row again. Fails with
 * SP_ERR_UNPROCESSABLE and a message naming the account (platform, account
 * id, user) when a token does not open; the tokens are then cleared. */
int sp_accounts_open_tokens(const sp_seal_keys *keys, sp_delivery *d, sp_err *err);

/* Stores d->post's access token (valid until token_expires_at) and refresh
 * token, sealed with keys' first key, in one statement (so a rotated refresh
 * token is never lost while the spent one stays), in the one account row d
 * used: same user, platform and account id, holding the refresh token d's
 * claim read (or this delivery stored last). d->stored_refresh_token then
 * holds what was written. The app's table may hold several rows per user and
 * platform; the others are left alone. */
int sp_accounts_store_token(sp_db *db, const sp_seal_keys *keys, sp_delivery *d, sp_err *err);

/* Counts the rows that hold a sealed token (either column), and those that
 * hold one in clear. */
int sp_accounts_count_tokens(sp_db *db, long long *sealed, long long *plain, sp_err *err);

/* What --reseal-tokens did. */
typedef struct {
    long long resealed; /* rows now sealed with the current key */
    long long failed;   /* rows whose tokens did not open (logged, left alone) */
} sp_reseal_report;

/* Seals every row not sealed with keys' first key (plain rows included)
 * with it, one row per statement; a row changed meanwhile (a refresh) is
 * left as its writer sealed it. Rows that do not open are logged, naming
 * the account, and counted. */
int sp_accounts_reseal(sp_db *db, const sp_seal_keys *keys, sp_reseal_report *out, sp_err *err);

#endif
