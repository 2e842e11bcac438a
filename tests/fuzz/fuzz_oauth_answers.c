/*
 * fuzz_oauth_answers: what the platforms answer while an account is
 * connected. Two bytes of status, then the body: parsed as JSON and read by
 * every reader of api/oauth_answers.h (token exchanges of Google, Instagram
 * and TikTok, YouTube's channel, Facebook's Pages and the Instagram accounts
 * linked to them, Instagram's /me, Instagram Login's short-lived token,
 * TikTok's user info) and by the refusal message; the body as text is also
 * read as the refresh answers of Google and TikTok (platforms/). Seeds are
 * the documented answers of tests/platform_docs.
 */
#include <cjson/cJSON.h>

#include "api/oauth_answers.h"
#include "fuzz.h"
#include "platforms/google_oauth.h"
#include "platforms/tiktok_api.h"

/* Runs one reader on a fresh account and frees what it filled. */
#define READ(call)                                                                                 \
    do {                                                                                           \
        sp_oauth_account a = {.expires_in = -1};                                                   \
        sp_err err;                                                                                \
        (void)(call);                                                                              \
        sp_oauth_account_free(&a);                                                                 \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    long status = (long)(fuzz_byte(&data, &size) << 8 | fuzz_byte(&data, &size)) % 600;
    char *text = fuzz_text(data, size);
    if (!text) return 0;
    cJSON *json = cJSON_ParseWithLength(text, size);
    READ(sp_oauth_read_tokens("Fuzz", json, &a, &err));
    READ(sp_oauth_read_channel(json, &a, &err));
    READ(sp_oauth_read_pages(json, false, &a, &err));
    READ(sp_oauth_read_pages(json, true, &a, &err));
    READ(sp_oauth_read_instagram_user(json, &a, &err));
    READ(sp_oauth_read_tiktok_token(json, &a, &err));
    READ(sp_oauth_read_tiktok_user(json, &a, &err));
    READ(sp_oauth_refused("Fuzz", "code", status, json, &err));
    const char *short_token = sp_oauth_read_instagram_code(json);
    if (short_token && !short_token[0]) abort(); /* never an empty token */
    cJSON_Delete(json);
    char *access = NULL, *refresh = NULL;
    long long expires_at;
    sp_err err;
    sp_google_parse_token(status, text, 1800000000LL, &access, &expires_at, &err);
    free(access);
    access = NULL;
    sp_tiktok_parse_token(status, text, 1800000000LL, &access, &refresh, &expires_at, &err);
    free(access);
    free(refresh);
    free(text);
    return 0;
}
