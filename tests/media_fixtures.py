"""Storage fixtures: per-test buckets on the S3 server, apps on either provider, and sample files."""
import io
import uuid

import pytest
from PIL import Image



def s3_settings(server, bucket=None, **extra):
    """MEDIA_* settings for a fresh bucket on the test S3 server."""
    settings = {
        "MEDIA_STORAGE_PROVIDER": "s3",
        "MEDIA_STORAGE_ENDPOINT": server.endpoint,
        "MEDIA_STORAGE_BUCKET": bucket or f"test-{uuid.uuid4().hex[:20]}",
        "MEDIA_STORAGE_ACCESS_KEY": server.access_key,
        "MEDIA_STORAGE_SECRET_KEY": server.secret_key,
        "MEDIA_STORAGE_REGION": server.region,
        "MEDIA_STORAGE_ADDRESSING": "path",
        "MEDIA_STORAGE_MAX_ATTEMPTS": 2,
        "MEDIA_STORAGE_CONNECT_TIMEOUT": 2,
        "MEDIA_STORAGE_READ_TIMEOUT": 10,
    }
    settings.update(extra)
    return settings


@pytest.fixture(params=["local", "s3"])
def provider(request):
    """Each storage test runs once per provider."""
    return request.param


@pytest.fixture(name="provider", params=["s3"])
def s3_provider(request):
    """For a module that runs on the S3 server only: `from tests.media_fixtures import s3_provider`. A param, not
    a plain "s3", so the Ceph pass selects its tests (-m s3, tests/conftest.py)."""
    return request.param


@pytest.fixture
def media_app(provider, database_url, tmp_path, request):
    """The app on the chosen provider, its bucket set up by `flask media init`; tables emptied afterwards."""
    from tests.conftest import IsolatedClient, empty_database, make_app

    if provider == "s3" and not request.node.get_closest_marker("s3"):
        # CI's Ceph pass selects tests by that mark (-m s3): a test the mark misses would never meet Ceph.
        pytest.fail("this test runs on the s3 provider but is not marked s3: use `from tests.media_fixtures "
                    "import s3_provider` as its provider (see talks_to_s3 in tests/conftest.py)")
    overrides = s3_settings(request.getfixturevalue("s3_server")) if provider == "s3" else {}
    app = make_app(database_url, tmp_path, **overrides)
    app.test_client_class = IsolatedClient
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["media", "init"])
        assert result.exit_code == 0, result.output
        store = app.extensions["media_storage"]
        yield app
        empty_database()
        if provider == "s3":
            drop_bucket(store)


def drop_bucket(store):
    """Delete every version in the test bucket, then the bucket, so servers don't pile up buckets."""
    client = store._client()
    for page in client.get_paginator("list_object_versions").paginate(Bucket=store.bucket):
        items = page.get("Versions", []) + page.get("DeleteMarkers", [])
        if items:
            client.delete_objects(Bucket=store.bucket, Delete={
                "Objects": [{"Key": i["Key"], "VersionId": i["VersionId"]} for i in items], "Quiet": True})
    client.delete_bucket(Bucket=store.bucket)


def jpeg_bytes(size=(640, 480), color=(200, 30, 30), exif=None, quality=85):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG", quality=quality, **({"exif": exif} if exif else {}))
    return buffer.getvalue()


def png_bytes(size=(64, 48), color=(10, 120, 200, 255)):
    buffer = io.BytesIO()
    Image.new("RGBA", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def webp_bytes(size=(64, 48)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 160, 60)).save(buffer, "WEBP")
    return buffer.getvalue()


def pdf_bytes(pages=1):
    import pypdfium2

    document = pypdfium2.PdfDocument.new()
    for _ in range(pages):
        document.new_page(595, 842)
    buffer = io.BytesIO()
    document.save(buffer)
    document.close()
    return buffer.getvalue()


def store_proof(cancellation, upload, *, actor, source=None):
    """One proof through the real flow (check, incoming put, commit, the job; inline without REDIS_URL): the
    ready row, or the refusal as ValidationError with the code and message the employee reads."""
    from portal import cancellations
    from portal.extensions import db
    from portal.media import orchestrator
    from portal.media.validation import ValidationError

    checked = orchestrator().check(upload)
    [row] = cancellations.add_proofs(cancellation, [checked], actor=actor, source=source)
    db.session.expire_all()
    row = db.session.get(type(row), row.id)
    if row is not None and row.status == "refused":
        raise ValidationError(row.refusal_message, code=row.refusal_code)
    return row


def remove_proof(media, *, actor):
    """Remove one proof through the workflow (hidden, audited, committed, then its objects deleted)."""
    from portal import cancellations
    from portal.extensions import db
    from portal.models import ShiftCancellation

    cancellations.remove_proof(db.session.get(ShiftCancellation, media.subject_id), media, actor=actor)
