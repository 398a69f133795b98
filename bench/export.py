"""Export benchmark: the ZIP of one employee with 200 proofs (about 100 MB), streamed through the app's route
in this process, against reading the same objects straight from the store; interleaved repetitions, median and
range; and the serving process's peak RSS growth (VmHWM from /proc, reset before each export) against its
50 MB budget, with a control that holds the same ZIP in memory to show the gauge sees it. The S3 server is
moto on a loopback port, or Ceph RGW with TEST_S3=ceph. Figures and how to read them: docs/benchmarks.md."""
import hashlib
import io
import os
import re
import statistics
import sys
import tempfile
import time
import uuid

from .common import s3_endpoint, write_results
from .upload import _reset_peak, _status_kib, build_app

FULL = {"proofs": 200, "bytes": 500_000, "repeat": 5}
SMOKE = {"proofs": 10, "bytes": 50_000, "repeat": 1}
PER_REQUEST = 5
BUDGET_MIB = 50


def seed(proofs, size):
    """An owner and an employee with `proofs` stored files (random, so nothing compresses) in requests of 5."""
    from datetime import timedelta

    from portal.extensions import db
    from portal.media import keys, storage
    from portal.models import MediaObject, Shift, ShiftCancellation, User, utcnow

    owner = User(email=f"o{uuid.uuid4().hex[:8]}@bench", display_name="Owner", role="owner",
                 business_name="Bench", password_hash="x")
    db.session.add(owner)
    db.session.flush()
    owner.owner_id = owner.id
    employee = User(email=f"e{uuid.uuid4().hex[:8]}@bench", display_name="Employee", role="employee",
                    owner_id=owner.id, password_hash="x")
    db.session.add(employee)
    db.session.flush()
    now = utcnow()
    for first in range(0, proofs, PER_REQUEST):
        shift = Shift(owner_id=owner.id, employee_id=employee.id, starts_at=now + timedelta(days=first),
                      ends_at=now + timedelta(days=first, hours=8), title="Bench", status="cancellation_requested")
        db.session.add(shift)
        db.session.flush()
        request = ShiftCancellation(owner_id=owner.id, shift_id=shift.id, employee_id=employee.id, reason="bench",
                                    submitted_at=now)
        db.session.add(request)
        db.session.flush()
        for number in range(first, min(first + PER_REQUEST, proofs)):
            data, media_uuid = os.urandom(size), keys.new_uuid()
            key = keys.media_key("shift_cancellation", owner.id, shift.id, media_uuid, "image/jpeg")
            stored = storage().put(key, io.BytesIO(data), content_type="image/jpeg", metadata={})
            db.session.add(MediaObject(uuid=media_uuid, status="ready", owner_id=owner.id,
                                       context="shift_cancellation", subject_id=request.id, shift_id=shift.id,
                                       storage_key=key, version_id=stored.version_id, content_type="image/jpeg",
                                       size=size, sha256=hashlib.sha256(data).hexdigest(),
                                       original_filename=f"справка {number}.jpg", uploaded_by_id=employee.id,
                                       uploader_role="employee", uploaded_at=now))
    db.session.commit()
    return employee


