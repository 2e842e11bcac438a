/*
 * oauth_answers: reading what the platforms answer while an account is
 * connected (oauth.c asks, this reads): the token exchanges (Google,
 * Facebook Login, Instagram Login, TikTok), and the lookups of the account
 * the tokens belong to (YouTube's channels?mine=true, Facebook's
 * /me/accounts Pages, Instagram's /me, TikTok's /v2/user/info/).
 *
 * Each reader takes the answer as parsed JSON (any value, NULL included:
 * these are outside input, fuzzed by tests/fuzz/fuzz_oauth_answers.c) and
 * fills the sp_oauth_account fields it is about, or fails with
 * SP_ERR_UNPROCESSABLE "exchange_failed" (the platform's own error code in
 * the message) or "no_account". No HTTP here, and no token in a message.
 */
#ifndef SP_OAUTH_ANSWERS_H
#define SP_OAUTH_ANSWERS_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "api/oauth.h"
#include "core/err.h"

/* Seconds an access token may be said to last (10 years); a longer or
 * negative expires_in counts as not said. */
#define SP_OAUTH_MAX_EXPIRES_IN 315360000L

/* A non-empty string member of obj, borrowed; NULL when obj is not an
 * object or the member is absent, empty or not a string. */
const char *sp_oauth_answer_string(const cJSON *obj, const char *name);

/* Fails the connection with what the platform said at step (status and its
 * error code: OAuth 2.0's "error", Graph's error object, Instagram's
 * error_type). Returns -1. */
int sp_oauth_refused(const char *platform, const char *step, long status, const cJSON *json,
                     sp_err *err);

/* A token endpoint's answer: access_token (required), refresh_token and
 * expires_in into out. */
int sp_oauth_read_tokens(const char *platform, const cJSON *json, sp_oauth_account *out,
                         sp_err *err);

/* YouTube's channels?part=snippet&mine=true: the first channel's id and
 * title; "no_account" when there is none. */
int sp_oauth_read_channel(const cJSON *json, sp_oauth_account *out, sp_err *err);

/* Facebook's /me/accounts: every Page with its token (for Instagram, the
 * professional account linked to it, with the Page's token) as out->choices
 * ([{"id", "name", "access_token"}]); "no_account" when none qualifies. */
int sp_oauth_read_pages(const cJSON *json, bool instagram, sp_oauth_account *out, sp_err *err);

/* Instagram Login's code exchange: the short-lived token, borrowed from
 * json ({"data": [{...}]}, or the object itself in older answers); NULL when
 * there is none. */
const char *sp_oauth_read_instagram_code(const cJSON *json);

/* Instagram's /me?fields=user_id,username: the account's id and name;
 * "no_account" without a user_id. */
int sp_oauth_read_instagram_user(const cJSON *json, sp_oauth_account *out, sp_err *err);

/* TikTok's /v2/oauth/token/ answer: the tokens and open_id (required). */
int sp_oauth_read_tiktok_token(const cJSON *json, sp_oauth_account *out, sp_err *err);

/* TikTok's /v2/user/info/: the display name (data.user.display_name), when
 * given. */
int sp_oauth_read_tiktok_user(const cJSON *json, sp_oauth_account *out, sp_err *err);

#endif
