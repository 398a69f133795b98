"""/api/v1: tokens from the owner's page, upserts of employees and shifts, the cancellation feed, and every real
response checked against the OpenAPI document."""
import re

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_document
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from portal.api.v1.openapi import DOCUMENT
from portal.extensions import db
from portal.models import ApiToken, AuditEvent, Shift, ShiftCancellation, User
from portal.cancellations import decide
from tests.conftest import PASSWORD, Auth, csrf_token_from
from tests.smtp_server import link_in

REGISTRY = Registry().with_resource("urn:api", Resource.from_contents(DOCUMENT, default_specification=DRAFT202012))


def conforms(response, path, method):
    """Assert the response's status is documented for the operation and its body matches the schema."""
    operation = DOCUMENT["paths"][path][method]
    documented = operation["responses"].get(str(response.status_code))
    assert documented, f"{response.status_code} is not documented for {method.upper()} {path}"
    schema = documented["content"]["application/json"]["schema"]
    ref = {"$ref": "urn:api" + schema["$ref"]}
    errors = list(Draft202012Validator(ref, registry=REGISTRY).iter_errors(response.get_json()))
    assert errors == [], errors[0].message


def issue(client, auth, owner, name="Shift app"):
    """Create a token through the owner's page; the token as the page shows it once."""
    auth.login(owner)
    token = auth.csrf_token("/settings/api-tokens/")
    page = client.post("/settings/api-tokens/", data={"csrf_token": token, "name": name})
    assert page.status_code == 200
    found = re.search(r"<code>(spp_[A-Za-z0-9_-]+)</code>", page.get_data(as_text=True))
    auth.logout()
    return found.group(1)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


EMPLOYEE = {"name": "Ivan Petrov", "email": "ivan@cafe.example", "language": "ru", "role": "employee"}


def shift_body(employee="E1", start="2026-03-02T09:00:00+03:00", end="2026-03-02T17:00:00+03:00"):
    return {"employee": employee, "starts_at": start, "ends_at": end, "title": "Bar, Nevsky 12"}


