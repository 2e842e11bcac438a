/* fuzz_options: a submit's "options" object. The first byte chooses the
 * job's platforms (one bit each); the rest is parsed as JSON and checked as
 * the options of that job, then, when accepted, each chosen platform's own
 * title and description go through its text limits as the API runs them. */
#include <cjson/cJSON.h>

#include "api/job_request.h"
#include "fuzz.h"
#include "platforms/options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    unsigned bits = fuzz_byte(&data, &size);
    sp_job_request req = {0};
    for (int p = 0; p < SP_PLATFORM_COUNT; p++)
        if (bits & (1u << p)) req.platforms[req.nplatforms++] = (sp_platform)p;
    char *text = fuzz_text(data, size);
    cJSON *options = text ? cJSON_ParseWithLength(text, size) : NULL;
    sp_err err;
    if (options && sp_options_check(options, req.platforms, req.nplatforms, &err) == 0) {
        req.options = options;
        sp_job_request_check_text(&req, "A title", &err);
        free(sp_job_request_options_json(&req));
        for (int p = 0; p < SP_PLATFORM_COUNT; p++)
            (void)sp_options_string(options, (sp_platform)p, "title");
    }
    cJSON_Delete(options);
    free(text);
    return 0;
}
