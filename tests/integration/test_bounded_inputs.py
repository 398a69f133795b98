"""Ids, page numbers, dates and text out of range: a 404 or the page with a message, never a 500."""
import io

import pytest
from werkzeug.routing import IntegerConverter

from portal.extensions import db
from portal.inputs import ExternalIdConverter, IdConverter, MAX_ID
from tests.media_fixtures import jpeg_bytes

HUGE_IDS = [MAX_ID + 1, 2**64, 10**20, 10**40]
# Every route with an id in its path, as {c} cancellation, {m} proof, {s} shift.
ID_ROUTES = [("GET", "/shifts/{s}", "a.owner"), ("GET", "/media/{m}/thumbnail", "a.owner"),
             ("GET", "/media/{m}/view", "a.owner"), ("GET", "/media/{m}/download", "a.owner"),
             ("GET", "/api/shifts/{s}/media", "a.owner"), ("POST", "/cancellations/{c}/decide", "a.owner"),
             ("POST", "/cancellations/{c}/proofs", "a.emp1"), ("POST", "/cancellations/{c}/withdraw", "a.emp1"),
             ("POST", "/cancellations/{c}/proofs/{m}/delete", "a.emp1")]


def test_every_id_in_a_route_goes_through_the_bounded_converter(app):
    plain = [rule.rule for rule in app.url_map.iter_rules()
             if any(type(conv) is IntegerConverter for conv in rule._converters.values())]
    assert plain == []
    # a signed set-password token is text, not an id: its handler refuses anything it did not sign (400 with a
    # message, which a person with a mangled link reads better than a 404)
    assert {type(conv) for rule in app.url_map.iter_rules() for name, conv in rule._converters.items()
            if name != "token"} <= {IdConverter, ExternalIdConverter, type(app.url_map.converters["path"](app.url_map))}


def test_an_id_past_the_largest_database_id_is_404(client, auth, proofs):
    ids = dict(c=proofs.a.cancellation.id, m=proofs.a.proof.id, s=proofs.a.shift1.id)
    for who in ("a.owner", "a.emp1"):
        auth.login(proofs.user(who))
        token = auth.csrf_token()
        for method, path, _who in (route for route in ID_ROUTES if route[2] == who):
            for name, huge in ((name, huge) for name in ids if "{" + name + "}" in path for huge in HUGE_IDS):
                url = path.format(**dict(ids, **{name: huge}))  # this id huge, the others real
                response = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
                assert response.status_code == 404, url
        auth.logout()


def test_an_id_that_is_not_a_positive_ascii_number_is_404(client, auth, proofs):
    auth.login(proofs.a.owner)
    for value in ("0", "00", "\uff11\uff12", "\u0661", "-1", "1.0"):
        assert client.get(f"/shifts/{value}").status_code == 404, value


def test_the_largest_database_id_is_an_ordinary_miss(client, auth, proofs):
    auth.login(proofs.a.owner)
    assert client.get(f"/shifts/{MAX_ID}").status_code == 404
    assert client.get(f"/media/{MAX_ID}/view").status_code == 404


def test_a_hostile_page_cursor_is_400_with_a_message(client, auth, world):
    auth.login(world.a.owner)
    for path in ("/audit/", "/cancellations/"):
        for cursor in (str(10**20), "20261126T101500123456_" + str(2**63), "abc",
                       "99991399T999999999999_1", "\uff12_1", "20261126T101500123456_1&after=x"):
            response = client.get(path, query_string={"before": cursor})
            assert response.status_code == 400 and "page link is broken" in response.get_data(as_text=True), cursor


def test_an_old_page_number_is_ignored(client, auth, world):
    auth.login(world.a.owner)
    for path in ("/audit/", "/cancellations/"):
        assert client.get(f"{path}?page={10**20}").status_code == 200
        assert client.get(f"{path}?page=").status_code == 200


