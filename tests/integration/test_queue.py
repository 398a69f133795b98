"""Processing on a real queue: RQ on a real Redis, real workers. The upload answers before any decode; a worker
makes the file ready; a work-horse killed mid-job is retried and nothing is lost or doubled; Redis down
answers 503 with nothing stored."""
import io
import os
import subprocess
import sys
import textwrap
import time

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, MediaObject, OutboxMail, ShiftCancellation
from tests.conftest import Auth, IsolatedClient, empty_database, empty_redis, make_app
from tests.media_fixtures import jpeg_bytes, pdf_bytes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def queue_redis_url():
    """An empty Redis database of its own for the queue: TEST_QUEUE_REDIS_URL, else database 2 on loopback."""
    yield from empty_redis("TEST_QUEUE_REDIS_URL", "redis://127.0.0.1:6379/2")


@pytest.fixture
def queued(database_url, tmp_path, queue_redis_url):
    """The app with REDIS_URL set (jobs go to RQ), a signed-in employee and a shift of theirs."""
    yield from _case(database_url, tmp_path, queue_redis_url)


@pytest.fixture
def queued_mail(database_url, tmp_path, queue_redis_url, smtp_server):
    """The queued case, mailing to the test's SMTP server."""
    yield from _case(database_url, tmp_path, queue_redis_url, MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port)


def _case(database_url, tmp_path, queue_redis_url, **mail):
    from tests.conftest import Factory

    settings = dict(REDIS_URL=queue_redis_url, QUEUE_RETRY_DELAYS=[0, 0], **mail)
    app = make_app(database_url, tmp_path, **settings)
    app.test_client_class = IsolatedClient
    with app.app_context():
        factory = Factory()
        owner = factory.business()
        employee = factory.user(owner, language="en")
        shift = factory.shift(employee)
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        auth = Auth(client)
        auth.login(employee)
        yield type("Case", (), dict(app=app, client=client, auth=auth, employee=employee, shift=shift, owner=owner,
                                    settings=settings, database_url=database_url, tmp_path=tmp_path,
                                    redis_url=queue_redis_url))
        empty_database()


def _send(case, files):
    token = case.auth.csrf_token("/cancellations/")
    return case.client.post("/cancellations/", data={"csrf_token": token, "shift_id": case.shift.id,
                                                     "reason": "Flu", "proofs": files})


def _objects(case):
    return sorted(o.key for o in case.app.extensions["media_storage"].iter_objects())


def _rows():
    db.session.expire_all()
    return db.session.execute(db.select(MediaObject).order_by(MediaObject.id)).scalars().all()


def _work(case):
    """Run a burst worker in this process (RQ's SimpleWorker: the same job code, no fork)."""
    from rq import SimpleWorker

    queue = case.app.extensions["queue"]
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def test_the_request_only_receives_and_a_worker_makes_the_proofs_ready(queued):
    response = _send(queued, [(io.BytesIO(jpeg_bytes()), "photo.jpg"), (io.BytesIO(pdf_bytes()), "note.pdf")])
    assert response.status_code == 302
    rows = _rows()
    assert [r.status for r in rows] == ["processing", "processing"]
    assert _objects(queued) == sorted(r.incoming_key for r in rows)  # nothing under a final key yet
    cancellation = db.session.execute(db.select(ShiftCancellation)).scalar_one()
    assert cancellation.submitted_at is None  # managers do not see it yet
    card = queued.client.get(f"/cancellations/{cancellation.id}/card").get_data(as_text=True)
    assert "Checking the file" in card and 'hx-trigger="every 2s"' in card  # the card polls while processing
    _work(queued)
    rows = _rows()
    assert [r.status for r in rows] == ["ready", "ready"]
    assert _objects(queued) == sorted(k for r in rows for k in (r.storage_key, r.thumbnail_key))
    db.session.refresh(cancellation)
    assert cancellation.submitted_at is not None
    card = queued.client.get(f"/cancellations/{cancellation.id}/card").get_data(as_text=True)
    assert "Checking the file" not in card and "every 2s" not in card and "/thumbnail" in card


