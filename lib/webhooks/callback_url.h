/*
 * callback_url: what a submit's callbackUrl may be.
 *
 * An absolute http or https URL, parsed strictly (RFC 3986): a scheme, a
 * host (a DNS name, a dotted IPv4 address or a bracketed IPv6 address), an
 * optional port, then an optional path and query. Refused: anything over
 * 2048 characters, credentials (user:password@), a fragment (#...: it never
 * reaches the server, so it is surely a mistake), spaces, control and
 * non-ASCII characters (percent-encode them; internationalised names go in
 * their xn-- form), malformed percent-escapes, and numeric hosts in any form
 * but the dotted one (libraries read "http://2130706433/" as 127.0.0.1).
 *
 * Not here: whether the host's address is private. That is judged when a
 * webhook is sent, on the address actually connected to (DNS may change).
 */
#ifndef SP_CALLBACK_URL_H
#define SP_CALLBACK_URL_H

#include <stddef.h>

#include "core/err.h"

#define SP_CALLBACK_URL_MAX 2048

/* Checks the len bytes of url (which need not end in NUL). Fails with
 * SP_ERR_BAD_REQUEST "invalid_callback_url" and a message that says what is
 * wrong. */
int sp_callback_url_check(const char *url, size_t len, sp_err *err);

/* The scheme and authority of a checked url ("https://example.com:8443"),
 * for logs: its path and query may carry tokens and are left out. */
void sp_callback_url_origin(const char *url, char *out, size_t len);

#endif
