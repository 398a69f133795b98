"""Faults degrade into answers, not 500s: a store that resets, cuts or stalls (a TCP proxy between the app and the
S3 server), database connections killed between and during requests, and a gunicorn worker killed mid-upload.
Whatever happens, rows and objects agree after `flask media verify --fix`."""
import io
import os
import signal
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import MediaObject, Shift, ShiftCancellation
from tests.conftest import Auth, Factory, IsolatedClient, empty_database, make_app
from tests.fault_proxy import FaultProxy
from tests.front_proxy import Gunicorn, wait_until
from tests.media_fixtures import drop_bucket, jpeg_bytes, s3_settings

FAST = {"MEDIA_STORAGE_CONNECT_TIMEOUT": 1, "MEDIA_STORAGE_READ_TIMEOUT": 2, "MEDIA_STORAGE_MAX_ATTEMPTS": 2}
postgres_only = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                                   reason="pg_terminate_backend needs PostgreSQL (TEST_DATABASE_URL)")


def terminate_backends(url):
    """Kill every other connection to the test database, as a PostgreSQL restart does."""
    db.session.close()  # the test's own idle session hands its connection back to the pool first
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        killed = conn.execute(sa.text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                      "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    engine.dispose()
    return killed


@pytest.fixture
def store_proxy(s3_server):
    proxy = FaultProxy(s3_server.endpoint.split("//", 1)[1])
    yield proxy
    proxy.stop()


@pytest.fixture
def faulty(store_proxy, s3_server, database_url, tmp_path):
    """The app on the S3 server through the proxy, with short store timeouts; an employee with a shift."""
    settings = s3_settings(s3_server, MEDIA_STORAGE_ENDPOINT=store_proxy.url, **FAST)
    app = make_app(database_url, tmp_path, **settings)
    app.test_client_class = IsolatedClient
    with app.app_context():
        assert app.test_cli_runner().invoke(args=["media", "init"]).exit_code == 0
        factory = Factory()
        employee = factory.user(factory.business())
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        shift = factory.shift(employee)
        yield type("Case", (), dict(app=app, client=client, auth=Auth(client), employee=employee, email=employee.email,
                                    shift_id=shift.id, proxy=store_proxy, settings=settings))
        store_proxy.release.set()
        store_proxy.switch("pass")
        empty_database()
        drop_bucket(app.extensions["media_storage"])


def send_request(case, reason="Fever, note from the clinic"):
    """The employee's form post with one photo."""
    token = case.auth.csrf_token("/cancellations/")
    return case.client.post("/cancellations/", data={"csrf_token": token, "shift_id": case.shift_id, "reason": reason,
                                                      "proofs": [(io.BytesIO(jpeg_bytes()), "n.jpg")]})


def verify_fix(app):
    result = app.test_cli_runner().invoke(args=["media", "verify", "--fix", "--quick", "--grace-minutes", "0"])
    assert result.exit_code == 0, result.output
    return result.output


def assert_consistent(case):
    """After verify --fix: every ready row has its objects, and the bucket holds nothing else."""
    verify_fix(case.app)
    db.session.expire_all()
    rows = db.session.execute(db.select(MediaObject)).scalars().all()
    store = case.app.extensions["media_storage"]
    keys = {item.key for item in store.iter_objects("shift-cancellations/")}
    assert keys == {k for row in rows for k in (row.storage_key, row.thumbnail_key)}
    assert all(row.status == "ready" for row in rows)
    held = db.session.execute(db.select(ShiftCancellation).where(ShiftCancellation.submitted_at.is_(None))).all()
    assert held == []


def shift_status(case):
    db.session.expire_all()
    return db.session.get(Shift, case.shift_id).status


@pytest.mark.parametrize("mode", ["reset", "cut", "hold"])
def test_a_failing_store_answers_503_keeps_the_form_and_frees_the_shift(faulty, mode):
    faulty.auth.login(faulty.employee)
    faulty.proxy.cut_after = 2048
    faulty.proxy.switch(mode)
    started = time.monotonic()
    answer = send_request(faulty)
    elapsed = time.monotonic() - started
    assert answer.status_code == 503
    page = answer.get_data(as_text=True)
    assert "Fever, note from the clinic" in page and "nothing was saved" in page
    # the bound the issue asks for: well inside gunicorn's 30 s (here 2 attempts x (1 + 2) s + backoff)
    assert elapsed < 20
    assert shift_status(faulty) == "scheduled"  # released at once, not by verify a day later
    assert db.session.execute(db.select(ShiftCancellation)).first() is None
    faulty.proxy.release.set()
    faulty.proxy.switch("pass")
    assert_consistent(faulty)
    assert send_request(faulty).status_code == 302  # the store is back: the same request goes through


@postgres_only
def test_a_database_restart_between_requests_costs_no_request(faulty, database_url):
    faulty.auth.login(faulty.employee)
    assert faulty.client.get("/cancellations/").status_code == 200
    assert terminate_backends(database_url) >= 1
    assert faulty.client.get("/cancellations/").status_code == 200  # the user loader's connection was checked


@postgres_only
def test_database_connections_killed_mid_upload_leave_an_answer_and_no_half_stored_request(faulty, database_url):
    faulty.auth.login(faulty.employee)
    faulty.proxy.switch("hold")
    answers = []
    worker = threading.Thread(target=lambda: answers.append(send_request(faulty)))
    worker.start()
    try:
        assert faulty.proxy.arrived.wait(20)  # the request is in the middle of its first put
        assert terminate_backends(database_url) >= 1
    finally:
        faulty.proxy.release.set()
        worker.join(60)
    assert answers and answers[0].status_code in (302, 503)  # stored, or refused cleanly: never a 500
    db.session.expire_all()
    request = db.session.execute(db.select(ShiftCancellation)).scalar_one_or_none()
    if answers[0].status_code == 302:
        assert request.submitted_at is not None and shift_status(faulty) == "cancellation_requested"
    else:
        assert request is None and shift_status(faulty) == "scheduled"
    assert_consistent(faulty)


def test_a_worker_killed_mid_upload_leaves_nothing_that_verify_cannot_settle(faulty, database_url, tmp_path):
    env = {key: str(value) for key, value in faulty.settings.items()}
    env.update(PORTAL_ENV="development", SECRET_KEY="k" * 64, DATABASE_URL=database_url, GUNICORN_WORKERS="1",
               MEDIA_STORAGE_READ_TIMEOUT="10")
    gunicorn = Gunicorn(tmp_path, env)
    try:
        import requests

        from tests.conftest import PASSWORD, csrf_token_from

        session = requests.Session()
        token = csrf_token_from(session.get(gunicorn.url + "/login", timeout=10).text)
        session.post(gunicorn.url + "/login", data={"email": faulty.email, "password": PASSWORD,
                                                    "csrf_token": token}, timeout=10)
        token = csrf_token_from(session.get(gunicorn.url + "/cancellations/", timeout=10).text)
        faulty.proxy.switch("hold")
        failures = []

        def upload():
            try:
                session.post(gunicorn.url + "/cancellations/", timeout=30,
                             data={"csrf_token": token, "shift_id": faulty.shift_id, "reason": "Sick"},
                             files={"proofs": ("n.jpg", jpeg_bytes(), "image/jpeg")})
            except requests.ConnectionError as error:
                failures.append(error)

        worker = threading.Thread(target=upload)
        worker.start()
        assert faulty.proxy.arrived.wait(20)  # the worker is inside its first put
        (pid,) = gunicorn.worker_pids()
        os.kill(pid, signal.SIGKILL)
        worker.join(40)
        assert failures  # the client saw the connection die, as a phone would
        assert wait_until(lambda: gunicorn.worker_pids() and gunicorn.worker_pids() != [pid], timeout=30)
    finally:
        faulty.proxy.release.set()
        gunicorn.stop()
    # The worker died inside its incoming put, before its one commit: no request, no row, the shift is free...
    assert shift_status(faulty) == "scheduled"
    assert db.session.execute(db.select(MediaObject)).first() is None
    # ...and whatever bytes landed under incoming/ go with verify (the bucket's lifecycle rule expires them too).
    verify_fix(faulty.app)
    assert list(faulty.app.extensions["media_storage"].iter_objects("incoming/")) == []
    assert_consistent(faulty)
