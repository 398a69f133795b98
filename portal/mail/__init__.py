"""Mail: an outbox written in the transaction of the change that causes it, sent after the response.

`outbox.queue()` renders a message in its recipient's language and adds it to the caller's session; the caller
commits. A request that queued mail sends what is due once its response is on the wire (so the person does not
wait for the mail server), a queue worker's job once it has committed, and `flask mail send-pending` retries what an outage left behind, with backoff.

A request may also leave work for after its response (`after_response`): work whose cost must not show in the
answer's timing, such as looking up whether an address has an account before mailing it a link.
"""
from flask import g, request

from . import sender

QUEUED = "portal.mail_queued"  # the WSGI environ key by which a request tells SendAfterResponse to send
AFTER = "portal.after_response"  # ... and the work it left for after its response


def after_response(work):
    """Run work() once this request's response is on the wire, in a request context made from the same environ
    (so links name the same address), then send the mail it queued; a failure is logged, never answered."""
    g.setdefault("after_response", []).append(work)


def init_app(app):
    """Build the transport from the MAIL_* settings and send queued mail after each response that queued some."""
    app.extensions["mail_transport"] = sender.build_transport(app.config)
    app.after_request(_mark_queued)
    app.wsgi_app = SendAfterResponse(app.wsgi_app, app)


def _mark_queued(response):
    if g.pop("mail_queued", False):
        request.environ[QUEUED] = True
    if "after_response" in g:
        request.environ[AFTER] = g.pop("after_response")
    return response


class SendAfterResponse:
    """WSGI middleware: after a response that queued mail, send what is due, once the server has the whole body.

    Why not only `response.call_on_close`: PEP 3333 says a server must call the body's close(), but Werkzeug's
    development server (`make run`, the browser tests) first drains the socket, and when the browser resets the
    connection it has just read a `Connection: close` response from, the ConnectionResetError of that drain skips
    close(). The mail then waited for the next request that queued mail, or for `flask mail send-pending`. So the
    send runs when the server asks for more after the body's last chunk (every server has written it by then),
    or at close() when the body was not read to its end (a client gone early), and once only.
    """

    def __init__(self, wsgi_app, app):
        self.wsgi_app, self.app = wsgi_app, app

    def __call__(self, environ, start_response):
        body = self.wsgi_app(environ, start_response)
        queued, work = environ.pop(QUEUED, False), environ.pop(AFTER, ())
        if not queued and not work:
            return body
        return _BodyThenSend(body, lambda: _after(self.app, environ, work, queued))


class _BodyThenSend:
    """The app's body; `done` runs once, after its last chunk was taken or when it is closed."""

    def __init__(self, body, done):
        self._body, self._done = body, done

    def __iter__(self):
        yield from self._body
        self._finish()

    def close(self):
        close = getattr(self._body, "close", None)  # optional in PEP 3333
        try:
            if close is not None:
                close()
        finally:
            self._finish()

    def _finish(self):
        done, self._done = self._done, None
        if done is not None:
            done()


def send_queued(app):
    """Outside a request (a queue worker's job): send now what the job queued and committed."""
    if g.pop("mail_queued", False):
        _send_due(app)


def _after(app, environ, work, queued):
    for item in work:
        with app.request_context(environ):
            try:
                item()
            except Exception:  # noqa: BLE001  (the response is gone: nobody to answer)
                app.logger.exception("work after the response failed")
            queued = g.pop("mail_queued", False) or queued
    if queued:
        _send_due(app)


def _send_due(app):
    """Runs when the server has sent the response: a failure here is logged and retried later, never raised."""
    with app.app_context():
        try:
            sender.send_pending(limit=20)
        except Exception:  # noqa: BLE001  (the response is gone; the outbox keeps the mail for the retry)
            app.logger.exception("mail.send after response failed")
