"""What must never reach a log: the patterns the log hygiene checks look for (tests/zz_last/test_log_hygiene.py,
and with pytest-xdist the check of every worker's log at the end of the run in tests/conftest.py)."""
import re

from tests.conftest import PASSWORD

FORBIDDEN = [
    (re.compile(r"X-Amz-Signature=(?!\[redacted\])"), "an S3 presigned URL signature"),
    (re.compile(r"X-Amz-Credential=(?!\[redacted\])"), "an S3 credential scope"),
    (re.compile(r"signature=[0-9a-f]{16,}"), "the local provider's URL signature"),
    (re.compile(re.escape(PASSWORD)), "a test user's password"),
    (re.compile(r"demo-pass-2026"), "the demo password"),
    (re.compile(r"session=(?!\[redacted\])[A-Za-z0-9._-]{20,}"), "a session cookie"),
    (re.compile(r"csrf_token=(?!\[redacted\])[A-Za-z0-9._-]{20,}"), "a CSRF token"),
    (re.compile(r"/(?:invitation|reset-password)/(?!\[redacted\])[A-Za-z0-9._-]{20,}"), "a set-password link"),
    (re.compile(r"spp_[A-Za-z0-9_-]{20,}"), "an API token (test_api_v1.py sends many)"),
]


def leaks(text):
    """Each secret found in the text, with a little of what surrounds it."""
    return [f"{what}: ...{text[max(0, m.start() - 60):m.end() + 20]}..."
            for pattern, what in FORBIDDEN for m in pattern.finditer(text)]
