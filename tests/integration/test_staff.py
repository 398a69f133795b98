"""The staff page: invitations by mail, resend, deactivate and reactivate, roles; who may do what."""
import pytest

from portal.extensions import db
from portal.models import AuditEvent, OutboxMail, User
from tests.conftest import PASSWORD, Auth, csrf_token_from
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


def test_an_invited_employee_gets_mail_in_their_language_and_sets_a_password(mail_client, smtp_server, world):
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
