"""Preparing files for storage: canonical images (one image, no metadata but ICC) and small WebP thumbnails.

Pure functions on bytes. Orientation is kept as an orientation-only EXIF tag (a JPEG APP1 segment, a PNG eXIf
chunk, a WebP EXIF chunk), so images are never re-encoded to rotate or strip them; the thumbnail decode is the
one full decode that proves an image whole, and it turns the thumbnail upright.
"""
import io
import logging
from contextlib import contextmanager
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageDraw
from rq.timeouts import BaseTimeoutException

from . import containers, pdf
from .validation import ValidationError

log = logging.getLogger("portal.media")
THUMBNAIL_SIZE = (400, 400)
THUMBNAIL_QUALITY = 78
REENCODE_QUALITY = 90
ORIENTATION_TAG = 0x0112
# A first page that draws more image pixels or instruction bytes than these gets a placeholder thumbnail:
# PDFium decodes every pixel to scale it and parses every instruction before it draws (about 6 MB a second
# here), and neither can be interrupted. Drawing itself is interrupted after THUMBNAIL_RENDER_SECONDS, so a
# thumbnail costs about a second of CPU at most.
MAX_THUMBNAIL_SOURCE_PIXELS = 50_000_000
MAX_THUMBNAIL_CONTENT_BYTES = 3 * 1024 * 1024
THUMBNAIL_RENDER_SECONDS = 0.5
UNREADABLE = _l("The file could not be read. Please send a new photo or PDF.")


@dataclass(frozen=True)
class PreparedFile:
    """The bytes to store and the thumbnail to store beside them."""

    data: bytes
    thumbnail: bytes


def _orientation(image):
    try:
        value = image.getexif().get(ORIENTATION_TAG, 1)
    except Exception:  # a broken EXIF block must not stop an otherwise good photo
        return 1
    return value if value in range(1, 9) else 1


def canonical_image(data, content_type):
    """The bytes to store: the primary image only, metadata cut out (ICC kept), its orientation kept as a tag."""
    if content_type == "image/png":
        return containers.canonical_png(data)  # finds the orientation in the chunks it walks
    with Image.open(io.BytesIO(data)) as image:  # reads the header and the EXIF block, no pixels
        orientation = _orientation(image)
    if content_type == "image/jpeg":
        return containers.canonical_jpeg(data, orientation)
    return containers.canonical_webp(data, orientation)


# How to turn a picture upright for each EXIF orientation (2-8); 1 is upright already.
UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
           5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_90}


def _fitted(size):
    """The size a picture of this size takes inside THUMBNAIL_SIZE (never larger than it is)."""
    scale = min(THUMBNAIL_SIZE[0] / size[0], THUMBNAIL_SIZE[1] / size[1], 1.0)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _thumbnail_from(image, orientation=1):
    mode = "RGBA" if image.mode in ("RGBA", "LA", "P", "PA") else "RGB"
    if image.mode != mode:
        image = image.convert(mode)
    image.thumbnail(THUMBNAIL_SIZE, Image.Resampling.LANCZOS, reducing_gap=2.0)
    if orientation in UPRIGHT:  # turned at thumbnail size: a fraction of the pixels of the whole picture
        image = image.transpose(UPRIGHT[orientation])
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=THUMBNAIL_QUALITY, method=1)  # method 1: several times faster than 4
    return buffer.getvalue()


def image_thumbnail(source):
    """A WebP thumbnail, upright; decoding reads every byte of the image, so a broken one raises here.

    source: the image's bytes, or a file to read them from."""
    with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
        if image.format == "JPEG":
            # DCT scaling straight to the smallest size still at least as big as the thumbnail it makes (asking
            # for the whole box would keep a 4:3 photo at twice the scale it needs)
            image.draft("RGB", _fitted(image.size))
        image.load()  # first: reading a PNG's EXIF would decode it, and swallow the error a broken one raises
        return _thumbnail_from(image, _orientation(image))


