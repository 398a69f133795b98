"""The portal's PDF policy, checked on the object graph that qpdf (through pikepdf) parses.

qpdf decodes every filter and predictor, object and cross-reference streams, name escapes, encryption and
incremental updates, so the policy looks at names and values as a PDF reader sees them, never at bytes.
Every object the file's cross-reference table names is inspected, referenced or not.
"""
import io
import re
import zlib
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

import pikepdf
from pikepdf import settings as qpdf_settings

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
# The entries of a file specification that name its file (ISO 32000-1 7.11.3); /FS /URL makes /F a URL.
FILESPEC_NAMES = ("/F", "/UF", "/DOS", "/Mac", "/Unix")
# An absolute path (a UNC path \\host\share; /host/share/x, which viewers may read as one; /C/x) or anything with a
# scheme (file:, smb:, https:, a drive C:).
FILESPEC_OUTSIDE = "/Filespec outside the document"
OUTSIDE_PATH = re.compile(r"^(?:[\\/]|[A-Za-z][A-Za-z0-9+.\-]*:)")
# Browsers drop these before reading a scheme (" java\tscript:" is javascript:), so the check does too.
URI_IGNORED = re.compile(r"[\x00-\x20\x7f]")
# When a file has several problems, the message names the most serious one.
SEVERITY = ("script", "launch", "other_file", "attachment", "form_data", "xfa", "media", "uri", "auto_action")
MAX_NODES = 2_000_000  # direct and indirect objects walked; far beyond any real document
# Object streams hold a document's dictionaries and arrays; qpdf inflates each one in full to read the objects
# in it. Their decoded total is measured with a bounded inflate before any is parsed: a 10 MB upload of real
# objects stays far below this, an 800 KB Flate bomb does not.
MAX_OBJECT_STREAM_BYTES = 64 * 1024 * 1024
# qpdf's own ceiling on every Flate, predictor and RunLength decode (a process-wide setting): it holds for what
# qpdf inflates before the measure above can run (cross-reference streams, objects read while opening) and for
# the rewrite of a repaired file. A stream cut short by it leaves the warning below, and the file is refused.
QPDF_DECODE_LIMIT = 2 * MAX_OBJECT_STREAM_BYTES
QPDF_LIMIT_WARNING = "memory limit exceeded"
# LZW has no qpdf ceiling and can grow a few thousand times; it is decoded only when even that stays in bounds.
LZW_MAX_EXPANSION = 4096
RUN_LENGTH_MAX_EXPANSION = 128
SHRINKING_FILTERS = {"/ASCIIHexDecode", "/ASCII85Decode"}
qpdf_settings.set_qpdf_limits(flate_max_memory=QPDF_DECODE_LIMIT, png_max_memory=QPDF_DECODE_LIMIT,
                              tiff_max_memory=QPDF_DECODE_LIMIT, run_length_max_memory=QPDF_DECODE_LIMIT)


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
    except MemoryError:  # a work-horse's memory ceiling (portal/jobs.py): whatever qpdf was decoding was too much
        raise PdfRefused("too_complex") from None
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


def _is_filespec(dictionary):
    """A file specification dictionary: typed /Filespec, or carrying the entries only one has."""
    return (dictionary.get("/Type") == pikepdf.Name.Filespec or "/FS" in dictionary or "/UF" in dictionary)


def _names_outside(dictionary):
    """True when a file specification points outside the document: a URL (/FS /URL), a UNC path or a URL
    in one of its file names. A plain relative name (report.pdf) is only a name."""
    if dictionary.get("/FS") == pikepdf.Name.URL:
        return True
    for key in FILESPEC_NAMES:
        value = dictionary.get(key)
        if isinstance(value, pikepdf.String):
            text = URI_IGNORED.sub("", bytes(value).decode("latin-1"))
            if OUTSIDE_PATH.match(text):
                return True
    return False


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
        elif action == pikepdf.Name.Thread and "/F" in keys:
            yield "other_file", "/S /Thread /F"  # an article thread in another file opens that file
    if _is_filespec(dictionary) and _names_outside(dictionary):
        yield "other_file", FILESPEC_OUTSIDE
    base = dictionary.get("/Base")
    if isinstance(base, pikepdf.String) and _uri_kind(base):
        yield "uri", "/URI /Base"  # the base a viewer may resolve the document's links against (file:///C:/)
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


def _rank(finding):
    """How serious a finding is, for the message: SEVERITY's order, except that a file specification pointing
    outside the document comes after the form actions whose target it usually is (a SubmitForm's URL), so
    those files keep their own message."""
    if finding.where == FILESPEC_OUTSIDE:
        return SEVERITY.index("form_data") + 0.5
    return SEVERITY.index(finding.kind)


