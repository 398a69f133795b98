"""Sessions end: sign-out, sign-out on other devices, a new password and deactivation end them; sign-in starts anew."""
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from portal.extensions import db
from tests.conftest import PASSWORD, IsolatedClient, csrf_token_from


def _new_client(app, **cookies):
    """A browser that has only these cookies (captured elsewhere)."""
    app.test_client_class = IsolatedClient
    client = app.test_client()
    for name, value in cookies.items():
        client.set_cookie(name, value)
    return client


def _sign_in(client, user, remember=False):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    data = {"email": user.email, "password": PASSWORD, "csrf_token": token}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302
    return response


def _cookie(client, name):
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


def _signed_in(client):
    return client.get("/audit/").status_code == 200


def test_a_session_cookie_captured_before_sign_out_opens_nothing_after(app, client, auth, world):
    _sign_in(client, world.a.owner)
    captured = _cookie(client, "session")
    assert _signed_in(_new_client(app, session=captured))
    auth.logout()
    replay = _new_client(app, session=captured).get("/audit/")
    assert replay.status_code == 302 and replay.headers["Location"].startswith("/login")


def test_a_remember_cookie_is_new_at_each_sign_in_lives_14_days_and_dies_at_sign_out(app, client, auth, world):
    response = _sign_in(client, world.a.manager, remember=True)
    first = _cookie(client, "remember_token")
    set_cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token="))
    expires = parsedate_to_datetime(set_cookie.split("Expires=")[1].split(";")[0])
    assert timedelta(days=13) < expires - datetime.now(timezone.utc) <= timedelta(days=14)
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    assert _signed_in(_new_client(app, remember_token=first))  # the cookie alone signs a browser in
    auth.logout()
    assert client.get_cookie("remember_token") is None
    assert not _signed_in(_new_client(app, remember_token=first))
    _sign_in(client, world.a.manager, remember=True)
    assert _cookie(client, "remember_token") not in (None, first)


def test_sign_in_starts_a_new_session_with_a_new_csrf_token(client, world):
    before = csrf_token_from(client.get("/login").get_data(as_text=True))
    session_before = _cookie(client, "session")
    response = client.post("/login", data={"email": world.a.owner.email, "password": PASSWORD, "csrf_token": before})
    assert response.status_code == 302
    after = csrf_token_from(client.get("/").get_data(as_text=True))
    assert after != before and _cookie(client, "session") != session_before


def test_sign_out_on_other_devices_ends_them_and_keeps_this_one(app, client, world):
    phone = _new_client(app)
    _sign_in(phone, world.a.emp1, remember=True)
    phone_remember = _cookie(phone, "remember_token")
    _sign_in(client, world.a.emp1)
    captured = _cookie(client, "session")
    token = csrf_token_from(client.get("/account/").get_data(as_text=True))
    response = client.post("/account/sign-out-others", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/account/"
    assert "Every other device is signed out." in client.get("/account/").get_data(as_text=True)
    assert client.get("/cancellations/").status_code == 200  # this browser stays signed in
    assert phone.get("/cancellations/").status_code == 302  # the phone's session and remember cookie are dead
    assert _new_client(app, remember_token=phone_remember).get("/cancellations/").status_code == 302
    assert _new_client(app, session=captured).get("/cancellations/").status_code == 302


def test_sign_out_on_other_devices_needs_csrf(client, world):
    _sign_in(client, world.a.emp1)
    token_before = world.a.emp1.session_token
    assert client.post("/account/sign-out-others").status_code == 400
    db.session.refresh(world.a.emp1)
    assert world.a.emp1.session_token == token_before


def test_a_new_password_ends_every_session(app, client, world):
    _sign_in(client, world.a.owner, remember=True)
    remember = _cookie(client, "remember_token")
    world.a.owner.set_password("a brand new passphrase")
    db.session.commit()
    assert not _signed_in(client)
    assert not _signed_in(_new_client(app, remember_token=remember))
    assert world.a.owner.check_password("a brand new passphrase")


def test_deactivation_ends_every_session(app, client, world):
    _sign_in(client, world.a.manager, remember=True)
    remember = _cookie(client, "remember_token")
    world.a.manager.deactivate()
    db.session.commit()
    assert not _signed_in(client)
    assert not _signed_in(_new_client(app, remember_token=remember))


def test_an_inactive_user_is_never_loaded_from_a_session(client, world):
    _sign_in(client, world.a.manager)
    world.a.manager.active = False  # set directly, without deactivate(): the loader still refuses
    db.session.commit()
    assert not _signed_in(client)


def test_sign_out_asks_the_browser_to_forget_cached_pages_and_storage(client, auth, world):
    _sign_in(client, world.a.owner)
    response = auth.logout()
    assert response.status_code == 302
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'


def test_a_sign_in_not_remembered_ends_after_its_hours_and_a_remembered_one_goes_on(app, world, monkeypatch):
    import time as clock
    from types import SimpleNamespace

    plain, remembered = _new_client(app), _new_client(app)
    _sign_in(plain, world.a.owner)
    _sign_in(remembered, world.a.manager, remember=True)
    later = clock.time() + 12 * 3600 + 60  # SESSION_HOURS' default, and a minute
    monkeypatch.setattr("itsdangerous.timed.time", SimpleNamespace(time=lambda: later))
    answer = plain.get("/audit/")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
    assert _signed_in(remembered)  # "Keep me signed in": the remember cookie signs the browser in again
