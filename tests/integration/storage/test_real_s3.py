"""What only a real S3 implementation checks (Ceph RGW with TEST_S3=ceph; skipped on moto with the reason)."""
import io
import json
import time

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from portal.media import orchestrator, storage
from portal.media.orchestrator import Upload
from portal.media.storage import build_storage
from tests.conftest import Factory
from tests.media_fixtures import pdf_bytes, s3_settings, store_proof
from tests.media_fixtures import s3_provider  # noqa: F401  (this module's provider: S3 only)

pytestmark = pytest.mark.real_s3


@pytest.fixture
def proof(media_app):
    """A PDF proof stored through the orchestrator, and its employee."""
    case = Factory().pending_request()
    media = store_proof(case.cancellation, Upload(io.BytesIO(pdf_bytes()), "note.pdf"),
                                                    actor=case.employee)
    return media, case.employee, storage().open(media.storage_key).read()


def test_presigned_url_works_until_the_role_lifetime_ends(media_app, proof):
    media, employee, body = proof
    media_app.config["MEDIA_URL_TTL_EMPLOYEE"] = 2
    link = orchestrator().generate_presigned_url(media, employee, purpose="download")
    first = requests.get(link.url, timeout=10)
    assert first.status_code == 200 and first.content == body
    time.sleep(4)
    assert requests.get(link.url, timeout=10).status_code == 403


def test_one_changed_character_of_the_signature_is_refused(media_app, proof):
    media, employee, _ = proof
    url = orchestrator().generate_presigned_url(media, employee).url
    head, signature = url.split("X-Amz-Signature=")
    tampered = head + "X-Amz-Signature=" + ("0" if signature[0] != "0" else "1") + signature[1:]
    assert requests.get(url, timeout=10).status_code == 200
    assert requests.get(tampered, timeout=10).status_code == 403


def test_anonymous_read_of_a_stored_proof_is_refused(media_app, proof, s3_server):
    media, _, _ = proof
    bucket = media_app.config["MEDIA_STORAGE_BUCKET"]
    assert requests.get(f"{s3_server.endpoint}/{bucket}/{media.storage_key}", timeout=10).status_code == 403


def test_wrong_secret_key_is_refused(media_app, s3_server):
    settings = dict(media_app.config, MEDIA_STORAGE_SECRET_KEY="not-the-secret")
    from portal.media.storage import StorageError

    with pytest.raises(StorageError, match="refused access"):
        build_storage(settings).exists("anything")


def test_public_policy_is_refused_while_public_access_is_blocked(media_app, s3_server):
    bucket = media_app.config["MEDIA_STORAGE_BUCKET"]
    client = boto3.client("s3", endpoint_url=s3_server.endpoint, region_name=s3_server.region,
                          aws_access_key_id=s3_server.access_key, aws_secret_access_key=s3_server.secret_key)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                      "Resource": f"arn:aws:s3:::{bucket}/*"}]}
    with pytest.raises(ClientError) as refused:
        client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_lifecycle_expires_noncurrent_versions(media_app, s3_server):
    """RGW runs with rgw_lc_debug_interval = 10, so a lifecycle 'day' lasts 10 seconds."""
    settings = dict(media_app.config, **s3_settings(s3_server), MEDIA_NONCURRENT_EXPIRE_DAYS=1)
    store = build_storage(settings)
    store.setup(settings)
    key = "shift-cancellations/1/1/versioned.pdf"
    old = store.put(key, io.BytesIO(b"old"), content_type="application/pdf", metadata={})
    store.put(key, io.BytesIO(b"new"), content_type="application/pdf", metadata={})
    client = store._client()
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        versions = client.list_object_versions(Bucket=store.bucket, Prefix=key).get("Versions", [])
        if old.version_id not in [v["VersionId"] for v in versions]:
            break
        time.sleep(3)
    else:
        pytest.fail("the noncurrent version was still there after 240 s")
    try:
        assert store.open(key).read() == b"new"
    finally:
        from tests.media_fixtures import drop_bucket

        drop_bucket(store)
