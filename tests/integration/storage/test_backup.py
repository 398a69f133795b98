"""Backup to a second bucket (or a folder) and restore: exact bytes back, incremental, versions, deleted proofs."""
import hashlib
import io
import uuid

import pytest

from portal.extensions import db
from portal.media import orchestrator, storage
from portal.media.orchestrator import Upload
from portal.models import AuditEvent, MediaObject
from tests.conftest import Factory
from tests.media_fixtures import drop_bucket, jpeg_bytes, pdf_bytes, remove_proof, store_proof
from tests.media_fixtures import s3_provider  # noqa: F401  (this module's provider: S3 only)


@pytest.fixture
def stored(media_app):
    """Two proofs of one shift and one of another, stored through the orchestrator."""
    factory = Factory()
    owner = factory.business()
    employee = factory.user(owner)
    first, second = factory.shift(employee), factory.shift(employee, title="Second")
    media = []
    for shift, data, name in [(first, jpeg_bytes(), "a.jpg"), (first, pdf_bytes(), "b.pdf"),
                              (second, jpeg_bytes(color=(0, 0, 200)), "c.jpg")]:
        cancellation = factory.cancellation(shift)
        media.append(store_proof(cancellation, Upload(io.BytesIO(data), name),
                                                             actor=employee))
    return {"shift": first, "media": media, "employee": employee}


@pytest.fixture
def backup_bucket(media_app):
    name = f"backup-{uuid.uuid4().hex[:16]}"
    yield f"s3://{name}"
    from portal.media.backup import open_destination

    drop_bucket(open_destination(f"s3://{name}", media_app.config))


def run(media_app, *args):
    result = media_app.test_cli_runner().invoke(args=["media", *args])
    assert result.exit_code == 0, result.output
    return result.output


def sha(data):
    return hashlib.sha256(data).hexdigest()


def test_backup_copies_everything_once_then_nothing(media_app, stored, backup_bucket):
    first = run(media_app, "backup", "--to", backup_bucket)
    assert "copied 6, already there 0, manifest lists 6" in first and "manifest verified" in first
    second = run(media_app, "backup", "--to", backup_bucket)
    assert "copied 0, already there 6" in second


def test_backup_to_a_folder_keeps_bytes_and_manifest(media_app, stored, tmp_path):
    import json

    run(media_app, "backup", "--to", str(tmp_path / "bk"))
    manifest = json.loads((tmp_path / "bk" / "backup-manifest.json").read_text())
    entries = {e["key"]: e for e in manifest["objects"]}
    original = stored["media"][0]
    assert entries[original.storage_key]["sha256"] == original.sha256
    assert (tmp_path / "bk" / original.storage_key).read_bytes() == storage().open(original.storage_key).read()
    assert set(entries[original.storage_key]) >= {"key", "version_id", "size", "sha256", "copied_at"}


def test_a_changed_object_is_copied_again(media_app, stored, backup_bucket):
    run(media_app, "backup", "--to", backup_bucket)
    key = stored["media"][0].thumbnail_key
    storage().put(key, io.BytesIO(b"new thumbnail"), content_type="image/webp", metadata={"sha256": sha(b"new thumbnail")})
    assert "copied 1, already there 5" in run(media_app, "backup", "--to", backup_bucket)


def test_restore_from_backup_brings_back_a_deleted_object(media_app, stored, backup_bucket):
    run(media_app, "backup", "--to", backup_bucket)
    media = stored["media"][1]
    original = storage().open(media.storage_key).read()
    from portal.media.storage import build_storage

    bucket = build_storage(media_app.config)
    for version in list(bucket.iter_versions(media.storage_key)):  # gone for good, even from the history
        bucket.delete(media.storage_key, version_id=version.version_id)
    assert not storage().exists(media.storage_key)
    output = run(media_app, "restore", "--from", backup_bucket, "--key", media.storage_key)
    assert "1 object(s) restored" in output
    assert sha(storage().open(media.storage_key).read()) == sha(original) == media.sha256


