"""The benign PDFs come from real generators, hold what each generator is known for, and carry no active content."""
import io

import pikepdf
import pypdfium2
import pytest

from tests.corpus.benign_pdf import BENIGN_PDF_NAMES, benign_pdf
from tests.corpus.pdf_walk import active_kinds


def _filters(pdf):
    """Every stream filter name used in the file."""
    names = set()
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Stream):
            value = obj.stream_dict.get("/Filter")
            names.update(str(n) for n in (value if isinstance(value, pikepdf.Array) else [value]) if n is not None)
    return names


def _uris(pdf):
    return {str(annot.A.URI).partition(":")[0] for page in pdf.pages for annot in page.obj.get("/Annots", [])
            if "/A" in annot and annot.A.get("/S") == pikepdf.Name.URI}


def _largest_image(pdf):
    return max(len(obj.read_bytes()) for obj in pdf.objects
               if isinstance(obj, pikepdf.Stream) and obj.stream_dict.get("/Subtype") == pikepdf.Name.Image)


def _text(data):
    document = pypdfium2.PdfDocument(data)
    try:
        return document[0].get_textpage().get_text_range()
    finally:
        document.close()


# What each generator is known for, checked in its output.
TRAITS = {
    "reportlab_links_outlines": lambda pdf, data: ("/ASCII85Decode" in _filters(pdf) and len(pdf.pages) == 3
                                                  and "/Outlines" in pdf.Root and _uris(pdf) == {"http", "https"}),
    "ps2pdf_outlines": lambda pdf, data: "/Outlines" in pdf.Root and _uris(pdf) == {"https"} and len(pdf.pages) == 2,
    "ghostscript_pdfa2": lambda pdf, data: pdf.open_metadata().get("pdfaid:part") == "2",
    "imagemagick_large_lossless_scan": lambda pdf, data: (_largest_image(pdf) > 20 * 1024 * 1024
                                                         and "/FlateDecode" in _filters(pdf)),
    "imagemagick_lzw": lambda pdf, data: "/LZWDecode" in _filters(pdf),
    "imagemagick_runlength": lambda pdf, data: "/RunLengthDecode" in _filters(pdf),
    "img2pdf_jpeg_page": lambda pdf, data: "/DCTDecode" in _filters(pdf),
    "tesseract_ocr": lambda pdf, data: "unfit" in _text(data),
    "chromium_print": lambda pdf, data: _uris(pdf) == {"http", "https", "mailto"},
    "permissions_only_aes": lambda pdf, data: pdf.is_encrypted and pdf.encryption.bits == 256
    and pdf.encryption.user_password == b"",
    "permissions_only_rc4": lambda pdf, data: pdf.is_encrypted and pdf.encryption.R == 3
    and pdf.encryption.user_password == b"",
    "open_action_goto": lambda pdf, data: pdf.Root.OpenAction.S == pikepdf.Name.GoTo,
    "open_action_destination": lambda pdf, data: isinstance(pdf.Root.OpenAction, pikepdf.Array),
}


def test_every_generator_has_its_traits_listed():
    assert set(TRAITS) == set(BENIGN_PDF_NAMES)


@pytest.mark.parametrize("name", BENIGN_PDF_NAMES)
def test_benign_pdf_opens_without_password_has_its_traits_and_no_active_content(name):
    case = benign_pdf(name)
    pdf = pikepdf.open(io.BytesIO(case.data))
    assert len(pdf.pages) >= 1
    assert TRAITS[name](pdf, case.data)
    assert active_kinds(pdf) == set()
    assert len(case.data) < 10 * 1024 * 1024  # within the portal's default upload limit


@pytest.mark.parametrize("name", BENIGN_PDF_NAMES)
def test_pdfium_opens_benign_pdf(name):
    document = pypdfium2.PdfDocument(benign_pdf(name).data)
    try:
        assert len(document) >= 1
    finally:
        document.close()
