"""A minimal but real MP4 header (ISO/IEC 14496-12 boxes) for test videos.

ftyp, then moov (mvhd with the duration; one video trak whose tkhd holds the
width, height and rotation matrix, and whose hdlr says "vide"; optionally an
audio trak first), then mdat holding the rest of the file's bytes. With
moov_at_end the order is ftyp, mdat, moov, as a file that is not fast-start.
Enough for a reader of the picture size and duration; no media decodes from it.
"""
import struct


def box(kind, payload):
    """One box: 32-bit size, type, payload."""
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _matrix(rotation):
    """tkhd's 3x3 matrix (16.16 and 2.30 fixed point) for 0/90/180/270 degrees."""
    one, w = 0x10000, 0x40000000
    a, b, c, d = {0: (one, 0, 0, one), 90: (0, one, -one & 0xFFFFFFFF, 0),
                  180: (-one & 0xFFFFFFFF, 0, 0, -one & 0xFFFFFFFF),
                  270: (0, -one & 0xFFFFFFFF, one, 0)}[rotation]
    return struct.pack(">9I", a, b, 0, c, d, 0, 0, 0, w)


def _trak(handler, width, height, rotation, duration):
    tkhd = struct.pack(">B3sIIIII", 0, b"\x00\x00\x07", 0, 0, 1, 0, duration) \
        + b"\x00" * 8 + struct.pack(">hhhH", 0, 0, 0, 0) + _matrix(rotation) \
        + struct.pack(">II", width << 16, height << 16)
    hdlr = struct.pack(">I", 0) + struct.pack(">I4s", 0, handler) + b"\x00" * 12 + b"video\x00"
    return box(b"trak", box(b"tkhd", tkhd) + box(b"mdia", box(b"hdlr", hdlr)))


def header(width, height, duration_s, rotation=0, audio_first=False, timescale=1000):
    """(ftyp, moov) boxes for a video of that size and duration."""
    ftyp = box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41")
    dur = int(duration_s * timescale)
    mvhd = struct.pack(">B3sIIII", 0, b"\x00\x00\x00", 0, 0, timescale, dur) + b"\x00" * 80
    traks = _trak(b"vide", width, height, rotation, dur)
    if audio_first:
        traks = _trak(b"soun", 0, 0, 0, dur) + traks
    moov = box(b"moov", box(b"mvhd", mvhd) + traks)
    return ftyp, moov


def mdat_header(payload_len):
    """The 8-byte header of an mdat box holding payload_len bytes."""
    return struct.pack(">I4s", 8 + payload_len, b"mdat")


def layout(size, width, height, duration_s, rotation=0, moov_at_end=False):
    """(prefix bytes, media bytes to fill, suffix bytes) making a file of size bytes."""
    ftyp, moov = header(width, height, duration_s, rotation)
    fill = size - len(ftyp) - len(moov) - 8
    if fill < 0:
        raise ValueError("size too small for an MP4 header")
    if moov_at_end:
        return ftyp + mdat_header(fill), fill, moov
    return ftyp + moov + mdat_header(fill), fill, b""
