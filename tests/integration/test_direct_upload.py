"""Direct upload through the app's routes, on both providers (and Ceph RGW with TEST_S3=ceph): the browser asks
for a slot, posts the file straight to the store, then names the slot; the app checks the object itself."""
import io
from datetime import timedelta

import pytest
import requests

from portal.extensions import db
from portal.media import keys, storage
from portal.media.maintenance import repair, verify
from portal.models import MediaObject, ShiftCancellation, UploadSlot, utcnow
from tests.conftest import Auth, Factory, World
from tests.media_fixtures import jpeg_bytes, pdf_bytes, png_bytes


@pytest.fixture
def world(media_app):
    media_app.config["MEDIA_DIRECT_UPLOAD"] = True
    return World(Factory())


def signed_in(app, user):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    Auth(client).login(user)
    return client


def ask_slot(client, content_type="image/jpeg", filename="note.jpg", cancellation=None):
    token = Auth(client).csrf_token("/cancellations/")
    data = {"csrf_token": token, "content_type": content_type, "filename": filename}
    if cancellation:
        data["cancellation"] = str(cancellation)
    return client.post("/uploads/slots", data=data)


def post_file(client, slot, data, content_type="image/jpeg", **changed):
    """What the browser does with the slot: a multipart POST, fields first, the file last."""
    fields = {**slot["fields"], **changed}
    if slot["url"].startswith("http"):
        return requests.post(slot["url"], data=fields, files={"file": ("f", data, content_type)}, timeout=20).status_code
    return client.post(slot["url"], data={**fields, "file": (io.BytesIO(data), "f", content_type)},
                       content_type="multipart/form-data").status_code


def send_request(client, shift, slots, reason="Ill"):
    token = Auth(client).csrf_token("/cancellations/")
    return client.post("/cancellations/", data={"csrf_token": token, "shift_id": str(shift.id), "reason": reason,
                                                "slots": list(slots)})


def uploaded(client, data=None, content_type="image/jpeg", **slot_args):
    answer = ask_slot(client, content_type=content_type, **slot_args)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    slot = answer.get_json()
    assert post_file(client, slot, data if data is not None else jpeg_bytes(), content_type) in (200, 201, 204)
    return slot


def nothing_taken(world):
    db.session.expire_all()
    return db.session.execute(db.select(MediaObject)).first() is None and \
        db.session.execute(db.select(ShiftCancellation)).first() is None


def test_a_photo_and_a_pdf_sent_straight_to_the_store_become_a_request_managers_see(media_app, world):
    client = signed_in(media_app, world.a.emp1)
    photo, pdf = uploaded(client), uploaded(client, pdf_bytes(), "application/pdf", filename="note.pdf")
    response = send_request(client, world.a.shift1, [photo["slot"], pdf["slot"]])
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    db.session.expire_all()
    rows = db.session.execute(db.select(MediaObject).order_by(MediaObject.id)).scalars().all()
    assert [row.status for row in rows] == ["ready", "ready"]  # processed by the same job (inline here)
    assert {row.uuid for row in rows} == {photo["slot"], pdf["slot"]}
    assert rows[1].storage_key.endswith(".pdf") and rows[1].original_filename == "note.pdf"
    assert db.session.execute(db.select(ShiftCancellation)).scalar_one().submitted_at is not None
    assert not list(storage().iter_objects(keys.INCOMING_PREFIX))  # the worker took the incoming objects
    manager = signed_in(media_app, world.a.manager)
    assert world.a.emp1.display_name in manager.get("/cancellations/").get_data(as_text=True)


def test_a_slot_is_used_once(media_app, world):
    client = signed_in(media_app, world.a.emp1)
    slot = uploaded(client)
    assert send_request(client, world.a.shift1, [slot["slot"]]).status_code == 302
    cancellation = db.session.execute(db.select(ShiftCancellation)).scalar_one()
    token = Auth(client).csrf_token("/cancellations/")
    again = client.post(f"/cancellations/{cancellation.id}/proofs", data={"csrf_token": token, "slots": slot["slot"]})
    assert again.status_code == 422
    assert db.session.execute(db.select(db.func.count()).select_from(MediaObject)).scalar_one() == 1


