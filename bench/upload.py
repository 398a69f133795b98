"""Upload benchmark: the request path and the processing job of a proof against a raw boto3 put of the same
bytes to the same S3 server, interleaved in one run; and the peak RSS (from /proc) of a web worker and of a
processing work-horse with 8 concurrent 10 MB rotated photos.

The S3 server is moto on a loopback port, or Ceph RGW with TEST_S3=ceph (scripts/ceph-s3.sh up), or with
BENCH_LINK_MBIT=N moto across a link paced at N Mbit/s each way (bench/link.py; root and iproute2). The queue is
RQ on BENCH_REDIS_URL (default redis://127.0.0.1:6379/3; the bench flushes that database), so the request
path ends where the job is queued; the job is then timed on its own from its start to its row ready.
"""
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import traceback
import uuid

from .common import ROOT, empty_bucket, ensure_database, s3_endpoint, write_results

PAYLOADS = ("jpeg 5 MB upright", "jpeg 5 MB rotated", "png 2 MB screenshot", "pdf 300 KB")


def _noise_photo(size, seed):
    """A photo-like JPEG: smooth gradients with noise, so it compresses like a camera's (about 5 MB at 4000x3000)."""
    from PIL import Image, ImageFilter

    noise = Image.effect_noise(size, 60).convert("RGB")
    gradient = Image.linear_gradient("L").resize(size).convert("RGB")
    return Image.blend(noise.filter(ImageFilter.GaussianBlur(1)), gradient, 0.35 + seed * 0.01)


def jpeg(size, orientation=1, target=5_000_000):
    """A JPEG near target bytes, with a camera-like EXIF block (orientation, maker, GPS)."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "BenchPhone"
    exif.get_ifd(0x8825).update({1: "N", 2: (55.0, 45.0, 21.0)})
    picture = _noise_photo(size, orientation)
    for quality in (95, 90, 85, 80, 70):
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=quality, exif=exif.tobytes())
        if buffer.tell() <= target * 1.1:
            break
    return buffer.getvalue()


def png_screenshot():
    """A 2 MB-class PNG: a phone screenshot with text-like noise."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1290, 2796), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    for row in range(0, 2796, 18):
        draw.text((20, row), f"{uuid.uuid4().hex} {row} shift note " * 2, fill=(row % 200, 40, 90))
    noise = Image.effect_noise((1290, 2796), 25).convert("RGB")
    image = Image.blend(image, noise, 0.12)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def pdf_scan():
    """A 300 KB-class scanned page as PDF."""
    from PIL import Image

    page = _noise_photo((1240, 1754), 3).convert("L")
    buffer = io.BytesIO()
    page.save(buffer, "PDF", resolution=150, quality=60)
    return buffer.getvalue()


def payloads():
    return {"jpeg 5 MB upright": jpeg((4000, 3000), 1), "jpeg 5 MB rotated": jpeg((4000, 3000), 6),
            "png 2 MB screenshot": png_screenshot(), "pdf 300 KB": pdf_scan()}


def build_app(endpoint, workdir, redis_url, credentials):
    from portal import create_app

    database = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{workdir}/bench.db")
    if database.startswith("postgresql"):
        ensure_database(database)  # a fresh machine has only `test`
    app = create_app({"SQLALCHEMY_DATABASE_URI": database,
                      "SECRET_KEY": uuid.uuid4().hex * 2, "MEDIA_STORAGE_PROVIDER": "s3",
                      "MEDIA_STORAGE_ENDPOINT": endpoint, "MEDIA_STORAGE_BUCKET": f"bench-{uuid.uuid4().hex[:12]}",
                      "MEDIA_STORAGE_ACCESS_KEY": credentials[0], "MEDIA_STORAGE_SECRET_KEY": credentials[1],
                      "MEDIA_STORAGE_READ_TIMEOUT": 30, "MEDIA_MAX_FILES": 100_000, "REDIS_URL": redis_url,
                      "MEDIA_MAX_IMAGE_PIXELS": 50_000_000}, profile="testing")
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        app.extensions["media_storage"].setup(app.config)
    return app


def subject():
    """An owner, an employee, a shift and a sent cancellation request to attach proofs to."""
    from datetime import timedelta

    from portal.extensions import db
    from portal.models import Shift, ShiftCancellation, User, utcnow

    owner = User(email=f"o{uuid.uuid4().hex}@bench", display_name="O", role="owner", business_name="Bench",
                 password_hash="x")
    db.session.add(owner)
    db.session.flush()
    owner.owner_id = owner.id
    employee = User(email=f"e{uuid.uuid4().hex}@bench", display_name="E", role="employee", owner_id=owner.id,
                    password_hash="x")
    db.session.add(employee)
    db.session.flush()
    start = utcnow() + timedelta(days=1)
    shift = Shift(owner_id=owner.id, employee_id=employee.id, starts_at=start, ends_at=start + timedelta(hours=8),
                  title="Bench", status="cancellation_requested")
    db.session.add(shift)
    db.session.flush()
    cancellation = ShiftCancellation(owner_id=owner.id, shift_id=shift.id, employee_id=employee.id, reason="bench",
                                     submitted_at=utcnow())
    db.session.add(cancellation)
    db.session.commit()
    return employee, cancellation


