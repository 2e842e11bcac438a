/*
 * test_jwt: tokens made here with OpenSSL, from keys generated at test time,
 * against verifiers configured as in production: an HS256 secret, a JWKS file
 * written to a temporary path, and SUPABASE_URL pointing at 127.0.0.1 (an
 * unused port, or a JWKS server run by a thread of this test). Nothing is sent
 * anywhere but 127.0.0.1.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth/jwt.h"
#include "check.h"
#include "core/base64url.h"

#define NOW ((time_t)1700000000)
#define USER_ID "3F2504E0-4F89-11D3-9A0C-0305E82C3301"
#define USER_ID_LOWER "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
#define SECRET "super-secret-jwt-token-with-at-least-32-characters-long"
#define HS256_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define ES256_HEADER "{\"alg\":\"ES256\",\"kid\":\"ec-1\",\"typ\":\"JWT\"}"
#define RS256_HEADER "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"typ\":\"JWT\"}"

static EVP_PKEY *ec_key, *ec_key_2, *rsa_key;
static char jwks_path[] = "/tmp/test_jwt_jwks_XXXXXX";

/* How make_token signs: HS256 with a byte string, ES256/RS256 with a key, or
 * not at all (an empty signature). */
typedef enum { SIGN_HMAC, SIGN_ES256, SIGN_RS256, SIGN_NONE } sign_kind;

/* base64url of the len bytes at p; caller frees. */
static char *b64(const void *p, size_t len) {
    return sp_b64url_encode(p, len);
}

/* a + b + c in new memory; caller frees. */
static char *join3(const char *a, const char *b, const char *c) {
    size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
    char *s = malloc(n);
    snprintf(s, n, "%s%s%s", a, b, c);
    return s;
}

/* Signs input with pkey and SHA-256; ES256 signatures come out as JWS r || s. */
static char *sign_with_pkey(EVP_PKEY *pkey, bool es256, const char *input) {
    unsigned char der[1024], raw[64];
    size_t der_len = sizeof der;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey);
    EVP_DigestSign(ctx, der, &der_len, (const unsigned char *)input, strlen(input));
    EVP_MD_CTX_free(ctx);
    if (!es256) return b64(der, der_len);
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG_get0(sig, &r, &s);
    BN_bn2binpad(r, raw, 32);
    BN_bn2binpad(s, raw + 32, 32);
    ECDSA_SIG_free(sig);
    return b64(raw, sizeof raw);
}

/* A compact JWS of the header and payload texts; caller frees. key is the
 * HMAC secret (key_len bytes) or an EVP_PKEY. */
static char *make_token(const char *header, const char *payload, sign_kind kind, const void *key,
                        size_t key_len) {
    char *h = b64(header, strlen(header)), *p = b64(payload, strlen(payload));
    char *input = join3(h, ".", p), *sig = NULL;
    unsigned char mac[32];
    unsigned int mac_len = 0;
    if (kind == SIGN_HMAC) {
        HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)input, strlen(input), mac,
             &mac_len);
        sig = b64(mac, mac_len);
    } else if (kind == SIGN_NONE) {
        sig = b64("", 0);
    } else {
        sig = sign_with_pkey((EVP_PKEY *)key, kind == SIGN_ES256, input);
    }
    char *token = join3(input, ".", sig);
    free(h);
    free(p);
    free(input);
    free(sig);
    return token;
}

/* The claims of a normal Supabase access token, changed by the members of
 * changes (a JSON object; a null member removes the claim). Caller frees. */
static char *claims(const char *changes) {
    cJSON *c = cJSON_CreateObject(), *diff = cJSON_Parse(changes ? changes : "{}"), *item;
    cJSON_AddStringToObject(c, "aud", "authenticated");
    cJSON_AddNumberToObject(c, "exp", (double)(NOW + 3600));
    cJSON_AddNumberToObject(c, "iat", (double)NOW);
    cJSON_AddStringToObject(c, "sub", USER_ID);
    cJSON_AddStringToObject(c, "email", "user@example.com");
    cJSON_AddStringToObject(c, "role", "authenticated");
    cJSON_ArrayForEach(item, diff) {
        cJSON_DeleteItemFromObjectCaseSensitive(c, item->string);
        if (!cJSON_IsNull(item)) cJSON_AddItemToObject(c, item->string, cJSON_Duplicate(item, 1));
    }
    char *text = cJSON_PrintUnformatted(c);
    cJSON_Delete(c);
    cJSON_Delete(diff);
    return text;
}

/* An HS256 token signed with SECRET carrying claims(changes). */
static char *hs256(const char *changes) {
    char *payload = claims(changes);
    char *token = make_token(HS256_HEADER, payload, SIGN_HMAC, SECRET, strlen(SECRET));
    free(payload);
    return token;
}

/* A token with header signed by pkey (ES256 or RS256) carrying claims(changes). */
static char *signed_by(EVP_PKEY *pkey, sign_kind kind, const char *header, const char *changes) {
    char *payload = claims(changes);
    char *token = make_token(header, payload, kind, pkey, 0);
    free(payload);
    return token;
}

/* True when v accepts token (freed here); out receives the claims. */
static bool accepts(sp_jwt_verifier *v, char *token, sp_jwt_claims *out) {
    sp_err err;
    sp_err_clear(&err);
    int rc = sp_jwt_verify(v, token, NOW, out, &err);
    if (rc != 0) fprintf(stderr, "  rejected: %s (%s)\n", err.msg, err.code);
    free(token);
    return rc == 0 && out->claims_json != NULL;
}

/* True when v accepts token (freed here) for user USER_ID. */
static bool accepts_user(sp_jwt_verifier *v, char *token) {
    sp_jwt_claims out;
    bool ok = accepts(v, token, &out) && strcmp(out.sub, USER_ID_LOWER) == 0;
    sp_jwt_claims_clear(&out);
    return ok;
}

