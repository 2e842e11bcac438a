/*
 * fuzz_tiktok: TikTok answers. Two bytes of status, one of Retry-After, then
 * the body: read into TikTok's envelope and classified as the adapter does,
 * its data read as creator_info, video/init and status/fetch answers (the
 * post id digits taken from the text), and the body read as the token
 * endpoint's answer. The chunk planner gets sizes taken from the input too.
 */
#include <stdio.h>

#include "fuzz.h"
#include "platforms/tiktok_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    long status = (long)(fuzz_byte(&data, &size) << 8 | fuzz_byte(&data, &size)) % 600;
    long retry_after = (long)fuzz_byte(&data, &size) - 1;
    char *text = fuzz_text(data, size);
    if (!text) return 0;
    sp_http_resp http;
    memset(&http, 0, sizeof http);
    http.status = status;
    http.retry_after = retry_after;
    http.body = text;
    snprintf(http.transport_error, sizeof http.transport_error, "fuzzed");
    sp_tt_resp r;
    sp_tiktok_read(&http, &r);
    sp_step_outcome out;
    sp_tiktok_classify(&r, "fuzzing", &out);
    sp_tt_creator creator;
    sp_tiktok_parse_creator(r.data, &creator);
    char id[128], url[2048];
    sp_tiktok_parse_init(r.data, id, sizeof id, url, sizeof url);
    sp_tt_status st;
    sp_tiktok_parse_status(r.data, r.raw, &st);
    sp_tiktok_parse_status(r.root, r.raw, &st); /* a bare data object too */
    sp_tiktok_resp_free(&r);
    char *access = NULL, *refresh = NULL;
    long long expires_at;
    sp_err err;
    sp_tiktok_parse_token(status, text, 1800000000LL, &access, &refresh, &expires_at, &err);
    free(access);
    free(refresh);
    unsigned long long bits = 0;
    for (size_t i = 0; i < size && i < 8; i++)
        bits = bits << 8 | data[i];
    long long video = (long long)(bits & ((1ULL << 40) - 1));
    sp_tt_chunks plan;
    if (sp_tiktok_chunk_plan(video, (long long)status << 16, &plan)) {
        long long first, length;
        sp_tiktok_chunk_range(&plan, video, plan.count - 1, &first, &length);
    }
    free(text);
    return 0;
}