def test_openapi_document_is_valid_openapi_3_1(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    validate_document(response.get_json())
    assert response.get_json()["openapi"] == "3.1.0"


def test_token_is_stored_hashed_shown_once_and_audited(client, auth, world):
    token = issue(client, auth, world.a.owner)
    row = db.session.execute(db.select(ApiToken)).scalar_one()
    assert token not in (row.token_hash, row.prefix) and token.startswith(row.prefix)
    auth.login(world.a.owner)
    page = client.get("/settings/api-tokens/", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert token not in page and row.prefix in page and "Отозвать" in page  # in Russian
    actions = db.session.execute(db.select(AuditEvent.action)).scalars().all()
    assert "api_token.create" in actions


def test_revoked_or_unknown_token_gets_401_json(client, auth, world):
    token = issue(client, auth, world.a.owner)
    assert client.put("/api/v1/employees/E1", json=EMPLOYEE, headers=bearer(token)).status_code == 201
    row = db.session.execute(db.select(ApiToken)).scalar_one()
    auth.login(world.a.owner)
    revoked = client.post(f"/settings/api-tokens/{row.id}/revoke", data={"csrf_token": auth.csrf_token()})
    assert revoked.status_code == 303
    auth.logout()
    for headers in (bearer(token), bearer("spp_" + "x" * 43), {}, {"Authorization": "Basic eDp5"}):
        response = client.put("/api/v1/employees/E1", json=EMPLOYEE, headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"
        conforms(response, "/employees/{external_id}", "put")
    assert "api_token.revoke" in db.session.execute(db.select(AuditEvent.action)).scalars().all()


@pytest.mark.parametrize("who", ["a.owner", "a.manager", "a.emp1"])
def test_a_session_cannot_use_the_api(client, auth, world, who):
    auth.login(world.user(who))
    assert client.get("/api/v1/cancellations").status_code == 401
    assert client.put("/api/v1/employees/E1", json=EMPLOYEE).status_code == 401


def test_employee_upsert_creates_then_updates(client, auth, world):
    token = issue(client, auth, world.a.owner)
    created = client.put("/api/v1/employees/E1", json=EMPLOYEE, headers=bearer(token))
    assert created.status_code == 201
    conforms(created, "/employees/{external_id}", "put")
    updated = client.put("/api/v1/employees/E1", headers=bearer(token),
                         json={**EMPLOYEE, "name": "Ivan P.", "role": "manager", "active": False})
    assert updated.status_code == 200
    conforms(updated, "/employees/{external_id}", "put")
    user = db.session.execute(db.select(User).where(User.external_id == "E1")).scalar_one()
    assert (user.display_name, user.role, user.active, user.owner_id) == ("Ivan P.", "manager", False, world.a.owner.id)


def test_validation_errors_name_each_field(client, auth, world):
    token = issue(client, auth, world.a.owner)
    response = client.put("/api/v1/employees/E1", headers=bearer(token),
                          json={"name": "", "role": "owner", "extra": 1, "language": "xx"})
    assert response.status_code == 422
    conforms(response, "/employees/{external_id}", "put")
    assert set(response.get_json()["error"]["fields"]) == {"name", "email", "role", "extra", "language"}
    bad_time = client.put("/api/v1/shifts/S1", headers=bearer(token), json=shift_body(start="2026-03-02T09:00"))
    assert bad_time.status_code == 422 and "starts_at" in bad_time.get_json()["error"]["fields"]
    not_json = client.put("/api/v1/shifts/S1", headers={**bearer(token), "Content-Type": "application/json"},
                          data=b"{")
    assert not_json.status_code == 422
    huge = client.put("/api/v1/shifts/S1", headers=bearer(token), json={"title": "x" * 70000})
    assert huge.status_code == 413 and huge.get_json()["error"]["code"] == "too_large"


def test_shift_upsert_by_external_id_or_email(client, auth, world):
    token = issue(client, auth, world.a.owner)
    client.put("/api/v1/employees/E1", json=EMPLOYEE, headers=bearer(token))
    created = client.put("/api/v1/shifts/S1", json=shift_body(), headers=bearer(token))
    assert created.status_code == 201
    conforms(created, "/shifts/{external_id}", "put")
    assert created.get_json()["starts_at"] == "2026-03-02T06:00:00Z"
    moved = client.put("/api/v1/shifts/S1", json=shift_body(employee=world.a.emp2.email), headers=bearer(token))
    assert moved.status_code == 200
    shift = db.session.execute(db.select(Shift).where(Shift.external_id == "S1")).scalar_one()
    assert shift.employee_id == world.a.emp2.id and shift.owner_id == world.a.owner.id


def test_token_of_business_a_never_reaches_business_b(client, auth, world):
    token_a, token_b = issue(client, auth, world.a.owner), issue(client, auth, world.b.owner)
    assert client.put("/api/v1/employees/E1", json=EMPLOYEE, headers=bearer(token_b)).status_code == 201
    assert client.put("/api/v1/shifts/S1", json=shift_body(), headers=bearer(token_b)).status_code == 201
    for path in ("/api/v1/employees/E1", "/api/v1/shifts/S1"):
        response = client.get(path, headers=bearer(token_a))
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
        conforms(response, path.replace("/api/v1", "").replace("E1", "{external_id}").replace("S1", "{external_id}"),
                 "get")
        conforms(client.get(path, headers=bearer(token_b)), path.replace("/api/v1", "")
                 .replace("E1", "{external_id}").replace("S1", "{external_id}"), "get")
    # B's employee, by external id or email, is unknown in A
    for employee in ("E1", EMPLOYEE["email"], world.b.emp1.email):
        response = client.put("/api/v1/shifts/S1", json=shift_body(employee=employee), headers=bearer(token_a))
        assert response.status_code == 422 and "employee" in response.get_json()["error"]["fields"]
    # B's email cannot be taken over by A
    taken = client.put("/api/v1/employees/E9", json={**EMPLOYEE}, headers=bearer(token_a))
    assert taken.status_code == 422 and "email" in taken.get_json()["error"]["fields"]
    b_shift = db.session.execute(db.select(Shift).where(Shift.external_id == "S1")).scalar_one()
    assert b_shift.owner_id == world.b.owner.id and b_shift.title == "Bar, Nevsky 12"


def test_feed_pages_by_cursor_with_proof_links_and_audit(client, auth, proofs):
    world = proofs
    token = issue(client, auth, world.a.owner)
    extra = ShiftCancellation(owner_id=world.a.owner.id, shift_id=world.a.shift2.id, employee_id=world.a.emp2.id,
                              reason="Flu")
    db.session.add(extra)
    db.session.commit()
    extra.submitted_at = extra.created_at
    db.session.commit()
    first = client.get("/api/v1/cancellations?limit=1&updated_since=2000-01-01T00:00:00Z", headers=bearer(token))
    assert first.status_code == 200
    conforms(first, "/cancellations", "get")
    page = first.get_json()
    assert [c["id"] for c in page["cancellations"]] == [world.a.cancellation.id] and page["next"]
    proof = page["cancellations"][0]["proofs"][0]
    assert proof["id"] == world.a.proof.id and proof["download_url"] and proof["thumbnail_expires_at"]
    second = client.get(f"/api/v1/cancellations?limit=1&cursor={page['next']}", headers=bearer(token)).get_json()
    assert [c["id"] for c in second["cancellations"]] == [extra.id] and second["next"] is None
    audited = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "media.api_links")).scalars().all()
    assert [e.detail["media_ids"] for e in audited] == [[world.a.proof.id]]


def test_a_decision_moves_the_request_to_the_end_of_the_feed(client, auth, proofs):
    world = proofs
    token = issue(client, auth, world.a.owner)
    before = client.get("/api/v1/cancellations", headers=bearer(token)).get_json()["cancellations"]
    assert [c["id"] for c in before] == [world.a.cancellation.id]  # never B's
    since = before[0]["updated_at"]
    decide(world.a.cancellation, True, "ok", actor=world.a.manager)
    after = client.get(f"/api/v1/cancellations?updated_since={since}", headers=bearer(token)).get_json()
    assert after["cancellations"][0]["status"] == "approved" and after["cancellations"][0]["updated_at"] > since


def test_a_shift_with_a_request_keeps_its_time_and_person(client, auth, proofs):
    world = proofs
    token = issue(client, auth, world.a.owner)
    world.a.shift1.external_id = "S1"
    db.session.commit()
    body = shift_body(employee=world.a.emp1.email)
    response = client.put("/api/v1/shifts/S1", json=body, headers=bearer(token))
    assert response.status_code == 409
    conforms(response, "/shifts/{external_id}", "put")
    assert db.session.get(Shift, world.a.shift1.id).status == "cancellation_requested"


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=1e3", "cursor=!!", "cursor=W10",
                                   "updated_since=yesterday", "updated_since=0001-01-01T00:00:00Z"])
