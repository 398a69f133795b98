"""The person's own account: profile, password change, forgotten password by mail, and the language switch."""
import pytest

from portal.extensions import db
from portal.models import AuditEvent, OutboxMail
from tests.conftest import PASSWORD, Auth, IsolatedClient, csrf_token_from, make_app
from tests.smtp_server import link_in, text_of

NEW = "a brand new passphrase"
SAME_ANSWER = "If an account uses this address, a link to set a new password is on its way."


def _post(client, path, page="/account/", **data):
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    response = client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)
    response.close()  # as a server does: mail queued by the request goes out now
    return response


def test_changing_the_password_asks_the_current_one_and_ends_other_sessions(app, client, auth, world):
    other = app.test_client()
    Auth(other).login(world.a.emp1)
    auth.login(world.a.emp1)
    wrong = _post(client, "/account/password", current_password="not it", new_password=NEW, confirm=NEW)
    assert wrong.status_code == 422 and "This is not your current password." in wrong.get_data(as_text=True)
    assert other.get("/account/").status_code == 200
    assert _post(client, "/account/password", current_password=PASSWORD, new_password=NEW,
                 confirm=NEW).status_code == 303
    assert client.get("/account/").status_code == 200  # this browser stays signed in
    assert other.get("/account/").status_code == 302  # the other one is signed out
    assert Auth(app.test_client()).login(world.a.emp1, NEW).status_code == 302


def test_guessing_the_current_password_is_throttled_like_sign_in(database_url, tmp_path, world):
    app = make_app(database_url, tmp_path, LOGIN_RATE_LIMIT="3 per minute")
    app.test_client_class = IsolatedClient
    client = app.test_client()
    Auth(client).login(world.a.emp1)
    codes = [_post(client, "/account/password", current_password=f"guess {n}", new_password=NEW,
                   confirm=NEW).status_code for n in range(4)]
    assert codes == [422, 422, 422, 429]
    assert _post(client, "/account/password", current_password=PASSWORD, new_password=NEW,
                 confirm=NEW).status_code == 429


def test_the_profile_saves_name_language_and_notifications(client, auth, world):
    auth.login(world.a.manager)
    assert _post(client, "/account/profile", name="  Mikhail O.  ", language="ru").status_code == 303
    db.session.refresh(world.a.manager)
    assert (world.a.manager.display_name, world.a.manager.language, world.a.manager.email_notifications) == \
        ("Mikhail O.", "ru", False)
    assert 'lang="ru"' in client.get("/account/").get_data(as_text=True)
    bad = _post(client, "/account/profile", name="", language="xx", email_notifications="y")
    assert bad.status_code == 422


def _profile_events():
    db.session.expire_all()
    return db.session.execute(db.select(AuditEvent).where(AuditEvent.action.like("account.%"))
                              .order_by(AuditEvent.id)).scalars().all()


def test_profile_changes_and_a_new_password_are_audited_with_what_changed(client, auth, world):
    manager = world.a.manager
    name, language = manager.display_name, manager.language
    auth.login(manager)
    assert _post(client, "/account/profile", name="Mikhail O.", language="en").status_code == 303
    assert _post(client, "/account/profile", name="Mikhail O.", language="en").status_code == 303  # no change
    _post(client, "/language", page="/", language="ru", next="/")
    _post(client, "/language", page="/", language="ru", next="/")  # the same language again: no change
    _post(client, "/account/password", current_password=PASSWORD, new_password=NEW, confirm=NEW)
    events = _profile_events()
    assert [(e.action, e.actor_id, e.owner_id) for e in events] == [
        ("account.profile", manager.id, world.a.owner.id), ("account.profile", manager.id, world.a.owner.id),
        ("account.password_change", manager.id, world.a.owner.id)]
    assert events[0].detail == {"changes": {"name": [name, "Mikhail O."], "language": [language, "en"],
                                            "notifications": [True, False]}}
    assert events[1].detail == {"changes": {"language": ["en", "ru"]}}
    assert events[0].ip == "127.0.0.1"


@pytest.mark.parametrize("language, words", [
    ("en", ["Changed their profile", "name: Ivan → Ivan K.", "notification mail: on → off",
            "language: Русский → English"]),
    ("ru", ["Изменил(а) свой профиль", "имя: Ivan → Ivan K.", "письма-уведомления: вкл. → выкл.",
            "язык: Русский → English"]),
])
def test_the_audit_log_words_a_profile_change_in_the_readers_language(client, auth, world, language, words):
    emp = world.a.emp1
    emp.display_name, emp.language = "Ivan", "ru"
    world.a.owner.language = language
    db.session.commit()
    auth.login(emp)
    _post(client, "/account/profile", name="Ivan K.", language="en")
    auth.logout()
    auth.login(world.a.owner)
    page = client.get("/audit/?action=account.profile").get_data(as_text=True)
    for word in words:
        assert word in page
    assert client.get("/audit/?action=account.profile").status_code == 200


