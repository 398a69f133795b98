"""`flask media verify` finds each kind of disagreement; `--fix` touches only the safe ones."""
import io
from datetime import timedelta

import pytest

from portal.extensions import db
from portal.media import orchestrator, storage
from portal.media.orchestrator import Upload
from portal.models import MediaObject, utcnow
from tests.conftest import Factory
from tests.media_fixtures import jpeg_bytes, pdf_bytes, store_proof


@pytest.fixture
def planted(media_app):
    """One healthy proof, and one of each problem."""
    case = Factory().pending_request()
    owner, employee, cancellation = case.owner, case.employee, case.cancellation
    store = lambda data, name: store_proof(  # noqa: E731
        cancellation, Upload(io.BytesIO(data), name), actor=employee)
    healthy, missing, corrupted, thumbless = (store(jpeg_bytes(), "ok.jpg"), store(pdf_bytes(), "gone.pdf"),
                                              store(jpeg_bytes(color=(1, 2, 3)), "bad.jpg"),
                                              store(jpeg_bytes(color=(9, 9, 9)), "thumb.jpg"))
    storage().delete(missing.storage_key)
    data = bytearray(storage().open(corrupted.storage_key).read())
    data[-10] ^= 0xFF  # same size, other bytes
    storage().put(corrupted.storage_key, io.BytesIO(bytes(data)), content_type="image/jpeg", metadata={})
    storage().delete(thumbless.thumbnail_key)
    orphan = f"shift-cancellations/{owner.id}/999/0000-orphan.jpg"
    storage().put(orphan, io.BytesIO(b"nobody knows me"), content_type="image/jpeg", metadata={})

    def pending(age, name):
        row = MediaObject(uuid=name.ljust(36, "0"), status="pending", owner_id=owner.id, context="shift_cancellation",
                          subject_id=cancellation.id, shift_id=cancellation.shift_id,
                          storage_key=f"shift-cancellations/{owner.id}/{cancellation.shift_id}/{name}.jpg",
                          content_type="image/jpeg", size=3, sha256="0" * 64, original_filename="p.jpg",
                          uploaded_by_id=employee.id, uploader_role="employee", created_at=utcnow() - age,
                          thumbnail_key=f"shift-cancellations/{owner.id}/{cancellation.shift_id}/{name}.thumb.webp")
        db.session.add(row)
        db.session.commit()
        storage().put(row.storage_key, io.BytesIO(b"abc"), content_type="image/jpeg", metadata={})
        return row

    return dict(healthy=healthy, missing=missing, corrupted=corrupted, thumbless=thumbless, orphan=orphan,
                stale=pending(timedelta(hours=30), "stale"), fresh=pending(timedelta(minutes=5), "fresh"))


