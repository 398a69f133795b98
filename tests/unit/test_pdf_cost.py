"""The cost cap of PDF thumbnails counts what PDFium parses and draws for the first page: every form, tiling
pattern, soft mask group, Type 3 glyph and annotation appearance, as many times as it is drawn. A page over the
cap gets a placeholder card before PDFium opens the file; a page within it is rendered."""
import io
import zlib

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name

from portal.media import images, pdf, pdfium

DRAWING = b"0 0 1 1 re f\n" * 80_000  # about 1 MB of instructions: a third of the cap, drawn once
TIMES = 10  # drawn this often, it is three times the cap


def _save(document):
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _page(document, content, **resources):
    document.add_blank_page(page_size=(612, 792))
    page = document.pages[-1]
    page.obj.Resources = Dictionary(**resources)
    page.obj.Contents = document.make_stream(content)
    return page


def _form(document, content=DRAWING, **resources):
    form = pikepdf.Stream(document, zlib.compress(content, 9))
    form.stream_dict = Dictionary(Type=Name.XObject, Subtype=Name.Form, BBox=Array([0, 0, 612, 792]),
                                  Filter=Name.FlateDecode)
    if resources:
        form.Resources = Dictionary(**resources)
    return document.make_indirect(form)


def form_drawn(times):
    document = pikepdf.new()
    _page(document, b"/F0 Do\n" * times, XObject=Dictionary(F0=_form(document)))
    return _save(document)


def form_in_form_drawn(times):
    """A form drawing the heavy form once, itself drawn `times` times: the multiplicities multiply."""
    document = pikepdf.new()
    outer = _form(document, b"q /Inner Do Q\n", XObject=Dictionary(Inner=_form(document)))
    _page(document, b"/Outer Do\n" * times, XObject=Dictionary(Outer=outer))
    return _save(document)


def annotation_appearance(times):
    document = pikepdf.new()
    page = _page(document, b"")
    appearance = _form(document)
    page.obj.Annots = Array([document.make_indirect(Dictionary(
        Type=Name.Annot, Subtype=Name.Square, Rect=Array([0, 0, 612, 792]), F=4, AP=Dictionary(N=appearance)))
        for _ in range(times)])
    return _save(document)


def tiling_pattern(times):
    document = pikepdf.new()
    pattern = pikepdf.Stream(document, zlib.compress(DRAWING, 9))
    pattern.stream_dict = Dictionary(Type=Name.Pattern, PatternType=1, PaintType=1, TilingType=1,
                                     BBox=Array([0, 0, 612, 792]), XStep=612, YStep=792, Resources=Dictionary(),
                                     Filter=Name.FlateDecode)
    # selected once, then used by every fill after it
    _page(document, b"/Pattern cs /P0 scn\n" + b"0 0 612 792 re f\n" * times,
          Pattern=Dictionary(P0=document.make_indirect(pattern)))
    return _save(document)


def soft_mask(times):
    document = pikepdf.new()
    group = _form(document)
    group.Group = Dictionary(S=Name.Transparency, CS=Name.DeviceGray)
    state = Dictionary(Type=Name.ExtGState, SMask=Dictionary(Type=Name.Mask, S=Name.Luminosity, G=group))
    _page(document, b"/GS0 gs\n" + b"0 0 612 792 re f\n" * times, ExtGState=Dictionary(GS0=state))
    return _save(document)


def type3_glyphs(times):
    document = pikepdf.new()
    glyph = document.make_stream(b"1000 0 d0\n" + DRAWING)
    font = Dictionary(Type=Name.Font, Subtype=Name.Type3, FontBBox=Array([0, 0, 1000, 1000]),
                      FontMatrix=Array([0.001, 0, 0, 0.001, 0, 0]), FirstChar=65, LastChar=65, Widths=Array([1000]),
                      CharProcs=Dictionary(A=glyph), Encoding=Dictionary(Differences=Array([65, Name.A])),
                      Resources=Dictionary())
    _page(document, b"BT /T3 12 Tf (" + b"A" * times + b") Tj ET", Font=Dictionary(T3=document.make_indirect(font)))
    return _save(document)


ATTACKS = {"form": form_drawn, "form in a form": form_in_form_drawn, "annotation appearance": annotation_appearance,
           "tiling pattern": tiling_pattern, "soft mask": soft_mask, "Type 3 glyph": type3_glyphs}


@pytest.fixture
def opened(monkeypatch):
    """Records every time PDFium is asked to open a file for a thumbnail."""
    calls = []
    real = pdfium.pdf_document

    def recording(data):
        calls.append(1)
        return real(data)

    monkeypatch.setattr(pdfium, "pdf_document", recording)
    return calls


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_content_drawn_many_times_is_counted_each_time_and_gets_a_placeholder(attack, opened):
    once, many = ATTACKS[attack](1), ATTACKS[attack](TIMES)
    assert len(many) < 64 * 1024  # a few KB on disk
    assert images.pdf_thumbnail(once) != images.placeholder_thumbnail("PDF")  # within the cap: rendered
    assert opened == [1]
    cost = pdf.first_page_cost(many, images.MAX_THUMBNAIL_CONTENT_BYTES)
    assert cost.content_bytes > images.MAX_THUMBNAIL_CONTENT_BYTES
    assert images.pdf_thumbnail(many) == images.placeholder_thumbnail("PDF") and opened == [1]


