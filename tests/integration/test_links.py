"""Set-password links: `flask business create` prints one; expired, used, forged and other people's links are
refused with a clear message each, and nothing is written."""
import time
from types import SimpleNamespace

import pytest
from itsdangerous import URLSafeTimedSerializer

from portal.accounts import links
from portal.extensions import db
from portal import links as links_module
from portal.models import AuditEvent, OutboxMail, User
from tests.conftest import Auth, csrf_token_from

NEW = "a brand new passphrase"


def _path(link):
    return link.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def _choose(client, path, password=NEW, confirm=None):
    token = csrf_token_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, "new_password": password, "confirm": confirm or password})


def _state(user):
    db.session.refresh(user)
    return user.password_hash, user.session_token


def test_business_create_prints_a_link_that_lets_the_owner_choose_a_password(runner, client):
    result = runner.invoke(args=["business", "create", "--name", "Café Nord", "--timezone", "Europe/Helsinki",
                                 "--owner-email", "Boss@Nord.example", "--language", "en"])
    assert result.exit_code == 0, result.output
    owner = db.session.execute(db.select(User).filter_by(email="boss@nord.example")).scalar_one()
    assert (owner.role, owner.owner_id, owner.business_name, owner.timezone, owner.language, owner.status) == \
        ("owner", owner.id, "Café Nord", "Europe/Helsinki", "en", "invited")
    link = result.output.strip().splitlines()[-1]
    assert link.startswith("http://127.0.0.1:5000/invitation/") and owner.password_hash is None
    assert _choose(client, _path(link)).status_code == 303
    assert client.get("/storage/").status_code == 200  # signed in as the owner
    assert Auth(client.application.test_client()).login("boss@nord.example", NEW).status_code == 302


@pytest.mark.parametrize("args,complaint", [
    (["--owner-email", "owner-taken"], "already has an account"),
    (["--owner-email", "no-at-sign.example"], "must have an @-sign"),
    (["--owner-email", "x@"], "--owner-email"),
    (["--timezone", "Europe/Atlantis"], "is not a timezone name"),
    (["--timezone", "../../etc/passwd"], "is not a timezone name"),
    (["--language", "de"], "'de' is not one of 'ru', 'en'"),
    (["--name", " "], "the business name must have 1 to 160 characters"),
])
def test_business_create_refuses_bad_input_clearly_and_writes_nothing(runner, world, args, complaint):
    options = {"--name": "Café", "--timezone": "Europe/Moscow", "--owner-email": "new@cafe.example"}
    options.update(dict(zip(args[::2], args[1::2])))
    if options["--owner-email"] == "owner-taken":
        options["--owner-email"] = world.a.owner.email.upper()
    before = db.session.execute(db.select(db.func.count()).select_from(User)).scalar_one()
    result = runner.invoke(args=["business", "create", *[x for pair in options.items() for x in pair]])
    assert result.exit_code != 0 and complaint in result.output
    db.session.rollback()
    assert db.session.execute(db.select(db.func.count()).select_from(User)).scalar_one() == before
    assert db.session.execute(db.select(AuditEvent)).first() is None


def test_business_create_in_production_needs_the_portal_address(runner, app):
    app.config.update(PORTAL_ENV="production", PORTAL_BASE_URL=None)
    result = runner.invoke(args=["business", "create", "--name", "Café", "--timezone", "Europe/Moscow",
                                 "--owner-email", "new@cafe.example"])
    assert result.exit_code != 0 and "PORTAL_BASE_URL" in result.output
    db.session.rollback()
    assert db.session.execute(db.select(User)).first() is None


def test_a_mailed_link_names_the_portal_address_whatever_host_the_request_came_with(app, client, world):
    app.config.update(PORTAL_BASE_URL="https://portal.example.com")
    hostile = "https://portal-login.evil.example"
    token = csrf_token_from(client.get("/forgot-password", base_url=hostile).get_data(as_text=True))
    response = client.post("/forgot-password", base_url=hostile, headers={"Referer": hostile + "/forgot-password"},
                           data={"csrf_token": token, "email": world.a.owner.email})
    assert response.status_code == 303
    mail = db.session.execute(db.select(OutboxMail).filter_by(to_address=world.a.owner.email)).scalar_one()
    assert "https://portal.example.com/reset-password/" in mail.text_body and "evil" not in mail.text_body


def test_in_production_a_link_is_never_built_from_the_requests_host(app):
    # build_config refuses to start production without PORTAL_BASE_URL; should it be emptied later, nothing falls
    # back to the Host header
    app.config.update(PORTAL_ENV="production", PORTAL_BASE_URL=None)
    with app.test_request_context("/forgot-password", base_url="https://portal-login.evil.example"):
        with pytest.raises(links_module.BaseURLMissingError):
            links_module.absolute_url("auth.login")


@pytest.fixture
def invited(factory, world):
    return factory.user(world.a.owner, name="Invited One", password_hash=None)


