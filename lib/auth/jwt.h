/*
 * jwt: verifies Supabase access tokens (JWS compact form).
 *
 * The key decides the algorithm, never the token's header: the HS256 secret
 * verifies only HS256 tokens; a JWKS key verifies only the algorithm its type
 * implies (EC P-256 -> ES256, RSA -> RS256), and a token whose header names
 * another algorithm is rejected. "alg: none" never verifies. Signatures are
 * checked with OpenSSL's EVP API; claims with cJSON.
 *
 * Claims required: exp (with a small leeway), nbf when present, aud equal to
 * (or an array containing) the configured audience, role "authenticated", sub a
 * UUID, and iss = SUPABASE_URL + "/auth/v1" when SUPABASE_URL is set. A
 * Supabase anonymous sign-in (is_anonymous: true) is refused unless
 * SOCIAL_POST_ALLOW_ANONYMOUS_USERS=1. Header and payload may not repeat a
 * member name (Postgres would read another "sub" than this code).
 *
 * Keys come from SUPABASE_JWT_SECRET (HS256), SUPABASE_JWKS_FILE, and
 * SUPABASE_URL + "/auth/v1/.well-known/jwks.json" (fetched with libcurl at
 * start and again on an unknown kid, at most once a minute). A verifier is
 * shared by all threads of a program; it locks internally. It remembers the
 * tokens it accepted lately (jwt_cache.h): the same token again is checked
 * only against the clock (exp, nbf), with the same rules.
 */
#ifndef SP_JWT_H
#define SP_JWT_H

#include <time.h>

#include "core/config.h"
#include "core/err.h"

typedef struct sp_jwt_verifier sp_jwt_verifier;

/* What a verified token says about its caller. Owned by the struct; release
 * with sp_jwt_claims_clear. */
typedef struct {
    char sub[37];      /* the user's UUID, lower case */
    char *claims_json; /* the payload as JSON text, for request.jwt.claims */
} sp_jwt_claims;

/* Builds a verifier from cfg (jwt_secret, jwks_file, supabase_url,
 * jwt_audience). Fails when no key source is configured or the JWKS file cannot
 * be read or parsed. Caller frees with sp_jwt_verifier_free. */
sp_jwt_verifier *sp_jwt_verifier_new(const sp_config *cfg, sp_err *err);

void sp_jwt_verifier_free(sp_jwt_verifier *v);

/* Verifies token (the text after "Bearer ") at time now. On success fills out
 * and returns 0; otherwise fails with SP_ERR_UNAUTHORIZED and a message that
 * says what was wrong (expired, wrong audience, ...) without echoing the token. */
int sp_jwt_verify(sp_jwt_verifier *v, const char *token, time_t now, sp_jwt_claims *out,
                  sp_err *err);

/* How many verifications found their token among those accepted lately
 * (jwt_cache.h) instead of checking its signature and claims again. */
unsigned long sp_jwt_verifier_cache_hits(sp_jwt_verifier *v);

/* Frees what sp_jwt_verify put in claims. */
void sp_jwt_claims_clear(sp_jwt_claims *claims);

#endif
