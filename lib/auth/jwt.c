/*
 * jwt: verifying a compact JWS in three steps, each of which can only reject:
 * cut and decode the header, find the keys that may verify it and check the
 * signature, and only then decode the payload and check its claims.
 *
 * The one idea: the token's header only ever narrows the choice of key, never
 * widens what a key accepts. HS256 uses the configured secret and nothing else;
 * a kid found in the JWKS selects that key, and the header's alg must be the one
 * the key implies; a token without kid is tried against the keys of its alg.
 *
 * Keys from SUPABASE_JWKS_FILE never change after sp_jwt_verifier_new. Keys
 * from SUPABASE_URL are fetched at start and replaced on an unknown kid, at most
 * once a minute (the start fetch does not count); keys_lock guards them, and a
 * verification takes its own reference to each key so no lock is held while
 * OpenSSL works. This module does not read the Authorization header (bearer.c).
 *
 * HS256 runs on every request, so its HMAC is set up once: the algorithm is
 * fetched and the secret's key schedule made in sp_jwt_verifier_new (a
 * template context); each thread verifies with its own copy of the template,
 * made on its first token, re-initialised per token, and freed with the
 * verifier (a list of them, so none outlives it or needs a thread's exit).
 *
 * A token accepted once is remembered (jwt_cache.h): asked again, it is
 * found by its exact bytes and only its times are checked against the
 * clock, as a full verification checks them. Fetched keys carry a
 * generation, bumped with each install, so a token accepted under keys since
 * replaced is verified afresh.
 */
#include "auth/jwt.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/jwks.h"
#include "auth/jwt_cache.h"
#include "core/base64url.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "core/uuid.h"

#define JWT_MAX_TOKEN 16384      /* longest token looked at, in bytes */
#define JWT_LEEWAY 30            /* seconds of clock skew allowed on exp and nbf */
#define JWKS_REFETCH_INTERVAL 60 /* seconds between refetches on an unknown kid */

typedef enum { JWT_HS256, JWT_ES256, JWT_RS256 } jwt_alg;

/* One thread's copy of the HS256 template. */
typedef struct hmac_copy {
    struct hmac_copy *next;
    EVP_MAC_CTX *ctx;
} hmac_copy;

struct sp_jwt_verifier {
    unsigned char *secret; /* HS256 key; NULL when HS256 is off */
    size_t secret_len;
    unsigned long id;           /* never reused: tells threads' copies apart */
    EVP_MAC_CTX *hmac_template; /* HMAC-SHA256 keyed with secret, or NULL */
    pthread_mutex_t hmac_lock;  /* guards hmac_copies and copying the template */
    hmac_copy *hmac_copies;     /* every thread's copy, freed with the verifier */
    char *audience;
    char *issuer;               /* SUPABASE_URL/auth/v1, or NULL: not checked */
    char *jwks_url;             /* where to fetch keys, or NULL */
    bool allow_anonymous;       /* accept anonymous sign-ins (is_anonymous: true) */
    sp_jwks file_keys;          /* read-only after sp_jwt_verifier_new */
    pthread_mutex_t keys_lock;  /* guards fetched_keys */
    sp_jwks fetched_keys;       /* replaced whole by each successful fetch */
    pthread_mutex_t fetch_lock; /* one fetch at a time; guards the two below */
    bool refetched;             /* a refetch on an unknown kid has happened */
    double last_refetch;        /* when, in CLOCK_MONOTONIC seconds */
    atomic_ulong keys_gen;      /* bumped by each install of fetched keys */
    sp_jwt_cache *cache;        /* tokens accepted lately */
};

/* A token cut at its two dots; pointers into the token. */
typedef struct {
    const char *header, *payload, *sig;
    size_t header_len, payload_len, sig_len;
} jwt_parts;

/* What the header asks for; kid is borrowed from the parsed header. */
typedef struct {
    jwt_alg alg;
    const char *kid;
} jwt_header;

