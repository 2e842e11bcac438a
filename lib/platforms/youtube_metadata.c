/*
 * youtube_metadata: what a post and its youtube options become in
 * videos.insert: the video resource's snippet (title, description, tags,
 * categoryId) and status (privacyStatus, selfDeclaredMadeForKids), and the
 * notifySubscribers query parameter.
 *
 * The options were checked when the job was written; they are read here
 * defensively all the same: a member of the wrong type reads as absent and
 * gets the default, which is what we always sent (public, category 22
 * "People & Blogs", not made for kids; YouTube's own default for
 * notifySubscribers, true, by leaving it out).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "platforms/youtube.h"

/* The option key as a string, or def. */
static const char *option_string(const sp_post *post, const char *key, const char *def) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(post->options, key);
    return cJSON_IsString(v) ? v->valuestring : def;
}

/* The option key as a bool: 1 true, 0 false, -1 absent (or not a bool). */
static int option_bool(const sp_post *post, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(post->options, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : -1;
}

/* Adds the options' tags (the strings among them) to snippet. */
static void add_tags(const sp_post *post, cJSON *snippet) {
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(post->options, "tags");
    if (!cJSON_IsArray(tags)) return;
    cJSON *out = cJSON_AddArrayToObject(snippet, "tags");
    const cJSON *tag;
    cJSON_ArrayForEach(tag, tags) {
        if (cJSON_IsString(tag)) cJSON_AddItemToArray(out, cJSON_CreateString(tag->valuestring));
    }
}

char *sp_youtube_metadata(const sp_post *post) {
    cJSON *root = cJSON_CreateObject();
    cJSON *snippet = cJSON_AddObjectToObject(root, "snippet");
    cJSON_AddStringToObject(snippet, "title", post->title ? post->title : "");
    cJSON_AddStringToObject(snippet, "description", post->description ? post->description : "");
    add_tags(post, snippet);
    cJSON_AddStringToObject(snippet, "categoryId", option_string(post, "categoryId", "22"));
    cJSON *status = cJSON_AddObjectToObject(root, "status");
    cJSON_AddStringToObject(status, "privacyStatus",
                            option_string(post, "privacyStatus", "public"));
    cJSON_AddBoolToObject(status, "selfDeclaredMadeForKids", option_bool(post, "madeForKids") == 1);
    char *text = sp_json_print(root);
    cJSON_Delete(root);
    return text;
}

void sp_youtube_insert_query(const sp_post *post, char *query, size_t len) {
    int notify = option_bool(post, "notifySubscribers");
    snprintf(query, len, "uploadType=resumable&part=snippet,status%s",
             notify < 0 ? ""
             : notify   ? "&notifySubscribers=true"
                        : "&notifySubscribers=false");
}
