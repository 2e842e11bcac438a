/*
 * mp4: a walk over ISO BMFF boxes (ISO/IEC 14496-12): 32-bit size and type,
 * a 64-bit size when the 32-bit one is 1, "to the end" when it is 0. The top
 * level is walked on the file without reading media data; moov, once whole
 * within the available bytes, is read into memory (bounded) and walked there.
 * Every size is checked against its parent before it is used.
 */
#include "core/mp4.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define MOOV_MAX (64LL << 20) /* a header larger than this is not one we read */
#define DEPTH_MAX 8

typedef struct {
    const unsigned char *p;
    size_t len;
} span;

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p) {
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* The box at the start of s: its type, its payload; false when malformed. */
static bool next_box(span s, char type[5], span *payload, size_t *box_len) {
    if (s.len < 8) return false;
    uint64_t size = be32(s.p);
    size_t header = 8;
    memcpy(type, s.p + 4, 4);
    type[4] = '\0';
    if (size == 1) {
        if (s.len < 16) return false;
        size = be64(s.p + 8);
        header = 16;
    } else if (size == 0) {
        size = s.len;
    }
    if (size < header || size > s.len) return false;
    payload->p = s.p + header;
    payload->len = (size_t)size - header;
    *box_len = (size_t)size;
    return true;
}

/* The first child box of s of the given type. */
static bool find_child(span s, const char *want, span *out) {
    while (s.len >= 8) {
        char type[5];
        span payload;
        size_t box_len;
        if (!next_box(s, type, &payload, &box_len)) return false;
        if (memcmp(type, want, 4) == 0) {
            *out = payload;
            return true;
        }
        s.p += box_len;
        s.len -= box_len;
    }
    return false;
}

/* mvhd: the movie's duration in seconds (0 when none). */
static double movie_duration(span mvhd) {
    if (mvhd.len < 4) return 0;
    int version = mvhd.p[0];
    uint64_t timescale, duration;
    if (version == 1) {
        if (mvhd.len < 4 + 28) return 0;
        timescale = be32(mvhd.p + 4 + 16);
        duration = be64(mvhd.p + 4 + 20);
    } else {
        if (mvhd.len < 4 + 16) return 0;
        timescale = be32(mvhd.p + 4 + 8);
        duration = be32(mvhd.p + 4 + 12);
    }
    if (timescale == 0 || duration == UINT64_MAX || (version == 0 && duration == UINT32_MAX))
        return 0; /* all ones: "unknown" */
    return (double)duration / (double)timescale;
}

/* True when the trak's media handler is video ("vide"). */
static bool is_video_track(span trak) {
    span mdia, hdlr;
    if (!find_child(trak, "mdia", &mdia) || !find_child(mdia, "hdlr", &hdlr)) return false;
    return hdlr.len >= 12 && memcmp(hdlr.p + 8, "vide", 4) == 0;
}

/* tkhd: the track's width and height as displayed (its matrix turned by 90
 * or 270 degrees swaps them); false when it has none. */
static bool track_size(span tkhd, int *width, int *height) {
    if (tkhd.len < 4) return false;
    size_t after_times = tkhd.p[0] == 1 ? 4 + 32 : 4 + 20; /* up to and with duration */
    size_t matrix = after_times + 8 + 2 + 2 + 2 + 2;
    if (tkhd.len < matrix + 36 + 8) return false;
    uint32_t w = be32(tkhd.p + matrix + 36) >> 16, h = be32(tkhd.p + matrix + 40) >> 16;
    if (w == 0 || h == 0 || w > 65535 || h > 65535) return false;
    int32_t a = (int32_t)be32(tkhd.p + matrix), b = (int32_t)be32(tkhd.p + matrix + 4);
    bool turned = a == 0 && (b == 0x10000 || b == -0x10000);
    *width = (int)(turned ? h : w);
    *height = (int)(turned ? w : h);
    return true;
}

/* Fills out from a whole moov payload. */
static void read_moov(span moov, sp_mp4_info *out) {
    memset(out, 0, sizeof *out);
    span mvhd;
    if (find_child(moov, "mvhd", &mvhd)) out->duration = movie_duration(mvhd);
    span s = moov;
    while (s.len >= 8 && !out->has_video) {
        char type[5];
        span payload, tkhd;
        size_t box_len;
        if (!next_box(s, type, &payload, &box_len)) break;
        if (!memcmp(type, "trak", 4) && is_video_track(payload) &&
            find_child(payload, "tkhd", &tkhd))
            out->has_video = track_size(tkhd, &out->width, &out->height);
        s.p += box_len;
        s.len -= box_len;
    }
}

/* Reads len bytes at offset of f into buf; false on a short read. */
static bool read_at(FILE *f, long long offset, unsigned char *buf, size_t len) {
    if (fseeko(f, (off_t)offset, SEEK_SET) != 0) return false;
    return fread(buf, 1, len, f) == len;
}

int sp_mp4_probe(FILE *f, long long available, sp_mp4_info *out, long long *need) {
    long long pos = 0;
    for (int boxes = 0; boxes < 4096; boxes++) {
        unsigned char head[16];
        if (pos + 8 > available) { /* no moov yet: it may still be on its way */
            *need = pos + 8;
            return 0;
        }
        if (!read_at(f, pos, head, pos + 16 <= available ? 16 : 8)) return -1;
        uint64_t size = be32(head);
        long long header = 8;
        if (size == 1) {
            if (pos + 16 > available) {
                *need = pos + 16;
                return 0;
            }
            size = be64(head + 8);
            header = 16;
        }
        if (boxes == 0 && memcmp(head + 4, "ftyp", 4) != 0 && memcmp(head + 4, "moov", 4) != 0)
            return -1;            /* not an ISO file (or not one that starts as they do) */
        if (size == 0) return -1; /* "to the end of the file": nothing after it, no moov */
        if (size < (uint64_t)header || size > (uint64_t)1 << 62) return -1;
        if (memcmp(head + 4, "moov", 4) == 0) {
            if ((long long)size > MOOV_MAX) return -1;
            if (pos + (long long)size > available) {
                *need = pos + (long long)size;
                return 0;
            }
            unsigned char *buf = malloc((size_t)size);
            if (!buf) return -1;
            int rc = read_at(f, pos, buf, (size_t)size) ? 1 : -1;
            span s = {buf, (size_t)size}, moov;
            char type[5];
            size_t box_len;
            if (rc == 1 && next_box(s, type, &moov, &box_len))
                read_moov(moov, out);
            else
                rc = -1;
            free(buf);
            return rc;
        }
        pos += (long long)size;
    }
    return -1;
}

int sp_mp4_probe_buffer(const unsigned char *buf, size_t len, sp_mp4_info *out, long long *need) {
    FILE *f = fmemopen((void *)buf, len ? len : 1, "rb");
    if (!f) return -1;
    int rc = sp_mp4_probe(f, (long long)len, out, need);
    fclose(f);
    return rc;
}

bool sp_mp4_is_vertical(const sp_mp4_info *info) {
    return info->has_video && info->height > info->width;
}
