"""The WSGI entry point for gunicorn: `gunicorn wsgi:app`."""
from portal import create_app
from portal.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:  # one clear line instead of a traceback
    raise SystemExit(f"portal: {exc}") from None