/* True when v rejects token (freed here) as an invalid token with a message
 * containing why, leaves no claims, and does not echo the token. */
static bool rejects(sp_jwt_verifier *v, char *token, const char *why) {
    sp_err err;
    sp_err_clear(&err);
    sp_jwt_claims out;
    int rc = sp_jwt_verify(v, token, NOW, &out, &err);
    bool ok = rc == -1 && err.kind == SP_ERR_UNAUTHORIZED &&
              strcmp(err.code, "invalid_token") == 0 && strstr(err.msg, why) != NULL &&
              out.claims_json == NULL && out.sub[0] == '\0' &&
              (strlen(token) < 8 || strstr(err.msg, token) == NULL);
    if (!ok)
        fprintf(stderr, "  expected rejection \"%s\", got rc %d: %s (%s)\n", why, rc,
                rc ? err.msg : "accepted", err.code);
    sp_jwt_claims_clear(&out);
    free(token);
    return ok;
}

/* A verifier from the given key sources (NULL = unset); err may be NULL. */
static sp_jwt_verifier *verifier(const char *secret, const char *jwks_file, const char *url,
                                 sp_err *err) {
    sp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.jwt_secret = (char *)secret;
    cfg.jwks_file = (char *)jwks_file;
    cfg.supabase_url = (char *)url;
    cfg.jwt_audience = (char *)"authenticated";
    return sp_jwt_verifier_new(&cfg, err);
}

/* The BIGNUM parameter name of pkey as base64url, left-padded to pad bytes
 * (0: minimal length). Caller frees. */
static char *bn_param_b64(EVP_PKEY *pkey, const char *name, int pad) {
    BIGNUM *bn = NULL;
    unsigned char buf[512];
    EVP_PKEY_get_bn_param(pkey, name, &bn);
    int len = pad ? pad : BN_num_bytes(bn);
    BN_bn2binpad(bn, buf, len);
    BN_free(bn);
    return b64(buf, (size_t)len);
}

/* Adds the public JWK of pkey (EC P-256 or RSA) to keys; kid may be NULL. */
static void add_jwk(cJSON *keys, EVP_PKEY *pkey, const char *kid) {
    cJSON *jwk = cJSON_CreateObject();
    bool ec = EVP_PKEY_is_a(pkey, "EC");
    const char *names[2] = {ec ? OSSL_PKEY_PARAM_EC_PUB_X : OSSL_PKEY_PARAM_RSA_N,
                            ec ? OSSL_PKEY_PARAM_EC_PUB_Y : OSSL_PKEY_PARAM_RSA_E};
    cJSON_AddStringToObject(jwk, "kty", ec ? "EC" : "RSA");
    if (ec) cJSON_AddStringToObject(jwk, "crv", "P-256");
    for (int i = 0; i < 2; i++) {
        char *value = bn_param_b64(pkey, names[i], ec ? 32 : 0);
        cJSON_AddStringToObject(jwk, ec ? (i ? "y" : "x") : (i ? "e" : "n"), value);
        free(value);
    }
    if (kid) cJSON_AddStringToObject(jwk, "kid", kid);
    cJSON_AddStringToObject(jwk, "use", "sig");
    cJSON_AddItemToArray(keys, jwk);
}

/* A JWKS text with the public parts of the n keys (kids[i] may be NULL).
 * Caller frees. */
static char *jwks_text(EVP_PKEY **pkeys, const char **kids, int n) {
    cJSON *doc = cJSON_CreateObject(), *keys = cJSON_AddArrayToObject(doc, "keys");
    for (int i = 0; i < n; i++)
        add_jwk(keys, pkeys[i], kids[i]);
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    return text;
}

/* Replaces the file at path with text. */
static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* The PEM text of the RSA public key, as an attacker would download it. */
static char *rsa_public_pem(void) {
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    PEM_write_bio_PUBKEY(bio, rsa_key);
    long len = BIO_get_mem_data(bio, &data);
    char *pem = strndup(data, (size_t)len);
    BIO_free(bio);
    return pem;
}

/* A port on 127.0.0.1 that nothing listens on (bound, then released). */
static int unused_port(void) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof addr;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&addr, &len) == 0);
    close(fd);
    return ntohs(addr.sin_port);
}

/* ---- a JWKS server on 127.0.0.1, answering every request with body ---- */

typedef struct {
    int fd, port;
    pthread_t thread;
    pthread_mutex_t lock; /* guards the fields below */
    char *body;           /* the JWKS served */
    int requests;         /* requests answered so far */
    bool stop;
} jwks_server;

/* Reads one request from c and answers it with the current body. */
static void answer(jwks_server *s, int c) {
    char req[8192], head[256];
    size_t got = 0;
    while (got < sizeof req - 1) {
        ssize_t n = read(c, req + got, sizeof req - 1 - got);
        if (n <= 0) break;
        got += (size_t)n;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n")) break;
    }
    pthread_mutex_lock(&s->lock);
    s->requests++;
    char *body = strdup(s->body);
    pthread_mutex_unlock(&s->lock);
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     strlen(body));
    if (write(c, head, (size_t)n) < 0 || write(c, body, strlen(body)) < 0) perror("write");
    free(body);
    close(c);
}

/* The server thread: accepts until stop is set. */
static void *serve(void *arg) {
    jwks_server *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        bool stop = s->stop;
        pthread_mutex_unlock(&s->lock);
        if (stop) break;
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        if (poll(&pfd, 1, 50) != 1) continue;
        int c = accept(s->fd, NULL, NULL);
        if (c >= 0) answer(s, c);
    }
    return NULL;
}

/* Starts a server on 127.0.0.1 serving body (copied). */
static void server_start(jwks_server *s, const char *body) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof addr;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    s->body = strdup(body);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(bind(s->fd, (struct sockaddr *)&addr, sizeof addr) == 0);
    CHECK(listen(s->fd, 16) == 0);
    CHECK(getsockname(s->fd, (struct sockaddr *)&addr, &len) == 0);
    s->port = ntohs(addr.sin_port);
    pthread_create(&s->thread, NULL, serve, s);
}

