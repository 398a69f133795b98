"""Mail goes through the outbox: written with the change that causes it, sent after the response, kept through an
SMTP outage and retried with backoff; decisions and new requests reach the right people in their language."""
import io
import logging
import secrets
from datetime import timedelta

import pytest

from portal.extensions import db
from portal.mail import sender
from portal.models import OutboxMail, utcnow
from tests.conftest import Auth, IsolatedClient, csrf_token_from, make_app
from tests.media_fixtures import jpeg_bytes
from tests.smtp_server import html_of, text_of


def _post(client, path, page, **data):
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    response = client.post(path, data={"csrf_token": token, **data}, content_type="multipart/form-data")
    response.close()  # as a server does: the mail the request queued goes out now
    return response


def _outbox():
    db.session.expire_all()
    return db.session.execute(db.select(OutboxMail).order_by(OutboxMail.id)).scalars().all()


def _make_due():
    db.session.execute(db.update(OutboxMail).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def _invite(client, email="lena@example.com"):
    return _post(client, "/staff/invite", "/staff/", name="Lena", email=email, role="employee", language="en")


def test_an_smtp_outage_loses_nothing_and_send_pending_delivers_later(mail_app, mail_client, smtp_server, world):
    Auth(mail_client).login(world.a.owner)
    smtp_server.inbox.refuse = "451 4.3.0 Try again later"
    assert _invite(mail_client).status_code == 303  # the invitation itself is saved
    [row] = _outbox()
    assert (row.status, row.attempts) == ("pending", 1) and "451" in row.last_error
    assert row.next_attempt_at > utcnow() + timedelta(seconds=30)
    runner = mail_app.test_cli_runner()
    assert "0 sent" in runner.invoke(args=["mail", "send-pending"]).output  # not due yet: nothing tried
    smtp_server.inbox.refuse = None
    _make_due()
    result = runner.invoke(args=["mail", "send-pending"])
    assert result.exit_code == 0 and "1 sent" in result.output
    [message] = smtp_server.inbox.wait_for("lena@example.com")
    assert message["Subject"] == "You are invited to Alpha"
    assert [(r.status, r.attempts) for r in _outbox()] == [("sent", 2)]
    assert "1 sent" not in runner.invoke(args=["mail", "send-pending"]).output  # sent once only


def test_an_unreachable_mail_server_keeps_the_mail_and_the_change(database_url, tmp_path, app, world):
    dead = make_app(database_url, tmp_path, MAIL_SERVER="127.0.0.1", MAIL_PORT=9, MAIL_TIMEOUT=2)
    dead.test_client_class = IsolatedClient
    with dead.app_context():
        client = dead.test_client()
        Auth(client).login(world.a.owner)
        assert _invite(client).status_code == 303
        [row] = _outbox()
        assert row.status == "pending" and row.attempts == 1 and "Connection refused" in row.last_error
        result = dead.test_cli_runner().invoke(args=["mail", "send-pending"])
        assert "0 sent" in result.output


def test_a_refused_recipient_is_given_up_at_once_and_retries_stop_at_the_maximum(mail_app, mail_client, smtp_server,
                                                                               world):
    Auth(mail_client).login(world.a.owner)
    smtp_server.inbox.refuse = "550 5.1.1 No such mailbox"
    _invite(mail_client, "gone@example.com")
    assert [(r.status, r.attempts) for r in _outbox()] == [("failed", 1)]
    smtp_server.inbox.refuse = "451 4.3.0 Try again later"
    mail_app.config["MAIL_MAX_ATTEMPTS"] = 3
    _invite(mail_client, "later@example.com")
    for _ in range(2):
        _make_due()
        mail_app.test_cli_runner().invoke(args=["mail", "send-pending"])
    assert [(r.to_address, r.status, r.attempts) for r in _outbox()] == [
        ("gone@example.com", "failed", 1), ("later@example.com", "failed", 3)]
    assert "given up after every retry" in mail_client.get("/storage/").get_data(as_text=True)


def _unsent_invitation(client, email):
    """POST an invitation and get the response unread and open: the server has not taken the body yet."""
    token = csrf_token_from(client.get("/staff/").get_data(as_text=True))
    return client.post("/staff/invite", data={"csrf_token": token, "name": "Lena", "email": email,
                                              "role": "employee", "language": "en"}, buffered=False)


def test_mail_goes_out_once_the_server_has_the_body_though_it_never_closes_it(mail_app, mail_client, smtp_server,
                                                                             world):
    # Werkzeug's development server skips close() when the browser resets the connection after the response
    Auth(mail_client).login(world.a.owner)
    response = _unsent_invitation(mail_client, "lena@example.com")
    assert response.status_code == 303 and smtp_server.inbox.to("lena@example.com") == []  # not before the body
    response.get_data()  # the server writes the whole body, and does not call close()
    assert smtp_server.inbox.wait_for("lena@example.com", timeout=10)[0]["Subject"] == "You are invited to Alpha"
    response.close()
    assert [(r.status, r.attempts) for r in _outbox()] == [("sent", 1)]


def test_mail_goes_out_at_close_when_the_body_was_not_read(mail_app, mail_client, smtp_server, world):
    Auth(mail_client).login(world.a.owner)
    response = _unsent_invitation(mail_client, "lena@example.com")
    response.close()  # a client gone before the body: the server closes it unread
    smtp_server.inbox.wait_for("lena@example.com", timeout=10)
    assert [(r.status, r.attempts) for r in _outbox()] == [("sent", 1)]


def test_a_name_with_line_breaks_makes_a_one_line_subject_and_the_mail_goes_out(mail_client, smtp_server, world):
    # forms refuse a line break in a name; the API and an imported file may still bring one
    world.a.emp1.display_name = "Bob\r\nBcc: everyone@evil.example\u2028\tSmith"
    world.a.owner.language = "en"
    db.session.commit()
    _send_request(mail_client, world)
    [to_owner] = smtp_server.inbox.wait_for(world.a.owner.email)
    assert to_owner["Subject"] == "New request with proofs from Bob Bcc: everyone@evil.example Smith"
    assert to_owner["Bcc"] is None and not smtp_server.inbox.to("everyone@evil.example")


def test_a_message_that_cannot_be_built_fails_alone_and_the_others_go_out(mail_app, smtp_server, world):
    from portal.mail import messages

    for person in (world.a.emp1, world.b.emp1):
        messages.password_reset(person, "http://portal.test/reset-password/x")
    db.session.commit()
    broken, fine = _outbox()
    broken.subject = "Reset\r\nBcc: everyone@evil.example"  # a row written before subjects were one line
    db.session.commit()
    _make_due()
    result = mail_app.test_cli_runner().invoke(args=["mail", "send-pending"])
    assert result.exit_code == 0 and "1 sent" in result.output
    assert smtp_server.inbox.wait_for(world.b.emp1.email) and not smtp_server.inbox.to(world.a.emp1.email)
    assert [(r.status, r.attempts) for r in _outbox()] == [("failed", 1), ("sent", 1)]
    assert "ValueError" in _outbox()[0].last_error


def test_backoff_doubles_from_a_minute_up_to_six_hours():
    assert [sender.backoff(n) for n in (1, 2, 3, 6)] == [timedelta(minutes=m) for m in (1, 2, 4, 32)]
    assert sender.backoff(30) == timedelta(hours=6)


def test_two_senders_never_take_the_same_message(mail_app, world):
    from portal.mail import messages

    messages.password_reset(world.a.emp1, "http://portal.test/reset-password/x")
    db.session.commit()
    [row] = _outbox()
    now = utcnow()
    assert sender._claim(row.id, now) is not None
    assert sender._claim(row.id, now) is None


def test_the_storage_page_counts_mail_waiting_for_the_business(mail_app, mail_client, smtp_server, world):
    smtp_server.inbox.refuse = "451 4.3.0 Try again later"
    Auth(mail_client).login(world.a.owner)
    _invite(mail_client)
    page = mail_client.get("/storage/").get_data(as_text=True)
    assert 'data-figure="mail-waiting">1<' in page
    Auth(mail_client).logout()
    Auth(mail_client).login(world.b.owner)
    assert 'data-figure="mail-waiting">0<' in mail_client.get("/storage/").get_data(as_text=True)


def test_in_development_mail_is_shown_on_the_console_not_in_the_log(app, client, auth, world, capsys, caplog):
    auth.login(world.a.owner)
    capsys.readouterr()
    with caplog.at_level(logging.INFO):
        assert _invite(client).status_code == 303
    assert [r.status for r in _outbox()] == ["sent"]
    shown = capsys.readouterr().err
    assert "You are invited to Alpha" in shown and "http://localhost/invitation/" in shown
    assert "mail.sent" in caplog.text and "/invitation/" not in caplog.text


def test_in_production_without_a_mail_server_mail_waits(database_url, tmp_path, app, world):
    held = make_app(database_url, tmp_path, PORTAL_ENV="production", RATELIMIT_STORAGE_URI="memory://",
                    SECRET_KEY=secrets.token_hex(32), PORTAL_BASE_URL="https://portal.test")
    assert sender.build_transport(held.config) is None
    with held.app_context():
        result = held.test_cli_runner().invoke(args=["mail", "send-pending"])
        assert result.exit_code != 0 and "MAIL_SERVER is not set" in result.output


def _send_request(mail_client, world):
    """a.emp1 (Russian) asks to cancel shift A1 with a photo; the mail it causes has been sent."""
    world.a.emp1.language = "ru"
    db.session.commit()
    Auth(mail_client).login(world.a.emp1)
    response = _post(mail_client, "/cancellations/", "/cancellations/", shift_id=str(world.a.shift1.id),
                     reason="Температура 39", proofs=(io.BytesIO(jpeg_bytes()), "справка.jpg"))
    assert response.status_code == 302
    Auth(mail_client).logout()
    return world


@pytest.fixture
def request_sent(mail_client, smtp_server, world):
    return _send_request(mail_client, world)


def test_a_new_request_mails_the_owner_and_managers_who_keep_notifications_on(mail_client, smtp_server, world,
                                                                            factory):
    quiet = factory.user(world.a.owner, "manager", name="Quiet Manager", email_notifications=False)
    gone = factory.user(world.a.owner, "manager", name="Gone Manager", active=False)
    world.a.owner.language = "en"
    db.session.commit()
    _send_request(mail_client, world)
    [to_owner] = smtp_server.inbox.wait_for(world.a.owner.email)
    [to_manager] = smtp_server.inbox.wait_for(world.a.manager.email)
    assert to_owner["Subject"] == "New request with proofs from Alpha Worker One"
    assert "Температура 39" in text_of(to_owner) and "1 proof file is attached" in text_of(to_owner)
    assert f"http://portal.test/shifts/{world.a.shift1.id}" in html_of(to_owner)
    assert to_manager["Subject"] == "Новая заявка с подтверждениями от Alpha Worker One"  # no language: Russian
    assert not smtp_server.inbox.to(quiet.email) and not smtp_server.inbox.to(gone.email)
    assert not smtp_server.inbox.to(world.b.owner.email) and not smtp_server.inbox.to(world.a.emp1.email)


@pytest.mark.parametrize("decision,subject,line", [
    ("approve", "Ваша заявка одобрена", "Смена отменена."),
    ("reject", "Ваша заявка отклонена", "Смена остаётся в вашем графике."),
])
def test_the_employee_gets_the_decision_with_the_comment_in_their_language(mail_client, smtp_server, request_sent,
                                                                           decision, subject, line):
    world = request_sent
    Auth(mail_client).login(world.a.manager)
    from portal.models import ShiftCancellation

    cancellation_id = db.session.execute(db.select(ShiftCancellation.id)).scalar_one()
    response = _post(mail_client, f"/cancellations/{cancellation_id}/decide", "/cancellations/",
                     decision=decision, comment="Выздоравливайте")
    assert response.status_code == 303
    [message] = smtp_server.inbox.wait_for(world.a.emp1.email)
    assert message["Subject"] == subject
    for part in (text_of(message), html_of(message)):
        assert line in part and "Выздоравливайте" in part and "Alpha Manager" in part
    again = _post(mail_client, f"/cancellations/{cancellation_id}/decide", "/cancellations/", decision="approve")
    assert again.status_code == 303  # refused as decided already, without JavaScript: back to the page
    assert len([r for r in _outbox() if r.kind == "decision"]) == 1


def test_an_employee_who_turned_mail_off_gets_no_decision(mail_client, smtp_server, request_sent):
    world = request_sent
    world.a.emp1.email_notifications = False
    db.session.commit()
    from portal.models import ShiftCancellation

    cancellation_id = db.session.execute(db.select(ShiftCancellation.id)).scalar_one()
    Auth(mail_client).login(world.a.owner)
    _post(mail_client, f"/cancellations/{cancellation_id}/decide", "/cancellations/", decision="approve")
    assert [r.kind for r in _outbox()].count("decision") == 0
