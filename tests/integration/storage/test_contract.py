"""One behaviour suite that every storage provider must pass (local, and S3 over HTTP)."""
import io
import os
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests

from portal.media import storage as app_storage
from portal.media.storage import ObjectNotFoundError, StorageError

KEY = "shift-cancellations/1/2/0b5f3c9e-8d1e-4d55-9e0a-3f2f0d6b2a11.pdf"


def served_disposition(url, headers):
    """The Content-Disposition the store serves; moto ignores response-header overrides, so read what the
    signed URL asks for there (real S3 servers, the Ceph pass and the local provider send the header)."""
    if "Content-Disposition" in headers:
        return headers["Content-Disposition"]
    query = parse_qs(urlsplit(url).query)
    assert "moto" in headers.get("Server", "Werkzeug") or os.environ.get("TEST_S3") != "ceph"
    return query["response-content-disposition"][0]


def fetch(app, url):
    """GET a presigned URL: over HTTP for S3, through the app for the local provider's app URLs."""
    if url.startswith("http"):
        response = requests.get(url, timeout=10)
        return response.status_code, response.content, response.headers
    response = app.test_client().get(url)
    return response.status_code, response.data, response.headers


def test_put_then_open_returns_the_same_bytes(media_app):
    store = app_storage()
    body = b"%PDF-1.4 proof " * 1000
    stored = store.put(KEY, io.BytesIO(body), content_type="application/pdf", metadata={"sha256": "abc"})
    assert stored.key == KEY and stored.size == len(body)
    with store.open(KEY) as handle:
        assert handle.read() == body


def test_stat_reports_size_type_and_metadata(media_app):
    store = app_storage()
    store.put(KEY, io.BytesIO(b"12345"), content_type="application/pdf",
              metadata={"uploader-role": "employee", "original-filename": quote("справка.pdf")})
    info = store.stat(KEY)
    assert info.size == 5 and info.content_type == "application/pdf"
    assert info.metadata["uploader-role"] == "employee"
    assert info.metadata["original-filename"] == "%D1%81%D0%BF%D1%80%D0%B0%D0%B2%D0%BA%D0%B0.pdf"


def test_exists_and_delete(media_app):
    store = app_storage()
    assert not store.exists(KEY)
    store.put(KEY, io.BytesIO(b"x"), content_type="application/pdf", metadata={})
    assert store.exists(KEY)
    store.delete(KEY)
    assert not store.exists(KEY)
    store.delete(KEY)  # deleting what is not there is not an error


def test_missing_object_raises_not_found(media_app):
    with pytest.raises(ObjectNotFoundError):
        app_storage().open("shift-cancellations/1/2/missing.pdf").read()
    with pytest.raises(ObjectNotFoundError):
        app_storage().stat("shift-cancellations/1/2/missing.pdf")


def test_presigned_url_serves_the_same_bytes_inline(media_app):
    store = app_storage()
    body = bytes(range(256)) * 40
    store.put(KEY, io.BytesIO(body), content_type="application/pdf", metadata={})
    url = store.presigned_url(KEY, expires_in=60)
    status, data, headers = fetch(media_app, url)
    assert status == 200 and data == body
    assert served_disposition(url, headers) == "inline"


def test_download_url_keeps_a_unicode_filename(media_app):
    store = app_storage()
    store.put(KEY, io.BytesIO(b"pdf"), content_type="application/pdf", metadata={})
    url = store.presigned_url(KEY, expires_in=60, download_name="Больничный лист №5.pdf")
    status, data, headers = fetch(media_app, url)
    disposition = served_disposition(url, headers)
    assert status == 200 and data == b"pdf"
    assert disposition.startswith('attachment; filename="')
    assert "filename*=UTF-8''" + quote("Больничный лист №5.pdf", safe="") in disposition


def test_iter_objects_lists_by_prefix(media_app):
    store = app_storage()
    for key in ("shift-cancellations/1/2/a.pdf", "shift-cancellations/1/3/b.pdf", "shift-cancellations/9/2/c.pdf"):
        store.put(key, io.BytesIO(b"x"), content_type="application/pdf", metadata={})
    listed = sorted(o.key for o in store.iter_objects("shift-cancellations/1/"))
    assert listed == ["shift-cancellations/1/2/a.pdf", "shift-cancellations/1/3/b.pdf"]
    assert all(o.size == 1 for o in store.iter_objects("shift-cancellations/"))


def test_media_init_is_idempotent(media_app):
    result = media_app.test_cli_runner().invoke(args=["media", "init"])
    assert result.exit_code == 0, result.output
    assert "versioning" in result.output and "lifecycle" in result.output


def test_iter_versions_gives_stored_objects_with_the_current_one_marked_latest(media_app, provider):
    store = app_storage()
    store.put(KEY, io.BytesIO(b"first"), content_type="application/pdf", metadata={})
    store.put(KEY, io.BytesIO(b"second!"), content_type="application/pdf", metadata={})
    versions = [v for v in store.iter_versions(KEY) if v.key == KEY]
    latest = [v for v in versions if v.is_latest]
    assert len(latest) == 1 and latest[0].size == len(b"second!") and not latest[0].is_delete_marker
    assert len(versions) == (2 if provider == "s3" else 1)  # a folder keeps no history


def test_restore_version_brings_back_an_older_version_or_says_there_is_none(media_app, provider):
    store = app_storage()
    first = store.put(KEY, io.BytesIO(b"first"), content_type="application/pdf", metadata={})
    store.put(KEY, io.BytesIO(b"second!"), content_type="application/pdf", metadata={})
    if provider == "local":
        with pytest.raises(ObjectNotFoundError):
            store.restore_version(KEY, "any")
        return
    restored = store.restore_version(KEY, first.version_id)
    assert store.open(KEY).read() == b"first" and restored.version_id not in (None, first.version_id)
