"""Settings: defaults, environment overrides, clear errors and the production refusal."""
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from portal.config import ConfigError, build_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("MEDIA_", "PORTAL_ENV", "SECRET_KEY", "DATABASE_URL", "PROXY_FIX", "HTMX_", "RATELIMIT_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PORTAL_BASE_URL", "https://portal.example.com")  # production requires it
    return monkeypatch


def test_development_defaults_use_sqlite_local_storage_and_a_generated_key(clean_env, tmp_path):
    settings = build_config(tmp_path, "development")
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'portal.db'}"
    assert settings["MEDIA_STORAGE_PROVIDER"] == "local"
    assert settings["MEDIA_STORAGE_BUCKET"] == "shift-media"
    assert settings["MEDIA_MAX_UPLOAD_BYTES"] == 10 * 1024 * 1024
    assert len(settings["SECRET_KEY"]) == 64
    # the generated key is kept, so a restart keeps people signed in
    assert build_config(tmp_path, "development")["SECRET_KEY"] == settings["SECRET_KEY"]


def test_environment_overrides_defaults(clean_env, tmp_path):
    clean_env.setenv("MEDIA_STORAGE_PROVIDER", "s3")
    clean_env.setenv("MEDIA_STORAGE_REGION", "ru-central1")
    clean_env.setenv("MEDIA_URL_TTL_OWNER", "600")
    clean_env.setenv("DATABASE_URL", "postgresql://db/portal")
    settings = build_config(tmp_path, "development")
    assert settings["MEDIA_STORAGE_PROVIDER"] == "s3"
    assert settings["MEDIA_STORAGE_REGION"] == "ru-central1"
    assert settings["MEDIA_URL_TTL_OWNER"] == 600
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql://db/portal"


def test_dotenv_file_is_read_and_environment_wins(clean_env, tmp_path):
    env_file = tmp_path / "test.env"
    env_file.write_text("MEDIA_STORAGE_BUCKET=from-file\nMEDIA_STORAGE_REGION=from-file\n")
    clean_env.setenv("PORTAL_DOTENV", str(env_file))
    clean_env.setenv("MEDIA_STORAGE_REGION", "from-env")
    settings = build_config(tmp_path, "development")
    assert settings["MEDIA_STORAGE_BUCKET"] == "from-file"
    assert settings["MEDIA_STORAGE_REGION"] == "from-env"
    clean_env.delenv("MEDIA_STORAGE_BUCKET")


@pytest.mark.parametrize("name,value,expected", [
    ("MEDIA_MAX_UPLOAD_BYTES", "ten", "MEDIA_MAX_UPLOAD_BYTES must be a whole number, got 'ten'"),
    ("MEDIA_URL_TTL_OWNER", "0", "MEDIA_URL_TTL_OWNER must be at least 1, got 0"),
    ("HTMX_CDN", "maybe", "HTMX_CDN must be true or false, got 'maybe'"),
    ("PORTAL_ENV", "staging", "PORTAL_ENV must be one of development, testing, production, got 'staging'"),
])
def test_malformed_setting_names_itself(clean_env, tmp_path, name, value, expected):
    clean_env.setenv(name, value)
    with pytest.raises(ConfigError, match=expected):
        build_config(tmp_path)


REDIS = "redis://redis:6379/0"


@pytest.mark.parametrize("key,reason", [
    (None, "is missing"),
    ("short", "has only 5 characters"),
    (secrets.token_hex(15), "has only 30 characters"),
    ("change-me-" + "x" * 40, "placeholder"),
    ("CHANGE-ME-" + secrets.token_hex(16), "placeholder"),
    ("ChangeMe" + secrets.token_hex(16), "placeholder"),
    ("prod-secret-" + secrets.token_hex(16), "placeholder"),
    ("example-key-" + secrets.token_hex(16), "placeholder"),
    ("dev-only-" + secrets.token_hex(16), "placeholder"),
    ("dev-only-compose-secret-key-0123456789abcdef", "published"),
    ("k" * 64, "repeats a shorter pattern"),
    ("abcd1234" * 8, "repeats a shorter pattern"),
    ("abcdefghijklmnopqrstuvwxyz0123456789", "not random enough"),
    ("aaaabbbbccccddddeeeeffffgggghhhh", "not random enough"),
], ids=lambda value: re.sub(r"[0-9a-f]{15,}", "<random>", str(value)))  # the same ids in every pytest-xdist worker
def test_production_refuses_missing_short_placeholder_published_or_guessable_keys(clean_env, tmp_path, key, reason):
    clean_env.setenv("RATELIMIT_STORAGE_URI", REDIS)
    if key:
        clean_env.setenv("SECRET_KEY", key)
    with pytest.raises(ConfigError, match=f"SECRET_KEY must be set.*{reason}"):
        build_config(tmp_path, "production")


