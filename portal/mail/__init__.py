"""Mail: an outbox written in the transaction of the change that causes it, sent after the response.

`outbox.queue()` renders a message in its recipient's language and adds it to the caller's session; the caller
commits. A request that queued mail sends what is due once its response is on the wire (so the person does not
wait for the mail server), and `flask mail send-pending` retries what an outage left behind, with backoff.
"""
from flask import current_app, g

from . import sender


def init_app(app):
    """Build the transport from the MAIL_* settings and send queued mail after each response that queued some."""
    app.extensions["mail_transport"] = sender.build_transport(app.config)
    app.after_request(_send_after_response)


def _send_after_response(response):
    if g.pop("mail_queued", False):
        app = current_app._get_current_object()
        response.call_on_close(lambda: _send_due(app))
    return response


def _send_due(app):
    """Runs when the server has sent the response: a failure here is logged and retried later, never raised."""
    with app.app_context():
        try:
            sender.send_pending(limit=20)
        except Exception:  # noqa: BLE001  (the response is gone; the outbox keeps the mail for the retry)
            app.logger.exception("mail.send after response failed")