/* The keys a token may be verified with, each holding a reference. */
#define KEY_LIST_MAX (2 * SP_JWKS_MAX_KEYS) /* file keys + fetched keys */
typedef struct {
    EVP_PKEY *pkeys[KEY_LIST_MAX];
    size_t count;
} key_list;

/* Rejects the token with msg. Always returns -1. */
static int invalid(sp_err *err, const char *msg) {
    return sp_err_set(err, SP_ERR_UNAUTHORIZED, "invalid_token", "%s", msg);
}

/* Passes an out-of-memory cause on as it is; any other cause rejects with msg. */
static int invalid_unless_oom(sp_err *err, const sp_err *cause, const char *msg) {
    if (cause->kind == SP_ERR_OOM)
        return sp_err_set(err, SP_ERR_OOM, cause->code, "%s", cause->msg);
    return invalid(err, msg);
}

/* Returns a + b in new memory (caller frees), NULL when out of memory. */
static char *concat(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (!s) return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    return s;
}

/* True when s is set and not empty. */
static bool is_set(const char *s) {
    return s && *s;
}

/* Replaces the fetched keys with fresh (which is left empty). */
static void install_fetched_keys(sp_jwt_verifier *v, sp_jwks *fresh) {
    pthread_mutex_lock(&v->keys_lock);
    sp_jwks old = v->fetched_keys;
    v->fetched_keys = *fresh;
    atomic_fetch_add(&v->keys_gen, 1); /* what the old keys accepted is verified afresh */
    pthread_mutex_unlock(&v->keys_lock);
    memset(fresh, 0, sizeof *fresh);
    sp_jwks_free(&old); /* verifications in flight hold their own references */
}

/* Fetches the JWKS from SUPABASE_URL; a failure only logs a warning. */
static void fetch_keys(sp_jwt_verifier *v, const char *when) {
    sp_jwks fresh = {NULL, 0};
    sp_err why;
    sp_err_clear(&why);
    if (sp_jwks_fetch(v->jwks_url, &fresh, &why) < 0) {
        sp_log(SP_LOG_WARN, "jwks %s from %s failed: %s", when, v->jwks_url, why.msg);
        return;
    }
    install_fetched_keys(v, &fresh);
}

/* Refetches the JWKS unless a refetch happened less than a minute ago. Threads
 * that arrive during a fetch wait for it, then find the keys it brought. */
static void refetch_keys(sp_jwt_verifier *v) {
    pthread_mutex_lock(&v->fetch_lock);
    double now = sp_clock_monotonic();
    if (!v->refetched || now - v->last_refetch >= JWKS_REFETCH_INTERVAL) {
        v->refetched = true;
        v->last_refetch = now;
        fetch_keys(v, "refetch");
    }
    pthread_mutex_unlock(&v->fetch_lock);
}

static atomic_ulong verifier_ids;

/* Sets up HMAC-SHA256 with the HS256 secret once (see the top). */
static int make_hmac_template(sp_jwt_verifier *v, sp_err *err) {
    if (!v->secret) return 0;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end()};
    v->hmac_template = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac); /* the context holds its own reference */
    if (!v->hmac_template || EVP_MAC_init(v->hmac_template, v->secret, v->secret_len, params) != 1)
        return sp_err_set(err, SP_ERR_INTERNAL, "openssl", "cannot set up HMAC-SHA256");
    return 0;
}

/* Copies the settings of cfg that verification needs into v. */
static int copy_settings(sp_jwt_verifier *v, const sp_config *cfg, sp_err *err) {
    const char *audience = is_set(cfg->jwt_audience) ? cfg->jwt_audience : "authenticated";
    bool oom = !(v->audience = strdup(audience));
    if (is_set(cfg->jwt_secret)) {
        v->secret_len = strlen(cfg->jwt_secret);
        oom |= !(v->secret = (unsigned char *)strdup(cfg->jwt_secret));
    }
    if (is_set(cfg->supabase_url)) {
        oom |= !(v->issuer = concat(cfg->supabase_url, "/auth/v1"));
        oom |= !(v->jwks_url = concat(cfg->supabase_url, "/auth/v1/.well-known/jwks.json"));
    }
    if (oom) return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    v->allow_anonymous = cfg->allow_anonymous_users;
    return 0;
}

