/*
 * fuzz_fcgi_head: the check of whether a connection's first bytes hold a
 * whole FastCGI request head, fed every prefix of the input as the bytes
 * seen so far.
 */
#include "api/fcgi_head.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    for (size_t n = 0; n <= size; n++)
        if (sp_fcgi_head_scan(data, n) != SP_FCGI_HEAD_PARTIAL) break;
    return 0;
}
