/*
 * bearer: the Authorization header to a verified caller. The token itself is
 * never logged or echoed; errors say only what was wrong with it.
 */
#include "auth/bearer.h"

#include <string.h>
#include <strings.h>

int sp_auth_bearer(sp_jwt_verifier *jwt, const char *h, time_t now, sp_jwt_claims *claims,
                   sp_err *err) {
    memset(claims, 0, sizeof *claims);
    if (!h || !*h)
        return sp_err_set(err, SP_ERR_UNAUTHORIZED, "missing_token",
                          "an Authorization: Bearer <access token> header is required");
    while (*h == ' ')
        h++;
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return sp_err_set(err, SP_ERR_UNAUTHORIZED, "invalid_token",
                          "the Authorization header must use the Bearer scheme");
    h += 7;
    while (*h == ' ')
        h++;
    if (!*h)
        return sp_err_set(err, SP_ERR_UNAUTHORIZED, "missing_token", "the bearer token is empty");
    return sp_jwt_verify(jwt, h, now, claims, err);
}
