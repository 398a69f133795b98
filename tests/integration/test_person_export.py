"""The per-person ZIP export: every proof byte for byte, the index matching the ZIP, withdrawn requests kept,
removed files listed but not sent, names safe to unpack, streamed in pieces, audited; on every provider."""
import csv
import hashlib
import io
import json
import zipfile

from portal import cancellations
from portal.extensions import db
from portal.media import storage
from portal.media.orchestrator import Upload
from portal.models import AuditEvent, MediaObject
from portal.subject_access import export
from tests.conftest import Auth, Factory
from tests.media_fixtures import jpeg_bytes, pdf_bytes, png_bytes, remove_proof, store_proof

# what people call their files: duplicates, Cyrillic, paths, a bidi override, a Windows device name, nothing
NAMES = ["справка.jpg", "справка.jpg", "СПРАВКА.JPG", "../../etc/passwd", "C:\\Users\\a\\note.pdf", "con.png",
         "scan\u202egpj.pdf", "", ".hidden", "a/b\x00c.png", "=HYPERLINK(1)|x.jpg", "x" * 240 + ".jpg"]
PROOFS_PER_REQUEST = 5  # the cap per request (MEDIA_MAX_FILES)
REQUESTS = 8
TOTAL = REQUESTS * PROOFS_PER_REQUEST


def _bytes_for(index, name):
    """A distinct file of a type that fits the name (the store keeps what the server decided, whatever the name)."""
    if name.lower().endswith(".pdf"):
        return pdf_bytes(pages=1 + index % 3)
    if name.lower().endswith(".png"):
        return png_bytes(size=(64 + index, 48))
    return jpeg_bytes(size=(64 + index, 48), color=(index * 7 % 255, 30, 90))


def _person_with_proofs(app):
    """An employee with 8 requests of 5 proofs each: the first approved, the second withdrawn, the third pending
    with a file removed; and another employee with a proof of their own."""
    factory = Factory()
    owner = factory.business("Export Café")
    employee = factory.user(owner, name="Анна Export")
    manager = factory.user(owner, "manager", name="Marta Manager")
    requests = [factory.cancellation(factory.shift(employee, title=f"Shift {n}")) for n in range(REQUESTS)]
    for number, request in enumerate(requests):
        for index in range(number * PROOFS_PER_REQUEST, (number + 1) * PROOFS_PER_REQUEST):
            name = NAMES[index % len(NAMES)]
            store_proof(request, Upload(io.BytesIO(_bytes_for(index, name)), name), actor=employee)
    cancellations.decide(requests[0], True, "Get well", actor=manager)
    cancellations.withdraw(requests[1], actor=employee)
    db.session.commit()
    removed = db.session.execute(db.select(MediaObject).where(MediaObject.subject_id == requests[2].id)
                                 .order_by(MediaObject.id)).scalars().first()
    remove_proof(removed, actor=employee)
    other = factory.user(owner, name="Other Person")
    other_request = factory.cancellation(factory.shift(other))
    store_proof(other_request, Upload(io.BytesIO(jpeg_bytes()), "other.jpg"), actor=other)
    return owner, employee, requests, removed


def _export_as(app, user, person):
    client = app.test_client()
    auth = Auth(client)
    auth.login(user)
    response = client.post(f"/exports/people/{person.id}", data={"csrf_token": auth.csrf_token()})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.get_data()))


