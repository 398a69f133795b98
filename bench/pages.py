"""Page benchmark: every page that reads a business's history, at 1 thousand, 100 thousand and 1 million audit
events (PostgreSQL, seeded by bench/seed.py), 7 interleaved repetitions.

Prints, per page, the median time at each size with its range, the largest ÷ smallest ratio (goal ≤ 2) and the
queries per request; then the CSV export's first byte and the serving process's peak RSS growth, measured over
HTTP against a gunicorn worker (VmHWM from /proc, not tracemalloc). Writes bench/results/pages.json.

    python -m bench pages [--sizes 1000,100000,1000000] [--repeat 7] [--smoke] [--only /shifts/,stats]

BENCH_DATABASE_URL names the PostgreSQL server and a database name prefix (default
postgresql://postgres@127.0.0.1:5432/portal_bench); each size gets its own database, `<prefix>_<size>`,
created when missing and seeded once (a second run reuses it)."""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from . import seed as seeding
from .common import ensure_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["PORTAL_DOTENV"] = "none"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/portal_bench"
SECRET = "bench-secret-" + "x" * 32
OWNER, MANAGER = 1, seeding.BUSINESSES + 1  # business 1 holds 20 % of every table
WITH_REQUESTS, WITHOUT_REQUESTS = "/shifts/ 200 requests x 3 proofs", "/shifts/ 200 shifts, no requests"
CSV_PAGE = "audit CSV export, first byte"


def _settings(url):
    return {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET, "MEDIA_STORAGE_PROVIDER": "local",
            "MEDIA_LOCAL_ROOT": "/tmp/portal-bench-media", "METRICS_ALLOW_NETWORKS": ["127.0.0.0/8"]}


def _database(prefix_url, size):
    """The URL of the size's database, created if missing."""
    base = sa.engine.make_url(prefix_url)
    return ensure_database(base.set(database=f"{base.database}_{size}").render_as_string(hide_password=False))


def prepare(url, size):
    """Migrate the database to head and seed it for `size` unless it already is; return the app."""
    from flask_migrate import upgrade

    from portal import create_app
    from portal.extensions import db

    app = create_app(_settings(url), profile="testing")
    with app.app_context():
        upgrade()
        if seeding.seeded_size(db.engine) != size:
            started = time.perf_counter()
            counts = seeding.seed(db.engine, size)
            print(f"seeded {size:>9,} events: {counts} in {time.perf_counter() - started:.0f} s", flush=True)
        db.engine.dispose()
    return app


def _session_id(app, user_id):
    """What Flask-Login keeps in the session for a user: their session token (portal/auth/sessions.py)."""
    from portal.extensions import db
    from portal.models import User

    with app.app_context():
        return db.session.get(User, user_id).session_token


