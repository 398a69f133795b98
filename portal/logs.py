"""Structured logs: one line per request and per media action, with a request id; secrets never written.

Presigned URL signatures, passwords, session cookies and CSRF tokens are cut out of every record of our
loggers (and of Werkzeug's and gunicorn's request lines) before any handler sees them."""
import json
import logging
import re
import sys
import time
import uuid

from flask import g, has_request_context, request
from flask_login import current_user

SECRET_PATTERNS = [
    (re.compile(r"(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s\"']+", re.I), r"\1[redacted]"),
    (re.compile(r"((?<![\w-])(?:signature|token|password|csrf_token)=)[^&\s\"']+", re.I), r"\1[redacted]"),
    (re.compile(r"((?:session|remember_token)=)[^;\s\"']+", re.I), r"\1[redacted]"),
    (re.compile(r"(Signature=)[0-9a-f]{16,}", re.I), r"\1[redacted]"),
    # set-password links carry their token in the path (portal/accounts/links.py)
    (re.compile(r"(/(?:invitation|reset-password)/)[A-Za-z0-9._-]+"), r"\1[redacted]"),
]
LOGGERS = ("portal", "portal.media", "portal.mail", "portal.request", "werkzeug", "gunicorn.access", "gunicorn.error")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Whatever a log reader may take for the end of a line or a terminal command: C0, DEL, C1, U+2028/2029.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def redact(text):
    """The text with every secret we know the shape of replaced by [redacted]."""
    for pattern, replacement in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactFilter(logging.Filter):
    """Rewrites a record's message with its secrets cut out (keeps the record)."""

    def filter(self, record):
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if isinstance(getattr(record, "path", None), str):
            record.path = redact(record.path)  # the JSON line's own path field
        if has_request_context():
            record.request_id = g.get("request_id", "-")
        return True


def escape_controls(text):
    """The text with every control character written as its escape (a decoded %0A in a path becomes \\n)."""
    return CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class TextFormatter(logging.Formatter):
    """One line per record, whatever its fields carry; a traceback follows on indented lines."""

    def __init__(self):
        super().__init__(TEXT_FORMAT)

    def format(self, record):
        record.message = record.getMessage()
        record.asctime = self.formatTime(record, self.datefmt)
        lines = [escape_controls(self.formatMessage(record))]
        # Formatted here rather than taken from record.exc_text, which another handler may have cached raw.
        trace = self.formatException(record.exc_info) if record.exc_info else record.exc_text
        for extra in (trace and redact(trace), record.stack_info):
            if extra:
                lines.extend("    " + escape_controls(line) for line in extra.splitlines())
        return "\n".join(lines)


JSON_LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record):
        line = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                "logger": record.name, "msg": record.getMessage(), "request_id": getattr(record, "request_id", None)}
        for key in ("method", "path", "status", "duration_ms", "user_id"):
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info:
            line["error"] = redact(self.formatException(record.exc_info))
        # json escapes C0 controls; these three it leaves raw, and some readers split lines on them.
        return json.dumps(line, ensure_ascii=False).translate(JSON_LINE_BREAKS)


def init_app(app):
    """Attach the redaction filter, the request id and the per-request line; outside tests, a stderr handler."""
    redactor = RedactFilter()
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactFilter) for f in logger.filters):
            logger.addFilter(redactor)
    if not app.config["TESTING"]:
        _stderr_handler(app.config["LOG_FORMAT"])
    app.before_request(_start)
    app.after_request(_finish)


def _stderr_handler(fmt):
    root = logging.getLogger()
    if any(getattr(h, "portal_handler", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.portal_handler = True
    handler.addFilter(RedactFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def _start():
    offered = request.headers.get("X-Request-ID", "")
    g.request_id = offered if REQUEST_ID.match(offered) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish(response):
    response.headers["X-Request-ID"] = g.get("request_id", "")
    if request.endpoint == "static":
        return response
    elapsed = round((time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000, 1)
    # the row's id: get_id() is the session token the cookies carry, which no log may hold
    user_id = current_user.id if current_user and current_user.is_authenticated else None
    logging.getLogger("portal.request").info(
        "%s %s %s %sms", request.method, request.path, response.status_code, elapsed,
        extra={"method": request.method, "path": request.path, "status": response.status_code,
               "duration_ms": elapsed, "user_id": user_id, "request_id": g.get("request_id")})
    return response
