/*
 * spool: download once, under a lock, to a temporary name; rename when whole.
 */
#include "queue/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/http_client.h"

int sp_spool_init(const char *dir, sp_err *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) break;
        *p = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return sp_err_set(err, SP_ERR_INTERNAL, "spool", "cannot create spool dir %s: %s", dir,
                          strerror(errno));
    return 0;
}

static void job_path(char *buf, size_t len, const char *dir, const char *job_id,
                     const char *suffix) {
    snprintf(buf, len, "%s/%s%s", dir, job_id, suffix);
}

/* True for the media types a video URL may answer with. Storage services
 * often serve uploads as application/octet-stream. */
static bool video_media_type(const char *ct) {
    if (!*ct) return true;
    return strncasecmp(ct, "video/", 6) == 0 ||
           strncasecmp(ct, "application/octet-stream", 24) == 0 ||
           strncasecmp(ct, "binary/octet-stream", 19) == 0;
}

/* Judges a finished download: 0 when it is a usable video. */
static int judge_download(const sp_http_resp *resp, long long size, sp_err *err) {
    long s = resp->status;
    if (s == 429 || s >= 500 || s == 416) /* 416: the partial file is stale; it goes */
        return sp_err_set(err, SP_ERR_TRANSIENT, "video_fetch_failed",
                          "reading the video failed with HTTP %ld; will retry", s);
    if (s != 200 && s != 206)
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "video_not_found",
                          "the video file could not be read from its URL (HTTP %ld)", s);
    if (!video_media_type(resp->content_type))
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "not_a_video",
                          "the video URL returned %.60s, not a video", resp->content_type);
    if (size == 0)
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "empty_video", "the video file is empty");
    return 0;
}

/* Size of the open file f, or -1. */
static long long file_size(FILE *f) {
    struct stat st;
    return fstat(fileno(f), &st) == 0 ? (long long)st.st_size : -1;
}

/* Downloads url into part_path, continuing what an interrupted download left
 * there; 0 when the file is a complete video. A transient failure keeps the
 * partial file for the next try; anything else removes it. */
static int fetch(const char *url, const char *part_path, long long max_bytes, bool public_only,
                 sp_err *err) {
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "invalid_video_url",
                          "the video URL is not an http(s) URL");
    FILE *f = fopen(part_path, "ab");
    if (!f)
        return sp_err_set(err, SP_ERR_TRANSIENT, "spool", "cannot write the spool file: %s",
                          strerror(errno));
    sp_http_resp resp;
    int rc = sp_http_download(url, f, file_size(f), max_bytes, public_only, &resp, err);
    if ((fflush(f) != 0 || fsync(fileno(f)) != 0) && rc == 0)
        rc = sp_err_set(err, SP_ERR_TRANSIENT, "spool", "spool write failed: %s", strerror(errno));
    long long size = file_size(f);
    fclose(f);
    if (rc < 0 && strcmp(err->code, "too_large") == 0)
        rc = sp_err_set(err, SP_ERR_UNPROCESSABLE, "video_too_large",
                        "the video is larger than the %lld byte limit", max_bytes);
    else if (rc < 0 && err->kind != SP_ERR_TRANSIENT && err->kind != SP_ERR_UNPROCESSABLE)
        rc = sp_err_set(err, SP_ERR_TRANSIENT, "video_fetch_failed",
                        "reading the video failed (%.150s); will retry", resp.transport_error);
    else if (rc == 0)
        rc = judge_download(&resp, size, err);
    if (rc < 0 && (err->kind != SP_ERR_TRANSIENT || resp.status == 416)) unlink(part_path);
    sp_http_resp_free(&resp);
    return rc;
}

int sp_spool_open(const char *dir, const char *job_id, const char *url, long long max_bytes,
                  bool public_only, FILE **out, long long *size, sp_err *err) {
    return sp_spool_fetch(dir, job_id, url, max_bytes, public_only, NULL, NULL, out, size, err);
}

int sp_spool_fetch(const char *dir, const char *job_id, const char *url, long long max_bytes,
                   bool public_only, sp_spool_part_fn on_part, void *arg, FILE **out,
                   long long *size, sp_err *err) {
    char lock_path[4096], video_path[4096], tmp_path[4096];
    job_path(lock_path, sizeof lock_path, dir, job_id, ".lock");
    job_path(video_path, sizeof video_path, dir, job_id, ".video");
    job_path(tmp_path, sizeof tmp_path, dir, job_id, ".part"); /* one writer: the lock */
    *out = NULL;
    if (!url || !*url)
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "invalid_video_url", "the video has no URL");
    int lock_fd = open(lock_path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX) != 0) {
        if (lock_fd >= 0) close(lock_fd);
        return sp_err_set(err, SP_ERR_TRANSIENT, "spool", "cannot lock the spool: %s",
                          strerror(errno));
    }
    int rc = -1;
    FILE *f = fopen(video_path, "rb");
    if (!f && on_part) { /* the file the download writes, for readers while it does */
        int part_fd = open(tmp_path, O_CREAT | O_RDONLY | O_CLOEXEC, 0600);
        if (part_fd < 0) {
            sp_err_set(err, SP_ERR_TRANSIENT, "spool", "cannot open the spool file: %s",
                       strerror(errno));
            goto done;
        }
        on_part(arg, part_fd);
    }
    if (!f) {
        if (fetch(url, tmp_path, max_bytes, public_only, err) < 0) goto done;
        if (rename(tmp_path, video_path) != 0 || !(f = fopen(video_path, "rb"))) {
            sp_err_set(err, SP_ERR_TRANSIENT, "spool", "spool file lost: %s", strerror(errno));
            goto done;
        }
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        sp_err_set(err, SP_ERR_TRANSIENT, "spool", "cannot stat the spool file");
        goto done;
    }
    *size = (long long)st.st_size;
    *out = f;
    f = NULL;
    rc = 0;
done:
    if (f) fclose(f);
    flock(lock_fd, LOCK_UN);
    close(lock_fd);
    return rc;
}

void sp_spool_remove(const char *dir, const char *job_id) {
    char path[4096];
    job_path(path, sizeof path, dir, job_id, ".video");
    unlink(path);
    /* the .lock stays (another slot may hold it); the sweep takes it a day later */
}

int sp_spool_sweep(const char *dir, double max_age) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int removed = 0;
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        bool ours =
            strstr(e->d_name, ".video") || strstr(e->d_name, ".part") || strstr(e->d_name, ".lock");
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (ours && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
            difftime(now, st.st_mtime) > max_age && unlink(path) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}
