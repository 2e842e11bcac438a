/*
 * router: matching a request's PATH_INFO against a program's route table.
 */
#include "api/router.h"

#include <stdio.h>
#include <string.h>

#include "api/response.h"

bool sp_router_path_matches(const char *pattern, const char *path) {
    for (;;) {
        if (*pattern == '\0' || *path == '\0') return *pattern == *path;
        if (*pattern++ != '/' || *path++ != '/') return false;
        size_t plen = strcspn(pattern, "/"), len = strcspn(path, "/");
        bool wildcard = plen == 1 && *pattern == '*';
        if (wildcard ? len == 0 : plen != len || strncmp(pattern, path, len) != 0) return false;
        pattern += plen;
        path += len;
    }
}

/* Finds r's route and calls it (a GET route answers HEAD too), or answers
 * OPTIONS, 404 or 405 itself. */
void sp_router_dispatch(const sp_route *routes, sp_ctx *ctx, sp_request *r) {
    const char *path = strcmp(r->path, "/") == 0 ? "" : r->path;
    const sp_route *route = routes;
    while (route->path && !sp_router_path_matches(route->path, path))
        route++;
    sp_err err;
    if (!route->path) {
        sp_err_set(&err, SP_ERR_NOT_FOUND, "not_found", "no such endpoint");
        sp_response_send_error(r, &err);
        return;
    }
    bool get = !strcmp(route->method, "GET");
    snprintf(r->allow_buf, sizeof r->allow_buf, "%s%s, OPTIONS", route->method,
             get ? ", HEAD" : "");
    r->allow = r->allow_buf;
    if (!strcmp(r->method, "OPTIONS")) {
        sp_response_send_options(r);
    } else if (!strcmp(r->method, route->method) || (get && !strcmp(r->method, "HEAD"))) {
        /* HEAD is GET without the body (RFC 9110, section 9.3.2): response.c leaves it out */
        route->handle(ctx, r);
    } else {
        sp_err_set(&err, SP_ERR_METHOD, "method_not_allowed", "use %s", route->method);
        sp_response_send_error(r, &err);
    }
}