@pytest.mark.parametrize("path", ["/audit/", "/audit/export.csv", "/cancellations/"])
def test_a_date_out_of_range_is_ignored_with_a_message(client, auth, world, path):
    auth.login(world.a.manager)
    for query in ("date_from=0001-01-01", "date_to=9999-12-31", "date_from=1999-12-31", "date_to=2101-01-01",
                  "date_from=0001-01-01&date_to=9999-12-31"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 200, query
        if not path.endswith(".csv"):
            assert "Choose a date between 2000-01-01 and 2100-12-31." in response.get_data(as_text=True)


def test_the_date_pickers_carry_the_same_bounds(client, auth, world):
    auth.login(world.a.owner)
    for path in ("/audit/", "/cancellations/"):
        page = client.get(path).get_data(as_text=True)
        assert page.count('min="2000-01-01"') == 2 and page.count('max="2100-12-31"') == 2


def test_the_dates_at_the_bounds_are_accepted(client, auth, world):
    auth.login(world.a.owner)
    body = client.get("/audit/?date_from=2000-01-01&date_to=2100-12-31").get_data(as_text=True)
    assert "Choose a date" not in body


def test_an_htmx_filter_with_a_bad_date_shows_the_message_in_the_list(client, auth, world):
    auth.login(world.a.owner)
    response = client.get("/cancellations/?date_to=9999-12-31", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'id="cancellation-list"' in response.get_data(as_text=True)
    assert "Choose a date between" in response.get_data(as_text=True)


def test_an_audit_shift_filter_out_of_range_shows_a_message(client, auth, world):
    auth.login(world.a.owner)
    for shift in (str(2**63), str(10**20), "9" * 400, "0", "-5"):
        response = client.get(f"/audit/?shift={shift}")
        assert response.status_code == 200
        assert f"Enter a number from 1 to {MAX_ID}." in response.get_data(as_text=True)
        assert client.get(f"/audit/export.csv?shift={shift}").status_code == 200


def test_a_week_out_of_range_shows_the_current_week(client, auth, world):
    auth.login(world.a.owner)
    for week in ("0001-01-01", "9999-12-31", "1999-12-31", "2101-01-01"):
        assert client.get(f"/shifts/?week={week}").status_code == 200


def test_a_nul_in_the_sign_in_email_is_a_form_error(client, world):
    from tests.conftest import PASSWORD, csrf_token_from

    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": world.a.owner.email + "\x00", "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 200
    assert "Remove the control characters from this field." in response.get_data(as_text=True)


def test_a_nul_in_a_reason_keeps_the_form_with_a_message(client, auth, world):
    from portal.models import ShiftCancellation

    auth.login(world.a.emp2)
    token = auth.csrf_token("/cancellations/")
    response = client.post("/cancellations/", data={"csrf_token": token, "shift_id": world.a.shift2.id,
                                                    "reason": "ill\x00 today"})
    assert response.status_code == 422
    assert "Remove the control characters from this field." in response.get_data(as_text=True)
    assert ShiftCancellation.query.count() == 0


def test_a_nul_in_a_decision_comment_is_refused(client, auth, proofs):
    auth.login(proofs.a.manager)
    token = auth.csrf_token()
    response = client.post(f"/cancellations/{proofs.a.cancellation.id}/decide",
                           data={"csrf_token": token, "decision": "approve", "comment": "ok\x00"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 422


@pytest.mark.parametrize("name", ["Bob\r\nBcc: everyone@evil.example", "Bob\nSmith", "Bob\rSmith",
                                  "Bob\u2028Smith", "Bob\x85Smith"], ids=["crlf-header", "lf", "cr", "u2028", "nel"])
def test_a_line_break_in_a_one_line_field_is_refused_and_changes_nothing(client, auth, world, name):
    # a name goes into mail subjects: one with a line break once stopped every business's mail
    auth.login(world.a.emp1)
    before = world.a.emp1.display_name
    response = client.post("/account/profile", data={"csrf_token": auth.csrf_token("/account/"), "name": name,
                                                      "language": "en"})
    assert response.status_code == 422
    assert "Remove the control characters from this field." in response.get_data(as_text=True)
    db.session.refresh(world.a.emp1)
    assert world.a.emp1.display_name == before


def test_a_textarea_keeps_its_line_breaks(client, auth, world):
    from portal.models import ShiftCancellation

    auth.login(world.a.emp2)
    token = auth.csrf_token("/cancellations/")
    response = client.post("/cancellations/", data={"csrf_token": token, "shift_id": world.a.shift2.id,
                                                    "reason": "Ill today.\r\nThe note follows.",
                                                    "proofs": (io.BytesIO(jpeg_bytes()), "note.jpg")})
    assert response.status_code == 302
    assert ShiftCancellation.query.one().reason.splitlines() == ["Ill today.", "The note follows."]
