"""Every page route x role x (own business, other business, anonymous): the right answer each time."""
import io

import pytest

from portal.accounts import links
from portal import api_tokens
from tests.conftest import csrf_token_from
from tests.media_fixtures import jpeg_bytes

WHO = ["a.owner", "a.manager", "a.emp1", "a.emp2", "b.owner", "b.manager", "b.emp1", "anonymous"]


def row(**statuses):
    """Expected status per person; keys use _ for . (a_owner -> a.owner)."""
    return {key.replace("_", ".", 1): value for key, value in statuses.items()}


# path templates use {c} = A's cancellation, {m} = A's proof, {s} = A's shift 1, {s2} = A's shift 2.
MATRIX = [
    ("GET", "/cancellations/", row(a_owner=200, a_manager=200, a_emp1=200, a_emp2=200, b_owner=200, b_manager=200,
                                   b_emp1=200, anonymous=302)),
    ("GET", "/shifts/", row(a_owner=200, a_manager=200, a_emp1=403, a_emp2=403, b_owner=200, b_manager=200,
                            b_emp1=403, anonymous=302)),
    ("GET", "/shifts/{s}", row(a_owner=200, a_manager=200, a_emp1=200, a_emp2=404, b_owner=404, b_manager=404,
                               b_emp1=404, anonymous=302)),
    ("GET", "/audit/", row(a_owner=200, a_manager=200, a_emp1=403, a_emp2=403, b_owner=200, b_manager=200,
                           b_emp1=403, anonymous=302)),
    ("GET", "/audit/export.csv", row(a_owner=200, a_manager=200, a_emp1=403, a_emp2=403, b_owner=200,
                                     b_manager=200, b_emp1=403, anonymous=302)),
    ("GET", "/storage/", row(a_owner=200, a_manager=403, a_emp1=403, a_emp2=403, b_owner=200, b_manager=403,
                             b_emp1=403, anonymous=302)),
    # /metrics is guarded by network or token, not by role (tested in storage/test_stats.py); /healthz is open.
    ("GET", "/metrics", row(a_owner=200, a_manager=200, a_emp1=200, a_emp2=200, b_owner=200, b_manager=200,
                            b_emp1=200, anonymous=200)),
    ("GET", "/healthz", row(a_owner=200, a_manager=200, a_emp1=200, a_emp2=200, b_owner=200, b_manager=200,
                            b_emp1=200, anonymous=200)),
    ("GET", "/media/{m}/thumbnail", row(a_owner=302, a_manager=302, a_emp1=302, a_emp2=404, b_owner=404,
                                        b_manager=404, b_emp1=404, anonymous=302)),
    ("GET", "/media/{m}/view", row(a_owner=302, a_manager=302, a_emp1=302, a_emp2=404, b_owner=404, b_manager=404,
                                   b_emp1=404, anonymous=302)),
    ("GET", "/media/{m}/download", row(a_owner=302, a_manager=302, a_emp1=302, a_emp2=404, b_owner=404,
                                       b_manager=404, b_emp1=404, anonymous=302)),
    ("GET", "/api/shifts/{s}/media", row(a_owner=200, a_manager=200, a_emp1=403, a_emp2=403, b_owner=404,
                                         b_manager=404, b_emp1=403, anonymous=401)),
    ("POST", "/cancellations/", row(a_owner=403, a_manager=403, a_emp1=422, a_emp2=302, b_owner=403, b_manager=403,
                                    b_emp1=422, anonymous=302)),
    ("GET", "/cancellations/{c}/card", row(a_owner=403, a_manager=403, a_emp1=200, a_emp2=404, b_owner=403,
                                           b_manager=403, b_emp1=404, anonymous=302)),
    ("POST", "/cancellations/{c}/proofs", row(a_owner=403, a_manager=403, a_emp1=303, a_emp2=404, b_owner=403,
                                              b_manager=403, b_emp1=404, anonymous=302)),
    # a slot for more proofs on A's request (employee 1's): only its employee gets one
    ("POST", "/uploads/slots", row(a_owner=403, a_manager=403, a_emp1=200, a_emp2=404, b_owner=403, b_manager=403,
                                   b_emp1=404, anonymous=302)),
    ("POST", "/cancellations/{c}/proofs/{m}/delete", row(a_owner=403, a_manager=403, a_emp1=303, a_emp2=404,
                                                         b_owner=403, b_manager=403, b_emp1=404, anonymous=302)),
    ("POST", "/cancellations/{c}/withdraw", row(a_owner=403, a_manager=403, a_emp1=303, a_emp2=404, b_owner=403,
                                                b_manager=403, b_emp1=404, anonymous=302)),
    ("GET", "/account/", row(a_owner=200, a_manager=200, a_emp1=200, a_emp2=200, b_owner=200, b_manager=200,
                             b_emp1=200, anonymous=302)),
    ("POST", "/account/sign-out-others", row(a_owner=303, a_manager=303, a_emp1=303, a_emp2=303, b_owner=303,
                                             b_manager=303, b_emp1=303, anonymous=302)),
    ("GET", "/shifts/new", row(a_owner=200, a_manager=200, a_emp1=403, a_emp2=403, b_owner=200, b_manager=200,
                               b_emp1=403, anonymous=302)),
    # the form offers only the business's own employees: B choosing A's employee is a form error
    ("POST", "/shifts/new", row(a_owner=303, a_manager=303, a_emp1=403, a_emp2=403, b_owner=422, b_manager=422,
                                b_emp1=403, anonymous=302)),
    ("GET", "/shifts/{s2}/edit", row(a_owner=200, a_manager=200, a_emp1=403, a_emp2=403, b_owner=404,
                                     b_manager=404, b_emp1=403, anonymous=302)),
    ("POST", "/shifts/{s2}/edit", row(a_owner=303, a_manager=303, a_emp1=403, a_emp2=403, b_owner=404,
                                      b_manager=404, b_emp1=403, anonymous=302)),
    ("POST", "/shifts/{s2}/delete", row(a_owner=303, a_manager=303, a_emp1=403, a_emp2=403, b_owner=404,
                                        b_manager=404, b_emp1=403, anonymous=302)),
    # each business copies its own week: B's copy touches none of A's shifts (test_schedule checks the counts)
    ("POST", "/shifts/copy-week", row(a_owner=303, a_manager=303, a_emp1=403, a_emp2=403, b_owner=303,
                                      b_manager=303, b_emp1=403, anonymous=302)),
    ("POST", "/shifts/{s2}/reassign", row(a_owner=303, a_manager=303, a_emp1=403, a_emp2=403, b_owner=404,
                                          b_manager=404, b_emp1=403, anonymous=302)),
    ("GET", "/shifts/import", row(a_owner=200, a_manager=200, a_emp1=403, a_emp2=403, b_owner=200,
                                  b_manager=200, b_emp1=403, anonymous=302)),
    # a preview of a file naming A's employee: A sees the row as new, B as an unknown email (never A's name)
    ("POST", "/shifts/import", row(a_owner=200, a_manager=200, a_emp1=403, a_emp2=403, b_owner=200,
                                   b_manager=200, b_emp1=403, anonymous=302)),
    ("POST", "/cancellations/{c}/decide", row(a_owner=303, a_manager=303, a_emp1=403, a_emp2=403, b_owner=404,
                                              b_manager=404, b_emp1=403, anonymous=302)),
    # people: {u} = A's employee 2; {t} = a reset-password token of A's employee 2
    ("GET", "/staff/", row(a_owner=200, a_manager=200, a_emp1=403, a_emp2=403, b_owner=200, b_manager=200,
                           b_emp1=403, anonymous=302)),
    ("POST", "/staff/invite", row(a_owner=303, a_manager=303, a_emp1=403, a_emp2=403, b_owner=303, b_manager=303,
                                  b_emp1=403, anonymous=302)),
    ("POST", "/staff/{u}/resend", row(a_owner=303, a_manager=303, a_emp1=403, a_emp2=403, b_owner=404,
                                      b_manager=404, b_emp1=403, anonymous=302)),
    ("POST", "/staff/{u}/deactivate", row(a_owner=303, a_manager=403, a_emp1=403, a_emp2=403, b_owner=404,
                                          b_manager=403, b_emp1=403, anonymous=302)),
    ("POST", "/staff/{u}/reactivate", row(a_owner=303, a_manager=403, a_emp1=403, a_emp2=403, b_owner=404,
                                          b_manager=403, b_emp1=403, anonymous=302)),
    ("POST", "/staff/{u}/role", row(a_owner=303, a_manager=403, a_emp1=403, a_emp2=403, b_owner=404, b_manager=403,
                                    b_emp1=403, anonymous=302)),
    ("POST", "/account/profile", row(a_owner=303, a_manager=303, a_emp1=303, a_emp2=303, b_owner=303,
                                     b_manager=303, b_emp1=303, anonymous=302)),
    ("POST", "/account/password", row(a_owner=422, a_manager=422, a_emp1=422, a_emp2=422, b_owner=422,
                                      b_manager=422, b_emp1=422, anonymous=302)),
    ("GET", "/forgot-password", row(a_owner=200, a_manager=200, a_emp1=200, a_emp2=200, b_owner=200, b_manager=200,
                                    b_emp1=200, anonymous=200)),
    ("POST", "/forgot-password", row(a_owner=303, a_manager=303, a_emp1=303, a_emp2=303, b_owner=303,
                                     b_manager=303, b_emp1=303, anonymous=303)),
    ("POST", "/language", row(a_owner=303, a_manager=303, a_emp1=303, a_emp2=303, b_owner=303, b_manager=303,
                              b_emp1=303, anonymous=303)),
    ("GET", "/reset-password/{t}", row(a_owner=409, a_manager=409, a_emp1=409, a_emp2=200, b_owner=409,
                                       b_manager=409, b_emp1=409, anonymous=200)),
    ("POST", "/reset-password/{t}", row(a_owner=409, a_manager=409, a_emp1=409, a_emp2=303, b_owner=409,
                                        b_manager=409, b_emp1=409, anonymous=303)),
    ("GET", "/invitation/{t}", row(a_owner=400, a_manager=400, a_emp1=400, a_emp2=400, b_owner=400, b_manager=400,
                                   b_emp1=400, anonymous=400)),  # a reset token is no invitation
    ("GET", "/settings/api-tokens/", row(a_owner=200, a_manager=403, a_emp1=403, a_emp2=403, b_owner=200,
                                         b_manager=403, b_emp1=403, anonymous=302)),
    ("POST", "/settings/api-tokens/", row(a_owner=200, a_manager=403, a_emp1=403, a_emp2=403, b_owner=200,
                                          b_manager=403, b_emp1=403, anonymous=302)),
    ("POST", "/settings/api-tokens/{k}/revoke", row(a_owner=303, a_manager=403, a_emp1=403, a_emp2=403,
                                                    b_owner=404, b_manager=403, b_emp1=403, anonymous=302)),
    # a person's data: {e} = A's employee 1 (who has a proof); the owner exports anyone of the business, an employee
    # only themself; managers may not export a whole person (docs/export-and-access.md); /my-data/ is the employee's own
    ("POST", "/exports/people/{e}", row(a_owner=200, a_manager=403, a_emp1=200, a_emp2=404, b_owner=404,
                                        b_manager=403, b_emp1=404, anonymous=302)),
    ("GET", "/my-data/", row(a_owner=403, a_manager=403, a_emp1=200, a_emp2=200, b_owner=403, b_manager=403,
                             b_emp1=200, anonymous=302)),
    # data protection (owner only): {c} = A's request, {u} = A's employee 2, {r} = a deletion report of A
    ("GET", "/settings/data/", row(a_owner=200, a_manager=403, a_emp1=403, a_emp2=403, b_owner=200, b_manager=403,
                                   b_emp1=403, anonymous=302)),
    ("POST", "/settings/data/retention", row(a_owner=303, a_manager=403, a_emp1=403, a_emp2=403, b_owner=303,
                                             b_manager=403, b_emp1=403, anonymous=302)),
    ("POST", "/settings/data/holds/{c}", row(a_owner=303, a_manager=403, a_emp1=403, a_emp2=403, b_owner=404,
                                             b_manager=403, b_emp1=403, anonymous=302)),
    ("POST", "/settings/data/holds/{c}/release", row(a_owner=303, a_manager=403, a_emp1=403, a_emp2=403,
                                                     b_owner=404, b_manager=403, b_emp1=403, anonymous=302)),
    ("GET", "/settings/data/erase/{u}", row(a_owner=200, a_manager=403, a_emp1=403, a_emp2=403, b_owner=404,
                                            b_manager=403, b_emp1=403, anonymous=302)),
    ("POST", "/settings/data/erase/{u}", row(a_owner=303, a_manager=403, a_emp1=403, a_emp2=403, b_owner=404,
                                             b_manager=403, b_emp1=403, anonymous=302)),
    ("GET", "/settings/data/reports/{r}.json", row(a_owner=200, a_manager=403, a_emp1=403, a_emp2=403,
                                                   b_owner=404, b_manager=403, b_emp1=403, anonymous=302)),
    ("GET", "/settings/data/reports/{r}.csv", row(a_owner=200, a_manager=403, a_emp1=403, a_emp2=403,
                                                  b_owner=404, b_manager=403, b_emp1=403, anonymous=302)),
    # /api/v1 takes a token only: a session, whoever's, is no one there (tokens: test_api_route_answers_by_token).
    ("GET", "/api/v1/openapi.json", row(a_owner=200, a_manager=200, a_emp1=200, a_emp2=200, b_owner=200,
                                        b_manager=200, b_emp1=200, anonymous=200)),
    *[(method, path, row(a_owner=401, a_manager=401, a_emp1=401, a_emp2=401, b_owner=401, b_manager=401, b_emp1=401,
                         anonymous=401))
      for method, path in (("GET", "/api/v1/cancellations"), ("GET", "/api/v1/employees/E1"),
                           ("PUT", "/api/v1/employees/E1"), ("GET", "/api/v1/shifts/S1"),
                           ("PUT", "/api/v1/shifts/S1"))],
]
CASES = [(method, path, who, statuses[who]) for method, path, statuses in MATRIX for who in WHO]


