"""Settings from the environment (and `.env`), in three profiles: development, testing, production."""
import ipaddress
import math
import os
import secrets
import zlib
from collections import Counter
from datetime import timedelta
from pathlib import Path

from dotenv import load_dotenv

PROFILES = ("development", "testing", "production")
ROLES = ("owner", "manager", "employee")

# SECRET_KEY values that were ever committed to this repository: anyone can read them, so they protect nothing.
# tests/unit/test_config.py checks that every value committed now is refused.
PUBLISHED_SECRET_KEYS = frozenset({
    "dev-only-compose-secret-key-0123456789abcdef",
    "dev-only-compose-secret-key-change-me-0123456789",
})
# Words of keys written by hand or left from an example (compared case-insensitively).
PLACEHOLDER_WORDS = ("change", "secret", "example", "dev-only", "devonly", "default", "placeholder", "replace",
                     "insecure", "password", "sample", "dummy")
MIN_SECRET_KEY_LENGTH = 32
MIN_SECRET_KEY_BITS = 90  # a 32-character hex token is estimated at 96 or more


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def _env(name, default=None):
    value = os.environ.get(name)
    return default if value is None or value.strip() == "" else value.strip()


def _env_int(name, default, minimum=0, maximum=None):
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, got {value}")
    return value


def _env_bool(name, default):
    raw = _env(name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _env_items(name, default=""):
    """A comma-separated setting as a list of its non-empty items."""
    return [part.strip() for part in (_env(name, default) or "").split(",") if part.strip()]


def _backup_targets(name, raw):
    """Backup destinations: s3://bucket or an absolute folder, comma-separated."""
    items = [part.strip() for part in (raw or "").split(",") if part.strip()]
    for item in items:
        if not (item.startswith("s3://") or item.startswith("/")):
            raise ConfigError(f"{name} lists s3://bucket names or absolute folders, got {item!r}")
    return items


def _env_list(name, default):
    items = _env_items(name, default)
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigError(f"{name} must be a comma-separated list of networks, got {item!r}") from None
    return items


def _delays(name, raw):
    """Comma-separated whole seconds, e.g. 5,30,120."""
    try:
        delays = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"{name} must be comma-separated whole seconds, e.g. 5,30,120, got {raw!r}") from None
    if any(delay < 0 for delay in delays):
        raise ConfigError(f"{name} must not hold negative seconds, got {raw!r}")
    return delays


def queue_settings():
    """The processing queue: RQ on Redis when REDIS_URL is set, else jobs run inline in the request."""
    return {
        "REDIS_URL": _env("REDIS_URL"),
        "QUEUE_NAME": _env("QUEUE_NAME", "media"),
        "QUEUE_JOB_TIMEOUT": _env_int("QUEUE_JOB_TIMEOUT", 120, 5),
        # one retry per delay: a worker killed mid-job, a store that hiccuped, a database restart
        "QUEUE_RETRY_DELAYS": _delays("QUEUE_RETRY_DELAYS", _env("QUEUE_RETRY_DELAYS", "5,30,120")),
        # a worker's CPU priority below the web's (Unix nice, 0-19): where both share a machine, pages and uploads
        # answer first and thumbnails wait a little; 0 keeps the worker at the web's priority
        "QUEUE_WORKER_NICE": _env_int("QUEUE_WORKER_NICE", 10, 0, 19),
        # the memory each forked work-horse may write to (RLIMIT_DATA), in MB; 0: no ceiling (portal/jobs.py)
        "QUEUE_HORSE_MEMORY_MB": _env_int("QUEUE_HORSE_MEMORY_MB", 1024, 0),
    }


