/*
 * options: one table of keys per platform, and one checker per kind of
 * value. Every message starts with the field's path so that a form can show
 * it next to the field. The rules come from the platforms' documentation:
 * - YouTube videos resource (snippet.tags, snippet.categoryId,
 *   status.privacyStatus, status.selfDeclaredMadeForKids) and videos.insert's
 *   notifySubscribers: https://developers.google.com/youtube/v3/docs/videos
 *   https://developers.google.com/youtube/v3/docs/videos/insert
 * - Instagram Reels containers (cover_url, thumb_offset, share_to_feed,
 *   collaborators (up to 3), location_id):
 *   https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media
 * - TikTok Direct Post post_info (privacy_level, disable_*, brand_*,
 *   is_aigc, video_cover_timestamp_ms, an int32):
 *   https://developers.tiktok.com/doc/content-posting-api-reference-direct-post
 */
#include "platforms/options.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"

typedef enum {
    OPT_TEXT,      /* a string (limits: catalog.h) */
    OPT_FLAG,      /* true or false */
    OPT_ONE_OF,    /* a string from values */
    OPT_DIGITS,    /* a string of 1 to 20 digits (an id) */
    OPT_URL,       /* an http(s) URL */
    OPT_MS,        /* an integer of milliseconds, 0 to 2147483647 */
    OPT_TAGS,      /* YouTube's tags: strings, 500 characters in all */
    OPT_USERNAMES, /* Instagram usernames, at most 3 */
} opt_kind;

typedef struct {
    const char *key;
    opt_kind kind;
    const char *const *values; /* OPT_ONE_OF: NULL-terminated */
} opt_rule;

static const char *const youtube_privacy[] = {"public", "unlisted", "private", NULL};
static const char *const tiktok_privacy[] = {"PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS",
                                             "FOLLOWER_OF_CREATOR", "SELF_ONLY", NULL};

static const opt_rule youtube_rules[] = {
    {"title", OPT_TEXT, NULL},
    {"description", OPT_TEXT, NULL},
    {"privacyStatus", OPT_ONE_OF, youtube_privacy},
    {"tags", OPT_TAGS, NULL},
    {"categoryId", OPT_DIGITS, NULL},
    {"madeForKids", OPT_FLAG, NULL},
    {"notifySubscribers", OPT_FLAG, NULL},
    {"thumbnailUrl", OPT_URL, NULL},
    {NULL, OPT_TEXT, NULL},
};
static const opt_rule facebook_rules[] = {
    {"title", OPT_TEXT, NULL},
    {"description", OPT_TEXT, NULL},
    {"asReel", OPT_FLAG, NULL},
    {NULL, OPT_TEXT, NULL},
};
static const opt_rule instagram_rules[] = {
    {"title", OPT_TEXT, NULL},        {"description", OPT_TEXT, NULL},
    {"coverUrl", OPT_URL, NULL},      {"thumbOffsetMs", OPT_MS, NULL},
    {"shareToFeed", OPT_FLAG, NULL},  {"collaborators", OPT_USERNAMES, NULL},
    {"locationId", OPT_DIGITS, NULL}, {NULL, OPT_TEXT, NULL},
};
static const opt_rule tiktok_rules[] = {
    {"title", OPT_TEXT, NULL},
    {"description", OPT_TEXT, NULL},
    {"privacyLevel", OPT_ONE_OF, tiktok_privacy},
    {"disableComment", OPT_FLAG, NULL},
    {"disableDuet", OPT_FLAG, NULL},
    {"disableStitch", OPT_FLAG, NULL},
    {"videoCoverTimestampMs", OPT_MS, NULL},
    {"brandContentToggle", OPT_FLAG, NULL},
    {"brandOrganicToggle", OPT_FLAG, NULL},
    {"isAigc", OPT_FLAG, NULL},
    {NULL, OPT_TEXT, NULL},
};

/* Each platform's keys, the one it cannot do without, and all keys for messages. */
static const struct {
    const opt_rule *rules;
    const char *required;
    const char *keys;
} platform_rules[SP_PLATFORM_COUNT] = {
    [SP_YOUTUBE] = {youtube_rules, NULL,
                    "title, description, privacyStatus, tags, categoryId, madeForKids, "
                    "notifySubscribers, thumbnailUrl"},
    [SP_FACEBOOK] = {facebook_rules, NULL, "title, description, asReel"},
    [SP_INSTAGRAM] = {instagram_rules, NULL,
                      "title, description, coverUrl, thumbOffsetMs, shareToFeed, "
                      "collaborators, locationId"},
    [SP_TIKTOK] = {tiktok_rules, "privacyLevel",
                   "title, description, privacyLevel, disableComment, disableDuet, "
                   "disableStitch, videoCoverTimestampMs, brandContentToggle, "
                   "brandOrganicToggle, isAigc"},
};