def _signed_in(app, user_id):
    """A test client whose session cookie says user_id is signed in (as Flask-Login keeps it)."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = _session_id(app, user_id)
        session["_fresh"] = True
    return client


HALFWAY = """
SELECT {time}, id FROM {table} WHERE owner_id = :o {where} ORDER BY {time} DESC, id DESC
OFFSET (SELECT count(*) / 2 FROM {table} WHERE owner_id = :o {where}) LIMIT 1"""


def _cursors(app):
    """Cursors half way back through business 1's log and requests: 100 events deep at 1k, 100,000 at 1M
    (page 2,000 of the old OFFSET pages)."""
    from portal.extensions import db
    from portal.web.paging import encode

    with app.app_context():
        event = db.session.execute(sa.text(HALFWAY.format(time="at", table="audit_events", where="")),
                                   {"o": OWNER}).one()
        request = db.session.execute(sa.text(HALFWAY.format(time="created_at", table="shift_cancellations",
                                                            where="AND submitted_at IS NOT NULL")), {"o": OWNER}).one()
        last = db.session.execute(sa.text("SELECT max(id) FROM shift_cancellations")).scalar()
    return {"audit": encode(*event), "requests": encode(*request),
            "week_shift": last}  # the newest request is on a shift of the week with requests


def pages(app):
    """name -> (who, path or CLI args)."""
    from portal.days import week_bounds

    cursors = _cursors(app)
    next_week = (week_bounds("Europe/Moscow")[0] + timedelta(days=7)).date()
    week_after = next_week + timedelta(days=7)
    return {
        "/audit/": (OWNER, "/audit/"),
        "/audit/ by user": (OWNER, f"/audit/?actor={2 * seeding.BUSINESSES + 1}"),
        "/audit/ by action": (OWNER, "/audit/?action=media.download"),
        "/audit/ half way back": (OWNER, f"/audit/?before={cursors['audit']}"),
        "/cancellations/": (MANAGER, "/cancellations/"),
        "/cancellations/ approved": (MANAGER, "/cancellations/?status=approved"),
        "/cancellations/ half way back": (MANAGER, f"/cancellations/?before={cursors['requests']}"),
        "/storage/": (OWNER, "/storage/"),
        "/metrics": (None, "/metrics"),
        "media API": (MANAGER, f"/api/shifts/{cursors['week_shift']}/media"),
        WITH_REQUESTS: (MANAGER, f"/shifts/?week={next_week.isoformat()}"),
        WITHOUT_REQUESTS: (MANAGER, f"/shifts/?week={week_after.isoformat()}"),
        "flask media stats --json": (None, ["media", "stats", "--json"]),
        CSV_PAGE: (OWNER, "/audit/export.csv"),
    }


class Target:
    """One size: its app, its signed-in clients and a statement counter."""

    def __init__(self, app, only=()):
        from portal.extensions import db

        self.app, self.queries, self.page_bytes = app, 0, {}
        self.clients = {who: _signed_in(app, who) for who in (OWNER, MANAGER)}
        self.clients[None] = app.test_client()
        with app.app_context():
            sa.event.listen(db.engine, "before_cursor_execute", self._count)
        self.pages = {name: page for name, page in pages(app).items() if not only or any(o in name for o in only)}

    def _count(self, *args):
        self.queries += 1

    def run(self, name):
        """Request one page; return (seconds, queries)."""
        who, path = self.pages[name]
        self.queries = 0
        started = time.perf_counter()
        if isinstance(path, list):
            result = self.app.test_cli_runner().invoke(args=path)
            assert result.exit_code == 0, result.output
        elif name.endswith("first byte"):  # the whole file grows with the log: measured over HTTP, below
            response = self.clients[who].get(path, buffered=False)
            assert response.status_code == 200 and next(response.iter_encoded()), name
            elapsed = time.perf_counter() - started
            response.close()
            return elapsed, self.queries
        else:
            response = self.clients[who].get(path, environ_base={"REMOTE_ADDR": "127.0.0.1"})
            assert response.status_code == 200, (name, response.status_code)
            self.page_bytes[name] = len(response.get_data())
        return time.perf_counter() - started, self.queries


def time_pages(targets, repeat):
    """7 (repeat) rounds; in each, every page at every size in turn, so a noisy moment hits all alike."""
    samples = {size: {name: [] for name in target.pages} for size, target in targets.items()}
    queries = {size: {} for size in targets}
    for target in targets.values():  # warm up: templates compiled, connections open
        for name in target.pages:
            target.run(name)
    for _ in range(repeat):
        for name in next(iter(targets.values())).pages:
            for size, target in targets.items():
                seconds, count = target.run(name)
                samples[size][name].append(seconds)
                queries[size][name] = count
    return samples, queries


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _peak_rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def _worker_pid(master):
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(children[0])


def measure_csv(url, app):
    """First byte and peak RSS growth of the CSV export, from a gunicorn worker serving over HTTP."""
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY=SECRET, PORTAL_ENV="development", GUNICORN_WORKERS="1",
               GUNICORN_BIND=f"127.0.0.1:{port}", MEDIA_STORAGE_PROVIDER="local",
               MEDIA_LOCAL_ROOT="/tmp/portal-bench-media", PORTAL_DOTENV="none")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--timeout", "300",
                               "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        cookie = _session_cookie(app, OWNER)
        _wait_for(f"http://127.0.0.1:{port}/healthz")
        worker = _worker_pid(server.pid)
        _get(port, "/audit/", cookie)  # warm the worker: imports, templates, a connection
        before = _peak_rss_kb(worker)
        first_byte, total, size = _get(port, "/audit/export.csv", cookie)
        after = _peak_rss_kb(worker)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return {"first_byte_s": first_byte, "total_s": total, "bytes": size, "rss_growth_mb": (after - before) / 1024}


def _session_cookie(app, user_id):
    with app.app_context():
        serializer = app.session_interface.get_signing_serializer(app)
        session = {"_user_id": _session_id(app, user_id), "_fresh": True}
        return f"{app.config['SESSION_COOKIE_NAME']}={serializer.dumps(session)}"


def _wait_for(address, seconds=60):
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(address, timeout=2)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _get(port, path, cookie):
    """(seconds to the first byte of the body, seconds to the last, bytes)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Cookie": cookie})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:
        assert response.status == 200, response.status
        response.read(1)
        first = time.perf_counter() - started
        size = 1 + sum(len(chunk) for chunk in iter(lambda: response.read(1 << 16), b""))
    return first, time.perf_counter() - started, size


