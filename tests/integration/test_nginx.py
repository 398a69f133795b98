"""The compose front proxy, proven here: deploy/nginx's template run by Debian's nginx in front of gunicorn (the
real app) and Ceph RGW, which checks every signature. Runs in CI's Ceph pass (TEST_S3=ceph)."""
import gzip
import hashlib
import io
import json
import re
import secrets
import socket
import time
import zipfile
from types import SimpleNamespace

import pytest
import requests

from portal.extensions import db
from portal.models import MediaObject, User
from tests.conftest import PASSWORD, Factory, csrf_token_from, empty_database, make_app
from tests.front_proxy import ROOT, Gunicorn, Nginx
from tests.media_fixtures import drop_bucket, jpeg_bytes, s3_settings
from tests.s3_server import free_port

pytestmark = pytest.mark.real_s3

LIMIT = 51 * 1024 * 1024  # the app's MAX_CONTENT_LENGTH for the default settings


@pytest.fixture(scope="module")
def front(tmp_path_factory, database_url, s3_server):
    """nginx on a free port in front of gunicorn (2 gthread workers), a bucket on RGW, an owner and an employee."""
    folder = tmp_path_factory.mktemp("front")
    folder.chmod(0o755)
    settings = s3_settings(s3_server)
    app = make_app(database_url, folder, **settings)
    with app.app_context():
        assert app.test_cli_runner().invoke(args=["media", "init"]).exit_code == 0
        factory = Factory()
        owner = factory.business("Proxy Café")
        employee = factory.user(owner)
        case = SimpleNamespace(owner=owner.email, employee=employee.email, shift_id=factory.shift(employee).id,
                               bucket=settings["MEDIA_STORAGE_BUCKET"], store=s3_server.endpoint)
    port = free_port()  # known before gunicorn starts: the app signs links for nginx's origin
    env = {key: str(value) for key, value in settings.items()}
    env.update(PORTAL_ENV="development", SECRET_KEY=secrets.token_hex(32), DATABASE_URL=database_url,
               MEDIA_STORAGE_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", PROXY_FIX_X_FOR="1",
               GUNICORN_WORKERS="2", GUNICORN_THREADS="2", METRICS_TOKEN="scrape-me", LOG_FORMAT="json",
               MEDIA_DIRECT_UPLOAD="on")
    gunicorn = nginx = None
    try:
        gunicorn = Gunicorn(folder, env)
        nginx = Nginx(folder / "nginx", {"PORTAL_APP_UPSTREAM": f"127.0.0.1:{gunicorn.port}",
                                         "PORTAL_STORE_UPSTREAM": s3_server.endpoint.split("//", 1)[1],
                                         "PORTAL_MEDIA_BUCKET": case.bucket, "PORTAL_STATIC_ROOT": ROOT}, port=port)
        case.url, case.app_url, case.nginx, case.gunicorn, case.app = nginx.url, gunicorn.url, nginx, gunicorn, app
        yield case
    finally:
        for process in (nginx, gunicorn):
            if process:
                process.stop()
        with app.app_context():
            empty_database()
            drop_bucket(app.extensions["media_storage"])
        app.extensions["media_storage"] = None


def signed_in(front, email):
    """A requests session signed in through nginx."""
    session = requests.Session()
    token = csrf_token_from(session.get(front.url + "/login", timeout=10).text)
    answer = session.post(front.url + "/login", data={"email": email, "password": PASSWORD, "csrf_token": token},
                          allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:500]
    return session


@pytest.fixture(scope="module")
def proof(front):
    """The employee sends a request with a photo through nginx; the owner signs in; the stored proof's row."""
    employee = signed_in(front, front.employee)
    token = csrf_token_from(employee.get(front.url + "/cancellations/", timeout=10).text)
    answer = employee.post(front.url + "/cancellations/", allow_redirects=False, timeout=30,
                           data={"csrf_token": token, "shift_id": front.shift_id, "reason": "Sick"},
                           files={"proofs": ("note.jpg", jpeg_bytes(), "image/jpeg")})
    assert answer.status_code == 302, answer.text[:500]
    with front.app.app_context():
        row = db.session.execute(db.select(MediaObject)).scalar_one()
        return SimpleNamespace(id=row.id, sha256=row.sha256, owner=signed_in(front, front.owner))