@pytest.mark.parametrize("thief", ["a.emp2", "b.emp1"])
def test_a_slot_of_another_employee_or_business_is_refused(media_app, world, thief):
    slot = uploaded(signed_in(media_app, world.a.emp1))
    other = world.user(thief)
    response = send_request(signed_in(media_app, other), world.a.shift2 if thief == "a.emp2" else world.b.shift1,
                            [slot["slot"]])
    assert response.status_code == 422
    assert "not yours" in response.get_data(as_text=True)
    assert nothing_taken(world)


def test_a_slot_finished_before_its_file_arrived_is_refused(media_app, world):
    client = signed_in(media_app, world.a.emp1)
    slot = ask_slot(client).get_json()
    response = send_request(client, world.a.shift1, [slot["slot"]])
    assert response.status_code == 422 and "did not arrive" in response.get_data(as_text=True)
    assert nothing_taken(world)


def test_a_file_over_the_limit_is_refused_by_the_store_or_the_app(media_app, world):
    media_app.config["MEDIA_MAX_UPLOAD_BYTES"] = 2000
    client = signed_in(media_app, world.a.emp1)
    slot = ask_slot(client).get_json()
    post_file(client, slot, jpeg_bytes(size=(400, 300)))  # moto stores it; Ceph RGW and the local endpoint refuse
    assert send_request(client, world.a.shift1, [slot["slot"]]).status_code == 422
    assert nothing_taken(world)


def test_a_file_posted_with_another_type_than_its_slot_is_refused(media_app, world):
    client = signed_in(media_app, world.a.emp1)
    slot = ask_slot(client).get_json()
    post_file(client, slot, b"<html><script>x</script>", "text/html", **{"Content-Type": "text/html"})
    assert send_request(client, world.a.shift1, [slot["slot"]]).status_code == 422
    assert nothing_taken(world)


def test_bytes_of_another_kind_than_declared_are_refused_at_the_finish(media_app, world):
    client = signed_in(media_app, world.a.emp1)
    slot = uploaded(client, b"<html><script>alert(1)</script></html>", "image/jpeg", filename="note.jpg")
    response = send_request(client, world.a.shift1, [slot["slot"]])
    assert response.status_code == 422 and "not accepted" in response.get_data(as_text=True)
    assert nothing_taken(world)


def test_the_worker_refuses_bytes_of_another_kind_than_its_row_was_made_for(media_app, world):
    """Bytes swapped after the app's look (a second POST while the policy lives): the worker's full check sees it."""
    from portal import cancellations
    from portal.media.orchestrator import Arrived

    case = Factory().pending_request()
    media_uuid = keys.new_uuid()
    storage().put(keys.incoming_key(case.owner.id, media_uuid), io.BytesIO(jpeg_bytes()), content_type="image/png",
                  metadata={"uploader-id": str(case.employee.id)})
    slot = UploadSlot(uuid=media_uuid, owner_id=case.owner.id, user_id=case.employee.id, filename="scan.png",
                      cancellation_id=case.cancellation.id, content_type="image/png",
                      expires_at=utcnow() + timedelta(minutes=5))
    db.session.add(slot)
    db.session.commit()
    arrived = Arrived(slot_id=slot.id, uuid=media_uuid, content_type="image/png", size=100, display_name="scan.png")
    [row] = cancellations.add_proofs(case.cancellation, [arrived], actor=case.employee)  # processed inline
    db.session.expire_all()
    row = db.session.get(MediaObject, row.id)
    assert row.status == "refused" and row.refusal_code == "type"
    assert db.session.get(UploadSlot, slot.id).claimed_at is not None


def test_slots_for_a_request_count_against_its_cap(media_app, world):
    media_app.config["MEDIA_MAX_FILES"] = 2
    client = signed_in(media_app, world.a.emp1)
    assert send_request(client, world.a.shift1, [uploaded(client)["slot"]]).status_code == 302
    cancellation = db.session.execute(db.select(ShiftCancellation)).scalar_one()
    assert ask_slot(client, cancellation=cancellation.id).status_code == 200
    refused = ask_slot(client, cancellation=cancellation.id)
    assert refused.status_code == 422 and "0 more" in refused.get_json()["error"]


