"""Benign PDFs made by real generators at test time (kind "ok"): what employees' scanners, browsers and
office tools produce, so a policy check is measured against real output rather than files made to fit.

benign_pdf(name) builds every generator's file once per test session (about 20 s in all) and returns one
Case; a generator whose system tool is missing is skipped with the reason, and fails in CI (CI=true),
where .ci/run installs the tools (ghostscript, imagemagick, tesseract-ocr, chromium).
"""
import concurrent.futures
import functools
import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageDraw

from tests.corpus.case import Case

CONVERT = "/usr/bin/convert"  # ImageMagick itself: an earlier `convert` on PATH may be something else
CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
LINE = "Patient was examined and is unfit for work from 3 to 5 March 2026."
POSTSCRIPT = """%!PS
/Helvetica findfont 14 scalefont setfont
[ /Title (Sick note) /Author (Clinic) /DOCINFO pdfmark
72 760 moveto (Medical certificate, page 1) show
[ /Rect [70 700 300 720] /Border [0 0 0] /F 4 /Action << /Subtype /URI /URI (https://clinic.example/verify) >>
  /Subtype /Link /ANN pdfmark
[ /Count 0 /Page 2 /View [/Fit] /Title (Page two) /OUT pdfmark
showpage
72 760 moveto (Page 2: signed and stamped) show showpage
"""
HTML = """<!doctype html><html><body><h1>Sick note</h1><p>{line}</p>
<p><a href="https://clinic.example/verify">verify online</a> · <a href="http://clinic.example/">clinic</a>
· <a href="mailto:doctor@clinic.example">write to the doctor</a></p></body></html>"""


class ToolMissing(Exception):
    """A generator's system tool is not installed here."""


def _tool(path):
    found = shutil.which(path)
    if not found:
        raise ToolMissing(f"{path} is not installed (.ci/run installs it with apt-get)")
    return found


def scan(size, text_lines=40, font_size=40):
    """A grey scanned page of text, as a flatbed scanner's lossless output looks."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    step = max(font_size * 2, size[1] // (text_lines + 2))
    for y in range(step, size[1] - step, step):
        draw.text((size[0] // 14, y), LINE, fill=20, font_size=font_size)
    return image


def reportlab_links_outlines(workdir):
    """ReportLab (ASCII85 + Flate streams by default): three pages, http/https links, GoTo bookmarks, a photo."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(595, 842))
    photo = ImageReader(scan((300, 200), 4, 14).convert("RGB"))
    for number in range(1, 4):
        pdf.bookmarkPage(f"p{number}")
        pdf.addOutlineEntry(f"Page {number}", f"p{number}", level=0)
        pdf.drawString(72, 760, f"Medical certificate, page {number}. {LINE[:40]}")
        pdf.linkURL("https://clinic.example/verify", (70, 740, 300, 755))
        pdf.linkURL("http://clinic.example/", (70, 720, 300, 735))
        pdf.drawImage(photo, 72, 400, 300, 200)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def ps2pdf_outlines(workdir):
    """Ghostscript's ps2pdf: two pages, a https link and an outline entry from pdfmarks."""
    source, target = workdir / "note.ps", workdir / "ps2pdf.pdf"
    source.write_text(POSTSCRIPT)
    subprocess.run([_tool("ps2pdf"), str(source), str(target)], check=True, capture_output=True, timeout=60)
    return target.read_bytes()


def ghostscript_pdfa2(workdir):
    """Ghostscript pdfwrite with -dPDFA=2 (PDF/A-2b as archives keep official letters)."""
    source, target = workdir / "note-a.ps", workdir / "pdfa.pdf"
    source.write_text(POSTSCRIPT)
    subprocess.run([_tool("gs"), "-q", "-dBATCH", "-dNOPAUSE", "-dSAFER", "-dPDFA=2", "-dPDFACompatibilityPolicy=1",
                    "-sColorConversionStrategy=RGB", "-sDEVICE=pdfwrite", "-o", str(target), str(source)],
                   check=True, capture_output=True, timeout=60)
    return target.read_bytes()


def _imagemagick(workdir, name, image, compress):
    source, target = workdir / f"{name}.png", workdir / f"{name}.pdf"
    image.save(source)
    # EPDF is ImageMagick's own PDF writer under the name Debian's policy.xml leaves open (it closes "PDF",
    # meant for reading PDFs through Ghostscript); the bytes are the same writer's output.
    subprocess.run([_tool(CONVERT), str(source), "-compress", compress, f"EPDF:{target}"],
                   check=True, capture_output=True, timeout=120)
    return target.read_bytes()


