/*
 * jwks: JWK members -> OSSL_PARAMs -> EVP_PKEY_fromdata, the OpenSSL 3 way
 * (the deprecated EC_KEY and RSA setters are not used). An EC point is given to
 * OpenSSL as the uncompressed octets 04||x||y, which it checks is on the curve;
 * every key also passes EVP_PKEY_public_check before it is kept.
 *
 * A key that cannot be used is skipped with a warning; only a document that is
 * not a key set at all is an error. The document is fetched through
 * core/http_client like every other HTTP call (no libcurl of its own here).
 */
#include "auth/jwks.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64url.h"
#include "core/http_client.h"
#include "core/json.h"
#include "core/log.h"

/* Largest JWKS document read from a file or the network (the HTTP client
 * cuts every answer's body at 1 MiB). */
#define JWKS_MAX_BYTES (1024 * 1024)

/* Seconds a fetch of the JWKS may take, all of it. */
#define JWKS_FETCH_SECONDS 5

/* Decodes the base64url string member name of jwk into *out (caller frees).
 * When want is not 0 the value must decode to exactly want bytes. */
static int decode_member(const cJSON *jwk, const char *name, size_t want, unsigned char **out,
                         size_t *len, sp_err *err) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(jwk, name);
    if (!cJSON_IsString(item))
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_jwk", "no string \"%s\"", name);
    const char *s = item->valuestring;
    if (sp_b64url_decode(s, strlen(s), out, len, err) < 0) return -1;
    if ((want && *len != want) || *len == 0) {
        free(*out);
        *out = NULL;
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_jwk", "\"%s\" has the wrong length",
                          name);
    }
    return 0;
}

/* Builds a public key of type ("EC" or "RSA") from the parameters in bld and
 * checks it. */
static int build_pkey(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out, sp_err *err) {
    int rc = -1;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY_CTX *check = NULL;
    *out = NULL;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_jwk", "OpenSSL rejected the %s key", type);
        goto done;
    }
    check = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL);
    if (!check || EVP_PKEY_public_check(check) <= 0) {
        sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_jwk", "the %s public key is invalid", type);
        goto done;
    }
    rc = 0;
done:
    if (rc < 0) {
        EVP_PKEY_free(*out);
        *out = NULL;
    }
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return rc;
}

/* Builds the P-256 public key of an EC JWK (crv, x, y). */
static int ec_key_from_jwk(const cJSON *jwk, EVP_PKEY **out, sp_err *err) {
    int rc = -1;
    unsigned char *x = NULL, *y = NULL, point[65];
    size_t xlen = 0, ylen = 0;
    OSSL_PARAM_BLD *bld = NULL;
    const cJSON *crv = cJSON_GetObjectItemCaseSensitive(jwk, "crv");
    if (!cJSON_IsString(crv) || strcmp(crv->valuestring, "P-256") != 0) {
        sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_jwk", "EC key not on curve P-256");
        goto done;
    }
    if (decode_member(jwk, "x", 32, &x, &xlen, err) < 0 ||
        decode_member(jwk, "y", 32, &y, &ylen, err) < 0)
        goto done;
    point[0] = 0x04; /* uncompressed: 04 || x || y */
    memcpy(point + 1, x, 32);
    memcpy(point + 33, y, 32);
    bld = OSSL_PARAM_BLD_new();
    if (!bld ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point)) {
        sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
        goto done;
    }
    rc = build_pkey("EC", bld, out, err);
done:
    OSSL_PARAM_BLD_free(bld);
    free(x);
    free(y);
    return rc;
}

/* Builds the public key of an RSA JWK (n, e); keys under 2048 bits are refused. */
static int rsa_key_from_jwk(const cJSON *jwk, EVP_PKEY **out, sp_err *err) {
    int rc = -1;
    unsigned char *n = NULL, *e = NULL;
    size_t nlen = 0, elen = 0;
    BIGNUM *bn_n = NULL, *bn_e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    if (decode_member(jwk, "n", 0, &n, &nlen, err) < 0 ||
        decode_member(jwk, "e", 0, &e, &elen, err) < 0)
        goto done;
    bn_n = BN_bin2bn(n, (int)nlen, NULL);
    bn_e = BN_bin2bn(e, (int)elen, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (!bn_n || !bn_e || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e)) {
        sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
        goto done;
    }
    if (build_pkey("RSA", bld, out, err) < 0) goto done;
    if (EVP_PKEY_get_bits(*out) < 2048) {
        EVP_PKEY_free(*out);
        *out = NULL;
        sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_jwk", "RSA key shorter than 2048 bits");
        goto done;
    }
    rc = 0;
done:
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    free(n);
    free(e);
    return rc;
}

/* True when the optional string member name of jwk is absent or equals want. */
static bool member_absent_or(const cJSON *jwk, const char *name, const char *want) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(jwk, name);
    return !item || (cJSON_IsString(item) && strcmp(item->valuestring, want) == 0);
}

