/*
 * test_base64url: the RFC 4648 test vectors in the URL-safe alphabet, with and
 * without padding, and every way a strict decoder must say no.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/base64url.h"

/* True when text decodes to exactly the len bytes of want. */
static bool decodes_to(const char *text, const void *want, size_t len) {
    unsigned char *out = NULL;
    size_t out_len = 0;
    sp_err err;
    sp_err_clear(&err);
    bool ok = sp_b64url_decode(text, strlen(text), &out, &out_len, &err) == 0 && out_len == len &&
              memcmp(out, want, len) == 0 && out[len] == '\0';
    free(out);
    return ok;
}

/* True when text is rejected as invalid base64url, with *out left NULL. */
static bool is_rejected(const char *text, size_t len) {
    unsigned char *out = (unsigned char *)"sentinel";
    size_t out_len = 99;
    sp_err err;
    sp_err_clear(&err);
    int rc = sp_b64url_decode(text, len, &out, &out_len, &err);
    return rc == -1 && out == NULL && out_len == 0 && err.kind == SP_ERR_BAD_REQUEST &&
           strcmp(err.code, "invalid_base64url") == 0;
}

/* True when encoding the string s gives want. */
static bool encodes_to(const char *s, const char *want) {
    char *got = sp_b64url_encode((const unsigned char *)s, strlen(s));
    bool ok = got && strcmp(got, want) == 0;
    free(got);
    return ok;
}

static void rfc4648_vectors_round_trip(void) {
    const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *bare[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    const char *padded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        CHECK(encodes_to(plain[i], bare[i]));
        CHECK(decodes_to(bare[i], plain[i], strlen(plain[i])));
        CHECK(decodes_to(padded[i], plain[i], strlen(plain[i])));
    }
}

static void url_safe_alphabet_is_used_for_62_and_63(void) {
    const unsigned char bytes[] = {0xfb, 0xff, 0xbf};
    char *s = sp_b64url_encode(bytes, sizeof bytes);
    CHECK_STR(s, "-_-_");
    free(s);
    CHECK(decodes_to("-_-_", bytes, sizeof bytes));
}

static void binary_with_nul_bytes_round_trips(void) {
    unsigned char bytes[256];
    for (int i = 0; i < 256; i++)
        bytes[i] = (unsigned char)i;
    for (size_t len = 0; len <= sizeof bytes; len += 17) {
        char *s = sp_b64url_encode(bytes, len);
        CHECK(s && decodes_to(s, bytes, len));
        free(s);
    }
}

static void characters_outside_the_alphabet_are_rejected(void) {
    CHECK(is_rejected("Zm9v+mFy", 8)); /* standard base64 '+' */
    CHECK(is_rejected("Zm9v/mFy", 8)); /* standard base64 '/' */
    CHECK(is_rejected("Zm9v YmFy", 9));
    CHECK(is_rejected("Zm9v\nYmFy", 9));
    CHECK(is_rejected("Zm9v.mFy", 8));
    CHECK(is_rejected("Zm9v\0mFy", 8)); /* an embedded NUL within len */
    CHECK(is_rejected("Zm9\xc3\xa9", 5));
}

static void misplaced_or_partial_padding_is_rejected(void) {
    CHECK(is_rejected("Zg=", 3));
    CHECK(is_rejected("Zg===", 5));
    CHECK(is_rejected("Zm9v=", 5));
    CHECK(is_rejected("Z===", 4));
    CHECK(is_rejected("=", 1));
    CHECK(is_rejected("====", 4));
    CHECK(is_rejected("Zg==Zg==", 8));
}

static void impossible_lengths_and_stray_bits_are_rejected(void) {
    CHECK(is_rejected("Z", 1));
    CHECK(is_rejected("Zm9vY", 5));
    CHECK(is_rejected("Zh", 2));  /* "Zg" with a non-zero unused bit */
    CHECK(is_rejected("Zm9", 3)); /* "fo" is Zm8; the 9 sets an unused bit */
    CHECK(is_rejected("Zm-", 3)); /* low two bits of '-' (62) are set */
}

static void standard_base64_uses_plus_and_slash(void) {
    unsigned char *out = NULL;
    size_t n = 0;
    sp_err err;
    CHECK(sp_b64_decode("+/+/", 4, &out, &n, &err) == 0 && n == 3);
    CHECK(out && out[0] == 0xfb && out[1] == 0xff && out[2] == 0xbf);
    free(out);
    CHECK(sp_b64_decode("Zm9vYg==", 8, &out, &n, &err) == 0 && n == 4 && !memcmp(out, "foob", 4));
    free(out);
    CHECK(sp_b64_decode("-_-_", 4, &out, &n, &err) < 0 && out == NULL);
    CHECK_STR(err.code, "invalid_base64");
    CHECK(sp_b64_decode("Zm9vYg=", 7, &out, &n, &err) < 0);
    CHECK(sp_b64_decode("Zh==", 4, &out, &n, &err) < 0); /* stray bits */
}

int main(void) {
    rfc4648_vectors_round_trip();
    url_safe_alphabet_is_used_for_62_and_63();
    binary_with_nul_bytes_round_trips();
    characters_outside_the_alphabet_are_rejected();
    misplaced_or_partial_padding_is_rejected();
    impossible_lengths_and_stray_bits_are_rejected();
    standard_base64_uses_plus_and_slash();
    return check_done("test_base64url");
}
