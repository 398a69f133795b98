"""Direct-upload benchmark: a proof sent the direct way (slot from the app, the file POSTed straight to the
store, the slot named to the app) against a raw presigned POST of the same bytes to the same store.

Measured, not assumed: a counting TCP relay sits in front of gunicorn, so "bytes to gunicorn" is every byte a
client sent it (headers included) for the slot and the finish. Interleaved repetitions give the ratio of the
browser-visible time (slot + POST + finish) to the raw POST, as median and range. The web workers' peak RSS
(VmHWM from /proc, reset before the burst) is read around 8 concurrent direct uploads of 10 MB photos.
The store is moto, or Ceph RGW with TEST_S3=ceph; jobs wait in BENCH_REDIS_URL's queue (flushed after).
"""
import os
import re
import socket
import statistics
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .common import s3_endpoint, write_results
from .upload import build_app, jpeg

PASSWORD = "bench direct upload"
# A phone's uplink on a good mobile or home connection; loopback alone makes the slot and finish requests look
# large beside a transfer that takes milliseconds (BENCH_UPLINK_MBIT).
UPLINK_MBIT = float(os.environ.get("BENCH_UPLINK_MBIT", "20"))
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class CountingRelay:
    """A loopback TCP relay to target that counts the bytes clients send through it; with a rate (bytes per
    second), it also paces what each connection sends, like a phone's uplink."""

    def __init__(self, target_port, rate=None):
        self.target = ("127.0.0.1", target_port)
        self.rate = rate
        self.received = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            client, _ = self._listener.accept()
            upstream = socket.create_connection(self.target)
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source, sink, counted):
        started, sent = time.perf_counter(), 0
        try:
            while chunk := source.recv(16384 if self.rate else 65536):
                if counted:
                    with self._lock:
                        self.received += len(chunk)
                    sent += len(chunk)
                    if self.rate:  # not before the link would have carried this many bytes
                        time.sleep(max(0.0, started + sent / self.rate - time.perf_counter()))
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def take(self):
        """Bytes counted since the last take."""
        with self._lock:
            value, self.received = self.received, 0
            return value


def _people(count):
    """An owner and `count` employees with many upcoming shifts each; their emails and shift ids."""
    from datetime import timedelta

    from werkzeug.security import generate_password_hash

    from portal.extensions import db
    from portal.models import Shift, User, utcnow

    secret = generate_password_hash(PASSWORD)
    owner = User(email=f"o{uuid.uuid4().hex[:8]}@bench", display_name="O", role="owner", business_name="Bench",
                 password_hash=secret)
    db.session.add(owner)
    db.session.flush()
    owner.owner_id = owner.id
    people = []
    for number in range(count):
        employee = User(email=f"e{number}{uuid.uuid4().hex[:8]}@bench", display_name=f"E{number}", role="employee",
                        owner_id=owner.id, password_hash=secret)
        db.session.add(employee)
        db.session.flush()
        shifts = []
        for day in range(1, 40):
            start = utcnow() + timedelta(days=day)
            shift = Shift(owner_id=owner.id, employee_id=employee.id, starts_at=start,
                          ends_at=start + timedelta(hours=8), title="Bench")
            db.session.add(shift)
            shifts.append(shift)
        db.session.flush()
        people.append((employee.email, [shift.id for shift in shifts]))
    db.session.commit()
    return people


def _session(base, email):
    import requests

    session = requests.Session()
    session.headers["Connection"] = "close"  # one connection per request: the relay's count stays per request
    token = CSRF.search(session.get(base + "/login", timeout=30).text).group(1)
    session.post(base + "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}, timeout=30)
    session.token = CSRF.search(session.get(base + "/cancellations/", timeout=30).text).group(1)
    return session


def _through(url, link):
    """The store's URL as reached through the link (a pacing relay), or as it is."""
    if link is None:
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=urlsplit(link.url).netloc))


def direct_upload(session, base, data, shift_id, link=None):
    """What the browser does: a slot, the POST to the store (through link if given), the finish; seconds."""
    import requests

    marks = [time.perf_counter()]
    slot = session.post(base + "/uploads/slots", timeout=30, data={
        "csrf_token": session.token, "content_type": "image/jpeg", "filename": "photo.jpg"}).json()
    marks.append(time.perf_counter())
    stored = requests.post(_through(slot["url"], link), data=slot["fields"],
                           files={"file": ("photo.jpg", data, "image/jpeg")}, timeout=120)
    assert stored.status_code == 204, stored.text[:300]
    marks.append(time.perf_counter())
    done = session.post(base + "/cancellations/", allow_redirects=False, timeout=60, data={
        "csrf_token": session.token, "shift_id": shift_id, "reason": "bench", "slots": slot["slot"]})
    assert done.status_code == 302, done.text[:300]
    marks.append(time.perf_counter())
    return [b - a for a, b in zip(marks, marks[1:])]  # slot, POST to the store, finish


def raw_post(storage, data, link=None):
    """A presigned POST of the same bytes straight to the store (through link if given), signed here (no app
    involved); seconds."""
    import requests

    slot = storage.upload_slot(f"incoming/0/{uuid.uuid4()}", content_type="image/jpeg", max_bytes=len(data) + 1,
                               metadata={"uploader-id": "0"}, expires_in=600)
    started = time.perf_counter()
    answer = requests.post(_through(slot.url, link), data=slot.fields, files={"file": ("photo.jpg", data, "image/jpeg")},
                           timeout=120)
    assert answer.status_code == 204, answer.text[:300]
    return time.perf_counter() - started


