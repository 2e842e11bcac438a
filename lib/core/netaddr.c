/*
 * netaddr: two tables of prefixes (IPv4, IPv6), and the IPv6 forms that
 * embed an IPv4 address unwrapped and judged by the IPv4 table.
 */
#include "core/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    uint32_t net;
    int bits;
} v4_prefix;

static const v4_prefix v4_refused[] = {
    {0x00000000, 8},  /* "this network", 0.0.0.0 */
    {0x0A000000, 8},  /* private 10/8 */
    {0x64400000, 10}, /* carrier-grade NAT 100.64/10 */
    {0x7F000000, 8},  /* loopback */
    {0xA9FE0000, 16}, /* link-local, cloud metadata */
    {0xAC100000, 12}, /* private 172.16/12 */
    {0xC0000000, 24}, /* IETF protocol assignments 192.0.0/24 */
    {0xC0000200, 24}, /* TEST-NET-1 */
    {0xC0586300, 24}, /* 6to4 relay anycast */
    {0xC0A80000, 16}, /* private 192.168/16 */
    {0xC6120000, 15}, /* benchmarking 198.18/15 */
    {0xC6336400, 24}, /* TEST-NET-2 */
    {0xCB007100, 24}, /* TEST-NET-3 */
    {0xE0000000, 4},  /* multicast */
    {0xF0000000, 4},  /* reserved, broadcast */
};

typedef struct {
    uint8_t net[16];
    int bits;
} v6_prefix;

static const v6_prefix v6_refused[] = {
    {{0xfc}, 7},                                /* unique local */
    {{0xfe, 0x80}, 10},                         /* link-local */
    {{0xfe, 0xc0}, 10},                         /* site-local (deprecated) */
    {{0xff}, 8},                                /* multicast */
    {{0x01, 0x00}, 64},                         /* discard-only 100::/64 */
    {{0x20, 0x01, 0x00, 0x00}, 32},             /* Teredo: tunnels to anywhere */
    {{0x20, 0x01, 0x0d, 0xb8}, 32},             /* documentation */
    {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48}, /* local-use NAT64 */
};

/* True when the first bits of a and net agree. */
static bool prefix_matches(const uint8_t *a, const uint8_t *net, int bits) {
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a, net, (size_t)whole) != 0) return false;
    if (rest == 0) return true;
    uint8_t mask = (uint8_t)(0xFF << (8 - rest));
    return (a[whole] & mask) == (net[whole] & mask);
}

/* The IPv4 table, for an address in host byte order. */
static bool v4_private(uint32_t a) {
    for (size_t i = 0; i < sizeof v4_refused / sizeof v4_refused[0]; i++) {
        uint32_t mask = v4_refused[i].bits ? 0xFFFFFFFFu << (32 - v4_refused[i].bits) : 0;
        if ((a & mask) == v4_refused[i].net) return true;
    }
    return false;
}

/* The IPv4 address in the four bytes at p. */
static uint32_t v4_at(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool v6_private(const uint8_t *a) {
    static const uint8_t zero[16], mapped[12] = {[10] = 0xff, [11] = 0xff};
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
    static const uint8_t translated[12] = {[8] = 0xff, [9] = 0xff};
    if (memcmp(a, zero, 15) == 0) return true; /* :: and ::1 */
    if (memcmp(a, mapped, 12) == 0 || memcmp(a, zero, 12) == 0 || memcmp(a, nat64, 12) == 0 ||
        memcmp(a, translated, 12) == 0)
        return v4_private(v4_at(a + 12)); /* ::ffff:v4, ::v4, 64:ff9b::v4, ::ffff:0:v4 */
    if (a[0] == 0x20 && a[1] == 0x02) return v4_private(v4_at(a + 2)); /* 6to4 2002:v4::/48 */
    for (size_t i = 0; i < sizeof v6_refused / sizeof v6_refused[0]; i++)
        if (prefix_matches(a, v6_refused[i].net, v6_refused[i].bits)) return true;
    return false;
}

bool sp_netaddr_private(const struct sockaddr *sa) {
    if (sa->sa_family == AF_INET)
        return v4_private(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
    if (sa->sa_family == AF_INET6)
        return v6_private(((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
    return true;
}

bool sp_netaddr_private_text(const char *text) {
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
    if (inet_pton(AF_INET, text, &v4.sin_addr) == 1)
        return sp_netaddr_private((const struct sockaddr *)&v4);
    if (inet_pton(AF_INET6, text, &v6.sin6_addr) == 1)
        return sp_netaddr_private((const struct sockaddr *)&v6);
    return true;
}
