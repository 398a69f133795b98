"""What may be stored: size, type sniffed from the bytes, an allowlist, decodable images and real PDFs.

Two depths. check_upload is what the request does before answering: size, sniffed type, allowlist and the
image header (format, dimensions, pixel cap), reading the upload's stream without holding it in memory.
validate is the whole check a worker makes (the PDF policy too) on the bytes it read from incoming/.
Pure functions on bytes and streams. A refused file raises ValidationError with a message for its sender.
"""
import io
import os
import unicodedata
from dataclasses import dataclass
from typing import BinaryIO

import magic
import pillow_heif
from flask_babel import lazy_gettext as _l
from PIL import Image

from . import pdf
from .disposition import download_name
from .keys import EXTENSIONS

pillow_heif.register_heif_opener()  # iPhone photos (HEIC): read by Pillow, stored as JPEG

ALLOWED_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf")
# libmagic names a HEIF still from another camera image/heif; both are read and converted the same way
SNIFFED_ALIASES = {"image/heif": "image/heic"}
PILLOW_FORMATS = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp",
                  "HEIF": "image/heic"}
# What each accepted type is stored as: HEIC becomes JPEG, which every browser shows.
STORED_TYPES = {"image/heic": "image/jpeg"}
ALLOWED_HINT = _l("Allowed: JPEG, PNG, WebP or HEIC photos and PDF documents.")
MAX_DISPLAY_NAME = 200


def type_refusal():
    """The message for a file of a kind we do not take."""
    return _l("This kind of file is not accepted. %(hint)s", hint=ALLOWED_HINT)


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
    thumbnail: bytes = b""  # made by images.prepare


@dataclass(frozen=True)
class CheckedUpload:
    """An upload that passed the request's checks: its stream (rewound), size, sniffed type and display name."""

    stream: BinaryIO
    size: int
    content_type: str
    display_name: str

    @property
    def stored_type(self):
        """The type the worker stores it as."""
        return STORED_TYPES.get(self.content_type, self.content_type)


def read_limited(stream, max_bytes, chunk_size=256 * 1024, on_chunk=None):
    """Read at most max_bytes from the stream; one byte more raises, so an oversized body is never held whole.
    on_chunk, if given, sees every chunk as it arrives (to hash it, say)."""
    chunks, total = [], 0
    while True:
        chunk = stream.read(min(chunk_size, max_bytes + 1 - total))
        if not chunk:
            break
        total += len(chunk)
        if total > max_bytes:
            raise _too_large(max_bytes)
        if on_chunk is not None:
            on_chunk(chunk)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(max_bytes):
    return ValidationError(_l("The file is larger than %(limit)s MB.", limit=_megabytes(max_bytes)), code="too_large")


def _megabytes(size):
    value = size / (1024 * 1024)
    return f"{value:.0f}" if value >= 1 and value == int(value) else f"{value:.1f}"


def sniff(data):
    """The MIME type libmagic reads from the first bytes."""
    content_type = magic.from_buffer(data[:65536], mime=True)
    return SNIFFED_ALIASES.get(content_type, content_type)


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


def check_image_header(source, content_type, max_pixels):
    """The image's header names the sniffed format and a size within the pixel cap (the pixels are decoded later).

    source: bytes, or a seekable stream that Pillow reads only as far as the header."""
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            fmt, (width, height) = image.format, image.size
    except Image.DecompressionBombError:
        raise ValidationError(_l("The image is too large. Please send a smaller photo."), code="image") from None
    except Exception:  # any failure to read a header means the same thing to the sender
        raise ValidationError(_l("The image is damaged or incomplete and cannot be opened."), code="image") from None
    if PILLOW_FORMATS.get(fmt) != content_type:
        raise ValidationError(_l("The image is damaged or not what it claims to be."), code="image")
    if width * height > max_pixels:
        raise ValidationError(
            _l("The image is too large (%(w)s × %(h)s pixels). Please send a smaller photo.", w=width, h=height),
            code="image")


