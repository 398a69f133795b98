"""Sending what the outbox holds: SMTP (smtplib), or the console in development; claims, retries with backoff."""
import logging
import smtplib
import ssl
import sys
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from flask import current_app

from ..extensions import db
from ..models import OutboxMail, utcnow

log = logging.getLogger("portal.mail")
# How long a sender holds a message it is sending before another sender may take it (a crash mid-send).
CLAIM_SECONDS = 300
LONGEST_WAIT = timedelta(hours=6)


class SMTPTransport:
    """Sends through the mail server of the MAIL_* settings, one connection per batch."""

    def __init__(self, config):
        self.host, self.port, self.timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT"]
        self.starttls, self.tls = config["MAIL_USE_TLS"], config["MAIL_USE_SSL"]
        self.username, self.password = config["MAIL_USERNAME"], config["MAIL_PASSWORD"]

    def connect(self):
        """An open, signed-in SMTP connection; OSError or SMTPException when it cannot be had."""
        if self.tls:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp


class _ConsoleConnection:
    def quit(self):
        pass

    def send_message(self, message):
        # The console, not the log: the text holds live set-password links, which logs never carry.
        text = message.get_body(("plain",)).get_content()
        print(f"--- mail (development: shown here, not sent) to {message['To']}: {message['Subject']}\n{text}---",
              file=sys.stderr, flush=True)


class ConsoleTransport:
    """Development and tests without a mail server: each message is printed to the console and counts as sent."""

    def connect(self):
        return _ConsoleConnection()


def build_transport(config):
    """SMTP when MAIL_SERVER is set; the console in development and testing; None (mail waits) in production."""
    if config["MAIL_SERVER"]:
        return SMTPTransport(config)
    return None if config["PORTAL_ENV"] == "production" else ConsoleTransport()


def transport():
    """The current app's transport (None: production without MAIL_SERVER, mail waits in the outbox)."""
    return current_app.extensions["mail_transport"]


def build_message(row, sender):
    """The EmailMessage for an outbox row: plain text with an HTML alternative, a Message-ID stable over retries."""
    message = EmailMessage()
    message["Subject"] = row.subject
    message["From"] = sender
    message["To"] = row.to_address
    message["Date"] = format_datetime(row.created_at)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<outbox-{row.id}-{int(row.created_at.timestamp())}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(row.text_body)
    message.add_alternative(row.html_body, subtype="html")
    return message


def backoff(attempts):
    """The wait before the next try after this many failed attempts: 1, 2, 4 ... minutes, at most six hours."""
    return min(timedelta(minutes=2 ** (attempts - 1)), LONGEST_WAIT)


def _due_ids(limit, now):
    return db.session.execute(
        db.select(OutboxMail.id).where(OutboxMail.status == "pending", OutboxMail.next_attempt_at <= now)
        .order_by(OutboxMail.next_attempt_at, OutboxMail.id).limit(limit)
    ).scalars().all()


def _claim(mail_id, now):
    """Take one due message for this sender (a conditional update, so two senders never send it both)."""
    taken = db.session.execute(
        db.update(OutboxMail)
        .where(OutboxMail.id == mail_id, OutboxMail.status == "pending", OutboxMail.next_attempt_at <= now)
        .values(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    db.session.commit()
    return db.session.get(OutboxMail, mail_id) if taken else None


def _record_failure(row, error, permanent=False):
    row.attempts += 1
    row.last_error = f"{type(error).__name__}: {error}"[:500]
    if permanent or row.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
        row.status = "failed"
    else:
        row.next_attempt_at = utcnow() + backoff(row.attempts)
    db.session.commit()
    log.warning("mail.failed mail_id=%s kind=%s attempts=%s status=%s: %s", row.id, row.kind, row.attempts,
                row.status, row.last_error)


def _permanent(error):
    """A 5xx answer about this message (a refused recipient): trying again would not help."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in error.recipients.values())
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500 and \
        not isinstance(error, smtplib.SMTPAuthenticationError)


def send_pending(limit=100):
    """Send due messages, oldest first; return (sent, failed). A dead mail server stops the batch, the rest wait."""
    chosen = transport()
    if chosen is None:
        log.warning("mail.held: MAIL_SERVER is not set; messages wait in the outbox")
        return 0, 0
    now, sender = utcnow(), current_app.config["MAIL_DEFAULT_SENDER"]
    ids, sent, failed = _due_ids(limit, now), 0, 0
    if not ids:
        return 0, 0
    connection = None
    try:
        for mail_id in ids:
            row = _claim(mail_id, now)
            if row is None:
                continue  # another sender has it
            try:
                message = build_message(row, sender)
            except Exception as error:  # noqa: BLE001  (a row no mail can be made of must not hold up the rest)
                failed += 1
                _record_failure(row, error, permanent=True)
                continue
            try:
                connection = connection or chosen.connect()
                connection.send_message(message)
            except (OSError, smtplib.SMTPException) as error:
                failed += 1
                _record_failure(row, error, permanent=_permanent(error))
                if not _permanent(error):
                    break  # the server is down or refusing: the rest wait for the next run
                continue
            row.status, row.sent_at, row.attempts = "sent", utcnow(), row.attempts + 1
            db.session.commit()
            sent += 1
            log.info("mail.sent mail_id=%s kind=%s", row.id, row.kind)
    finally:
        if connection is not None:
            try:
                connection.quit()
            except (OSError, smtplib.SMTPException):
                pass
    return sent, failed