def findings(pdf):
    """Every policy finding in an open document: the trailer and each object of the cross-reference table."""
    budget = [MAX_NODES]
    for top in [pdf.trailer, *pdf.objects]:
        for dictionary in _walk(top, budget):
            for kind, where in _dictionary_findings(dictionary):
                yield Finding(kind, where)


def _object_streams(pdf):
    """The object streams the cross-reference table names, read without inflating any of them."""
    numbers = sorted({entry.obj_stream_number for entry in pdf.get_xref_table().values() if entry.type == 2})
    for number in numbers:
        stream = pdf.get_object((number, 0))
        if isinstance(stream, pikepdf.Stream):
            yield stream


def bound_object_streams(pdf, limit=MAX_OBJECT_STREAM_BYTES):
    """Refuse a document whose object streams decode to more than limit bytes in all, before qpdf parses them
    (it holds each one's decoded bytes whole, and PDFium would too)."""
    total = 0
    for stream in _object_streams(pdf):
        total += _decoded_size(stream, limit - total)
        if total > limit:
            raise PdfRefused("too_complex", f"object streams decode to more than {limit} bytes")


def _cut_short(warnings):
    """True when qpdf stopped a decode at QPDF_DECODE_LIMIT: part of the document was left unread."""
    return any(QPDF_LIMIT_WARNING in warning for warning in warnings)


def check(data, *, repaired_once=False):
    """Open the PDF with qpdf and apply the policy; return CheckedPdf or raise PdfRefused with the first finding."""
    with _open(data) as pdf:
        try:
            bound_object_streams(pdf)
            found = min(findings(pdf), key=_rank, default=None)
            pages = len(pdf.pages)
            warnings = pdf.get_warnings()  # qpdf hands each warning over once
            if _cut_short(warnings):
                raise PdfRefused("too_complex", "a stream decodes past qpdf's limit")
            repaired = bool(warnings)
        except PdfRefused:
            raise
        except MemoryError:
            raise PdfRefused("too_complex") from None
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
    except MemoryError:
        raise PdfRefused("too_complex") from None
    except (pikepdf.PdfError, ValueError, RuntimeError):
        raise PdfRefused("damaged") from None
    if _cut_short(pdf.get_warnings()):
        raise PdfRefused("too_complex", "a stream decodes past qpdf's limit while rewriting")
    rewritten = buffer.getvalue()
    check(rewritten, repaired_once=True)  # the rewrite is checked like any upload
    return rewritten


@dataclass(frozen=True)
class PageCost:
    """What drawing a page asks of a renderer: image pixels and bytes of drawing instructions (forms included)."""

    image_pixels: int
    content_bytes: int


def _filters(stream):
    """The stream's filter names and their parameters, in decoding order."""
    filters = stream.stream_dict.get("/Filter")
    params = stream.stream_dict.get("/DecodeParms")
    if isinstance(filters, pikepdf.Name):
        filters, params = [filters], [params]
    elif not isinstance(filters, pikepdf.Array):
        return []
    params = list(params) if isinstance(params, pikepdf.Array) else [params] * len(filters)
    return list(zip((str(f) for f in filters), params + [None] * (len(filters) - len(params))))


def _inflate(data, limit, keep):
    """The size of a Flate stream's output up to limit + 1 bytes (what came before a corrupt part, if any), and
    that output when keep (a later filter needs it), else b"": the measure itself holds no more than it must."""
    inflater, pieces, size, start = zlib.decompressobj(), [], 0, 0
    while size <= limit and not inflater.eof:
        if inflater.unconsumed_tail:  # output still waiting behind the last call's cap
            chunk = inflater.unconsumed_tail
        elif start < len(data):
            chunk, start = data[start:start + 65536], start + 65536
        else:
            break
        try:
            piece = inflater.decompress(chunk, min(limit + 1 - size, 1 << 20))
        except zlib.error:
            break
        size += len(piece)
        if keep:
            pieces.append(piece)
    return size, b"".join(pieces)


def _qpdf_decode(data, name, params):
    """One filter applied by qpdf to bytes already known to decode within bounds."""
    scratch = pikepdf.new()
    stream = pikepdf.Stream(scratch, data)
    stream.Filter = pikepdf.Name(name)
    if isinstance(params, pikepdf.Dictionary):
        stream.DecodeParms = pikepdf.Dictionary({k: params[k] for k in params.keys()})
    return stream.read_bytes()


