/*
 * seal: AES-256-GCM over a key ring, through OpenSSL's EVP interface.
 *
 * Each seal draws a fresh 12-byte nonce from OpenSSL's CSPRNG; the text is
 * "sp1:<kid>:" and the base64url of nonce, ciphertext and the 16-byte tag.
 * The associated data binds the format, the key id, the user and the platform
 * ("sp1\n<kid>\n<user_id>\n<platform>"), so neither a copied token nor an
 * edited key id opens. Keys are wiped when freed.
 */
#include "core/seal.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64url.h"

#define KEY_LEN 32
#define NONCE_LEN 12
#define TAG_LEN 16
#define KID_MAX 32
#define KEYS_MAX 16
#define TOKEN_MAX 16384 /* longest token sealed or opened, bytes */
#define VAR "SOCIAL_POST_TOKEN_KEYS"

typedef struct {
    char kid[KID_MAX + 1];
    unsigned char key[KEY_LEN];
} seal_key;

struct sp_seal_keys {
    int count;
    seal_key keys[KEYS_MAX];
};

/* True when c may appear in a key id. */
static bool kid_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

/* Reads one "kid:base64key" pair of len bytes (the n-th, from 1) into k. */
static int parse_pair(const char *pair, size_t len, int n, seal_key *k, sp_err *err) {
    const char *colon = memchr(pair, ':', len);
    size_t kid_len = colon ? (size_t)(colon - pair) : 0;
    if (!colon || kid_len == 0 || kid_len > KID_MAX)
        return sp_err_set(err, SP_ERR_INTERNAL, "config",
                          VAR " pair %d must be kid:base64key with a key id of 1 to %d characters",
                          n, KID_MAX);
    for (size_t i = 0; i < kid_len; i++)
        if (!kid_char(pair[i]))
            return sp_err_set(err, SP_ERR_INTERNAL, "config",
                              VAR " pair %d: a key id holds only letters, digits, '_', '-', '.'",
                              n);
    memcpy(k->kid, pair, kid_len);
    k->kid[kid_len] = '\0';
    unsigned char *key = NULL;
    size_t key_len = 0;
    sp_err dec;
    int rc = sp_b64_decode(colon + 1, len - kid_len - 1, &key, &key_len, &dec);
    if (rc == 0 && key_len == KEY_LEN) memcpy(k->key, key, KEY_LEN);
    if (key) explicit_bzero(key, key_len);
    free(key);
    if (rc < 0 || key_len != KEY_LEN)
        return sp_err_set(err, SP_ERR_INTERNAL, "config",
                          VAR " key '%s' must be the standard base64 of exactly %d bytes "
                              "(e.g. $(openssl rand -base64 32))",
                          k->kid, KEY_LEN);
    return 0;
}

/* Appends the pair of len bytes at pair to keys, refusing a repeated id. */
static int add_pair(sp_seal_keys *keys, const char *pair, size_t len, sp_err *err) {
    if (keys->count == KEYS_MAX)
        return sp_err_set(err, SP_ERR_INTERNAL, "config", VAR " holds more than %d keys", KEYS_MAX);
    seal_key *k = &keys->keys[keys->count];
    if (parse_pair(pair, len, keys->count + 1, k, err) < 0) return -1;
    for (int i = 0; i < keys->count; i++)
        if (strcmp(keys->keys[i].kid, k->kid) == 0)
            return sp_err_set(err, SP_ERR_INTERNAL, "config", VAR " names key id '%s' twice",
                              k->kid);
    keys->count++;
    return 0;
}

int sp_seal_keys_parse(const char *text, sp_seal_keys **out, sp_err *err) {
    *out = NULL;
    if (!text || !*text) return 0;
    sp_seal_keys *keys = calloc(1, sizeof *keys);
    if (!keys) return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    const char *p = text;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (add_pair(keys, p, len, err) < 0) {
            sp_seal_keys_free(keys);
            return -1;
        }
        if (!comma) break;
        p = comma + 1;
    }
    *out = keys;
    return 0;
}

void sp_seal_keys_free(sp_seal_keys *keys) {
    if (!keys) return;
    explicit_bzero(keys, sizeof *keys);
    free(keys);
}