def _chain(depth, fan_out=1, heavy=b"0 0 1 1 re f\n"):
    """Forms nested `depth` deep, each drawing the next `fan_out` times; the innermost draws `heavy`."""
    document = pikepdf.new()
    inner = _form(document, heavy)
    for _ in range(depth):
        inner = _form(document, b"/N Do\n" * fan_out, XObject=Dictionary(N=inner))
    _page(document, b"/N Do\n", XObject=Dictionary(N=inner))
    return _save(document)


def test_forms_nested_deeper_than_the_counter_goes_count_as_too_costly(opened):
    assert images.pdf_thumbnail(_chain(3)) != images.placeholder_thumbnail("PDF")
    deep = _chain(pdf.MAX_CONTENT_DEPTH + 2)
    assert pdf.first_page_cost(deep, images.MAX_THUMBNAIL_CONTENT_BYTES).content_bytes > \
        images.MAX_THUMBNAIL_CONTENT_BYTES
    assert images.pdf_thumbnail(deep) == images.placeholder_thumbnail("PDF") and opened == [1]


def test_a_form_that_draws_itself_counts_as_too_costly(opened):
    document = pikepdf.new()
    form = _form(document, b"/Self Do\n")
    form.Resources = Dictionary(XObject=Dictionary(Self=form))
    _page(document, b"/Self Do\n", XObject=Dictionary(Self=form))
    data = _save(document)
    assert images.pdf_thumbnail(data) == images.placeholder_thumbnail("PDF") and opened == []


def test_forms_drawing_each_other_twice_over_are_counted_without_walking_every_path():
    """Ten forms, each drawing the next twice, are 2**10 drawings of the innermost; the counter merges paths
    (a tally per form and depth), so it stays quick however many paths there are, and sees the total."""
    data = _chain(10, fan_out=2, heavy=b"0 0 1 1 re f\n" * 2_000)  # 26 KB drawn 1024 times
    assert pdf.first_page_cost(data, images.MAX_THUMBNAIL_CONTENT_BYTES).content_bytes > \
        images.MAX_THUMBNAIL_CONTENT_BYTES


def test_an_image_drawn_many_times_counts_its_pixels_each_time(opened):
    document = pikepdf.new()
    image = pikepdf.Stream(document, zlib.compress(b"\xff" * (2000 * 2000 // 8), 9))
    image.stream_dict = Dictionary(Type=Name.XObject, Subtype=Name.Image, Width=2000, Height=2000,
                                   BitsPerComponent=1, ColorSpace=Name.DeviceGray, Filter=Name.FlateDecode)
    _page(document, b"q 612 0 0 792 0 0 cm /Im0 Do Q\n" * 20, XObject=Dictionary(Im0=document.make_indirect(image)))
    cost = pdf.first_page_cost(_save(document), images.MAX_THUMBNAIL_CONTENT_BYTES)
    assert cost.image_pixels == 20 * 2000 * 2000 > images.MAX_THUMBNAIL_SOURCE_PIXELS


@pytest.mark.parametrize("written", ["35000", "35000.0", "35000.75"], ids=["integer", "real", "fraction"])
def test_an_image_size_written_as_a_real_counts_as_pdfium_reads_it(written, opened):
    # PDFium takes a real width as its whole part; pikepdf gives it as a Decimal, once counted as 0 pixels
    size = pikepdf.Object.parse(written.encode())
    document = pikepdf.new()
    image = pikepdf.Stream(document, zlib.compress(b"\x00" * 64, 9))
    image.stream_dict = Dictionary(Type=Name.XObject, Subtype=Name.Image, Width=size, Height=size,
                                   BitsPerComponent=1, ColorSpace=Name.DeviceGray, Filter=Name.FlateDecode)
    _page(document, b"q 612 0 0 792 0 0 cm /Im0 Do Q\n", XObject=Dictionary(Im0=document.make_indirect(image)))
    inline = pikepdf.new()
    _page(inline, b"q 612 0 0 792 0 0 cm BI /W " + written.encode() + b" /H " + written.encode()
          + b" /BPC 1 /CS /G ID \x00\x00 EI Q\n")
    for data in (_save(document), _save(inline)):
        assert pdf.first_page_cost(data, images.MAX_THUMBNAIL_CONTENT_BYTES).image_pixels == 35000 * 35000
        assert images.pdf_thumbnail(data) == images.placeholder_thumbnail("PDF")
    assert opened == []


def test_a_stream_drawn_from_many_places_is_decoded_once(monkeypatch):
    # a form without resources of its own, drawn from 200 forms, was inflated again on each of its 200 visits
    document = pikepdf.new()
    shared = _form(document, b"0 0 1 1 re f\n")
    owners = {f"F{n}": _form(document, b"/X Do\n", XObject=Dictionary(X=shared)) for n in range(200)}
    _page(document, b"".join(f"/F{n} Do\n".encode() for n in range(200)), XObject=Dictionary(**owners))
    measured = []
    real = pdf._decoded_size
    monkeypatch.setattr(pdf, "_decoded_size", lambda stream, limit: measured.append(stream.objgen) or
                        real(stream, limit))
    pdf.first_page_cost(_save(document), images.MAX_THUMBNAIL_CONTENT_BYTES)
    assert measured.count(shared.objgen) == 1
    assert len(measured) == len(set(measured))  # no stream measured twice
