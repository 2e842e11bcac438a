/*
 * accounts: the worker's writes to social_accounts (refreshed tokens).
 * Reading an account happens with the claim (queue.c); the HTTP programs
 * never touch this table.
 */
#ifndef SP_ACCOUNTS_H
#define SP_ACCOUNTS_H

#include "db/db.h"
#include "platforms/step.h"

/* Stores post->access_token, valid until post->token_expires_at, and
 * post->refresh_token in one statement (so a rotated refresh token is never
 * lost while the spent one stays), in the one account row of user_id that
 * the post used: same platform, account id and refresh token
 * old_refresh_token. The app's table may hold several rows per user and
 * platform; the others are left alone. */
int sp_accounts_store_token(sp_db *db, const char *user_id, const sp_post *post,
                            const char *old_refresh_token, sp_err *err);

#endif