@pytest.mark.parametrize("key", [secrets.token_hex(32), secrets.token_urlsafe(32), secrets.token_urlsafe(24)],
                         ids=["token_hex(32)", "token_urlsafe(32)", "token_urlsafe(24)"])
def test_production_accepts_generated_keys(clean_env, tmp_path, key):
    clean_env.setenv("RATELIMIT_STORAGE_URI", REDIS)
    clean_env.setenv("SECRET_KEY", key)
    assert build_config(tmp_path, "production")["SECRET_KEY"] == key


def _committed_secret_keys():
    """Every literal value given to SECRET_KEY in a committed text file (env files, compose, docs, code)."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    pattern = re.compile(r"""(?<![A-Z_])SECRET_KEY["']?\s*[=:]\s*["']?([A-Za-z0-9][A-Za-z0-9_.+/=~-]*)(?![A-Za-z0-9_.(])""")
    found = {}
    for name in files:
        try:
            text = (ROOT / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        for value in pattern.findall(text):
            found.setdefault(value, name)
    return found


def test_every_secret_key_committed_in_the_repository_is_refused_in_production(clean_env, tmp_path):
    committed = _committed_secret_keys()
    assert "dev-only-compose-secret-key-0123456789abcdef" not in committed  # .env.compose ships none any more
    assert committed, "the scan found no SECRET_KEY value at all: is the pattern still right?"
    clean_env.setenv("RATELIMIT_STORAGE_URI", REDIS)
    for value, where in committed.items():
        clean_env.setenv("SECRET_KEY", value)
        with pytest.raises(ConfigError, match="SECRET_KEY must be set"):
            build_config(tmp_path, "production")
            pytest.fail(f"production accepts the SECRET_KEY committed in {where}")


def test_production_refuses_per_process_sign_in_counters(clean_env, tmp_path):
    clean_env.setenv("SECRET_KEY", secrets.token_hex(32))
    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI must name a shared store"):
        build_config(tmp_path, "production")
    clean_env.setenv("RATELIMIT_STORAGE_URI", REDIS)
    assert build_config(tmp_path, "production")["RATELIMIT_STORAGE_URI"] == REDIS


def test_production_refuses_to_start_without_the_address_its_mailed_links_name(clean_env, tmp_path):
    clean_env.setenv("SECRET_KEY", secrets.token_hex(32))
    clean_env.setenv("RATELIMIT_STORAGE_URI", REDIS)
    clean_env.delenv("PORTAL_BASE_URL")
    with pytest.raises(ConfigError, match="PORTAL_BASE_URL must be set in production"):
        build_config(tmp_path, "production")
    assert build_config(tmp_path, "development")["PORTAL_BASE_URL"] is None  # make run: the page's own address


def test_production_with_a_real_key_has_secure_cookies(clean_env, tmp_path):
    clean_env.setenv("SECRET_KEY", secrets.token_hex(32))
    clean_env.setenv("RATELIMIT_STORAGE_URI", REDIS)
    settings = build_config(tmp_path, "production")
    assert settings["SESSION_COOKIE_SECURE"] and settings["REMEMBER_COOKIE_SECURE"]
    assert settings["SESSION_COOKIE_HTTPONLY"] and settings["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert not (tmp_path / "dev-secret-key").exists()


def test_wsgi_in_production_without_key_exits_with_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(PORTAL_ENV="production", PORTAL_DOTENV="none", DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("portal: SECRET_KEY must be set")
