/*
 * base64url: the URL-safe base64 alphabet of RFC 4648 section 5, as JWS uses it.
 *
 * Decoding is strict, because a token's bytes must have exactly one spelling:
 * any character outside the alphabet, padding anywhere but a complete final
 * group, a length no encoder produces, or non-zero unused bits in the last
 * character fails. Padding is optional. Standard base64 ('+', '/') is not
 * accepted there; sp_b64_decode reads it (webhook secrets are written so),
 * equally strictly.
 */
#ifndef SP_BASE64URL_H
#define SP_BASE64URL_H

#include <stddef.h>

#include "core/err.h"

/* Decodes the len characters of in. On success *out (caller frees) holds
 * *out_len bytes followed by a NUL that *out_len does not count. Fails with
 * SP_ERR_BAD_REQUEST ("invalid_base64url") or SP_ERR_OOM. */
int sp_b64url_decode(const char *in, size_t len, unsigned char **out, size_t *out_len, sp_err *err);

/* Decodes standard base64 (RFC 4648 section 4: '+' and '/'), with the same
 * rules and results as sp_b64url_decode; the error code is "invalid_base64". */
int sp_b64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len, sp_err *err);

/* Encodes len bytes without padding; caller frees. NULL when out of memory. */
char *sp_b64url_encode(const unsigned char *in, size_t len);

#endif
