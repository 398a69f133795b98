"""Flate bombs where qpdf would inflate them while checking a PDF: object streams, one or several, behind a
compressed cross-reference stream or an incremental update, in a file qpdf has to repair. Each is refused as too
complex to check, and the check holds no more than a bounded part of what the bomb would decode to.

The files are real PDFs: pikepdf builds and serialises the objects (tests/corpus/pdf_layout.py); only the object
streams are written here, because their padding has to be compressed as it is made."""
import io
import os
import subprocess
import sys
import textwrap
import zlib

import pikepdf
import pytest
from pikepdf import Dictionary, Name

from portal.media.validation import ValidationError, validate
from tests.corpus import pdf_layout

MB = 1024 * 1024
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _document():
    """A one-page note with fonts and an info dictionary: objects to pack into object streams."""
    document = pikepdf.new()
    document.add_blank_page(page_size=(595, 842))
    bases = ("/Helvetica", "/Courier", "/Times-Roman", "/Symbol", "/Helvetica-Bold")
    fonts = {f"F{i}": document.make_indirect(Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name(base)))
             for i, base in enumerate(bases)}
    document.pages[0].obj.Resources = Dictionary(Font=Dictionary(**fonts))
    document.pages[0].obj.Contents = document.make_stream(b"BT /F1 14 Tf 60 760 Td (Unfit for work) Tj ET")
    document.docinfo = document.make_indirect(Dictionary(Title=pikepdf.String("Sick note")))
    buffer = io.BytesIO()
    document.save(buffer, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    return buffer.getvalue()


def _deflate(head, padding, filters=(b"/FlateDecode",)):
    """head followed by `padding` bytes of spaces (white space after the last object), Flate-compressed as it
    is produced, so the test never holds the decoded bytes either; ASCIIHex on top when asked."""
    compressor = zlib.compressobj(9)
    parts, chunk, left = [compressor.compress(head)], b" " * MB, padding
    while left > 0:
        parts.append(compressor.compress(chunk[:min(left, MB)]))
        left -= MB
    data = b"".join(parts) + compressor.flush()
    if filters[0] == b"/ASCIIHexDecode":
        data = data.hex().encode() + b">"
    return data


def _object_stream(number, members, padding, filters):
    offsets, bodies, position = [], [], 0
    for member, obj in members:
        offsets.append(b"%d %d" % (member, position))
        bodies.append(obj.body)
        position += len(obj.body) + 1
    index = b" ".join(offsets) + b"\n"
    data = _deflate(index + b"\n".join(bodies) + b"\n", padding, filters)
    head = b"<< /Type /ObjStm /N %d /First %d /Filter [%s] /Length %d >>" % (
        len(members), len(index), b" ".join(filters), len(data))
    return b"%d 0 obj\n" % number + head + b"\nstream\n" + data + b"\nendstream\nendobj\n"


def bomb(paddings, *, filters=(b"/FlateDecode",), update=False, catalog_inside=False):
    """The note with its non-stream objects packed into one object stream per entry of `paddings` (bytes of
    white space each decodes to beyond its objects), a compressed cross-reference stream naming them. The
    catalog and the page tree (what qpdf reads while opening) stay outside unless catalog_inside. With update,
    the note is written plainly first and the object streams come in an incremental update whose
    cross-reference stream points back (/Prev) to the first revision's table."""
    note = _document()
    objects, root, file_id = pdf_layout.objects_of(note)
    with pikepdf.open(io.BytesIO(note)) as opened:
        tree = {root, opened.Root.Pages.objgen[0], opened.pages[0].objgen[0]}
    packed = [(n, o) for n, o in sorted(objects.items()) if o.stream is None and (catalog_inside or n not in tree)]
    groups = [packed[i::len(paddings)] for i in range(len(paddings))]
    base, prev = pdf_layout.HEADER, None
    if update:
        base = pdf_layout.write_sections(objects, root, file_id, pdf_layout.Layout()) + b"\n"
        prev = pdf_layout.start_of_last_xref(base)
    out, offsets, inside = bytearray(base), {}, {n for n, _ in packed}
    for number, obj in sorted(objects.items()):
        if number not in inside:
            offsets[number] = len(out)
            out += pdf_layout._plain_object(number, obj, pdf_layout.Layout())
    entries, size = {} if update else {0: (0, 0, 65535)}, max(objects) + 1
    for group, padding in zip(groups, paddings):
        offsets[size] = len(out)
        out += _object_stream(size, group, padding, filters)
        entries.update({n: (2, size, i) for i, (n, _) in enumerate(group)})
        size += 1
    entries.update({n: (1, offset, 0) for n, offset in offsets.items()})
    entries[size] = (1, len(out), 0)
    out += pdf_layout._xref_stream(size, dict(sorted(entries.items())), size + 1, root, b"/ID " + file_id,
                                   pdf_layout.Layout(), len(out), prev)
    return bytes(out)


def broken_xref(data):
    """The same file with its last `startxref` pointing nowhere: qpdf has to rebuild the table by scanning."""
    at = data.rindex(b"startxref")
    return data[:at] + b"startxref\n12345\n%%EOF\n"


def _refusal(data):
    with pytest.raises(ValidationError) as refused:
        validate(data, "note.pdf", max_bytes=10 * MB, max_pixels=50_000_000)
    return refused.value.code


BOMBS = {
    "one object stream": lambda mb: bomb([mb]),
    "object streams adding up": lambda mb: bomb([mb // 10] * 5),  # each one within the limit, not together
    "in an incremental update": lambda mb: bomb([mb], update=True),
    "in a repaired file": lambda mb: broken_xref(bomb([mb])),
    "ASCIIHex over Flate": lambda mb: bomb([mb], filters=(b"/ASCIIHexDecode", b"/FlateDecode")),
}


@pytest.mark.parametrize("case", list(BOMBS))
def test_an_object_stream_bomb_is_refused_as_too_complex(case):
    small = BOMBS[case](1 * MB)  # the same layout, a megabyte of padding: an ordinary file
    assert validate(small, "note.pdf", max_bytes=10 * MB, max_pixels=50_000_000).content_type == "application/pdf"
    data = BOMBS[case](200 * MB)
    assert len(data) < 1 * MB
    assert _refusal(data) == "pdf_too_complex"


@pytest.mark.parametrize("repaired", [False, True])
def test_a_catalog_inside_a_bomb_is_refused_as_damaged(repaired):
    """qpdf reads the catalog and the page tree while it opens the file (a damaged one: its pages too), before the
    measure can run; its own decode limit stops that inflate, so the document has no catalog or no pages: it is
    damaged, the employee is told."""
    data = bomb([200 * MB], catalog_inside=True)
    assert _refusal(broken_xref(data) if repaired else data) == "pdf_damaged"


CHECK_IN_A_CHILD = textwrap.dedent("""
    import resource, sys
    sys.path.insert(0, sys.argv[2])
    from portal.media import pdf
        # a ceiling well above what the check needs, far below what the bomb decodes to: a regression fails here
    # instead of taking the test machine's memory
    resource.setrlimit(resource.RLIMIT_DATA, (1536 * 1024 * 1024, resource.RLIM_INFINITY))
    data = open(sys.argv[1], "rb").read()
    try:
        pdf.check(data)
        print("stored")
    except pdf.PdfRefused as refused:
        print(refused.finding.kind)
    # VmHWM: this process image's own peak (ru_maxrss would also carry the parent's peak from before the exec,
    # a pytest worker's hundreds of MB late in the suite)
    with open("/proc/self/status") as status:
        print(next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) // 1024)
""")


@pytest.mark.parametrize("catalog_inside", [False, True])
@pytest.mark.parametrize("repaired", [False, True])
def test_checking_an_object_stream_bomb_never_holds_what_it_decodes_to(tmp_path, catalog_inside, repaired):
    """800 MB of white space in an 800 KB file: the check ends with a refusal, its process's peak memory a
    fraction of that (qpdf's own inflate of it peaked at 1.1 GB)."""
    data = bomb([800 * MB], catalog_inside=catalog_inside)
    path = tmp_path / "bomb.pdf"
    path.write_bytes(broken_xref(data) if repaired else data)
    done = subprocess.run([sys.executable, "-c", CHECK_IN_A_CHILD, str(path), ROOT], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    outcome, peak_mb = done.stdout.split()
    assert outcome == ("damaged" if catalog_inside else "too_complex")
    assert int(peak_mb) < 400
