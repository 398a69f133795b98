"""Content-Disposition values that keep any Unicode filename intact (RFC 6266 with an ASCII fallback)."""
import unicodedata
from urllib.parse import quote


def ascii_fallback(name):
    """A plain-ASCII version of the name for old clients: accents dropped, unsafe characters replaced."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    safe = "".join(c if c.isalnum() or c in "._- ()" else "_" for c in folded).strip(" ._")
    stem_ext = name.rsplit(".", 1)
    if not safe.replace("_", "") or safe.startswith("."):
        safe = "proof" + (f".{stem_ext[1]}" if len(stem_ext) == 2 and stem_ext[1].isascii() else "")
    return safe[:150]


def content_disposition(kind, filename=None):
    """`inline` or `attachment; filename="ascii"; filename*=UTF-8''percent-encoded`."""
    if not filename:
        return kind
    return f"{kind}; filename=\"{ascii_fallback(filename)}\"; filename*=UTF-8''{quote(filename, safe='')}"
