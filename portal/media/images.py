"""Preparing files for storage: upright images without metadata, and small WebP thumbnails. Pure functions."""
import io
import struct
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageOps

THUMBNAIL_SIZE = (400, 400)
THUMBNAIL_QUALITY = 78
JPEG_QUALITY = 90
ORIENTATION_TAG = 0x0112
# JPEG segments that carry EXIF/XMP (APP1), IPTC (APP13) and comments (COM). APP0, ICC (APP2), APP14 stay.
STRIPPED_MARKERS = {0xE1, 0xED, 0xFE}


@dataclass(frozen=True)
class PreparedFile:
    """The bytes to store and the thumbnail to store beside them."""

    data: bytes
    thumbnail: bytes


def _orientation(image):
    try:
        return image.getexif().get(ORIENTATION_TAG, 1)
    except Exception:  # a broken EXIF block must not stop an otherwise good photo
        return 1


def strip_jpeg_metadata(data):
    """Drop EXIF, XMP, IPTC and comments from a JPEG without decoding it (no quality loss)."""
    out, pos = [data[:2]], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: the rest is image data
            break
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if marker not in STRIPPED_MARKERS:
            out.append(data[pos:pos + 2 + length])
        pos += 2 + length
    out.append(data[pos:])
    return b"".join(out)


def _reencode(image, fmt):
    """Encode an image again without any of its metadata (ICC colour profile kept)."""
    buffer = io.BytesIO()
    icc = image.info.get("icc_profile")
    options = {"icc_profile": icc} if icc else {}
    if fmt == "JPEG":
        image = image.convert("RGB") if image.mode not in ("RGB", "L", "CMYK") else image
        image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True, **options)
    elif fmt == "WEBP":
        image.save(buffer, "WEBP", quality=JPEG_QUALITY, **options)
    else:
        image.save(buffer, "PNG", optimize=False, **options)
    return buffer.getvalue()


def _thumbnail_from(image):
    mode = "RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB"
    if image.mode != mode:
        image = image.convert(mode)
    image.thumbnail(THUMBNAIL_SIZE, Image.Resampling.LANCZOS, reducing_gap=2.0)
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=THUMBNAIL_QUALITY, method=1)  # method 1: several times faster than 4
    return buffer.getvalue()


def image_thumbnail(data):
    """A WebP thumbnail, upright; big JPEGs are decoded in draft mode at a fraction of their size."""
    with Image.open(io.BytesIO(data)) as image:
        if image.format == "JPEG":
            # DCT scaling straight to the smallest size still at least as big as the thumbnail
            image.draft("RGB", THUMBNAIL_SIZE)
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
        return _thumbnail_from(image)


def prepare_image(data):
    """Upright, metadata-free bytes to store, plus their thumbnail (one full decode at most)."""
    with Image.open(io.BytesIO(data)) as image:
        fmt, orientation = image.format, _orientation(image)
        if fmt == "JPEG" and orientation == 1:
            stored = strip_jpeg_metadata(data)
            return PreparedFile(data=stored, thumbnail=image_thumbnail(stored))
        image.load()
        upright = ImageOps.exif_transpose(image, in_place=False) if orientation != 1 else image
        stored = _reencode(upright, fmt)
        return PreparedFile(data=stored, thumbnail=_thumbnail_from(upright))


def pdf_thumbnail(data):
    """The first page rendered to a WebP thumbnail, or a placeholder when it cannot be rendered."""
    from .pdfium import pdf_document

    try:
        with pdf_document(data) as document:
            page = document[0]
            width, height = page.get_size()
            scale = min(THUMBNAIL_SIZE[0] / width, THUMBNAIL_SIZE[1] / height, 4.0)
            image = page.render(scale=scale, may_draw_forms=False).to_pil()
            page.close()
        return _thumbnail_from(image)
    except Exception:  # rendering is a nicety; a placeholder is better than a failed upload
        return placeholder_thumbnail("PDF")


def placeholder_thumbnail(label):
    """A plain card with a label, for files that cannot be rendered."""
    image = Image.new("RGB", (300, 400), (238, 241, 246))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 279, 379), outline=(180, 188, 204), width=4)
    draw.text((150, 200), label, fill=(93, 102, 120), anchor="mm", font_size=64)
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=THUMBNAIL_QUALITY)
    return buffer.getvalue()


def thumbnail(data, content_type):
    """The thumbnail alone, for a file already stored (repair makes missing ones again)."""
    return pdf_thumbnail(data) if content_type == "application/pdf" else image_thumbnail(data)


def prepare(data, content_type):
    """The stored bytes and thumbnail for a validated file of this type."""
    if content_type == "application/pdf":
        return PreparedFile(data=data, thumbnail=pdf_thumbnail(data))
    return prepare_image(data)