def test_thumbnail_and_download_come_through_nginx_signed_for_its_origin(front, proof):
    thumbnail = proof.owner.get(f"{front.url}/media/{proof.id}/thumbnail", allow_redirects=False, timeout=10)
    link = thumbnail.headers["Location"]
    assert link.startswith(f"{front.url}/{front.bucket}/shift-cancellations/")  # same origin, bucket at the root
    image = requests.get(link, timeout=10)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/webp"
    assert image.headers["X-Content-Type-Options"] == "nosniff" and "default-src 'none'" in \
        image.headers["Content-Security-Policy"]
    download = proof.owner.get(f"{front.url}/media/{proof.id}/download", timeout=10)
    assert download.status_code == 200 and hashlib.sha256(download.content).hexdigest() == proof.sha256
    assert "attachment" in download.headers["Content-Disposition"]


def test_an_employee_exports_their_data_through_nginx_as_a_stream(front, proof):
    employee = signed_in(front, front.employee)
    token = csrf_token_from(employee.get(front.url + "/my-data/", timeout=10).text)
    with front.app.app_context():
        employee_id = db.session.execute(db.select(User.id).filter_by(email=front.employee)).scalar_one()
    answer = employee.post(f"{front.url}/exports/people/{employee_id}", data={"csrf_token": token}, timeout=30)
    # sent while it is written: no length known up front, chunked through gunicorn and nginx
    assert answer.status_code == 200 and answer.headers.get("Transfer-Encoding") == "chunked"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    [listed] = [f for r in json.loads(archive.read("index.json"))["requests"] for f in r["files"]]
    assert hashlib.sha256(archive.read(listed["path"])).hexdigest() == listed["sha256"] == proof.sha256


def test_rgw_checks_the_signature_that_came_through_nginx(front, proof):
    link = proof.owner.get(f"{front.url}/media/{proof.id}/download", allow_redirects=False,
                           timeout=10).headers["Location"]
    head, signature = link.split("X-Amz-Signature=")
    tampered = requests.get(head + "X-Amz-Signature=" + ("0" if signature[0] != "0" else "1") + signature[1:],
                            timeout=10)
    assert tampered.status_code == 403 and "SignatureDoesNotMatch" in tampered.text  # RGW's own refusal
    # The Host is signed: the same link sent straight to RGW (another Host) is refused too.
    direct = requests.get(link.replace(front.url, front.store), timeout=10)
    assert direct.status_code == 403
    assert requests.get(link, timeout=10).status_code == 200


def test_the_store_path_is_read_only_and_carries_no_cookies(front, proof):
    link = proof.owner.get(f"{front.url}/media/{proof.id}/thumbnail", allow_redirects=False,
                           timeout=10).headers["Location"]
    assert requests.put(link, data=b"replaced", timeout=10).status_code == 403  # nginx: GET and HEAD only
    assert requests.delete(link, timeout=10).status_code == 403
    assert proof.owner.get(link, timeout=10).status_code == 200  # with the portal's cookies, which nginx drops


def _slow_body(url):
    """A connection that has sent its headers and a promise of 4 KB, and then sends a byte now and then."""
    host, port = url.split("//")[1].split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.sendall(f"POST /login HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/x-www-form-urlencoded"
                 "\r\nContent-Length: 4096\r\n\r\nemail=".encode())
    return sock


def test_twenty_slow_clients_hold_no_worker(front):
    """The issue's slowloris: gunicorn (2 workers x 2 threads here) never sees a request until nginx has it all."""
    slow = [_slow_body(front.url) for _ in range(20)]
    try:
        timings = []
        deadline = time.monotonic() + 6  # bounded: 20 connections for 6 s at most, loopback only
        while time.monotonic() < deadline:
            for sock in slow:
                sock.sendall(b"a")
            for path in ("/healthz", "/login"):
                started = time.monotonic()
                answer = requests.get(front.url + path, timeout=10)
                timings.append((path, answer.status_code, time.monotonic() - started))
            time.sleep(0.5)
    finally:
        for sock in slow:
            sock.close()
    assert all(status == 200 for _, status, _ in timings), timings
    slowest = max(seconds for _, _, seconds in timings)
    assert slowest < 1.0, timings


