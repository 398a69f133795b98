"""What each role sees on the home page, in which language, and the assets every page relies on."""
import re
from datetime import timedelta

import pytest

from portal.extensions import db
from portal.security_headers import HTMX_SRI, HTMX_VERSION


def test_employee_sees_only_their_upcoming_shifts(client, auth, world, factory):
    past = factory.shift(world.a.emp1, starts_in=-timedelta(days=2), title="Yesterday's shift")
    auth.login(world.a.emp1)
    page = client.get("/").get_data(as_text=True)
    assert world.a.shift1.title in page
    assert world.a.shift2.title not in page  # a colleague's
    assert world.b.shift1.title not in page  # another business
    assert past.title not in page


def test_owner_sees_todays_shifts_of_their_business_only(client, auth, world, factory):
    running = factory.shift(world.a.emp1, starts_in=-timedelta(hours=1), title="Running now")
    next_month = factory.shift(world.a.emp1, starts_in=timedelta(days=30), title="Far future")
    foreign = factory.shift(world.b.emp1, starts_in=-timedelta(hours=1), title="Foreign now")
    auth.login(world.a.owner)
    page = client.get("/").get_data(as_text=True)
    assert running.title in page and world.a.emp1.display_name in page
    assert next_month.title not in page
    assert foreign.title not in page and world.b.emp1.display_name not in page


def test_pending_requests_come_before_the_shifts_on_the_owners_home(client, auth, world, factory):
    request_ = factory.cancellation(world.a.shift1, reason="Fever since the night")
    foreign = factory.cancellation(world.b.shift1, reason="Foreign business reason")
    auth.login(world.a.owner)
    page = client.get("/").get_data(as_text=True)
    assert "Fever since the night" in page and foreign.reason not in page
    assert page.index(f'id="cancellation-{request_.id}"') < page.index('id="today-shifts"')
    assert 'name="decision" value="approve"' in page


def test_no_pending_request_says_so_on_the_managers_home(client, auth, world):
    auth.login(world.a.manager)
    assert "Nothing waits for your decision." in client.get("/").get_data(as_text=True)


def test_employee_sees_their_open_request_first(client, auth, world, factory):
    factory.cancellation(world.a.shift1)
    auth.login(world.a.emp1)
    page = client.get("/").get_data(as_text=True)
    assert page.index('id="open-requests"') < page.index("My upcoming shifts")


def test_manager_sees_the_same_day_as_the_owner(client, auth, world):
    auth.login(world.a.owner)
    owner_page = client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login(world.a.manager)
    manager_page = client.get("/").get_data(as_text=True)
    strip = lambda page: page.split('<main', 1)[1]  # noqa: E731
    assert strip(owner_page).count("shift-row") == strip(manager_page).count("shift-row")


def test_shift_times_are_shown_in_the_business_timezone(client, auth, world, factory):
    owner = factory.business("Ekb", tz="Asia/Yekaterinburg")
    employee = factory.user(owner, language="en")
    shift = factory.shift(employee)
    auth.login(employee)
    page = client.get("/").get_data(as_text=True)
    local = shift.starts_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Yekaterinburg"))
    assert local.strftime("%H:%M") in page