def signed_in_client(app, user):
    """A test client holding the user's session (as Flask-Login keeps it) and the CSRF token of their page."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user.session_token
        session["_fresh"] = True
    page = client.get("/my-data/").get_data(as_text=True)
    return client, re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def export_once(client, token, employee_id):
    """POST the export and read the streamed answer chunk by chunk, keeping none: (seconds, bytes, peak MiB)."""
    _reset_peak()
    baseline = _status_kib("VmRSS")
    started = time.perf_counter()
    response = client.post(f"/exports/people/{employee_id}", data={"csrf_token": token}, buffered=False)
    assert response.status_code == 200, response.status_code
    size = 0
    for piece in response.response:
        size += len(piece)
    response.close()
    seconds = time.perf_counter() - started
    return seconds, size, (_status_kib("VmHWM") - baseline) / 1024


def held_in_memory(client, token, employee_id):
    """The gauge's control: peak RSS growth (MiB) when the same ZIP is held whole in memory (the client buffers
    it), which is what building it in memory would cost at least."""
    _reset_peak()
    baseline = _status_kib("VmRSS")
    response = client.post(f"/exports/people/{employee_id}", data={"csrf_token": token}, buffered=True)
    held = len(response.get_data())
    growth = (_status_kib("VmHWM") - baseline) / 1024
    assert held and response.status_code == 200
    return growth


def read_store(employee_id):
    """Read every proof of the employee straight from the store in the same chunks: the floor for the export."""
    from portal.extensions import db
    from portal.media import storage
    from portal.models import MediaObject

    started = time.perf_counter()
    keys = db.session.execute(db.select(MediaObject.storage_key).where(MediaObject.uploaded_by_id == employee_id)
                              ).scalars().all()
    for key in keys:
        body = storage().open(key)
        while body.read(256 * 1024):
            pass
        body.close()
    return time.perf_counter() - started


def _summary(samples):
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "n": len(samples)}


def run(smoke=False):
    shape = SMOKE if smoke else FULL
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")
    with s3_endpoint() as (endpoint, server, credentials), tempfile.TemporaryDirectory() as workdir:
        app = build_app(endpoint, workdir, redis_url, credentials)
        with app.app_context():
            employee = seed(shape["proofs"], shape["bytes"])
            employee_id = employee.id
            client, token = signed_in_client(app, employee)
            warm = export_once(client, token, employee_id)[2]  # the first: imports, connections, pools
            exports, reads, rss, sizes = [], [], [], []
            for _ in range(shape["repeat"]):
                reads.append(read_store(employee_id))
                seconds, size, peak = export_once(client, token, employee_id)
                exports.append(seconds)
                rss.append(peak)
                sizes.append(size)
            control = held_in_memory(client, token, employee_id)
    report = {"server": server, "proofs": shape["proofs"], "proof_bytes": shape["bytes"], "zip_bytes": sizes[-1],
              "repeat": shape["repeat"], "export_s": _summary(exports), "store_read_s": _summary(reads),
              "ratio": _summary([e / r for e, r in zip(exports, reads)]), "rss_growth_mib": _summary(rss),
              "first_export_rss_growth_mib": warm, "control_held_in_memory_mib": control, "budget_mib": BUDGET_MIB}
    _print(report)
    if not smoke:
        write_results(f"export-{server}.json", report)
    if max(rss) >= BUDGET_MIB:
        raise SystemExit(f"peak RSS growth {max(rss):.1f} MiB is over the {BUDGET_MIB} MiB budget")
    return report


def _print(report):
    e, r, q, m = report["export_s"], report["store_read_s"], report["ratio"], report["rss_growth_mib"]
    print(f"S3 server: {report['server']}; {report['proofs']} proofs of {report['proof_bytes']} bytes, ZIP "
          f"{report['zip_bytes'] / 1048576:.1f} MiB; {report['repeat']} interleaved repetitions (median [min-max])")
    print(f"export {e['median']:.2f}s [{e['min']:.2f}-{e['max']:.2f}]; reading the objects alone "
          f"{r['median']:.2f}s [{r['min']:.2f}-{r['max']:.2f}]; "
          f"ratio {q['median']:.2f} [{q['min']:.2f}-{q['max']:.2f}]")
    print(f"peak RSS growth of the serving process {m['median']:.1f} MiB [{m['min']:.1f}-{m['max']:.1f}] "
          f"(budget {report['budget_mib']} MiB); first export {report['first_export_rss_growth_mib']:.1f} MiB; "
          f"control, the ZIP held in memory: {report['control_held_in_memory_mib']:.1f} MiB")
    sys.stdout.flush()
