/*
 * bearer: who is calling. Takes the Authorization header of a request and
 * verifies its bearer token (jwt.c), so handlers get a caller or a 401 and
 * nothing in between.
 */
#ifndef SP_BEARER_H
#define SP_BEARER_H

#include <time.h>

#include "auth/jwt.h"

/* Verifies header ("Bearer <token>"; NULL when the request had none) at time
 * now. On success fills claims (release with sp_jwt_claims_clear). Fails with
 * SP_ERR_UNAUTHORIZED when the header is missing, not Bearer, or invalid. */
int sp_auth_bearer(sp_jwt_verifier *jwt, const char *header, time_t now, sp_jwt_claims *claims,
                   sp_err *err);

#endif