def test_user_language_setting_wins_over_the_browser(client, auth, world):
    world.a.emp1.language = "ru"
    db.session.commit()
    auth.login(world.a.emp1)
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Мои ближайшие смены" in page
    world.a.emp1.language = "en"
    db.session.commit()
    page = client.get("/", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert "My upcoming shifts" in page


def test_without_a_setting_the_browser_language_is_used(client):
    assert "Войти" in client.get("/login", headers={"Accept-Language": "ru-RU,ru;q=0.9"}).get_data(as_text=True)
    assert "Sign in" in client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.8"}).get_data(as_text=True)


def test_htmx_comes_from_the_cdn_with_integrity_and_a_local_fallback(client):
    page = client.get("/login").get_data(as_text=True)
    assert f'integrity="{HTMX_SRI}"' in page and f"htmx.org@{HTMX_VERSION}" in page
    assert f"/static/vendor/htmx-{HTMX_VERSION}.min.js" in page


def test_pinned_htmx_matches_the_integrity_hash(client):
    import base64
    import hashlib

    body = client.get(f"/static/vendor/htmx-{HTMX_VERSION}.min.js").data
    digest = base64.b64encode(hashlib.sha384(body).digest()).decode()
    assert f"sha384-{digest}" == HTMX_SRI


def test_pages_carry_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers  # production only


def _script_src(response):
    directives = dict(d.strip().split(" ", 1) for d in response.headers["Content-Security-Policy"].split(";"))
    return directives["script-src"].split()


def test_csp_script_src_names_the_one_htmx_file_the_page_loads(client):
    response = client.get("/login")
    sources = _script_src(response)
    cdn_scripts = re.findall(r'<script src="(https://[^"]+)"', response.get_data(as_text=True))
    assert cdn_scripts == [f"https://cdn.jsdelivr.net/npm/htmx.org@{HTMX_VERSION}/dist/htmx.min.js"]
    assert [s for s in sources if s.startswith("https:")] == cdn_scripts  # the file, never the whole host
    assert "https://cdn.jsdelivr.net" not in sources and "*" not in "".join(sources)


def test_csp_script_src_names_no_cdn_when_htmx_is_served_locally(database_url, tmp_path):
    from tests.conftest import make_app

    client = make_app(database_url, tmp_path, HTMX_CDN=False).test_client()
    response = client.get("/login")
    assert [s for s in _script_src(response) if "jsdelivr" in s] == []
    assert "cdn.jsdelivr.net" not in response.get_data(as_text=True)


def test_the_inline_fallback_script_carries_the_csp_nonce(client):
    response = client.get("/login")
    nonce = response.headers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/cancellations/", "/shifts/", "/shifts/{s}", "/audit/", "/audit/export.csv",
                                  "/account/"])
def test_pages_with_personal_and_health_data_are_neither_cached_nor_kept_in_htmx_history(client, auth, world, path):
    from tests.conftest import Factory

    Factory().cancellation(world.a.shift1, reason="Fever")
    auth.login(world.a.owner)
    for headers in ({}, {"HX-Request": "true"}):
        response = client.get(path.format(s=world.a.shift1.id), headers=headers)
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    if response.mimetype == "text/html":
        assert 'hx-history="false"' in client.get(path.format(s=world.a.shift1.id)).get_data(as_text=True)


def test_the_sign_in_page_may_stay_in_htmx_history(client):
    assert 'hx-history="false"' not in client.get("/login").get_data(as_text=True)


def test_id_url_builds_what_url_for_builds(app):
    from flask import url_for

    from portal.template_helpers import id_url

    with app.test_request_context("/", base_url="http://portal.example/prefix"):
        for endpoint, ids in (("media.thumbnail", {"media_id": 7}), ("media.thumbnail", {"media_id": 123456789}),
                              ("cancellations.remove_proof", {"cancellation_id": 12, "media_id": 3})):
            assert id_url(endpoint, **ids) == url_for(endpoint, **ids)
        with pytest.raises(ValueError):
            id_url("media.thumbnail", media_id="7/../x")


def test_russian_day_headings_keep_the_month_in_lower_case(client, auth, world):
    world.a.owner.language = "ru"
    db.session.commit()
    auth.login(world.a.owner)
    page = client.get("/shifts/?week=2026-11-23").get_data(as_text=True)
    assert "Пн 23 нояб." in page and "Нояб." not in page


def test_a_scheduled_shift_that_has_ended_is_past(client, auth, world, factory):
    past = factory.shift(world.a.emp1, starts_in=-timedelta(days=2), title="Last week's shift")
    auth.login(world.a.emp1)
    page = client.get(f"/shifts/{past.id}").get_data(as_text=True)
    assert "badge-past" in page and ">Past<" in page and ">Scheduled<" not in page
    assert ">Scheduled<" in client.get(f"/shifts/{world.a.shift1.id}").get_data(as_text=True)


def test_the_russian_storage_page_speaks_russian_units_and_dates(client, auth, proofs):
    proofs.a.owner.language = "ru"
    db.session.commit()
    auth.login(proofs.a.owner)
    page = client.get("/storage/").get_data(as_text=True)
    main = page.split("<main", 1)[1]
    assert "кБ" in main or "МБ" in main
    assert not re.search(r"\d (KB|MB|GB|kB)\b", main) and "(max " not in main
    assert not re.search(r">\d{4}-\d\d-\d\d<", main)  # no ISO dates on the page


def test_every_page_names_its_favicon(client):
    page = client.get("/login").get_data(as_text=True)
    href = re.search(r'<link rel="icon" href="([^"]+)"', page).group(1)
    response = client.get(href)
    assert response.status_code == 200 and b"<svg" in response.data