def verify(media_app, *args):
    result = media_app.test_cli_runner().invoke(args=["media", "verify", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_verify_reports_every_kind_and_nothing_healthy(media_app, planted):
    output = verify(media_app)
    import re

    kinds = {m.group(1) for m in re.finditer(r"^\[(?:fixable|report) *\] (\S+)", output, re.M)}
    assert kinds == {"missing_object", "checksum_mismatch", "missing_thumbnail", "orphan", "stale_pending"}
    assert planted["missing"].storage_key in output and planted["corrupted"].storage_key in output
    assert planted["orphan"] in output and planted["stale"].storage_key in output
    assert planted["healthy"].storage_key not in output and planted["fresh"].storage_key not in output
    assert "5 finding(s)." in output


def test_fix_removes_only_the_orphan_and_the_stale_upload(media_app, planted):
    output = verify(media_app, "--fix")
    assert f"fixed orphan: {planted['orphan']}" in output
    assert f"fixed stale_pending: {planted['stale'].storage_key}" in output
    assert not storage().exists(planted["orphan"]) and not storage().exists(planted["stale"].storage_key)
    db.session.expire_all()
    assert db.session.get(MediaObject, planted["stale"].id) is None
    # the rest is untouched: still reported, rows still there, the fresh upload still pending
    assert db.session.get(MediaObject, planted["fresh"].id).status == "pending"
    assert storage().exists(planted["fresh"].storage_key) and storage().exists(planted["corrupted"].storage_key)
    assert db.session.get(MediaObject, planted["missing"].id).status == "ready"
    again = verify(media_app)
    assert "missing_object" in again and "checksum_mismatch" in again
    assert "orphan" not in again and "stale_pending" not in again and "missing_thumbnail" not in again


def test_fix_makes_the_missing_thumbnail_again(media_app, planted):
    verify(media_app, "--fix")
    from PIL import Image

    with Image.open(storage().open(planted["thumbless"].thumbnail_key)) as thumb:
        assert thumb.format == "WEBP"


def test_quick_mode_skips_content_hashing(media_app, planted):
    output = verify(media_app, "--quick")
    assert "checksum_mismatch" not in output and "missing_object" in output


def test_an_object_whose_row_appears_after_the_check_is_not_deleted(media_app, planted):
    from portal.media.maintenance import repair
    from portal.media.maintenance import verify as check

    findings = check(storage())
    row = db.session.get(MediaObject, planted["fresh"].id)
    row.thumbnail_key = planted["orphan"]  # the "orphan" now belongs to an upload in flight
    db.session.commit()
    done = repair(storage(), findings)
    assert storage().exists(planted["orphan"])
    assert not any(planted["orphan"] in line for line in done)


def test_a_request_whose_upload_never_finished_gives_its_shift_back(media_app, planted):
    from portal.models import Shift, ShiftCancellation

    factory = Factory()
    owner = factory.business("Crash Co")
    employee = factory.user(owner)
    shift = factory.shift(employee, status="cancellation_requested")
    crashed = ShiftCancellation(owner_id=owner.id, shift_id=shift.id, employee_id=employee.id, reason="x",
                                created_at=utcnow() - timedelta(hours=30))
    db.session.add(crashed)
    db.session.commit()
    crashed_id, shift_id = crashed.id, shift.id
    output = verify(media_app, "--fix")
    assert f"fixed stale_request: cancellation {crashed_id}" in output
    db.session.expire_all()
    assert db.session.get(ShiftCancellation, crashed_id) is None
    assert db.session.get(Shift, shift_id).status == "scheduled"


def test_fix_queues_a_stuck_job_again_and_deletes_unclaimed_incoming_objects(media_app):
    """A worker that died for good leaves a processing row and its incoming bytes: verify --fix finishes the job;
    bytes put by a request that died before its commit have no row and are deleted."""
    from portal import cancellations
    from portal.media.validation import check_upload

    case = Factory().pending_request()
    checked = check_upload(io.BytesIO(jpeg_bytes()), "late.jpg", max_bytes=10**7, max_pixels=10**8)
    receipt = orchestrator().send([checked], owner_id=case.owner.id, actor=case.employee)
    [row] = orchestrator().receive(receipt, context="shift_cancellation", subject_id=case.cancellation.id,
                                   shift_id=case.shift.id, actor=case.employee)
    receipt.settle()
    row.created_at = utcnow() - timedelta(minutes=11)  # committed, but no job ever ran it (Redis lost its queue)
    db.session.commit()
    stray = f"incoming/{case.owner.id}/0000-no-row"
    storage().put(stray, io.BytesIO(b"a request died before its commit"), content_type="image/jpeg", metadata={})
    output = media_app.test_cli_runner().invoke(args=["media", "verify", "--grace-minutes", "0"]).output
    assert "stuck_processing" in output and "unclaimed_incoming" in output and row.incoming_key not in output
    result = media_app.test_cli_runner().invoke(args=["media", "verify", "--fix", "--quick", "--grace-minutes", "0"])
    assert "fixed stuck_processing" in result.output and "fixed unclaimed_incoming" in result.output, result.output
    db.session.expire_all()
    assert row.status == "ready" and not storage().exists(stray) and not storage().exists(row.incoming_key)
    assert cancellations.proof_of(case.cancellation, row.id) is not None


def test_a_young_incoming_object_is_left_alone(media_app):
    case = Factory().pending_request()
    young = f"incoming/{case.owner.id}/0000-in-flight"
    storage().put(young, io.BytesIO(b"a request is about to commit"), content_type="image/jpeg", metadata={})
    result = media_app.test_cli_runner().invoke(args=["media", "verify", "--fix", "--quick"])
    assert "unclaimed_incoming" not in result.output and storage().exists(young)