/* Serves body (copied) from now on. */
static void server_set_body(jwks_server *s, const char *body) {
    pthread_mutex_lock(&s->lock);
    free(s->body);
    s->body = strdup(body);
    pthread_mutex_unlock(&s->lock);
}

/* The number of requests answered so far. */
static int server_requests(jwks_server *s) {
    pthread_mutex_lock(&s->lock);
    int n = s->requests;
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* Stops the server and frees what it holds. */
static void server_stop(jwks_server *s) {
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    close(s->fd);
    free(s->body);
    pthread_mutex_destroy(&s->lock);
}

/* The claims(changes) that set iss to url + path; caller frees. */
static char *iss_changes(const char *url, const char *path) {
    char *prefix = join3("{\"iss\":\"", url, path), *changes = join3(prefix, "\"}", "");
    free(prefix);
    return changes;
}

/* Starts server serving body and returns a verifier for SECRET (or none), the
 * JWKS file, and SUPABASE_URL at the server. *iss gets the claims(changes)
 * giving a token the issuer that verifier wants (caller frees). */
static sp_jwt_verifier *verifier_with_server(jwks_server *server, const char *body,
                                             const char *secret, char **iss) {
    char url[64];
    server_start(server, body);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", server->port);
    *iss = iss_changes(url, "/auth/v1");
    return verifier(secret, jwks_path, url, NULL);
}

/* ---- the tests ---- */

static void valid_hs256_token_is_accepted_with_sub_in_lower_case(sp_jwt_verifier *v) {
    sp_jwt_claims out;
    char *payload = claims(NULL);
    CHECK(accepts(v, make_token(HS256_HEADER, payload, SIGN_HMAC, SECRET, strlen(SECRET)), &out));
    CHECK_STR(out.sub, USER_ID_LOWER);
    CHECK_STR(out.claims_json, payload);
    sp_jwt_claims_clear(&out);
    CHECK(out.claims_json == NULL);
    free(payload);
}

static void claims_json_is_the_payload_exactly_as_sent(sp_jwt_verifier *v) {
    const char *payload = "{ \"sub\" : \"" USER_ID "\", \"role\":\"authenticated\",\n"
                          "  \"aud\":\"authenticated\", \"exp\": 1700003600.5,"
                          " \"name\":\"J\\u00f6rg \\\"x\\\"\", \"app_metadata\":{\"a\":[1,2]} }";
    sp_jwt_claims out;
    CHECK(accepts(v, make_token(HS256_HEADER, payload, SIGN_HMAC, SECRET, strlen(SECRET)), &out));
    CHECK_STR(out.claims_json, payload);
    sp_jwt_claims_clear(&out);
}

static void valid_es256_and_rs256_tokens_are_accepted(sp_jwt_verifier *v) {
    sp_jwt_claims out;
    char *payload = claims("{\"session_id\":\"abc\"}");
    CHECK(accepts(v, make_token(ES256_HEADER, payload, SIGN_ES256, ec_key, 0), &out));
    CHECK_STR(out.sub, USER_ID_LOWER);
    CHECK_STR(out.claims_json, payload);
    sp_jwt_claims_clear(&out);
    CHECK(accepts(v, make_token(RS256_HEADER, payload, SIGN_RS256, rsa_key, 0), &out));
    CHECK_STR(out.sub, USER_ID_LOWER);
    CHECK_STR(out.claims_json, payload);
    sp_jwt_claims_clear(&out);
    free(payload);
}

static void token_without_kid_is_tried_against_every_key_of_its_type(sp_jwt_verifier *v) {
    CHECK(accepts_user(v, signed_by(ec_key, SIGN_ES256, "{\"alg\":\"ES256\"}", NULL)));
    CHECK(accepts_user(v, signed_by(ec_key_2, SIGN_ES256, "{\"alg\":\"ES256\"}", NULL)));
    CHECK(accepts_user(v, signed_by(rsa_key, SIGN_RS256, "{\"alg\":\"RS256\"}", NULL)));
}

static void token_signed_by_another_key_than_its_kid_is_rejected(sp_jwt_verifier *v) {
    /* ec_key_2 is in the JWKS too, without a kid: the kid ec-1 selects ec_key alone. */
    CHECK(rejects(v, signed_by(ec_key_2, SIGN_ES256, ES256_HEADER, NULL), "bad signature"));
}

static void expired_token_is_rejected_after_the_leeway(sp_jwt_verifier *v) {
    CHECK(rejects(v, hs256("{\"exp\":1699999969}"), "token expired"));
    CHECK(rejects(v, hs256("{\"exp\":1000}"), "token expired"));
    CHECK(accepts_user(v, hs256("{\"exp\":1699999990}")));    /* 10 s ago: within leeway */
    CHECK(accepts_user(v, hs256("{\"exp\":1700000100.75}"))); /* a float */
    CHECK(rejects(v, hs256("{\"exp\":null}"), "no expiry"));
    CHECK(rejects(v, hs256("{\"exp\":\"1800000000\"}"), "exp is not a number"));
    CHECK(rejects(v, hs256("{\"exp\":true}"), "exp is not a number"));
}

static void token_not_yet_valid_is_rejected(sp_jwt_verifier *v) {
    CHECK(rejects(v, hs256("{\"nbf\":1700000120}"), "token not yet valid"));
    CHECK(accepts_user(v, hs256("{\"nbf\":1700000010}"))); /* 10 s ahead: within leeway */
    CHECK(accepts_user(v, hs256("{\"nbf\":1699999000.5}")));
    CHECK(rejects(v, hs256("{\"nbf\":\"soon\"}"), "nbf is not a number"));
}

static void audience_must_be_the_configured_one_or_an_array_with_it(sp_jwt_verifier *v) {
    CHECK(rejects(v, hs256("{\"aud\":\"other-app\"}"), "wrong audience"));
    CHECK(rejects(v, hs256("{\"aud\":\"Authenticated\"}"), "wrong audience"));
    CHECK(rejects(v, hs256("{\"aud\":null}"), "wrong audience"));
    CHECK(rejects(v, hs256("{\"aud\":[\"other-app\"]}"), "wrong audience"));
    CHECK(rejects(v, hs256("{\"aud\":[]}"), "wrong audience"));
    CHECK(accepts_user(v, hs256("{\"aud\":[\"other-app\",\"authenticated\"]}")));
}

static void only_the_authenticated_role_is_accepted(sp_jwt_verifier *v) {
    CHECK(rejects(v, hs256("{\"role\":\"anon\"}"), "role is not authenticated"));
    CHECK(rejects(v, hs256("{\"role\":\"service_role\"}"), "role is not authenticated"));
    CHECK(rejects(v, hs256("{\"role\":null}"), "role is not authenticated"));
    CHECK(rejects(v, hs256("{\"role\":[\"authenticated\"]}"), "role is not authenticated"));
}

static void sub_must_be_a_uuid(sp_jwt_verifier *v) {
    CHECK(rejects(v, hs256("{\"sub\":null}"), "no subject"));
    CHECK(rejects(v, hs256("{\"sub\":\"not-a-uuid\"}"), "not a UUID"));
    CHECK(rejects(v, hs256("{\"sub\":\"" USER_ID " \"}"), "not a UUID"));
    CHECK(rejects(v, hs256("{\"sub\":42}"), "not a UUID"));
}

/* token with one character in the middle of its signature changed. */
static char *tampered(char *token) {
    char *c = strrchr(token, '.') + 10;
    *c = *c == 'A' ? 'B' : 'A';
    return token;
}

static void bad_signature_is_rejected(sp_jwt_verifier *v) {
    CHECK(rejects(v, tampered(hs256(NULL)), "bad signature"));
    CHECK(rejects(v, tampered(signed_by(ec_key, SIGN_ES256, ES256_HEADER, NULL)), "bad signature"));
    CHECK(
        rejects(v, tampered(signed_by(rsa_key, SIGN_RS256, RS256_HEADER, NULL)), "bad signature"));
    char *payload = claims(NULL);
    CHECK(rejects(v, make_token(HS256_HEADER, payload, SIGN_HMAC, "wrong", 5), "bad signature"));
    free(payload);
    /* a good signature on other claims: the payload swapped under it */
    char *a = hs256(NULL), *b = hs256("{\"sub\":\"00000000-0000-0000-0000-000000000000\"}");
    char *a_sig = strrchr(a, '.'), *b_sig = strrchr(b, '.');
    memcpy(b_sig, a_sig, strlen(a_sig) + 1);
    CHECK(rejects(v, b, "bad signature"));
    free(a);
    /* an ES256 signature of the wrong length */
    char *es = signed_by(ec_key, SIGN_ES256, ES256_HEADER, NULL);
    CHECK(rejects(v, join3(es, "AAAA", ""), "bad signature"));
    free(es);
}

static void alg_none_is_rejected_in_any_case(sp_jwt_verifier *v) {
    const char *headers[] = {"{\"alg\":\"none\"}", "{\"alg\":\"NONE\",\"typ\":\"JWT\"}",
                             "{\"alg\":\"nOnE\",\"kid\":\"ec-1\"}"};
    char *payload = claims(NULL);
    for (int i = 0; i < 3; i++) {
        CHECK(rejects(v, make_token(headers[i], payload, SIGN_NONE, NULL, 0), "alg none"));
        CHECK(rejects(v, make_token(headers[i], payload, SIGN_HMAC, SECRET, strlen(SECRET)),
                      "alg none"));
    }
    free(payload);
}

static void hs256_signed_with_the_rsa_public_key_is_rejected(sp_jwt_verifier *v) {
    char *pem = rsa_public_pem(), *payload = claims(NULL);
    const char *with_kid = "{\"alg\":\"HS256\",\"kid\":\"rsa-1\",\"typ\":\"JWT\"}";
    CHECK(rejects(v, make_token(HS256_HEADER, payload, SIGN_HMAC, pem, strlen(pem)),
                  "bad signature"));
    CHECK(rejects(v, make_token(with_kid, payload, SIGN_HMAC, pem, strlen(pem)),
                  "does not match its key"));
    /* the secret does not make an HS256 token good when its kid names an RSA key */
    CHECK(rejects(v, make_token(with_kid, payload, SIGN_HMAC, SECRET, strlen(SECRET)),
                  "does not match its key"));
    sp_jwt_verifier *jwks_only = verifier(NULL, jwks_path, NULL, NULL);
    CHECK(jwks_only != NULL);
    CHECK(rejects(jwks_only, make_token(HS256_HEADER, payload, SIGN_HMAC, pem, strlen(pem)),
                  "HS256 tokens are not accepted"));
    CHECK(rejects(jwks_only, make_token(HS256_HEADER, payload, SIGN_HMAC, "", 0),
                  "HS256 tokens are not accepted"));
    CHECK(accepts_user(jwks_only, signed_by(ec_key, SIGN_ES256, ES256_HEADER, NULL)));
    sp_jwt_verifier_free(jwks_only);
    free(pem);
    free(payload);
}

static void header_alg_must_match_the_key_of_its_kid(sp_jwt_verifier *v) {
    const char *es_on_rsa = "{\"alg\":\"ES256\",\"kid\":\"rsa-1\"}";
    const char *rs_on_ec = "{\"alg\":\"RS256\",\"kid\":\"ec-1\"}";
    CHECK(rejects(v, signed_by(ec_key, SIGN_ES256, es_on_rsa, NULL), "does not match its key"));
    CHECK(rejects(v, signed_by(rsa_key, SIGN_RS256, rs_on_ec, NULL), "does not match its key"));
    CHECK(rejects(v, signed_by(rsa_key, SIGN_RS256, "{\"alg\":\"PS256\",\"kid\":\"rsa-1\"}", NULL),
                  "unsupported token algorithm"));
}

static void unknown_kid_is_rejected(sp_jwt_verifier *v) {
    const char *header = "{\"alg\":\"ES256\",\"kid\":\"no-such-key\"}";
    CHECK(rejects(v, signed_by(ec_key, SIGN_ES256, header, NULL), "unknown key id"));
}

static void jwks_keys_that_cannot_be_used_are_skipped(sp_jwt_verifier *v) {
    /* oct-1 is an HMAC JWK: skipped, so an HS256 token naming it is checked with the secret */
    const char *oct = "{\"alg\":\"HS256\",\"kid\":\"oct-1\"}";
    char *payload = claims(NULL);
    CHECK(accepts_user(v, make_token(oct, payload, SIGN_HMAC, SECRET, strlen(SECRET))));
    CHECK(rejects(v, make_token(oct, payload, SIGN_HMAC, "c2VjcmV0", 8), "bad signature"));
    free(payload);
    CHECK(rejects(v, signed_by(ec_key, SIGN_ES256, "{\"alg\":\"ES256\",\"kid\":\"p384\"}", NULL),
                  "unknown key id"));
    CHECK(rejects(v, signed_by(ec_key, SIGN_ES256, "{\"alg\":\"ES256\",\"kid\":\"ec-rs\"}", NULL),
                  "unknown key id"));
    CHECK(rejects(v, signed_by(ec_key, SIGN_ES256, "{\"alg\":\"ES256\",\"kid\":\"ec-enc\"}", NULL),
                  "unknown key id"));
}

static void malformed_tokens_are_rejected(sp_jwt_verifier *v) {
    char *good = hs256(NULL);
    char *two = strndup(good, (size_t)(strrchr(good, '.') - good));
    CHECK(rejects(v, strdup(""), "empty token"));
    CHECK(rejects(v, strdup("abc"), "three dot-separated parts"));
    CHECK(rejects(v, two, "three dot-separated parts"));
    CHECK(rejects(v, join3(good, ".", "AAAA"), "three dot-separated parts"));
    CHECK(rejects(v, strdup(".."), "header is not a JSON object"));
    CHECK(rejects(v, join3("*", good, ""), "header is not valid base64url"));
    CHECK(rejects(v, join3(good, "*", ""), "signature is not valid base64url"));
    CHECK(rejects(v, join3(" ", good, ""), "header is not valid base64url"));
    CHECK(rejects(v, join3(good, "\n", ""), "signature is not valid base64url"));
    char *huge = malloc(20000);
    memset(huge, 'A', 19999);
    huge[19999] = '\0';
    huge[100] = huge[200] = '.';
    CHECK(rejects(v, huge, "token too long"));
    free(good);
}

static void undecodable_header_or_payload_is_rejected(sp_jwt_verifier *v) {
    const char *s = SECRET;
    size_t n = strlen(SECRET);
    char *payload = claims(NULL);
    CHECK(rejects(v, make_token(HS256_HEADER, "not json", SIGN_HMAC, s, n), "payload is not"));
    CHECK(rejects(v, make_token(HS256_HEADER, "[1,2]", SIGN_HMAC, s, n), "payload is not"));
    CHECK(rejects(v, make_token(HS256_HEADER, "", SIGN_HMAC, s, n), "payload is not"));
    CHECK(rejects(v, make_token(HS256_HEADER, "{\"sub\":\"a\\u0000b\"}", SIGN_HMAC, s, n),
                  "payload is not"));
    CHECK(rejects(v, make_token(HS256_HEADER, "{\"a\":\"\xff\"}", SIGN_HMAC, s, n),
                  "payload is not"));
    CHECK(rejects(v, make_token("[\"HS256\"]", payload, SIGN_HMAC, s, n), "header is not"));
    CHECK(rejects(v, make_token("alg=HS256", payload, SIGN_HMAC, s, n), "header is not"));
    CHECK(rejects(v, make_token("{}", payload, SIGN_HMAC, s, n), "no alg"));
    CHECK(rejects(v, make_token("{\"alg\":256}", payload, SIGN_HMAC, s, n), "no alg"));
    CHECK(rejects(v, make_token("{\"alg\":\"HS512\"}", payload, SIGN_HMAC, s, n),
                  "unsupported token algorithm"));
    CHECK(rejects(v, make_token("{\"alg\":\"HS256\",\"kid\":7}", payload, SIGN_HMAC, s, n),
                  "kid is not a string"));
    CHECK(rejects(v,
                  make_token("{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}", payload,
                             SIGN_HMAC, s, n),
                  "critical"));
    free(payload);
}

/* A payload with a raw NUL byte, signed correctly: the token must still fail. */
static void payload_with_a_nul_byte_is_rejected(sp_jwt_verifier *v) {
    const char raw[] = "{\"sub\":\"" USER_ID "\",\"x\":\"a\0b\"}";
    char *h = b64(HS256_HEADER, strlen(HS256_HEADER)), *p = b64(raw, sizeof raw - 1);
    char *input = join3(h, ".", p);
    unsigned char mac[32];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)input, strlen(input),
         mac, &mac_len);
    char *sig = b64(mac, mac_len);
    CHECK(rejects(v, join3(input, ".", sig), "payload is not a JSON object"));
    free(h);
    free(p);
    free(input);
    free(sig);
}

