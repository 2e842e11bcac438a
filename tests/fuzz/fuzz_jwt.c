/*
 * fuzz_jwt: the JWT verifier (HS256 secret and JWKS keys) and the bearer
 * header. The first byte picks a mode: a raw token; an "Authorization"
 * header value; or header and payload JSON (split at the first newline)
 * signed here with the HS256 secret or the JWKS's EC key, so the fuzzer
 * reaches the claims checks behind a valid signature.
 */
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <unistd.h>

#include "auth/bearer.h"
#include "auth/jwt.h"
#include "core/base64url.h"
#include "core/log.h"
#include "fuzz.h"

#define SECRET "fuzz-secret-with-at-least-thirty-two-characters"
#define NOW ((time_t)1700000000)

static sp_jwt_verifier *verifier;
static EVP_PKEY *ec_key;

/* Writes a JWKS with the public half of key (kid "ec-1") to a temp file. */
static void write_jwks(const char *path) {
    BIGNUM *x = NULL, *y = NULL;
    unsigned char xb[32], yb[32];
    EVP_PKEY_get_bn_param(ec_key, "qx", &x);
    EVP_PKEY_get_bn_param(ec_key, "qy", &y);
    BN_bn2binpad(x, xb, 32);
    BN_bn2binpad(y, yb, 32);
    char *xs = sp_b64url_encode(xb, 32), *ys = sp_b64url_encode(yb, 32);
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f,
                "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"ec-1\",\"use\":\"sig\","
                "\"alg\":\"ES256\",\"x\":\"%s\",\"y\":\"%s\"}]}",
                xs, ys);
        fclose(f);
    }
    free(xs);
    free(ys);
    BN_free(x);
    BN_free(y);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    sp_log_init("fuzz_jwt", SP_LOG_ERROR);
    ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    char path[] = "/tmp/fuzz_jwt_jwks_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) close(fd);
    write_jwks(path);
    sp_config cfg = {.jwt_secret = SECRET, .jwks_file = path, .jwt_audience = "authenticated"};
    verifier = sp_jwt_verifier_new(&cfg, NULL);
    unlink(path);
    return 0;
}

/* header.payload signed with the secret (es256 false) or the EC key. */
static char *sign(const char *header, const char *payload, size_t payload_len, bool es256) {
    char *h = sp_b64url_encode((const unsigned char *)header, strlen(header));
    char *p = sp_b64url_encode((const unsigned char *)payload, payload_len);
    size_t n = strlen(h) + strlen(p) + 2;
    char *input = malloc(n);
    snprintf(input, n, "%s.%s", h, p);
    unsigned char sig[256];
    size_t sig_len = 0;
    if (!es256) {
        unsigned int len = 0;
        HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)input, n - 1, sig,
             &len);
        sig_len = len;
    } else {
        unsigned char der[128];
        size_t der_len = sizeof der;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, ec_key);
        EVP_DigestSign(ctx, der, &der_len, (const unsigned char *)input, n - 1);
        EVP_MD_CTX_free(ctx);
        const unsigned char *q = der;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)der_len);
        const BIGNUM *r = NULL, *s = NULL;
        ECDSA_SIG_get0(es, &r, &s);
        BN_bn2binpad(r, sig, 32);
        BN_bn2binpad(s, sig + 32, 32);
        ECDSA_SIG_free(es);
        sig_len = 64;
    }
    char *sg = sp_b64url_encode(sig, sig_len);
    size_t tn = n + strlen(sg) + 1;
    char *token = malloc(tn);
    snprintf(token, tn, "%s.%s", input, sg);
    free(h);
    free(p);
    free(input);
    free(sg);
    return token;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!verifier) return 0;
    unsigned mode = fuzz_byte(&data, &size) % 4;
    char *text = fuzz_text(data, size), *token = NULL;
    if (!text) return 0;
    sp_jwt_claims claims;
    sp_err err;
    if (mode == 0) {
        sp_jwt_verify(verifier, text, NOW, &claims, &err);
    } else if (mode == 1) {
        sp_auth_bearer(verifier, text, NOW, &claims, &err);
    } else {
        char *nl = memchr(text, '\n', size);
        const char *header =
            nl ? text : (mode == 2 ? "{\"alg\":\"HS256\"}" : "{\"alg\":\"ES256\"}");
        const char *payload = nl ? nl + 1 : text;
        if (nl) *nl = '\0';
        token = sign(header, payload, size - (size_t)(payload - text), mode == 3);
        sp_jwt_verify(verifier, token, NOW, &claims, &err);
    }
    sp_jwt_claims_clear(&claims);
    free(token);
    free(text);
    return 0;
}