def _decoded_size(stream, limit):
    """The stream's decoded length, or limit + 1 once it passes the limit, never decoding much more than that.

    Flate is inflated here with a cap; filters that only shrink, and RunLength and LZW when even their largest
    expansion stays within the limit, are applied by qpdf; anything else counts as over the limit. A predictor
    only removes bytes, so it is left out of the measure."""
    if limit < 0:
        return limit + 1
    data = stream.read_raw_bytes()
    size, filters = len(data), _filters(stream)
    for index, (name, params) in enumerate(filters):
        if name == "/Crypt":
            continue  # the encryption layer, already undone by qpdf when it read the raw bytes
        if name == "/FlateDecode":
            size, data = _inflate(data, limit, keep=index + 1 < len(filters))
        elif (name in SHRINKING_FILTERS or (name == "/RunLengthDecode" and size * RUN_LENGTH_MAX_EXPANSION <= limit)
              or (name == "/LZWDecode" and size * LZW_MAX_EXPANSION <= limit)):
            try:
                data = _qpdf_decode(data, name, params)
            except (pikepdf.PdfError, ValueError, RuntimeError):
                return 0  # not decodable: no reader draws it
            size = len(data)
        else:
            return limit + 1
        if size > limit:
            return limit + 1
    return size


# What a thumbnail's cost counts in a content stream: what is drawn, which form, pattern, soft mask and font it
# names, and the text shown (each character of a Type 3 font runs one of its glyph procedures).
PAINTING_OPERATORS = "f F f* B B* b b* S s sh Do Tj TJ ' \" ID"
SHOWING_OPERATORS = {"Tj", "TJ", "'", '"'}
NAMING_OPERATORS = "Do scn SCN gs Tf ID Tj TJ ' \""
# A stream without any of these bytes names nothing and shows no text: it is measured, not parsed (a vector
# drawing of megabytes of paths would cost as much to parse here as it costs PDFium to draw).
NAMING_BYTES = (b"Do", b"sc", b"SC", b"gs", b"ID", b"Tj", b"TJ", b"'", b'"')
# Content drawn inside content deeper than this (forms, patterns, glyphs, soft masks) counts as too costly;
# real documents nest a few levels.
MAX_CONTENT_DEPTH = 12
MAX_ANNOTATIONS = 2000  # a first page with more annotations than this counts as too costly
MAX_CONTENT_STREAMS = 5000  # nor may it draw more distinct content streams than this (each is parsed)


@dataclass
class _Uses:
    """What one content stream draws, counted once however often it is drawn: XObjects by name with how many
    times each is drawn, the patterns, graphics states and fonts it selects, its painting operators, the
    character codes it shows in each font (None: before any Tf), and the pixels of its inline images."""

    xobjects: Counter
    patterns: set
    states: set
    shown: dict
    paintings: int = 0
    inline_pixels: int = 0


def _string_codes(operands):
    """The bytes of every string a text-showing operator shows."""
    for operand in operands:
        if isinstance(operand, pikepdf.String):
            yield bytes(operand)
        elif isinstance(operand, pikepdf.Array):
            yield from (bytes(item) for item in operand if isinstance(item, pikepdf.String))


def _dimension(value):
    """A width or height as PDFium reads it: an integer, or a real (35000.0, which pikepdf gives as a Decimal)
    taken as its whole part; anything else is 0."""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        try:
            return max(0, int(value))
        except (ValueError, OverflowError):  # NaN or infinity
            return 0
    return 0


def _inline_pixels(operands):
    """Width x height of an inline image, from its dictionary's operands (/W 10 /H 20 ...)."""
    entries = dict(zip(operands[::2], operands[1::2]))
    width, height = (_dimension(entries.get(pikepdf.Name(key), entries.get(pikepdf.Name(short))))
                     for key, short in (("/Width", "/W"), ("/Height", "/H")))
    return width * height


def _uses(content, streams):
    """What one content stream (or a page's streams) names and shows, parsed with qpdf's tokenizer keeping only
    the operators that matter; the painting operators are counted only when a pattern or soft mask needs them."""
    uses = _Uses(Counter(), set(), set(), {})
    for stream in streams:
        data = stream.read_bytes()
        if any(token in data for token in NAMING_BYTES):
            break
    else:
        return uses
    font = None
    for instruction in pikepdf.parse_content_stream(content, NAMING_OPERATORS):
        operator, operands = str(instruction.operator), list(instruction.operands)
        name = operands[-1] if operands and isinstance(operands[-1], pikepdf.Name) else None
        if operator == "Do" and name is not None:
            uses.xobjects[str(name)] += 1
        elif operator in ("scn", "SCN") and name is not None:
            uses.patterns.add(str(name))
        elif operator == "gs" and name is not None:
            uses.states.add(str(name))
        elif operator == "Tf" and operands and isinstance(operands[0], pikepdf.Name):
            font = str(operands[0])
        elif operator in SHOWING_OPERATORS:
            codes = uses.shown.setdefault(font, Counter())
            for text in _string_codes(operands):
                codes.update(text)
        elif operator == "ID":
            uses.inline_pixels += _inline_pixels(operands)
    if uses.patterns or uses.states:
        uses.paintings = len(pikepdf.parse_content_stream(content, PAINTING_OPERATORS))
    return uses