const char *sp_seal_current_kid(const sp_seal_keys *keys) {
    return keys ? keys->keys[0].kid : NULL;
}

bool sp_seal_is_sealed(const char *token) {
    return token && strncmp(token, SP_SEAL_PREFIX, strlen(SP_SEAL_PREFIX)) == 0;
}

bool sp_seal_is_current(const sp_seal_keys *keys, const char *token) {
    if (!keys || !sp_seal_is_sealed(token)) return false;
    const char *kid = token + strlen(SP_SEAL_PREFIX);
    size_t n = strlen(keys->keys[0].kid);
    return strncmp(kid, keys->keys[0].kid, n) == 0 && kid[n] == ':';
}

/* The key named kid (kid_len bytes), or NULL. */
static const seal_key *find_key(const sp_seal_keys *keys, const char *kid, size_t kid_len) {
    for (int i = 0; keys && i < keys->count; i++)
        if (strlen(keys->keys[i].kid) == kid_len && memcmp(keys->keys[i].kid, kid, kid_len) == 0)
            return &keys->keys[i];
    return NULL;
}

/* The associated data for (kid, user, platform); caller frees. */
static char *associated_data(const char *kid, const char *user_id, const char *platform) {
    if (!user_id) user_id = "";
    if (!platform) platform = "";
    size_t n = strlen(kid) + strlen(user_id) + strlen(platform) + 8;
    char *ad = malloc(n);
    if (ad) snprintf(ad, n, "sp1\n%s\n%s\n%s", kid, user_id, platform);
    return ad;
}

/* Runs AES-256-GCM over in (len bytes) into out: encrypt writes the tag
 * into tag, decrypt checks it. 0, or -1 when the tag does not match or
 * OpenSSL fails. */
static int gcm(bool encrypt, const seal_key *k, const unsigned char *nonce, const char *ad,
               const unsigned char *in, int len, unsigned char *out, unsigned char *tag) {
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, rc = -1;
    if (!c) return -1;
    if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, k->key, nonce, encrypt ? 1 : 0) != 1 ||
        EVP_CipherUpdate(c, NULL, &n, (const unsigned char *)ad, (int)strlen(ad)) != 1 ||
        (len > 0 && EVP_CipherUpdate(c, out, &n, in, len) != 1))
        goto done;
    if (!encrypt && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1) goto done;
    if (EVP_CipherFinal_ex(c, out + (len > 0 ? n : 0), &n) != 1) goto done;
    if (encrypt && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1) goto done;
    rc = 0;
done:
    EVP_CIPHER_CTX_free(c);
    return rc;
}

/* Seals plain (already in clear) with the current key; caller frees. */
static char *seal_plain(const sp_seal_keys *keys, const char *user_id, const char *platform,
                        const char *plain, sp_err *err) {
    size_t len = strlen(plain);
    if (len > TOKEN_MAX) {
        sp_err_set(err, SP_ERR_UNPROCESSABLE, "token_too_long", "a token is over %d bytes",
                   TOKEN_MAX);
        return NULL;
    }
    const seal_key *k = &keys->keys[0];
    unsigned char *buf = malloc(NONCE_LEN + len + TAG_LEN);
    char *ad = associated_data(k->kid, user_id, platform);
    char *b64 = NULL, *out = NULL;
    if (!buf || !ad) goto oom;
    if (RAND_bytes(buf, NONCE_LEN) != 1 ||
        gcm(true, k, buf, ad, (const unsigned char *)plain, (int)len, buf + NONCE_LEN,
            buf + NONCE_LEN + len) < 0) {
        sp_err_set(err, SP_ERR_INTERNAL, "seal_failed", "sealing a token failed (OpenSSL)");
        goto done;
    }
    b64 = sp_b64url_encode(buf, NONCE_LEN + len + TAG_LEN);
    size_t n = b64 ? strlen(SP_SEAL_PREFIX) + strlen(k->kid) + strlen(b64) + 2 : 0;
    if (!b64 || !(out = malloc(n))) goto oom;
    snprintf(out, n, SP_SEAL_PREFIX "%s:%s", k->kid, b64);
    goto done;
oom:
    sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory sealing a token");
done:
    if (buf) explicit_bzero(buf, NONCE_LEN + len + TAG_LEN);
    free(buf);
    free(ad);
    free(b64);
    return out;
}