def _kib(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def _summary(samples):
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "n": len(samples)}


def run(smoke=False):
    import redis

    from tests.front_proxy import Gunicorn

    repeat = 1 if smoke else int(os.environ.get("BENCH_REPEAT", "9"))
    size = 2_000_000 if smoke else 10_000_000
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")
    redis.Redis.from_url(redis_url).flushdb()
    with s3_endpoint() as (endpoint, server, credentials), tempfile.TemporaryDirectory() as workdir:
        app = build_app(endpoint, workdir, redis_url, credentials)
        with app.app_context():
            people = _people(8)
            storage = app.extensions["media_storage"]
        env = {"PORTAL_ENV": "development", "SECRET_KEY": app.config["SECRET_KEY"],
               "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": redis_url,
               "MEDIA_STORAGE_PROVIDER": "s3", "MEDIA_STORAGE_ENDPOINT": endpoint,
               "MEDIA_STORAGE_BUCKET": app.config["MEDIA_STORAGE_BUCKET"],
               "MEDIA_STORAGE_ACCESS_KEY": credentials[0], "MEDIA_STORAGE_SECRET_KEY": credentials[1],
               "MEDIA_STORAGE_READ_TIMEOUT": "30", "MEDIA_DIRECT_UPLOAD": "on", "MEDIA_MAX_FILES": "1000",
               "MEDIA_UPLOAD_RATE_LIMIT": "100000 per minute", "GUNICORN_WORKERS": "2",
               "GUNICORN_THREADS": "4", "LOG_LEVEL": "WARNING"}
        gunicorn = Gunicorn(workdir, env)
        try:
            report = _measure(gunicorn, storage, people, jpeg((5800, 4400), 1, target=size), repeat, server)
        finally:
            gunicorn.stop()
        redis.Redis.from_url(redis_url).flushdb()
    _print(report)
    if not smoke:
        write_results(f"direct-upload-{server}.json", report)
    return report


def _measure(gunicorn, storage, people, photo, repeat, server):
    relay = CountingRelay(gunicorn.port)
    uplink = CountingRelay(urlsplit(storage.upload_slot(
        "incoming/0/probe", content_type="image/jpeg", max_bytes=1, metadata={}, expires_in=60).url).port,
        rate=UPLINK_MBIT * 1e6 / 8)
    sessions = [_session(relay.url, email) for email, _ in people]
    shifts = [iter(ids) for _, ids in people]
    direct_upload(sessions[0], relay.url, photo, next(shifts[0]))  # warm-up, not counted
    raw_post(storage, photo)
    relay.take()
    parts, raw, to_gunicorn, paced = [], [], [], []
    for _ in range(repeat):  # interleaved: a raw POST, then a direct upload of the same bytes; then both paced
        raw.append(raw_post(storage, photo))
        parts.append(direct_upload(sessions[0], relay.url, photo, next(shifts[0])))
        to_gunicorn.append(relay.take())
        paced_raw = raw_post(storage, photo, link=uplink)
        paced.append(sum(direct_upload(sessions[0], relay.url, photo, next(shifts[0]), link=uplink)) / paced_raw)
        relay.take()
    direct = [sum(part) for part in parts]
    workers = gunicorn.worker_pids()
    for pid in workers:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM starts again from the current RSS
    baseline = {pid: _kib(pid, "VmRSS") for pid in workers}
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: direct_upload(sessions[i], relay.url, photo, next(shifts[i])), range(8)))
    growth = [(_kib(pid, "VmHWM") - baseline[pid]) / 1024 for pid in workers]
    return {"server": server, "repeat": repeat, "file_bytes": len(photo),
            "bytes_to_gunicorn_per_upload": _summary(to_gunicorn),
            "direct_s": _summary(direct), "raw_post_s": _summary(raw),
            "slot_s": _summary([p[0] for p in parts]), "store_post_s": _summary([p[1] for p in parts]),
            "finish_s": _summary([p[2] for p in parts]),
            "ratio": _summary([d / r for d, r in zip(direct, raw)]),
            "uplink_mbit": UPLINK_MBIT, "ratio_on_uplink": _summary(paced),
            "web_worker_peak_rss_growth_mib_8_concurrent": growth}


def _print(report):
    b, r = report["bytes_to_gunicorn_per_upload"], report["ratio"]
    print(f"S3 server: {report['server']}, {report['repeat']} interleaved repetitions, "
          f"{report['file_bytes'] / 1e6:.1f} MB photo (median [min-max])")
    print(f"bytes received by gunicorn per direct upload (slot + finish): {b['median']:.0f} [{b['min']}-{b['max']}]")
    print(f"browser-visible time / raw POST to the store: {r['median']:.2f} [{r['min']:.2f}-{r['max']:.2f}] "
          f"({report['direct_s']['median'] * 1000:.0f} ms vs {report['raw_post_s']['median'] * 1000:.0f} ms)")
    u = report["ratio_on_uplink"]
    print(f"the same over a {report['uplink_mbit']:g} Mbit/s uplink (both POSTs paced): "
          f"{u['median']:.2f} [{u['min']:.2f}-{u['max']:.2f}]")
    print("of which: slot {:.0f} ms, POST to the store {:.0f} ms, finish {:.0f} ms (medians)".format(
        *(report[k]["median"] * 1000 for k in ("slot_s", "store_post_s", "finish_s"))))
    print("web workers' peak RSS growth, 8 concurrent direct uploads: "
          + ", ".join(f"{g:.1f} MiB" for g in report["web_worker_peak_rss_growth_mib_8_concurrent"]))
