"""Upload benchmark: the portal's store of a proof against a raw boto3 put of the same bytes to the same server.

Starts moto's S3 server on a loopback port, builds the app on a temporary SQLite database, and times, for each
payload, (a) boto3.put_object of the bytes, (b) MediaOrchestrator.store_cancellation_proof (validate, sniff,
strip metadata, thumbnail, two puts, two commits) and (c) the whole HTTP form POST through Flask. Prints the
median times and the ratios to (a), and the peak Python memory of one store as a multiple of the payload."""
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["PORTAL_DOTENV"] = "none"
REPEAT = int(os.environ.get("BENCH_REPEAT", "15"))
SMOKE = False  # one repetition of one payload, for CI: does it still run, not how fast


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto():
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("moto did not start")


def payloads():
    """A phone photo, a big photo and a scanned PDF, made here."""
    from PIL import Image, ImageDraw

    def photo(size):
        image = Image.new("RGB", size, (235, 230, 220))
        draw = ImageDraw.Draw(image)
        for row in range(0, size[1], 24):
            draw.line((0, row, size[0], row + 12), fill=(row % 255, 90, 140), width=3)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        return buffer.getvalue()

    scan = Image.new("RGB", (1240, 1754), (255, 255, 255))
    ImageDraw.Draw(scan).rectangle((100, 100, 1100, 300), fill=(30, 60, 200))
    pdf = io.BytesIO()
    scan.save(pdf, "PDF")
    return {"photo 1600x1200": photo((1600, 1200)), "photo 4000x3000": photo((4000, 3000)), "pdf scan": pdf.getvalue()}


def build_app(endpoint, workdir):
    from portal import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir}/bench.db", "SECRET_KEY": "b" * 40,
                      "MEDIA_STORAGE_PROVIDER": "s3", "MEDIA_STORAGE_ENDPOINT": endpoint,
                      "MEDIA_STORAGE_BUCKET": "bench", "MEDIA_STORAGE_ACCESS_KEY": "x", "MEDIA_STORAGE_SECRET_KEY": "x",
                      "WTF_CSRF_ENABLED": False}, profile="testing")
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        app.extensions["media_storage"].setup(app.config)
    return app


def subject(app):
    from datetime import timedelta

    from portal.extensions import db
    from portal.models import Shift, ShiftCancellation, User, utcnow

    owner = User(email="o@bench", display_name="O", role="owner", business_name="Bench", password_hash="x")
    db.session.add(owner)
    db.session.flush()
    owner.owner_id = owner.id
    employee = User(email="e@bench", display_name="E", role="employee", owner_id=owner.id, password_hash="x")
    db.session.add(employee)
    db.session.flush()
    start = utcnow() + timedelta(days=1)
    shift = Shift(owner_id=owner.id, employee_id=employee.id, starts_at=start, ends_at=start + timedelta(hours=8),
                  title="Bench")
    db.session.add(shift)
    db.session.flush()
    # submitted, as a request is once its first proofs are stored: proofs can be added only to such a request
    cancellation = ShiftCancellation(owner_id=owner.id, shift_id=shift.id, employee_id=employee.id, reason="bench",
                                     submitted_at=utcnow())
    db.session.add(cancellation)
    db.session.commit()
    return employee, cancellation


def timed(action, repeat=None):
    action()  # warm up connections and caches
    samples = []
    for _ in range(repeat or (1 if SMOKE else REPEAT)):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def run_case(app, name, data, employee, cancellation):
    from portal.media import orchestrator, storage
    from portal.media.orchestrator import Upload

    client = storage()._client()
    raw = timed(lambda: client.put_object(Bucket="bench", Key="raw/object", Body=data, ContentType="image/jpeg"))
    store = timed(lambda: orchestrator().store_cancellation_proof(cancellation, Upload(io.BytesIO(data), name),
                                                                  actor=employee))

    web = app.test_client()
    with web.session_transaction() as session:
        session["_user_id"] = str(employee.id)  # signed in as the employee, as Flask-Login keeps it
    url = f"/cancellations/{cancellation.id}/proofs"

    def post():
        response = web.post(url, data={"proofs": (io.BytesIO(data), "proof.jpg")},
                            content_type="multipart/form-data", headers={"HX-Request": "true"})
        assert response.status_code == 200, response.status_code  # a refused upload would time nothing useful

    http = timed(post)
    tracemalloc.start()
    orchestrator().store_cancellation_proof(cancellation, Upload(io.BytesIO(data), name), actor=employee)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"payload": name, "bytes": len(data), "raw_put_ms": raw * 1000, "store_ms": store * 1000,
            "http_ms": http * 1000, "store_ratio": store / raw, "http_ratio": http / raw, "peak_memory_ratio": peak / len(data)}


def main(argv=()):
    """Run the upload benchmark; `--smoke` runs one repetition of the smallest payload."""
    global SMOKE
    SMOKE = "--smoke" in argv
    cases = payloads()
    if SMOKE:
        cases = {name: data for name, data in cases.items() if name == "pdf scan"}
    process, endpoint = start_moto()
    try:
        with tempfile.TemporaryDirectory() as workdir:
            app = build_app(endpoint, workdir)
            with app.app_context():
                employee, cancellation = subject(app)
                results = [run_case(app, name, data, employee, cancellation) for name, data in cases.items()]
    finally:
        process.terminate()
    print(f"{'payload':<18} {'bytes':>9} {'raw put':>9} {'store':>9} {'HTTP':>9} {'store/raw':>10} {'HTTP/raw':>9} {'peak mem/bytes':>15}")
    for r in results:
        print(f"{r['payload']:<18} {r['bytes']:>9} {r['raw_put_ms']:>7.1f}ms {r['store_ms']:>7.1f}ms {r['http_ms']:>7.1f}ms "
              f"{r['store_ratio']:>10.2f} {r['http_ratio']:>9.2f} {r['peak_memory_ratio']:>15.2f}")
    if SMOKE:
        return  # a smoke run's figures are not results
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "upload.json").write_text(json.dumps(results, indent=1))
