"""Canonical image containers: exactly one image, no metadata but the colour profile and an orientation-only
EXIF tag, nothing after its end.

These functions only copy the container's own units (JPEG segments, PNG chunks, WebP RIFF chunks) that a
decoder needs, in order, and stop at the image's end marker. They never decode or re-encode pixels, and
they never trust a length they cannot check; whatever they return is then decoded in full by Pillow
(images.prepare), so a file they misread is refused, never stored.
"""
import re
import struct
import zlib

from PIL import Image


class ContainerError(ValueError):
    """The file's structure is broken where the canonical copy needs it whole."""


class AnimatedImageError(ContainerError):
    """An animation: several pictures where a proof is one."""


# --- JPEG -------------------------------------------------------------------------------------------------

SOI, EOI, SOS = 0xD8, 0xD9, 0xDA
# Frames, tables and restart intervals, what a decoder needs: SOF0-15 (JPG excepted), DHT, DAC, DQT, DNL, DRI,
# DHP, EXP.
JPEG_KEEP = {*range(0xC0, 0xD0), 0xDB, 0xDC, 0xDD, 0xDE, 0xDF} - {0xC8}
APP0, APP2, APP14 = 0xE0, 0xE2, 0xEE
ORIENTATION = 0x0112


def _jfif(payload):
    """The JFIF header without its embedded thumbnail (a second picture has no place in a proof)."""
    if not payload.startswith(b"JFIF\x00") or len(payload) < 14:
        return None
    return payload[:12] + b"\x00\x00"


def _kept_app(marker, payload):
    """The APPn segments worth keeping: JFIF (density), ICC profiles (colour) and Adobe (colour transform)."""
    if marker == APP0:
        return _jfif(payload)
    if marker == APP2 and payload.startswith(b"ICC_PROFILE\x00"):
        return payload
    if marker == APP14 and payload.startswith(b"Adobe") and len(payload) >= 12:
        return payload[:12]
    return None  # EXIF, XMP, MPF, IPTC, FlashPix, maker notes, ...


def _segment(marker, payload):
    if len(payload) + 2 > 0xFFFF:
        raise ContainerError("segment too long")
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def _next_marker(data, pos):
    """The marker at or after pos, skipping stray bytes and fill bytes as libjpeg does; (marker, position after it)."""
    pos = data.find(b"\xff", pos)
    while pos >= 0:
        end = pos
        while end < len(data) and data[end] == 0xFF:
            end += 1
        if end >= len(data):
            break
        if data[end] != 0x00:
            return data[end], end + 1
        pos = data.find(b"\xff", end + 1)
    raise ContainerError("no end of image")


# In entropy-coded data a 0xFF is followed by 0x00 (a stuffed byte), 0xD0-0xD7 (a restart marker) or another 0xFF
# (fill); the first 0xFF followed by anything else starts the next marker. The regular expression engine finds it
# in C, where a loop in Python took ~5 ms over a 4 MB photo (one 0xFF every 256 bytes or so).
_MARKER_AFTER_SCAN = re.compile(rb"\xff(?=[^\x00\xd0-\xd7\xff])")


def _entropy_end(data, pos):
    """Where the entropy-coded data after a scan header ends: the first marker that is not a restart or stuffing."""
    found = _MARKER_AFTER_SCAN.search(data, pos)
    return found.start() if found else len(data)  # no marker: the decoder decides whether the scan is whole


def canonical_jpeg(data, orientation=1):
    """The primary image alone with its tables, JFIF, ICC and Adobe segments, and an orientation-only EXIF."""
    if data[:2] != b"\xff\xd8":
        raise ContainerError("not a JPEG")
    head, body, pos, tail = [], [], 2, b""
    while True:
        try:
            marker, pos = _next_marker(data, pos)
        except ContainerError:
            if body:  # the last scan ran to the end of the file: no EOI, so the decoder judges if it is whole
                break
            raise
        if marker == EOI:
            tail = b"\xff\xd9"
            break
        if marker == SOI or 0xD0 <= marker <= 0xD7 or marker == 0x01:
            raise ContainerError("unexpected marker")
        if pos + 2 > len(data):
            raise ContainerError("truncated segment")
        length = struct.unpack(">H", data[pos:pos + 2])[0]
        if length < 2 or pos + length > len(data):
            raise ContainerError("segment length out of range")
        payload = data[pos + 2:pos + length]
        pos += length
        if 0xE0 <= marker <= 0xEF:
            kept = _kept_app(marker, payload)
            if kept is not None and not body:
                head.append(_segment(marker, kept))
        elif marker in JPEG_KEEP or marker == SOS:
            body.append(_segment(marker, payload))
            if marker == SOS:
                end = _entropy_end(data, pos)
                body.append(data[pos:end])
                pos = end
        # COM, JPGn and other markers are dropped
    if not any(part[:2] == b"\xff\xda" for part in body):
        raise ContainerError("no image data")
    head = _with_orientation(head, orientation)
    return b"".join([b"\xff\xd8", *head, *body, tail])


def orientation_exif(orientation):
    """An EXIF block that says only how to turn the picture (TIFF tag 0x0112)."""
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    block = exif.tobytes()
    return block if block.startswith(b"Exif\x00\x00") else b"Exif\x00\x00" + block


