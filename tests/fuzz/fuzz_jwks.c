/* fuzz_jwks: the JWKS document loader (sp_jwks_parse). */
#include "auth/jwks.h"
#include "core/log.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    sp_log_init("fuzz_jwks", SP_LOG_ERROR);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sp_jwks set = {NULL, 0};
    sp_err err;
    sp_jwks_parse((const char *)data, size, &set, &err);
    sp_jwks_free(&set);
    return 0;
}
