"""A business's first day in Chromium: `flask business create`, the owner's password, invitations read from a real
SMTP server, next week's shifts from the form and a CSV, an English employee's cancellation with a photo, mail to
the owner and manager, the decision by mail, the open shift given to another employee.

Every message is awaited from the SMTP server with no `flask mail send-pending` in between: mail goes out after
the response that queued it (portal/mail/__init__.py, SendAfterResponse)."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Shift, User
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


def invite(page, base, inbox, name, email, role):
    """Invite on the staff page; the invitation as the SMTP server received it, before any other mail is queued
    (a later request's send would also carry a message whose own send after the response was lost)."""
    page.goto(f"{base}/staff/")
    page.fill("#invite-name", name)
    page.fill("#invite-email", email)
    page.select_option("#invite-role", role)
    page.select_option("#invite-language", "en")
    page.click("#invite-form button[type=submit]")
    page.wait_for_selector(f"text={name} is invited")
    [invitation] = inbox.wait_for(email)
    return invitation


def add_shift(page, base, day, employee, start, end, place):
    """The manager's "+ Add shift" on the week view, then the form."""
    page.goto(f"{base}/shifts/?week={day.isoformat()}")
    page.click(".week-actions a:has-text('Add shift')")
    page.select_option("#employee", label=employee)
    page.fill("#day", day.isoformat())
    page.fill("#start", start)
    page.fill("#end", end)
    page.fill("#title", place)
    page.click("#shift-form button[type=submit]")
    page.wait_for_selector("text=The shift was added.")


def import_csv(page, base, path):
    """Preview a CSV on the import page, then import it."""
    page.goto(f"{base}/shifts/import")
    page.set_input_files("#file", str(path))
    page.click("#import-upload button[type=submit]")
    page.wait_for_selector("#import-preview")
    assert page.locator("#import-preview tr.import-error").count() == 0
    page.click("#import-confirm button[type=submit]")
    page.wait_for_selector("text=Imported: 1 new, 0 updated, 0 unchanged, 0 skipped with errors.")


def shift_of(email):
    return db.session.execute(db.select(Shift).join(Shift.employee).where(User.email == email)).scalars().all()


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
    to_manager = invite(owner, base, inbox, "Maxim", "maxim@sever.example", "manager")
    invitation = invite(owner, base, inbox, "Emma", "emma@sever.example", "employee")
    invite(owner, base, inbox, "Ivan", "ivan@sever.example", "employee")

    manager, employee = new_page(browser), new_page(browser, "ru-RU")
    choose_password(manager, link_in(to_manager), PASSWORDS["manager"], base)
    assert invitation["Subject"] == "You are invited to Bistro Sever"  # her chosen language, not her browser's
    choose_password(employee, link_in(invitation), PASSWORDS["employee"], base)
    assert employee.get_attribute("html", "lang") == "en"

    # next week's shifts: Emma's from the week view's form, Ivan's from a spreadsheet's CSV
    today = datetime.now(ZoneInfo("Europe/Moscow")).date()
    monday = today + timedelta(days=7 - today.weekday())
    add_shift(manager, base, monday + timedelta(days=1), "Emma", "09:00", "17:00", "Bar")
    sheet = tmp_path / "next-week.csv"
    sheet.write_bytes(f"email;date;start;end;place\nivan@sever.example;{monday + timedelta(days=2):%d.%m.%Y};"
                      "22:00;06:00;Kitchen\n".encode("utf-8-sig"))
    import_csv(manager, base, sheet)
    [shift] = shift_of("emma@sever.example")
    [night] = shift_of("ivan@sever.example")
    assert (night.ends_at - night.starts_at) == timedelta(hours=8)  # overnight, in the business's timezone
    created = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "shift.create",
                                                             AuditEvent.shift_id == shift.id)).scalar_one()
    assert created.actor.email == "maxim@sever.example"

    photo = tmp_path / "sick-note.jpg"
    photo.write_bytes(jpeg_bytes(size=(1200, 900)))
    employee.goto(f"{base}/cancellations/")
    employee.select_option("#shift_id", str(shift.id))
    employee.fill("#reason", "Fever, the doctor's note is attached")
    employee.set_input_files("#proofs", [str(photo)])
    employee.click("#cancel-submit")
    employee.wait_for_selector("text=Your request was sent.")

    for address, count in (("olga@sever.example", 1), ("maxim@sever.example", 2)):
        [note] = [m for m in inbox.wait_for(address, count=count) if m["Subject"].startswith("New request")]
        assert "Emma asks to cancel the shift" in text_of(note) and "1 proof file" in text_of(note)
        assert f"{base}/shifts/{shift.id}" in text_of(note)

    manager.goto(f"{base}/cancellations/")
    card = "article.cancellation"
    manager.fill(f"{card} textarea[name=comment]", "Get well soon")
    manager.once("dialog", lambda dialog: dialog.accept())  # a decision asks first
    manager.click(f"{card} button.approve")
    manager.wait_for_selector(f"{card} .badge-approved")

    decision = [m for m in inbox.wait_for("emma@sever.example", count=2) if m is not invitation][0]
    assert decision["Subject"] == "Your request was approved"
    assert "was approved by Maxim" in text_of(decision) and "Get well soon" in text_of(decision)

    # the shift is open now: the manager gives it to Ivan on the week view
    manager.goto(f"{base}/shifts/?week={monday.isoformat()}")
    manager.select_option(f"#reassign-employee-{shift.id}", label="Ivan")
    manager.click(f"#reassign-{shift.id} button[type=submit]")
    manager.wait_for_selector("text=The shift now belongs to Ivan.")
    assert manager.locator(f"#shift-{shift.id} .emp").inner_text() == "Ivan"
    db.session.expire_all()
    given = db.session.get(Shift, shift.id)
    assert (given.employee.email, given.status) == ("ivan@sever.example", "scheduled")