def test_a_slot_for_another_employees_request_is_404(media_app, world):
    owner_client = signed_in(media_app, world.a.emp1)
    assert send_request(owner_client, world.a.shift1, [uploaded(owner_client)["slot"]]).status_code == 302
    cancellation = db.session.execute(db.select(ShiftCancellation)).scalar_one()
    assert ask_slot(signed_in(media_app, world.a.emp2), cancellation=cancellation.id).status_code == 404
    assert ask_slot(signed_in(media_app, world.b.emp1), cancellation=cancellation.id).status_code == 404


def test_a_type_outside_the_allowlist_gets_no_slot(media_app, world):
    response = ask_slot(signed_in(media_app, world.a.emp1), content_type="text/html", filename="x.html")
    assert response.status_code == 422 and db.session.execute(db.select(UploadSlot)).first() is None


def test_slots_are_throttled_per_person(media_app, world):
    media_app.extensions["quotas"]["uploads"].__init__("memory://", "2 per minute", "uploads", "MEDIA_UPLOAD_RATE_LIMIT")
    client = signed_in(media_app, world.a.emp1)
    assert [ask_slot(client).status_code for _ in range(3)] == [200, 200, 429]
    assert ask_slot(signed_in(media_app, world.a.emp2)).status_code == 200


def test_without_direct_upload_there_are_no_slots_and_slot_names_are_ignored(media_app, world):
    client = signed_in(media_app, world.a.emp1)
    slot = uploaded(client)
    media_app.config["MEDIA_DIRECT_UPLOAD"] = False
    assert ask_slot(client).status_code == 404
    assert send_request(client, world.a.shift1, [slot["slot"]]).status_code == 422  # no file attached
    assert nothing_taken(world)


def test_verify_keeps_an_open_slots_object_and_sweeps_it_once_the_slot_expired(media_app, world):
    client = signed_in(media_app, world.a.emp1)
    slot = uploaded(client)
    key = keys.incoming_key(world.a.owner.id, slot["slot"])
    assert not [f for f in verify(storage(), grace=timedelta(0)) if f.kind == "unclaimed_incoming"]
    db.session.execute(db.update(UploadSlot).values(expires_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    findings = [f for f in verify(storage(), grace=timedelta(0)) if f.kind == "unclaimed_incoming"]
    assert [f.key for f in findings] == [key]
    repair(storage(), findings)
    assert not storage().exists(key)


def test_a_store_that_fails_while_the_finish_checks_the_files_keeps_the_form_and_takes_nothing(media_app, world,
                                                                                               monkeypatch):
    from portal.media.storage import StorageUnavailableError

    client = signed_in(media_app, world.a.emp1)
    slot = uploaded(client)

    def unavailable(*args, **kwargs):
        raise StorageUnavailableError("the store timed out", operation="stat")

    monkeypatch.setattr(type(storage()), "stat", unavailable)
    response = send_request(client, world.a.shift1, [slot["slot"]], reason="Fever since Sunday")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "not available right now" in page and "Fever since Sunday" in page
    assert nothing_taken(world)


def test_a_slot_refused_at_the_finish_no_longer_takes_room_on_the_request(media_app, world):
    media_app.config["MEDIA_MAX_FILES"] = 2
    client = signed_in(media_app, world.a.emp1)
    assert send_request(client, world.a.shift1, [uploaded(client)["slot"]]).status_code == 302
    cancellation = db.session.execute(db.select(ShiftCancellation)).scalar_one()
    fake = uploaded(client, b"<html><script>alert(1)</script></html>", "image/jpeg", cancellation=cancellation.id)
    token = Auth(client).csrf_token("/cancellations/")
    refused = client.post(f"/cancellations/{cancellation.id}/proofs", data={"csrf_token": token, "slots": fake["slot"]})
    assert refused.status_code == 422
    assert ask_slot(client, cancellation=cancellation.id).status_code == 200  # the one place left is free again
