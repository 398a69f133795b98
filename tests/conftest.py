"""Real fixtures: a migrated database (SQLite, or PostgreSQL with TEST_DATABASE_URL), the app, clients, factories."""
import contextvars
import functools
import itertools
from types import SimpleNamespace
import os
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from hypothesis import settings
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

os.environ["PORTAL_DOTENV"] = "none"  # a developer's .env must not change what the tests see

from portal import create_app  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Shift, User, utcnow  # noqa: E402

# Hypothesis: "ci" (the default) is bounded and the same on every run; HYPOTHESIS_PROFILE=deep searches further,
# with fresh random examples each run and failures remembered in .hypothesis/.
settings.register_profile("ci", max_examples=15, deadline=timedelta(seconds=10), derandomize=True, database=None,
                          print_blob=True)
settings.register_profile("deep", max_examples=300, deadline=timedelta(seconds=10))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@functools.cache
def password_hash():
    """One hash for every test user: hashing is slow on purpose, tests need not pay for it each time."""
    return generate_password_hash(PASSWORD)


# Under pytest-xdist (`make test` runs two workers) each worker is a process of its own: "gw0", "gw1"... It gets
# its own PostgreSQL database and its own Redis database numbers; SQLite, buckets, ports and temp folders are
# per worker already.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
WORKER_INDEX = int(WORKER[2:]) if WORKER.startswith("gw") else 0
REDIS_DBS_PER_WORKER = 4  # the suite uses databases 1 and 2 (and the benchmarks 3) of a Redis with 16


def _worker_postgres(url):
    """The worker's own database beside TEST_DATABASE_URL's (test_gw1...), created if missing."""
    if not WORKER:
        return url
    from bench.common import ensure_database

    mine = sa.engine.make_url(url)
    return ensure_database(mine.set(database=f"{mine.database}_{WORKER}").render_as_string(hide_password=False))


def worker_redis(url):
    """The worker's own database number on the same Redis: n, n + 4, n + 8... for gw0, gw1, gw2..."""
    if not WORKER_INDEX:
        return url
    import redis

    number = redis.connection.parse_url(url).get("db", 0) + REDIS_DBS_PER_WORKER * WORKER_INDEX
    if number > 15:
        pytest.fail(f"worker {WORKER} would need Redis database {number}; run at most 4 workers (-n 4)")
    return urlsplit(url)._replace(path=f"/{number}").geturl()


def _reset_postgres(url):
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        meta = sa.MetaData()
        meta.reflect(conn)
        meta.drop_all(conn)
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A database migrated to head once per session: PostgreSQL when TEST_DATABASE_URL is set, else SQLite."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        url = _worker_postgres(url)
        _reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x" * 32}, profile="testing")
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    return url


def make_app(database_url, tmp_path, **overrides):
    """An app on the test database with storage under tmp_path; overrides win."""
    settings = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "MEDIA_STORAGE_PROVIDER": "local",
        "MEDIA_LOCAL_ROOT": str(tmp_path / "media"),
        "HTMX_CDN": True,
    }
    settings.update(overrides)
    return create_app(settings, profile="testing")


@pytest.fixture
def app(database_url, tmp_path):
    """The app for one test; every table is emptied afterwards."""
    app = make_app(database_url, tmp_path)
    with app.app_context():
        yield app
        empty_database()


def empty_database():
    """Delete every row (children first) and close the app's connections."""
    db.session.rollback()
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()
    db.engine.dispose()


class IsolatedClient(FlaskClient):
    """A test client whose requests run outside the test's app context, as real requests do.

    Without this, Flask reuses the test's pushed app context for each request, so `g`, the
    database session and Flask-Babel's cached locale would leak from one request to the next.
    """

    def open(self, *args, **kwargs):
        # buffered: a streamed body (the CSV export) is read in the request's own context, as a server does
        kwargs.setdefault("buffered", True)
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = IsolatedClient
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"  # tests read English unless they ask otherwise
    return client


