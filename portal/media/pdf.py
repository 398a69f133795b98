"""The portal's PDF policy, checked on the object graph that qpdf (through pikepdf) parses.

qpdf decodes every filter and predictor, object and cross-reference streams, name escapes, encryption and
incremental updates, so the policy looks at names and values as a PDF reader sees them, never at bytes.
Every object the file's cross-reference table names is inspected, referenced or not.
"""
import io
import re
import zlib
from dataclasses import dataclass

import pikepdf

# Action types (/S) that run code, open other files or programs, send or load data, or play media.
FORBIDDEN_ACTIONS = {
    "/JavaScript": "script",
    "/Rendition": "media",  # may carry /JS and plays media
    "/Launch": "launch",
    "/GoToR": "other_file",
    "/GoToE": "other_file",
    "/ImportData": "form_data",
    "/SubmitForm": "form_data",
    "/RichMediaExecute": "media",
    "/Movie": "media",
    "/Sound": "media",
}
# Keys whose mere presence means scripts, attached files, XFA forms or rich media.
FORBIDDEN_KEYS = {
    "/JS": "script",
    "/JavaScript": "script",  # the document's JavaScript name tree
    "/EmbeddedFiles": "attachment",
    "/EF": "attachment",  # a file specification that carries the file itself
    "/XFA": "xfa",
    "/RichMediaContent": "media",
    "/RichMediaSettings": "media",
}
FORBIDDEN_SUBTYPES = {
    "/FileAttachment": "attachment",
    "/RichMedia": "media",
    "/Movie": "media",
    "/Sound": "media",
    "/Screen": "media",
    "/3D": "media",
}
FORBIDDEN_TYPES = {"/EmbeddedFile": "attachment", "/Filespec": None}  # a Filespec alone is a name, not a file
ALLOWED_URI_SCHEMES = {"http", "https", "mailto"}
URI_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
# Browsers drop these before reading a scheme (" java\tscript:" is javascript:), so the check does too.
URI_IGNORED = re.compile(r"[\x00-\x20\x7f]")
# When a file has several problems, the message names the most serious one.
SEVERITY = ("script", "launch", "other_file", "attachment", "form_data", "xfa", "media", "uri", "auto_action")
MAX_NODES = 2_000_000  # direct and indirect objects walked; far beyond any real document


@dataclass(frozen=True)
class Finding:
    """Why a PDF is refused: a kind for messages and metrics, and where it was seen (for logs)."""

    kind: str
    where: str


class PdfRefused(Exception):
    """The PDF breaks the policy or cannot be read; `finding.kind` says why."""

    def __init__(self, kind, where=""):
        super().__init__(f"{kind} at {where}" if where else kind)
        self.finding = Finding(kind, where)


@dataclass(frozen=True)
class CheckedPdf:
    """A PDF that holds to the policy: its bytes (rewritten by qpdf when the file needed repair) and page count."""

    data: bytes
    pages: int


def _open(data):
    try:
        return pikepdf.open(io.BytesIO(data), password="")
    except pikepdf.PasswordError:
        raise PdfRefused("password") from None
    except (pikepdf.PdfError, ValueError, RuntimeError, OSError):
        raise PdfRefused("damaged") from None


def _uri_kind(value):
    """None when a URI action's target is a web or mail address; 'uri' for file:, smb:, UNC, javascript:, ..."""
    try:
        text = URI_IGNORED.sub("", bytes(value).decode("latin-1"))
    except (TypeError, ValueError):
        return "uri"
    match = URI_SCHEME.match(text)
    return None if match and match.group(1).lower() in ALLOWED_URI_SCHEMES else "uri"


def _is_plain_goto(action):
    """An in-document jump: a destination array or name, or a GoTo action with nothing chained after it."""
    if isinstance(action, (pikepdf.Array, pikepdf.Name, pikepdf.String)):
        return True
    return (isinstance(action, pikepdf.Dictionary) and action.get("/S") == pikepdf.Name.GoTo
            and "/Next" not in action)


def _dictionary_findings(dictionary):
    """The policy's findings on one dictionary (or a stream's dictionary), without descending."""
    keys = set(dictionary.keys())
    for key in keys & FORBIDDEN_KEYS.keys():
        yield FORBIDDEN_KEYS[key], key
    action = dictionary.get("/S")
    if isinstance(action, pikepdf.Name):
        if str(action) in FORBIDDEN_ACTIONS:
            yield FORBIDDEN_ACTIONS[str(action)], f"/S {action}"
        elif action == pikepdf.Name.URI and _uri_kind(dictionary.get("/URI", b"")):
            yield "uri", "/URI"
    for key, table in (("/Subtype", FORBIDDEN_SUBTYPES), ("/Type", FORBIDDEN_TYPES)):
        value = dictionary.get(key)
        if isinstance(value, pikepdf.Name) and table.get(str(value)):
            yield table[str(value)], f"{key} {value}"
    if "/OpenAction" in keys and not _is_plain_goto(dictionary["/OpenAction"]):
        yield "auto_action", "/OpenAction"
    triggers = dictionary.get("/AA")
    if isinstance(triggers, pikepdf.Dictionary) and not all(_is_plain_goto(triggers[k]) for k in triggers.keys()):
        yield "auto_action", "/AA"
    elif triggers is not None and not isinstance(triggers, pikepdf.Dictionary):
        yield "auto_action", "/AA"


