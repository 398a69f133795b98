"""Importing a schedule CSV: preview, per-row errors, all or nothing, idempotent re-import, spreadsheet encodings."""
import io
from datetime import datetime, timezone

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Shift


def _upload(client, auth, data, step="preview", **fields):
    token = auth.csrf_token("/shifts/import")
    return client.post("/shifts/import", data={"csrf_token": token, "step": step, **fields,
                                               "file": (io.BytesIO(data), "week.csv")},
                       content_type="multipart/form-data")


def _confirm(client, auth, preview_html, **fields):
    """Send the preview's own import form back, as the Import button does."""
    payload = preview_html.split('name="payload" type="hidden" value="')[1].split('"')[0]
    return client.post("/shifts/import", data={"csrf_token": auth.csrf_token("/shifts/import"), "step": "import",
                                               "payload": payload, **fields})


def _count():
    return db.session.execute(db.select(db.func.count()).select_from(Shift)).scalar_one()


def _csv(world, sep=",", rows=None):
    rows = rows or [(world.a.emp1.email, "2026-03-02", "09:00", "17:00", "Bar", "ext-1"),
                    (world.a.emp2.email, "03.03.2026", "22:00", "06:00", "Зал", "")]
    header = sep.join(("email", "date", "start", "end", "place", "external_id"))
    return "\r\n".join([header, *(sep.join(r) for r in rows)]) + "\r\n"


def test_preview_writes_nothing_and_import_writes_every_row(client, auth, world):
    auth.login(world.a.manager)
    before = _count()
    preview = _upload(client, auth, _csv(world).encode("utf-8"))
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Read as UTF-8, separated by “,”" in html and html.count(">New<") == 2
    assert _count() == before
    done = _confirm(client, auth, html)
    assert done.status_code == 303 and done.headers["Location"] == "/shifts/?week=2026-03-02"
    assert "2 new, 0 updated" in client.get(done.headers["Location"]).get_data(as_text=True)
    night = db.session.execute(db.select(Shift).where(Shift.title == "Зал")).scalar_one()
    assert (night.employee_id, night.starts_at, night.ends_at) == (
        world.a.emp2.id, datetime(2026, 3, 3, 19, tzinfo=timezone.utc), datetime(2026, 3, 4, 3, tzinfo=timezone.utc))
    assert db.session.execute(db.select(Shift.external_id).where(Shift.title == "Bar")).scalar_one() == "ext-1"
    assert db.session.execute(db.select(AuditEvent.detail).where(AuditEvent.action == "shift.import")
                              ).scalar_one()["create"] == 2


def test_reimporting_updates_instead_of_duplicating(client, auth, world):
    auth.login(world.a.owner)
    _confirm(client, auth, _upload(client, auth, _csv(world).encode()).get_data(as_text=True))
    before = _count()
    moved = _csv(world, rows=[(world.a.emp1.email, "2026-03-02", "10:00", "18:00", "Bar", "ext-1"),
                              (world.a.emp2.email, "2026-03-03", "22:00", "06:00", "Зал", "")])
    html = _upload(client, auth, moved.encode()).get_data(as_text=True)
    assert html.count(">Update<") == 1 and html.count(">Unchanged<") == 1
    _confirm(client, auth, html)
    assert _count() == before
    assert db.session.execute(db.select(Shift.starts_at).where(Shift.external_id == "ext-1")).scalar_one() == \
        datetime(2026, 3, 2, 7, tzinfo=timezone.utc)


@pytest.mark.parametrize("encoding,sep,detected", [
    ("utf-8-sig", ";", "UTF-8 (BOM)"), ("cp1251", ";", "Windows-1251"), ("utf-8", "\t", "UTF-8")])
def test_spreadsheet_encodings_and_separators_are_read(client, auth, world, encoding, sep, detected):
    auth.login(world.a.owner)
    html = _upload(client, auth, _csv(world, sep).encode(encoding)).get_data(as_text=True)
    assert f"Read as {detected}" in html and "Зал" in html and html.count(">New<") == 2


def test_a_file_with_bad_rows_imports_nothing_unless_the_good_rows_are_chosen(client, auth, world):
    auth.login(world.a.owner)
    rows = [(world.a.emp1.email, "2026-03-02", "09:00", "17:00", "Bar", ""),
            ("nobody@test.example", "2026-03-02", "09:00", "17:00", "Bar", ""),
            (world.b.emp1.email, "2026-03-02", "09:00", "17:00", "Bar", ""),  # another business's employee
            ("not-an-email", "2026-02-30", "25:00", "9", "", ""),
            (world.a.emp1.email, "2026-03-02", "09:00", "17:00", "Bar again", "")]  # the first row's shift
    html = _upload(client, auth, _csv(world, rows=rows).encode()).get_data(as_text=True)
    for message in ("No active employee of this business has the email nobody@test.example",
                    "is not an email address", "“2026-02-30” is not a date", "“25:00” is not a time",
                    "Write the place", "already on an earlier row"):
        assert message in html
    before = _count()
    refused = _confirm(client, auth, html)
    assert refused.status_code == 422 and "Nothing was imported" in refused.get_data(as_text=True)
    assert _count() == before
    done = _confirm(client, auth, html, good_rows="y")
    assert "1 new, 0 updated, 0 unchanged, 4 skipped" in client.get(done.headers["Location"]).get_data(as_text=True)
    assert _count() == before + 1


@pytest.mark.parametrize("data,message", [
    (b"", "Choose a CSV file."),
    (b"email,date\nx@y.z,2026-03-02\n", "missing: start, end, place"),
    (b"\xff\xfe\x00\x98" * 10, "The file is neither UTF-8 nor Windows-1251"),
    (b"email,date,start,end,place\n" + b"a@b.cd,2026-03-02,09:00,17:00,Bar\n" * 2001, "more than 2000 rows"),
    (b"x" * 240_001, "larger than 240 kB"),
])
def test_a_file_that_cannot_be_read_gets_a_clear_message(client, auth, world, data, message):
    auth.login(world.a.owner)
    response = _upload(client, auth, data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)


@pytest.mark.parametrize("payload", ["!!not base64!!", "\U0009abb8\xa0o\x91ãlm"])
def test_a_forged_payload_is_refused_not_trusted(client, auth, world, payload):
    auth.login(world.a.owner)
    response = client.post("/shifts/import", data={"csrf_token": auth.csrf_token("/shifts/import"),
                                                   "step": "import", "payload": payload})
    assert response.status_code == 422 and "Choose a CSV file." in response.get_data(as_text=True)


def test_a_file_of_the_most_rows_allowed_imports_and_reimports_unchanged(client, auth, world):
    from datetime import date, timedelta

    auth.login(world.a.owner)
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(2000)]
    data = _csv(world, rows=[(world.a.emp1.email, d.isoformat(), "09:00", "17:00", "Bar", f"x{i}")
                             for i, d in enumerate(days)]).encode()
    before = _count()
    first = _confirm(client, auth, _upload(client, auth, data).get_data(as_text=True))
    assert "2000 new" in client.get(first.headers["Location"]).get_data(as_text=True)
    again = _confirm(client, auth, _upload(client, auth, data).get_data(as_text=True))
    assert "0 new, 0 updated, 2000 unchanged" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert _count() == before + 2000
