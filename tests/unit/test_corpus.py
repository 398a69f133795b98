"""The adversarial PDF corpus is what it claims: real structure that PDF libraries read, in the encoding named."""
import io
import re

import pikepdf
import pypdfium2
import pytest

from tests.corpus.adversarial_pdf import CASES, ENCODINGS, MATRIX_PAYLOADS, USER_PASSWORD, base_document
from tests.corpus.pdf_walk import active_kinds, uri_is_safe

ACTIVE = [case for case in CASES if case.kind not in ("password", "damaged")]
# A name each kind's payload cannot do without; an encoding that hides names must not show it in the clear.
SIGNATURE = {"script": b"/JavaScript", "launch": b"/Launch", "remote_goto": b"/GoToR", "import_data": b"/ImportData",
             "submit_form": b"/SubmitForm", "richmedia": b"/RichMedia", "xfa": b"/XFA",
             "embedded_file": b"/FileAttachment", "uri": b"/URI", "open_action": b"/OpenAction"}


def _encoding(case):
    return case.name.partition("__")[2]


def _open_strictly(data):
    """Open without qpdf's repair, so a wrong xref or offset fails instead of being patched over."""
    pdf = pikepdf.open(io.BytesIO(data), attempt_recovery=False)
    assert len(pdf.pages) == 2
    return pdf


def test_the_corpus_is_large_and_covers_every_kind_in_every_encoding():
    kinds = {case.kind for case in CASES}
    assert len(CASES) >= 80
    assert kinds == set(SIGNATURE) | {"password", "damaged"}
    for payload in MATRIX_PAYLOADS:
        assert {_encoding(c) for c in CASES if c.name.startswith(payload + "__")} == set(ENCODINGS)
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", ACTIVE, ids=lambda case: case.name)
def test_active_case_opens_without_password_or_repair_and_holds_its_kind(case):
    pdf = _open_strictly(case.data)
    assert case.kind in active_kinds(pdf)
    assert pdf.get_warnings() == []


@pytest.mark.parametrize("case", ACTIVE, ids=lambda case: case.name)
def test_pdfium_opens_active_case(case):
    document = pypdfium2.PdfDocument(case.data)
    try:
        assert len(document) == 2
    finally:
        document.close()


def test_the_base_document_alone_is_harmless():
    buffer = io.BytesIO()
    base_document().save(buffer)
    assert active_kinds(_open_strictly(buffer.getvalue())) == set()


MATRIX = [case for case in ACTIVE if case.name.partition("__")[0] in MATRIX_PAYLOADS]


def _by_encoding(name):
    return [case for case in MATRIX if _encoding(case) == name]


@pytest.mark.parametrize("case", _by_encoding("object_stream") + _by_encoding("object_stream_png_predictor")
                         + _by_encoding("comment_before_stream") + _by_encoding("key_containing_obj")
                         + _by_encoding("filter_4k_before_stream") + _by_encoding("indirect_filter")
                         + _by_encoding("escaped_names"), ids=lambda case: case.name)
def test_hiding_encodings_do_not_show_the_payload_name_in_the_clear(case):
    assert SIGNATURE[case.kind] not in case.data


@pytest.mark.parametrize("case", _by_encoding("object_stream_png_predictor"), ids=lambda case: case.name)
def test_predictor_case_keeps_the_payload_in_a_predicted_object_stream(case):
    assert re.search(rb"/Type /ObjStm[^>]*/DecodeParms << /Predictor 12 /Columns 5 >>", case.data)


@pytest.mark.parametrize("case", _by_encoding("indirect_filter"), ids=lambda case: case.name)
def test_indirect_filter_case_names_its_filter_by_reference(case):
    number = re.search(rb"/Filter (\d+) 0 R", case.data).group(1)
    assert re.search(rb"\n" + number + rb" 0 obj\n/FlateDecode\nendobj", case.data)


@pytest.mark.parametrize("case", _by_encoding("escaped_names") + _by_encoding("escaped_names_in_predicted_object_stream"),
                         ids=lambda case: case.name)
