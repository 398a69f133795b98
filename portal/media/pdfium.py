"""PDFium behind one lock: it is not thread-safe, and gunicorn's gthread workers run requests in threads."""
import threading
from contextlib import contextmanager

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