def test_a_file_whose_incoming_bytes_expired_is_refused_so_it_can_be_sent_again(queued):
    """Workers down for longer than the bucket keeps incoming bytes (a day): the job finds nothing to read. The
    file is refused with a message saying so, instead of failing every retry and showing "checking" for ever;
    the employee replaces it and the request goes on."""
    from datetime import timedelta

    from portal.models import utcnow

    assert _send(queued, [(io.BytesIO(jpeg_bytes()), "photo.jpg")]).status_code == 302
    [row] = _rows()
    queued.app.extensions["media_storage"].delete(row.incoming_key)  # what the expire-incoming rule does
    _work(queued)  # a fresh row's bytes cannot have expired: the store is wrong somehow, so the job fails (retry)
    [row] = _rows()
    assert row.status == "processing"
    row.created_at = utcnow() - timedelta(days=1, minutes=1)  # as old as the rule's day
    db.session.commit()
    from portal import cancellations

    cancellations.process_proof(row.id)  # what the retry (or verify --fix) runs a day later
    [row] = _rows()
    assert row.status == "refused" and row.refusal_code == "expired" and _objects(queued) == []
    cancellation = db.session.execute(db.select(ShiftCancellation)).scalar_one()
    card = queued.client.get(f"/cancellations/{cancellation.id}/card").get_data(as_text=True)
    assert "waited too long to be checked" in card and "every 2s" not in card and "replace-proof" in card
    [event] = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "media.reject")).scalars()
    assert event.detail["code"] == "expired"
    token = queued.auth.csrf_token("/cancellations/")
    response = queued.client.post(f"/cancellations/{cancellation.id}/proofs", data={
        "csrf_token": token, "replaces": row.id, "proofs": (io.BytesIO(jpeg_bytes()), "photo.jpg")},
        headers={"HX-Request": "true"})
    assert response.status_code == 200
    _work(queued)
    assert [r.status for r in _rows() if r.deleted_at is None] == ["ready"]
    db.session.refresh(cancellation)
    assert cancellation.submitted_at is not None


def test_the_worker_mails_the_reviewers_when_its_job_makes_the_request_visible(queued_mail, smtp_server):
    assert _send(queued_mail, [(io.BytesIO(jpeg_bytes()), "photo.jpg")]).status_code == 302
    assert db.session.execute(db.select(OutboxMail)).scalars().all() == []  # nobody is told before the proofs
    _work(queued_mail)  # no request, no `flask mail send-pending`: the job sends what it committed
    [note] = smtp_server.inbox.wait_for(queued_mail.owner.email, timeout=10)
    assert note["Subject"].startswith("Новая заявка с подтверждениями")  # in the owner's language
    db.session.expire_all()
    assert [r.status for r in db.session.execute(db.select(OutboxMail)).scalars()] == ["sent"]


def test_redis_down_answers_503_and_stores_nothing(queued):
    from portal import jobs

    queued.app.config["REDIS_URL"] = "redis://127.0.0.1:9/0"  # nothing listens there
    queued.app.extensions["queue"] = jobs._build_queue(queued.app.config)
    response = _send(queued, (io.BytesIO(jpeg_bytes()), "photo.jpg"))
    assert response.status_code == 503
    assert "nothing was saved" in response.get_data(as_text=True)
    assert _rows() == [] and _objects(queued) == []
    assert db.session.execute(db.select(ShiftCancellation)).first() is None
    db.session.refresh(queued.shift)
    assert queued.shift.status == "scheduled"


