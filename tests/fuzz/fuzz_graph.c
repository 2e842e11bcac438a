/*
 * fuzz_graph: a Graph API answer (two bytes of status, then the body) read
 * and classified as the Facebook and Instagram adapters do: the resumable
 * upload's offsets (strings or numbers, in the answer or in error_data)
 * against a file size, a transfer's verdict, a video's status (a Reel's
 * bytes_transferred, its publishing), Instagram's error actions and its
 * content_publishing_limit.
 */
#include "fuzz.h"
#include "platforms/facebook.h"
#include "platforms/graph.h"
#include "platforms/instagram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    long status = (long)(fuzz_byte(&data, &size) << 8 | fuzz_byte(&data, &size)) % 600;
    char *body = fuzz_text(data, size);
    if (!body) return 0;
    sp_graph_resp r;
    sp_graph_parse(status, body, -1, &r);
    sp_graph_classify(&r);
    sp_graph_string(&r, "id");
    long long a, b;
    sp_graph_parse_offsets(r.body, 1LL << 30, &a, &b);
    sp_graph_parse_offsets(sp_graph_error_data(&r), 1000, &a, &b);
    sp_facebook_transfer_verdict(&r, 1LL << 30, &a, &b);
    sp_facebook_transfer_verdict(&r, 1000, &a, &b);
    sp_fb_video_status st;
    sp_facebook_read_status(r.body, &st);
    sp_instagram_error_action(&r);
    long long usage, total, window;
    sp_instagram_read_quota(r.body, &usage, &total, &window);
    sp_graph_resp_free(&r);
    free(body);
    return 0;
}
