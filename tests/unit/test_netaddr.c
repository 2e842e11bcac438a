/* Unit tests of netaddr.c: the addresses a user's video URL may not reach. */
#include "check.h"
#include "core/netaddr.h"

static void private_ipv4_ranges_are_refused(void) {
    const char *refused[] = {"0.0.0.0",    "10.1.2.3",        "100.64.0.1",   "100.127.255.254",
                             "127.0.0.1",  "169.254.169.254", "172.16.0.1",   "172.31.255.255",
                             "192.0.0.8",  "192.0.2.1",       "192.88.99.1",  "192.168.1.1",
                             "198.18.0.1", "198.19.255.255",  "198.51.100.7", "203.0.113.9",
                             "224.0.0.1",  "239.255.255.250", "240.0.0.1",    "255.255.255.255"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        CHECK(sp_netaddr_private_text(refused[i]));
        if (!sp_netaddr_private_text(refused[i])) fprintf(stderr, "  let through %s\n", refused[i]);
    }
}

static void public_ipv4_addresses_pass(void) {
    const char *public[] = {"8.8.8.8",        "1.1.1.1",    "100.63.255.255", "100.128.0.1",
                            "172.15.255.255", "172.32.0.1", "192.0.1.1",      "192.169.0.1",
                            "198.17.255.255", "198.20.0.1", "223.255.255.255"};
    for (size_t i = 0; i < sizeof public / sizeof public[0]; i++) {
        CHECK(!sp_netaddr_private_text(public[i]));
        if (sp_netaddr_private_text(public[i])) fprintf(stderr, "  refused %s\n", public[i]);
    }
}

static void ipv6_ranges_and_embedded_ipv4_are_judged(void) {
    const char *refused[] = {"::",
                             "::1",
                             "::ffff:127.0.0.1",
                             "::ffff:169.254.169.254",
                             "::127.0.0.1", /* IPv4-compatible */
                             "::10.0.0.1",
                             "::ffff:0:10.0.0.1",        /* IPv4-translated */
                             "64:ff9b::169.254.169.254", /* NAT64 */
                             "64:ff9b::10.0.0.1",
                             "64:ff9b:1::8.8.8.8", /* local-use NAT64 */
                             "2002:a9fe:a9fe::1",  /* 6to4 of 169.254.169.254 */
                             "2002:7f00:1::",      /* 6to4 of 127.0.0.1 */
                             "fc00::1",
                             "fd12:3456::1",
                             "fe80::1",
                             "febf::1",
                             "fec0::1", /* site-local */
                             "feff::1",
                             "ff02::1",
                             "100::1",
                             "2001::1", /* Teredo */
                             "2001:db8::1"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        CHECK(sp_netaddr_private_text(refused[i]));
        if (!sp_netaddr_private_text(refused[i])) fprintf(stderr, "  let through %s\n", refused[i]);
    }
    const char *public[] = {"2606:4700::1111",  "2a00:1450:4001::200e", "::ffff:8.8.8.8",
                            "64:ff9b::8.8.8.8", "2002:0808:0808::1",    "::8.8.8.8"};
    for (size_t i = 0; i < sizeof public / sizeof public[0]; i++) {
        CHECK(!sp_netaddr_private_text(public[i]));
        if (sp_netaddr_private_text(public[i])) fprintf(stderr, "  refused %s\n", public[i]);
    }
}

static void what_is_not_an_address_is_refused(void) {
    CHECK(sp_netaddr_private_text(""));
    CHECK(sp_netaddr_private_text("localhost"));
    CHECK(sp_netaddr_private_text("1.2.3"));
    struct sockaddr unix_family = {.sa_family = AF_UNIX};
    CHECK(sp_netaddr_private(&unix_family));
}

int main(void) {
    private_ipv4_ranges_are_refused();
    public_ipv4_addresses_pass();
    ipv6_ranges_and_embedded_ipv4_are_judged();
    what_is_not_an_address_is_refused();
    return check_done("test_netaddr");
}