def exif_orientation(block):
    """The orientation an EXIF block (with or without its Exif\\0\\0 prefix) gives, 1 when none or unreadable."""
    exif = Image.Exif()
    try:
        exif.load(block if block.startswith(b"Exif\x00\x00") else b"Exif\x00\x00" + block)
        value = exif.get(ORIENTATION, 1)
    except Exception:  # a broken EXIF block must not stop an otherwise good picture
        return 1
    return value if value in range(1, 9) else 1


def _with_orientation(head, orientation):
    if orientation == 1:
        return head
    segment = _segment(0xE1, orientation_exif(orientation))
    jfif = 1 if head and head[0][1] == APP0 else 0
    return head[:jfif] + [segment] + head[jfif:]


# --- PNG --------------------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Critical chunks and the ancillary ones that change how pixels look; text, EXIF, time, animation and private
# chunks are dropped (APNG frames included: the default image stays).
PNG_KEEP = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"pHYs",
            b"cICP", b"mDCV", b"cLLI", b"bKGD"}


def _png_chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def canonical_png(data):
    """The PNG's rendering chunks up to IEND, CRCs checked, nothing after IEND; the orientation of its eXIf
    chunk, if any, kept alone in a new eXIf right after IHDR (PNG 3 wants it before the image data).

    The orientation is read here rather than through Pillow, which decodes every pixel of a PNG to look for
    an eXIf chunk after the image data."""
    if not data.startswith(PNG_SIGNATURE):
        raise ContainerError("not a PNG")
    out, pos, first, orientation = [PNG_SIGNATURE], len(PNG_SIGNATURE), True, 1
    while True:
        if pos + 12 > len(data):
            raise ContainerError("truncated chunk")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > len(data):
            raise ContainerError("chunk length out of range")
        crc = struct.unpack(">I", data[end - 4:end])[0]
        if zlib.crc32(data[pos + 4:end - 4]) & 0xFFFFFFFF != crc:
            raise ContainerError("chunk checksum mismatch")
        if first and kind != b"IHDR":
            raise ContainerError("IHDR is not first")
        first = False
        if kind in PNG_KEEP:
            out.append(data[pos:end])
        elif kind == b"eXIf" and orientation == 1:  # the first one counts, as in Pillow
            orientation = exif_orientation(data[pos + 8:end - 4])
        pos = end
        if kind == b"IEND":
            if orientation != 1:
                out.insert(2, _png_chunk(b"eXIf", orientation_exif(orientation)[6:]))
            return b"".join(out)


# --- WebP -------------------------------------------------------------------------------------------------

WEBP_KEEP = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ICCP"}
VP8X_ICC, VP8X_ALPHA, VP8X_EXIF = 0x20, 0x10, 0x08


def _vp8x(extended, has_icc, orientation):
    """The VP8X payload with flags for what the file now holds (alpha, ICC, EXIF) and the same canvas."""
    if len(extended) < 10:
        raise ContainerError("VP8X too short")
    flags = (extended[0] & VP8X_ALPHA) | (VP8X_ICC if has_icc else 0) | (VP8X_EXIF if orientation != 1 else 0)
    return bytes([flags, 0, 0, 0]) + extended[4:10]


def canonical_webp(data, orientation=1):
    """The WebP's image, alpha and ICC chunks inside a RIFF of the right length; no XMP or frames, and EXIF only
    as an orientation-only chunk after the image, flagged in VP8X. Exactly one image: a second image chunk (libwebp
    shows only the first, so a second picture would pass unseen) or any kept chunk twice is refused, and a file in
    the simple layout keeps its image chunk alone (alpha and ICC chunks count only in the extended one)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ContainerError("not a WebP")
    end = 8 + struct.unpack("<I", data[4:8])[0]
    if end > len(data) or end < 12:
        raise ContainerError("RIFF length out of range")
    chunks, pos = [], 12
    while pos + 8 <= end:
        kind, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        stop = pos + 8 + size
        if stop > end:
            raise ContainerError("chunk length out of range")
        if kind in (b"ANIM", b"ANMF"):
            raise AnimatedImageError("animated")
        if kind in WEBP_KEEP:
            chunks.append((kind, data[pos + 8:stop]))
        pos = stop + (size & 1)
    kinds = [kind for kind, _ in chunks]
    images = sum(kind in (b"VP8 ", b"VP8L") for kind in kinds)
    if images == 0:
        raise ContainerError("no image data")
    if images > 1 or len(set(kinds)) < len(kinds):
        raise ContainerError("more than one image, or a chunk twice")
    extended = next((payload for kind, payload in chunks if kind == b"VP8X"), None)
    if extended is None:  # the simple layout: its image alone (and no orientation, which needs EXIF in VP8X)
        chunks = [chunk for chunk in chunks if chunk[0] in (b"VP8 ", b"VP8L")]
    else:
        has_icc = any(kind == b"ICCP" for kind, _ in chunks)
        exif = [(b"EXIF", orientation_exif(orientation)[6:])] if orientation != 1 else []
        chunks = [(b"VP8X", _vp8x(extended, has_icc, orientation)),
                  *(chunk for chunk in chunks if chunk[0] != b"VP8X"), *exif]
    body = b"".join(kind + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) & 1 else b"")
                    for kind, payload in chunks)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body
