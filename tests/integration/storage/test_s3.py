"""What only an S3 bucket has: versioning, bucket set-up by `flask media init`, versions of failed uploads."""
import io

import boto3
import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from portal.media import orchestrator, storage
from portal.media.orchestrator import Upload
from portal.models import AuditEvent
from tests.conftest import Factory
from tests.media_fixtures import jpeg_bytes, store_proof
from tests.media_fixtures import s3_provider  # noqa: F401  (this module's provider: S3 only)


@pytest.fixture
def s3(media_app, s3_server):
    """A plain boto3 client on the same server, to look at the bucket from outside the app."""
    return boto3.client("s3", endpoint_url=s3_server.endpoint, region_name=s3_server.region,
                        aws_access_key_id=s3_server.access_key, aws_secret_access_key=s3_server.secret_key)


def bucket(media_app):
    return media_app.config["MEDIA_STORAGE_BUCKET"]


def test_media_init_turns_on_versioning_and_lifecycle(media_app, s3):
    assert s3.get_bucket_versioning(Bucket=bucket(media_app))["Status"] == "Enabled"
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket(media_app))["Rules"]
    expiry = next(r for r in rules if r["ID"] == "expire-noncurrent-versions")
    assert expiry["NoncurrentVersionExpiration"]["NoncurrentDays"] == media_app.config["MEDIA_NONCURRENT_EXPIRE_DAYS"]
    incoming = next(r for r in rules if r["ID"] == "expire-incoming")
    assert incoming["Filter"]["Prefix"] == "incoming/" and incoming["Expiration"]["Days"] == 1


def test_media_init_reports_each_step(media_app):
    output = media_app.test_cli_runner().invoke(args=["media", "init"]).output
    for step in ("bucket", "versioning", "public access block", "default encryption", "lifecycle"):
        assert step in output
    assert "exists" in output  # second run: nothing created again


def test_an_object_put_twice_keeps_both_versions(media_app, s3):
    key = "shift-cancellations/1/1/same.pdf"
    first = storage().put(key, io.BytesIO(b"first"), content_type="application/pdf", metadata={})
    second = storage().put(key, io.BytesIO(b"second"), content_type="application/pdf", metadata={})
    assert first.version_id and second.version_id and first.version_id != second.version_id
    versions = s3.list_object_versions(Bucket=bucket(media_app), Prefix=key)["Versions"]
    assert len(versions) == 2
    assert storage().open(key, version_id=first.version_id).read() == b"first"
    assert storage().open(key).read() == b"second"


def test_a_failed_final_commit_leaves_no_version_under_the_final_keys(media_app, s3):
    case = Factory().pending_request()
    employee, cancellation = case.employee, case.cancellation

    def database_down(mapper, connection, target):
        raise OperationalError("INSERT", {}, Exception("connection lost"))

    event.listen(AuditEvent, "before_insert", database_down)  # the job's commit writes the upload's audit event
    try:
        row = store_proof(cancellation, Upload(io.BytesIO(jpeg_bytes()), "a.jpg"), actor=employee)
    finally:
        event.remove(AuditEvent, "before_insert", database_down)
    listing = s3.list_object_versions(Bucket=bucket(media_app))
    # the job will be retried: its incoming bytes wait, and nothing it put under the final keys is left
    assert row.status == "processing"
    assert [v["Key"] for v in listing.get("Versions", [])] == [row.incoming_key]
    assert listing.get("DeleteMarkers", []) == []


@pytest.mark.real_s3
def test_wrong_credentials_become_a_storage_error_that_names_the_settings(media_app):
    from portal.media.storage import StorageError, build_storage

    settings = dict(media_app.config, MEDIA_STORAGE_SECRET_KEY="wrong", MEDIA_STORAGE_ACCESS_KEY="wrong")
    with pytest.raises(StorageError, match="MEDIA_STORAGE_ACCESS_KEY"):
        build_storage(settings).put("k/x.pdf", io.BytesIO(b"x"), content_type="application/pdf", metadata={})


def test_presigned_urls_are_signed_for_the_public_address(media_app, s3_server):
    """The app reaches the store at one address, browsers at another: the URL names (and signs) the latter."""
    import requests

    from portal.media.storage import build_storage

    public = s3_server.endpoint.replace("127.0.0.1", "localhost")
    store = build_storage(dict(media_app.config, MEDIA_STORAGE_PUBLIC_BASE_URL=public))
    store.put("shift-cancellations/1/1/public.pdf", io.BytesIO(b"for the browser"), content_type="application/pdf",
              metadata={})
    url = store.presigned_url("shift-cancellations/1/1/public.pdf", expires_in=60)
    assert url.startswith(public + "/")
    answer = requests.get(url, timeout=10)  # on Ceph the signature is checked against the Host header
    assert answer.status_code == 200 and answer.content == b"for the browser"
