/*
 * router: which handler of a program's route table serves a request.
 *
 * Routes are exact paths below the program's own location, where a "*"
 * segment matches any one segment ("/<*>/retry"). The router answers OPTIONS,
 * 404 for unknown paths and 405 (with Allow) for other methods itself, so
 * handlers only ever see their own method.
 */
#ifndef SP_ROUTER_H
#define SP_ROUTER_H

#include "api/server.h"

/* True when path matches pattern segment by segment; a "*" segment of the
 * pattern matches any one non-empty segment. Exposed for the fuzzer. */
bool sp_router_path_matches(const char *pattern, const char *path);

/* Finds r's route in routes (ended by an entry whose path is NULL) and calls
 * its handler with ctx, or answers OPTIONS, 404 or 405 itself. */
void sp_router_dispatch(const sp_route *routes, sp_ctx *ctx, sp_request *r);

#endif