def _payload(path, world, token):
    data = {"csrf_token": token}
    if path == "/cancellations/":
        data.update(shift_id=str(world.a.shift2.id), reason="Ill", proofs=(io.BytesIO(jpeg_bytes()), "note.jpg"))
    elif path.endswith("/proofs"):
        data["proofs"] = (io.BytesIO(jpeg_bytes()), "more.jpg")
    elif path == "/uploads/slots":
        data.update(content_type="image/jpeg", filename="more.jpg", cancellation=str(world.a.cancellation.id))
    elif path.endswith("/reassign"):
        data["employee"] = str(world.a.emp1.id)
    elif path == "/shifts/new" or path.endswith("/edit"):
        data.update(employee=str(world.a.emp2.id), day="2026-03-02", start="09:00", end="17:00", title="Bar")
    elif path == "/shifts/import":
        csv = f"email,date,start,end,place\n{world.a.emp2.email},2026-03-02,09:00,17:00,Bar\n"
        data.update(step="preview", file=(io.BytesIO(csv.encode()), "week.csv"))
    elif path == "/shifts/copy-week":
        data["week"] = "2026-03-02"
    elif path.endswith("/decide"):
        data.update(decision="approve", comment="ok")
    elif path == "/staff/invite":
        data.update(name="New Person", email="new.person@example.com", role="employee", language="en")
    elif path.endswith("/role"):
        data["role"] = "manager"
    elif path == "/account/profile":
        data.update(name="Renamed", language="en", email_notifications="y")
    elif path == "/account/password":
        data.update(current_password="not the password", new_password="a long new secret",
                    confirm="a long new secret")
    elif path == "/forgot-password":
        data["email"] = world.a.emp1.email
    elif path == "/language":
        data.update(language="en", next="/")
    elif path.startswith("/reset-password/"):
        data.update(new_password="a long new secret", confirm="a long new secret")
    elif path == "/settings/api-tokens/":
        data["name"] = "Shift app"
    elif path == "/settings/data/retention":
        data["months"] = "6"
    elif path == "/settings/data/holds/{c}":
        data["reason"] = "Labour inspection"
    elif path.startswith("/settings/data/erase/"):
        data["confirm"] = "y"
    return data