static void repeated_member_names_are_rejected(sp_jwt_verifier *v) {
    const char *s = SECRET;
    size_t n = strlen(SECRET);
    /* the C code reads the first sub, Postgres's jsonb the last: never both */
    const char *two_subs = "{\"sub\":\"" USER_ID "\",\"aud\":\"authenticated\","
                           "\"role\":\"authenticated\",\"exp\":1700003600,"
                           "\"sub\":\"00000000-0000-4000-8000-000000000002\"}";
    CHECK(rejects(v, make_token(HS256_HEADER, two_subs, SIGN_HMAC, s, n), "payload is not"));
    char *payload = claims("{\"app_metadata\":{\"provider\":\"email\"}}");
    char *nested = malloc(strlen(payload) + 64);
    snprintf(nested, strlen(payload) + 64, "%.*s,\"user_metadata\":{\"a\":1,\"a\":2}}",
             (int)strlen(payload) - 1, payload);
    CHECK(rejects(v, make_token(HS256_HEADER, nested, SIGN_HMAC, s, n), "payload is not"));
    CHECK(rejects(v, make_token("{\"alg\":\"HS256\",\"alg\":\"HS256\"}", payload, SIGN_HMAC, s, n),
                  "header is not"));
    CHECK(rejects(
        v, make_token("{\"alg\":\"HS256\",\"kid\":\"a\",\"kid\":\"b\"}", payload, SIGN_HMAC, s, n),
        "header is not"));
    CHECK(accepts_user(v, make_token(HS256_HEADER, payload, SIGN_HMAC, s, n)));
    free(nested);
    free(payload);
}

