"""The staff page: invitations by mail, resend, deactivate and reactivate, roles; who may do what."""
import pytest

from portal.extensions import db
from portal.models import AuditEvent, OutboxMail, User
from tests.conftest import PASSWORD, Auth, IsolatedClient, csrf_token_from, make_app
from tests.smtp_server import html_of, link_in, text_of


def _post(client, path, **data):
    """POST a form; the response is closed as a server closes it, which sends the mail it queued."""
    token = csrf_token_from(client.get("/account/").get_data(as_text=True))
    response = client.post(path, data={"csrf_token": token, **data})
    response.close()
    return response


def _counts():
    return tuple(db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()
                 for model in (User, OutboxMail, AuditEvent))


def test_an_invited_employee_gets_mail_in_their_language_with_a_working_link(mail_app, mail_client, smtp_server,
                                                                            world):
    Auth(mail_client).login(world.a.owner)
    response = _post(mail_client, "/staff/invite", name="Nina Petrova", email="Nina@Example.com", role="employee",
                     language="ru")
    assert response.status_code == 303
    [message] = smtp_server.inbox.wait_for("nina@example.com")
    assert message["Subject"] == "Вас приглашают в Alpha"
    assert "Nina Petrova" in text_of(message) and "Nina Petrova" in html_of(message)
    link = link_in(message)
    assert link.startswith("http://portal.test/invitation/")
    newcomer = db.session.execute(db.select(User).filter_by(email="nina@example.com")).scalar_one()
    assert (newcomer.role, newcomer.owner_id, newcomer.status) == ("employee", world.a.owner.id, "invited")
    response = mail_app.test_client().get(link.replace("http://portal.test", ""))
    assert response.status_code == 200 and "Nina Petrova" in response.get_data(as_text=True)


def test_the_invitation_link_sets_the_password_once_and_signs_the_person_in(mail_client, smtp_server, world):
    Auth(mail_client).login(world.a.owner)
    _post(mail_client, "/staff/invite", name="Oleg", email="oleg@example.com", role="manager", language="en")
    path = link_in(smtp_server.inbox.wait_for("oleg@example.com")[0]).replace("http://portal.test", "")
    Auth(mail_client).logout()
    page = mail_client.get(path).get_data(as_text=True)
    token = csrf_token_from(page)
    response = mail_client.post(path, data={"csrf_token": token, "new_password": "a long new secret",
                                            "confirm": "a long new secret"})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert mail_client.get("/audit/").status_code == 200  # signed in, as a manager
    oleg = db.session.execute(db.select(User).filter_by(email="oleg@example.com")).scalar_one()
    assert oleg.status == "active" and oleg.last_sign_in_at is not None
    again = mail_client.get(path)
    assert again.status_code == 410 and "used already" in again.get_data(as_text=True)


@pytest.mark.parametrize("email,message", [
    ("a-owner-taken", "Someone already has an account with this email."),
    ("not-an-address", "This is not an email address."),
    ("two@@example.com", "This is not an email address."),
    ("", "Write the person's email."),
])
def test_a_bad_or_taken_email_is_refused_with_a_message_and_nothing_is_written(mail_client, smtp_server, world,
                                                                              email, message):
    Auth(mail_client).login(world.a.owner)
    email = world.b.emp1.email.upper() if email == "a-owner-taken" else email
    before = _counts()
    response = _post(mail_client, "/staff/invite", name="Someone", email=email, role="employee", language="en")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _counts() == before and smtp_server.inbox.messages == []


def test_a_manager_invites_employees_but_not_managers(mail_client, smtp_server, world):
    Auth(mail_client).login(world.a.manager)
    page = mail_client.get("/staff/").get_data(as_text=True)
    assert 'value="manager"' not in page.split('id="invite-form"')[1]
    assert _post(mail_client, "/staff/invite", name="Boss", email="boss@example.com", role="manager",
                 language="en").status_code == 422
    assert _post(mail_client, "/staff/invite", name="Pavel", email="pavel@example.com", role="employee",
                 language="en").status_code == 303
    pavel = db.session.execute(db.select(User).filter_by(email="pavel@example.com")).scalar_one()
    assert pavel.role == "employee" and pavel.owner_id == world.a.owner.id


def test_resending_an_invitation_makes_the_earlier_link_stop_working(mail_client, smtp_server, world):
    Auth(mail_client).login(world.a.owner)
    _post(mail_client, "/staff/invite", name="Rita", email="rita@example.com", role="employee", language="en")
    first = link_in(smtp_server.inbox.wait_for("rita@example.com")[0]).replace("http://portal.test", "")
    rita = db.session.execute(db.select(User).filter_by(email="rita@example.com")).scalar_one()
    assert _post(mail_client, f"/staff/{rita.id}/resend").status_code == 303
    second = link_in(smtp_server.inbox.wait_for("rita@example.com", count=2)[1]).replace("http://portal.test", "")
    assert mail_client.get(first).status_code == 410
    assert mail_client.get(second).status_code == 409  # valid, but the owner is signed in in this browser
    actions = db.session.execute(db.select(AuditEvent.action).where(AuditEvent.action.like("staff.%"))).scalars()
    assert sorted(actions) == ["staff.invite", "staff.resend"]


def test_resend_to_someone_with_a_password_changes_nothing(client, auth, world):
    auth.login(world.a.owner)
    response = _post(client, f"/staff/{world.a.emp1.id}/resend")
    assert response.status_code == 303
    assert "not in a state for this" in client.get("/staff/").get_data(as_text=True)