def test_every_file_in_the_export_is_the_stored_object_and_the_index_matches(media_app):
    owner, employee, requests, removed = _person_with_proofs(media_app)
    archive = _export_as(media_app, owner, employee)
    assert archive.testzip() is None
    index = json.loads(archive.read("index.json"))
    assert index["person"]["name"] == "Анна Export" and index["exported_by"]["role"] == "owner"
    assert [r["id"] for r in index["requests"]] == [r.id for r in requests]
    listed = {f["path"]: f for r in index["requests"] for f in r["files"] if f["state"] == "included"}
    stored = db.session.execute(db.select(MediaObject).where(
        MediaObject.subject_id.in_([r.id for r in requests]), MediaObject.live())).scalars().all()
    assert len(stored) == len(listed) == TOTAL - 1
    assert sorted(archive.namelist()) == sorted([*listed, "index.json", "index.csv"])
    for path, item in listed.items():
        data = archive.read(path)
        assert hashlib.sha256(data).hexdigest() == item["sha256"] and len(data) == item["size"]
    by_hash = {m.sha256: m for m in stored}
    assert set(by_hash) == {item["sha256"] for item in listed.values()}
    for media in stored:  # each stored object, read back from the store, is what the ZIP holds
        with storage().open(media.storage_key) as body:
            assert hashlib.sha256(body.read()).hexdigest() == media.sha256
    assert all(".." not in p.split("/") and not p.startswith("/") and "\\" not in p and "\x00" not in p
               and "\u202e" not in p for p in archive.namelist())
    statuses = [r["status"] for r in index["requests"]]
    assert statuses == ["approved", "withdrawn"] + ["pending"] * (REQUESTS - 2)
    assert len(index["requests"][1]["files"]) == PROOFS_PER_REQUEST  # withdrawn: its proofs are kept and sent
    assert index["requests"][0]["decision"]["by"] == "Marta Manager"
    assert index["requests"][0]["decision"]["comment"] == "Get well"
    [gone] = [f for r in index["requests"] for f in r["files"] if f["state"] == "removed"]
    assert gone["original_filename"] == removed.original_filename and gone["path"] is None
    rows = list(csv.DictReader(io.StringIO(archive.read("index.csv").decode("utf-8-sig"))))
    assert {row["file_path"]: row["sha256"] for row in rows if row["file_state"] == "included"} == \
        {path: item["sha256"] for path, item in listed.items()}
    assert "'=HYPERLINK(1)|x.jpg" in {row["original_filename"] for row in rows}  # no formula in a spreadsheet
    assert "other.jpg" not in json.dumps(index)


def test_names_in_the_zip_are_the_uploaders_own_made_safe(media_app):
    owner, employee, requests, _removed = _person_with_proofs(media_app)
    archive = _export_as(media_app, employee, employee)
    folder = f"requests/{requests[0].id:06d}-{requests[0].created_at:%Y-%m-%d}/"
    first = {p[len(folder):] for p in archive.namelist() if p.startswith(folder)}
    assert {"справка.jpg", "справка (2).jpg", "СПРАВКА (3).JPG"} <= first
    names = [p.rpartition("/")[2] for p in archive.namelist()]
    assert {"_con.png", "proof.jpg", "passwd.jpg", "note.pdf", "=HYPERLINK(1)_x.jpg"} <= set(names)


def test_export_is_audited_with_who_exported_whose_data(media_app):
    owner, employee, _requests, _removed = _person_with_proofs(media_app)
    _export_as(media_app, owner, employee)
    [event] = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "person.export")).scalars()
    assert (event.actor_id, event.actor_role, event.owner_id) == (owner.id, "owner", owner.id)
    assert event.detail["person_id"] == employee.id and event.detail["files"] == TOTAL - 1


def test_the_zip_leaves_in_pieces_no_larger_than_a_chunk(media_app):
    _owner, employee, _requests, _removed = _person_with_proofs(media_app)
    data = export.collect(employee, exported_by=employee)
    sizes = [len(piece) for piece in export.chunks(data, storage())]
    assert len(sizes) > len(data.entries)  # at least one piece per file, not one blob at the end
    assert max(sizes[:-1]) <= export.CHUNK + 4096  # a chunk plus the entry's headers


def test_a_file_missing_from_the_store_is_listed_as_missing_and_the_rest_still_comes(media_app):
    owner, employee, requests, _removed = _person_with_proofs(media_app)
    lost = db.session.execute(db.select(MediaObject).where(MediaObject.subject_id == requests[0].id,
                                                           MediaObject.live())).scalars().first()
    storage().delete(lost.storage_key)
    archive = _export_as(media_app, owner, employee)
    index = json.loads(archive.read("index.json"))
    states = [f["state"] for r in index["requests"] for f in r["files"]]
    assert states.count("missing") == 1 and states.count("included") == TOTAL - 2
    assert archive.testzip() is None