RESEND = _l("Please print it again to a new PDF, or send a photo of the document.")
PDF_REFUSALS = {
    "script": _l("This PDF contains a script."),
    "launch": _l("This PDF contains an action that starts other programs."),
    "other_file": _l("This PDF contains a link that opens another file or document."),
    "attachment": _l("This PDF has files attached inside it."),
    "form_data": _l("This PDF contains a form that sends or loads data."),
    "xfa": _l("This PDF is an interactive (XFA) form."),
    "media": _l("This PDF contains video, sound or other interactive media."),
    "uri": _l("This PDF contains a link to a file on a computer or network, or a script link."),
    "auto_action": _l("This PDF runs an action by itself when it is opened or used."),
    "too_complex": _l("This PDF is too complex to be checked."),
}


def _pdf_refusal(kind):
    if kind == "password":
        return ValidationError(_l("This PDF is protected by a password. Please send a copy without a password, "
                                  "or a photo of the document."), code="pdf_password")
    if kind == "no_pages":
        # Not damaged: qpdf and PDFium both open it, it just holds nothing to look at.
        return ValidationError(_l("This PDF has no pages, so there is nothing in it to see. Please send the PDF "
                                  "with the document in it, or a photo of the document."), code="pdf_no_pages")
    if kind == "damaged":
        return ValidationError(_l("The PDF is damaged and cannot be opened. %(resend)s", resend=RESEND),
                               code="pdf_damaged")
    return ValidationError(_l("%(what)s %(resend)s", what=PDF_REFUSALS[kind], resend=RESEND), code=f"pdf_{kind}")


def _check_pdf(data):
    """The PDF's bytes to store when it holds to the policy (docs/proof-files.md) and PDFium shows its pages."""
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    from .pdfium import pdf_document

    try:
        checked = pdf.check(data)
    except pdf.PdfRefused as refused:
        raise _pdf_refusal(refused.finding.kind) from None
    try:
        with pdf_document(checked.data) as document:
            pages = len(document)
            scripts = pdfium_c.FPDFDoc_GetJavaScriptActionCount(document.raw)
    except pypdfium2.PdfiumError:
        raise _pdf_refusal("damaged") from None
    if scripts:  # a second reader's opinion: PDFium found a script qpdf's graph did not show
        raise _pdf_refusal("script")
    if pages < 1:
        raise _pdf_refusal("no_pages")
    return checked.data


def _stream_size(stream):
    """Bytes left in a seekable stream, without moving it."""
    start = stream.tell()
    end = stream.seek(0, os.SEEK_END)
    stream.seek(start)
    return end - start


def check_upload(stream, filename, *, max_bytes, max_pixels):
    """The request's checks on a seekable upload stream: size, sniffed type, allowlist, image header; the
    stream is read only as far as these need and left rewound for the put."""
    size = _stream_size(stream)
    if size == 0:
        raise ValidationError(_l("The file is empty."), code="empty")
    if size > max_bytes:
        raise _too_large(max_bytes)
    start = stream.tell()
    content_type = sniff(stream.read(65536))
    stream.seek(start)
    if content_type not in ALLOWED_TYPES:
        raise ValidationError(type_refusal(), code="type")
    if content_type != "application/pdf":  # a PDF's header is its sniffed type; its structure is the worker's
        check_image_header(stream, content_type, max_pixels)
        stream.seek(start)
    stored = STORED_TYPES.get(content_type, content_type)
    return CheckedUpload(stream=stream, size=size, content_type=content_type,
                         display_name=download_name(clean_display_name(filename, EXTENSIONS[stored]), stored))


def validate(data, filename, *, max_bytes, max_pixels):
    """Check one uploaded file; return it with its sniffed type, or raise ValidationError."""
    if not data:
        raise ValidationError(_l("The file is empty."), code="empty")
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    content_type = sniff(data)
    if content_type not in ALLOWED_TYPES:
        raise ValidationError(type_refusal(), code="type")
    if content_type == "application/pdf":
        data = _check_pdf(data)
    else:
        check_image_header(data, content_type, max_pixels)
    extension = EXTENSIONS[content_type]
    return ValidatedFile(data=data, content_type=content_type, extension=extension,
                         display_name=download_name(clean_display_name(filename, extension), content_type))