def test_an_expired_link_is_refused_and_changes_nothing(app, client, invited, monkeypatch):
    path = _path(links.make_link(invited, "invitation"))
    later = time.time() + 8 * 86400
    monkeypatch.setattr("itsdangerous.timed.time", SimpleNamespace(time=lambda: later))
    before = _state(invited)
    response = client.get(path)
    assert response.status_code == 410 and "This link has expired." in response.get_data(as_text=True)
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    assert client.post(path, data={"csrf_token": token, "new_password": NEW, "confirm": NEW}).status_code == 410
    assert _state(invited) == before


def test_a_reset_link_expires_sooner_than_an_invitation(app, client, world, monkeypatch):
    reset, invitation = (_path(links.make_link(world.a.emp1, purpose)) for purpose in ("reset", "invitation"))
    later = time.time() + 61 * 60
    monkeypatch.setattr("itsdangerous.timed.time", SimpleNamespace(time=lambda: later))
    assert client.get(reset).status_code == 410
    assert client.get(invitation).status_code == 200


def test_a_used_link_is_refused_the_second_time(client, invited):
    path = _path(links.make_link(invited, "invitation"))
    assert _choose(client, path).status_code == 303
    fresh = client.application.test_client()
    response = fresh.get(path, headers={"Accept-Language": "en"})
    assert response.status_code == 410 and "used already" in response.get_data(as_text=True)


def test_two_tabs_posting_one_link_set_the_password_once(client, invited):
    path = _path(links.make_link(invited, "invitation"))
    first, second = client.application.test_client(), client.application.test_client()
    tokens = [csrf_token_from(c.get(path).get_data(as_text=True)) for c in (first, second)]
    assert first.post(path, data={"csrf_token": tokens[0], "new_password": NEW, "confirm": NEW}).status_code == 303
    late = second.post(path, data={"csrf_token": tokens[1], "new_password": "another passphrase",
                                   "confirm": "another passphrase"})
    assert late.status_code == 410
    assert Auth(client.application.test_client()).login(invited.email, NEW).status_code == 302
    assert db.session.execute(db.select(db.func.count()).select_from(AuditEvent)
                              .filter_by(action="account.password_set")).scalar_one() == 1


@pytest.mark.parametrize("tamper", ["flip a character", "cut short", "another key", "reset as invitation",
                                    "someone else's id", "garbage", "too long"])
def test_a_forged_or_changed_link_is_refused(app, client, invited, world, tamper):
    token = links.make_token(invited, "invitation")
    if tamper == "flip a character":
        token = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    elif tamper == "cut short":
        token = token[: len(token) // 2]
    elif tamper == "another key":
        token = URLSafeTimedSerializer("another-secret-key-" + "y" * 32, salt="set-password/invitation").dumps(
            {"u": invited.id, "f": "0" * 32})
    elif tamper == "reset as invitation":
        token = links.make_token(invited, "reset")
    elif tamper == "someone else's id":
        payload, rest = token.split(".", 1)
        token = URLSafeTimedSerializer(app.config["SECRET_KEY"]).dump_payload(
            {"u": world.a.emp1.id, "f": "0" * 32}).decode() + "." + rest
    elif tamper == "garbage":
        token = "not-a-token"
    else:
        token = "a" * 2000
    before = _state(invited)
    response = client.get(f"/invitation/{token}")
    assert response.status_code == 400
    assert "incomplete or was changed" in response.get_data(as_text=True)
    assert _state(invited) == before


def test_a_link_made_for_another_persons_state_is_refused(app, client, invited, world):
    """A correctly signed token naming one person with another person's fingerprint: never matches."""
    token = links._serializer("invitation").dumps({"u": invited.id, "f": links._fingerprint(world.a.emp1)})
    assert client.get(f"/invitation/{token}").status_code == 410


def test_a_link_opened_while_someone_else_is_signed_in_is_refused(client, auth, invited, world):
    auth.login(world.a.emp2)
    path = _path(links.make_link(invited, "invitation"))
    response = client.get(path)
    assert response.status_code == 409 and "for another account" in response.get_data(as_text=True)
    assert invited.status == "invited"


def test_deactivation_kills_an_outstanding_link(client, auth, invited, world):
    path = _path(links.make_link(invited, "invitation"))
    auth.login(world.a.owner)
    token = auth.csrf_token("/staff/")
    assert client.post(f"/staff/{invited.id}/deactivate", data={"csrf_token": token}).status_code == 303
    auth.logout()
    assert client.get(path).status_code == 410


@pytest.mark.parametrize("password,confirm,message", [
    ("short", "short", "Use at least 10 characters."),
    (NEW, NEW + "!", "The two passwords differ."),
    ("", "", "Choose a password."),
])
def test_a_weak_or_mistyped_password_keeps_the_link_usable(client, invited, password, confirm, message):
    path = _path(links.make_link(invited, "invitation"))
    response = _choose(client, path, password, confirm)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert invited.status == "invited" and client.get(path).status_code == 200