def imagemagick_large_lossless_scan(workdir):
    """ImageMagick: a 4200x5100 grey lossless scan in one Flate image that inflates to 20.4 MiB."""
    return _imagemagick(workdir, "large-scan", scan((4200, 5100)), "Zip")


def imagemagick_lzw(workdir):
    """ImageMagick with -compress LZW: an LZWDecode image."""
    return _imagemagick(workdir, "lzw", scan((850, 1100), 12, 24), "LZW")


def imagemagick_runlength(workdir):
    """ImageMagick with -compress RLE: a RunLengthDecode image."""
    return _imagemagick(workdir, "rle", scan((850, 1100), 12, 24), "RLE")


def img2pdf_jpeg_page(workdir):
    """img2pdf: a phone photo of a note, the JPEG kept as it is (DCTDecode)."""
    import img2pdf

    buffer = io.BytesIO()
    scan((1240, 1754), 20, 30).convert("RGB").save(buffer, "JPEG", quality=85)
    return img2pdf.convert(buffer.getvalue())


def tesseract_ocr(workdir):
    """Tesseract's PDF renderer: the scan as an image with an invisible OCR text layer."""
    source = workdir / "ocr.png"
    scan((1000, 1300), 10, 28).save(source, dpi=(150, 150))
    subprocess.run([_tool("tesseract"), str(source), str(workdir / "ocr"), "-l", "eng", "pdf"],
                   check=True, capture_output=True, timeout=120)
    return (workdir / "ocr.pdf").read_bytes()


def chromium_print(workdir):
    """Chromium's print to PDF (Playwright page.pdf) of a page with http, https and mailto links."""
    _tool(CHROMIUM)
    # Playwright's sync API refuses to start inside a running asyncio loop (the browser tests' session has
    # one in this thread), so the print runs in a thread of its own.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_print_in_chromium).result(timeout=120)


def _print_in_chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.set_content(HTML.format(line=LINE))
            return page.pdf(format="A4")
        finally:
            browser.close()


def _reportlab_with(change, **save_options):
    pdf = pikepdf.open(io.BytesIO(reportlab_links_outlines(None)))
    change(pdf)
    buffer = io.BytesIO()
    pdf.save(buffer, **save_options)
    return buffer.getvalue()


def permissions_only_aes(workdir):
    """pikepdf (qpdf) encryption with an owner password and an empty user password: AES-256, no copying."""
    return _reportlab_with(lambda pdf: None, encryption=pikepdf.Encryption(
        owner="registry-office", user="", R=6, allow=pikepdf.Permissions(extract=False, modify_other=False)))


def permissions_only_rc4(workdir):
    """The same with RC4-128, as many official documents still come."""
    return _reportlab_with(lambda pdf: None, encryption=pikepdf.Encryption(
        owner="registry-office", user="", R=3, aes=False, metadata=False))


def open_action_goto(workdir):
    """A plain in-document GoTo as /OpenAction (open on page two), as office suites write."""
    def change(pdf):
        pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.GoTo, D=[pdf.pages[1].obj, pikepdf.Name.Fit])
    return _reportlab_with(change)


def open_action_destination(workdir):
    """/OpenAction as a bare destination array [page /XYZ left top zoom]."""
    def change(pdf):
        pdf.Root.OpenAction = [pdf.pages[0].obj, pikepdf.Name.XYZ, 0, 842, 0]
    return _reportlab_with(change)


GENERATORS = {function.__name__: function for function in (
    reportlab_links_outlines, ps2pdf_outlines, ghostscript_pdfa2, imagemagick_large_lossless_scan, imagemagick_lzw,
    imagemagick_runlength, img2pdf_jpeg_page, tesseract_ocr, chromium_print, permissions_only_aes,
    permissions_only_rc4, open_action_goto, open_action_destination)}
BENIGN_PDF_NAMES = tuple(GENERATORS)


@functools.cache
def _built():
    """name -> bytes, or the exception that stopped its generator; built once per process."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="benign-pdf-") as folder:
        for name, generate in GENERATORS.items():
            try:
                results[name] = generate(Path(folder))
            except Exception as failure:  # noqa: BLE001 - one broken generator must not take the others along
                results[name] = failure
    return results


def benign_pdf(name):
    """The benign Case made by one generator; skip (or fail in CI) when its tool is missing here."""
    result = _built()[name]
    if isinstance(result, ToolMissing):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name}: {result}")
        pytest.skip(f"{name}: {result}")
    if isinstance(result, Exception):
        pytest.fail(f"{name}: the generator failed: {result!r}")
    return Case(name, result, "ok")


def benign_pdfs():
    """Every benign Case whose generator can run here (BENIGN_PDFS)."""
    return [Case(name, data, "ok") for name, data in _built().items() if isinstance(data, bytes)]