/* Turns one JWK into a usable key, or fails saying why it cannot be used. */
static int key_from_jwk(const cJSON *jwk, sp_jwks_key *out, sp_err *err) {
    const cJSON *kty = cJSON_GetObjectItemCaseSensitive(jwk, "kty");
    const cJSON *kid = cJSON_GetObjectItemCaseSensitive(jwk, "kid");
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(jwk) || !cJSON_IsString(kty))
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_jwk", "not a JWK with a kty");
    if (kid && !cJSON_IsString(kid))
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_jwk", "kid is not a string");
    if (!member_absent_or(jwk, "use", "sig"))
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_jwk", "key is not for signatures");
    if (strcmp(kty->valuestring, "EC") == 0) {
        out->alg = SP_JWKS_ES256;
        if (!member_absent_or(jwk, "alg", "ES256"))
            return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_jwk", "EC key with alg not ES256");
        if (ec_key_from_jwk(jwk, &out->pkey, err) < 0) return -1;
    } else if (strcmp(kty->valuestring, "RSA") == 0) {
        out->alg = SP_JWKS_RS256;
        if (!member_absent_or(jwk, "alg", "RS256"))
            return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_jwk", "RSA key with alg not RS256");
        if (rsa_key_from_jwk(jwk, &out->pkey, err) < 0) return -1;
    } else {
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_jwk", "unsupported key type");
    }
    if (kid && !(out->kid = strdup(kid->valuestring))) {
        EVP_PKEY_free(out->pkey);
        out->pkey = NULL;
        return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    }
    return 0;
}

int sp_jwks_parse(const char *text, size_t len, sp_jwks *set, sp_err *err) {
    int rc = -1;
    cJSON *root = NULL;
    if (sp_json_parse_strict(text, len, &root, err) < 0) {
        if (err && err->kind != SP_ERR_OOM)
            sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_jwks", "the JWKS is not valid JSON");
        goto done;
    }
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(root, "keys");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(keys)) {
        sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_jwks", "not a JWKS: no \"keys\" array");
        goto done;
    }
    set->keys = calloc(SP_JWKS_MAX_KEYS, sizeof *set->keys);
    if (!set->keys) {
        sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
        goto done;
    }
    int index = 0;
    const cJSON *jwk;
    cJSON_ArrayForEach(jwk, keys) {
        sp_err why;
        sp_err_clear(&why);
        if (set->count == SP_JWKS_MAX_KEYS) {
            sp_log(SP_LOG_WARN, "jwks: more than %d keys, skipping the rest", SP_JWKS_MAX_KEYS);
            break;
        }
        const cJSON *kid = cJSON_GetObjectItemCaseSensitive(jwk, "kid");
        if (key_from_jwk(jwk, &set->keys[set->count], &why) == 0)
            set->count++;
        else
            sp_log(SP_LOG_WARN, "jwks: skipping key %d (kid %s): %s", index,
                   cJSON_IsString(kid) ? kid->valuestring : "none", why.msg);
        index++;
    }
    rc = 0;
done:
    if (rc < 0) sp_jwks_free(set);
    cJSON_Delete(root);
    return rc;
}

/* Reads the whole file at path (at most JWKS_MAX_BYTES) into *buf (caller frees). */
static int read_file(const char *path, char **buf, size_t *len, sp_err *err) {
    int rc = -1;
    char eb[128];
    FILE *f = fopen(path, "rb");
    *buf = NULL;
    *len = 0;
    if (!f) {
        sp_err_set(err, SP_ERR_INTERNAL, "config", "cannot open %s: %s", path,
                   sp_strerror(errno, eb, sizeof eb));
        goto done;
    }
    *buf = malloc(JWKS_MAX_BYTES + 1);
    if (!*buf) {
        sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
        goto done;
    }
    *len = fread(*buf, 1, JWKS_MAX_BYTES + 1, f);
    if (ferror(f) || *len > JWKS_MAX_BYTES) {
        sp_err_set(err, SP_ERR_INTERNAL, "config", "cannot read %s: %s", path,
                   ferror(f) ? sp_strerror(errno, eb, sizeof eb) : "file too large");
        goto done;
    }
    rc = 0;
done:
    if (rc < 0) {
        free(*buf);
        *buf = NULL;
    }
    if (f) fclose(f);
    return rc;
}

int sp_jwks_load_file(const char *path, sp_jwks *set, sp_err *err) {
    char *text = NULL;
    size_t len = 0;
    sp_err why;
    sp_err_clear(&why);
    int rc = read_file(path, &text, &len, err);
    if (rc == 0 && (rc = sp_jwks_parse(text, len, set, &why)) < 0) {
        if (why.kind == SP_ERR_OOM)
            sp_err_set(err, SP_ERR_OOM, why.code, "%s", why.msg);
        else
            sp_err_set(err, SP_ERR_INTERNAL, "config", "%s: %s", path, why.msg);
    }
    free(text);
    return rc;
}

int sp_jwks_fetch(const char *url, sp_jwks *set, sp_err *err) {
    sp_http_req req = {.method = "GET",
                       .url = url,
                       .headers = {"Accept: application/json"},
                       .timeout_seconds = JWKS_FETCH_SECONDS};
    sp_http_resp resp;
    sp_err why;
    sp_err_clear(&why);
    int rc = -1;
    if (sp_http_perform(&req, &resp, &why) < 0)
        sp_err_set(err, SP_ERR_INTERNAL, "jwks_fetch", "fetching the JWKS failed: %s", why.msg);
    else if (resp.status != 200)
        sp_err_set(err, SP_ERR_INTERNAL, "jwks_fetch", "fetching the JWKS returned HTTP %ld",
                   resp.status);
    else if (resp.body_len >= JWKS_MAX_BYTES) /* the client cuts bodies there */
        sp_err_set(err, SP_ERR_INTERNAL, "jwks_fetch", "the JWKS is larger than %d bytes",
                   JWKS_MAX_BYTES);
    else
        rc = sp_jwks_parse(resp.body ? resp.body : "", resp.body_len, set, err);
    sp_http_resp_free(&resp);
    return rc;
}

void sp_jwks_free(sp_jwks *set) {
    for (size_t i = 0; i < set->count; i++) {
        free(set->keys[i].kid);
        EVP_PKEY_free(set->keys[i].pkey);
    }
    free(set->keys);
    set->keys = NULL;
    set->count = 0;
}
