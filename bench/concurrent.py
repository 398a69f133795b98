"""50 concurrent uploads through gunicorn and RQ workers on PostgreSQL, against 50 concurrent raw puts of the
same bytes to the same S3 server; interleaved repetitions, then the median and range of the p95 ratio.

Real parts only: gunicorn (gunicorn.conf.py, the app's own settings) on a free loopback port, `flask queue
worker` processes on BENCH_REDIS_URL, PostgreSQL at BENCH_DATABASE_URL, moto's S3 server (Ceph RGW with
TEST_S3=ceph). Each upload is what htmx sends: a signed-in employee's multipart POST with its CSRF token.
After every repetition the run checks that every upload was answered 200, that every row became ready, that
the bucket holds exactly the rows' files and thumbnails (no incoming/ leftovers, no object without a row),
then empties the bucket (every version) so the S3 server's memory stays flat.
"""
import http.client
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid

from .common import ROOT, empty_bucket, s3_endpoint, write_results
from .upload import build_app, jpeg, subject

CONCURRENT = 50
BOUNDARY = "bench" + uuid.uuid4().hex


def _p95(samples):
    """Nearest-rank 95th percentile."""
    ordered = sorted(samples)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def _free_port():
    from tests.s3_server import free_port

    return free_port()


def _server_env(app, port, redis_url):
    config = app.config
    return dict(os.environ, PORTAL_ENV="development", PORTAL_DOTENV="none", SECRET_KEY=config["SECRET_KEY"],
                DATABASE_URL=config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=redis_url,
                RATELIMIT_STORAGE_URI=redis_url, MEDIA_STORAGE_PROVIDER="s3",
                MEDIA_STORAGE_ENDPOINT=config["MEDIA_STORAGE_ENDPOINT"],
                MEDIA_STORAGE_BUCKET=config["MEDIA_STORAGE_BUCKET"],
                MEDIA_STORAGE_ACCESS_KEY=config["MEDIA_STORAGE_ACCESS_KEY"],
                MEDIA_STORAGE_SECRET_KEY=config["MEDIA_STORAGE_SECRET_KEY"], MEDIA_MAX_FILES="100000",
                MEDIA_MAX_IMAGE_PIXELS="50000000", GUNICORN_BIND=f"127.0.0.1:{port}")