def test_the_language_switch_uses_a_cookie_before_sign_in_and_the_account_after(client, auth, world):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    assert "Войти" in client.get("/login").get_data(as_text=True)
    response = _post(client, "/language", page="/login", language="en", next="/login")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert 'lang="en"' in client.get("/login").get_data(as_text=True)
    auth.login(world.a.emp1)  # emp1 has no language of their own yet: the cookie's holds
    assert 'lang="en"' in client.get("/").get_data(as_text=True)
    _post(client, "/language", page="/", language="ru", next="https://evil.example/")
    db.session.refresh(world.a.emp1)
    assert world.a.emp1.language == "ru"
    assert 'lang="ru"' in client.get("/").get_data(as_text=True)


def test_the_language_switch_refuses_an_unknown_language_and_a_foreign_next(client):
    assert _post(client, "/language", page="/login", language="de", next="/").status_code == 400
    response = _post(client, "/language", page="/login", language="en", next="//evil.example/x")
    assert response.headers["Location"] == "/"


def test_forgot_password_answers_alike_and_mails_only_a_real_account(mail_client, smtp_server, world):
    world.a.emp1.language = "en"
    db.session.commit()
    answers = []
    for email in (world.a.emp1.email, "nobody@nowhere.example", "not an address"):
        response = _post(mail_client, "/forgot-password", page="/forgot-password", email=email)
        answers.append((response.status_code, response.headers["Location"],
                        SAME_ANSWER in mail_client.get("/login").get_data(as_text=True)))
    assert answers == [(303, "/login", True)] * 3
    [message] = smtp_server.inbox.wait_for(world.a.emp1.email)
    assert message["Subject"] == "Set a new password" and "60 minutes" in text_of(message)
    assert len(smtp_server.inbox.messages) == 1
    path = link_in(message).replace("http://portal.test", "")
    token = csrf_token_from(mail_client.get(path).get_data(as_text=True))
    assert mail_client.post(path, data={"csrf_token": token, "new_password": NEW, "confirm": NEW}).status_code == 303
    assert Auth(mail_client.application.test_client()).login(world.a.emp1, NEW).status_code == 302


def test_forgot_password_answers_before_it_looks_the_address_up(client, world, count_queries):
    # what the request does before its answer is the same for every address, so its timing tells nothing; the
    # lookup, the mail and the audit row happen once the answer is on the wire
    before_answer = {}
    for email in (world.a.emp1.email, "nobody@nowhere.example"):
        token = csrf_token_from(client.get("/forgot-password").get_data(as_text=True))
        counter = count_queries()
        response = client.post("/forgot-password", data={"csrf_token": token, "email": email}, buffered=False)
        before_answer[email] = list(counter.statements)
        assert response.status_code == 303
        assert not db.session.execute(db.select(OutboxMail).filter_by(to_address=email)).first()
        response.close()  # as a server does once the body is sent
    assert before_answer[world.a.emp1.email] == before_answer["nobody@nowhere.example"]
    assert not any("users" in statement for statements in before_answer.values() for statement in statements)
    [mail] = db.session.execute(db.select(OutboxMail)).scalars().all()
    assert mail.to_address == world.a.emp1.email and mail.kind == "password_reset"
    assert db.session.execute(db.select(AuditEvent).filter_by(action="account.password_reset_request")).scalar_one()


def test_forgot_password_sends_nothing_to_a_deactivated_account(client, world):
    world.a.emp2.deactivate()
    db.session.commit()
    assert _post(client, "/forgot-password", page="/forgot-password", email=world.a.emp2.email).status_code == 303
    assert db.session.execute(db.select(OutboxMail)).first() is None


@pytest.mark.settings(PASSWORD_RESET_RATE_LIMIT="3 per hour", PASSWORD_RESET_ACCOUNT_RATE_LIMIT="3 per hour")
def test_forgot_password_is_throttled_whether_or_not_the_address_exists(database_url, tmp_path, world, request):
    app = make_app(database_url, tmp_path, **request.node.get_closest_marker("settings").kwargs)
    app.test_client_class = IsolatedClient
    for address, email in (("198.51.100.1", world.a.emp1.email), ("198.51.100.2", "nobody@nowhere.example")):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        codes = [_post(client, "/forgot-password", page="/forgot-password", email=email).status_code
                 for _ in range(4)]
        assert codes == [303, 303, 303, 429], email
    with app.app_context():
        assert db.session.execute(db.select(db.func.count()).select_from(OutboxMail)).scalar_one() == 3
