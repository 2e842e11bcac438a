/*
 * catalog: names and text limits. YouTube counts title characters and
 * description bytes and refuses '<' and '>' in both; Instagram counts caption
 * characters. Facebook's limits are far beyond our 64 KiB body limit.
 */
#include "platforms/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

static const char *const names[SP_PLATFORM_COUNT] = {"youtube", "facebook", "instagram",
                                                     "tiktok"};

#define YOUTUBE_TITLE_MAX_CHARS 100
#define YOUTUBE_DESCRIPTION_MAX_BYTES 5000
#define INSTAGRAM_CAPTION_MAX_CHARS 2200

const char *sp_platform_name(sp_platform p) {
    return p < SP_PLATFORM_COUNT ? names[p] : "unknown";
}

bool sp_platform_from_name(const char *name, sp_platform *out) {
    for (int i = 0; i < SP_PLATFORM_COUNT; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (sp_platform)i;
            return true;
        }
    }
    return false;
}

const char *sp_platform_names(void) {
    return "youtube, facebook, instagram, tiktok";
}

char *sp_platform_caption(const char *title, const char *description) {
    bool has_title = title && *title, has_desc = description && *description;
    if (!has_title && !has_desc) return NULL;
    if (!has_desc) return strdup(title);
    if (!has_title) return strdup(description);
    size_t n = strlen(title) + strlen(description) + 3;
    char *caption = malloc(n);
    if (caption) snprintf(caption, n, "%s\n\n%s", title, description);
    return caption;
}

/* YouTube's rules: title 1..100 characters, description <= 5000 bytes, no angle brackets. */
static int check_youtube(const char *title, const char *description, sp_err *err) {
    if (!title || !*title)
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "title_required",
                          "YouTube needs a title: send one, or give the video a title");
    if (sp_utf8_chars(title) > YOUTUBE_TITLE_MAX_CHARS)
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "title_too_long",
                          "title is longer than YouTube's %d characters", YOUTUBE_TITLE_MAX_CHARS);
    if (description && strlen(description) > YOUTUBE_DESCRIPTION_MAX_BYTES)
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "description_too_long",
                          "description is longer than YouTube's %d bytes",
                          YOUTUBE_DESCRIPTION_MAX_BYTES);
    if (strpbrk(title, "<>") || (description && strpbrk(description, "<>")))
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_characters",
                          "YouTube does not accept '<' or '>' in a title or description");
    return 0;
}

/* Instagram's rule: the caption (title, blank line, description) <= 2200 characters. */
static int check_instagram(const char *title, const char *description, sp_err *err) {
    char *caption = sp_platform_caption(title, description);
    size_t chars = caption ? sp_utf8_chars(caption) : 0;
    free(caption);
    if (chars > INSTAGRAM_CAPTION_MAX_CHARS)
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "caption_too_long",
                          "title and description together are longer than Instagram's %d "
                          "character caption",
                          INSTAGRAM_CAPTION_MAX_CHARS);
    return 0;
}

int sp_platform_check_text(sp_platform p, const char *title, const char *description, sp_err *err) {
    switch (p) {
    case SP_YOUTUBE:
        return check_youtube(title, description, err);
    case SP_INSTAGRAM:
        return check_instagram(title, description, err);
    default:
        return 0;
    }
}
