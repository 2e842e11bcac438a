/*
 * fuzz_graph: a Graph API answer (two bytes of status, then the body) read
 * and classified as the Facebook and Instagram adapters do, and the
 * resumable upload's offsets read from it against a file size.
 */
#include "fuzz.h"
#include "platforms/graph.h"

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
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(r.body, "error");
    sp_graph_parse_offsets(cJSON_GetObjectItemCaseSensitive(error, "error_data"), 1000, &a, &b);
    sp_graph_resp_free(&r);
    free(body);
    return 0;
}
