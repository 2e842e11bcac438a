/*
 * options: what each platform accepts in a job's "options" object, the
 * per-platform settings of the submit body:
 *
 *   {"youtube": {"privacyStatus": "unlisted", "tags": ["demo"]},
 *    "tiktok": {"privacyLevel": "SELF_ONLY", "disableDuet": true}}
 *
 * One table per platform names each key and its kind (text, flag, one of a
 * list, digits, URL, milliseconds, tags, usernames); anything else (a
 * platform that does not exist or that the job does not post to, an unknown
 * key, a wrong type, a value out of range, TikTok without its required
 * privacyLevel) is refused with a message that starts with the field's path,
 * e.g. "options.instagram.collaborators has at most 3 usernames". The
 * database holds the same rules (social_post_check_options, migration 0013)
 * for rows users write directly; the two must agree.
 *
 * Not here: the text limits of the per-platform title and description
 * (catalog.h, checked by the API with the job's own text), and using the
 * options (each adapter reads its own from post->options).
 */
#ifndef SP_OPTIONS_H
#define SP_OPTIONS_H

#include <cjson/cJSON.h>

#include "core/err.h"
#include "platforms/catalog.h"

/* Checks options (an object keyed by platform; NULL counts as {}) for a job
 * that posts to the nplatforms platforms. Fails with SP_ERR_BAD_REQUEST,
 * codes: invalid_field (options is not an object), unknown_platform,
 * platform_not_chosen, unknown_option, invalid_option, missing_option. */
int sp_options_check(const cJSON *options, const sp_platform *platforms, int nplatforms,
                     sp_err *err);

/* The string option key of platform p in options (checked), or NULL when
 * absent. Borrowed from options. */
const char *sp_options_string(const cJSON *options, sp_platform p, const char *key);

#endif
