/* fuzz_job_request: the submit body validator, from the JSON to the text
 * limits of each platform chosen and the platforms' JSON. */
#include "api/job_request.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sp_job_request req;
    sp_err err;
    if (sp_job_request_parse((const char *)data, size, &req, &err) < 0) return 0;
    sp_job_request_check_text(&req, req.title, &err);
    free(sp_job_request_platforms_json(&req));
    sp_job_request_free(&req);
    return 0;
}
