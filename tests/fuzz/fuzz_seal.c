/* fuzz_seal: the SOCIAL_POST_TOKEN_KEYS parser, then opening the rest of the
 * input (after a newline) as a sealed token with the keys it gave, and a
 * seal-and-open round trip. */
#include <string.h>

#include "core/seal.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_text(data, size);
    if (!text) return 0;
    char *token = strchr(text, '\n');
    if (token) *token++ = '\0';
    sp_seal_keys *keys = NULL;
    sp_err err;
    if (sp_seal_keys_parse(text, &keys, &err) == 0 && token) {
        free(sp_unseal(keys, "u", "youtube", token, &err));
        char *sealed = sp_seal(keys, "u", "youtube", token, &err);
        char *plain = sealed ? sp_unseal(keys, "u", "youtube", sealed, &err) : NULL;
        if (sealed && !sp_seal_is_sealed(token) && (!plain || strcmp(plain, token) != 0))
            __builtin_trap();
        free(sealed);
        free(plain);
    }
    sp_seal_keys_free(keys);
    free(text);
    return 0;
}
