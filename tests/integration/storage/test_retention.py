"""Retention, legal holds and erasure against a real S3 server (moto, or Ceph RGW with TEST_S3=ceph): after a
run, no version and no delete marker of the files is left in the bucket or on the backup target."""
import csv
import io
import json
import uuid
from datetime import timedelta

import pytest

from portal import retention
from portal.extensions import db
from portal.media import counters, storage
from portal.media.backup import MANIFEST_KEY, open_destination, read_manifest
from portal.media.orchestrator import Upload
from portal.models import AuditEvent, DeletionReport, MediaObject, ShiftCancellation, User, utcnow
from tests.conftest import PASSWORD, Factory, csrf_token_from
from tests.media_fixtures import drop_bucket, jpeg_bytes, pdf_bytes, remove_proof, store_proof
from tests.media_fixtures import s3_provider  # noqa: F401  (this module's provider: S3 only)


@pytest.fixture
def backup_bucket(media_app):
    name = f"s3://backup-{uuid.uuid4().hex[:16]}"
    media_app.config["BACKUP_TARGETS"] = [name]
    open_destination(name, media_app.config).setup(media_app.config)  # as `flask media backup` does
    yield name
    drop_bucket(open_destination(name, media_app.config))


@pytest.fixture
def business(media_app):
    """A business whose employee has two requests with proofs (one removed: a delete marker) and whose other
    employee has one; all decided 13 months ago."""
    factory = Factory()
    owner = factory.business()
    person, other = factory.user(owner, name="Irina Petrova"), factory.user(owner, name="Oleg Sidorov")
    requests, files = [], {}
    for employee, uploads in ((person, [jpeg_bytes(), pdf_bytes()]), (person, [jpeg_bytes(color=(1, 2, 3))]),
                              (other, [jpeg_bytes(color=(9, 9, 9))])):
        cancellation = factory.cancellation(factory.shift(employee))
        for number, data in enumerate(uploads):
            row = store_proof(cancellation, Upload(io.BytesIO(data), f"petrova-sick-{number}.jpg"), actor=employee)
            files.setdefault(employee.id, []).append(row)
        requests.append(cancellation)
    remove_proof(files[person.id][1], actor=person)  # under versioning: a delete marker and a noncurrent version
    for cancellation in requests:
        cancellation.status, cancellation.decided_at = "approved", utcnow() - timedelta(days=400)
    db.session.commit()
    return type("Business", (), dict(owner=owner, person=person, other=other, requests=requests, files=files))


def keys_of(rows):
    """The file, its thumbnail and the upload's raw bytes under incoming/ (a noncurrent version once processed)."""
    return {key for row in rows for key in (row.storage_key, row.thumbnail_key, row.incoming_key)}


def listed(store, keys):
    """Every version and delete marker the store's own listing shows for the keys (straight from S3)."""
    client, found = store._client(), []
    for page in client.get_paginator("list_object_versions").paginate(Bucket=store.bucket):
        found += [(item["Key"], item["VersionId"]) for item in page.get("Versions", []) + page.get("DeleteMarkers", [])
                  if item["Key"] in keys]
    return found


def cli(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def signed_in(app, user):
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    return client, csrf_token_from(client.get("/").get_data(as_text=True))


def test_dry_run_lists_what_would_go_and_deletes_nothing(media_app, business, backup_bucket):
    keys = keys_of(business.files[business.person.id])
    before = listed(storage(), keys)
    output = cli(media_app, "media", "retention", "--dry-run")
    assert output.count("would delete") == 3 and "dry run: nothing deleted." in output
    assert business.files[business.person.id][0].storage_key in output
    assert sorted(listed(storage(), keys)) == sorted(before)


def test_retention_deletes_every_version_thumbnail_and_backup_copy(media_app, business, backup_bucket):
    cli(media_app, "media", "backup", "--to", backup_bucket)
    rows = [row for files in business.files.values() for row in files]
    keys = keys_of(rows)
    assert len(listed(storage(), keys)) >= len(keys) + 2  # the removed file's delete markers are there too
    output = cli(media_app, "media", "retention")
    assert "4 file(s) deleted for good." in output
    assert listed(storage(), keys) == []
    target = open_destination(backup_bucket, media_app.config)
    assert listed(target, keys) == [] and not keys & set(read_manifest(target))
    assert [v for v in target.iter_versions(MANIFEST_KEY) if not v.is_latest] == []  # old manifests named them
    db.session.expire_all()
    for row in rows:
        row = db.session.get(MediaObject, row.id)
        assert row.purged_at is not None and row.deleted_at is not None and row.original_filename == "[deleted]"
    events = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "media.purge")).scalars().all()
    assert sorted(e.media_id for e in events) == sorted(row.id for row in rows)
    assert all(e.detail["reason"] == "retention" and e.detail["backup_targets"] == [backup_bucket] for e in events)
    assert counters.mismatches() == {}
    assert "0 finding(s)." in cli(media_app, "media", "verify", "--quick")  # tombstones are no disagreement
    assert "0 file(s) deleted" in cli(media_app, "media", "retention")  # nothing left to do