def pdf_thumbnail(data):
    """The first page rendered to a WebP thumbnail, or a placeholder when it cannot be rendered cheaply."""
    from .pdfium import pdf_document, render_within

    try:
        cost = pdf.first_page_cost(data, MAX_THUMBNAIL_CONTENT_BYTES)
        if cost.image_pixels > MAX_THUMBNAIL_SOURCE_PIXELS or cost.content_bytes > MAX_THUMBNAIL_CONTENT_BYTES:
            return placeholder_thumbnail("PDF")  # e.g. a fax page of 35000 x 35000: seconds of CPU for 400 px
        with pdf_document(data) as document:
            page = document[0]
            width, height = page.get_size()
            scale = min(THUMBNAIL_SIZE[0] / width, THUMBNAIL_SIZE[1] / height, 4.0)
            image = render_within(page, max(1, round(width * scale)), max(1, round(height * scale)),
                                  THUMBNAIL_RENDER_SECONDS)
            page.close()
        return _thumbnail_from(image) if image is not None else placeholder_thumbnail("PDF")
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


def heic_to_jpeg(data):
    """An iPhone photo (HEIC) as JPEG, with its thumbnail from the same decode: the one conversion that
    re-encodes, because browsers cannot show HEIC. libheif applies the photo's rotation while decoding; the
    JPEG carries only the colour profile."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()  # the primary image (pillow-heif opens it first), as with a JPEG's MPO frames
        icc = image.info.get("icc_profile")
        picture = image.convert("RGB")
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=REENCODE_QUALITY, **({"icc_profile": icc} if icc else {}))
    return PreparedFile(data=buffer.getvalue(), thumbnail=_thumbnail_from(picture))


def thumbnail(data, content_type):
    """The thumbnail alone, for a file already stored (repair makes missing ones again)."""
    return pdf_thumbnail(data) if content_type == "application/pdf" else image_thumbnail(data)


def stage(data, content_type):
    """The first half of prepare: the bytes to store, without decoding a pixel (a HEIC's conversion is its one
    decode, so its thumbnail comes with it; otherwise thumbnail is None until make_thumbnail). Run inside
    refusals()."""
    if content_type == "application/pdf":
        return PreparedFile(data=data, thumbnail=None)
    if content_type == "image/heic":
        return heic_to_jpeg(data)
    return PreparedFile(data=canonical_image(data, content_type), thumbnail=None)


def make_thumbnail(staged, content_type, ahead=None):
    """The second half: the thumbnail of staged bytes (the full decode that proves an image whole), or the one
    a decode already reading them makes (arriving.DecodeAhead). Run inside refusals()."""
    if staged.thumbnail is not None:
        return staged.thumbnail
    return ahead.thumbnail() if ahead is not None else thumbnail(staged.data, content_type)


@contextmanager
def refusals(content_type):
    """Turn whatever a decoder raises on a file into the ValidationError its sender reads."""
    try:
        yield
    except (ValidationError, BaseTimeoutException):  # already worded (a ValueError); the job's time is up (retry)
        raise
    except containers.AnimatedImageError:
        raise ValidationError(_l("Animated images are not accepted. Please send a photo or a PDF."),
                              code="image") from None
    except Image.DecompressionBombError:
        raise ValidationError(_l("The image is too large. Please send a smaller photo."), code="image") from None
    except (containers.ContainerError, OSError, SyntaxError, ValueError):
        raise ValidationError(_l("The image is damaged or incomplete and cannot be opened."), code="image") from None
    except Exception:  # hostile bytes can upset any decoder: refuse the file, never fail the request
        log.warning("media.prepare failed on a %s file", content_type, exc_info=True)
        raise ValidationError(UNREADABLE, code="unreadable") from None


def prepare(data, content_type):
    """Canonical bytes and thumbnail of a validated file; ValidationError when the file does not hold up."""
    with refusals(content_type):
        staged = stage(data, content_type)
        return PreparedFile(data=staged.data, thumbnail=make_thumbnail(staged, content_type))
