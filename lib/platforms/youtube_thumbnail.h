/*
 * youtube_thumbnail: a video's custom thumbnail (the youtube option
 * thumbnailUrl), set with thumbnails.set after the upload.
 *
 * Two halves, so the adapter can checkpoint between them and send the image
 * at most once across crashes: fetching the image (a user's URL: through
 * core/http_client like every download, private addresses refused unless
 * SOCIAL_POST_ALLOW_PRIVATE_VIDEO_URLS, at most 2 MB, JPEG or PNG as
 * thumbnails.set accepts), then POSTing it to YOUTUBE_THUMBNAILS_URL?videoId=.
 * Neither fails a post: each says why it did not work, for the result's
 * thumbnailError.
 */
#ifndef SP_YOUTUBE_THUMBNAIL_H
#define SP_YOUTUBE_THUMBNAIL_H

#include <stdbool.h>
#include <stdio.h>

#include "core/config.h"

#define SP_YT_THUMBNAIL_MAX_BYTES (2LL * 1024 * 1024) /* thumbnails.set's limit */

/* A fetched image: a temporary file (closed by sp_youtube_thumbnail_free),
 * its size and the media type to send. */
typedef struct {
    FILE *file;
    long long size;
    char media_type[32];
} sp_yt_image;

/* Fetches url into img. False (why set, nothing to free) when it cannot be
 * had: an HTTP error, too large, not an image, a private address. */
bool sp_youtube_thumbnail_fetch(const sp_config *cfg, const char *url, sp_yt_image *img, char *why,
                                size_t len);

/* POSTs img as video_id's thumbnail with the Authorization line auth. False
 * (why set) when YouTube did not take it. */
bool sp_youtube_thumbnail_send(const sp_config *cfg, const char *auth, const char *video_id,
                               const sp_yt_image *img, char *why, size_t len);

/* Closes img's file. */
void sp_youtube_thumbnail_free(sp_yt_image *img);

#endif