#define MAX_ID_DIGITS 20
#define MAX_URL_BYTES 2048
#define MAX_MS 2147483647.0
#define YOUTUBE_TAGS_MAX_CHARS 500
#define INSTAGRAM_MAX_COLLABORATORS 3
#define INSTAGRAM_USERNAME_MAX 30

/* Fails with invalid_option: "<path> <what>". */
static int invalid(sp_err *err, const char *path, const char *what) {
    return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_option", "%s %s", path, what);
}

/* s is 1 to max characters of which allowed accepts each byte. */
static bool all_of(const char *s, size_t max, bool (*allowed)(char)) {
    size_t n = strlen(s);
    if (n == 0 || n > max) return false;
    for (size_t i = 0; i < n; i++)
        if (!allowed(s[i])) return false;
    return true;
}

static bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

static bool is_username_char(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '_';
}

/* An absolute http(s) URL with a host and no spaces or control characters. */
static bool is_web_url(const char *s) {
    size_t n = strlen(s), scheme = 0;
    if (!strncmp(s, "https://", 8))
        scheme = 8;
    else if (!strncmp(s, "http://", 7))
        scheme = 7;
    if (!scheme || n > MAX_URL_BYTES || !s[scheme] || strchr("/?#", s[scheme])) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f) return false;
    return true;
}

/* YouTube counts tags as one comma-separated text, a tag with a space quoted. */
static int check_tags(const cJSON *v, const char *path, sp_err *err) {
    if (!cJSON_IsArray(v)) return invalid(err, path, "must be an array of strings");
    size_t total = 0;
    const cJSON *tag;
    cJSON_ArrayForEach(tag, v) {
        if (!cJSON_IsString(tag) || !*tag->valuestring)
            return invalid(err, path, "must contain only non-empty strings");
        total += sp_utf8_chars(tag->valuestring) + (strchr(tag->valuestring, ' ') ? 2 : 0);
        if (tag != v->child) total++;
    }
    if (total > YOUTUBE_TAGS_MAX_CHARS)
        return invalid(err, path, "are longer than YouTube's 500 characters in all");
    return 0;
}

/* At most three Instagram usernames (letters, digits, '.', '_'; up to 30). */
static int check_usernames(const cJSON *v, const char *path, sp_err *err) {
    if (!cJSON_IsArray(v)) return invalid(err, path, "must be an array of Instagram usernames");
    if (cJSON_GetArraySize(v) > INSTAGRAM_MAX_COLLABORATORS)
        return invalid(err, path, "has at most 3 usernames");
    const cJSON *name;
    cJSON_ArrayForEach(name, v) {
        if (!cJSON_IsString(name) ||
            !all_of(name->valuestring, INSTAGRAM_USERNAME_MAX, is_username_char))
            return invalid(err, path,
                           "must contain Instagram usernames: up to 30 letters, digits, "
                           "'.' or '_'");
    }
    return 0;
}

/* values, comma-separated, into list (size bytes). */
static void join(const char *const *values, char *list, size_t size) {
    list[0] = '\0';
    for (size_t i = 0; values[i]; i++) {
        size_t used = strlen(list);
        snprintf(list + used, size - used, "%s%s", i ? ", " : "", values[i]);
    }
}

/* One of values, or a message listing them. */
static int check_one_of(const cJSON *v, const char *const *values, const char *path, sp_err *err) {
    for (size_t i = 0; values[i]; i++)
        if (cJSON_IsString(v) && !strcmp(v->valuestring, values[i])) return 0;
    char list[160];
    join(values, list, sizeof list);
    return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_option", "%s must be one of: %s", path,
                      list);
}

