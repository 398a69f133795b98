"""Lay out a PDF's objects in the byte encodings that hid active content from the old scanner.

pikepdf (qpdf) builds every object and serialises each one; this module only decides where the bytes go:
object streams with or without a PNG predictor, an indirect /Filter, a comment before `stream`, a key
holding the letters "obj", padding that pushes /Filter far from `stream`, #xx escapes in names, and
incremental updates. Every file it writes has a correct cross-reference section, so qpdf reads it
without repair (tests/unit/test_corpus.py checks that).
"""
import io
import re
import zlib
from dataclasses import dataclass

import pikepdf

HEADER = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
# Names whose spelling the escaped encoding changes: every name an action check has to recognise.
ESCAPED_NAMES = (b"JavaScript", b"JS", b"Launch", b"Win", b"GoToR", b"GoToE", b"ImportData", b"SubmitForm",
                 b"RichMedia", b"RichMediaExecute", b"RichMediaContent", b"RichMediaSettings",
                 b"RichMediaConfiguration", b"XFA", b"EmbeddedFiles", b"EmbeddedFile",
                 b"EF", b"Filespec", b"FileAttachment", b"URI", b"OpenAction", b"AA", b"Names", b"Next", b"S",
                 b"Rendition", b"AcroForm", b"Named")
NAME_TOKEN = re.compile(rb"/(" + b"|".join(sorted(ESCAPED_NAMES, key=len, reverse=True)) + rb")(?=[\s/<>\[\]()%]|$)")


@dataclass
class PdfObject:
    """One indirect object: its serialised dictionary or value, and the raw stream data if it is a stream."""

    body: bytes
    stream: bytes | None = None


@dataclass
class Layout:
    """How to write the objects; every switch is one way the old regex scanner was fooled."""

    object_stream: bool = False  # non-stream objects packed into one compressed /ObjStm
    predictor: bool = False  # the object and xref streams use /DecodeParms << /Predictor 12 >>
    indirect_filter: bool = False  # the object stream's /Filter is a reference to a name object
    comment_before_stream: bool = False  # a %comment between the stream dictionary's >> and `stream`
    obj_key: bool = False  # a key containing the letters "obj" after /Filter in the stream dictionary
    far_filter: bool = False  # /Filter more than 4 KiB before `stream`
    escape_names: bool = False  # action names written with #xx escapes (/J#61vaScript)


def objects_of(data):
    """Every indirect object of a PDF (as qpdf parsed it), its root number and its /ID array."""
    pdf = pikepdf.open(io.BytesIO(data))
    objects = {}
    for obj in pdf.objects:
        number, _ = obj.objgen
        if number == 0:
            continue
        objects[number] = serialise(obj)
    return objects, pdf.Root.objgen[0], pdf.trailer.ID.unparse()


def serialise(obj):
    """One object's bytes; a stream gets its raw (still encoded) data and a /Length that matches it."""
    if isinstance(obj, pikepdf.Stream):
        raw = obj.read_raw_bytes()
        head = pikepdf.Dictionary(obj.stream_dict)
        head.Length = len(raw)
        return PdfObject(head.unparse(resolved=True), raw)
    return PdfObject(obj.unparse(resolved=True))


def escape_names(body):
    """Write each action name with its second letter as a #xx escape, as the PDF syntax allows."""
    return NAME_TOKEN.sub(lambda m: b"/" + m.group(1)[:1] + b"#%02X" % m.group(1)[1] + m.group(1)[2:]
                          if len(m.group(1)) > 1 else b"/#%02X" % m.group(1)[0], body)


def png_up(data, columns):
    """Encode with the PNG 'Up' predictor (filter type 2 on every row), as /Predictor 12 expects."""
    if len(data) % columns:
        data += b"\0" * (columns - len(data) % columns)  # NUL is white space after the last object
    rows, previous, out = len(data) // columns, bytes(columns), bytearray()
    for index in range(rows):
        row = data[index * columns:(index + 1) * columns]
        out.append(2)
        out.extend((value - above) & 0xFF for value, above in zip(row, previous))
        previous = row
    return bytes(out)


def _stream_object(number, entries, data, layout, filter_ref=None):
    """A stream object whose dictionary is arranged as the layout says."""
    filter_entry = b"/Filter %d 0 R" % filter_ref if filter_ref else b"/Filter /FlateDecode"
    parts = [filter_entry]
    if layout.far_filter:
        parts.append(b"/PieceInfo (" + b"padding " * 640 + b")")  # 5 KiB between /Filter and `stream`
    parts.extend(entries)
    if layout.obj_key:
        parts.append(b"/Xobjref 1")  # a key with "obj" in it, after /Filter
    parts.append(b"/Length %d" % len(data))
    head = b"<< " + b" ".join(parts) + b" >>"
    gap = b"\n% produced after the dictionary on purpose\n" if layout.comment_before_stream else b"\n"
    return b"%d 0 obj\n" % number + head + gap + b"stream\n" + data + b"\nendstream\nendobj\n"