char *sp_seal(const sp_seal_keys *keys, const char *user_id, const char *platform,
              const char *token, sp_err *err) {
    if (!token) return NULL;
    if (!keys) {
        char *copy = strdup(token);
        if (!copy) sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
        return copy;
    }
    if (!sp_seal_is_sealed(token)) return seal_plain(keys, user_id, platform, token, err);
    char *plain = sp_unseal(keys, user_id, platform, token, err);
    if (!plain) return NULL;
    char *out = seal_plain(keys, user_id, platform, plain, err);
    explicit_bzero(plain, strlen(plain));
    free(plain);
    return out;
}

/* Fails unsealing with code and a message naming the key id. */
static char *unseal_error(sp_err *err, const char *code, const char *fmt, const char *kid) {
    sp_err_set(err, SP_ERR_UNPROCESSABLE, code, fmt, kid);
    return NULL;
}

/* Opens the decoded box (nonce|ciphertext|tag, len bytes) with k. */
static char *open_box(const seal_key *k, const char *user_id, const char *platform,
                      const unsigned char *box, size_t len, sp_err *err) {
    size_t plain_len = len - NONCE_LEN - TAG_LEN;
    char *ad = associated_data(k->kid, user_id, platform);
    char *plain = malloc(plain_len + 1);
    unsigned char tag[TAG_LEN];
    if (!ad || !plain) {
        free(ad);
        free(plain);
        sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory opening a token");
        return NULL;
    }
    memcpy(tag, box + len - TAG_LEN, TAG_LEN);
    int rc = gcm(false, k, box, ad, box + NONCE_LEN, (int)plain_len, (unsigned char *)plain, tag);
    free(ad);
    if (rc < 0 || memchr(plain, '\0', plain_len)) {
        explicit_bzero(plain, plain_len);
        free(plain);
        return unseal_error(err, "token_unseal_failed",
                            "the sealed token does not open with key '%s' (a wrong key, or a "
                            "token copied from another account)",
                            k->kid);
    }
    plain[plain_len] = '\0';
    return plain;
}

char *sp_unseal(const sp_seal_keys *keys, const char *user_id, const char *platform,
                const char *token, sp_err *err) {
    if (!token) return NULL;
    if (!sp_seal_is_sealed(token)) {
        char *copy = strdup(token);
        if (!copy) sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
        return copy;
    }
    const char *kid = token + strlen(SP_SEAL_PREFIX);
    const char *colon = strchr(kid, ':');
    char kid_text[KID_MAX + 1] = "?";
    size_t kid_len = colon ? (size_t)(colon - kid) : 0;
    if (colon && kid_len <= KID_MAX) {
        for (size_t i = 0; i < kid_len; i++)
            kid_text[i] = kid_char(kid[i]) ? kid[i] : '?';
        kid_text[kid_len] = '\0';
    }
    if (!keys)
        return unseal_error(err, "token_key_missing",
                            "the token is sealed (key '%s') but " VAR " is not set", kid_text);
    const seal_key *k = colon ? find_key(keys, kid, kid_len) : NULL;
    if (!k)
        return unseal_error(err, "token_key_unknown",
                            "the token is sealed with key '%s', which " VAR " does not hold",
                            kid_text);
    unsigned char *box = NULL;
    size_t len = 0;
    sp_err dec;
    if (sp_b64url_decode(colon + 1, strlen(colon + 1), &box, &len, &dec) < 0 ||
        len < NONCE_LEN + TAG_LEN || len > NONCE_LEN + TAG_LEN + TOKEN_MAX) {
        free(box);
        return unseal_error(err, "token_unseal_failed", "the sealed token (key '%s') is malformed",
                            k->kid);
    }
    char *plain = open_box(k, user_id, platform, box, len, err);
    free(box);
    return plain;
}