static void anonymous_sign_ins_are_refused_unless_allowed(sp_jwt_verifier *v) {
    CHECK(rejects(v, hs256("{\"is_anonymous\":true}"), "anonymous sign-ins may not post"));
    CHECK(rejects(v, hs256("{\"is_anonymous\":\"false\"}"), "is_anonymous is not a boolean"));
    CHECK(accepts_user(v, hs256("{\"is_anonymous\":false}")));
    sp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.jwt_secret = (char *)SECRET;
    cfg.jwt_audience = (char *)"authenticated";
    cfg.allow_anonymous_users = true;
    sp_jwt_verifier *open = sp_jwt_verifier_new(&cfg, NULL);
    CHECK(open && accepts_user(open, hs256("{\"is_anonymous\":true}")));
    sp_jwt_verifier_free(open);
}

static void verifier_needs_a_readable_key_source(void) {
    sp_err err;
    sp_err_clear(&err);
    CHECK(verifier(NULL, NULL, NULL, &err) == NULL);
    CHECK(err.kind == SP_ERR_INTERNAL);
    CHECK_STR(err.code, "config");
    CHECK(verifier("", "", "", &err) == NULL);
    CHECK_STR(err.code, "config");
    sp_err_clear(&err);
    CHECK(verifier(SECRET, "/nonexistent/jwks.json", NULL, &err) == NULL);
    CHECK_STR(err.code, "config");
    CHECK(strstr(err.msg, "/nonexistent/jwks.json") != NULL);
    char path[] = "/tmp/test_jwt_bad_XXXXXX";
    close(mkstemp(path));
    const char *bad[] = {"", "not json", "{\"keys\":{}}", "[]", "{\"keys\":[]} x"};
    for (int i = 0; i < 5; i++) {
        write_file(path, bad[i]);
        sp_err_clear(&err);
        CHECK(verifier(SECRET, path, NULL, &err) == NULL);
        CHECK(err.kind == SP_ERR_INTERNAL && strcmp(err.code, "config") == 0);
    }
    write_file(path, "{\"keys\":[]}");
    sp_jwt_verifier *v = verifier(SECRET, path, NULL, &err);
    CHECK(v != NULL);
    CHECK(v && accepts_user(v, hs256(NULL)));
    sp_jwt_verifier_free(v);
    unlink(path);
}

