"""The local provider's signed URLs, served by the app: right bytes and headers; tampered or expired is 403."""
import io
import time
from urllib.parse import quote

from portal.media import storage

KEY = "shift-cancellations/1/2/abc.jpg"


def put(body=b"\xff\xd8 fake jpeg", content_type="image/jpeg"):
    storage().put(KEY, io.BytesIO(body), content_type=content_type, metadata={})


def test_signed_url_serves_the_file_with_safe_headers(app, client):
    put()
    response = client.get(storage().presigned_url(KEY, expires_in=60))
    assert response.status_code == 200 and response.data == b"\xff\xd8 fake jpeg"
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"] == "inline"
    assert "no-store" in response.headers["Cache-Control"]


def test_download_url_names_the_file_in_ascii_and_utf8(app, client):
    put()
    response = client.get(storage().presigned_url(KEY, expires_in=60, download_name="Справка №1.jpg"))
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="') and disposition.isascii()
    assert f"filename*=UTF-8''{quote('Справка №1.jpg', safe='')}" in disposition


def test_tampered_link_is_403(app, client):
    put()
    url = storage().presigned_url(KEY, expires_in=60)
    last = url[-1]
    assert client.get(url[:-1] + ("0" if last != "0" else "1")).status_code == 403
    assert client.get(url.replace("abc.jpg", "abd.jpg")).status_code == 403
    assert client.get(url.split("?")[0]).status_code == 403


def test_expired_link_is_403(app, client):
    put()
    url = storage().presigned_url(KEY, expires_in=60, now=time.time() - 120)
    assert client.get(url).status_code == 403


def test_link_to_a_missing_file_is_404(app, client):
    assert client.get(storage().presigned_url("shift-cancellations/1/2/none.jpg", expires_in=60)).status_code == 404


def test_the_upload_endpoint_reads_no_more_than_one_file_before_checking_the_policy(app, client):
    app.config["MEDIA_MAX_UPLOAD_BYTES"] = 100_000
    app.config["MAX_CONTENT_LENGTH"] = 10_000_000  # a form of several files may be this large
    body = {"key": "incoming/1/x", "policy": "not signed", "file": (io.BytesIO(b"\0" * 1_000_000), "f.jpg")}
    response = client.post("/local-media-upload", data=body, content_type="multipart/form-data")
    assert response.status_code == 413