sp_jwt_verifier *sp_jwt_verifier_new(const sp_config *cfg, sp_err *err) {
    sp_jwt_verifier *v = NULL;
    bool ok = false;
    if (!is_set(cfg->jwt_secret) && !is_set(cfg->jwks_file) && !is_set(cfg->supabase_url)) {
        sp_err_set(err, SP_ERR_INTERNAL, "config",
                   "no JWT key source: set SUPABASE_JWT_SECRET, SUPABASE_JWKS_FILE or "
                   "SUPABASE_URL");
        goto done;
    }
    if (!(v = calloc(1, sizeof *v))) {
        sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
        goto done;
    }
    pthread_mutex_init(&v->keys_lock, NULL);
    pthread_mutex_init(&v->fetch_lock, NULL);
    pthread_mutex_init(&v->hmac_lock, NULL);
    v->id = atomic_fetch_add(&verifier_ids, 1) + 1;
    if (copy_settings(v, cfg, err) < 0 || make_hmac_template(v, err) < 0) goto done;
    if (!(v->cache = sp_jwt_cache_new())) {
        sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
        goto done;
    }
    if (is_set(cfg->jwks_file) && sp_jwks_load_file(cfg->jwks_file, &v->file_keys, err) < 0)
        goto done;
    if (v->jwks_url) fetch_keys(v, "fetch at start");
    ok = true;
done:
    if (!ok) {
        sp_jwt_verifier_free(v);
        v = NULL;
    }
    return v;
}

void sp_jwt_verifier_free(sp_jwt_verifier *v) {
    if (!v) return;
    if (v->secret) OPENSSL_cleanse(v->secret, v->secret_len);
    free(v->secret);
    free(v->audience);
    free(v->issuer);
    free(v->jwks_url);
    sp_jwks_free(&v->file_keys);
    sp_jwks_free(&v->fetched_keys);
    sp_jwt_cache_free(v->cache);
    pthread_mutex_destroy(&v->keys_lock);
    pthread_mutex_destroy(&v->fetch_lock);
    while (v->hmac_copies) {
        hmac_copy *next = v->hmac_copies->next;
        EVP_MAC_CTX_free(v->hmac_copies->ctx);
        free(v->hmac_copies);
        v->hmac_copies = next;
    }
    EVP_MAC_CTX_free(v->hmac_template);
    pthread_mutex_destroy(&v->hmac_lock);
    free(v);
}

/* Cuts token into its three dot-separated parts. */
static int split_token(const char *token, jwt_parts *p, sp_err *err) {
    size_t len = strnlen(token, JWT_MAX_TOKEN + 1);
    if (len == 0) return invalid(err, "empty token");
    if (len > JWT_MAX_TOKEN) return invalid(err, "token too long");
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
        return invalid(err, "malformed token: expected three dot-separated parts");
    p->header = token;
    p->header_len = (size_t)(dot1 - token);
    p->payload = dot1 + 1;
    p->payload_len = (size_t)(dot2 - p->payload);
    p->sig = dot2 + 1;
    p->sig_len = len - (size_t)(p->sig - token);
    return 0;
}

/* Decodes one base64url part holding a JSON object ("header" or "payload"
 * says which). *json (caller deletes) gets the object and, when text is not
 * NULL, *text (caller frees) the decoded bytes. */
