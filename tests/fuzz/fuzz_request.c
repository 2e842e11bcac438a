/*
 * fuzz_request: what a request's URI and query say. The input is a query
 * string, a newline, and a URI: query parameters are read (decoded, numbers),
 * the path is taken from the URI as when nginx sets no PATH_INFO (the
 * accounts routes' made into the request's buffer), its
 * segments read, and matched against the programs' route patterns.
 */
#include "api/request.h"
#include "api/router.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_text(data, size);
    if (!text) return 0;
    char *nl = strchr(text, '\n');
    const char *uri = nl ? nl + 1 : "";
    if (nl) *nl = '\0';
    sp_request r = {.query = text, .document_uri = uri};
    r.path = sp_request_path_in_uri(uri);
    /* the accounts routes' path is made from the URI into the request */
    if (sp_request_accounts_path(uri, r.path_buf, sizeof r.path_buf)) {
        if (strncmp(r.path_buf, "/accounts", 9) != 0) abort();
        r.path = r.path_buf;
    }
    char out[64], seg[40];
    int n;
    sp_err err;
    static const char *const names[] = {"jobId",  "wait",  "limit", "before",
                                        "status", "state", "code",  ""};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        sp_request_query(&r, names[i], out, sizeof out, &err);
    sp_request_int_query(&r, "wait", 0, 0, 60, &n, &err);
    sp_request_int_query(&r, "limit", 20, 1, 100, &n, &err);
    for (int i = 0; i < 3; i++)
        sp_request_path_segment(&r, i, seg, sizeof seg);
    static const char *const routes[] = {"",
                                         "/health",
                                         "/metrics",
                                         "/*/retry",
                                         "/*/cancel",
                                         "/*",
                                         "/accounts/*/connect",
                                         "/accounts/callback"};
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        sp_router_path_matches(routes[i], r.path);
        sp_router_path_matches(routes[i], text);
    }
    sp_request_base(&r);
    free(text);
    return 0;
}