def request_path(cancellation, employee, data, name):
    """What the web request does: check the upload, put it under incoming/ while the room is counted and its row
    inserted, commit the row, queue its job."""
    import sqlalchemy as sa

    from portal import cancellations
    from portal.media import orchestrator
    from portal.media.orchestrator import Upload

    spooled = tempfile.SpooledTemporaryFile(max_size=500 * 1024)  # as werkzeug's parser fills it, in chunks
    view = memoryview(data)
    for start in range(0, len(data), 64 * 1024):
        spooled.write(view[start:start + 64 * 1024])
    spooled.seek(0)
    checked = orchestrator().check(Upload(spooled, name))
    [row] = cancellations.add_proofs(cancellation, [checked], actor=employee)
    return sa.inspect(row).identity[0]  # row.id would load the committed row again: not the request's work


def _summary(samples):
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "n": len(samples)}


class _ReadyClock:
    """When the job's row became ready: the job drops its incoming object right after its final commit, so
    the call to drop_incoming marks that moment (the job then goes on to delete the incoming object)."""

    def __init__(self):
        from portal.media.orchestrator import MediaOrchestrator

        self.at, real = None, MediaOrchestrator.drop_incoming

        def drop_incoming(media, row):
            self.at = time.perf_counter()
            return real(media, row)

        MediaOrchestrator.drop_incoming = drop_incoming


def timings(app, files, repeat):
    """Interleaved: for each repetition and payload, a raw put, the request path, then the job."""
    from portal import cancellations
    from portal.extensions import db
    from portal.media import storage

    employee, cancellation = subject()
    client, bucket = storage()._client(), app.config["MEDIA_STORAGE_BUCKET"]
    raw, request, ready, job = ({name: [] for name in files} for _ in range(4))
    clock = _ReadyClock()
    for round_ in range(repeat + 1):  # round 0 warms connections and caches up and is not counted
        for name, data in files.items():
            started = time.perf_counter()
            client.put_object(Bucket=bucket, Key=f"raw/{uuid.uuid4()}", Body=data, ContentType="image/jpeg")
            raw_s = time.perf_counter() - started
            started = time.perf_counter()
            media_id = request_path(cancellation, employee, data, name)
            request_s = time.perf_counter() - started
            clock.at, started = None, time.perf_counter()
            cancellations.process_proof(media_id)
            job_s = time.perf_counter() - started
            db.session.expire_all()
            if round_:
                raw[name].append(raw_s)
                request[name].append(request_s)
                ready[name].append(clock.at - started)
                job[name].append(job_s)
    app.extensions["queue"].connection.flushdb()
    results = []
    for name, data in files.items():
        def ratios(samples):
            return _summary([s / p for s, p in zip(samples, raw[name])])

        results.append({"payload": name, "bytes": len(data), "raw_put_s": _summary(raw[name]),
                        "request_s": _summary(request[name]), "processing_s": _summary(ready[name]),
                        "job_s": _summary(job[name]), "request_ratio": ratios(request[name]),
                        "processing_ratio": ratios(ready[name]), "job_ratio": ratios(job[name])})
    return results


