"""A request cannot forge a log line: control characters a client puts in a path stay inside its own record."""
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORGED = "2026-01-01 00:00:00,000 INFO portal.request: GET /admin 200 1.0ms"
# A decoded %0A, %0D, U+2028, NEL and an ANSI escape, each followed by a line that looks like a record.
HOSTILE_PATH = "/x%0A" + FORGED.replace(" ", "%20") + "%0D%0A" + "y%E2%80%A8z%C2%85w%1B[31m"
SCRIPT = """
import sys
from portal import create_app
app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "k" * 40, "LOG_FORMAT": sys.argv[1]},
                 profile="development")
app.test_client().get(sys.argv[2])
"""
RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [\w.]+: ")


def _stderr_of_one_request(log_format):
    """The log a fresh process writes for one hostile request, in the format production would use."""
    env = dict(os.environ, PORTAL_DOTENV="none", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", SCRIPT, log_format, HOSTILE_PATH], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stderr


def test_a_text_log_line_escapes_the_control_characters_of_a_path():
    lines = _stderr_of_one_request("text").split("\n")
    request_lines = [line for line in lines if "portal.request" in line]
    assert len(request_lines) == 1, lines
    assert r"/x\n2026-01-01 00:00:00,000 INFO portal.request: GET /admin 200 1.0ms\r\ny\u2028z\x85w\x1b[31m 404" \
        in request_lines[0]
    assert all(RECORD_START.match(line) for line in lines if line), lines


def test_a_json_log_line_keeps_a_hostile_path_inside_its_string():
    lines = _stderr_of_one_request("json").split("\n")
    records = [json.loads(line) for line in lines if line]  # every line is one whole record
    (request,) = [r for r in records if r["logger"] == "portal.request"]
    assert request["path"] == "/x\n" + FORGED + "\r\ny\u2028z\x85w\x1b[31m"
    assert "\u2028" not in "".join(lines) and "\x85" not in "".join(lines)


@pytest.mark.parametrize("text,escaped", [("a\nb", r"a\nb"), ("a\rb", r"a\rb"), ("\x00", r"\x00"),
                                          ("\x1b[2J", r"\x1b[2J"), ("\x7f\x9f", r"\x7f\x9f"),
                                          ("a\u2029b", r"a\u2029b"), ("Привет\tмир", r"Привет\tмир")])
def test_escape_controls_writes_each_control_character_as_its_escape(text, escaped):
    from portal.logs import escape_controls

    assert escape_controls(text) == escaped


def test_a_traceback_in_the_text_log_is_indented_so_no_line_passes_for_a_record():
    from portal.logs import TextFormatter

    try:
        raise ValueError("bad value\n" + FORGED + "\x1b[0m")
    except ValueError:
        record = logging.LogRecord("portal", logging.ERROR, __file__, 1, "failed on %s", ("a\nb",), sys.exc_info())
    lines = TextFormatter().format(record).split("\n")
    assert RECORD_START.match(lines[0]) and lines[0].endswith(r"failed on a\nb")
    assert len(lines) > 2 and all(line.startswith("    ") for line in lines[1:])
    assert any(line == "    " + FORGED + r"\x1b[0m" for line in lines)


def test_a_signed_in_request_is_logged_with_the_user_id_never_the_session_token(client, auth, world, caplog):
    # get_id() is the session token the session and remember cookies carry: with SECRET_KEY it makes a session
    auth.login(world.a.manager)
    with caplog.at_level(logging.INFO, logger="portal.request"):
        client.get("/")
    (record,) = [r for r in caplog.records if r.name == "portal.request" and r.path == "/"]
    assert record.user_id == world.a.manager.id
    token = world.a.manager.session_token
    assert all(token not in json.dumps(vars(r), default=str) for r in caplog.records)