def test_a_deactivated_employee_cannot_sign_in_and_their_name_stays_in_the_audit_log(app, client, auth, proofs):
    employee = proofs.a.emp1
    other = app.test_client()
    Auth(other).login(employee)
    assert other.get("/cancellations/").status_code == 200
    auth.login(proofs.a.owner)
    assert _post(client, f"/staff/{employee.id}/deactivate").status_code == 303
    assert other.get("/cancellations/").status_code == 302  # the session ended
    assert Auth(app.test_client()).login(employee).status_code == 200  # the sign-in form again: refused
    log = client.get("/audit/").get_data(as_text=True)
    assert log.count(employee.display_name) >= 2  # their own upload, and the deactivation of them
    assert "Deactivated a person: " + employee.display_name in log
    staff = client.get("/staff/").get_data(as_text=True)
    assert f'id="person-{employee.id}" data-status="deactivated"' in staff
    assert client.get(f"/shifts/{proofs.a.shift1.id}").status_code == 200  # the request and proofs stay
    assert _post(client, f"/staff/{employee.id}/reactivate").status_code == 303
    assert Auth(app.test_client()).login(employee).status_code == 302


def test_the_owner_changes_roles_between_employee_and_manager_only(client, auth, world):
    auth.login(world.a.owner)
    assert _post(client, f"/staff/{world.a.emp1.id}/role", role="manager").status_code == 303
    db.session.refresh(world.a.emp1)
    assert world.a.emp1.role == "manager"
    assert _post(client, f"/staff/{world.a.emp1.id}/role", role="owner").status_code == 400
    assert _post(client, f"/staff/{world.a.owner.id}/role", role="employee").status_code == 403
    assert _post(client, f"/staff/{world.a.owner.id}/deactivate").status_code == 403
    event = db.session.execute(db.select(AuditEvent).filter_by(action="staff.role")).scalar_one()
    assert event.detail == {"user_id": world.a.emp1.id, "name": world.a.emp1.display_name, "role": "manager",
                            "from": "employee"}


def test_the_staff_list_shows_role_status_and_last_sign_in(client, auth, world, factory):
    invited = factory.user(world.a.owner, name="Not Yet", password_hash=None)
    auth.login(world.a.owner)
    page = client.get("/staff/").get_data(as_text=True)
    assert f'id="person-{invited.id}" data-status="invited"' in page
    assert f'id="person-{world.a.emp2.id}" data-status="active"' in page
    assert world.b.emp1.display_name not in page
    owner_row = page.split(f'id="person-{world.a.owner.id}"')[1].split("</tr>")[0]
    assert "Owner" in owner_row and "—" not in owner_row  # signed in just now


@pytest.fixture
def senders(database_url, tmp_path, world, request):
    """(app, manager's browser, owner's browser) on an app with the test's `settings` marker, reading English."""
    app = make_app(database_url, tmp_path, **request.node.get_closest_marker("settings").kwargs)
    app.test_client_class = IsolatedClient
    manager, owner = app.test_client(), app.test_client()
    for client, person in ((manager, world.a.manager), (owner, world.a.owner)):
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        Auth(client).login(person)
    return app, manager, owner


@pytest.mark.settings(INVITATION_RATE_LIMIT="3 per hour", INVITATION_RESEND_RATE_LIMIT="2 per hour")
def test_invitations_from_the_staff_page_are_counted_per_sender_and_resends_per_person(senders):
    app, manager, owner = senders
    codes = [_post(manager, "/staff/invite", name=f"Guest {n}", email=f"guest{n}@example.com", role="employee",
                   language="en").status_code for n in range(3)]
    assert codes == [303] * 3
    refused = _post(manager, "/staff/invite", name="Lena", email="lena@example.com", role="employee", language="en")
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 3600
    page = refused.get_data(as_text=True)
    assert "Too many invitations sent in a short time." in page and 'value="lena@example.com"' in page
    with app.app_context():
        assert not User.query.filter_by(email="lena@example.com").first()  # nothing half-done
        guest = User.query.filter_by(email="guest0@example.com").one()
        assert _post(owner, f"/staff/{guest.id}/resend").status_code == 303  # another sender's own allowance
        assert _post(owner, f"/staff/{guest.id}/resend").status_code == 303
        third = _post(owner, f"/staff/{guest.id}/resend")
        assert third.status_code == 303 and "Too many invitations" in owner.get("/staff/").get_data(as_text=True)
        mails = OutboxMail.query.filter_by(to_address="guest0@example.com").count()
        assert mails == 3  # the invitation and two resends


@pytest.mark.settings(INVITATION_RATE_LIMIT="2 per hour", INVITATION_RESEND_RATE_LIMIT="1 per hour")
def test_refused_invitations_and_resends_spend_no_allowance(senders, world):
    app, manager, owner = senders
    for _ in range(3):  # a taken address is refused, and costs nothing
        assert _post(manager, "/staff/invite", name="Again", email=world.a.emp1.email, role="employee",
                     language="en").status_code == 422
    assert _post(owner, "/staff/invite", name="Mira", email="mira@example.com", role="manager",
                 language="en").status_code == 303
    with app.app_context():
        invited_manager = User.query.filter_by(email="mira@example.com").one()
    for _ in range(3):  # a manager may not resend a manager's invitation: refused, and it costs Mira nothing
        assert _post(manager, f"/staff/{invited_manager.id}/resend").status_code == 403
    assert _post(owner, f"/staff/{invited_manager.id}/resend").status_code == 303
    assert "A new invitation link is on its way to Mira." in owner.get("/staff/").get_data(as_text=True)
    codes = [_post(manager, "/staff/invite", name=f"Guest {n}", email=f"guest{n}@example.com", role="employee",
                   language="en").status_code for n in range(3)]
    assert codes == [303, 303, 429]  # the manager's two