def report(samples, queries, csv, sizes, page_bytes):
    """Print the table and return the results as data."""
    small, large = sizes[0], sizes[-1]
    head = "".join(f"{f'{size:,}':>22}" for size in sizes)
    print(f"\n{'page':<36}{head}{'ratio':>8}{'queries':>9}")
    rows = []
    for name in samples[small]:
        medians = {size: statistics.median(samples[size][name]) for size in sizes}
        cells = "".join(f"{_cell(samples[size][name]):>22}" for size in sizes)
        ratio = medians[large] / medians[small]
        count = "/".join(str(n) for n in sorted({queries[size][name] for size in sizes}))
        print(f"{name:<36}{cells}{ratio:>7.2f}x{count:>9}")
        rows.append({"page": name, "median_ms": {str(s): medians[s] * 1000 for s in sizes},
                     "range_ms": {str(s): [min(samples[s][name]) * 1000, max(samples[s][name]) * 1000]
                                  for s in sizes},
                     "ratio_largest_to_smallest": ratio, "queries": {str(s): queries[s][name] for s in sizes}})
    shifts_ratio = _shifts_ratio(rows, page_bytes[small])
    _print_csv(csv)
    return {"sizes": sizes, "pages": rows, "shifts_with_requests_ratio": shifts_ratio,
            "page_bytes": {str(size): page_bytes[size] for size in sizes},
            "csv_export": {str(size): figures for size, figures in csv.items()}}


def _shifts_ratio(rows, page_bytes):
    """The week with requests ÷ the week without, per size (when both were timed)."""
    names = {row["page"]: row["median_ms"] for row in rows}
    if WITH_REQUESTS not in names or WITHOUT_REQUESTS not in names:
        return {}
    with_requests, without = names[WITH_REQUESTS], names[WITHOUT_REQUESTS]
    shifts_ratio = {size: with_requests[size] / without[size] for size in with_requests}
    print("\n/shifts/ with 200 requests x 3 proofs ÷ without requests: "
          + ", ".join(f"{float(r):.2f}x at {int(s):,}" for s, r in shifts_ratio.items()) + " (goal ≤ 1.5x); "
          + "page size " + ", ".join(f"{page_bytes[name] / 1024:.0f} KB" for name in (WITH_REQUESTS, WITHOUT_REQUESTS)))
    return shifts_ratio


def _print_csv(csv):
    if not csv:
        return
    print("\nCSV export of business 1 (20 % of the events), over HTTP from one gunicorn worker:")
    for size, figures in csv.items():
        print(f"  {size:>9,} events: first byte {figures['first_byte_s'] * 1000:.0f} ms, whole file "
              f"{figures['total_s']:.1f} s ({figures['bytes'] / 1e6:.1f} MB), worker peak RSS growth "
              f"{figures['rss_growth_mb']:.1f} MB")


def _cell(values):
    return f"{statistics.median(values) * 1000:.1f} ({min(values) * 1000:.0f}-{max(values) * 1000:.0f}) ms"


def main(argv=()):
    """Seed (once), time every page at every size, measure the CSV export, write the results."""
    parser = argparse.ArgumentParser(prog="python -m bench pages")
    parser.add_argument("--sizes", default="1000,100000,1000000", help="audit events per database, comma-separated")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="the smallest size once, for CI; no results written")
    parser.add_argument("--only", default="", help="time only pages whose name holds one of these comma-separated "
                                                   "words (more repetitions of a few pages); no results written")
    args = parser.parse_args(list(argv))
    sizes = sorted(int(s) for s in args.sizes.split(","))
    if args.smoke:
        sizes, args.repeat = sizes[:1], 1
    prefix = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    urls = {size: _database(prefix, size) for size in sizes}
    apps = {size: prepare(urls[size], size) for size in sizes}
    targets = {}
    for size, app in apps.items():
        with app.app_context():
            targets[size] = Target(app, only=[word for word in args.only.split(",") if word])
    samples, queries = time_pages(targets, args.repeat)
    measured = CSV_PAGE in targets[sizes[0]].pages
    csv = {size: measure_csv(urls[size], apps[size]) for size in sizes} if measured else {}
    results = report(samples, queries, csv, sizes, {size: target.page_bytes for size, target in targets.items()})
    if args.smoke or args.only:
        return
    results["repeat"] = args.repeat
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "pages.json").write_text(json.dumps(results, indent=1))