def _resource(resources, category, name):
    """resources[category][name], or None when either is missing or not a dictionary."""
    table = resources.get(category) if isinstance(resources, pikepdf.Dictionary) else None
    return table.get(name) if isinstance(table, pikepdf.Dictionary) else None


def _image_pixels(image):
    """Pixels PDFium decodes to draw an image: its own and those of its soft mask or stencil mask image."""
    pixels = 0
    for item in (image, image.get("/SMask"), image.get("/Mask")):
        if isinstance(item, pikepdf.Stream):
            pixels += _dimension(item.get("/Width", 0)) * _dimension(item.get("/Height", 0))
    return pixels


def _glyph_codes(font):
    """Each character code of a Type 3 font mapped to the name of its glyph procedure (its /Differences)."""
    encoding = font.get("/Encoding")
    differences = encoding.get("/Differences") if isinstance(encoding, pikepdf.Dictionary) else None
    codes, code = {}, 0
    for item in differences if isinstance(differences, pikepdf.Array) else ():
        if isinstance(item, int):
            code = int(item)
        elif isinstance(item, pikepdf.Name):
            codes[code] = str(item)
            code += 1
    return codes


class _PageCounter:
    """Counts what PDFium parses and draws for one page, each stream as often as it is drawn, and stops once
    the content budget is spent (over is over: the rest need not be counted)."""

    def __init__(self, content_limit):
        self.limit = content_limit
        self.content = 0
        self.pixels = 0
        self.uses = {}  # per stream, parsed once however often it is drawn
        self.sizes = {}  # per stream: (decoded size, the limit it was measured within)
        self.visits = 0

    @property
    def over(self):
        return self.content > self.limit

    def spend_over(self):
        self.content = self.limit + 1

    def measure(self, streams, times):
        """Count the decoded bytes of streams drawn `times` times; True while within the budget. Each stream is
        decoded once however many times and from however many places it is drawn (a stream that decodes to
        nothing could otherwise be inflated again on every visit)."""
        for stream in streams:
            left = (self.limit - self.content) // times
            cached = self.sizes.get(stream.objgen)
            if cached is None or (cached[0] > cached[1] and left > cached[1]):  # only known to pass a lower limit
                cached = self.sizes[stream.objgen] = (_decoded_size(stream, left), left)
            size, within = cached
            self.content += (size if size <= within else left + 1) * times
            if self.over:
                return False
        return True

    def parsed(self, node):
        """What the node's content draws, parsed once per stream (or page)."""
        key = node.content.objgen
        if key not in self.uses:
            self.uses[key] = _uses(node.content, node.streams)
        return self.uses[key]

    def visit(self, node, drawn):
        """Count one content stream as often as it is drawn, and add what it draws in turn to `drawn`, the
        tally of the next depth."""
        self.visits += 1
        if self.visits > MAX_CONTENT_STREAMS:
            self.spend_over()
        if self.over or not self.measure(node.streams, node.times):
            return
        uses, resources, times = self.parsed(node), node.resources, node.times
        self.pixels += uses.inline_pixels * times
        for name, count in uses.xobjects.items():
            xobject = _resource(resources, "/XObject", name)
            if not isinstance(xobject, pikepdf.Stream):
                continue
            if xobject.get("/Subtype") == pikepdf.Name.Image:
                self.pixels += _image_pixels(xobject) * count * times
            elif xobject.get("/Subtype") == pikepdf.Name.Form:
                _draw(drawn, xobject, count * times, node.resources, node.owner)
        # a pattern or a soft mask in force is drawn again for every painting operator after it
        painted = max(1, uses.paintings) * times
        for name in uses.patterns:
            pattern = _resource(resources, "/Pattern", name)
            if isinstance(pattern, pikepdf.Stream):  # a tiling pattern: content of its own
                _draw(drawn, pattern, painted, node.resources, node.owner)
        for name in uses.states:
            state = _resource(resources, "/ExtGState", name)
            mask = state.get("/SMask") if isinstance(state, pikepdf.Dictionary) else None
            group = mask.get("/G") if isinstance(mask, pikepdf.Dictionary) else None
            if isinstance(group, pikepdf.Stream):
                _draw(drawn, group, painted, node.resources, node.owner)
        self.glyphs(uses, node, drawn)

    def glyphs(self, uses, node, drawn):
        """Type 3 fonts: each glyph procedure is drawn once for every code shown that names it; text shown
        before any font was chosen here counts against every Type 3 font of these resources."""
        fonts = node.resources.get("/Font") if isinstance(node.resources, pikepdf.Dictionary) else None
        if not isinstance(fonts, pikepdf.Dictionary):
            return
        for name in fonts.keys():
            font = fonts[name]
            if not isinstance(font, pikepdf.Dictionary) or font.get("/Subtype") != pikepdf.Name.Type3:
                continue
            procedures = font.get("/CharProcs")
            if not isinstance(procedures, pikepdf.Dictionary):
                continue
            shown = uses.shown.get(str(name), Counter()) + uses.shown.get(None, Counter())
            if not shown:
                continue
            names = _glyph_codes(font)
            per_glyph = Counter()
            for code, count in shown.items():
                per_glyph[names.get(code)] += count
            resources, owner = node.resources, node.owner
            if isinstance(font.get("/Resources"), pikepdf.Dictionary):
                resources, owner = font.Resources, (node.owner, str(name))
            for glyph, count in per_glyph.items():
                procedure = procedures.get(glyph) if glyph else None
                if isinstance(procedure, pikepdf.Stream):
                    _draw(drawn, procedure, count * node.times, resources, owner)