def test_a_request_within_its_retention_is_kept_and_shown_with_its_due_day(media_app, business):
    business.owner.retention_months = 24
    db.session.commit()
    output = cli(media_app, "media", "retention", "--within-days", "400")
    assert output.count("due later") == 3 and "0 file(s) deleted" in output
    due = retention.add_months(business.requests[0].decided_at, 24)
    assert f"due {due:%Y-%m-%d}" in output
    assert len(listed(storage(), keys_of(business.files[business.person.id]))) > 0


def test_a_held_request_survives_retention_until_the_hold_is_released(media_app, business, backup_bucket):
    cli(media_app, "media", "backup", "--to", backup_bucket)
    held = business.requests[0]
    held_rows = [r for r in business.files[business.person.id] if r.subject_id == held.id]
    retention.place_hold(held, "Labour inspection 12/2026", actor=business.owner)
    db.session.commit()
    output = cli(media_app, "media", "retention")
    assert "held" in output and "Labour inspection 12/2026" in output and "2 file(s) deleted" in output
    target = open_destination(backup_bucket, media_app.config)
    assert listed(storage(), keys_of(held_rows)) and listed(target, keys_of(held_rows))
    retention.release_hold(held, actor=business.owner)
    db.session.commit()
    assert "2 file(s) deleted" in cli(media_app, "media", "retention")
    assert listed(storage(), keys_of(held_rows)) == [] and listed(target, keys_of(held_rows)) == []
    actions = db.session.execute(db.select(AuditEvent.action).where(AuditEvent.action.like("privacy.%"))).scalars()
    assert sorted(actions) == ["privacy.hold", "privacy.release"]


def test_erasure_removes_the_person_everywhere_and_reports_what_went(media_app, business, backup_bucket):
    cli(media_app, "media", "backup", "--to", backup_bucket)
    mine, theirs = business.files[business.person.id], business.files[business.other.id]
    before = listed(storage(), keys_of(mine))
    backed = keys_of(mine) & set(read_manifest(open_destination(backup_bucket, media_app.config)))
    assert backed
    person_id, email = business.person.id, business.person.email
    client, token = signed_in(media_app, business.owner)
    assert client.post(f"/exports/people/{person_id}", data={"csrf_token": token}).status_code == 200
    page = client.get(f"/settings/data/erase/{person_id}").get_data(as_text=True)
    assert "Irina Petrova" in page and "erase-refused" not in page
    assert client.post(f"/settings/data/erase/{person_id}", data={"csrf_token": token}).status_code == 422
    response = client.post(f"/settings/data/erase/{person_id}", data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 303
    assert listed(storage(), keys_of(mine)) == []
    target = open_destination(backup_bucket, media_app.config)
    assert listed(target, keys_of(mine)) == [] and not keys_of(mine) & set(read_manifest(target))
    assert len(listed(storage(), keys_of(theirs))) == 4
    assert {key for row in theirs for key in (row.storage_key, row.thumbnail_key)} <= set(read_manifest(target))
    db.session.expire_all()
    person = db.session.get(User, person_id)
    assert person.erased_at and person.display_name.startswith("erased-") and person.email != email
    assert not person.active and person.password_hash is None
    reasons = db.session.execute(db.select(ShiftCancellation.reason).where(
        ShiftCancellation.employee_id == person_id)).scalars().all()
    assert reasons == ["[erased]", "[erased]"]
    # the trail stays, under the pseudonym, without the file names
    uploads = db.session.execute(db.select(AuditEvent).where(AuditEvent.actor_id == person_id)).scalars().all()
    assert uploads and all("petrova" not in json.dumps(e.detail) and e.ip is None for e in uploads)
    exports = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "person.export")).scalars().all()
    assert [event.detail["name"] for event in exports] == [person.display_name]  # the owner's export of their data
    report = db.session.execute(db.select(DeletionReport)).scalar_one()
    as_json = client.get(f"/settings/data/reports/{report.id}.json")
    assert as_json.status_code == 200 and "attachment" in as_json.headers["Content-Disposition"]
    document = as_json.get_json()
    assert document["person"]["pseudonym"] == person.display_name and document["complete"] is True
    reported = {(obj["key"], version) for entry in document["files"] for obj in entry["objects"]
                for version in obj["versions"] + obj["delete_markers"]}
    assert reported == set(before)  # every version and marker the bucket had, and only those
    assert {obj["key"] for entry in document["files"] for obj in entry["objects"]
            if obj["backups"][backup_bucket]["versions"]} == backed
    lines = list(csv.DictReader(io.StringIO(client.get(f"/settings/data/reports/{report.id}.csv").get_data(
        as_text=True))))
    assert {line["key"] for line in lines} == keys_of(mine)
    assert any(key.startswith("incoming/") for key, _version in before)  # the raw upload went as well
    assert {line["where"] for line in lines} == {"bucket", backup_bucket} and all(line["left"] == "0" for line in lines)
    assert "Irina" not in as_json.get_data(as_text=True) + client.get("/audit/").get_data(as_text=True)