static int decode_json_part(const char *b64, size_t len, const char *what, cJSON **json,
                            char **text, sp_err *err) {
    int rc = -1;
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    char msg[64];
    sp_err why;
    sp_err_clear(&why);
    *json = NULL;
    if (sp_b64url_decode(b64, len, &raw, &raw_len, &why) < 0) {
        snprintf(msg, sizeof msg, "token %s is not valid base64url", what);
        invalid_unless_oom(err, &why, msg);
        goto done;
    }
    /* no repeated member names: the C code and Postgres must read one token */
    if (sp_json_parse_unique((const char *)raw, raw_len, json, &why) < 0 ||
        !cJSON_IsObject(*json)) {
        snprintf(msg, sizeof msg, "token %s is not a JSON object", what);
        invalid_unless_oom(err, &why, msg);
        goto done;
    }
    if (text) {
        *text = (char *)raw;
        raw = NULL;
    }
    rc = 0;
done:
    if (rc < 0) {
        cJSON_Delete(*json);
        *json = NULL;
    }
    free(raw);
    return rc;
}

/* Reads alg and kid from the header; rejects "none", other algorithms, and
 * critical extensions (none are understood). */
static int read_header(const cJSON *header, jwt_header *out, sp_err *err) {
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(header, "alg");
    const cJSON *kid = cJSON_GetObjectItemCaseSensitive(header, "kid");
    if (!cJSON_IsString(alg)) return invalid(err, "token header has no alg");
    if (strcasecmp(alg->valuestring, "none") == 0)
        return invalid(err, "unsigned tokens (alg none) are not accepted");
    if (strcmp(alg->valuestring, "HS256") == 0)
        out->alg = JWT_HS256;
    else if (strcmp(alg->valuestring, "ES256") == 0)
        out->alg = JWT_ES256;
    else if (strcmp(alg->valuestring, "RS256") == 0)
        out->alg = JWT_RS256;
    else
        return invalid(err, "unsupported token algorithm");
    if (kid && !cJSON_IsString(kid)) return invalid(err, "token kid is not a string");
    if (cJSON_GetObjectItemCaseSensitive(header, "crit"))
        return invalid(err, "token header has unsupported critical extensions");
    out->kid = kid ? kid->valuestring : NULL;
    return 0;
}

/* The token algorithm a JWKS key verifies. */
static jwt_alg key_alg(const sp_jwks_key *key) {
    return key->alg == SP_JWKS_ES256 ? JWT_ES256 : JWT_RS256;
}

/* Adds to out the keys of set that may verify hdr: the first key named by
 * hdr->kid if its algorithm is hdr->alg, or with no kid every key of hdr->alg.
 * Sets *kid_alg when the kid is found (and then stops looking). */
static void scan_keys(const sp_jwks *set, const jwt_header *hdr, key_list *out, bool *kid_found,
                      jwt_alg *kid_alg) {
    for (size_t i = 0; i < set->count && !*kid_found; i++) {
        const sp_jwks_key *key = &set->keys[i];
        if (hdr->kid) {
            if (!key->kid || strcmp(key->kid, hdr->kid) != 0) continue;
            *kid_found = true;
            *kid_alg = key_alg(key);
        }
        if (key_alg(key) != hdr->alg || out->count == KEY_LIST_MAX) continue;
        EVP_PKEY_up_ref(key->pkey);
        out->pkeys[out->count++] = key->pkey;
    }
}

/* Collects the keys for hdr from the file, then from the fetched set. */
static void lookup_keys(sp_jwt_verifier *v, const jwt_header *hdr, key_list *out, bool *kid_found,
                        jwt_alg *kid_alg) {
    out->count = 0;
    *kid_found = false;
    scan_keys(&v->file_keys, hdr, out, kid_found, kid_alg);
    pthread_mutex_lock(&v->keys_lock);
    scan_keys(&v->fetched_keys, hdr, out, kid_found, kid_alg);
    pthread_mutex_unlock(&v->keys_lock);
}

/* Drops the references held by keys. */
static void release_keys(key_list *keys) {
    for (size_t i = 0; i < keys->count; i++)
        EVP_PKEY_free(keys->pkeys[i]);
    keys->count = 0;
}

