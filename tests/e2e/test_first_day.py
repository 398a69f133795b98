"""A business's first day in Chromium: `flask business create`, the owner's password, invitations read from a real
SMTP server, an English employee's cancellation with a photo, mail to the owner and manager, the decision by mail."""
from datetime import timedelta

import pytest

from portal.extensions import db
from portal.models import User
from tests.conftest import Factory
from tests.e2e.conftest import _serve
from tests.media_fixtures import jpeg_bytes
from tests.smtp_server import link_in, text_of

PASSWORDS = {"owner": "owner passphrase 1", "manager": "manager passphrase 2", "employee": "employee passphrase 3"}


@pytest.fixture
def mail_live_server(mail_app):
    """The mailing app served over HTTP; links in mail and on the command line point at it."""
    for base in _serve(mail_app):
        mail_app.config["PORTAL_BASE_URL"] = base
        yield base


def mail_to(app, inbox, address, count=1):
    """The messages for address: sent after the response; if they are late (the dev server closes a kept-alive
    response late under load), run the retrier once, as the compose `mailer` service does every minute."""
    try:
        return inbox.wait_for(address, count=count, timeout=10)
    except AssertionError:
        assert app.test_cli_runner().invoke(args=["mail", "send-pending"]).exit_code == 0
        return inbox.wait_for(address, count=count)


def new_page(browser, language="en-US"):
    context = browser.new_context(locale=language, viewport={"width": 1280, "height": 900})
    context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())
    return context.new_page()


def choose_password(page, link, password, base):
    page.goto(link)
    page.fill("#new_password", password)
    page.fill("#confirm", password)
    page.click("#set-password-form button[type=submit]")
    page.wait_for_url(f"{base}/")


def invite(page, base, name, email, role):
    page.goto(f"{base}/staff/")
    page.fill("#invite-name", name)
    page.fill("#invite-email", email)
    page.select_option("#invite-role", role)
    page.select_option("#invite-language", "en")
    page.click("#invite-form button[type=submit]")
    page.wait_for_selector(f"text={name} is invited")


def test_a_business_starts_and_decides_its_first_cancellation_by_mail(browser, mail_app, mail_live_server,
                                                                      smtp_server, tmp_path):
    base, inbox = mail_live_server, smtp_server.inbox
    result = mail_app.test_cli_runner().invoke(args=[
        "business", "create", "--name", "Bistro Sever", "--timezone", "Europe/Moscow",
        "--owner-email", "olga@sever.example", "--owner-name", "Olga", "--language", "en"])
    assert result.exit_code == 0, result.output
    owner_link = result.output.strip().splitlines()[-1]
    assert owner_link.startswith(f"{base}/invitation/")

    owner = new_page(browser)
    choose_password(owner, owner_link, PASSWORDS["owner"], base)
    invite(owner, base, "Maxim", "maxim@sever.example", "manager")
    invite(owner, base, "Emma", "emma@sever.example", "employee")

    manager, employee = new_page(browser), new_page(browser, "ru-RU")
    choose_password(manager, link_in(mail_to(mail_app, inbox, "maxim@sever.example")[0]), PASSWORDS["manager"], base)
    [invitation] = mail_to(mail_app, inbox, "emma@sever.example")
    assert invitation["Subject"] == "You are invited to Bistro Sever"  # her chosen language, not her browser's
    choose_password(employee, link_in(invitation), PASSWORDS["employee"], base)
    assert employee.get_attribute("html", "lang") == "en"

    emma = db.session.execute(db.select(User).filter_by(email="emma@sever.example")).scalar_one()
    shift = Factory().shift(emma, starts_in=timedelta(days=2), title="Bar")
    photo = tmp_path / "sick-note.jpg"
    photo.write_bytes(jpeg_bytes(size=(1200, 900)))
    employee.goto(f"{base}/cancellations/")
    employee.select_option("#shift_id", str(shift.id))
    employee.fill("#reason", "Fever, the doctor's note is attached")
    employee.set_input_files("#proofs", [str(photo)])
    employee.click("#cancel-submit")
    employee.wait_for_selector("text=Your request was sent.")

    for address, count in (("olga@sever.example", 1), ("maxim@sever.example", 2)):
        [note] = [m for m in mail_to(mail_app, inbox, address, count=count) if m["Subject"].startswith("New request")]
        assert "Emma asks to cancel the shift" in text_of(note) and "1 proof file" in text_of(note)
        assert f"{base}/shifts/{shift.id}" in text_of(note)

    manager.goto(f"{base}/cancellations/")
    card = "article.cancellation"
    manager.fill(f"{card} textarea[name=comment]", "Get well soon")
    manager.once("dialog", lambda dialog: dialog.accept())  # a decision asks first
    manager.click(f"{card} button.approve")
    manager.wait_for_selector(f"{card} .badge-approved")

    decision = [m for m in mail_to(mail_app, inbox, "emma@sever.example", count=2) if m is not invitation][0]
    assert decision["Subject"] == "Your request was approved"
    assert "was approved by Maxim" in text_of(decision) and "Get well soon" in text_of(decision)
