/*
 * jwks: the public keys of a JSON Web Key Set (RFC 7517) as OpenSSL EVP_PKEYs.
 *
 * Each usable key carries the one algorithm its type implies: EC P-256 keys
 * verify ES256, RSA keys (2048 bits or more) verify RS256. A key that names
 * another "alg", is not for "use": "sig", or has another type or curve (oct,
 * OKP, P-384, ...) is skipped with a warning, so a set can hold keys we do not
 * understand. This module does not verify tokens (jwt.c does) and keeps no
 * state between calls.
 */
#ifndef SP_JWKS_H
#define SP_JWKS_H

#include <openssl/evp.h>
#include <stddef.h>

#include "core/err.h"

/* Largest number of keys kept from one set; the rest are skipped. */
#define SP_JWKS_MAX_KEYS 32

/* The algorithm a key verifies. */
typedef enum { SP_JWKS_ES256, SP_JWKS_RS256 } sp_jwks_alg;

/* One usable key. kid is NULL when the JWK had none. */
typedef struct {
    char *kid;
    sp_jwks_alg alg;
    EVP_PKEY *pkey;
} sp_jwks_key;

/* A set of keys; owns them. Zero-initialise before use. */
typedef struct {
    sp_jwks_key *keys;
    size_t count;
} sp_jwks;

/* Parses the len bytes of text, a JWKS document, into set (which must be
 * empty). Fails with SP_ERR_BAD_REQUEST when text is not a JSON object with a
 * "keys" array, leaving set empty; unusable keys only log a warning. */
int sp_jwks_parse(const char *text, size_t len, sp_jwks *set, sp_err *err);

/* Reads and parses the JWKS file at path into set (which must be empty). */
int sp_jwks_load_file(const char *path, sp_jwks *set, sp_err *err);

/* GETs url through core/http_client (5 s in all, http or https only, no
 * redirects) and parses the body into set (which must be empty). The
 * program must have called curl_global_init. */
int sp_jwks_fetch(const char *url, sp_jwks *set, sp_err *err);

/* Frees the keys of set and leaves it empty. */
void sp_jwks_free(sp_jwks *set);

#endif
