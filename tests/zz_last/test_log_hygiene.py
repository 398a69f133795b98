"""Runs last: the logs of the whole suite hold no presigned signature, password, session cookie, CSRF or API token."""
import io
import re

from tests.conftest import PASSWORD, csrf_token_from
from tests.log_secrets import leaks
from tests.media_fixtures import jpeg_bytes


def _traffic(client, world):
    """A flow that puts every kind of secret on the wire: sign-in, upload, links, a wrong password."""
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": world.a.emp1.email, "password": "wrong " + PASSWORD, "csrf_token": token})
    client.post("/login", data={"email": world.a.emp1.email, "password": PASSWORD, "csrf_token": token})
    token = csrf_token_from(client.get("/cancellations/").get_data(as_text=True))
    client.post("/cancellations/", data={"csrf_token": token, "shift_id": world.a.shift1.id, "reason": "ill",
                                         "proofs": (io.BytesIO(jpeg_bytes()), "a.jpg")},
                content_type="multipart/form-data")
    page = client.get("/cancellations/").get_data(as_text=True)
    media_id = re.search(r"/media/(\d+)/thumbnail", page).group(1)
    client.get(client.get(f"/media/{media_id}/view").headers["Location"])


def test_the_suite_logs_hold_no_secrets(client, world, suite_log):
    _traffic(client, world)
    with open(suite_log, encoding="utf-8") as handle:
        text = handle.read()
    assert "portal.request" in text and "media.stored" in text  # the log really holds the traffic
    assert leaks(text) == []
