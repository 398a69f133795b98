"""Checks on STORED bytes: one image, nothing after its end, no metadata but ICC; and the photo still upright.

assert_canonical reads the bytes themselves (segment by segment, chunk by chunk), never only Pillow's view:
- JPEG: segments up to the primary image's EOI; nothing after it; no COM, APP13, XMP, MPF or other APPn
  (APP0 JFIF, APP2 ICC_PROFILE and APP14 Adobe are format framing and colour, and stay); no second SOI.
- PNG: chunks up to IEND with valid CRCs; nothing after IEND; no tEXt, iTXt, zTXt or tIME; eXIf only as below.
- WebP: the RIFF length covers the file exactly; no XMP or ANMF chunk.
- Every format: EXIF is allowed only as Orientation alone (tag 0x0112 in IFD0, no other IFD, no thumbnail,
  at most 64 bytes: room for nothing else), and none of the planted strings, XMP or MPF signatures appear.
"""
import io
import struct
import zlib

from PIL import ExifTags, Image, ImageOps

PLANTED_MAKE = b"PlantedCam"
PLANTED_MODEL = b"Marker-9000"
PLANTED_XMP = b"PlantedXmpCity"
PLANTED_COMMENT = b"PlantedComment"
PLANTED_TEXT = b"PlantedIptcByline"
GPS_CITY = b"PlantedGpsDatum"
PLANTED = (PLANTED_MAKE, PLANTED_MODEL, PLANTED_XMP, PLANTED_COMMENT, PLANTED_TEXT, GPS_CITY, b"PlantedSoftware")
SIGNATURES = (b"<x:xmpmeta", b"http://ns.adobe.com/xap", b"MPF\0", b"hdrgm", b"Photoshop 3.0", b"8BIM")
ORIENTATION = 0x0112
MAX_EXIF_BYTES = 64
KEPT_APP = {0xE0: (b"JFIF\0", b"JFXX\0"), 0xE2: (b"ICC_PROFILE\0",), 0xEE: (b"Adobe",)}
PNG_METADATA = {b"tEXt", b"iTXt", b"zTXt", b"tIME"}


def assert_orientation_only(block):
    """An EXIF block (with or without the Exif\\0\\0 prefix) holding Orientation and nothing else."""
    assert len(block) <= MAX_EXIF_BYTES, f"EXIF block of {len(block)} bytes: more than an orientation"
    exif = Image.Exif()
    exif.load(block if block.startswith(b"Exif\0\0") else b"Exif\0\0" + block)
    assert set(exif) <= {ORIENTATION}, f"EXIF tags besides Orientation: {sorted(set(exif) - {ORIENTATION})}"
    assert not exif.get_ifd(ExifTags.IFD.IFD1), "EXIF carries a thumbnail directory"


def _entropy_end(data, pos):
    """The offset of the first real marker after entropy-coded data starting at pos."""
    while True:
        pos = data.index(b"\xff", pos)
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            pos += 1 if following == 0xFF else 2
            continue
        return pos


def jpeg_segments(data):
    """(marker, payload) of every segment of the first image, and the offset just after its EOI."""
    assert data[:2] == b"\xff\xd8", "does not start with SOI"
    segments, pos = [], 2
    while True:
        assert data[pos] == 0xFF, f"junk between segments at byte {pos}"
        while data[pos + 1] == 0xFF:
            pos += 1
        marker = data[pos + 1]
        if marker == 0xD9:
            return segments, pos + 2
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        segments.append((marker, data[pos + 4:pos + 2 + length]))
        pos += 2 + length
        if marker == 0xDA:
            pos = _entropy_end(data, pos)


def _check_jpeg(data):
    segments, end = jpeg_segments(data)
    assert end == len(data), f"{len(data) - end} bytes after the JPEG's EOI"
    assert data.find(b"\xff\xd8\xff", 2) == -1, "a second SOI inside the file"
    blocks = 0
    for marker, payload in segments:
        if marker == 0xE1 and payload.startswith(b"Exif\0\0"):
            assert_orientation_only(payload)
            blocks += 1
        elif 0xE0 <= marker <= 0xEF or marker == 0xFE:
            assert payload.startswith(KEPT_APP.get(marker, ())), f"metadata segment APP{marker - 0xE0} {payload[:12]!r}"
    return blocks


def _check_png(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    pos, blocks = 8, 0
    while True:
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(kind + body), kind
        assert kind not in PNG_METADATA, f"PNG metadata chunk {kind!r}"
        if kind == b"eXIf":
            assert_orientation_only(body)
            blocks += 1
        pos += 12 + length
        if kind == b"IEND":
            assert pos == len(data), f"{len(data) - pos} bytes after IEND"
            return blocks


def _check_webp(data):
    size = struct.unpack("<I", data[4:8])[0]
    assert data[8:12] == b"WEBP" and size + 8 == len(data), f"RIFF length {size + 8} but {len(data)} bytes"
    pos, blocks = 12, 0
    while pos < len(data):
        kind, length = struct.unpack("<4sI", data[pos:pos + 8])
        assert kind not in (b"XMP ", b"ANMF"), f"WebP chunk {kind!r}"
        if kind == b"EXIF":
            assert_orientation_only(data[pos + 8:pos + 8 + length])
            blocks += 1
        pos += 8 + length + (length & 1)
    return blocks


def assert_canonical(stored):
    """Fail (AssertionError with the reason) unless the stored image bytes are canonical, as described above."""
    if stored[:3] == b"\xff\xd8\xff":
        blocks = _check_jpeg(stored)
    elif stored[:8] == b"\x89PNG\r\n\x1a\n":
        blocks = _check_png(stored)
    elif stored[:4] == b"RIFF" and stored[8:12] == b"WEBP":
        blocks = _check_webp(stored)
    else:
        raise AssertionError(f"not a JPEG, PNG or WebP: {stored[:12]!r}")
    assert stored.count(b"Exif\0\0") <= blocks, "an EXIF block outside the image's own EXIF segment"
    for needle in PLANTED + SIGNATURES:
        assert needle not in stored, f"{needle!r} survived in the stored bytes"


def upright(stored):
    """True when, after applying EXIF orientation, the planted red square is in the top-left of a landscape page."""
    with Image.open(io.BytesIO(stored)) as image:
        picture = ImageOps.exif_transpose(image).convert("RGB")
    width, height = picture.size

    def red(x, y):
        r, g, b = picture.getpixel((int(x * width), int(y * height)))
        return r > 150 and g < 100 and b < 100

    return width > height and red(0.1, 0.1) and not (red(0.9, 0.1) or red(0.1, 0.9) or red(0.9, 0.9))