def test_a_body_over_the_limit_is_refused_by_nginx_with_the_limit_named(front):
    host, port = front.url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"POST /cancellations/ HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: multipart/form-data; "
                     f"boundary=x\r\nContent-Length: {LIMIT + 1}\r\n\r\n".encode())
        answer = sock.recv(65536).decode(errors="replace")
    assert answer.startswith("HTTP/1.1 413")
    assert "51 MB" in answer and "10 MB" in answer
    at_limit = requests.post(front.url + "/login", data=b"x" * 1024, timeout=10)  # a small body goes through
    assert at_limit.status_code == 400  # the app's answer (no CSRF token), not nginx's


def test_static_files_are_served_by_nginx_with_a_year_of_cache(front):
    page = requests.get(front.url + "/login", timeout=10).text
    css = re.search(r'href="(/static/css/portal\.css\?v=[0-9a-f]{12})"', page).group(1)
    answer = requests.get(front.url + css, timeout=10)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "X-Request-ID" not in answer.headers  # nginx answered from disk; the app adds this to every answer
    assert requests.get(front.url + "/static/../wsgi.py", timeout=10).status_code in (400, 404)


def test_html_is_gzipped(front):
    answer = requests.get(front.url + "/login", headers={"Accept-Encoding": "gzip"}, stream=True, timeout=10)
    assert answer.headers["Content-Encoding"] == "gzip"
    assert b"csrf_token" in gzip.decompress(answer.raw.read())


def test_metrics_are_not_served_through_nginx_even_with_the_token(front):
    token = {"Authorization": "Bearer scrape-me"}
    assert requests.get(front.url + "/metrics", headers=token, timeout=10).status_code == 404
    assert requests.get(front.app_url + "/metrics", headers=token, timeout=10).status_code == 200


def test_a_direct_upload_reaches_rgw_through_the_same_origin_path(front):
    """The browser's part of direct upload through nginx: slot from the app, the file POSTed to the bucket path
    (streamed to RGW, which checks the policy), then the slot named in the form; the proof is processed."""
    from portal.models import Shift, ShiftCancellation, User

    with front.app.app_context():
        employee_row = db.session.execute(db.select(User).where(User.email == front.employee)).scalar_one()
        shift_id = Factory().shift(employee_row, starts_in=__import__("datetime").timedelta(days=3)).id
    employee = signed_in(front, front.employee)
    token = csrf_token_from(employee.get(front.url + "/cancellations/", timeout=10).text)
    slot = employee.post(front.url + "/uploads/slots", timeout=10,
                         data={"csrf_token": token, "content_type": "image/jpeg", "filename": "photo.jpg"}).json()
    assert slot["url"] == f"{front.url}/{front.bucket}"  # the portal's own origin: no CORS needed
    photo = jpeg_bytes(size=(1600, 1200))
    outside = requests.post(slot["url"], data={**slot["fields"], "key": slot["fields"]["key"] + "x"}, timeout=20,
                            files={"file": ("photo.jpg", photo, "image/jpeg")})
    assert outside.status_code == 403  # RGW's refusal of a key the policy does not allow
    sent = requests.post(slot["url"], data=slot["fields"], files={"file": ("photo.jpg", photo, "image/jpeg")},
                         timeout=20)
    assert sent.status_code == 204, sent.text[:300]
    assert requests.get(slot["url"], timeout=10).status_code == 403  # the upload path takes POST only
    answer = employee.post(front.url + "/cancellations/", allow_redirects=False, timeout=30,
                           data={"csrf_token": token, "shift_id": shift_id, "reason": "Sick", "slots": slot["slot"]})
    assert answer.status_code == 302, answer.text[:500]
    with front.app.app_context():
        row = db.session.execute(db.select(MediaObject).where(MediaObject.uuid == slot["slot"])).scalar_one()
        request = db.session.execute(db.select(ShiftCancellation).where(
            ShiftCancellation.shift_id == shift_id)).scalar_one()
        assert row.status == "ready" and request.submitted_at is not None
        assert db.session.get(Shift, shift_id).status == "cancellation_requested"
