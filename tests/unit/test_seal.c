/*
 * test_seal: tokens sealed at rest. A sealed token opens for its own account
 * only, under any key of the ring; plain tokens pass through; every malformed
 * SOCIAL_POST_TOKEN_KEYS is a configuration error naming the variable and
 * never the key.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/seal.h"

#define USER "6f1b0c1e-8a43-4f57-9d0e-2b4c7a1d9e01"
#define OTHER "0d2e1f3a-5b6c-4d7e-8f90-a1b2c3d4e5f6"
#define K1 "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define K2 "k2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="

/* The keys of text; NULL (and a failed check) when it does not parse. */
static sp_seal_keys *keys_of(const char *text) {
    sp_seal_keys *k = NULL;
    sp_err err;
    sp_err_clear(&err);
    CHECK(sp_seal_keys_parse(text, &k, &err) == 0);
    return k;
}

/* True when text is refused as a configuration error naming the variable,
 * without repeating secret (a fragment of the key). */
static bool refused(const char *text, const char *secret) {
    sp_seal_keys *k = (sp_seal_keys *)1;
    sp_err err;
    sp_err_clear(&err);
    bool ok = sp_seal_keys_parse(text, &k, &err) == -1 && k == NULL &&
              strcmp(err.code, "config") == 0 && strstr(err.msg, "SOCIAL_POST_TOKEN_KEYS") &&
              (!secret || !strstr(err.msg, secret));
    if (!ok) fprintf(stderr, "not refused as expected: %s -> %s\n", text, err.msg);
    return ok;
}

/* A sealed token opens for its account, not for another user or platform. */
static void test_seal_opens_only_for_its_account(void) {
    sp_seal_keys *k = keys_of(K1);
    sp_err err;
    char *sealed = sp_seal(k, USER, "youtube", "ya29.secret-token", &err);
    CHECK(sealed && strncmp(sealed, "sp1:k1:", 7) == 0 && !strstr(sealed, "secret"));
    CHECK(sp_seal_is_sealed(sealed) && sp_seal_is_current(k, sealed));
    char *plain = sp_unseal(k, USER, "youtube", sealed, &err);
    CHECK_STR(plain, "ya29.secret-token");
    free(plain);
    sp_err_clear(&err);
    CHECK(sp_unseal(k, OTHER, "youtube", sealed, &err) == NULL);
    CHECK_STR(err.code, "token_unseal_failed");
    CHECK(strstr(err.msg, "another account") != NULL);
    CHECK(sp_unseal(k, USER, "tiktok", sealed, &err) == NULL);
    char *again = sp_seal(k, USER, "youtube", "ya29.secret-token", &err);
    CHECK(again && strcmp(again, sealed) != 0); /* a fresh nonce each time */
    free(again);
    free(sealed);
    sp_seal_keys_free(k);
}

/* Rotation: the first key seals, all open; sp_seal re-seals an old token. */
static void test_rotation_reseals_with_the_first_key(void) {
    sp_seal_keys *old = keys_of(K1);
    sp_seal_keys *ring = keys_of(K2 "," K1);
    sp_err err;
    char *sealed = sp_seal(old, USER, "tiktok", "act.1", &err);
    CHECK(!sp_seal_is_current(ring, sealed));
    char *plain = sp_unseal(ring, USER, "tiktok", sealed, &err);
    CHECK_STR(plain, "act.1");
    char *resealed = sp_seal(ring, USER, "tiktok", sealed, &err);
    CHECK(resealed && strncmp(resealed, "sp1:k2:", 7) == 0 && sp_seal_is_current(ring, resealed));
    free(plain);
    plain = sp_unseal(ring, USER, "tiktok", resealed, &err);
    CHECK_STR(plain, "act.1");
    sp_err_clear(&err);
    CHECK(sp_unseal(old, USER, "tiktok", resealed, &err) == NULL);
    CHECK_STR(err.code, "token_key_unknown");
    CHECK(strstr(err.msg, "'k2'") != NULL);
    free(plain);
    free(sealed);
    free(resealed);
    sp_seal_keys_free(old);
    sp_seal_keys_free(ring);
}

/* No keys: tokens are stored and read as given; a sealed one is an error. */
static void test_plain_tokens_and_missing_keys(void) {
    sp_seal_keys *k = keys_of(K1);
    sp_err err;
    char *s = sp_seal(NULL, USER, "youtube", "plain", &err);
    CHECK_STR(s, "plain");
    free(s);
    s = sp_unseal(k, USER, "youtube", "plain", &err);
    CHECK_STR(s, "plain");
    free(s);
    CHECK(sp_seal(k, USER, "youtube", NULL, &err) == NULL);
    char *sealed = sp_seal(k, USER, "youtube", "t", &err);
    sp_err_clear(&err);
    CHECK(sp_unseal(NULL, USER, "youtube", sealed, &err) == NULL);
    CHECK_STR(err.code, "token_key_missing");
    CHECK(strstr(err.msg, "SOCIAL_POST_TOKEN_KEYS") != NULL);
    /* a changed byte, a cut text, a wrong key under the same id */
    sealed[strlen(sealed) - 3] = sealed[strlen(sealed) - 3] == 'A' ? 'B' : 'A';
    CHECK(sp_unseal(k, USER, "youtube", sealed, &err) == NULL);
    CHECK_STR(err.code, "token_unseal_failed");
    CHECK(sp_unseal(k, USER, "youtube", "sp1:k1:AAAA", &err) == NULL);
    CHECK(sp_unseal(k, USER, "youtube", "sp1:k1", &err) == NULL);
    CHECK_STR(err.code, "token_key_unknown");
    free(sealed);
    sp_seal_keys *wrong = keys_of("k1:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=");
    sealed = sp_seal(k, USER, "youtube", "t", &err);
    CHECK(sp_unseal(wrong, USER, "youtube", sealed, &err) == NULL);
    CHECK_STR(err.code, "token_unseal_failed");
    free(sealed);
    sp_seal_keys_free(wrong);
    sp_seal_keys_free(k);
}

/* Every malformed SOCIAL_POST_TOKEN_KEYS is refused, naming the variable. */
static void test_malformed_keys_are_refused(void) {
    sp_seal_keys *k = NULL;
    sp_err err;
    CHECK(sp_seal_keys_parse(NULL, &k, &err) == 0 && k == NULL);
    CHECK(sp_seal_keys_parse("", &k, &err) == 0 && k == NULL);
    CHECK(refused("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "AAECAwQF"));
    CHECK(refused("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd", "AAECAwQF")); /* 30 bytes */
    CHECK(refused("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ==", "AAECAwQF"));
    CHECK(refused("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGx*dHh8=", "AAECAwQF"));
    CHECK(refused(K1 "," K1, "AAECAwQF"));
    CHECK(refused(K1 ",", NULL));
    CHECK(refused(":AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "AAECAwQF"));
    CHECK(refused("k 1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "AAECAwQF"));
    k = keys_of(K1 "," K2);
    CHECK_STR(sp_seal_current_kid(k), "k1");
    sp_seal_keys_free(k);
}

int main(void) {
    test_seal_opens_only_for_its_account();
    test_rotation_reseals_with_the_first_key();
    test_plain_tokens_and_missing_keys();
    test_malformed_keys_are_refused();
    return check_done("test_seal");
}
