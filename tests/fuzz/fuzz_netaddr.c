/* fuzz_netaddr: the private-address guard, on raw IPv4 and IPv6 addresses
 * (the first byte picks the family) and on text. */
#include <netinet/in.h>

#include "core/netaddr.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    unsigned family = fuzz_byte(&data, &size) % 3;
    if (family == 0 && size >= 4) {
        struct sockaddr_in a = {.sin_family = AF_INET};
        memcpy(&a.sin_addr, data, 4);
        sp_netaddr_private((const struct sockaddr *)&a);
    } else if (family == 1 && size >= 16) {
        struct sockaddr_in6 a = {.sin6_family = AF_INET6};
        memcpy(&a.sin6_addr, data, 16);
        sp_netaddr_private((const struct sockaddr *)&a);
    } else {
        char *text = fuzz_text(data, size);
        if (text) sp_netaddr_private_text(text);
        free(text);
    }
    return 0;
}