def test_escaped_names_case_spells_the_payload_with_hex_escapes(case):
    signature = SIGNATURE[case.kind]
    escaped = signature[:2] + b"#%02X" % signature[2] + signature[3:]
    if _encoding(case) == "escaped_names":
        assert escaped in case.data
    pdf = _open_strictly(case.data)
    assert case.kind in active_kinds(pdf)  # qpdf reads the escaped spelling as the real name


@pytest.mark.parametrize("case", _by_encoding("comment_before_stream"), ids=lambda case: case.name)
def test_comment_case_has_a_comment_between_dictionary_and_stream(case):
    assert re.search(rb">>\n%[^\n]*\nstream\n", case.data)


@pytest.mark.parametrize("case", _by_encoding("key_containing_obj"), ids=lambda case: case.name)
def test_obj_key_case_has_the_key_after_filter(case):
    assert re.search(rb"/Filter /FlateDecode [^\n]*/Xobjref 1 /Length \d+ >>\nstream", case.data)


@pytest.mark.parametrize("case", _by_encoding("filter_4k_before_stream"), ids=lambda case: case.name)
def test_far_filter_case_puts_filter_more_than_4k_before_stream(case):
    at = case.data.index(b"/Filter /FlateDecode /PieceInfo")
    assert case.data.index(b"stream\n", at) - at > 4096


@pytest.mark.parametrize("case", _by_encoding("incremental_update") + _by_encoding("incremental_update_object_stream"),
                         ids=lambda case: case.name)
def test_incremental_case_adds_the_payload_in_a_later_revision(case):
    first_revision = case.data[:case.data.index(b"%%EOF") + 5]
    assert case.data.count(b"%%EOF") == 2 and b"/Prev " in case.data
    assert active_kinds(_open_strictly(first_revision)) == set()
    assert case.kind in active_kinds(_open_strictly(case.data))


@pytest.mark.parametrize("case", _by_encoding("rc4_permissions_only_encr79pt"), ids=lambda case: case.name)
def test_rc4_case_is_permissions_only_with_an_escaped_encrypt_key(case):
    assert b"/Encr#79pt" in case.data and b"/Encrypt" not in case.data
    pdf = _open_strictly(case.data)
    assert pdf.is_encrypted and pdf.encryption.R == 3 and pdf.encryption.user_password == b""


@pytest.mark.parametrize("case", _by_encoding("aes256_permissions_only"), ids=lambda case: case.name)
def test_aes_case_is_permissions_only(case):
    pdf = _open_strictly(case.data)
    assert pdf.is_encrypted and pdf.encryption.bits == 256 and pdf.encryption.user_password == b""


@pytest.mark.parametrize("case", [c for c in CASES if c.kind == "password"], ids=lambda case: case.name)
def test_password_case_needs_the_user_password(case):
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(case.data))
    with pytest.raises(pypdfium2.PdfiumError):
        pypdfium2.PdfDocument(case.data)
    assert len(pikepdf.open(io.BytesIO(case.data), password=USER_PASSWORD).pages) == 2


@pytest.mark.parametrize("case", [c for c in CASES if c.kind == "damaged"], ids=lambda case: case.name)
def test_damaged_case_cannot_be_read_even_with_repair(case):
    with pytest.raises(pikepdf.PdfError):
        pikepdf.open(io.BytesIO(case.data))
    with pytest.raises(pypdfium2.PdfiumError):
        pypdfium2.PdfDocument(case.data)


@pytest.mark.parametrize("uri,safe", [("https://example.org/a", True), ("HTTP://example.org", True),
                                      (" JavaScript:alert(1)", False), ("\\\\server\\share", False),
                                      ("file:///etc/passwd", False), ("java\tscript:x", False), ("relative", False)])
def test_the_oracle_reads_uri_schemes_like_a_viewer(uri, safe):
    assert uri_is_safe(uri) is safe
