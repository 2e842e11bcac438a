/*
 * oauth_answers: the connection answers of the four platforms, read with
 * cJSON's typed getters only, so an answer of any shape (an array where an
 * object was documented, a number for a string, a huge expires_in) is a
 * clear refusal or a missing field, never a crash. The documented examples
 * are tests/platform_docs/{google,youtube,facebook,instagram,tiktok}/.
 */
#include "api/oauth_answers.h"

#include <stdlib.h>
#include <string.h>

const char *sp_oauth_answer_string(const cJSON *obj, const char *name) {
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
    return cJSON_IsString(v) && v->valuestring && v->valuestring[0] ? v->valuestring : NULL;
}

/* The platform's own error code in an answer, for the message. */
static const char *error_code(const cJSON *json) {
    const cJSON *e = cJSON_IsObject(json) ? cJSON_GetObjectItemCaseSensitive(json, "error") : NULL;
    if (cJSON_IsString(e) && e->valuestring) return e->valuestring; /* OAuth 2.0, TikTok */
    if (cJSON_IsObject(e)) {
        const char *code = sp_oauth_answer_string(e, "code"); /* TikTok v2 */
        const char *type = sp_oauth_answer_string(e, "type"); /* Graph */
        return code ? code : type ? type : "error";
    }
    const char *t = sp_oauth_answer_string(json, "error_type"); /* Instagram */
    return t ? t : "no answer";
}

int sp_oauth_refused(const char *platform, const char *step, long status, const cJSON *json,
                     sp_err *err) {
    /* %.64s: the code is the platform's text, kept short in a message */
    return sp_err_set(err, SP_ERR_UNPROCESSABLE, "exchange_failed",
                      "%s refused the %s (HTTP %ld, %.64s)", platform, step, status,
                      error_code(json));
}

/* Copies s into *dst (replacing what it held); false on out of memory. */
static bool take(char **dst, const char *s) {
    free(*dst);
    *dst = s ? strdup(s) : NULL;
    return !s || *dst;
}

static int out_of_memory(sp_err *err) {
    return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
}

int sp_oauth_read_tokens(const char *platform, const cJSON *json, sp_oauth_account *out,
                         sp_err *err) {
    if (!sp_oauth_answer_string(json, "access_token"))
        return sp_oauth_refused(platform, "code", 200, json, err);
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(json, "expires_in");
    /* a double outside long's range must not be converted: that is undefined */
    out->expires_in = cJSON_IsNumber(exp) && exp->valuedouble >= 0 &&
                              exp->valuedouble <= (double)SP_OAUTH_MAX_EXPIRES_IN
                          ? (long)exp->valuedouble
                          : -1;
    if (!take(&out->access_token, sp_oauth_answer_string(json, "access_token")) ||
        !take(&out->refresh_token, sp_oauth_answer_string(json, "refresh_token")))
        return out_of_memory(err);
    return 0;
}

int sp_oauth_read_channel(const cJSON *json, sp_oauth_account *out, sp_err *err) {
    const cJSON *items =
        cJSON_IsObject(json) ? cJSON_GetObjectItemCaseSensitive(json, "items") : NULL;
    const cJSON *item = cJSON_IsArray(items) ? cJSON_GetArrayItem(items, 0) : NULL;
    const char *id = sp_oauth_answer_string(item, "id");
    if (!id)
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "no_account",
                          "this Google account has no YouTube channel: create one, then connect");
    const char *title =
        sp_oauth_answer_string(cJSON_GetObjectItemCaseSensitive(item, "snippet"), "title");
    if (!take(&out->account_id, id) || !take(&out->display_name, title)) return out_of_memory(err);
    return 0;
}

/* Appends the account a Page offers to choices: the Page itself, or (for
 * Instagram) its linked professional account, with the Page's token. False
 * on out of memory; a Page without what it needs is skipped. */
static bool offer_page(cJSON *choices, const cJSON *page, bool instagram) {
    const cJSON *ig = cJSON_IsObject(page)
                          ? cJSON_GetObjectItemCaseSensitive(page, "instagram_business_account")
                          : NULL;
    const char *id = sp_oauth_answer_string(instagram ? ig : page, "id");
    const char *token = sp_oauth_answer_string(page, "access_token");
    if (!id || !token) return true;
    const char *name =
        sp_oauth_answer_string(instagram ? ig : page, instagram ? "username" : "name");
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "id", id) ||
        !cJSON_AddStringToObject(o, "name", name ? name : id) ||
        !cJSON_AddStringToObject(o, "access_token", token) || !cJSON_AddItemToArray(choices, o)) {
        cJSON_Delete(o);
        return false;
    }
    return true;
}

int sp_oauth_read_pages(const cJSON *json, bool instagram, sp_oauth_account *out, sp_err *err) {
    const cJSON *data =
        cJSON_IsObject(json) ? cJSON_GetObjectItemCaseSensitive(json, "data") : NULL;
    cJSON *choices = cJSON_CreateArray(), *page;
    if (!choices) return out_of_memory(err);
    if (cJSON_IsArray(data)) {
        cJSON_ArrayForEach(page, data) {
            if (!offer_page(choices, page, instagram)) {
                cJSON_Delete(choices);
                return out_of_memory(err);
            }
        }
    }
    if (cJSON_GetArraySize(choices) == 0) {
        cJSON_Delete(choices);
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "no_account", "%s",
                          instagram ? "no Page of this Facebook account has a linked Instagram "
                                      "professional account (or none was allowed)"
                                    : "this Facebook account manages no Page (or none was "
                                      "allowed)");
    }
    cJSON_Delete(out->choices);
    out->choices = choices;
    return 0;
}

const char *sp_oauth_read_instagram_code(const cJSON *json) {
    const cJSON *data =
        cJSON_IsObject(json) ? cJSON_GetObjectItemCaseSensitive(json, "data") : NULL;
    const cJSON *first = cJSON_IsArray(data) ? cJSON_GetArrayItem(data, 0) : NULL;
    return sp_oauth_answer_string(first ? first : json, "access_token");
}

int sp_oauth_read_instagram_user(const cJSON *json, sp_oauth_account *out, sp_err *err) {
    const char *id = sp_oauth_answer_string(json, "user_id");
    if (!id)
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "no_account",
                          "Instagram did not say which account was connected");
    if (!take(&out->account_id, id) ||
        !take(&out->display_name, sp_oauth_answer_string(json, "username")))
        return out_of_memory(err);
    return 0;
}

int sp_oauth_read_tiktok_token(const cJSON *json, sp_oauth_account *out, sp_err *err) {
    if (sp_oauth_read_tokens("TikTok", json, out, err) < 0) return -1;
    const char *open_id = sp_oauth_answer_string(json, "open_id");
    if (!open_id) return sp_oauth_refused("TikTok", "code", 200, json, err);
    return take(&out->account_id, open_id) ? 0 : out_of_memory(err);
}

int sp_oauth_read_tiktok_user(const cJSON *json, sp_oauth_account *out, sp_err *err) {
    const cJSON *data =
        cJSON_IsObject(json) ? cJSON_GetObjectItemCaseSensitive(json, "data") : NULL;
    const cJSON *user =
        cJSON_IsObject(data) ? cJSON_GetObjectItemCaseSensitive(data, "user") : NULL;
    return take(&out->display_name, sp_oauth_answer_string(user, "display_name"))
               ? 0
               : out_of_memory(err);
}
