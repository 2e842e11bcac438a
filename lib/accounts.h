/*
 * accounts: the worker's writes to social_accounts (refreshed tokens).
 * Reading an account happens with the claim (queue.c); the HTTP programs
 * never touch this table.
 */
#ifndef SP_ACCOUNTS_H
#define SP_ACCOUNTS_H

#include "db.h"
#include "platform.h"

/* Stores a new access token for user_id's account on p, valid until
 * expires_at (unix seconds). */
int sp_accounts_store_token(sp_db *db, const char *user_id, sp_platform p, const char *access_token,
                            long long expires_at, sp_err *err);

#endif