@pytest.fixture
def redis_stops_after_the_commit(queued, monkeypatch):
    """The queue's Redis (a redis-server of this test's own) stops between building the jobs (while the file's
    put runs) and sending them (after the commit). `committed` holds what another connection counted in
    media_objects at each send: the rows are committed by then, so the upload's undo is what runs."""
    from portal import jobs
    from tests.s3_server import free_port

    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(queued.tmp_path)], stdout=subprocess.DEVNULL)
    try:
        queued.app.config["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        queued.app.extensions["queue"] = jobs._build_queue(queued.app.config)
        _wait_for_redis(queued.app.extensions["queue"].connection)
        real_prepare, real_send, committed = jobs.prepare, jobs.Batch.send, []

        def then_redis_stops(calls):
            batch = real_prepare(calls)
            server.terminate()
            server.wait(timeout=10)
            return batch

        def send_after_the_commit(batch):
            other = sa.create_engine(queued.database_url)
            with other.connect() as connection:
                committed.append(connection.execute(sa.text("SELECT count(*) FROM media_objects")).scalar_one())
            other.dispose()
            return real_send(batch)

        monkeypatch.setattr(jobs, "prepare", then_redis_stops)
        monkeypatch.setattr(jobs.Batch, "send", send_after_the_commit)
        yield committed
    finally:
        server.kill()
        server.wait()


def test_redis_failing_after_the_commit_undoes_the_upload(queued, redis_stops_after_the_commit):
    response = _send(queued, (io.BytesIO(jpeg_bytes()), "photo.jpg"))
    assert redis_stops_after_the_commit == [1] and response.status_code == 503
    assert _rows() == [] and _objects(queued) == []
    db.session.refresh(queued.shift)
    assert queued.shift.status == "scheduled"


@pytest.fixture
def refused_proof(queued):
    """A sent request whose one file the worker refused (a PDF with JavaScript)."""
    from tests.badfiles import REFUSED

    assert _send(queued, (io.BytesIO(REFUSED["pdf with javascript"][0]), "note.pdf")).status_code == 302
    _work(queued)
    [row] = _rows()
    assert row.status == "refused"
    return row


def test_redis_failing_after_the_commit_brings_the_replaced_file_back(queued, refused_proof, request):
    """Replacing a refused file removes it in the upload's transaction; when that upload is undone, the refused
    file is back on the card, so the employee can replace it again."""
    before = _objects(queued)
    committed = request.getfixturevalue("redis_stops_after_the_commit")
    token = queued.auth.csrf_token("/cancellations/")
    response = queued.client.post(f"/cancellations/{refused_proof.subject_id}/proofs", data={
        "csrf_token": token, "replaces": refused_proof.id, "proofs": (io.BytesIO(jpeg_bytes()), "photo.jpg")},
        headers={"HX-Request": "true"})
    assert committed == [2] and response.status_code == 503
    [row] = _rows()
    assert (row.id, row.status, row.deleted_at) == (refused_proof.id, "refused", None)
    assert _objects(queued) == before
    assert "replace-proof" in response.get_data(as_text=True)


def _wait_for_redis(connection, seconds=10):
    import redis

    deadline = time.monotonic() + seconds
    while True:
        try:
            return connection.ping()
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


WORKER_THAT_DIES_ONCE = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path

    import importlib

    orchestrator = importlib.import_module("portal.media.orchestrator")  # portal.media.orchestrator() shadows it

    flag, real = Path(sys.argv[1]), orchestrator.put_thumbnail

    def dies_once(storage, key, of_uuid, thumbnail):
        # the work-horse is killed after the file's put and before the thumbnail's, as a node or OOM kill would
        if not flag.exists():
            flag.write_text("killed")
            os.kill(os.getpid(), signal.SIGKILL)
        return real(storage, key, of_uuid, thumbnail)

    orchestrator.put_thumbnail = dies_once
    from portal import create_app
    from portal.extensions import db
    from rq import Worker

    app = create_app()
    with app.app_context():
        queue = app.extensions["queue"]
        db.engine.dispose()
        Worker([queue], connection=queue.connection).work(burst=True, with_scheduler=False)
""")


def test_a_work_horse_killed_mid_job_is_retried_and_nothing_is_lost_or_doubled(queued):
    response = _send(queued, (io.BytesIO(jpeg_bytes()), "photo.jpg"))
    assert response.status_code == 302
    flag = queued.tmp_path / "killed-once"
    env = dict(os.environ, PORTAL_DOTENV="none", PORTAL_ENV="testing", DATABASE_URL=queued.database_url,
               SECRET_KEY=queued.app.config["SECRET_KEY"], MEDIA_STORAGE_PROVIDER="local",
               MEDIA_LOCAL_ROOT=queued.app.config["MEDIA_LOCAL_ROOT"], REDIS_URL=queued.redis_url,
               QUEUE_RETRY_DELAYS="0,0")
    db.session.close()
    done = subprocess.run([sys.executable, "-c", WORKER_THAT_DIES_ONCE, str(flag)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert flag.exists(), done.stderr[-3000:]  # the first work-horse really died mid-job
    assert "terminated unexpectedly" in done.stderr + done.stdout
    [row] = _rows()
    assert row.status == "ready", done.stderr[-3000:]
    assert _objects(queued) == sorted([row.storage_key, row.thumbnail_key])  # incoming gone, nothing twice
    uploads = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "media.upload")).scalars().all()
    assert len(uploads) == 1


def record_niceness(path):
    """A job for the test below: write the CPU niceness the work-horse runs at."""
    with open(path, "w") as out:
        out.write(str(os.nice(0)))


def test_a_worker_runs_its_jobs_below_the_webs_cpu_priority(queued):
    """`flask queue worker` lowers its priority by QUEUE_WORKER_NICE before forking work-horses, so where the web
    and the workers share a machine, a burst of thumbnails does not slow the uploads that cause it."""
    from portal import jobs

    seen = queued.tmp_path / "niceness"
    with queued.app.test_request_context():
        jobs.enqueue("tests.integration.test_queue.record_niceness", str(seen))
    env = dict(os.environ, PORTAL_DOTENV="none", PORTAL_ENV="testing", DATABASE_URL=queued.database_url,
               SECRET_KEY=queued.app.config["SECRET_KEY"], MEDIA_STORAGE_PROVIDER="local",
               MEDIA_LOCAL_ROOT=queued.app.config["MEDIA_LOCAL_ROOT"], REDIS_URL=queued.redis_url,
               QUEUE_WORKER_NICE="7", FLASK_APP="wsgi.py")
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "flask"), "queue", "worker", "--burst"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(seen.read_text()) == min(19, os.nice(0) + 7)


def record_memory_ceiling(path):
    """A job for the tests below: write the work-horse's data ceiling and its worker's, from /proc."""
    import resource

    with open(f"/proc/{os.getppid()}/limits") as limits:
        worker = next(line for line in limits if line.startswith("Max data size")).split()[3]
    with open(path, "w") as out:
        out.write(f"{resource.getrlimit(resource.RLIMIT_DATA)[0]} {worker}")


def allocate(megabytes):
    """A job for the test below: ask for more memory than a work-horse may have, as a decompression bomb would."""
    return len(bytearray(megabytes * 1024 * 1024))


def _worker_env(case, **extra):
    return dict(os.environ, PORTAL_DOTENV="none", PORTAL_ENV="testing", DATABASE_URL=case.database_url,
                SECRET_KEY=case.app.config["SECRET_KEY"], MEDIA_STORAGE_PROVIDER="local",
                MEDIA_LOCAL_ROOT=case.app.config["MEDIA_LOCAL_ROOT"], REDIS_URL=case.redis_url,
                FLASK_APP="wsgi.py", **extra)


def _burst(env):
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "flask"), "queue", "worker", "--burst"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("setting,expected", [(None, 1024 * 1024 * 1024), ("256", 256 * 1024 * 1024)])
def test_a_work_horse_runs_under_a_memory_ceiling_its_worker_does_not_have(queued, setting, expected):
    """Each forked work-horse lowers its data ceiling to QUEUE_HORSE_MEMORY_MB (1 GiB by default); the worker
    that forks them, the web and inline jobs keep theirs."""
    import resource

    from portal import jobs

    seen = queued.tmp_path / "ceiling"
    before = resource.getrlimit(resource.RLIMIT_DATA)
    with queued.app.test_request_context():
        jobs.enqueue("tests.integration.test_queue.record_memory_ceiling", str(seen))
    env = _worker_env(queued, **({"QUEUE_HORSE_MEMORY_MB": setting} if setting else {}))
    done = _burst(env)
    assert done.returncode == 0, done.stderr[-3000:]
    horse, worker = seen.read_text().split()
    assert int(horse) == expected and worker == "unlimited"
    assert resource.getrlimit(resource.RLIMIT_DATA) == before  # this process (the web's side) is untouched


def test_a_job_asking_for_more_than_the_ceiling_fails_alone_and_the_worker_goes_on(queued):
    """A job that would take gigabytes fails with MemoryError in its work-horse (retried, then failed), instead
    of the machine's memory; the same worker then runs the next job."""
    from rq.job import Job

    from portal import jobs

    seen = queued.tmp_path / "ceiling"
    with queued.app.test_request_context():
        jobs.enqueue("tests.integration.test_queue.allocate", 4096)
        jobs.enqueue("tests.integration.test_queue.record_memory_ceiling", str(seen))
    done = _burst(_worker_env(queued, QUEUE_HORSE_MEMORY_MB="512"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert seen.exists()  # the next job ran
    rq_queue = queued.app.extensions["queue"]
    [failed] = rq_queue.failed_job_registry.get_job_ids()
    job = Job.fetch(failed, connection=rq_queue.connection)
    assert job.args[0] == "tests.integration.test_queue.allocate" and "MemoryError" in job.latest_result().exc_string


WORKER_WHOSE_HORSES_ALWAYS_DIE = textwrap.dedent("""
    import importlib, os, signal

    from portal import cancellations, create_app, jobs
    from portal.extensions import db

    def dies(media, row, source):  # a decoder crashing on this file, on every try
        os.kill(os.getpid(), signal.SIGSEGV)

    cancellations._process = dies
    app = create_app()
    with app.app_context():
        queue = app.extensions["queue"]
        db.engine.dispose()
        jobs._worker_class(0)([queue], connection=queue.connection).work(burst=True, with_scheduler=False)
""")


def test_a_file_that_ends_its_work_horse_on_every_try_is_refused_so_it_can_be_sent_again(queued):
    from rq.job import Job

    response = _send(queued, (io.BytesIO(jpeg_bytes()), "photo.jpg"))
    assert response.status_code == 302
    [row] = _rows()
    incoming = row.incoming_key
    db.session.close()
    done = subprocess.run([sys.executable, "-c", WORKER_WHOSE_HORSES_ALWAYS_DIE], cwd=ROOT, text=True,
                          env=_worker_env(queued, QUEUE_RETRY_DELAYS="0,0"), capture_output=True, timeout=120)
    assert done.returncode == 0 and "ended its work-horse on every try" in done.stderr, done.stderr[-3000:]
    rq_queue = queued.app.extensions["queue"]
    [failed] = rq_queue.failed_job_registry.get_job_ids()  # the first try and both retries ended their process
    job = Job.fetch(failed, connection=rq_queue.connection)
    assert job.args[0] == "portal.cancellations.process_proof" and job.retries_left == 0
    assert "terminated unexpectedly" in job.latest_result().exc_string
    [row] = _rows()
    assert (row.status, row.refusal_code) == ("refused", "unreadable"), done.stderr[-3000:]
    assert incoming not in _objects(queued)  # nothing left for verify --fix to queue again
    page = queued.client.get("/cancellations/").get_data(as_text=True)
    assert "replace-proof" in page  # the employee can send another file in its place
