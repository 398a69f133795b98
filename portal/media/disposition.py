"""Download names: the extension of the file's real type, and Content-Disposition that keeps Unicode names
intact (RFC 6266) with a readable ASCII fallback."""
import re
from urllib.parse import quote

from anyascii import anyascii

# The extensions a person may already have given a file of each type; any other gets the type's own added.
TYPE_EXTENSIONS = {
    "image/jpeg": ("jpg", "jpeg", "jpe", "jfif"),
    "image/png": ("png",),
    "image/webp": ("webp",),
    "image/heic": ("heic", "heif"),
    "application/pdf": ("pdf",),
}
MAX_FALLBACK_STEM = 100
UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._\- ()]+")


def _extension(name):
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def download_name(name, content_type):
    """The name with the sniffed type's extension: `x.jpg` stays, `x.html` becomes `x.html.jpg`."""
    accepted = TYPE_EXTENSIONS[content_type]
    name = name or f"proof.{accepted[0]}"
    return name if _extension(name) in accepted else f"{name}.{accepted[0]}"


def ascii_fallback(name):
    """A plain-ASCII version for old clients: transliterated, unsafe characters replaced, extension kept."""
    stem, dot, ext = name.rpartition(".")
    if not (dot and stem):
        stem, ext = name, ""
    ext = UNSAFE_ASCII.sub("", anyascii(ext))[:10]
    stem = UNSAFE_ASCII.sub("_", anyascii(stem)).strip(" ._")[:MAX_FALLBACK_STEM].rstrip(" ._")
    return f"{stem or 'proof'}.{ext}" if ext else (stem or "proof")


def content_disposition(kind, filename=None):
    """`inline` or `attachment; filename="ascii"; filename*=UTF-8''percent-encoded`."""
    if not filename:
        return kind
    return f"{kind}; filename=\"{ascii_fallback(filename)}\"; filename*=UTF-8''{quote(filename, safe='')}"
