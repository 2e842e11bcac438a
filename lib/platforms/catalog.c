/*
 * catalog: names and text limits. YouTube counts title characters and
 * description bytes and refuses '<' and '>' in both; Instagram counts caption
 * characters; TikTok counts its caption (post_info.title) in UTF-16 code units,
 * 2200 at most (https://developers.tiktok.com/doc/content-posting-api-reference-direct-post).
 * Facebook's limits are far beyond our 64 KiB body limit.
 */
#include "platforms/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

static const char *const names[SP_PLATFORM_COUNT] = {"youtube", "facebook", "instagram", "tiktok"};

#define YOUTUBE_TITLE_MAX_CHARS 100
#define YOUTUBE_DESCRIPTION_MAX_BYTES 5000
#define INSTAGRAM_CAPTION_MAX_CHARS 2200
#define TIKTOK_CAPTION_MAX_UNITS 2200

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
static int check_youtube(const char *title, const char *tname, const char *description,
                         const char *dname, sp_err *err) {
    if (!title || !*title)
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "title_required",
                          "YouTube needs a title: send one, or give the video a title");
    if (sp_utf8_chars(title) > YOUTUBE_TITLE_MAX_CHARS)
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "title_too_long",
                          "%s is longer than YouTube's %d characters", tname,
                          YOUTUBE_TITLE_MAX_CHARS);
    if (description && strlen(description) > YOUTUBE_DESCRIPTION_MAX_BYTES)
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "description_too_long",
                          "%s is longer than YouTube's %d bytes", dname,
                          YOUTUBE_DESCRIPTION_MAX_BYTES);
    if (strpbrk(title, "<>") || (description && strpbrk(description, "<>")))
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_characters",
                          "YouTube does not accept '<' or '>' in %s",
                          strpbrk(title, "<>") ? tname : dname);
    return 0;
}

size_t sp_platform_utf16_length(const char *s) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xC0) == 0x80) continue; /* a continuation byte */
        n += *p >= 0xF0 ? 2 : 1;           /* beyond the BMP: a surrogate pair */
    }
    return n;
}

/* The caption (title, blank line, description) within max, in characters
 * or (utf16) UTF-16 code units. */
static int check_caption(const char *platform, bool utf16, size_t max, const char *title,
                         const char *tname, const char *description, const char *dname,
                         sp_err *err) {
    char *caption = sp_platform_caption(title, description);
    size_t length = !caption ? 0 : utf16 ? sp_platform_utf16_length(caption) : sp_utf8_chars(caption);
    free(caption);
    if (length <= max) return 0;
    bool has_title = title && *title, has_desc = description && *description;
    return sp_err_set(err, SP_ERR_BAD_REQUEST, "caption_too_long",
                      "%s%s%s %s longer than %s's %zu character caption", has_title ? tname : "",
                      has_title && has_desc ? " and " : "", has_desc ? dname : "",
                      has_title && has_desc ? "together are" : "is", platform, max);
}

int sp_platform_check_text_named(sp_platform p, const char *title, const char *title_field,
                                 const char *description, const char *description_field,
                                 sp_err *err) {
    switch (p) {
    case SP_YOUTUBE:
        return check_youtube(title, title_field, description, description_field, err);
    case SP_INSTAGRAM:
        return check_caption("Instagram", false, INSTAGRAM_CAPTION_MAX_CHARS, title, title_field,
                             description, description_field, err);
    case SP_TIKTOK:
        return check_caption("TikTok", true, TIKTOK_CAPTION_MAX_UNITS, title, title_field,
                             description, description_field, err);
    default:
        return 0;
    }
}

int sp_platform_check_text(sp_platform p, const char *title, const char *description, sp_err *err) {
    return sp_platform_check_text_named(p, title, "title", description, "description", err);
}
