"""flask mail send-pending: send what the outbox holds (run it from cron or a loop; it is safe to run twice)."""
import click

from . import sender


@click.group("mail")
def mail_group():
    """Outgoing mail."""


@mail_group.command("send-pending")
@click.option("--limit", default=500, show_default=True, help="At most this many messages in one run.")
def send_pending_command(limit):
    """Send every due message of the outbox; a failure waits longer before each new try (1, 2, 4 ... minutes)."""
    if sender.transport() is None:
        raise click.ClickException("MAIL_SERVER is not set: messages wait in the outbox until it is (docs/mail.md)")
    sent, failed = sender.send_pending(limit=limit)
    click.echo(f"{sent} sent, {failed} failed (tried again later)")
    if failed and not sent:
        raise SystemExit(1)
