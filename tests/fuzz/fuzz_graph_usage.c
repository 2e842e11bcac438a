/*
 * fuzz_graph_usage: Meta's rate-limit usage header values (X-App-Usage,
 * X-Business-Use-Case-Usage: JSON text from outside) read into a throttled
 * answer as the Graph reader does, and the wait and message made of them.
 */
#include "fuzz.h"
#include "platforms/graph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *header = fuzz_text(data, size);
    if (!header) return 0;
    sp_graph_resp r;
    sp_graph_parse(400, "{\"error\":{\"code\":80001,\"message\":\"throttled\"}}", -1, &r);
    sp_graph_read_usage(&r, header);
    sp_graph_read_usage(&r, header);
    sp_step_outcome out;
    sp_graph_quota_outcome(&r, "Facebook", "fuzzing", &out);
    /* always a quota wait: Meta's estimate, bounded, or (none given) the
     * worker's backoff with no floor (this answer had no Retry-After) */
    if (!out.quota) abort();
    if (out.quota_backoff ? out.delay >= 0 : (out.delay <= 0 || out.delay > 24 * 3600)) abort();
    sp_graph_resp_free(&r);
    free(header);
    return 0;
}