/* Finds the JWKS keys for an ES256 or RS256 token, refetching the set once on
 * an unknown kid. An HS256 token gets no keys, and is rejected when its kid
 * names a JWKS key (which implies another algorithm). */
static int find_keys(sp_jwt_verifier *v, const jwt_header *hdr, key_list *out, sp_err *err) {
    bool kid_found = false;
    jwt_alg kid_alg = hdr->alg;
    if (hdr->alg == JWT_HS256 && !hdr->kid) return 0;
    lookup_keys(v, hdr, out, &kid_found, &kid_alg);
    if (hdr->kid && !kid_found && hdr->alg != JWT_HS256 && v->jwks_url) {
        refetch_keys(v);
        release_keys(out);
        lookup_keys(v, hdr, out, &kid_found, &kid_alg);
    }
    if (kid_found && kid_alg != hdr->alg) {
        release_keys(out);
        return invalid(err, "token algorithm does not match its key");
    }
    if (hdr->alg == JWT_HS256) return 0;
    if (hdr->kid && !kid_found) return invalid(err, "unknown key id");
    if (out->count == 0) return invalid(err, "no key for the token's algorithm");
    return 0;
}

/* This thread's copy of v's HS256 template (made on first use); NULL when
 * out of memory. */
static EVP_MAC_CTX *thread_hmac(sp_jwt_verifier *v) {
    static _Thread_local struct {
        unsigned long id;
        EVP_MAC_CTX *ctx;
    } mine;
    if (mine.id == v->id) return mine.ctx;
    hmac_copy *c = malloc(sizeof *c);
    if (!c) return NULL;
    pthread_mutex_lock(&v->hmac_lock);
    c->ctx = EVP_MAC_CTX_dup(v->hmac_template);
    if (c->ctx) {
        c->next = v->hmac_copies;
        v->hmac_copies = c;
    }
    pthread_mutex_unlock(&v->hmac_lock);
    if (!c->ctx) {
        free(c);
        return NULL;
    }
    mine.id = v->id;
    mine.ctx = c->ctx;
    return c->ctx;
}

/* Checks an HS256 signature with the configured secret, in constant time. */
static int verify_hs256(sp_jwt_verifier *v, const char *input, size_t input_len,
                        const unsigned char *sig, size_t sig_len, sp_err *err) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    if (!v->secret) return invalid(err, "HS256 tokens are not accepted");
    EVP_MAC_CTX *ctx = thread_hmac(v);
    /* init without a key starts over with the template's key */
    if (!ctx || EVP_MAC_init(ctx, NULL, 0, NULL) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)input, input_len) != 1 ||
        EVP_MAC_final(ctx, mac, &mac_len, sizeof mac) != 1)
        return sp_err_set(err, SP_ERR_INTERNAL, "internal_error", "HMAC failed");
    if (sig_len != mac_len || CRYPTO_memcmp(mac, sig, mac_len) != 0)
        return invalid(err, "bad signature");
    return 0;
}

/* Converts a JWS ES256 signature (r || s, 32 bytes each) to the DER form
 * OpenSSL verifies; *der is freed with OPENSSL_free. */
static int es256_to_der(const unsigned char *sig, size_t sig_len, unsigned char **der,
                        size_t *der_len) {
    int rc = -1;
    ECDSA_SIG *es = NULL;
    BIGNUM *r = NULL, *s = NULL;
    *der = NULL;
    if (sig_len != 64) goto done;
    r = BN_bin2bn(sig, 32, NULL);
    s = BN_bin2bn(sig + 32, 32, NULL);
    if (!r || !s || !(es = ECDSA_SIG_new()) || !ECDSA_SIG_set0(es, r, s)) goto done;
    r = s = NULL; /* es owns them now */
    int n = i2d_ECDSA_SIG(es, der);
    if (n <= 0) goto done;
    *der_len = (size_t)n;
    rc = 0;
done:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return rc;
}

