"""Issue 9's corpus through the portal, on every provider: every active PDF refused by the worker with the
message of its kind, nothing under a final key and its incoming object removed; every hostile photo stored as
one canonical, upright image; benign PDFs accepted."""
import io
from collections import defaultdict

import pikepdf
import pytest

from portal.extensions import db
from portal.media import storage
from portal.media.orchestrator import Upload
from portal.media.validation import ValidationError
from portal.models import AuditEvent, MediaObject
from tests.conftest import Factory
from tests.corpus import adversarial_images, adversarial_pdf, markers
from tests.corpus.benign_pdf import BENIGN_PDF_NAMES, benign_pdf
from tests.media_fixtures import store_proof

# The corpus's kinds, as the refusal codes (and so the messages) the portal gives them.
EXPECTED_CODE = {
    "script": "pdf_script", "launch": "pdf_launch", "remote_goto": "pdf_other_file",
    "import_data": "pdf_form_data", "submit_form": "pdf_form_data", "richmedia": "pdf_media", "xfa": "pdf_xfa",
    "embedded_file": "pdf_attachment", "uri": "pdf_uri", "open_action": "pdf_auto_action",
    "password": "pdf_password", "damaged": "pdf_damaged",
}
MESSAGE_WORDS = {  # what the employee reads names the cause
    "pdf_script": "script", "pdf_launch": "programs", "pdf_other_file": "another file", "pdf_form_data": "form",
    "pdf_media": "media", "pdf_xfa": "XFA", "pdf_attachment": "attached", "pdf_uri": "link",
    "pdf_auto_action": "by itself", "pdf_password": "password", "pdf_damaged": "damaged",
}
BY_KIND = defaultdict(list)
for _case in adversarial_pdf.CASES:
    BY_KIND[_case.kind].append(_case)


@pytest.fixture
def request_case(media_app):
    case = Factory().pending_request("Policy Co")
    case.employee.language = "en"  # the worker writes the refusal in the uploader's language
    db.session.commit()
    return case


def _store(request_case, data, name):
    return store_proof(request_case.cancellation, Upload(io.BytesIO(data), name),
                                                   actor=request_case.employee)


def _state():
    """Every object in the bucket (final keys and incoming/ alike) and the rows and audit events of kept files."""
    keys = sorted(o.key for o in storage().iter_objects(""))
    rows = db.session.execute(db.select(db.func.count(MediaObject.id)).where(MediaObject.status != "refused")).scalar()
    uploads = db.session.execute(db.select(db.func.count(AuditEvent.id))
                                 .where(AuditEvent.action == "media.upload")).scalar()
    return keys, rows, uploads


def test_the_corpus_covers_every_kind_in_many_encodings():
    assert set(BY_KIND) == set(EXPECTED_CODE)
    assert all(len(cases) >= 4 for cases in BY_KIND.values()) and len(adversarial_pdf.CASES) >= 200


@pytest.mark.parametrize("kind", sorted(EXPECTED_CODE))
def test_every_active_pdf_is_refused_with_its_message_and_nothing_is_stored(request_case, kind):
    before, wrong = _state(), []
    for case in BY_KIND[kind]:
        try:
            _store(request_case, case.data, "note.pdf")
            wrong.append((case.name, "stored"))
        except ValidationError as refused:
            code, message = refused.code, str(refused)
            if code != EXPECTED_CODE[kind] or MESSAGE_WORDS[code] not in message:
                wrong.append((case.name, code, message))
    assert wrong == []
    assert _state() == before  # no object under a final key, no incoming object left, no ready row
    refused = db.session.execute(db.select(db.func.count(MediaObject.id))
                                 .where(MediaObject.status == "refused")).scalar()
    assert refused == len(BY_KIND[kind])  # each one is on the employee's card with its message


def _no_pages_pdf():
    """A well-formed PDF whose page tree is empty (qpdf opens it, PDFium shows nothing)."""
    out = io.BytesIO()
    pikepdf.new().save(out)
    return out.getvalue()


@pytest.mark.parametrize("language, words", [
    ("en", "This PDF has no pages, so there is nothing in it to see."),
    ("ru", "В этом PDF нет ни одной страницы: смотреть в нём нечего."),
])
def test_a_pdf_without_pages_is_refused_as_such_in_the_uploaders_language(request_case, language, words):
    request_case.employee.language = language
    db.session.commit()
    with pytest.raises(ValidationError) as refused:
        _store(request_case, _no_pages_pdf(), "empty.pdf")
    assert refused.value.code == "pdf_no_pages"
    row = db.session.execute(db.select(MediaObject).where(MediaObject.status == "refused")).scalar_one()
    assert row.refusal_code == "pdf_no_pages" and words in row.refusal_message
    assert "damaged" not in row.refusal_message and "password" not in row.refusal_message
    assert "повреж" not in row.refusal_message and "парол" not in row.refusal_message


@pytest.mark.parametrize("case", adversarial_images.IMAGE_CASES, ids=lambda c: c.name)
def test_every_hostile_photo_is_stored_as_one_clean_upright_image(request_case, case):
    media = _store(request_case, case.data, "photo")
    stored = storage().open(media.storage_key).read()
    markers.assert_canonical(stored)
    assert markers.upright(stored)
    assert media.size == len(stored)


@pytest.mark.parametrize("name", BENIGN_PDF_NAMES)
def test_benign_pdfs_from_real_generators_are_accepted(request_case, name):
    case = benign_pdf(name)
    media = _store(request_case, case.data, f"{name}.pdf")
    assert media.status == "ready" and storage().open(media.storage_key).read()[:5] == b"%PDF-"