def _dev_secret_key(instance_path):
    """A random key kept in the instance folder so dev sessions survive restarts."""
    path = Path(instance_path) / "dev-secret-key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def media_settings():
    """The MEDIA_* block: storage provider, limits, URL lifetimes, archiving and quota."""
    return {
        "MEDIA_STORAGE_PROVIDER": _env("MEDIA_STORAGE_PROVIDER", "local"),
        "MEDIA_STORAGE_ENDPOINT": _env("MEDIA_STORAGE_ENDPOINT"),
        "MEDIA_STORAGE_BUCKET": _env("MEDIA_STORAGE_BUCKET", "shift-media"),
        "MEDIA_STORAGE_ACCESS_KEY": _env("MEDIA_STORAGE_ACCESS_KEY"),
        "MEDIA_STORAGE_SECRET_KEY": _env("MEDIA_STORAGE_SECRET_KEY"),
        "MEDIA_STORAGE_REGION": _env("MEDIA_STORAGE_REGION", "us-east-1"),
        "MEDIA_STORAGE_PUBLIC_BASE_URL": _env("MEDIA_STORAGE_PUBLIC_BASE_URL"),
        "MEDIA_STORAGE_ADDRESSING": _env("MEDIA_STORAGE_ADDRESSING", "path"),
        "MEDIA_STORAGE_CHECKSUMS": _env("MEDIA_STORAGE_CHECKSUMS", "when_required"),
        # attempts x (connect + read) + one backoff stays at half of gunicorn's timeout (docs/deploy.md)
        "MEDIA_STORAGE_CONNECT_TIMEOUT": _env_int("MEDIA_STORAGE_CONNECT_TIMEOUT", 2, 1),
        "MEDIA_STORAGE_READ_TIMEOUT": _env_int("MEDIA_STORAGE_READ_TIMEOUT", 5, 1),
        "MEDIA_STORAGE_MAX_ATTEMPTS": _env_int("MEDIA_STORAGE_MAX_ATTEMPTS", 2, 1),
        "MEDIA_LOCAL_ROOT": _env("MEDIA_LOCAL_ROOT"),
        "MEDIA_MAX_UPLOAD_BYTES": _env_int("MEDIA_MAX_UPLOAD_BYTES", 10 * 1024 * 1024, 1),
        "MEDIA_MAX_FILES": _env_int("MEDIA_MAX_FILES", 5, 1),
        "MEDIA_DIRECT_UPLOAD": _env_bool("MEDIA_DIRECT_UPLOAD", True),  # off: files go through the app
        "MEDIA_UPLOAD_SLOT_MINUTES": _env_int("MEDIA_UPLOAD_SLOT_MINUTES", 10, 1),
        "MEDIA_UPLOAD_RATE_LIMIT": _env("MEDIA_UPLOAD_RATE_LIMIT", "60 per 10 minutes"),
        "MEDIA_CORS_ORIGINS": _env("MEDIA_CORS_ORIGINS", ""),
        "MEDIA_MAX_IMAGE_PIXELS": _env_int("MEDIA_MAX_IMAGE_PIXELS", 50_000_000, 1),
        "MEDIA_URL_TTL_OWNER": _env_int("MEDIA_URL_TTL_OWNER", 300, 1),
        "MEDIA_URL_TTL_MANAGER": _env_int("MEDIA_URL_TTL_MANAGER", 120, 1),
        "MEDIA_URL_TTL_EMPLOYEE": _env_int("MEDIA_URL_TTL_EMPLOYEE", 60, 1),
        "MEDIA_ARCHIVE_AFTER_DAYS": _env_int("MEDIA_ARCHIVE_AFTER_DAYS", 90, 0),
        "MEDIA_ARCHIVE_STORAGE_CLASS": _env("MEDIA_ARCHIVE_STORAGE_CLASS", "STANDARD_IA"),
        "MEDIA_NONCURRENT_EXPIRE_DAYS": _env_int("MEDIA_NONCURRENT_EXPIRE_DAYS", 30, 0),
        "MEDIA_STORAGE_QUOTA_BYTES": _env_int("MEDIA_STORAGE_QUOTA_BYTES", 10 * 1024**3, 1),
    }