def _status_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak():
    """Make VmHWM start again from the current RSS (Linux: write 5 to clear_refs)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def web_worker_rss(files, concurrent=8):
    """Peak RSS growth (MiB) of this process while `concurrent` threads run the request path at once."""
    import sqlalchemy as sa
    from flask import current_app

    from portal.extensions import db
    from portal.models import ShiftCancellation, User

    app = current_app._get_current_object()
    employee, cancellation = subject()
    request_path(cancellation, employee, files[0], "warm.jpg")  # imports, connections, caches
    _reset_peak()
    baseline = _status_kib("VmRSS")
    barrier, failures = threading.Barrier(concurrent), []
    ids = sa.inspect(cancellation).identity[0], sa.inspect(employee).identity[0]

    def one(data):
        # each thread its own session and its own copies of the rows: an object of the main thread's session
        # would refresh itself through that session from eight threads at once
        with app.app_context():
            mine = db.session.get(ShiftCancellation, ids[0]), db.session.get(User, ids[1])
            barrier.wait()
            try:
                request_path(*mine, data, "photo.jpg")
            except Exception as error:  # reported after the join: a figure from fewer uploads is no figure
                failures.append(error)
            db.session.remove()

    threads = [threading.Thread(target=one, args=(files[i % len(files)],)) for i in range(concurrent)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} of {concurrent} concurrent uploads failed: {failures[0]!r}")
    return (_status_kib("VmHWM") - baseline) / 1024


def processing_rss(files, concurrent=8):
    """Peak RSS growth (MiB) of each of `concurrent` forked work-horses processing one photo each at once."""
    from flask import current_app

    from portal import cancellations
    from portal.extensions import db
    from portal.media import storage

    employee, cancellation = subject()
    ids = [request_path(cancellation, employee, files[i % len(files)], "photo.jpg") for i in range(concurrent)]
    warm = request_path(cancellation, employee, files[0], "warm.jpg")
    cancellations.process_proof(warm)  # the parent has everything imported, as an RQ worker does
    db.session.remove()
    db.engine.dispose()
    # and, as an RQ worker's parent, a built store client with no connection open: a keep-alive connection the
    # warm job left would be inherited by every work-horse, which would then write their requests into it at
    # once (Ceph RGW refused such mixed-up bodies as XAmzContentSHA256Mismatch; moto does not check)
    app = current_app._get_current_object()
    app.extensions["media_storage"] = type(storage()).from_settings(app.config)
    storage().warm_up()
    pipes = []
    for media_id in ids:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # a work-horse: one job, then exit (never back into the parent's code)
            try:
                os.close(read)
                _reset_peak()
                baseline = _status_kib("VmRSS")
                cancellations.process_proof(media_id)
                os.write(write, str((_status_kib("VmHWM") - baseline) / 1024).encode())
            except BaseException:
                traceback.print_exc()
                os._exit(1)
            os._exit(0)
        os.close(write)
        pipes.append((pid, read))
    growth, failed = [], 0
    for pid, read in pipes:
        failed += os.waitpid(pid, 0)[1] != 0
        growth.append(float(os.read(read, 64) or b"nan"))
        os.close(read)
    if failed:  # a figure from fewer jobs is no figure
        raise RuntimeError(f"{failed} of {concurrent} work-horses failed (their tracebacks are above)")
    return growth


def run(smoke=False):
    import redis

    repeat = 1 if smoke else int(os.environ.get("BENCH_REPEAT", "9"))
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")
    redis.Redis.from_url(redis_url).flushdb()
    link = os.environ.get("BENCH_LINK_MBIT")  # moto across a paced link instead of loopback (bench/link.py)
    if link:
        from .link import moto_behind_link

        store = moto_behind_link(float(link))
    else:
        store = s3_endpoint()
    with store as (endpoint, server, credentials), tempfile.TemporaryDirectory() as workdir:
        app = build_app(endpoint, workdir, redis_url, credentials)
        files = payloads()
        with app.app_context():
            results = timings(app, files, repeat)
            big = [jpeg((5000, 4000), 6, target=10_000_000) for _ in range(2)]
            rss = {"web_worker_mib": web_worker_rss(big), "work_horse_mib": processing_rss(big),
                   "file_mib": len(big[0]) / 1048576}
            from portal.media import storage

            empty_bucket(storage()._client(), app.config["MEDIA_STORAGE_BUCKET"])  # a test gateway's store is small
        redis.Redis.from_url(redis_url).flushdb()
    report = {"server": server, "link_mbit": float(link) if link else None, "repeat": repeat, "results": results,
              "rss_8_concurrent_rotated_10mb": rss}
    _print(report)
    if not smoke:
        write_results(f"upload-{server}{f'-link-{link}mbit' if link else ''}.json", report)
    return report


def _print(report):
    across = f" across a {report['link_mbit']:g} Mbit/s link" if report.get("link_mbit") else " on loopback"
    print(f"S3 server: {report['server']}{across}, {report['repeat']} interleaved repetitions (median [min-max])")
    print(f"{'payload':<22} {'bytes':>9} {'raw put':>9} {'request/raw':>20} {'start-ready/raw':>20} "
          f"{'whole job/raw':>20}")
    for r in report["results"]:
        print(f"{r['payload']:<22} {r['bytes']:>9} {r['raw_put_s']['median'] * 1000:>7.1f}ms " + " ".join(
            f"{x['median']:>9.2f} [{x['min']:.2f}-{x['max']:.2f}]"
            for x in (r["request_ratio"], r["processing_ratio"], r["job_ratio"])))
    rss = report["rss_8_concurrent_rotated_10mb"]
    print(f"peak RSS growth, 8 concurrent {rss['file_mib']:.1f} MiB rotated photos: web worker "
          f"{rss['web_worker_mib']:.1f} MiB; work-horses {max(rss['work_horse_mib']):.1f} MiB at most "
          f"({', '.join(f'{g:.1f}' for g in rss['work_horse_mib'])})")
    sys.stdout.flush()


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