static void issuer_is_checked_when_supabase_url_is_set(void) {
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", unused_port());
    char *iss = iss_changes(url, "/auth/v1"), *wrong = iss_changes(url, "/auth/v2");
    /* the start fetch fails (nothing listens): a warning, not an error */
    sp_jwt_verifier *v = verifier(SECRET, NULL, url, NULL);
    CHECK(v != NULL);
    CHECK(accepts_user(v, hs256(iss)));
    CHECK(rejects(v, hs256(NULL), "wrong issuer"));
    CHECK(rejects(v, hs256(wrong), "wrong issuer"));
    CHECK(rejects(v, hs256("{\"iss\":\"https://evil.example/auth/v1\"}"), "wrong issuer"));
    /* an unknown kid makes it refetch, which fails fast */
    CHECK(rejects(v, signed_by(ec_key, SIGN_ES256, ES256_HEADER, iss), "unknown key id"));
    sp_jwt_verifier_free(v);
    sp_jwt_verifier *url_only = verifier(NULL, NULL, url, NULL);
    CHECK(url_only != NULL);
    CHECK(rejects(url_only, hs256(iss), "HS256 tokens are not accepted"));
    sp_jwt_verifier_free(url_only);
    free(iss);
    free(wrong);
}

static void unknown_kid_refetches_the_jwks_at_most_once_a_minute(void) {
    EVP_PKEY *keys[3] = {ec_key, rsa_key, ec_key_2};
    const char *kids[3] = {"fetched-ec", "fetched-rsa", "fetched-ec-2"};
    char *one = jwks_text(keys, kids, 1), *two = jwks_text(keys, kids, 2);
    char *three = jwks_text(keys, kids, 3), *iss = NULL;
    jwks_server server;
    sp_jwt_verifier *v = verifier_with_server(&server, one, NULL, &iss);
    CHECK(v != NULL);
    CHECK(server_requests(&server) == 1); /* fetched at start */
    const char *h1 = "{\"alg\":\"ES256\",\"kid\":\"fetched-ec\"}";
    const char *h2 = "{\"alg\":\"RS256\",\"kid\":\"fetched-rsa\"}";
    const char *h3 = "{\"alg\":\"ES256\",\"kid\":\"fetched-ec-2\"}";
    CHECK(accepts_user(v, signed_by(ec_key, SIGN_ES256, h1, iss)));
    CHECK(accepts_user(v, signed_by(ec_key, SIGN_ES256, ES256_HEADER, iss))); /* file key */
    CHECK(server_requests(&server) == 1);
    server_set_body(&server, two); /* a key is added: the unknown kid brings it in */
    CHECK(accepts_user(v, signed_by(rsa_key, SIGN_RS256, h2, iss)));
    CHECK(server_requests(&server) == 2);
    server_set_body(&server, three); /* within the minute: no refetch */
    CHECK(rejects(v, signed_by(ec_key_2, SIGN_ES256, h3, iss), "unknown key id"));
    CHECK(rejects(v, signed_by(ec_key_2, SIGN_ES256, h3, iss), "unknown key id"));
    CHECK(server_requests(&server) == 2);
    CHECK(accepts_user(v, signed_by(rsa_key, SIGN_RS256, h2, iss)));
    sp_jwt_verifier_free(v);
    server_stop(&server);
    free(one);
    free(two);
    free(three);
    free(iss);
}