def mail_settings():
    """The MAIL_* block, the address links in mail point at, and the lifetimes of set-password links."""
    return {
        "MAIL_SERVER": _env("MAIL_SERVER"),
        "MAIL_PORT": _env_int("MAIL_PORT", 25, 1),
        "MAIL_USE_TLS": _env_bool("MAIL_USE_TLS", False),
        "MAIL_USE_SSL": _env_bool("MAIL_USE_SSL", False),
        "MAIL_USERNAME": _env("MAIL_USERNAME"),
        "MAIL_PASSWORD": _env("MAIL_PASSWORD"),
        "MAIL_DEFAULT_SENDER": _env("MAIL_DEFAULT_SENDER", "Shift Proof <no-reply@localhost>"),
        "MAIL_TIMEOUT": _env_int("MAIL_TIMEOUT", 10, 1),
        "MAIL_MAX_ATTEMPTS": _env_int("MAIL_MAX_ATTEMPTS", 10, 1),
        "PORTAL_BASE_URL": _env("PORTAL_BASE_URL"),
        "INVITATION_LINK_DAYS": _env_int("INVITATION_LINK_DAYS", 7, 1),
        "INVITATION_RATE_LIMIT": _env("INVITATION_RATE_LIMIT", "50 per hour"),
        "INVITATION_RESEND_RATE_LIMIT": _env("INVITATION_RESEND_RATE_LIMIT", "3 per hour"),
        "PASSWORD_RESET_LINK_MINUTES": _env_int("PASSWORD_RESET_LINK_MINUTES", 60, 5),
        "PASSWORD_RESET_RATE_LIMIT": _env("PASSWORD_RESET_RATE_LIMIT", "5 per hour"),
        "PASSWORD_RESET_ACCOUNT_RATE_LIMIT": _env("PASSWORD_RESET_ACCOUNT_RATE_LIMIT", "3 per hour"),
    }


