/*
 * fuzz_youtube: YouTube and Google answers. Two bytes of status, a Range
 * header line, a newline, then the body: classified as the YouTube adapter
 * does (at a time taken from the status bytes, for the quota's reset), its
 * Range read against a video size, the body read as a finished upload's video
 * resource, as thumbnails.set's answer and as Google's token endpoint answer.
 */
#include <stdio.h>
#include <time.h>

#include "core/http_headers.h"
#include "fuzz.h"
#include "platforms/google_oauth.h"
#include "platforms/youtube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    long status = (long)(fuzz_byte(&data, &size) << 8 | fuzz_byte(&data, &size)) % 600;
    char *text = fuzz_text(data, size);
    if (!text) return 0;
    char *nl = strchr(text, '\n');
    sp_http_resp r;
    memset(&r, 0, sizeof r);
    r.status = status;
    r.retry_after = -1;
    r.content_length = -1;
    if (nl) {
        *nl = '\0';
        snprintf(r.range, sizeof r.range, "%s", text);
    }
    r.body = nl ? nl + 1 : text;
    sp_step_outcome out;
    sp_youtube_classify_at(&r, (time_t)status * 5000000, &out);
    char id[128], privacy[64], why[256];
    sp_youtube_parse_video(r.body, id, sizeof id, privacy, sizeof privacy);
    sp_youtube_thumbnail_answer(&r, why, sizeof why);
    long long offset;
    sp_youtube_parse_range(r.range, 1 << 20, &offset);
    sp_youtube_parse_range(r.range, 1LL << 62, &offset);
    char *token = NULL;
    long long expires_at;
    sp_err err;
    sp_google_parse_token(status, r.body, 1800000000LL, &token, &expires_at, &err);
    free(token);
    free(text);
    return 0;
}