def empty_redis(variable, default):
    """Yield the URL of an empty Redis database (the variable's, else default), emptied again afterwards; a test
    without Redis is skipped locally and fails in CI."""
    import redis

    url = worker_redis(os.environ.get(variable, default))
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        if os.environ.get("CI"):
            pytest.fail(f"Redis must be reachable in CI at {url}: {error}")
        pytest.skip(f"REDIS TESTS SKIPPED: no Redis at {url} ({error}); set {variable}")
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def redis_url():
    """An empty Redis database for shared counters: TEST_REDIS_URL, else database 1 on loopback."""
    yield from empty_redis("TEST_REDIS_URL", "redis://127.0.0.1:6379/1")


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Factory:
    """Small builders for businesses, users and shifts."""

    _numbers = itertools.count(1)  # shared, so two factories in one test never make the same email

    def __init__(self):
        self.counter = 0

    def _email(self, prefix):
        self.counter = next(self._numbers)
        return f"{prefix}{self.counter}@test.example"

    def business(self, name="Test Café", tz="Europe/Moscow"):
        """An owner (the tenant) with a business name and timezone."""
        owner = User(email=self._email("owner"), display_name=f"Owner of {name}", role="owner",
                     business_name=name, timezone=tz, password_hash=password_hash())
        db.session.add(owner)
        db.session.flush()
        owner.owner_id = owner.id
        db.session.commit()
        return owner

    def user(self, owner, role="employee", name=None, **fields):
        """A manager or employee of the owner's business."""
        fields.setdefault("password_hash", password_hash())
        user = User(email=self._email(role), display_name=name or f"{role} {self.counter}", role=role,
                    owner_id=owner.id, **fields)
        db.session.add(user)
        db.session.commit()
        return user

    def shift(self, employee, starts_in=timedelta(days=1), hours=8, title="Front desk", status="scheduled"):
        """A shift of an employee, starting starts_in from now."""
        starts = utcnow().replace(microsecond=0) + starts_in
        shift = Shift(owner_id=employee.owner_id, employee_id=employee.id, starts_at=starts,
                      ends_at=starts + timedelta(hours=hours), title=title, status=status)
        db.session.add(shift)
        db.session.commit()
        return shift


    def pending_request(self, name="Test Café"):
        """An owner, an employee, a shift of theirs and a pending request to cancel it."""
        owner = self.business(name)
        employee = self.user(owner)
        shift = self.shift(employee)
        return SimpleNamespace(owner=owner, employee=employee, shift=shift, cancellation=self.cancellation(shift))

    def cancellation(self, shift, reason="Sick, note attached"):
        """A pending cancellation request of a shift by its employee."""
        from portal.models import ShiftCancellation

        cancellation = ShiftCancellation(owner_id=shift.owner_id, shift_id=shift.id, employee_id=shift.employee_id,
                                         reason=reason, submitted_at=utcnow())
        shift.status = "cancellation_requested"
        db.session.add(cancellation)
        db.session.commit()
        return cancellation


@pytest.fixture
def factory(app):
    return Factory()


class World:
    """Two businesses, A and B, each with an owner, a manager, two employees and shifts."""

    def __init__(self, factory):
        self.a = self._business(factory, "Alpha")
        self.b = self._business(factory, "Beta")

    @staticmethod
    def _business(factory, name):
        owner = factory.business(name)
        manager = factory.user(owner, "manager", name=f"{name} Manager")
        emp1 = factory.user(owner, "employee", name=f"{name} Worker One")
        emp2 = factory.user(owner, "employee", name=f"{name} Worker Two")
        shift1 = factory.shift(emp1, title=f"{name} bar")
        shift2 = factory.shift(emp2, title=f"{name} hall")
        return type("Business", (), dict(owner=owner, manager=manager, emp1=emp1, emp2=emp2,
                                         shift1=shift1, shift2=shift2))

    def user(self, who):
        """'a.owner' -> the owner of business A."""
        business, role = who.split(".")
        return getattr(getattr(self, business), role)


@pytest.fixture
def world(factory):
    return World(factory)


def csrf_token_from(html):
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


class Auth:
    """Signs a test client in and out through the real login form."""

    def __init__(self, client):
        self.client = client

    def login(self, user_or_email, password=PASSWORD):
        email = getattr(user_or_email, "email", user_or_email)
        token = csrf_token_from(self.client.get("/login").get_data(as_text=True))
        return self.client.post("/login", data={"email": email, "password": password, "csrf_token": token})

    def csrf_token(self, path="/"):
        return csrf_token_from(self.client.get(path).get_data(as_text=True))

    def logout(self):
        return self.client.post("/logout", data={"csrf_token": self.csrf_token()})


@pytest.fixture
def auth(client):
    return Auth(client)


SUITE_LOG = os.path.join(os.environ.get("PORTAL_TEST_LOG_DIR", "/tmp"), f"portal-suite-{os.getpid()}.log")


