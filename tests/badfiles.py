"""A corpus of files the portal must refuse, each made here from scratch, with the reason it is refused."""
import io
import struct
import zlib

from PIL import Image

from tests.media_fixtures import jpeg_bytes, pdf_bytes, png_bytes


def _pdf_with(catalog_extra, extra_objects=b""):
    """A small one-page PDF whose catalog carries catalog_extra (pdfium repairs the missing xref)."""
    return (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>\nendobj\n"
            b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
            b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>\nendobj\n"
            + extra_objects + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")


# These four name a stream as the /OpenAction: not an action at all, so a reader runs nothing, but the policy
# allows only a plain in-document jump there. Real active content, built as PDF structure: tests/corpus/.
def _compressed_js_pdf():
    action = zlib.compress(b"<< /S /JavaScript /JS (app.alert(1)) >>")
    stream = b"4 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(action) + action + b"\nendstream\nendobj\n"
    return _pdf_with(b"/OpenAction 4 0 R", stream)


def _stream_pdf(filters, body):
    """A PDF whose OpenAction is an object kept in a stream encoded with the given filters."""
    stream = b"4 0 obj\n<< /Length %d /Filter %s >>\nstream\n" % (len(body), filters) + body + b"\nendstream\nendobj\n"
    return _pdf_with(b"/OpenAction 4 0 R", stream)


def _hex_js_pdf():
    return _stream_pdf(b"/ASCIIHexDecode", b"<< /S /JavaScript /JS (app.alert(1)) >>".hex().encode() + b">")


def _a85_js_pdf():
    import base64

    return _stream_pdf(b"[/ASCII85Decode /FlateDecode]",
                       base64.a85encode(zlib.compress(b"<< /S /Launch /F (calc.exe) >>")) + b"~>")


def password_pdf():
    """A PDF that cannot be opened without its user password (AES-256)."""
    import pikepdf

    document, buffer = pikepdf.new(), io.BytesIO()
    document.add_blank_page()
    document.save(buffer, encryption=pikepdf.Encryption(user="secret", owner="owner"))
    return buffer.getvalue()


def image_pdf():
    """A scan as a PDF page: Pillow stores the picture with DCTDecode (a JPEG inside)."""
    buffer = io.BytesIO()
    Image.new("RGB", (300, 400), (250, 250, 250)).save(buffer, "PDF")
    return buffer.getvalue()


def pixel_flood_png(width=30000, height=30000):
    """A tiny PNG whose header claims a huge canvas: decoding it would eat gigabytes."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def zip_bytes():
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("note.jpg", jpeg_bytes())
    return buffer.getvalue()


def gif_bytes():
    buffer = io.BytesIO()
    Image.new("P", (10, 10)).save(buffer, "GIF")
    return buffer.getvalue()


# name -> (bytes, filename the sender claims, expected error code)
REFUSED = {
    "empty": (b"", "note.jpg", "empty"),
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "note.svg", "type"),
    "html named jpg": (b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "note.jpg", "type"),
    "shell script": (b"#!/bin/sh\nrm -rf /\n", "note.pdf", "type"),
    "python script": (b"#!/usr/bin/env python3\nimport os\nos.system('id')\n", "note.png", "type"),
    "zip archive": (zip_bytes(), "note.jpg", "type"),
    "elf executable": (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200, "a.jpg", "type"),
    "windows executable": (b"MZ\x90\x00" + b"\x00" * 60 + b"PE\x00\x00" + b"\x00" * 200, "a.pdf", "type"),
    "gif": (gif_bytes(), "note.gif", "type"),
    "plain text": (b"I was sick, honestly.\n" * 5, "note.txt", "type"),
    "truncated jpeg": (jpeg_bytes(size=(800, 600), quality=95)[:3000], "note.jpg", "image"),
    "pixel flood png": (pixel_flood_png(), "flood.png", "image"),
    "jpeg header on garbage": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00garbage" * 100, "note.jpg", "image"),
    "pdf with javascript": (_pdf_with(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"), "n.pdf", "pdf_script"),
    "pdf with launch action": (_pdf_with(b"/OpenAction << /S /Launch /F (calc.exe) >>"), "n.pdf", "pdf_launch"),
    "pdf with escaped js name": (_pdf_with(b"/OpenAction << /S /J#61vaScript /J#53 (x) >>"), "n.pdf", "pdf_script"),
    "pdf opening a flate stream": (_compressed_js_pdf(), "n.pdf", "pdf_auto_action"),
    "pdf with embedded file": (_pdf_with(b"/Names << /EmbeddedFiles << /Names [] >> >>"), "n.pdf", "pdf_attachment"),
    "broken pdf": (b"%PDF-1.4\n" + b"\x00not really\n" * 20, "n.pdf", "pdf_damaged"),
    "pdf opening a hex stream": (_hex_js_pdf(), "n.pdf", "pdf_auto_action"),
    "pdf opening an ascii85+flate stream": (_a85_js_pdf(), "n.pdf", "pdf_auto_action"),
    "pdf opening an lzw stream": (_stream_pdf(b"/LZWDecode", b"\x80\x0b\x60\x50\x22\x0c\x0c\x85\x01"), "n.pdf",
                                  "pdf_auto_action"),
    "pdf that needs a password": (password_pdf(), "n.pdf", "pdf_password"),
}

ACCEPTED = {
    "jpeg": (jpeg_bytes(), "photo.jpg", "image/jpeg"),
    "png": (png_bytes(), "photo.png", "image/png"),
    "pdf": (pdf_bytes(), "note.pdf", "application/pdf"),
    "plain pdf with a catalog": (_pdf_with(b""), "plain.pdf", "application/pdf"),
    "scanned pdf (jpeg inside)": (image_pdf(), "scan.pdf", "application/pdf"),
    # the trailer names an /Encrypt object that does not exist: every reader opens it as a plain PDF
    "pdf naming a missing /Encrypt": (_pdf_with(b"").replace(b"trailer\n<< /Root 1 0 R",
                                                                b"trailer\n<< /Encrypt 9 0 R /Root 1 0 R"),
                                      "n.pdf", "application/pdf"),
    "jpeg named pdf": (jpeg_bytes(), "note.pdf", "image/jpeg"),
}

HOSTILE_NAMES = {
    "../../x.jpg": "x.jpg",
    "C:\\Users\\me\\note.jpg": "note.jpg",
    "nul\x00byte.jpg": "nulbyte.jpg",
    "evil\u202egpj.exe": "evilgpj.exe",
    "tab\tand\nnewline.jpg": "tab and newline.jpg",
    "": "proof.jpg",
    "   ": "proof.jpg",
    "Cafe\u0301.jpg": "Café.jpg",
    "a" * 300 + ".jpg": "a" * 196 + ".jpg",
    "справка от врача.jpg": "справка от врача.jpg",
}
