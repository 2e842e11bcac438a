/*
 * auth: the Authorization header to a verified caller. The token itself is
 * never logged or echoed; errors say only what was wrong with it.
 */
#include "auth.h"

#include <string.h>
#include <strings.h>
#include <time.h>

int sp_auth_caller(sp_jwt_verifier *jwt, sp_request *r, sp_jwt_claims *claims, sp_err *err) {
    memset(claims, 0, sizeof *claims);
    const char *h = sp_http_param(r, "HTTP_AUTHORIZATION");
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
    if (sp_jwt_verify(jwt, h, time(NULL), claims, err) < 0) return -1;
    memcpy(r->user_id, claims->sub, sizeof r->user_id);
    return 0;
}