def _deletion_report(owner):
    from portal.extensions import db
    from portal.models import DeletionReport

    report = DeletionReport(owner_id=owner.id, kind="erasure", report={"files": [], "person": {}})
    db.session.add(report)
    db.session.commit()
    return report


@pytest.mark.parametrize("method,path,who,expected", CASES, ids=[f"{m} {p} {w}" for m, p, w, _ in CASES])
def test_route_answers_by_role_and_tenant(client, auth, proofs, method, path, who, expected):
    world = proofs
    a_token = api_tokens.issue(world.a.owner.id, "A's app", actor=world.a.owner)[0] if "{k}" in path else None
    a_report = _deletion_report(world.a.owner) if "{r}" in path else None
    url = path.format(c=world.a.cancellation.id, m=world.a.proof.id, s=world.a.shift1.id, s2=world.a.shift2.id,
                      u=world.a.emp2.id, e=world.a.emp1.id, t=links.make_token(world.a.emp2, "reset"),
                      k=getattr(a_token, "id", None), r=getattr(a_report, "id", None))
    if who != "anonymous":
        auth.login(world.user(who))
    client.application.config["MEDIA_DIRECT_UPLOAD"] = True  # the slot route answers only when it is on
    if method == "GET":
        response = client.get(url)
    elif method == "PUT":
        response = client.put(url, json={"name": "X", "email": "x@x.example"})
    else:
        token = csrf_token_from(client.get("/login" if who == "anonymous" else "/").get_data(as_text=True))
        response = client.post(url, data=_payload(path, world, token), content_type="multipart/form-data",
                               headers={"Referer": "http://localhost/"})
    body = response.get_data().decode("utf-8", "replace")  # a ZIP export is bytes
    assert response.status_code == expected, body[:500]
    if expected in (403, 404, 401):
        assert "signature=" not in body and "X-Amz-Signature" not in body
    if expected == 303:  # without JavaScript an action goes back to its page
        location = response.headers["Location"]
        assert location in ("/cancellations/", "/shifts/", "/account/", "/staff/", "/login", "/",
                            "/settings/api-tokens/") or location.startswith(("/shifts/", "/settings/data/"))
    if expected == 302 and who == "anonymous":
        assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("who", ["b.owner", "b.manager"])