def test_restore_one_shift_from_backup(media_app, stored, backup_bucket):
    run(media_app, "backup", "--to", backup_bucket)
    for media in stored["media"]:
        storage().delete(media.storage_key)
    output = run(media_app, "restore", "--from", backup_bucket, "--shift", str(stored["shift"].id))
    assert "4 object(s) restored" in output  # two proofs of that shift, each with its thumbnail
    assert storage().exists(stored["media"][0].storage_key) and not storage().exists(stored["media"][2].storage_key)


def test_restore_an_older_version_from_the_bucket(media_app, stored):
    media = stored["media"][0]
    old = storage().stat(media.storage_key)
    storage().put(media.storage_key, io.BytesIO(b"overwritten by mistake"), content_type="image/jpeg", metadata={})
    run(media_app, "restore", "--key", media.storage_key, "--version-id", old.version_id)
    assert sha(storage().open(media.storage_key).read()) == media.sha256


def test_a_proof_deleted_by_mistake_comes_back_from_the_versions(media_app, stored):
    media = stored["media"][2]
    remove_proof(media, actor=stored["employee"])
    assert not storage().exists(media.storage_key)
    output = run(media_app, "restore", "--media", str(media.id))
    assert "2 object(s) restored" in output
    db.session.expire_all()
    row = db.session.get(MediaObject, media.id)
    assert row.deleted_at is None and sha(storage().open(row.storage_key).read()) == row.sha256
    restored = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "media.restore")).scalar_one()
    assert restored.media_id == media.id


def test_restore_needs_exactly_one_target(media_app):
    result = media_app.test_cli_runner().invoke(args=["media", "restore"])
    assert result.exit_code != 0 and "one of --key, --shift, --media or --all" in result.output


def test_backup_keeps_what_was_deleted_from_the_bucket_and_restore_brings_it_back(media_app, stored, backup_bucket):
    run(media_app, "backup", "--to", backup_bucket)
    media = stored["media"][0]
    remove_proof(media, actor=stored["employee"])
    second = run(media_app, "backup", "--to", backup_bucket)
    assert "manifest lists 6 (2 no longer in the bucket, kept)" in second
    output = run(media_app, "restore", "--from", backup_bucket, "--media", str(media.id))
    assert "2 object(s) restored" in output
    db.session.expire_all()
    assert db.session.get(MediaObject, media.id).deleted_at is None


def test_restoring_the_thumbnail_last_shows_the_proof_again(media_app, stored):
    media = stored["media"][1]
    remove_proof(media, actor=stored["employee"])
    run(media_app, "restore", "--key", media.storage_key)
    db.session.expire_all()
    assert db.session.get(MediaObject, media.id).deleted_at is not None  # the thumbnail is still missing
    run(media_app, "restore", "--key", media.thumbnail_key)
    db.session.expire_all()
    assert db.session.get(MediaObject, media.id).deleted_at is None


def test_a_restored_proof_brings_its_request_back_in_the_api_feed(media_app, stored):
    from portal import api_tokens

    media = stored["media"][2]
    owner = stored["employee"].business
    _row, token = api_tokens.issue(owner.id, "Shift app", actor=owner)
    client, headers = media_app.test_client(), {"Authorization": f"Bearer {token}"}

    def feed(since):
        response = client.get(f"/api/v1/cancellations?updated_since={since}", headers=headers)
        assert response.status_code == 200
        return {c["id"]: c for c in response.get_json()["cancellations"]}

    remove_proof(media, actor=stored["employee"])
    before = feed("2000-01-01T00:00:00Z")[media.subject_id]
    assert before["proofs"] == []
    run(media_app, "restore", "--media", str(media.id))
    after = feed(before["updated_at"])[media.subject_id]
    assert after["updated_at"] > before["updated_at"] and [p["id"] for p in after["proofs"]] == [media.id]
