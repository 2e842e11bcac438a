/*
 * auth: who is calling. Takes the bearer token of a request and verifies it
 * (jwt.c), so handlers get a caller or a 401 and nothing in between.
 */
#ifndef SP_AUTH_H
#define SP_AUTH_H

#include "http.h"
#include "jwt.h"

/* Verifies "Authorization: Bearer <token>" of r. On success fills claims
 * (release with sp_jwt_claims_clear) and r->user_id. Fails with
 * SP_ERR_UNAUTHORIZED when the header is missing, not Bearer, or invalid. */
int sp_auth_caller(sp_jwt_verifier *jwt, sp_request *r, sp_jwt_claims *claims, sp_err *err);

#endif