/* Checks value v of the kind of rule r; path names it in messages. */
static int check_value(const opt_rule *r, const cJSON *v, const char *path, sp_err *err) {
    switch (r->kind) {
    case OPT_TEXT:
        return cJSON_IsString(v) ? 0 : invalid(err, path, "must be a string");
    case OPT_FLAG:
        return cJSON_IsBool(v) ? 0 : invalid(err, path, "must be true or false");
    case OPT_ONE_OF:
        return check_one_of(v, r->values, path, err);
    case OPT_DIGITS:
        if (cJSON_IsString(v) && all_of(v->valuestring, MAX_ID_DIGITS, is_digit)) return 0;
        return invalid(err, path, "must be a string of 1 to 20 digits");
    case OPT_URL:
        if (cJSON_IsString(v) && is_web_url(v->valuestring)) return 0;
        return invalid(err, path, "must be an http or https URL of at most 2048 bytes");
    case OPT_MS:
        if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= MAX_MS &&
            (double)(long long)v->valuedouble == v->valuedouble)
            return 0;
        return invalid(err, path, "must be a whole number of milliseconds from 0 to 2147483647");
    case OPT_TAGS:
        return check_tags(v, path, err);
    case OPT_USERNAMES:
        return check_usernames(v, path, err);
    }
    return invalid(err, path, "is not understood");
}

/* The first 40 bytes of a name from the body, cut on a character boundary,
 * so that a message quoting it stays short and valid UTF-8. */
static const char *clip(const char *name, char out[41]) {
    snprintf(out, 41, "%s", name);
    sp_utf8_truncate(out, 40);
    return out;
}

/* The rule of key among rules, or NULL. */
static const opt_rule *find_rule(const opt_rule *rules, const char *key) {
    for (; rules->key; rules++)
        if (!strcmp(rules->key, key)) return rules;
    return NULL;
}

/* Checks the options object of platform p: known keys, right values, and
 * the required key. */
static int check_platform(sp_platform p, const cJSON *opts, sp_err *err) {
    const char *name = sp_platform_name(p);
    char path[96];
    if (!cJSON_IsObject(opts))
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_option",
                          "options.%s must be an object of %s's options", name, name);
    const cJSON *v;
    char key[41];
    cJSON_ArrayForEach(v, opts) {
        const opt_rule *r = find_rule(platform_rules[p].rules, v->string);
        if (!r)
            return sp_err_set(err, SP_ERR_BAD_REQUEST, "unknown_option",
                              "options.%s.%s is not an option of %s; use: %s", name,
                              clip(v->string, key), name, platform_rules[p].keys);
        snprintf(path, sizeof path, "options.%s.%s", name, r->key);
        if (check_value(r, v, path, err) < 0) return -1;
    }
    return 0;
}

/* The platform's required key, when the job posts there and it is missing. */
static int check_required(const cJSON *options, sp_platform p, sp_err *err) {
    const char *key = platform_rules[p].required;
    if (!key) return 0;
    const cJSON *opts =
        options ? cJSON_GetObjectItemCaseSensitive(options, sp_platform_name(p)) : NULL;
    if (opts && cJSON_GetObjectItemCaseSensitive(opts, key)) return 0;
    char list[160];
    join(find_rule(platform_rules[p].rules, key)->values, list, sizeof list);
    return sp_err_set(err, SP_ERR_BAD_REQUEST, "missing_option",
                      "options.%s.%s is required to post to %s: one of %s", sp_platform_name(p),
                      key, sp_platform_name(p), list);
}

int sp_options_check(const cJSON *options, const sp_platform *platforms, int nplatforms,
                     sp_err *err) {
    if (options && !cJSON_IsObject(options))
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_field",
                          "options must be an object keyed by platform");
    const cJSON *opts;
    char name[41];
    cJSON_ArrayForEach(opts, options) {
        sp_platform p;
        if (!sp_platform_from_name(opts->string, &p))
            return sp_err_set(err, SP_ERR_BAD_REQUEST, "unknown_platform",
                              "options.%s is not a platform; use one of: %s",
                              clip(opts->string, name), sp_platform_names());
        bool chosen = false;
        for (int i = 0; i < nplatforms; i++)
            chosen = chosen || platforms[i] == p;
        if (!chosen)
            return sp_err_set(err, SP_ERR_BAD_REQUEST, "platform_not_chosen",
                              "options.%s is for a platform this job does not post to: add "
                              "%s to platforms or leave options.%s out",
                              opts->string, opts->string, opts->string);
        if (check_platform(p, opts, err) < 0) return -1;
    }
    for (int i = 0; i < nplatforms; i++)
        if (check_required(options, platforms[i], err) < 0) return -1;
    return 0;
}

const char *sp_options_string(const cJSON *options, sp_platform p, const char *key) {
    const cJSON *opts =
        options ? cJSON_GetObjectItemCaseSensitive(options, sp_platform_name(p)) : NULL;
    const cJSON *v = opts ? cJSON_GetObjectItemCaseSensitive(opts, key) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}
