/*
 * fuzz_account_cookie: any bytes as the Cookie header a connection's callback
 * reads its sp_connect cookie from. The reader must never crash or read past
 * the header, and what it takes must be 43 base64url characters that the
 * header holds right after "sp_connect=".
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/account_routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *header = malloc(size + 1);
    if (!header) return 0;
    memcpy(header, data, size);
    header[size] = '\0';
    char out[64];
    if (sp_account_routes_cookie(header, out)) {
        if (strlen(out) != 43 ||
            strspn(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != 43)
            abort();
        char *at = strstr(header, out);
        if (!at || at - header < 11 || strncmp(at - 11, "sp_connect=", 11) != 0) abort();
    }
    free(header);
    return 0;
}