@pytest.fixture(scope="session", autouse=True)
def suite_log():
    """Every log record of the whole suite at INFO, as production would write it, for the log hygiene test."""
    import logging

    handler = logging.FileHandler(SUITE_LOG, mode="w", encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    yield SUITE_LOG
    root.removeHandler(handler)
    root.setLevel(previous)
    handler.close()


def talks_to_s3(item):
    """Whether a test talks to the S3 server: it uses the server's fixture, runs on the s3 provider, or is
    marked real_s3. Decided at collection, before any fixture runs."""
    if item.get_closest_marker("real_s3") or "s3_server" in getattr(item, "fixturenames", ()):
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and callspec.params.get("provider") == "s3"


def pytest_collection_modifyitems(config, items):
    """Mark every test that talks to the S3 server `s3`: CI's Ceph pass runs those (`-m s3`)."""
    for item in items:
        if talks_to_s3(item):
            item.add_marker(pytest.mark.s3)


def pytest_runtest_setup(item):
    """Tests marked real_s3 need a server that checks signatures, expiry and policies; moto does not."""
    if item.get_closest_marker("real_s3") and os.environ.get("TEST_S3") != "ceph":
        pytest.skip("needs a real S3 implementation (moto does not check signatures, expiry, credentials or "
                    "policies); runs with TEST_S3=ceph")


WORKER_LOGS = pytest.StashKey[list]()  # the controller's list of its workers' log files


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist's controller: a worker is done; its log joins the check at the end of the run."""
    log_file = getattr(node, "workeroutput", {}).get("suite_log")
    if log_file:
        node.config.stash.setdefault(WORKER_LOGS, []).append(log_file)


def _check_worker_logs(session, reporter):
    """With workers, the log hygiene test sees its own worker's log only: the controller reads them all."""
    from tests.log_secrets import leaks

    found = []
    for log_file in session.config.stash.get(WORKER_LOGS, []):
        if not os.path.exists(log_file):
            continue  # a worker that ran no test wrote no log
        with open(log_file, encoding="utf-8") as handle:
            found += [f"{log_file}: {leak}" for leak in leaks(handle.read())]
    if found:
        for line in found:
            reporter.write_line(line, red=True)
        reporter.write_line(f"{len(found)} secrets in the workers' logs", red=True, bold=True)
        session.exitstatus = 1


def pytest_sessionfinish(session, exitstatus):
    """With TEST_S3=ceph every test must run: a skip there is a failure. Under pytest-xdist a worker hands the
    controller its log's path, and the controller checks every log for secrets."""
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["suite_log"] = SUITE_LOG
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter and session.config.stash.get(WORKER_LOGS, None):
        _check_worker_logs(session, reporter)
    if os.environ.get("TEST_S3") == "ceph" and reporter and reporter.stats.get("skipped"):
        reporter.write_line(f"TEST_S3=ceph: {len(reporter.stats['skipped'])} tests were skipped; "
                            "on a real S3 server nothing may be skipped", red=True, bold=True)
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter):
    """Say loudly when the browser tests did not run."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "BROWSER TESTS SKIPPED" in str(r.longrepr)]
    if skipped:
        terminalreporter.write_line(
            f"!!! {len(skipped)} browser tests were SKIPPED: install Chromium (apt-get install chromium) !!!",
            red=True, bold=True)


from tests.media_fixtures import media_app, provider  # noqa: E402,F401  (fixtures)
from tests.s3_server import s3_server  # noqa: E402,F401  (fixture)


@pytest.fixture
def proofs(world):
    """World plus a pending cancellation of shift A1 (by a.emp1) and of B1 (by b.emp1), each with a JPEG proof."""
    import io as _io

    from portal.media.orchestrator import Upload
    from tests.media_fixtures import jpeg_bytes, store_proof

    factory = Factory()
    for business in (world.a, world.b):
        business.cancellation = factory.cancellation(business.shift1)
        business.proof = store_proof(
            business.cancellation, Upload(_io.BytesIO(jpeg_bytes()), "справка.jpg"), actor=business.emp1)
    return world


class QueryCounter:
    """Counts the SQL statements the app sends while it is active (BEGIN/COMMIT not included)."""

    def __init__(self):
        self.statements = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    def __len__(self):
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    """count_queries() -> a QueryCounter that counts from now until the test ends (or .statements.clear())."""
    counters = []

    def start():
        counter = QueryCounter()
        sa.event.listen(db.engine, "before_cursor_execute", counter)
        counters.append(counter)
        return counter

    yield start
    for counter in counters:
        sa.event.remove(db.engine, "before_cursor_execute", counter)


from tests.smtp_server import mail_app, mail_client, smtp_server  # noqa: E402,F401  (fixtures)
