/*
 * mp4: what a video file says of its own picture: width and height as shown
 * (a rotated track counts rotated) and duration, read from the MP4/QuickTime
 * header (moov: mvhd, and each trak's tkhd and hdlr).
 *
 * Platforms decide by these (a vertical video is a Reel or a Short; TikTok
 * refuses a video longer than the creator may post), so they are read from
 * the file we upload, not trusted from anywhere else. The header may sit at
 * the start (fast-start files) or after the media data; sp_mp4_probe says how
 * many bytes it needs when the header lies beyond what has arrived, so a
 * caller streaming the download can wait for exactly those.
 *
 * Not here: decoding media, or any other container format (those read as
 * unknown, and every caller has a default for unknown).
 */
#ifndef SP_MP4_H
#define SP_MP4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct {
    bool has_video; /* a video track with a size was found */
    int width;      /* as displayed: a track turned by 90 or 270 degrees is swapped */
    int height;
    double duration; /* seconds (the movie header's), 0 when it gives none */
} sp_mp4_info;

/* Reads the header of the MP4 in f, of which the first available bytes are
 * on disk. 1: found (out filled; out->has_video may still be false: a file
 * with no video track); 0: the header lies beyond available, *need is how
 * many bytes from the start must be there (> available); -1: not an MP4 this
 * can read (out untouched). Never reads past available. */
int sp_mp4_probe(FILE *f, long long available, sp_mp4_info *out, long long *need);

/* The same on a header already in memory: buf holds the first len bytes of
 * the file. For tests and the fuzzer. */
int sp_mp4_probe_buffer(const unsigned char *buf, size_t len, sp_mp4_info *out, long long *need);

/* True when info says the picture is taller than wide (a portrait video). */
bool sp_mp4_is_vertical(const sp_mp4_info *info);

#endif