def test_foreign_owner_sees_none_of_the_other_business(client, auth, proofs, who):
    auth.login(proofs.user(who))
    for path in ("/cancellations/", "/audit/", "/audit/export.csv", "/shifts/", "/", "/storage/", "/staff/"):
        body = client.get(path).get_data(as_text=True)
        assert proofs.a.emp1.display_name not in body and "Alpha" not in body


# What a token of A, a token of B, a revoked token of A and no token get from each /api/v1 route. A's external
# ids E1 and S1 exist in A only; B has its own E1 and S1 (external ids are per business).
TOKEN_MATRIX = [
    ("GET", "/api/v1/employees/E1", dict(a=200, b=200, revoked=401, none=401)),
    ("GET", "/api/v1/employees/A-ONLY", dict(a=200, b=404, revoked=401, none=401)),
    ("GET", "/api/v1/shifts/S1", dict(a=200, b=200, revoked=401, none=401)),
    ("GET", "/api/v1/shifts/SA-ONLY", dict(a=200, b=404, revoked=401, none=401)),
    ("PUT", "/api/v1/employees/E1", dict(a=200, b=200, revoked=401, none=401)),
    ("PUT", "/api/v1/shifts/S1", dict(a=200, b=200, revoked=401, none=401)),
    ("GET", "/api/v1/cancellations", dict(a=200, b=200, revoked=401, none=401)),
    ("GET", "/api/v1/openapi.json", dict(a=200, b=200, revoked=200, none=200)),
]


