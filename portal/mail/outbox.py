"""queue(): the one way a message is written; it joins the caller's transaction, the caller commits."""
import re

from flask import current_app, g, render_template
from flask_babel import force_locale

from ..extensions import db
from ..models import OutboxMail

# Line breaks (CR, LF and Unicode's), tabs and other control characters: a header is one line, and a subject holds
# names that came from the API or an imported file as well as from forms.
BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def language_of(user):
    """The language mail to this person is written in."""
    return user.language or current_app.config["BABEL_DEFAULT_LOCALE"]


def queue(recipient, kind, subject, **context):
    """Render mail/<kind>.txt and .html and the (lazy) subject in the recipient's language; add to the outbox."""
    with force_locale(language_of(recipient)):
        context.update(recipient=recipient)
        row = OutboxMail(
            owner_id=recipient.owner_id, recipient_id=recipient.id, kind=kind, to_address=recipient.email,
            subject=one_line(str(subject))[:255], text_body=render_template(f"mail/{kind}.txt", **context),
            html_body=render_template(f"mail/{kind}.html", **context), status="pending",
        )
    db.session.add(row)
    g.mail_queued = True  # sent once the response is out, or when a worker's job is done (portal/mail/__init__.py)
    return row


def one_line(text):
    """text with every run of line breaks and control characters turned into one space."""
    return BREAKS.sub(" ", text).strip()


def pending_counts(owner_id):
    """(waiting, failed) messages of one business, for the owner's dashboard."""
    rows = db.session.execute(
        db.select(OutboxMail.status, db.func.count()).where(OutboxMail.owner_id == owner_id,
                                                            OutboxMail.status.in_(("pending", "failed")))
        .group_by(OutboxMail.status)
    ).all()
    counts = dict(rows)
    return counts.get("pending", 0), counts.get("failed", 0)
