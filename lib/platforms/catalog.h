/*
 * catalog: the platforms a job can post to, by name, with the limits each
 * puts on a post's text. The HTTP programs validate against these before a job
 * is accepted, so a job never fails late for a title that was always too long;
 * the worker builds the same captions from the same functions.
 *
 * Not here: talking to a platform (youtube.c and friends).
 */
#ifndef SP_CATALOG_H
#define SP_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

typedef enum { SP_YOUTUBE, SP_FACEBOOK, SP_INSTAGRAM, SP_TIKTOK, SP_PLATFORM_COUNT } sp_platform;

/* "youtube", "facebook", "instagram", "tiktok". */
const char *sp_platform_name(sp_platform p);

/* The platform called name (exact, lower case); false when unknown. */
bool sp_platform_from_name(const char *name, sp_platform *out);

/* The names, comma-separated, for error messages. */
const char *sp_platform_names(void);

/* Checks title and description (either may be NULL) against p's limits.
 * Fails with SP_ERR_BAD_REQUEST naming the limit. */
int sp_platform_check_text(sp_platform p, const char *title, const char *description, sp_err *err);

/* The same, naming the fields in messages as title_field and
 * description_field (e.g. "options.youtube.title" for a platform's own). */
int sp_platform_check_text_named(sp_platform p, const char *title, const char *title_field,
                                 const char *description, const char *description_field,
                                 sp_err *err);

/* The length of UTF-8 text s in UTF-16 code units (how TikTok counts a
 * caption: a character beyond the Basic Multilingual Plane counts two). */
size_t sp_platform_utf16_length(const char *s);

/* The Instagram (and TikTok) caption for a title and description: both, separated by a
 * blank line, or whichever exists. Caller frees; NULL when both are empty. */
char *sp_platform_caption(const char *title, const char *description);

#endif