def _rows(path):
    """{owner_id: name or title} of the employees or shifts with the path's external id, in every business."""
    from portal.extensions import db
    from portal.models import Shift, User

    model = User if "/employees/" in path else Shift
    rows = db.session.execute(db.select(model).where(model.external_id == path.rsplit("/", 1)[1])).scalars()
    return {r.owner_id: (r.display_name if model is User else r.title) for r in rows}


def _seed_by_api(client, world, secrets):
    """A's E1, A-ONLY, S1, SA-ONLY and B's E1, S1, sent through the API itself."""
    for name, people, shifts in (("a", ["E1", "A-ONLY"], ["S1", "SA-ONLY"]), ("b", ["E1"], ["S1"])):
        auth = {"Authorization": f"Bearer {secrets[name]}"}
        for ext_id in people:
            client.put(f"/api/v1/employees/{ext_id}", headers=auth,
                       json={"name": ext_id, "email": f"{ext_id.lower()}.{name}@x.example"})
        for ext_id in shifts:
            client.put(f"/api/v1/shifts/{ext_id}", headers=auth, json={
                "employee": "E1", "title": f"{name} bar",
                "starts_at": "2026-03-02T09:00:00+03:00", "ends_at": "2026-03-02T17:00:00+03:00"})


@pytest.mark.parametrize("method,path,statuses", TOKEN_MATRIX, ids=[f"{m} {p}" for m, p, _s in TOKEN_MATRIX])
def test_api_route_answers_by_token(client, proofs, method, path, statuses):
    world = proofs
    secrets = {}
    for name, business in (("a", world.a), ("b", world.b), ("revoked", world.a)):
        row, secrets[name] = api_tokens.issue(business.owner.id, name, actor=business.owner)
    api_tokens.revoke(row, actor=world.a.owner)
    _seed_by_api(client, world, secrets)
    owners = {"a": world.a.owner.id, "b": world.b.owner.id}
    for who, expected in statuses.items():
        headers = {"Authorization": f"Bearer {secrets[who]}"} if who in secrets else {}
        body = {"employees": {"name": f"E1 by {who}", "email": f"e1.{who}@x.example"},
                "shifts": {"employee": "E1", "title": f"moved by {who}", "starts_at": "2026-03-03T09:00:00+03:00",
                           "ends_at": "2026-03-03T17:00:00+03:00"}}.get(path.split("/")[3])
        before = _rows(path) if method == "PUT" else {}
        response = client.open(path, method=method, headers=headers, json=body if method == "PUT" else None)
        assert response.status_code == expected, (who, response.get_data(as_text=True)[:300])
        if who not in owners:
            continue
        other = "b" if who == "a" else "a"
        text = response.get_data(as_text=True)
        assert getattr(world, other).emp1.email not in text and f".{other}@x.example" not in text
        if path == "/api/v1/cancellations":
            assert [c["id"] for c in response.get_json()["cancellations"]] == [getattr(world, who).cancellation.id]
        if method == "PUT":
            after = _rows(path)
            assert after[owners[who]].endswith(f"by {who}") and after[owners[other]] == before[owners[other]]
