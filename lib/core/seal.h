/*
 * seal: platform tokens encrypted at rest (AES-256-GCM, OpenSSL's EVP).
 *
 * A key ring comes from SOCIAL_POST_TOKEN_KEYS, "kid:base64-32-byte-key" pairs
 * separated by commas: the first key seals, every key opens, so keys rotate by
 * putting a new one first and re-sealing the rows (social-post-worker
 * --reseal-tokens). A sealed token reads "sp1:<kid>:<base64url(nonce|ciphertext|tag)>";
 * anything else is a plain token, stored as given. The account's user id and
 * platform are the associated data, so a sealed token copied to another row
 * does not open there.
 *
 * The rule every writer of social_accounts follows: tokens are written only
 * sealed when SOCIAL_POST_TOKEN_KEYS is set (sp_seal does exactly that: with
 * no keys it returns the token as given).
 *
 * Not here: which rows are plain or sealed (the SQL of each program), logging
 * (messages never hold a key or a token).
 */
#ifndef SP_SEAL_H
#define SP_SEAL_H

#include <stdbool.h>

#include "core/err.h"

/* The prefix every sealed token starts with (its format's version). */
#define SP_SEAL_PREFIX "sp1:"

/* The parsed keys; opaque. */
typedef struct sp_seal_keys sp_seal_keys;

/* Parses text, SOCIAL_POST_TOKEN_KEYS's value. NULL or "" sets *out to NULL
 * (no keys: tokens stay as given). Otherwise *out (free with
 * sp_seal_keys_free) holds every key. A key id is 1 to 32 characters of
 * [A-Za-z0-9_.-]; a key is the standard base64 of exactly 32 bytes; ids are
 * unique. Fails with SP_ERR_INTERNAL "config" and a message naming the
 * variable and the pair's position, never its value. */
int sp_seal_keys_parse(const char *text, sp_seal_keys **out, sp_err *err);

/* Wipes and frees keys; NULL is fine. */
void sp_seal_keys_free(sp_seal_keys *keys);

/* The id of the key that seals (the first); NULL when keys is NULL. */
const char *sp_seal_current_kid(const sp_seal_keys *keys);

/* True when token is sealed (starts with SP_SEAL_PREFIX). */
bool sp_seal_is_sealed(const char *token);

/* True when token is sealed with the current key (nothing to re-seal). */
bool sp_seal_is_current(const sp_seal_keys *keys, const char *token);

/* Seals token for the account (user_id, platform). Returns a new string
 * (caller frees): the sealed text, or a copy of token when keys is NULL.
 * token NULL gives NULL with no error. A token already sealed is opened
 * first and sealed again with the current key (so re-sealing is one call).
 * Fails (NULL) with SP_ERR_OOM, SP_ERR_INTERNAL, or sp_unseal's errors. */
char *sp_seal(const sp_seal_keys *keys, const char *user_id, const char *platform,
              const char *token, sp_err *err);

/* Opens token for the account (user_id, platform). Returns a new string
 * (caller frees): the token in clear, a copy of token when it is plain, NULL
 * with no error when token is NULL. Fails (NULL) with SP_ERR_UNPROCESSABLE:
 * "token_key_missing" (sealed, but no keys are set), "token_key_unknown" (its
 * key id is not among the keys), "token_unseal_failed" (malformed, a wrong
 * key, or sealed for another account); or SP_ERR_OOM / SP_ERR_INTERNAL.
 * Messages name the key id, never a key or a token. */
char *sp_unseal(const sp_seal_keys *keys, const char *user_id, const char *platform,
                const char *token, sp_err *err);

#endif