def test_feed_refuses_bad_parameters_with_422(client, auth, world, query):
    token = issue(client, auth, world.a.owner)
    response = client.get(f"/api/v1/cancellations?{query}", headers=bearer(token))
    assert response.status_code == 422
    conforms(response, "/cancellations", "get")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
    | st.sampled_from(["2026-03-02T09:00:00+03:00", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00",
                       "E1", "ivan@cafe.example", "employee", "manager", "ru", "a\x00b", "9" * 5000]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8)
FIELD_NAMES = ["name", "email", "language", "role", "active", "employee", "starts_at", "ends_at", "title"]
BODIES = st.dictionaries(st.sampled_from(FIELD_NAMES), JSON_VALUES, max_size=9) | JSON_VALUES


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES, ext_id=st.sampled_from(["E1", "S1", "x" * 101, "a/b", "é", "9" * 100]),
       kind=st.sampled_from(["employees", "shifts"]))
def test_no_json_body_gets_a_server_error(client, auth, world, body, ext_id, kind):
    if not hasattr(world, "token"):
        world.token = issue(client, auth, world.a.owner)
        client.put("/api/v1/employees/E1", json=EMPLOYEE, headers=bearer(world.token))
    response = client.put(f"/api/v1/{kind}/{ext_id}", json=body, headers=bearer(world.token))
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    conforms(response, f"/{kind}/{{external_id}}", "put")


@pytest.mark.parametrize("email", ["ivan@localhost", "ivan@@cafe.example", "ivan@cafe..example", "iv an@cafe.example"])
def test_an_email_the_staff_page_refuses_is_refused_with_a_422_for_email(client, auth, world, email):
    token = issue(client, auth, world.a.owner)
    response = client.put("/api/v1/employees/E1", json={**EMPLOYEE, "email": email}, headers=bearer(token))
    assert response.status_code == 422 and set(response.get_json()["error"]["fields"]) == {"email"}
    conforms(response, "/employees/{external_id}", "put")
    assert db.session.execute(db.select(User).where(User.external_id == "E1")).first() is None


def test_an_email_is_stored_as_the_staff_page_stores_it(client, auth, world):
    token = issue(client, auth, world.a.owner)
    created = client.put("/api/v1/employees/E1", json={**EMPLOYEE, "email": " Ivan@CAFE.Example "},
                         headers=bearer(token))
    assert created.status_code == 201 and created.get_json()["email"] == "ivan@cafe.example"
    # a shift names the person by the address however it is written
    shift = client.put("/api/v1/shifts/S1", json=shift_body(employee="IVAN@cafe.example"), headers=bearer(token))
    assert shift.status_code == 201 and shift.get_json()["employee"]["external_id"] == "E1"
    # one address, one account: the staff page refuses the same person again
    auth.login(world.a.owner)
    refused = client.post("/staff/invite", data={"csrf_token": auth.csrf_token("/staff/"), "name": "Ivan",
                                                 "email": "ivan@Cafe.example", "role": "employee", "language": "ru"})
    assert "already has an account" in refused.get_data(as_text=True)


