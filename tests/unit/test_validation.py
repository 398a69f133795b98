"""The bad-input suite for validation: every refused kind gets its message; good files pass."""
import io

import pytest

from portal.media.images import prepare
from portal.media.validation import ValidationError, clean_display_name, read_limited, validate
from tests.badfiles import ACCEPTED, HOSTILE_NAMES, REFUSED
from tests.media_fixtures import png_bytes

LIMIT = 10 * 1024 * 1024
PIXELS = 50_000_000


def check(data, filename):
    """The whole check an upload gets: validate (type, header, PDF policy), then prepare (one full decode)."""
    checked = validate(data, filename, max_bytes=LIMIT, max_pixels=PIXELS)
    prepare(checked.data, checked.content_type)
    return checked


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_kinds_raise_with_their_code(name):
    data, filename, code = REFUSED[name]
    with pytest.raises(ValidationError) as refused:
        check(data, filename)
    assert refused.value.code == code
    assert str(refused.value)


def test_wrong_type_message_says_what_is_allowed(app):
    data, filename, _ = REFUSED["html named jpg"]
    with app.test_request_context(headers={"Accept-Language": "en"}):
        with pytest.raises(ValidationError) as refused:
            validate(data, filename, max_bytes=LIMIT, max_pixels=PIXELS)
        assert "Allowed: JPEG, PNG, WebP or HEIC photos and PDF documents." in str(refused.value)


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_good_files_pass_with_the_sniffed_type(name):
    data, filename, content_type = ACCEPTED[name]
    checked = check(data, filename)
    assert checked.content_type == content_type
    assert checked.extension == {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}[content_type]


def test_a_file_of_exactly_the_limit_passes_and_one_byte_more_does_not():
    data = png_bytes()
    exact = data + b"\x00" * (4096 - len(data))  # bytes after IEND do not change what the file is
    assert validate(exact, "a.png", max_bytes=4096, max_pixels=PIXELS).content_type == "image/png"
    assert read_limited(io.BytesIO(exact), 4096) == exact
    with pytest.raises(ValidationError) as refused:
        read_limited(io.BytesIO(exact + b"\x00"), 4096)
    assert refused.value.code == "too_large"
    with pytest.raises(ValidationError):
        validate(exact + b"\x00", "a.png", max_bytes=4096, max_pixels=PIXELS)


def test_read_limited_stops_reading_after_the_limit():
    class Endless(io.RawIOBase):
        served = 0

        def read(self, size=-1):
            self.served += size
            return b"\x00" * size

    stream = Endless()
    with pytest.raises(ValidationError):
        read_limited(stream, 1024 * 1024)
    assert stream.served <= 1024 * 1024 + 1


def test_image_over_the_pixel_limit_is_refused():
    data = png_bytes(size=(300, 200))
    with pytest.raises(ValidationError) as refused:
        validate(data, "big.png", max_bytes=LIMIT, max_pixels=300 * 200 - 1)
    assert refused.value.code == "image"
    assert validate(data, "big.png", max_bytes=LIMIT, max_pixels=300 * 200).content_type == "image/png"


@pytest.mark.parametrize("given,expected", list(HOSTILE_NAMES.items()))
def test_hostile_filenames_are_cleaned(given, expected):
    assert clean_display_name(given, "jpg") == expected


def test_a_pdf_that_cannot_be_rendered_gets_a_placeholder_thumbnail():
    from PIL import Image

    from portal.media.images import pdf_thumbnail

    thumbnail = pdf_thumbnail(b"%PDF-1.4 not renderable")
    with Image.open(io.BytesIO(thumbnail)) as image:
        assert image.format == "WEBP" and image.size == (300, 400)


def _pdf_with_image(width, height):
    """A one-page PDF drawing a 1-bit, all-white Flate image of width x height (a fax-like page, tiny on disk)."""
    import zlib

    import pikepdf

    document = pikepdf.new()
    document.add_blank_page(page_size=(595, 842))
    row = (width + 7) // 8
    image = pikepdf.Stream(document, zlib.compress(b"\xff" * row * height, 9))
    image.stream_dict = pikepdf.Dictionary(Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=width,
                                           Height=height, BitsPerComponent=1, ColorSpace=pikepdf.Name.DeviceGray,
                                           Filter=pikepdf.Name.FlateDecode)
    page = document.pages[0]
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    page.Contents = document.make_stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_a_pdf_page_drawing_a_huge_image_gets_a_placeholder_instead_of_a_render(monkeypatch):
    from portal.media import pdfium
    from portal.media.images import pdf_thumbnail, placeholder_thumbnail

    huge = _pdf_with_image(12000, 12000)  # 144 million pixels in a few KB
    assert len(huge) < 64 * 1024 and check(huge, "fax.pdf").content_type == "application/pdf"
    rendered = []
    monkeypatch.setattr(pdfium, "render_within", lambda *a, **k: rendered.append(1))
    assert pdf_thumbnail(huge) == placeholder_thumbnail("PDF") and rendered == []


def _pdf_with_drawing(operations):
    """A one-page PDF whose content stream fills `operations` tiny rectangles (a vector bomb when large)."""
    import pikepdf

    document = pikepdf.new()
    document.add_blank_page(page_size=(595, 842))
    document.pages[0].Contents = document.make_stream(
        b"".join(b"%d %d 1 1 re f\n" % (i % 500, (i // 500) % 800) for i in range(operations)))
    buffer = io.BytesIO()
    document.save(buffer, compress_streams=True)
    return buffer.getvalue()


def test_a_pdf_page_with_megabytes_of_drawing_gets_a_placeholder_before_pdfium_parses_it(monkeypatch):
    from portal.media import pdfium
    from portal.media.images import MAX_THUMBNAIL_CONTENT_BYTES, pdf_thumbnail, placeholder_thumbnail

    bomb = _pdf_with_drawing(600_000)  # about 10 MB of instructions, under 1 MB on disk
    assert len(bomb) < MAX_THUMBNAIL_CONTENT_BYTES
    opened = []
    monkeypatch.setattr(pdfium, "pdf_document", lambda *a: opened.append(1))
    assert pdf_thumbnail(bomb) == placeholder_thumbnail("PDF") and opened == []


def test_drawing_that_outlasts_the_render_budget_gets_a_placeholder(monkeypatch):
    from portal.media import images

    slow = _pdf_with_drawing(150_000)  # under the size cap, so PDFium starts drawing it
    monkeypatch.setattr(images, "THUMBNAIL_RENDER_SECONDS", 0.0)
    assert images.pdf_thumbnail(slow) == images.placeholder_thumbnail("PDF")
    monkeypatch.setattr(images, "THUMBNAIL_RENDER_SECONDS", 30.0)
    assert images.pdf_thumbnail(slow) != images.placeholder_thumbnail("PDF")


def test_a_pdf_page_drawing_a_normal_scan_is_rendered():
    from PIL import Image

    from portal.media.images import pdf_thumbnail, placeholder_thumbnail

    scan = _pdf_with_image(1700, 2400)
    thumbnail = pdf_thumbnail(scan)
    assert thumbnail != placeholder_thumbnail("PDF")
    with Image.open(io.BytesIO(thumbnail)) as image:
        assert max(image.size) == 400 and image.size[1] > image.size[0]  # the whole portrait page, not a crop