/* ---- tokens accepted lately (jwt_cache.h) ---- */

/* sp_jwt_verify of token (not freed) at now: 0 or -1, with err's message in why. */
static int verify_at(sp_jwt_verifier *v, const char *token, time_t now, char *why, size_t len) {
    sp_err err;
    sp_err_clear(&err);
    sp_jwt_claims out;
    int rc = sp_jwt_verify(v, token, now, &out, &err);
    snprintf(why, len, "%s", rc == 0 ? (out.claims_json ? out.sub : "no claims") : err.msg);
    sp_jwt_claims_clear(&out);
    return rc;
}

static void the_same_token_again_is_not_verified_again(sp_jwt_verifier *v) {
    char *token = hs256("{\"exp\":1700000100,\"email\":\"again@example.test\"}");
    char why[300];
    unsigned long hits = sp_jwt_verifier_cache_hits(v);
    CHECK(verify_at(v, token, NOW, why, sizeof why) == 0 && strcmp(why, USER_ID_LOWER) == 0);
    CHECK(sp_jwt_verifier_cache_hits(v) == hits);
    for (int i = 0; i < 3; i++)
        CHECK(verify_at(v, token, NOW, why, sizeof why) == 0 && strcmp(why, USER_ID_LOWER) == 0);
    CHECK(sp_jwt_verifier_cache_hits(v) == hits + 3);
    /* the claims are the payload, as a full verification gives them */
    sp_jwt_claims out;
    sp_err err;
    CHECK(sp_jwt_verify(v, token, NOW, &out, &err) == 0 && out.claims_json &&
          strstr(out.claims_json, "again@example.test"));
    sp_jwt_claims_clear(&out);
    free(token);
}

static void a_remembered_token_still_expires_and_waits_for_nbf(sp_jwt_verifier *v) {
    char *token = hs256("{\"exp\":1700000100,\"nbf\":1700000020}");
    char why[300];
    CHECK(verify_at(v, token, NOW, why, sizeof why) == 0);
    unsigned long hits = sp_jwt_verifier_cache_hits(v);
    CHECK(verify_at(v, token, NOW + 129, why, sizeof why) == 0); /* within the leeway */
    CHECK(verify_at(v, token, NOW + 130, why, sizeof why) == -1 && strstr(why, "token expired"));
    CHECK(verify_at(v, token, NOW - 11, why, sizeof why) == -1 &&
          strstr(why, "token not yet valid"));
    CHECK(sp_jwt_verifier_cache_hits(v) == hits + 3); /* all three from the cache */
    free(token);
}

static void a_token_like_a_remembered_one_is_verified_in_full(sp_jwt_verifier *v) {
    char *token = hs256("{\"email\":\"tamper@example.test\"}");
    char *copy = strdup(token);
    CHECK(accepts_user(v, token));
    CHECK(rejects(v, tampered(copy), "bad signature")); /* same length, one byte apart */
}

static void a_token_accepted_under_keys_since_replaced_is_verified_afresh(void) {
    EVP_PKEY *keys[2] = {ec_key, rsa_key};
    const char *kids[2] = {"fetched-ec", "fetched-rsa"};
    char *ec_only = jwks_text(keys, kids, 1), *rsa_only = jwks_text(keys + 1, kids + 1, 1);
    char *iss = NULL, why[300];
    jwks_server server;
    sp_jwt_verifier *v = verifier_with_server(&server, ec_only, NULL, &iss);
    CHECK(v != NULL);
    char *ec_token = signed_by(ec_key, SIGN_ES256, "{\"alg\":\"ES256\",\"kid\":\"fetched-ec\"}", iss);
    CHECK(verify_at(v, ec_token, NOW, why, sizeof why) == 0);
    CHECK(verify_at(v, ec_token, NOW, why, sizeof why) == 0); /* remembered */
    /* the key set now lacks fetched-ec: an unknown kid brings it in */
    server_set_body(&server, rsa_only);
    CHECK(accepts_user(v, signed_by(rsa_key, SIGN_RS256,
                                    "{\"alg\":\"RS256\",\"kid\":\"fetched-rsa\"}", iss)));
    CHECK(server_requests(&server) == 2);
    CHECK(verify_at(v, ec_token, NOW, why, sizeof why) == -1 && strstr(why, "unknown key id"));
    sp_jwt_verifier_free(v);
    server_stop(&server);
    free(ec_token);
    free(ec_only);
    free(rsa_only);
    free(iss);
}

/* Arguments and result of one verifying thread. */
typedef struct {
    sp_jwt_verifier *v;
    char *tokens[5];
    int accepted;
} thread_job;