def test_a_person_the_api_creates_is_invited_and_signs_in_only_after_the_invitation(mail_client, smtp_server, world):
    auth = Auth(mail_client)
    token = issue(mail_client, auth, world.a.owner)
    assert mail_client.put("/api/v1/employees/E1", json=EMPLOYEE, headers=bearer(token)).status_code == 201
    ivan = db.session.execute(db.select(User).where(User.external_id == "E1")).scalar_one()
    assert (ivan.password_hash, ivan.status) == (None, "invited")
    auth.login(ivan.email, "")
    auth.login(ivan.email, PASSWORD)
    assert mail_client.get("/account/").status_code == 302  # no password signs them in

    auth.login(world.a.manager)  # a manager may invite employees
    page = mail_client.get("/staff/").get_data(as_text=True)
    assert f'id="person-{ivan.id}" data-status="invited"' in page and f"/staff/{ivan.id}/resend" in page
    sent = mail_client.post(f"/staff/{ivan.id}/resend", data={"csrf_token": auth.csrf_token("/staff/")})
    assert sent.status_code == 303
    auth.logout()
    link = link_in(smtp_server.inbox.wait_for(ivan.email)[0]).replace("http://portal.test", "")
    form = mail_client.get(link)
    assert form.status_code == 200
    chosen = mail_client.post(link, data={"csrf_token": csrf_token_from(form.get_data(as_text=True)),
                                          "new_password": "a long new secret", "confirm": "a long new secret"})
    assert chosen.status_code in (302, 303) and mail_client.get("/account/").status_code == 200
    db.session.refresh(ivan)
    assert ivan.status == "active"


def _feed(client, token, since):
    response = client.get(f"/api/v1/cancellations?updated_since={since}", headers=bearer(token))
    assert response.status_code == 200
    conforms(response, "/cancellations", "get")
    return response.get_json()["cancellations"]


def test_removing_a_proof_brings_the_request_back_in_the_feed(client, auth, proofs):
    world = proofs
    token = issue(client, auth, world.a.owner)
    [before] = _feed(client, token, "2000-01-01T00:00:00Z")
    assert [p["id"] for p in before["proofs"]] == [world.a.proof.id]
    auth.login(world.a.emp1)
    removed = client.post(f"/cancellations/{world.a.cancellation.id}/proofs/{world.a.proof.id}/delete",
                          data={"csrf_token": auth.csrf_token("/cancellations/")})
    assert removed.status_code in (200, 303)
    assert world.a.proof.id not in [p["id"] for p in _feed(client, token, "2000-01-01T00:00:00Z")[0]["proofs"]]
    auth.logout()
    [after] = _feed(client, token, before["updated_at"])
    assert after["id"] == before["id"] and after["updated_at"] > before["updated_at"] and after["proofs"] == []


def test_a_set_password_link_mailed_before_the_api_changed_the_email_stops_working(client, auth, world):
    from portal.accounts import links

    token = issue(client, auth, world.a.owner)
    assert client.put("/api/v1/employees/E1", json={**EMPLOYEE, "email": "old@cafe.example"},
                      headers=bearer(token)).status_code == 201
    person = db.session.execute(db.select(User).where(User.external_id == "E1")).scalar_one()
    old_link = links.make_link(person, "invitation").split("://", 1)[1].split("/", 1)[1]
    assert client.get("/" + old_link).status_code == 200  # works while the address is the same
    moved = client.put("/api/v1/employees/E1", json={**EMPLOYEE, "email": "new@cafe.example"}, headers=bearer(token))
    assert moved.status_code == 200 and moved.get_json()["email"] == "new@cafe.example"
    assert client.get("/" + old_link).status_code == 410  # the old mailbox's link no longer sets a password
    page = client.get("/login")
    refused = client.post("/" + old_link, data={"csrf_token": csrf_token_from(page.get_data(as_text=True)),
                                                "new_password": "a brand new passphrase",
                                                "confirm": "a brand new passphrase"})
    assert refused.status_code == 410
    db.session.refresh(person)
    assert person.password_hash is None