def test_erasure_is_refused_while_a_hold_applies_and_works_once_released(media_app, business, backup_bucket):
    retention.place_hold(business.requests[1], "Court request no. 7", actor=business.owner)
    db.session.commit()
    mine = business.files[business.person.id]
    client, token = signed_in(media_app, business.owner)
    refused = client.post(f"/settings/data/erase/{business.person.id}", data={"csrf_token": token, "confirm": "y"})
    assert refused.status_code == 409 and "Court request no. 7" in refused.get_data(as_text=True)
    assert len(listed(storage(), keys_of(mine))) >= len(keys_of(mine))
    assert "Court request no. 7" in cli(media_app, "media", "retention")  # retention keeps it as well
    assert listed(storage(), keys_of(mine)) != []
    release = client.post(f"/settings/data/holds/{business.requests[1].id}/release", data={"csrf_token": token})
    assert release.status_code == 303
    assert client.post(f"/settings/data/erase/{business.person.id}",
                       data={"csrf_token": token, "confirm": "y"}).status_code == 303
    assert listed(storage(), keys_of(mine)) == []


def test_a_proof_job_finishing_after_the_erasure_brings_nothing_back(media_app, monkeypatch):
    from portal import erasure
    from portal.media.orchestrator import MediaOrchestrator

    factory = Factory()
    owner = factory.business()
    person = factory.user(owner, name="Irina Petrova")
    cancellation = factory.cancellation(factory.shift(person))
    promote = MediaOrchestrator.promote

    def promote_then_erase(self, row, processed):
        """The owner erases the person while the worker is between its puts and its commit."""
        put = promote(self, row, processed)
        erasure.erase(db.session.get(User, person.id), actor=db.session.get(User, owner.id))
        db.session.commit()
        return put

    monkeypatch.setattr(MediaOrchestrator, "promote", promote_then_erase)
    row = store_proof(cancellation, Upload(io.BytesIO(jpeg_bytes()), "petrova-hiv-test.jpg"), actor=person)
    db.session.expire_all()
    row = db.session.get(MediaObject, row.id)
    assert row.purged_at is not None and row.status == "processing" and row.original_filename == "[deleted]"
    assert listed(storage(), keys_of([row])) == []  # the job's own puts went too
    assert not db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "media.upload")).first()


def test_erasure_deletes_the_persons_upload_slots_and_files_posted_but_never_sent(media_app, business):
    import requests

    from portal import uploads
    from portal.models import UploadSlot

    media_app.config["MEDIA_DIRECT_UPLOAD"] = True
    person = business.person
    _uuid, slot = uploads.issue_slot(person, content_type="image/jpeg", filename="petrova-hiv-test.jpg")
    posted = requests.post(slot.url, data=slot.fields, files={"file": ("f.jpg", jpeg_bytes(), "image/jpeg")},
                           timeout=20)
    assert posted.status_code in (200, 201, 204)
    assert listed(storage(), {slot.key})
    client, token = signed_in(media_app, business.owner)
    assert client.post(f"/settings/data/erase/{person.id}", data={"csrf_token": token, "confirm": "y"}).status_code == 303
    assert listed(storage(), {slot.key}) == []
    assert db.session.execute(db.select(UploadSlot.filename)).first() is None
    report = db.session.execute(db.select(DeletionReport)).scalar_one().report
    assert [entry["key"] for entry in report["unsent_uploads"]] == [slot.key] and report["complete"] is True


def test_a_hold_placed_while_retention_runs_saves_the_requests_not_yet_deleted(media_app, business, monkeypatch):
    held = business.requests[1]
    held_rows = [r for r in business.files[business.person.id] if r.subject_id == held.id]
    listed_before = retention.expiries(utcnow())  # the run's list, made before the owner places the hold
    assert all(item.hold is None for item in listed_before)
    retention.place_hold(held, "Court order", actor=business.owner)
    db.session.commit()
    monkeypatch.setattr(retention, "expiries", lambda now, within: listed_before)
    seen = []
    retention.run(on_item=lambda item, action: seen.append((item.cancellation.id, action, getattr(item.hold, "reason",
                                                                                                   None))))
    assert (held.id, "held", "Court order") in seen
    assert listed(storage(), keys_of(held_rows))
    assert db.session.get(MediaObject, held_rows[0].id).purged_at is None
