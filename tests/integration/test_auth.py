"""Sign-in, sign-out, CSRF and session cookies."""
import logging

import pytest

from portal.extensions import db
from tests.conftest import PASSWORD

REFUSED = "Wrong email or password, or the account is disabled."


def _session_cookie(response):
    return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))


def test_login_with_right_password_reaches_home(client, auth, world):
    response = auth.login(world.a.emp1)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert world.a.shift1.title in client.get("/").get_data(as_text=True)


def test_email_is_case_insensitive(client, auth, world):
    response = auth.login(world.a.owner.email.upper())
    assert response.status_code == 302


@pytest.mark.parametrize("case", ["wrong password", "unknown email", "disabled user"])
def test_every_refusal_gets_the_same_message(client, auth, world, case, caplog):
    caplog.set_level(logging.DEBUG)
    email, password = world.a.emp1.email, PASSWORD
    if case == "wrong password":
        password = "not the password"
    elif case == "unknown email":
        email = "nobody@test.example"
    else:
        world.a.emp1.active = False
        db.session.commit()
    response = auth.login(email, password)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert REFUSED in page
    assert client.get("/").status_code == 302  # still signed out
    assert password not in caplog.text and PASSWORD not in caplog.text


def test_login_without_csrf_token_is_rejected(client, world):
    response = client.post("/login", data={"email": world.a.owner.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_logout_signs_out_and_needs_csrf(client, auth, world):
    auth.login(world.a.manager)
    assert client.post("/logout").status_code == 400  # no token: still signed in
    assert client.get("/").status_code == 200
    assert auth.logout().status_code == 302
    assert client.get("/").status_code == 302


def test_logout_by_get_is_not_allowed(client, auth, world):
    auth.login(world.a.manager)
    assert client.get("/logout").status_code == 405


def test_next_parameter_only_allows_local_paths(client, world):
    from tests.conftest import csrf_token_from

    for target, expected in [("/shifts/1", "/shifts/1"), ("https://evil.example/", "/"), ("//evil.example", "/")]:
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
        response = client.post(f"/login?next={target}", data={
            "email": world.a.owner.email, "password": PASSWORD, "csrf_token": token})
        assert response.headers["Location"] == expected
        client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/").get_data(as_text=True))})


def test_session_cookie_is_httponly_and_samesite_lax(client, auth, world):
    response = auth.login(world.a.owner)
    cookie = _session_cookie(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # only in production


def test_production_session_cookie_is_secure(database_url, tmp_path, world, redis_url):
    import secrets

    from portal import create_app
    from tests.conftest import csrf_token_from

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": secrets.token_hex(32),
                      "RATELIMIT_STORAGE_URI": redis_url, "PORTAL_BASE_URL": "https://portal.test"},
                     profile="production")
    client = app.test_client()
    token = csrf_token_from(client.get("/login", base_url="https://localhost").get_data(as_text=True))
    response = client.post("/login", base_url="https://localhost",
                           headers={"Referer": "https://localhost/login"},
                           data={"email": world.a.owner.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert "Secure" in _session_cookie(response)
    assert "Strict-Transport-Security" in response.headers