def _walk(root, budget):
    """Yield every dictionary reachable from root through direct objects (indirect ones are walked on their own)."""
    stack = [root]
    while stack:
        item = stack.pop()
        budget[0] -= 1
        if budget[0] < 0:
            raise PdfRefused("too_complex")
        if isinstance(item, pikepdf.Stream):
            item = item.stream_dict
        if isinstance(item, pikepdf.Dictionary):
            yield item
            values = [item.get(key) for key in item.keys()]
        elif isinstance(item, pikepdf.Array):
            values = list(item)
        else:
            continue
        stack.extend(v for v in values if isinstance(v, (pikepdf.Dictionary, pikepdf.Array)) and not v.is_indirect)


def findings(pdf):
    """Every policy finding in an open document: the trailer and each object of the cross-reference table."""
    budget = [MAX_NODES]
    for top in [pdf.trailer, *pdf.objects]:
        for dictionary in _walk(top, budget):
            for kind, where in _dictionary_findings(dictionary):
                yield Finding(kind, where)


def check(data, *, repaired_once=False):
    """Open the PDF with qpdf and apply the policy; return CheckedPdf or raise PdfRefused with the first finding."""
    with _open(data) as pdf:
        try:
            found = min(findings(pdf), key=lambda f: SEVERITY.index(f.kind), default=None)
            pages = len(pdf.pages)
            repaired = bool(pdf.get_warnings())
        except PdfRefused:
            raise
        except (pikepdf.PdfError, ValueError, RuntimeError, TypeError, KeyError):
            raise PdfRefused("damaged") from None
        if found:
            raise PdfRefused(found.kind, found.where)
        if pages < 1:
            raise PdfRefused("no_pages")
        if repaired and not repaired_once:
            # qpdf had to repair the file: store qpdf's rewrite, so every reader sees exactly what was checked
            return CheckedPdf(data=_rewrite(pdf), pages=pages)
    return CheckedPdf(data=data, pages=pages)


def _rewrite(pdf):
    buffer = io.BytesIO()
    try:
        pdf.save(buffer, preserve_pdfa=True, encryption=False)
    except (pikepdf.PdfError, ValueError, RuntimeError):
        raise PdfRefused("damaged") from None
    rewritten = buffer.getvalue()
    check(rewritten, repaired_once=True)  # the rewrite is checked like any upload
    return rewritten


@dataclass(frozen=True)
class PageCost:
    """What drawing a page asks of a renderer: image pixels and bytes of drawing instructions (forms included)."""

    image_pixels: int
    content_bytes: int


def _decoded_size(stream, limit):
    """The stream's decoded length, or limit + 1 once it passes the limit, never inflating more than that."""
    filters = stream.stream_dict.get("/Filter")
    filters = [filters] if isinstance(filters, pikepdf.Name) else list(filters or [])
    raw = stream.read_raw_bytes()
    if not filters:
        return len(raw)
    if filters == [pikepdf.Name.FlateDecode]:
        inflater = zlib.decompressobj()
        try:
            size = len(inflater.decompress(raw, limit + 1))
        except zlib.error:
            return 0  # PDFium will not draw it either
        return size
    # other chains (ASCII85 + Flate, LZW, RunLength): decoded by qpdf, but only when the raw bytes are small
    # enough that no filter's expansion can pass the limit by much
    return len(stream.read_bytes()) if len(raw) * 256 <= limit else limit + 1


def first_page_cost(data, content_limit, max_depth=4):
    """Pixels and instruction bytes of the first page (through nested forms), to cap the cost of a thumbnail."""
    with _open(data) as pdf:
        if not pdf.pages:
            return PageCost(0, 0)
        page = pdf.pages[0].obj
        contents = page.get("/Contents")
        streams = [contents] if isinstance(contents, pikepdf.Stream) else list(contents or [])
        content = sum(_decoded_size(s, content_limit) for s in streams if isinstance(s, pikepdf.Stream))
        pixels, seen = 0, set()
        stack = [(page.get("/Resources"), 0)]
        while stack and content <= content_limit:
            resources, depth = stack.pop()
            xobjects = resources.get("/XObject") if isinstance(resources, pikepdf.Dictionary) else None
            if not isinstance(xobjects, pikepdf.Dictionary) or depth > max_depth:
                continue
            for name in xobjects.keys():
                xobject = xobjects[name]
                if not isinstance(xobject, pikepdf.Stream) or xobject.objgen in seen:
                    continue
                seen.add(xobject.objgen)
                if xobject.get("/Subtype") == pikepdf.Name.Image:
                    pixels += int(xobject.get("/Width", 0)) * int(xobject.get("/Height", 0))
                elif xobject.get("/Subtype") == pikepdf.Name.Form:
                    content += _decoded_size(xobject, content_limit)
                    stack.append((xobject.get("/Resources"), depth + 1))
        return PageCost(pixels, content)