/* Verifies the job's tokens many times; counts acceptances. */
static void *verify_many(void *arg) {
    thread_job *job = arg;
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < 5; i++) {
            sp_jwt_claims out;
            sp_err err;
            if (sp_jwt_verify(job->v, job->tokens[i], NOW, &out, &err) == 0) job->accepted++;
            sp_jwt_claims_clear(&out);
        }
    }
    return NULL;
}

static void threads_share_a_verifier_while_unknown_kids_refetch(void) {
    EVP_PKEY *keys[1] = {ec_key_2};
    const char *kids[1] = {"fetched"};
    char *body = jwks_text(keys, kids, 1), *iss = NULL;
    jwks_server server;
    sp_jwt_verifier *v = verifier_with_server(&server, body, SECRET, &iss);
    CHECK(v != NULL);
    thread_job jobs[4];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        jobs[t] = (thread_job){.v = v, .accepted = 0};
        jobs[t].tokens[0] = hs256(iss);
        jobs[t].tokens[1] = signed_by(ec_key, SIGN_ES256, ES256_HEADER, iss);
        jobs[t].tokens[2] = signed_by(rsa_key, SIGN_RS256, RS256_HEADER, iss);
        jobs[t].tokens[3] =
            signed_by(ec_key_2, SIGN_ES256, "{\"alg\":\"ES256\",\"kid\":\"fetched\"}", iss);
        jobs[t].tokens[4] =
            signed_by(ec_key, SIGN_ES256, "{\"alg\":\"ES256\",\"kid\":\"nowhere\"}", iss);
        pthread_create(&threads[t], NULL, verify_many, &jobs[t]);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        CHECK(jobs[t].accepted == 4 * 40);
        for (int i = 0; i < 5; i++)
            free(jobs[t].tokens[i]);
    }
    CHECK(server_requests(&server) == 2); /* at start, then one refetch for all threads */
    sp_jwt_verifier_free(v);
    server_stop(&server);
    free(body);
    free(iss);
}

/* Writes the JWKS file every verifier of these tests reads. */
static void write_test_jwks(void) {
    EVP_PKEY *keys[3] = {ec_key, rsa_key, ec_key_2};
    const char *kids[3] = {"ec-1", "rsa-1", NULL};
    const char *unusable =
        "[{\"kty\":\"oct\",\"kid\":\"oct-1\",\"k\":\"c2VjcmV0\",\"alg\":\"HS256\"},"
        "{\"kty\":\"EC\",\"crv\":\"P-384\",\"kid\":\"p384\",\"x\":\"AAAA\",\"y\":\"AAAA\"},"
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ed\",\"x\":\"AAAA\"},"
        "{\"kty\":\"RSA\",\"kid\":\"rsa-bad\",\"n\":\"AQAB\",\"e\":\"AQAB\"},"
        "\"not an object\", 42]";
    cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "keys");
    for (int i = 0; i < 3; i++)
        add_jwk(arr, keys[i], kids[i]);
    add_jwk(arr, ec_key, "ec-rs");
    cJSON_AddStringToObject(cJSON_GetArrayItem(arr, 3), "alg", "RS256");
    add_jwk(arr, ec_key, "ec-enc");
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(arr, 4), "use", cJSON_CreateString("enc"));
    cJSON *more = cJSON_Parse(unusable), *item;
    cJSON_ArrayForEach(item, more) cJSON_AddItemToArray(arr, cJSON_Duplicate(item, 1));
    cJSON_Delete(more);
    char *text = cJSON_Print(doc);
    close(mkstemp(jwks_path));
    write_file(jwks_path, text);
    free(text);
    cJSON_Delete(doc);
}

int main(void) {
    /* no proxy may carry a request to 127.0.0.1 elsewhere */
    setenv("NO_PROXY", "*", 1);
    setenv("no_proxy", "*", 1);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ec_key_2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    write_test_jwks();
    sp_jwt_verifier *v = verifier(SECRET, jwks_path, NULL, NULL);
    CHECK(v != NULL);
    if (!v) return check_done("test_jwt");
    valid_hs256_token_is_accepted_with_sub_in_lower_case(v);
    claims_json_is_the_payload_exactly_as_sent(v);
    valid_es256_and_rs256_tokens_are_accepted(v);
    token_without_kid_is_tried_against_every_key_of_its_type(v);
    token_signed_by_another_key_than_its_kid_is_rejected(v);
    expired_token_is_rejected_after_the_leeway(v);
    token_not_yet_valid_is_rejected(v);
    audience_must_be_the_configured_one_or_an_array_with_it(v);
    only_the_authenticated_role_is_accepted(v);
    sub_must_be_a_uuid(v);
    bad_signature_is_rejected(v);
    alg_none_is_rejected_in_any_case(v);
    hs256_signed_with_the_rsa_public_key_is_rejected(v);
    header_alg_must_match_the_key_of_its_kid(v);
    unknown_kid_is_rejected(v);
    jwks_keys_that_cannot_be_used_are_skipped(v);
    malformed_tokens_are_rejected(v);
    undecodable_header_or_payload_is_rejected(v);
    payload_with_a_nul_byte_is_rejected(v);
    repeated_member_names_are_rejected(v);
    anonymous_sign_ins_are_refused_unless_allowed(v);
    the_same_token_again_is_not_verified_again(v);
    a_remembered_token_still_expires_and_waits_for_nbf(v);
    a_token_like_a_remembered_one_is_verified_in_full(v);
    sp_jwt_verifier_free(v);
    verifier_needs_a_readable_key_source();
    issuer_is_checked_when_supabase_url_is_set();
    unknown_kid_refetches_the_jwks_at_most_once_a_minute();
    a_token_accepted_under_keys_since_replaced_is_verified_afresh();
    threads_share_a_verifier_while_unknown_kids_refetch();
    unlink(jwks_path);
    EVP_PKEY_free(ec_key);
    EVP_PKEY_free(ec_key_2);
    EVP_PKEY_free(rsa_key);
    curl_global_cleanup();
    return check_done("test_jwt");
}
