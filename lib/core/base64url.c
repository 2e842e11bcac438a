/*
 * base64url: four characters carry three bytes; a final group of two or three
 * characters carries one or two. The decoder maps each character through a
 * table where -1 marks "not in the alphabet", so one lookup both decodes and
 * validates. It does not skip whitespace or line breaks.
 */
#include "core/base64url.h"

#include <stdio.h>
#include <stdlib.h>

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The value of c in the alphabet whose last two characters are c62 and c63,
 * or -1. */
static int b64_value(unsigned char c, char c62, char c63) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == c62) return 62;
    if (c == c63) return 63;
    return -1;
}

/* Strips valid padding from len: at most two '=', and only when they complete
 * a group of four. Returns the unpadded length, or (size_t)-1 when invalid. */
static size_t unpadded_length(const char *in, size_t len) {
    size_t n = len;
    while (n > 0 && len - n < 2 && in[n - 1] == '=')
        n--;
    if (n == len) return n;
    if (len % 4 != 0) return (size_t)-1;
    return n;
}

/* Decodes in with the alphabet ending in c62, c63; errors name the
 * encoding. */
static int decode(const char *in, size_t len, char c62, char c63, const char *name,
                  unsigned char **out, size_t *out_len, sp_err *err) {
    int rc = -1;
    unsigned char *buf = NULL;
    char code[32];
    snprintf(code, sizeof code, "invalid_%s", name);
    *out = NULL;
    *out_len = 0;
    size_t n = unpadded_length(in, len);
    if (n == (size_t)-1 || n % 4 == 1) {
        sp_err_set(err, SP_ERR_BAD_REQUEST, code, "invalid %s length", name);
        goto done;
    }
    size_t cap = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    buf = malloc(cap + 1);
    if (!buf) {
        sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
        goto done;
    }
    unsigned long acc = 0;
    size_t bits = 0, w = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value((unsigned char)in[i], c62, c63);
        if (v < 0) {
            sp_err_set(err, SP_ERR_BAD_REQUEST, code, "invalid %s character", name);
            goto done;
        }
        acc = (acc << 6 | (unsigned long)v) & 0xFFFFFF;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[w++] = (unsigned char)(acc >> bits);
        }
    }
    if (acc & ((1UL << bits) - 1)) {
        sp_err_set(err, SP_ERR_BAD_REQUEST, code, "non-zero trailing bits in %s", name);
        goto done;
    }
    buf[w] = '\0';
    *out = buf;
    *out_len = w;
    buf = NULL;
    rc = 0;
done:
    free(buf);
    return rc;
}

int sp_b64url_decode(const char *in, size_t len, unsigned char **out, size_t *out_len,
                     sp_err *err) {
    return decode(in, len, '-', '_', "base64url", out, out_len, err);
}

int sp_b64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len, sp_err *err) {
    return decode(in, len, '+', '/', "base64", out, out_len, err);
}

char *sp_b64url_encode(const unsigned char *in, size_t len) {
    char *s = malloc(len / 3 * 4 + 4 + 1);
    if (!s) return NULL;
    size_t w = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        unsigned long g = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];
        for (int k = 3; k >= 0; k--)
            s[w++] = b64url_alphabet[(g >> (6 * k)) & 63];
    }
    if (len - i == 1) {
        unsigned long g = (unsigned long)in[i] << 16;
        s[w++] = b64url_alphabet[(g >> 18) & 63];
        s[w++] = b64url_alphabet[(g >> 12) & 63];
    } else if (len - i == 2) {
        unsigned long g = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8;
        s[w++] = b64url_alphabet[(g >> 18) & 63];
        s[w++] = b64url_alphabet[(g >> 12) & 63];
        s[w++] = b64url_alphabet[(g >> 6) & 63];
    }
    s[w] = '\0';
    return s;
}
