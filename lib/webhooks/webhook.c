/*
 * webhook: signing with OpenSSL's one-shot HMAC, sending with the shared
 * HTTP client, and the retry decision as a pure function (tested without a
 * network or a database).
 */
#include "webhooks/webhook.h"

#include <math.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/http_client.h"
#include "webhooks/callback_url.h"

#define WEBHOOK_TIMEOUT_SECONDS 10

int sp_webhook_sign(const unsigned char *key, size_t key_len, const char *id, long long timestamp,
                    const char *body, char out[SP_WEBHOOK_SIGNATURE_MAX], sp_err *err) {
    char prefix[160];
    int n = snprintf(prefix, sizeof prefix, "%s.%lld.", id, timestamp);
    size_t body_len = strlen(body);
    unsigned char *content =
        n > 0 && (size_t)n < sizeof prefix ? malloc((size_t)n + body_len) : NULL;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!content) return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "cannot sign the webhook");
    memcpy(content, prefix, (size_t)n);
    memcpy(content + n, body, body_len);
    bool ok =
        HMAC(EVP_sha256(), key, (int)key_len, content, (size_t)n + body_len, mac, &mac_len) != NULL;
    free(content);
    if (!ok || mac_len != 32)
        return sp_err_set(err, SP_ERR_INTERNAL, "signing", "HMAC-SHA256 failed");
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)mac_len); /* 44 characters and a NUL */
    return 0;
}

/* Fills out from the receiver's answer (or its absence). */
static void judge(const sp_http_resp *r, sp_webhook_attempt *out) {
    out->status = r->status;
    out->retry_after = r->retry_after >= 0 ? (double)r->retry_after : -1;
    if (r->status >= 200 && r->status <= 299) {
        out->result = SP_WEBHOOK_DELIVERED;
    } else if (r->status == 410) {
        out->result = SP_WEBHOOK_REFUSED;
        snprintf(out->message, sizeof out->message, "the receiver answered 410 Gone");
    } else if (r->status == 0) {
        snprintf(out->message, sizeof out->message, "no answer: %s", r->transport_error);
    } else {
        snprintf(out->message, sizeof out->message, "the receiver answered HTTP %ld", r->status);
    }
}

void sp_webhook_send(const sp_config *cfg, const sp_webhook_event *ev, sp_webhook_attempt *out) {
    memset(out, 0, sizeof *out);
    out->result = SP_WEBHOOK_FAILED;
    out->retry_after = -1;
    sp_err err;
    if (sp_callback_url_check(ev->url, strlen(ev->url), &err) < 0) {
        out->result = SP_WEBHOOK_REFUSED; /* written around the API: never valid */
        snprintf(out->message, sizeof out->message, "%s", err.msg);
        return;
    }
    long long now = (long long)time(NULL);
    char signature[SP_WEBHOOK_SIGNATURE_MAX], id[160], stamp[64], sig[96];
    if (!cfg->webhook_key || sp_webhook_sign(cfg->webhook_key, cfg->webhook_key_len, ev->id, now,
                                             ev->body, signature, &err) < 0) {
        snprintf(out->message, sizeof out->message, "not signed: %s",
                 cfg->webhook_key ? err.msg : "SOCIAL_POST_WEBHOOK_SECRET is not set");
        return;
    }
    snprintf(id, sizeof id, "webhook-id: %s", ev->id);
    snprintf(stamp, sizeof stamp, "webhook-timestamp: %lld", now);
    snprintf(sig, sizeof sig, "webhook-signature: %s", signature);
    sp_http_req req = {.method = "POST",
                       .url = ev->url,
                       .body = ev->body,
                       .body_len = strlen(ev->body),
                       .timeout_seconds = WEBHOOK_TIMEOUT_SECONDS,
                       .public_only = !cfg->allow_private_callback_urls,
                       .no_proxy = true,
                       .headers = {"Content-Type: application/json", id, stamp, sig}};
    sp_http_resp r;
    sp_http_perform(&req, &r, &err);
    judge(&r, out);
    sp_http_resp_free(&r);
}

/* Seconds to wait after failure number attempts (1 for the first). */
static double backoff(int attempts, const sp_webhook_policy *p, double jitter) {
    double wait = p->backoff_base * pow(2.0, attempts > 1 ? attempts - 1 : 0);
    if (wait > p->backoff_max) wait = p->backoff_max;
    return wait * (0.8 + 0.4 * jitter);
}

void sp_webhook_next(const sp_webhook_attempt *a, int attempts, double age,
                     const sp_webhook_policy *p, double jitter, sp_webhook_next_step *out) {
    memset(out, 0, sizeof *out);
    snprintf(out->message, sizeof out->message, "%s", a->message);
    if (a->result == SP_WEBHOOK_DELIVERED) {
        out->done = true;
        return;
    }
    if (a->result == SP_WEBHOOK_FAILED) {
        out->run_in = backoff(attempts, p, jitter);
        if (a->retry_after > out->run_in)
            out->run_in = a->retry_after < p->backoff_max ? a->retry_after : p->backoff_max;
        if (age + out->run_in <= p->give_up_age) return;
    }
    out->done = out->failed = true;
    if (a->result == SP_WEBHOOK_FAILED)
        snprintf(out->message, sizeof out->message, "gave up after %d attempts over %.0f s: %s",
                 attempts, age, a->message);
}
