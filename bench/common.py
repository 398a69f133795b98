"""What every benchmark shares: the repository root on sys.path, the S3 server of the run, the results folder."""
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["PORTAL_DOTENV"] = "none"


@contextmanager
def s3_endpoint():
    """(endpoint, server kind, (access key, secret key)): moto started here, or Ceph RGW with TEST_S3=ceph."""
    from tests.s3_server import CephServer, MotoServer

    server = CephServer() if os.environ.get("TEST_S3") == "ceph" else MotoServer()
    try:
        yield server.endpoint, server.kind, (server.access_key, server.secret_key)
    finally:
        server.stop()


def empty_bucket(client, bucket):
    """Delete every version and delete marker, so a round (or the next run) starts from an empty bucket."""
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                  for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        for start in range(0, len(doomed), 1000):
            client.delete_objects(Bucket=bucket, Delete={"Objects": doomed[start:start + 1000], "Quiet": True})


def write_results(name, report):
    """Keep a run's figures in bench/results/NAME."""
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / name).write_text(json.dumps(report, indent=1))


def ensure_database(url):
    """Create the PostgreSQL database the URL names if it does not exist yet (a fresh machine has none)."""
    import sqlalchemy as sa

    base = sa.engine.make_url(url)
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": base.database}).first():
            conn.execute(sa.text(f'CREATE DATABASE "{base.database}"'))
    admin.dispose()
    return url
