"""The compose command starts the app here: gunicorn with the production profile answers /healthz and /metrics."""
import os
import secrets
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.s3_server import free_port, wait_for_http

ROOT = Path(__file__).resolve().parents[2]


def test_gunicorn_serves_the_app_with_multiprocess_metrics(tmp_path, database_url, redis_url):
    port = free_port()
    env = dict(os.environ, PORTAL_ENV="production", SECRET_KEY=secrets.token_hex(32), PORTAL_DOTENV="none",
               RATELIMIT_STORAGE_URI=redis_url, PORTAL_BASE_URL="https://portal.test",
               DATABASE_URL=database_url, MEDIA_STORAGE_PROVIDER="local", MEDIA_LOCAL_ROOT=str(tmp_path / "media"),
               METRICS_TOKEN="scrape-me", PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom"),
               GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="2")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen([str(gunicorn), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=30)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            assert answer.status == 200 and b'"database": "ok"' in answer.read().replace(b'":"', b'": "')
        request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                         headers={"Authorization": "Bearer scrape-me"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            body = answer.read().decode()
        assert "portal_media_fill_ratio" in body
        assert any((tmp_path / "prom").iterdir())  # the workers wrote their multiprocess files
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0].decode(errors="replace")
    assert "Booting worker" in output