/* True when sig is a valid SHA-256 signature of input by pkey. */
static bool verify_with_pkey(EVP_PKEY *pkey, const char *input, size_t input_len,
                             const unsigned char *sig, size_t sig_len) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
              EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)input, input_len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* Checks the signature of an ES256 or RS256 token against each of keys. */
static int verify_with_keys(const key_list *keys, jwt_alg alg, const char *input, size_t input_len,
                            const unsigned char *sig, size_t sig_len, sp_err *err) {
    unsigned char *der = NULL;
    size_t der_len = 0;
    bool ok = false;
    if (alg == JWT_ES256) {
        if (es256_to_der(sig, sig_len, &der, &der_len) < 0) goto done;
        sig = der;
        sig_len = der_len;
    }
    for (size_t i = 0; i < keys->count && !ok; i++)
        ok = verify_with_pkey(keys->pkeys[i], input, input_len, sig, sig_len);
done:
    OPENSSL_free(der);
    return ok ? 0 : invalid(err, "bad signature");
}

/* Verifies the signature of the token cut into p, with the key hdr may use. */
static int verify_signature(sp_jwt_verifier *v, const jwt_header *hdr, const jwt_parts *p,
                            sp_err *err) {
    int rc = -1;
    unsigned char *sig = NULL;
    size_t sig_len = 0;
    key_list keys = {.count = 0};
    const char *input = p->header;
    size_t input_len = p->header_len + 1 + p->payload_len;
    sp_err why;
    sp_err_clear(&why);
    if (sp_b64url_decode(p->sig, p->sig_len, &sig, &sig_len, &why) < 0) {
        invalid_unless_oom(err, &why, "token signature is not valid base64url");
        goto done;
    }
    if (find_keys(v, hdr, &keys, err) < 0) goto done;
    if (hdr->alg == JWT_HS256)
        rc = verify_hs256(v, input, input_len, sig, sig_len, err);
    else
        rc = verify_with_keys(&keys, hdr->alg, input, input_len, sig, sig_len, err);
done:
    release_keys(&keys);
    free(sig);
    return rc;
}

/* Reads the optional numeric claim name into *value; *present says if it was
 * there. Integers and fractions are both accepted, infinities are not. */
static int number_claim(const cJSON *payload, const char *name, double *value, bool *present,
                        sp_err *err) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(payload, name);
    *present = item != NULL;
    if (!item) return 0;
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble)) {
        char msg[64];
        snprintf(msg, sizeof msg, "token %s is not a number", name);
        return invalid(err, msg);
    }
    *value = item->valuedouble;
    return 0;
}

/* Checks times (exp, nbf when present) against now, with leeway: for a
 * token verified now and for one found in the cache alike. */
static int times_allow(const sp_jwt_times *t, time_t now, sp_err *err) {
    if ((double)now >= t->exp + JWT_LEEWAY) return invalid(err, "token expired");
    if (t->has_nbf && t->nbf > (double)now + JWT_LEEWAY) return invalid(err, "token not yet valid");
    return 0;
}

/* Reads exp (required) and nbf (when present) into *t and checks them. */
static int check_times(const cJSON *payload, time_t now, sp_jwt_times *t, sp_err *err) {
    bool has_exp = false;
    *t = (sp_jwt_times){0};
    if (number_claim(payload, "exp", &t->exp, &has_exp, err) < 0 ||
        number_claim(payload, "nbf", &t->nbf, &t->has_nbf, err) < 0)
        return -1;
    if (!has_exp) return invalid(err, "token has no expiry (exp)");
    return times_allow(t, now, err);
}

