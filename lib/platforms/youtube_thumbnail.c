/*
 * youtube_thumbnail: fetch a thumbnail image, then hand it to thumbnails.set
 * (see youtube_thumbnail.h). The image goes through a temporary file, as
 * videos do through the spool, so its size is known before it is sent.
 */
#include "platforms/youtube_thumbnail.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/http_client.h"
#include "core/json.h"
#include "platforms/youtube_answers.h"

/* The types thumbnails.set accepts (an absent Content-Type passes and is
 * sent as application/octet-stream, which it accepts too). */
static const char *const image_types[] = {"image/jpeg", "image/png", "application/octet-stream",
                                          NULL};

/* The media type to send for the answer's Content-Type. */
static void media_type_of(const char *content_type, char *out, size_t len) {
    if (!strncasecmp(content_type, "image/png", 9))
        snprintf(out, len, "image/png");
    else if (!strncasecmp(content_type, "image/jpeg", 10))
        snprintf(out, len, "image/jpeg");
    else
        snprintf(out, len, "application/octet-stream");
}

bool sp_youtube_thumbnail_fetch(const sp_config *cfg, const char *url, sp_yt_image *img, char *why,
                                size_t len) {
    memset(img, 0, sizeof *img);
    img->file = tmpfile();
    if (!img->file) {
        snprintf(why, len, "the thumbnail could not be stored on the worker");
        return false;
    }
    sp_http_download_req req = {.url = url,
                                .max_bytes = SP_YT_THUMBNAIL_MAX_BYTES,
                                .public_only = !cfg->allow_private_video_urls,
                                .media_types = image_types};
    sp_http_resp r;
    sp_err err;
    sp_err_clear(&err);
    bool ok = false;
    if (sp_http_download(&req, img->file, &r, &err) < 0)
        snprintf(why, len, "the thumbnail could not be fetched: %s", err.msg);
    else if (r.status != 200 && r.status != 206)
        snprintf(why, len, "the thumbnail could not be fetched: HTTP %ld", r.status);
    else if (fflush(img->file) != 0 || (img->size = ftello(img->file)) <= 0)
        snprintf(why, len, "the thumbnail at its URL is empty");
    else
        ok = true;
    if (ok) media_type_of(r.content_type, img->media_type, sizeof img->media_type);
    sp_http_resp_free(&r);
    sp_utf8_truncate(why, len - 1);
    if (!ok) sp_youtube_thumbnail_free(img);
    return ok;
}

bool sp_youtube_thumbnail_send(const sp_config *cfg, const char *auth, const char *video_id,
                               const sp_yt_image *img, char *why, size_t len) {
    char *id = sp_http_escape(video_id);
    char url[2048], type[64];
    if (!id) {
        snprintf(why, len, "out of memory");
        return false;
    }
    snprintf(url, sizeof url, "%s?videoId=%s&uploadType=media", cfg->youtube_thumbnails_url, id);
    free(id);
    snprintf(type, sizeof type, "Content-Type: %s", img->media_type);
    sp_http_req req = {.method = "POST",
                       .url = url,
                       .has_body = true,
                       .body_file = img->file,
                       .file_offset = 0,
                       .file_length = img->size,
                       .timeout_seconds = 120,
                       .headers = {auth, type}};
    sp_http_resp r;
    sp_err err;
    sp_http_perform(&req, &r, &err);
    bool ok = sp_youtube_thumbnail_answer(&r, why, len);
    sp_http_resp_free(&r);
    return ok;
}

void sp_youtube_thumbnail_free(sp_yt_image *img) {
    if (img->file) fclose(img->file);
    img->file = NULL;
}
