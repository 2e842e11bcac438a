/*
 * jwt_cache: the tokens a verifier accepted lately, so that a caller who
 * asks again with the same token (a page polling its job's status, a
 * long-poll renewed every 30 s) is not verified from scratch each time: the
 * signature, two base64 decodes, two JSON parses and the claims cost more
 * than the rest of a status request's own work.
 *
 * Only what a full verification accepted goes in, with the times it depends
 * on (exp, nbf): the caller checks them against the clock on every hit, with
 * the same rule as a full verification. Everything else that decided the
 * answer is in the token's own bytes (header, payload, signature) or fixed
 * for the verifier's life, except fetched JWKS keys: an entry remembers the
 * key generation it was verified under and misses once the keys change.
 *
 * A token is found by a hash of its bytes (seeded per process) and compared
 * whole in constant time, so a lookup says nothing about how much of a
 * cached token a guess got right. A fixed number of slots; a new token
 * takes its slot's place. Thread-safe (one mutex).
 */
#ifndef SP_JWT_CACHE_H
#define SP_JWT_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/jwt.h"

#define SP_JWT_CACHE_SLOTS 256

typedef struct sp_jwt_cache sp_jwt_cache;

/* When a cached token may be used: the claims that decide it. */
typedef struct {
    double exp;
    bool has_nbf;
    double nbf;
} sp_jwt_times;

/* A new empty cache; NULL when out of memory. */
sp_jwt_cache *sp_jwt_cache_new(void);
void sp_jwt_cache_free(sp_jwt_cache *c);

/* Finds token (len bytes) verified under key generation gen: true, with
 * out filled (caller clears, sp_jwt_claims_clear) and *times set. False
 * when absent, verified under other keys, or out of memory. */
bool sp_jwt_cache_get(sp_jwt_cache *c, const char *token, size_t len, unsigned long gen,
                      sp_jwt_claims *out, sp_jwt_times *times);

/* Remembers that token (len bytes) verified to claims under key generation
 * gen; nothing when out of memory. */
void sp_jwt_cache_put(sp_jwt_cache *c, const char *token, size_t len, unsigned long gen,
                      const sp_jwt_claims *claims, const sp_jwt_times *times);

/* How many lookups found their token (tests, and a measure of its use). */
unsigned long sp_jwt_cache_hits(sp_jwt_cache *c);

#endif