@dataclass
class _Node:
    """A content stream to count: what to parse (a stream, or a page with its contents), the streams to measure,
    the resources its names are looked up in and who they belong to, and how many times it is drawn."""

    content: object
    streams: tuple
    resources: object
    owner: object
    times: int


def _draw(drawn, stream, times, resources, owner):
    """Add `times` drawings of stream to the tally of the next depth. A stream without resources of its own
    looks its names up in the resources it is drawn with (whose owner is part of the key)."""
    if isinstance(stream.get("/Resources"), pikepdf.Dictionary):
        resources, owner = stream.Resources, stream.objgen
    key = (stream.objgen, owner)
    if key in drawn:
        drawn[key].times += times
    else:
        drawn[key] = _Node(stream, (stream,), resources, owner, times)


def _appearances(page):
    """The normal appearance streams of the page's annotations, which PDFium draws with FPDF_ANNOT: one per
    annotation, each state's stream counted, as a viewer may show any."""
    annotations = page.get("/Annots")
    if not isinstance(annotations, pikepdf.Array):
        return
    if len(annotations) > MAX_ANNOTATIONS:
        raise OverflowError("too many annotations")
    for annotation in annotations:
        appearance = annotation.get("/AP") if isinstance(annotation, pikepdf.Dictionary) else None
        normal = appearance.get("/N") if isinstance(appearance, pikepdf.Dictionary) else None
        if isinstance(normal, pikepdf.Stream):
            yield normal
        elif isinstance(normal, pikepdf.Dictionary):
            yield from (normal[state] for state in normal.keys() if isinstance(normal[state], pikepdf.Stream))


def first_page_cost(data, content_limit):
    """Pixels and instruction bytes PDFium parses and draws for the first page, to cap the cost of a thumbnail:
    its content, every form, tiling pattern, soft mask group and Type 3 glyph as many times as it is drawn, and
    its annotations' appearances. Counting stops once over content_limit; content nested deeper than
    MAX_CONTENT_DEPTH (a form drawing itself, say) or too many annotations count as over."""
    with _open(data) as pdf:
        if not pdf.pages:
            return PageCost(0, 0)
        page = pdf.pages[0].obj
        counter = _PageCounter(content_limit)
        contents = page.get("/Contents")
        streams = [contents] if isinstance(contents, pikepdf.Stream) else list(contents or [])
        root = _Node(page, tuple(s for s in streams if isinstance(s, pikepdf.Stream)), page.get("/Resources"),
                     page.objgen, 1)
        drawn = {}
        counter.visit(root, drawn)
        try:
            for appearance in _appearances(page):
                _draw(drawn, appearance, 1, root.resources, root.owner)
        except OverflowError:
            counter.spend_over()
        for _ in range(MAX_CONTENT_DEPTH):
            if counter.over or not drawn:
                break
            level, drawn = drawn, {}
            for node in level.values():
                counter.visit(node, drawn)
        if drawn and not counter.over:
            counter.spend_over()  # still more to draw below the deepest level counted
        return PageCost(counter.pixels, counter.content)