def start_services(app, redis_url, workers):
    """gunicorn and `workers` RQ workers, as compose runs them; returns their processes."""
    from tests.s3_server import wait_for_http

    port = _free_port()
    env = _server_env(app, port, redis_url)
    bin_dir = os.path.dirname(sys.executable)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": ROOT, "env": env}
    processes = [subprocess.Popen([os.path.join(bin_dir, "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
                                  **quiet)]
    processes += [subprocess.Popen([os.path.join(bin_dir, "flask"), "queue", "worker"], **quiet)
                  for _ in range(workers)]
    wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=60)
    return port, processes


def stop_services(processes):
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def signed_in(app, session_token):
    """(cookie header, CSRF token) of a session signed in with this session token, as the login view leaves it.

    Each in its own app context: Flask-WTF keeps the token of a context in `g`."""
    from flask import session
    from flask_wtf.csrf import generate_csrf

    with app.test_request_context():
        session["_user_id"] = session_token
        session["_fresh"] = True
        token = generate_csrf()
        signed = app.session_interface.get_signing_serializer(app).dumps(dict(session))
    return f"{app.config['SESSION_COOKIE_NAME']}={signed}", token


def _multipart(token, data):
    head = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="proofs"; filename="photo.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n").encode()
    return head + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def upload(port, cancellation_id, cookie, token, data):
    """One htmx upload; (status, seconds from the first byte sent to the whole answer read)."""
    body = _multipart(token, data)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.connect()
        started = time.perf_counter()
        connection.request("POST", f"/cancellations/{cancellation_id}/proofs", body=body, headers={
            "Cookie": cookie, "HX-Request": "true", "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
        answer = connection.getresponse()
        answer.read()
        return answer.status, time.perf_counter() - started
    finally:
        connection.close()


def _at_once(count, action):
    """Run action(i) in `count` threads released together; their results in order."""
    barrier, results = threading.Barrier(count), [None] * count

    def one(index):
        barrier.wait()
        try:
            results[index] = action(index)
        except Exception as error:  # a failed call is a result to report, not a crash of the run
            results[index] = (repr(error), None)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def raw_puts(client, bucket, data, count):
    def put(_):
        started = time.perf_counter()
        client.put_object(Bucket=bucket, Key=f"raw/{uuid.uuid4()}", Body=data, ContentType="image/jpeg")
        return 200, time.perf_counter() - started

    return _at_once(count, put)


def subjects(app, count):
    """`count` employees, each with a pending request and a signed-in session."""
    with app.app_context():
        people = []
        for _ in range(count):
            employee, cancellation = subject()
            people.append((cancellation.id, employee.session_token))
    return [(cancellation_id, *signed_in(app, token)) for cancellation_id, token in people]


def _jobs_left(app):
    """Jobs queued, running or waiting for a retry: a job deletes its incoming object after its final commit."""
    from rq.registry import ScheduledJobRegistry, StartedJobRegistry

    queue = app.extensions["queue"]
    return queue.count + len(StartedJobRegistry(queue=queue)) + len(ScheduledJobRegistry(queue=queue))


def wait_until_processed(app, cancellation_ids, seconds=600):
    """The rows of these requests once none is processing and no job is left (or the deadline passed)."""
    from portal.extensions import db
    from portal.models import MediaObject

    deadline = time.monotonic() + seconds
    with app.app_context():
        while True:
            rows = db.session.execute(db.select(MediaObject.status, MediaObject.storage_key,
                                                MediaObject.thumbnail_key)
                                      .where(MediaObject.subject_id.in_(cancellation_ids))).all()
            db.session.rollback()
            done = all(row.status != "processing" for row in rows) and not _jobs_left(app)
            if done or time.monotonic() > deadline:
                return rows
            time.sleep(0.2)


def check(answers, rows, keys, count):
    """What must hold after a round: every answer 200, one ready row per upload, objects = rows' files."""
    problems = []
    failed = [status for status, _ in answers if status != 200]
    if failed:
        problems.append(f"{len(failed)} uploads failed: {sorted(set(map(str, failed)))}")
    ready = [row for row in rows if row.status == "ready"]
    if len(rows) != count or len(ready) != count:
        problems.append(f"{len(rows)} rows for {count} uploads, {len(ready)} ready")
    expected = {key for row in ready for key in (row.storage_key, row.thumbnail_key)}
    stored = {key for key in keys if not key.startswith("raw/")}
    if stored - expected:
        problems.append(f"objects without a row: {sorted(stored - expected)[:5]}")
    if expected - stored:
        problems.append(f"rows without their objects: {sorted(expected - stored)[:5]}")
    return problems


def _keys(client, bucket):
    return [item["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for item in page.get("Contents", [])]


def one_round(app, port, client, bucket, data, count):
    """Raw puts and uploads, `count` at once each; then the checks. Returns the two p95s and what went wrong."""
    people = subjects(app, count)
    raw = raw_puts(client, bucket, data, count)
    started = time.perf_counter()
    answers = _at_once(count, lambda i: upload(port, people[i][0], people[i][1], people[i][2], data))
    rows = wait_until_processed(app, [person[0] for person in people])
    processed_s = time.perf_counter() - started
    problems = check(answers, rows, _keys(client, bucket), count)
    problems += [f"raw put failed: {status}" for status, _ in raw if status != 200]
    empty_bucket(client, bucket)
    request_times = [s for _, s in answers if s is not None] or [float("nan")]
    request_p95 = _p95(request_times)
    raw_p95 = _p95([s for _, s in raw if s is not None] or [float("nan")])
    return {"raw_p95_s": raw_p95, "request_p95_s": request_p95, "ratio": request_p95 / raw_p95,
            "request_median_s": statistics.median(request_times), "load_average_1m": os.getloadavg()[0],
            "all_processed_s": processed_s, "problems": problems}


def _summary(samples):
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "n": len(samples)}


def run(smoke=False):
    import boto3
    import redis
    from botocore.config import Config

    if not os.environ.get("BENCH_DATABASE_URL", "").startswith("postgresql"):
        raise SystemExit("the concurrent benchmark runs on PostgreSQL: set BENCH_DATABASE_URL=postgresql://...")
    repeat = 1 if smoke else int(os.environ.get("BENCH_REPEAT", "5"))
    workers = int(os.environ.get("BENCH_WORKERS", "2"))
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")
    redis.Redis.from_url(redis_url).flushdb()
    # a phone photo as sent after the browser's resize, with an EXIF orientation: smaller in the smoke run
    data = jpeg((800, 600), 6, target=100_000) if smoke else jpeg((3000, 2250), 6, target=1_500_000)
    with s3_endpoint() as (endpoint, server, credentials):
        app = build_app(endpoint, None, redis_url, credentials)
        bucket = app.config["MEDIA_STORAGE_BUCKET"]
        client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=credentials[0],
                              aws_secret_access_key=credentials[1], region_name="us-east-1",
                              config=Config(max_pool_connections=CONCURRENT + 10, s3={"addressing_style": "path"}))
        if server == "ceph":
            # scripts/ceph-s3.sh makes a lifecycle "day" 10 s long, so the bucket's expire-incoming rule would
            # delete incoming objects while their jobs wait in the backlog of 50: measure uploads, not that rule
            client.delete_bucket_lifecycle(Bucket=bucket)
        port, processes = start_services(app, redis_url, workers)
        try:
            one_round(app, port, client, bucket, data, 5)  # warm-up: imports, connections, templates
            rounds = [one_round(app, port, client, bucket, data, CONCURRENT) for _ in range(repeat)]
        finally:
            stop_services(processes)
            empty_bucket(client, bucket)
        redis.Redis.from_url(redis_url).flushdb()
    report = {"server": server, "repeat": repeat, "concurrent": CONCURRENT, "workers": workers,
              "worker_nice": int(os.environ.get("QUEUE_WORKER_NICE", "10")),
              "gunicorn": {"workers": int(os.environ.get("GUNICORN_WORKERS", "3")),
                           "threads": int(os.environ.get("GUNICORN_THREADS", "4"))},
              "bytes": len(data), "cpus": os.cpu_count(), "rounds": rounds,
              "ratio": _summary([r["ratio"] for r in rounds]),
              "request_p95_s": _summary([r["request_p95_s"] for r in rounds]),
              "raw_p95_s": _summary([r["raw_p95_s"] for r in rounds]),
              "all_processed_s": _summary([r["all_processed_s"] for r in rounds])}
    _print(report)
    problems = [p for r in rounds for p in r["problems"]]
    if problems:
        raise SystemExit("concurrent uploads went wrong: " + "; ".join(problems))
    if not smoke:
        write_results(f"concurrent-{server}.json", report)
    return report


def _print(report):
    ratio, request, raw = report["ratio"], report["request_p95_s"], report["raw_p95_s"]
    print(f"S3 server: {report['server']}; {report['concurrent']} concurrent uploads of {report['bytes']} bytes "
          f"through gunicorn ({report['gunicorn']['workers']}x{report['gunicorn']['threads']}) and "
          f"{report['workers']} RQ workers at nice {report['worker_nice']}; {report['repeat']} rounds (median [min-max])")
    print(f"p95 upload {request['median'] * 1000:.0f} ms [{request['min'] * 1000:.0f}-{request['max'] * 1000:.0f}]; "
          f"p95 raw put {raw['median'] * 1000:.0f} ms [{raw['min'] * 1000:.0f}-{raw['max'] * 1000:.0f}]; "
          f"ratio {ratio['median']:.2f} [{ratio['min']:.2f}-{ratio['max']:.2f}]; all processed after "
          f"{report['all_processed_s']['median']:.1f} s; 1-minute load average "
          f"{statistics.median(r['load_average_1m'] for r in report['rounds']):.1f} on {report['cpus']} CPUs")
    sys.stdout.flush()
