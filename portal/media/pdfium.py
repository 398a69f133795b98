"""PDFium behind one lock: it is not thread-safe, and gunicorn's gthread workers run requests in threads."""
import ctypes
import threading
import time
from contextlib import contextmanager

from PIL import Image

_LOCK = threading.Lock()


@contextmanager
def pdf_document(data):
    """Open a PDF with pypdfium2 while holding the process-wide PDFium lock; close it before letting go."""
    import pypdfium2

    with _LOCK:
        document = pypdfium2.PdfDocument(data)
        try:
            yield document
        finally:
            document.close()


def render_within(page, width, height, seconds):
    """Render a page into a width x height RGB image with PDFium's progressive renderer, which asks between
    drawing steps whether to pause; None when drawing would take longer than `seconds`."""
    import pypdfium2.raw as pdfium_c

    deadline = time.monotonic() + seconds
    pause = pdfium_c.IFSDK_PAUSE(version=1)
    pause.NeedToPauseNow = type(pause.NeedToPauseNow)(lambda _pause: time.monotonic() > deadline)
    bitmap = pdfium_c.FPDFBitmap_Create(width, height, 0)
    try:
        pdfium_c.FPDFBitmap_FillRect(bitmap, 0, 0, width, height, 0xFFFFFFFF)
        status = pdfium_c.FPDF_RenderPageBitmap_Start(bitmap, page.raw, 0, 0, width, height, 0,
                                                      pdfium_c.FPDF_ANNOT, ctypes.byref(pause))
        while status == pdfium_c.FPDF_RENDER_TOBECONTINUED and time.monotonic() <= deadline:
            status = pdfium_c.FPDF_RenderPage_Continue(page.raw, ctypes.byref(pause))
        pdfium_c.FPDF_RenderPage_Close(page.raw)
        if status != pdfium_c.FPDF_RENDER_DONE:
            return None
        stride = pdfium_c.FPDFBitmap_GetStride(bitmap)
        pixels = ctypes.string_at(pdfium_c.FPDFBitmap_GetBuffer(bitmap), stride * height)
        return Image.frombuffer("RGBX", (width, height), pixels, "raw", "BGRX", stride, 1).convert("RGB")
    finally:
        pdfium_c.FPDFBitmap_Destroy(bitmap)
