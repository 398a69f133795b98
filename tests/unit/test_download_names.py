"""Download names: always the real type's extension, and an ASCII fallback that keeps it and stays readable."""
import pytest

from portal.media.disposition import ascii_fallback, content_disposition, download_name
from portal.media.validation import clean_display_name


@pytest.mark.parametrize("given,content_type,expected", [
    ("больничный.html", "image/jpeg", "больничный.html.jpg"),
    ("x.html", "image/jpeg", "x.html.jpg"),
    ("scan.JPEG", "image/jpeg", "scan.JPEG"),
    ("photo.jpg", "image/png", "photo.jpg.png"),
    ("справка", "application/pdf", "справка.pdf"),
    ("Фото 12.05.2024", "image/jpeg", "Фото 12.05.2024.jpg"),
    ("note.exe", "application/pdf", "note.exe.pdf"),
    ("", "image/webp", "proof.webp"),
    (".pdf", "application/pdf", ".pdf.pdf"),
])
def test_the_extension_is_always_the_sniffed_types(given, content_type, expected):
    assert download_name(given, content_type) == expected


@pytest.mark.parametrize("given,expected", [
    ("Фото справки.JPEG", "Foto spravki.JPEG"),
    ("больничный лист №5.pdf", "bol_nichnyy list No5.pdf"),
    ("справка.html.jpg", "spravka.html.jpg"),
    ("...", "proof"),
    ("\x01\x02.jpg", "proof.jpg"),
    ("日本語.png", "RiBenYu.png"),
])
def test_the_ascii_fallback_keeps_the_extension_and_a_readable_stem(given, expected):
    assert ascii_fallback(given) == expected


@pytest.mark.parametrize("given", ["Фото справки.JPEG", "", "...", "." * 40, "a" * 1000 + ".pdf",
                                   "bad\x00\x1b[31m\r\nname.pdf", "\u202egpj.exe", "  .pdf  "])
def test_every_name_gives_a_safe_header_with_the_types_extension(given):
    name = download_name(clean_display_name(given, "pdf"), "application/pdf")
    header = content_disposition("attachment", name)
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert header.isascii() and "\r" not in header and "\n" not in header
    assert name.endswith(".pdf") and fallback.endswith(".pdf")
    assert len(name) <= 210 and len(fallback) <= 115
    assert all(c.isprintable() for c in name)


def test_a_cyrillic_name_keeps_its_extension_in_the_fallback():
    header = content_disposition("attachment", "Фото справки.JPEG")
    assert 'filename="Foto spravki.JPEG"' in header
    assert "filename*=UTF-8''%D0%A4%D0%BE%D1%82%D0%BE%20%D1%81%D0%BF%D1%80%D0%B0%D0%B2%D0%BA%D0%B8.JPEG" in header