/* Checks that aud is the audience, or an array containing it. */
static int check_audience(const cJSON *payload, const char *audience, sp_err *err) {
    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(payload, "aud");
    if (cJSON_IsString(aud) && strcmp(aud->valuestring, audience) == 0) return 0;
    if (cJSON_IsArray(aud)) {
        const cJSON *item;
        cJSON_ArrayForEach(item, aud) {
            if (cJSON_IsString(item) && strcmp(item->valuestring, audience) == 0) return 0;
        }
    }
    return invalid(err, "wrong audience");
}

/* True when the claim name is the string want. */
static bool claim_equals(const cJSON *payload, const char *name, const char *want) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(payload, name);
    return cJSON_IsString(item) && strcmp(item->valuestring, want) == 0;
}

/* Checks every claim of a signed payload and fills out->sub and *times. */
static int check_claims(const sp_jwt_verifier *v, const cJSON *payload, time_t now,
                        sp_jwt_claims *out, sp_jwt_times *times, sp_err *err) {
    if (check_times(payload, now, times, err) < 0) return -1;
    if (check_audience(payload, v->audience, err) < 0) return -1;
    if (v->issuer && !claim_equals(payload, "iss", v->issuer)) return invalid(err, "wrong issuer");
    if (!claim_equals(payload, "role", "authenticated"))
        return invalid(err, "token role is not authenticated");
    const cJSON *anonymous = cJSON_GetObjectItemCaseSensitive(payload, "is_anonymous");
    if (anonymous && !cJSON_IsBool(anonymous))
        return invalid(err, "token is_anonymous is not a boolean");
    if (cJSON_IsTrue(anonymous) && !v->allow_anonymous)
        return invalid(err, "anonymous sign-ins may not post: sign in with an account");
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(payload, "sub");
    if (!sub) return invalid(err, "token has no subject (sub)");
    if (!cJSON_IsString(sub) || !sp_uuid_normalize(sub->valuestring, out->sub))
        return invalid(err, "token subject is not a UUID");
    return 0;
}

int sp_jwt_verify(sp_jwt_verifier *v, const char *token, time_t now, sp_jwt_claims *out,
                  sp_err *err) {
    int rc = -1;
    cJSON *header = NULL, *payload = NULL;
    char *payload_text = NULL;
    jwt_parts parts = {NULL, NULL, NULL, 0, 0, 0};
    jwt_header hdr = {JWT_HS256, NULL};
    sp_jwt_times times;
    memset(out, 0, sizeof *out);
    if (!v || !token) {
        invalid(err, "missing token");
        goto done;
    }
    size_t len = strnlen(token, JWT_MAX_TOKEN + 1);
    unsigned long gen = atomic_load(&v->keys_gen); /* before the keys are looked at */
    if (len <= JWT_MAX_TOKEN && sp_jwt_cache_get(v->cache, token, len, gen, out, &times)) {
        rc = times_allow(&times, now, err);
        goto done;
    }
    if (split_token(token, &parts, err) < 0 ||
        decode_json_part(parts.header, parts.header_len, "header", &header, NULL, err) < 0 ||
        read_header(header, &hdr, err) < 0 || verify_signature(v, &hdr, &parts, err) < 0)
        goto done;
    if (decode_json_part(parts.payload, parts.payload_len, "payload", &payload, &payload_text,
                         err) < 0 ||
        check_claims(v, payload, now, out, &times, err) < 0)
        goto done;
    out->claims_json = payload_text;
    payload_text = NULL;
    sp_jwt_cache_put(v->cache, token, len, gen, out, &times);
    rc = 0;
done:
    if (rc < 0) sp_jwt_claims_clear(out);
    free(payload_text);
    cJSON_Delete(header);
    cJSON_Delete(payload);
    return rc;
}

unsigned long sp_jwt_verifier_cache_hits(sp_jwt_verifier *v) {
    return v ? sp_jwt_cache_hits(v->cache) : 0;
}

void sp_jwt_claims_clear(sp_jwt_claims *claims) {
    if (!claims) return;
    free(claims->claims_json);
    claims->claims_json = NULL;
    claims->sub[0] = '\0';
}
