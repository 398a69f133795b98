"""What may be stored: size, type sniffed from the bytes, an allowlist, decodable images and real PDFs.

Pure functions on bytes. A refused file raises ValidationError with a message for the person who sent it.
"""
import base64
import binascii
import io
import re
import unicodedata
import zlib
from dataclasses import dataclass

import magic
from flask_babel import lazy_gettext as _l
from PIL import Image

from .keys import EXTENSIONS

ALLOWED_TYPES = ("image/jpeg", "image/png", "image/webp", "application/pdf")
PILLOW_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
ALLOWED_HINT = _l("Allowed: JPEG, PNG or WebP photos and PDF documents.")
# PDF names that run code or open other programs. Such files are refused, not neutralised (docs/proof-files.md).
ACTIVE_PDF_NAMES = (b"/JavaScript", b"/JS", b"/Launch", b"/EmbeddedFile", b"/EmbeddedFiles", b"/RichMedia", b"/XFA", b"/SubmitForm")
NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
MAX_DISPLAY_NAME = 200


class ValidationError(ValueError):
    """The file cannot be stored; str(error) is the message for the user."""

    def __init__(self, message, *, code):
        super().__init__(message)
        self.message = message
        self.code = code  # a stable word for metrics and tests: empty, too_large, type, image, pdf

    def __str__(self):
        return str(self.message)


@dataclass(frozen=True)
class ValidatedFile:
    """A file that passed every check, with the type decided from its bytes."""

    data: bytes
    content_type: str
    extension: str
    display_name: str


def read_limited(stream, max_bytes, chunk_size=256 * 1024):
    """Read at most max_bytes from the stream; one byte more raises, so an oversized body is never held whole."""
    chunks, total = [], 0
    while True:
        chunk = stream.read(min(chunk_size, max_bytes + 1 - total))
        if not chunk:
            break
        total += len(chunk)
        if total > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(max_bytes):
    return ValidationError(_l("The file is larger than %(limit)s MB.", limit=_megabytes(max_bytes)), code="too_large")


def _megabytes(size):
    value = size / (1024 * 1024)
    return f"{value:.0f}" if value >= 1 and value == int(value) else f"{value:.1f}"


def sniff(data):
    """The MIME type libmagic reads from the first bytes."""
    return magic.from_buffer(data[:65536], mime=True)


def clean_display_name(name, extension):
    """The name to show and download under: NFC, no path, no control or bidi characters, capped in length."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(" " if c in "\t\n\r\v\f" else c for c in name)
    # Cc: control characters (NUL included); Cf: format characters such as right-to-left overrides.
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    name = " ".join(name.split()).strip(" .")
    if not name:
        return f"proof.{extension}"
    if len(name) > MAX_DISPLAY_NAME:
        stem, dot, ext = name.rpartition(".")
        keep = f".{ext}" if dot and len(ext) <= 10 else ""
        name = name[: MAX_DISPLAY_NAME - len(keep)].rstrip(" .") + keep
    return name


def _check_image(data, content_type, max_pixels):
    """The image decodes fully, is the format its bytes claim, and is not a pixel flood."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if PILLOW_FORMATS.get(image.format) != content_type:
                raise ValidationError(_l("The image is damaged or not what it claims to be."), code="image")
            width, height = image.size
            if width * height > max_pixels:
                raise ValidationError(
                    _l("The image is too large (%(w)s × %(h)s pixels). Please send a smaller photo.", w=width, h=height),
                    code="image")
            if image.format == "JPEG":
                # Decoding at 1/8 scale still reads every byte of the scan, so truncation is caught, 8x faster.
                image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
            image.load()
    except ValidationError:
        raise
    except Image.DecompressionBombError:
        raise ValidationError(_l("The image is too large. Please send a smaller photo."), code="image") from None
    except (OSError, SyntaxError, ValueError):
        raise ValidationError(_l("The image is damaged or incomplete and cannot be opened."), code="image") from None


IMAGE_FILTERS = {b"DCTDecode", b"DCT", b"JPXDecode", b"CCITTFaxDecode", b"CCF", b"JBIG2Decode"}
STREAM_START = re.compile(rb">>\s*stream\r?\n")
FILTERS = re.compile(rb"/Filter\s*(\[[^\]]*\]|/[A-Za-z0-9]+)")
MAX_INFLATED = 20 * 1024 * 1024


