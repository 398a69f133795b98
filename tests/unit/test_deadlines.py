"""Limits and timeouts that must agree across nginx, gunicorn, the app and boto3 (docs/deploy.md)."""
import re
import runpy
from pathlib import Path

import pytest

from portal.config import build_config
from portal.media.storage import build_storage

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = (ROOT / "deploy" / "nginx" / "templates" / "default.conf.template").read_text()
UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


@pytest.fixture
def defaults(tmp_path, monkeypatch):
    """The settings with nothing set in the environment."""
    for name in ("MEDIA_MAX_UPLOAD_BYTES", "MEDIA_MAX_FILES", "MEDIA_STORAGE_CONNECT_TIMEOUT",
                 "MEDIA_STORAGE_READ_TIMEOUT", "MEDIA_STORAGE_MAX_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)
    return build_config(str(tmp_path), "testing")


@pytest.fixture
def gunicorn(monkeypatch):
    for name in ("GUNICORN_WORKERS", "GUNICORN_THREADS"):
        monkeypatch.delenv(name, raising=False)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def nginx_seconds(directive, block="location / {"):
    """A directive's value in seconds inside the given block of the template."""
    section = TEMPLATE[TEMPLATE.index(block):]
    section = section[:section.index("}")]
    return int(re.search(rf"{directive} (\d+)s;", section).group(1))


def test_nginx_body_limit_equals_the_apps_request_limit(defaults):
    number, unit = re.search(r"client_max_body_size (\d+)([kmg]?);", TEMPLATE).groups()
    assert int(number) * UNITS[unit] == defaults["MAX_CONTENT_LENGTH"]
    megabytes = defaults["MAX_CONTENT_LENGTH"] // 1024**2
    assert f"{megabytes} MB" in TEMPLATE[TEMPLATE.index("location @too_large"):]  # nginx's 413 page names it


def test_gunicorn_uses_threads_and_gives_up_before_nginx_does(gunicorn):
    assert gunicorn["worker_class"] == "gthread" and gunicorn["threads"] >= 2
    assert gunicorn["timeout"] == 30 and gunicorn["graceful_timeout"] >= gunicorn["timeout"]
    assert gunicorn["timeout"] < nginx_seconds("proxy_read_timeout")


def test_a_store_call_ends_within_half_the_worker_timeout(defaults, gunicorn):
    connect, read = defaults["MEDIA_STORAGE_CONNECT_TIMEOUT"], defaults["MEDIA_STORAGE_READ_TIMEOUT"]
    attempts = defaults["MEDIA_STORAGE_MAX_ATTEMPTS"]
    # boto3's standard retry mode waits up to 2^(n-1) s (at most 20 s) before retry n
    backoff = sum(min(2 ** (n - 1), 20) for n in range(1, attempts))
    deadline = attempts * (connect + read) + backoff
    assert deadline <= gunicorn["timeout"] / 2
    assert deadline <= nginx_seconds("proxy_read_timeout") / 2
    config = build_storage(dict(defaults, MEDIA_STORAGE_PROVIDER="s3", MEDIA_STORAGE_ENDPOINT="http://127.0.0.1:9"))
    client_config = config._client().meta.config  # what boto3 will really use
    assert (client_config.connect_timeout, client_config.read_timeout) == (connect, read)
    assert client_config.retries["mode"] == "standard"
    assert client_config.retries["total_max_attempts"] == attempts  # the first try included
