"""The upload-slot verb on every provider: a browser's form POST lands exactly what the slot allows, nothing else.

moto accepts any POST (it checks no policy), so the refusals run on the local provider and on Ceph RGW
(TEST_S3=ceph); the successful post runs everywhere."""
import io
import os
import time

import pytest
import requests

from portal.media import storage as app_storage
from portal.media.storage import ObjectNotFoundError

KEY = "incoming/7/5d0b8a7e-1f2c-4c3d-9e8f-0a1b2c3d4e5f"
OTHER_KEY = "incoming/7/0b5f3c9e-8d1e-4d55-9e0a-3f2f0d6b2a11"
LIMIT = 4096


def slot(expires_in=300, key=KEY, content_type="application/pdf"):
    return app_storage().upload_slot(key, content_type=content_type, max_bytes=LIMIT,
                                     metadata={"uploader-id": "42"}, expires_in=expires_in)


def post(app, the_slot, data, content_type="application/pdf", **changed):
    """Post a file to the slot as a browser would (fields first, the file last); return the status code."""
    fields = {**the_slot.fields, **changed}
    if the_slot.url.startswith("http"):
        return requests.post(the_slot.url, data=fields, files={"file": ("note.pdf", data, content_type)},
                             timeout=20).status_code
    return app.test_client().post(the_slot.url, data={**fields, "file": (io.BytesIO(data), "note.pdf", content_type)},
                                  content_type="multipart/form-data").status_code


@pytest.fixture
def enforcing(provider):
    """Refusals are the store's job: moto does not check POST policies, Ceph RGW and the local endpoint do."""
    if provider == "s3" and os.environ.get("TEST_S3") != "ceph":
        pytest.skip("moto accepts every POST policy; runs with TEST_S3=ceph")


def absent(key=KEY):
    try:
        app_storage().stat(key)
    except ObjectNotFoundError:
        return True
    return False


def test_a_post_within_the_slot_stores_the_file_with_its_type_and_uploader(media_app):
    status = post(media_app, slot(), b"%PDF-1.4 " + b"x" * 1000)
    assert status in (200, 201, 204)
    stored = app_storage().stat(KEY)
    assert stored.size == 1009 and stored.content_type == "application/pdf"
    assert stored.metadata.get("uploader-id") == "42"


def test_the_slot_pins_key_type_size_and_expiry_in_its_fields(media_app):
    the_slot = slot()
    assert the_slot.key == KEY and the_slot.fields["key"] == KEY
    assert the_slot.fields["Content-Type"] == "application/pdf"
    assert the_slot.fields["x-amz-meta-uploader-id"] == "42"
    assert 200 < the_slot.expires_at.timestamp() - time.time() <= 300


def test_a_file_over_the_limit_is_refused_and_nothing_is_stored(media_app, enforcing):
    assert post(media_app, slot(), b"x" * (LIMIT + 1)) in (400, 403)
    assert absent()


def test_an_empty_file_is_refused(media_app, enforcing):
    assert post(media_app, slot(), b"") in (400, 403)
    assert absent()


def test_a_key_outside_the_slot_is_refused(media_app, enforcing):
    assert post(media_app, slot(), b"%PDF-1.4 x", key=OTHER_KEY) == 403
    assert absent() and absent(OTHER_KEY)


def test_another_content_type_is_refused(media_app, enforcing):
    assert post(media_app, slot(), b"<html>", content_type="text/html", **{"Content-Type": "text/html"}) == 403
    assert absent()


def test_another_uploader_in_the_metadata_is_refused(media_app, enforcing):
    assert post(media_app, slot(), b"%PDF-1.4 x", **{"x-amz-meta-uploader-id": "43"}) == 403
    assert absent()


def test_an_expired_slot_is_refused(media_app, enforcing):
    the_slot = slot(expires_in=1)
    time.sleep(2.5)
    assert post(media_app, the_slot, b"%PDF-1.4 x") in (400, 403)
    assert absent()


def test_a_slot_replayed_for_a_second_object_cannot_leave_its_key(media_app, enforcing):
    the_slot = slot()
    assert post(media_app, the_slot, b"%PDF-1.4 first") in (200, 201, 204)
    assert post(media_app, the_slot, b"%PDF-1.4 second", key=OTHER_KEY) == 403
    assert absent(OTHER_KEY)