class _Unsure(Exception):
    """A stream we cannot read, so we cannot say the PDF is clean."""


def _unescape_names(data):
    return NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data)


def _decode(data, name):
    """One stream filter; image codecs return None (pixels, not objects)."""
    if name in (b"FlateDecode", b"Fl"):
        inflater = zlib.decompressobj()
        out = inflater.decompress(data, MAX_INFLATED)
        if inflater.unconsumed_tail:
            raise _Unsure()
        return out
    if name in (b"ASCIIHexDecode", b"AHx"):
        return binascii.unhexlify(re.sub(rb"[^0-9A-Fa-f]", b"", data.split(b">")[0]).ljust(2, b"0"))
    if name in (b"ASCII85Decode", b"A85"):
        body = data.strip()
        body = body[2:] if body.startswith(b"<~") else body
        return base64.a85decode(body.split(b"~>")[0] + b"~>", adobe=False, ignorechars=b" \t\n\r\x0b\x0c")
    if name in IMAGE_FILTERS:
        return None
    raise _Unsure()  # LZW, RunLength, Crypt or something unknown: refuse rather than guess


def _streams(data):
    """(dictionary, raw body) of every stream, found in one pass (no backtracking over the file)."""
    position = 0
    while (start := STREAM_START.search(data, position)) is not None:
        end = data.find(b"endstream", start.end())
        if end < 0:
            raise _Unsure()
        head = data[max(0, start.start() - 4096):start.start() + 2]
        yield head[head.rfind(b"obj") + 3:] if b"obj" in head else head, data[start.end():end]
        position = end + 9


def _pdf_texts(data):
    """The PDF's bytes and every decodable stream, with #xx escapes in names decoded."""
    yield _unescape_names(data)
    for dictionary, body in _streams(data):
        match = FILTERS.search(dictionary)
        names = re.findall(rb"/([A-Za-z0-9]+)", match.group(1)) if match else []
        try:
            for name in names:
                body = _decode(body, name)
                if body is None:
                    break
        except (zlib.error, binascii.Error, ValueError):
            raise _Unsure() from None
        if body is not None:
            yield _unescape_names(body)


def _check_pdf(data):
    """A real, unencrypted PDF with pages, and nothing in it that runs code, launches or embeds files."""
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    from .pdfium import pdf_document

    try:
        with pdf_document(data) as document:
            pages = len(document)
            scripts = pdfium_c.FPDFDoc_GetJavaScriptActionCount(document.raw)
    except pypdfium2.PdfiumError:
        raise ValidationError(_l("The PDF is damaged or password-protected and cannot be opened."), code="pdf") from None
    if pages < 1:
        raise ValidationError(_l("The PDF has no pages."), code="pdf")
    active = ValidationError(
        _l("The PDF contains scripts, actions or attached files, which are not accepted. "
           "Please print it to a new PDF or send a photo."), code="pdf")
    if scripts or re.search(rb"/Encrypt(?![A-Za-z0-9])", data):
        raise active  # encrypted streams cannot be checked
    try:
        for chunk in _pdf_texts(data):
            for name in ACTIVE_PDF_NAMES:
                if re.search(re.escape(name) + rb"(?![A-Za-z0-9])", chunk):
                    raise active
    except _Unsure:
        raise ValidationError(_l("This PDF cannot be checked for scripts. Please print it to a new PDF or send "
                                 "a photo."), code="pdf") from None


def validate(data, filename, *, max_bytes, max_pixels):
    """Check one uploaded file; return it with its sniffed type, or raise ValidationError."""
    if not data:
        raise ValidationError(_l("The file is empty."), code="empty")
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    content_type = sniff(data)
    if content_type not in ALLOWED_TYPES:
        raise ValidationError(_l("This kind of file is not accepted. %(hint)s", hint=ALLOWED_HINT), code="type")
    if content_type == "application/pdf":
        _check_pdf(data)
    else:
        _check_image(data, content_type, max_pixels)
    extension = EXTENSIONS[content_type]
    return ValidatedFile(data=data, content_type=content_type, extension=extension,
                         display_name=clean_display_name(filename, extension))
