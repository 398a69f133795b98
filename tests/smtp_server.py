"""A real SMTP server (aiosmtpd) on a free loopback port, whose received messages the tests read."""
import email
import email.policy
import re
import socket
import threading
import time
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import IsolatedClient, make_app

LINK_RE = re.compile(r"https?://\S+/(?:invitation|reset-password)/[A-Za-z0-9._-]+")


class Inbox:
    """What the server received, parsed; `refuse` set to an SMTP reply makes it refuse every message."""

    def __init__(self):
        self.messages = []
        self.refuse = None
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's hook name)
        if self.refuse:
            return self.refuse
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted"

    def to(self, address):
        """Messages received for this address, oldest first."""
        with self._lock:
            return [m for m in self.messages if address.lower() in m["To"].lower()]

    def wait_for(self, address, count=1, timeout=30):
        """Wait until count messages for address arrived (mail goes out after the response); return them."""
        deadline = time.monotonic() + timeout
        while len(self.to(address)) < count:
            assert time.monotonic() < deadline, f"no mail for {address} within {timeout} s: {self.summary()}"
            time.sleep(0.05)
        return self.to(address)

    def summary(self):
        with self._lock:
            return [(m["To"], m["Subject"]) for m in self.messages]


def text_of(message):
    """The plain-text part of a message."""
    return message.get_body(("plain",)).get_content()


def html_of(message):
    """The HTML part of a message."""
    return message.get_body(("html",)).get_content()


def link_in(message):
    """The set-password link of a message (the same in the text and the HTML part)."""
    found = LINK_RE.search(text_of(message))
    assert found, text_of(message)
    assert found.group(0) in html_of(message)
    return found.group(0)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    """An SMTP server on a free loopback port for one test: .host, .port, .inbox."""
    inbox = Inbox()
    for _ in range(5):  # the port was free a moment ago; another process may take it meanwhile
        controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
        try:
            controller.start()
            break
        except OSError:
            continue
    yield SimpleNamespace(host="127.0.0.1", port=controller.port, inbox=inbox)
    controller.stop()


@pytest.fixture
def mail_app(app, database_url, tmp_path, smtp_server):
    """The app sending mail to the test's SMTP server (the `app` fixture still empties the database afterwards)."""
    mailing = make_app(database_url, tmp_path, MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port,
                       PORTAL_BASE_URL="http://portal.test")
    mailing.test_client_class = IsolatedClient
    with mailing.app_context():
        yield mailing


@pytest.fixture
def mail_client(mail_app):
    """A browser on the mailing app, reading English."""
    client = mail_app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client