def build_config(instance_path, profile=None, overrides=None):
    """Return the settings dict for a profile; production refuses weak or missing secrets."""
    dotenv = os.environ.get("PORTAL_DOTENV", ".env")
    if dotenv != "none":  # tests set "none" so a developer's .env cannot leak into them
        load_dotenv(dotenv, override=False)
    profile = profile or _env("PORTAL_ENV", "development")
    if profile not in PROFILES:
        raise ConfigError(f"PORTAL_ENV must be one of {', '.join(PROFILES)}, got {profile!r}")
    production = profile == "production"
    settings = {
        "PORTAL_ENV": profile,
        "TESTING": profile == "testing",
        "SECRET_KEY": _env("SECRET_KEY"),
        "SQLALCHEMY_DATABASE_URI": _env("DATABASE_URL", f"sqlite:///{Path(instance_path) / 'portal.db'}"),
        # a pooled connection that the database dropped (restart, failover) is replaced, not handed to a request
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_DURATION": timedelta(days=_env_int("REMEMBER_COOKIE_DAYS", 14, 1)),
        # a session cookie is signed with its time: one not remembered ends this long after sign-in (Flask's own
        # default is 31 days, so a captured cookie of a shared computer's session would work for a month)
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=_env_int("SESSION_HOURS", 12, 1)),
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session, so a slow upload form is not lost
        "HTMX_CDN": _env_bool("HTMX_CDN", True),
        "PROXY_FIX_X_FOR": _env_int("PROXY_FIX_X_FOR", 0, 0),
        "LOGIN_RATE_LIMIT": _env("LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),
        "LOGIN_ACCOUNT_RATE_LIMIT": _env("LOGIN_ACCOUNT_RATE_LIMIT", "20 per hour"),
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI", "memory://"),
        "METRICS_TOKEN": _env("METRICS_TOKEN"),
        "METRICS_ALLOW_NETWORKS": _env_list("METRICS_ALLOW_NETWORKS", "" if production else "127.0.0.1/32,::1/128"),
        "LOG_FORMAT": _env("LOG_FORMAT", "json" if production else "text"),
        "BACKUP_STORAGE_ENDPOINT": _env("BACKUP_STORAGE_ENDPOINT"),
        "BACKUP_STORAGE_ACCESS_KEY": _env("BACKUP_STORAGE_ACCESS_KEY"),
        "BACKUP_STORAGE_SECRET_KEY": _env("BACKUP_STORAGE_SECRET_KEY"),
        "BACKUP_STORAGE_REGION": _env("BACKUP_STORAGE_REGION"),
        # Where `flask media backup --to` copies go: retention and erasure delete the copies there too.
        "BACKUP_TARGETS": _backup_targets("BACKUP_TARGETS", _env("BACKUP_TARGETS")),
        # Months after a request's decision when its proofs are deleted, unless the owner chose otherwise.
        "PRIVACY_RETENTION_MONTHS": _env_int("PRIVACY_RETENTION_MONTHS", 12, 1),
        "BABEL_DEFAULT_LOCALE": "ru",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Moscow",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).resolve().parent.parent / "translations"),
        **media_settings(),
        **queue_settings(),
        **mail_settings(),
    }
    settings["MEDIA_LOCAL_ROOT"] = settings["MEDIA_LOCAL_ROOT"] or str(Path(instance_path) / "media")
    # The request may carry several files plus the form's text fields; each file is checked on its own.
    settings["MAX_CONTENT_LENGTH"] = settings["MEDIA_MAX_UPLOAD_BYTES"] * settings["MEDIA_MAX_FILES"] + 1024 * 1024
    settings["MAX_FORM_PARTS"] = 50
    settings.update(overrides or {})
    _finish_secret_key(settings, instance_path, production)
    if production and not settings["PORTAL_BASE_URL"]:
        # else a mailed link would take the Host of the request that asked for it: anyone asking for a reset link
        # to someone else's account with their own Host header would get the victim's token sent to their site
        raise ConfigError("PORTAL_BASE_URL must be set in production to the address people open the portal at, "
                          "e.g. https://portal.example.com: the links in mail are built on it")
    if production and settings["RATELIMIT_STORAGE_URI"].startswith("memory"):
        raise ConfigError("RATELIMIT_STORAGE_URI must name a shared store in production, e.g. redis://redis:6379/0: "
                          "in memory every worker counts sign-in failures on its own")
    if settings["MAIL_USE_TLS"] and settings["MAIL_USE_SSL"]:
        raise ConfigError("MAIL_USE_TLS (STARTTLS, usually port 587) and MAIL_USE_SSL (TLS from the start, usually "
                          "port 465) exclude each other: set one of them")
    return settings


def _finish_secret_key(settings, instance_path, production):
    key = settings.get("SECRET_KEY")
    if production:
        problem = secret_key_problem(key)
        if problem:
            raise ConfigError(
                f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_KEY_LENGTH} characters in "
                f"production; this one {problem} (python -c 'import secrets; print(secrets.token_hex(32))')"
            )
    elif not key:
        settings["SECRET_KEY"] = _dev_secret_key(instance_path)


def secret_key_problem(key):
    """Why this key must not sign production sessions (missing, short, published, a placeholder, guessable), or None."""
    if not key:
        return "is missing"
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return f"has only {len(key)} characters"
    if key in PUBLISHED_SECRET_KEYS:
        return "was published in this repository"
    words = [word for word in PLACEHOLDER_WORDS if word in key.lower()]
    if words:
        return f"looks like a placeholder (it contains {words[0]!r})"
    if key in (key + key)[1:-1]:
        return "repeats a shorter pattern"
    runs = sum(1 for a, b in zip(key, key[1:]) if abs(ord(b) - ord(a)) <= 1)
    if runs > len(key) // 2 or _estimated_bits(key) < MIN_SECRET_KEY_BITS:
        return "is not random enough"
    return None


def _estimated_bits(key):
    """A rough guess of a key's randomness: the lower of its characters' Shannon entropy and what zlib leaves."""
    counts = Counter(key)
    per_character = -sum(n / len(key) * math.log2(n / len(key)) for n in counts.values())
    compressed = 8 * max(len(zlib.compress(key.encode(), 9)) - 8, 0)  # zlib adds a header and a checksum
    return min(per_character * len(key), compressed)
