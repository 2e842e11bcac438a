/*
 * netaddr: which network addresses a user-supplied URL may not reach.
 *
 * A video URL is the user's own input, so the worker's downloads must not
 * become a way into the machine's network (cloud metadata at
 * 169.254.169.254, loopback services, the private LAN). The check judges the
 * address a connection is about to be made to (after DNS, for every
 * redirect), including IPv6 forms that carry an IPv4 address inside them
 * (mapped, compatible, NAT64, 6to4), which reach the IPv4 address they hold.
 * Not here: opening connections (http_client.c).
 */
#ifndef SP_NETADDR_H
#define SP_NETADDR_H

#include <stdbool.h>
#include <sys/socket.h>

/* True for addresses a user-supplied URL must not reach: IPv4 0/8, 10/8,
 * 100.64/10, 127/8, 169.254/16, 172.16/12, 192.0.0/24, 192.0.2/24,
 * 192.88.99/24, 192.168/16, 198.18/15, 198.51.100/24, 203.0.113/24,
 * 224/4 and above; IPv6 ::, ::1, fc00::/7, fe80::/10, fec0::/10, ff00::/8,
 * 100::/64, 2001::/32 (Teredo), 2001:db8::/32, 64:ff9b:1::/48, and the IPv4
 * inside ::ffff:a.b.c.d, ::a.b.c.d, 64:ff9b::/96 and 2002::/16 judged as
 * above. Any other family is refused too. */
bool sp_netaddr_private(const struct sockaddr *sa);

/* The same for an address in text ("10.0.0.1", "::ffff:127.0.0.1"); text
 * that is not an address counts as private. */
bool sp_netaddr_private_text(const char *text);

#endif