def _plain_object(number, obj, layout):
    body = escape_names(obj.body) if layout.escape_names else obj.body
    if obj.stream is None:
        return b"%d 0 obj\n" % number + body + b"\nendobj\n"
    return b"%d 0 obj\n" % number + body + b"\nstream\n" + obj.stream + b"\nendstream\nendobj\n"


def _object_stream(number, members, layout, filter_ref):
    """One /ObjStm holding the given non-stream objects, compressed (and predicted when asked)."""
    offsets, bodies, position = [], [], 0
    for member, obj in members:
        body = escape_names(obj.body) if layout.escape_names else obj.body
        offsets.append(b"%d %d" % (member, position))
        bodies.append(body)
        position += len(body) + 1
    index = b" ".join(offsets) + b"\n"
    content = index + b"\n".join(bodies) + b"\n"
    entries = [b"/Type /ObjStm /N %d /First %d" % (len(members), len(index))]
    if layout.predictor:
        content = png_up(content, 5)
        entries.append(b"/DecodeParms << /Predictor 12 /Columns 5 >>")
    return _stream_object(number, entries, zlib.compress(content, 9), layout, filter_ref)


def _xref_stream(number, entries, size, root, trailer, layout, start, prev=None):
    """A cross-reference stream (W [1 4 2]) for the given (number -> entry) rows."""
    rows = b"".join(bytes([kind]) + a.to_bytes(4, "big") + b.to_bytes(2, "big") for kind, a, b in entries.values())
    keys = [b"/Type /XRef /Size %d /W [1 4 2] /Root %d 0 R" % (size, root), trailer]
    keys.append(b"/Index [" + b" ".join(b"%d 1" % n for n in entries) + b"]")
    if prev is not None:
        keys.append(b"/Prev %d" % prev)
    if layout.predictor:
        rows = png_up(rows, 7)
        keys.append(b"/DecodeParms << /Predictor 12 /Columns 7 >>")
    data = zlib.compress(rows, 9)
    head = b"<< " + b" ".join(keys) + b" /Filter /FlateDecode /Length %d >>" % len(data)
    return b"%d 0 obj\n" % number + head + b"\nstream\n" + data + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % start


def _xref_table(entries, size, root, trailer, start, prev=None):
    """A classic xref table with one subsection per object and its trailer."""
    out = [b"xref\n", b"0 1\n0000000000 65535 f \n"]
    for number, offset in sorted(entries.items()):
        out.append(b"%d 1\n%010d 00000 n \n" % (number, offset))
    prev_key = b" /Prev %d" % prev if prev is not None else b""
    out.append(b"trailer\n<< /Size %d /Root %d 0 R %s%s >>\nstartxref\n%d\n%%%%EOF\n" % (size, root, trailer, prev_key, start))
    return b"".join(out)


def write_sections(objects, root, file_id, layout, *, base=HEADER, prev=None, size=None):
    """Append the objects to base as one revision (the whole file, or an incremental update)."""
    out = bytearray(base)
    size = max(size or 0, max(objects) + 1)
    trailer = b"/ID " + file_id
    packed = [(n, o) for n, o in sorted(objects.items()) if layout.object_stream and o.stream is None]
    direct = {n: o for n, o in objects.items() if not (layout.object_stream and o.stream is None)}
    offsets = {}
    for number, obj in sorted(direct.items()):
        offsets[number] = len(out)
        out += _plain_object(number, obj, layout)
    if not layout.object_stream:
        return bytes(out + _xref_table(offsets, size, root, trailer, len(out), prev))
    filter_ref = None
    if layout.indirect_filter:
        filter_ref, size = size, size + 1
        offsets[filter_ref] = len(out)
        out += b"%d 0 obj\n/FlateDecode\nendobj\n" % filter_ref
    stream_number, xref_number, size = size, size + 1, size + 2
    offsets[stream_number] = len(out)
    out += _object_stream(stream_number, packed, layout, filter_ref)
    entries = {0: (0, 0, 65535)} if prev is None else {}
    entries.update({n: (1, offset, 0) for n, offset in offsets.items()})
    entries.update({n: (2, stream_number, i) for i, (n, _) in enumerate(packed)})
    entries[xref_number] = (1, len(out), 0)
    entries = dict(sorted(entries.items()))
    return bytes(out + _xref_stream(xref_number, entries, size, root, trailer, layout, len(out), prev))


def write(data, layout):
    """The PDF in data, written again object by object in the given layout."""
    objects, root, file_id = objects_of(data)
    return write_sections(objects, root, file_id, layout)


def start_of_last_xref(data):
    """The byte offset that the file's last `startxref` names."""
    return int(re.findall(rb"startxref\s+(\d+)", data)[-1])


def incremental_update(base, changed, layout):
    """Append a later revision to base holding the changed and new objects, with /Prev to base's xref."""
    objects, root, file_id = objects_of(base)
    size = max(objects) + 1
    return write_sections(changed, root, file_id, layout, base=base + b"\n", prev=start_of_last_xref(base),
                          size=size)
