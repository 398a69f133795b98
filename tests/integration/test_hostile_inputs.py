"""Hostile values in every path, query and form field of every route, for every role: never an answer >= 500.

The routes come from the app's url_map, so a new route is fuzzed on its path at once, and
test_every_route_is_described_or_excluded fails until its fields are listed in FIELDS (or it is excluded with
a reason). Forms list their own fields. Hypothesis settings come from the profile in tests/conftest.py."""
import io
import re
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from hypothesis import given, strategies as st

from portal import create_app
from portal.auth.forms import LoginForm, LogoutForm
from portal.media.orchestrator import Upload
from portal.web.api_tokens import TokenForm
from portal.web.retention import EraseForm, HoldForm, RetentionForm
from portal.web.audit import AuditFilterForm
from portal.web.forms import (ActionForm, CancellationFilterForm, CancellationForm, CopyWeekForm, DecisionForm, ImportForm,
                              ReassignForm, ShiftForm, SlotForm)
from portal.web.people_forms import (ForgotPasswordForm, InviteForm, LanguageForm, PasswordChangeForm, ProfileForm,
                                     RoleForm, SetPasswordForm)
from tests.conftest import PASSWORD, Factory, IsolatedClient, World, csrf_token_from, empty_database, make_app
from tests.media_fixtures import jpeg_bytes, store_proof


@dataclass(frozen=True)
class Fields:
    """What a route reads besides its path: query names, a form (its fields go in the query for a GET) and
    file inputs."""

    query: tuple = ()
    form: type | None = None
    files: tuple = ()
    extra_form: tuple = ()


FIELDS = {
    ("auth.login", "GET"): Fields(query=("next",)),
    ("auth.login", "POST"): Fields(query=("next",), form=LoginForm),
    ("auth.logout", "POST"): Fields(form=LogoutForm),
    ("home.index", "GET"): Fields(),
    ("shifts.week", "GET"): Fields(query=("week", "open")),
    ("shifts.show", "GET"): Fields(),
    ("schedule.create", "GET"): Fields(query=("day",)),
    ("schedule.create", "POST"): Fields(form=ShiftForm),
    ("schedule.edit", "GET"): Fields(),
    ("schedule.edit", "POST"): Fields(form=ShiftForm),
    ("schedule.delete", "POST"): Fields(form=ActionForm),
    ("schedule.copy_week", "POST"): Fields(form=CopyWeekForm),
    ("schedule.reassign", "POST"): Fields(form=ReassignForm),
    ("schedule.import_csv", "GET"): Fields(),
    ("schedule.import_csv", "POST"): Fields(form=ImportForm, files=("file",), extra_form=("step",)),
    ("cancellations.index", "GET"): Fields(query=("before", "after", "page"), form=CancellationFilterForm),
    ("cancellations.create", "POST"): Fields(form=CancellationForm, files=("proofs",), extra_form=("slots",)),
    ("cancellations.add_proofs", "POST"): Fields(form=ActionForm, files=("proofs",),
                                                 extra_form=("compact", "replaces", "slots")),
    ("cancellations.card", "GET"): Fields(),
    ("cancellations.remove_proof", "POST"): Fields(form=ActionForm, extra_form=("compact",)),
    ("cancellations.withdraw", "POST"): Fields(form=ActionForm, extra_form=("compact",)),
    ("cancellations.decide", "POST"): Fields(form=DecisionForm, extra_form=("compact",)),
    ("audit.index", "GET"): Fields(query=("before", "after", "page"), form=AuditFilterForm),
    ("audit.export", "GET"): Fields(form=AuditFilterForm),
    ("storage.index", "GET"): Fields(),
    ("media.thumbnail", "GET"): Fields(),
    ("media.view", "GET"): Fields(),
    ("media.download", "GET"): Fields(),
    ("api.shift_media", "GET"): Fields(),
    ("health.healthz", "GET"): Fields(query=("deep",)),
    ("metrics.metrics", "GET"): Fields(),
    ("local_media.serve", "GET"): Fields(query=("expires", "download", "signature")),
    ("direct_uploads.slot", "POST"): Fields(form=SlotForm),
    ("local_media.upload", "POST"): Fields(extra_form=("key", "Content-Type", "x-amz-meta-uploader-id", "policy"),
                                           files=("file",)),
    ("account.index", "GET"): Fields(),
    ("account.profile", "POST"): Fields(form=ProfileForm),
    ("account.password", "POST"): Fields(form=PasswordChangeForm),
    ("auth.forgot_password", "GET"): Fields(),
    ("auth.forgot_password", "POST"): Fields(form=ForgotPasswordForm),
    ("auth.set_password", "GET"): Fields(),
    ("auth.set_password", "POST"): Fields(form=SetPasswordForm),
    ("staff.index", "GET"): Fields(),
    ("staff.invite", "POST"): Fields(form=InviteForm),
    ("staff.resend", "POST"): Fields(form=ActionForm),
    ("staff.deactivate", "POST"): Fields(form=ActionForm),
    ("staff.reactivate", "POST"): Fields(form=ActionForm),
    ("staff.change_role", "POST"): Fields(form=RoleForm),
    ("language.switch", "POST"): Fields(form=LanguageForm),
    ("account.end_other_sessions", "POST"): Fields(form=ActionForm),
    ("api_tokens.index", "GET"): Fields(),
    ("api_tokens.create", "POST"): Fields(form=TokenForm),
    ("api_tokens.revoke", "POST"): Fields(form=ActionForm),
    ("exports.person", "POST"): Fields(form=ActionForm),
    ("my_data.index", "GET"): Fields(query=("before", "after")),
    ("retention.index", "GET"): Fields(),
    ("retention.save_months", "POST"): Fields(form=RetentionForm),
    ("retention.hold", "POST"): Fields(form=HoldForm),
    ("retention.release", "POST"): Fields(form=ActionForm),
    ("retention.confirm_erase", "GET"): Fields(),
    ("retention.erase", "POST"): Fields(form=EraseForm),
    ("retention.report_json", "GET"): Fields(),
    ("retention.report_csv", "GET"): Fields(),
    # /api/v1 answers 401 to every session; its JSON bodies are fuzzed with a token in test_api_v1.py.
    ("api_v1.openapi", "GET"): Fields(),
    ("api_v1.cancellations", "GET"): Fields(query=("updated_since", "cursor", "limit")),
    ("api_v1.get_employee", "GET"): Fields(),
    ("api_v1.put_employee", "PUT"): Fields(),
    ("api_v1.get_shift", "GET"): Fields(),
    ("api_v1.put_shift", "PUT"): Fields(),
}
EXCLUDED = {
    "static": "Flask's send_from_directory serves files by name under static/; it reads no id, page, date or form",
}
ROLES = ("anonymous", "owner", "manager", "employee")
ABSENT = object()
VALID_TOKEN = "<the role's CSRF token>"
PATH_ARG = r"<(?:[^:>]+:)?([^>]+)>"


def _route_cases():
    """(endpoint, method, rule) for every route of the app, but the excluded ones."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "k" * 40}, profile="testing")
    return sorted((rule.endpoint, method, rule.rule) for rule in app.url_map.iter_rules()
                  for method in rule.methods - {"HEAD", "OPTIONS"} if rule.endpoint not in EXCLUDED)


ROUTES = _route_cases()

BOUNDARY_INTS = [0, -1, 1, 2**31 - 1, 2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**20, -(2**63) - 1]
BAD_DATES = ["0001-01-01", "9999-12-31", "1999-12-31", "2101-01-01", "2024-02-30", "10000-01-01", "2026-13-01",
             "-1-01-01", " 2026-01-01", "2026-01-01T00:00", "２０２６-０１-０１", "2026-1-1", "0000-00-00"]
HOSTILE = st.one_of(
    st.sampled_from(BOUNDARY_INTS).map(str),
    st.integers().map(str),
    st.integers(min_value=19, max_value=6000).map(lambda n: "9" * n),  # past any column and Python's 4300 digits
    st.floats().map(str),  # nan, inf, 1e+300, -0.0
    st.dates().map(date.isoformat),  # year 1 to 9999
    st.sampled_from(BAD_DATES),
    st.text(max_size=40),  # any code point: NUL, controls, bidi marks, astral characters
    st.text(max_size=20).map(lambda s: s + "\x00" + s),
    st.integers(min_value=1_000, max_value=100_000).map(lambda n: "é" * n),  # very long
)


def _valid(world):
    """A value each field accepts, so that one hostile field meets otherwise good ones and reaches deep code."""
    return {"next": "/shifts/", "email": world.owner_email, "password": PASSWORD, "remember": "y",
            "week": "2026-03-02", "page": "1", "status": "pending", "employee": str(world.employee_id),
            "actor": str(world.employee_id), "action": "media.view", "shift": str(world.shift_id),
            "date_from": "2026-01-01", "date_to": "2026-12-31", "shift_id": str(world.shift_id), "reason": "Ill",
            "decision": "approve", "comment": "ok", "compact": "1", "deep": "1", "expires": "9999999999",
            "download": "a.jpg", "signature": "0" * 64, "csrf_token": VALID_TOKEN,
            "day": "2026-03-02", "start": "09:00", "end": "17:00", "title": "Bar", "step": "import",
            "payload": "ZW1haWwsZGF0ZSxzdGFydCxlbmQscGxhY2UKZUB4LnJ1LDIwMjYtMDMtMDIsOTowMCwxNzowMCxCYXIK",
            "good_rows": "y"}


def _path_valid(world):
    return {"cancellation_id": str(world.cancellation_id), "media_id": str(world.media_id),
            "user_id": str(world.employee_id),
            "shift_id": str(world.shift_id), "key": world.media_key}


def _field(name, world):
    """Absent, valid or hostile; the CSRF token and the page valid four times in five, so that most requests get
    past them to the other fields."""
    valid = _valid(world).get(name, "1")
    values = st.one_of(st.just(ABSENT), st.just(valid), HOSTILE)
    return _mostly(valid, values) if name in ("csrf_token", "page") else values


def _mostly(valid, others):
    """The valid value four times in five, else one of the others."""
    return st.integers(0, 4).flatmap(lambda n: others if n == 0 else st.just(valid))


def _names(spec, method, world):
    """(query names, form body names) of a route."""
    form_names = ()
    if spec.form:
        with world.app.test_request_context():
            form_names = tuple(f.name for f in spec.form(meta={"csrf": False}))
    if method == "GET":
        return spec.query + form_names, ()
    return spec.query, form_names + ("csrf_token",) + spec.extra_form


@pytest.fixture(scope="module")
def hostile_world(database_url, tmp_path_factory):
    """One app and business for the module: a shift with a pending request and a proof, each role's session."""
    app = make_app(database_url, tmp_path_factory.mktemp("hostile"), LOGIN_RATE_LIMIT="100000 per minute",
                   MEDIA_DIRECT_UPLOAD=True, MEDIA_UPLOAD_RATE_LIMIT="100000 per minute",
                   INVITATION_RATE_LIMIT="100000 per minute", INVITATION_RESEND_RATE_LIMIT="100000 per minute")
    app.test_client_class = IsolatedClient
    with app.app_context():
        world = World(Factory())
        cancellation = Factory().cancellation(world.a.shift1)
        proof = store_proof(cancellation, Upload(io.BytesIO(jpeg_bytes()), "a.jpg"), actor=world.a.emp1)
        state = SimpleNamespace(app=app, owner_email=world.a.owner.email, employee_id=world.a.emp1.id,
                                shift_id=world.a.shift1.id, cancellation_id=cancellation.id, media_id=proof.id,
                                media_key=proof.storage_key, users={"owner": world.a.owner.email,
                                "manager": world.a.manager.email, "employee": world.a.emp1.email})
    state.sessions, state.tokens = {}, {}
    for role in ROLES:
        _sign_in(state, role)
    yield state
    with app.app_context():
        empty_database()


def _sign_in(state, role):
    """Sign the role in through the login form; keep its session cookie and CSRF token."""
    client = state.app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    if role != "anonymous":
        client.post("/login", data={"email": state.users[role], "password": PASSWORD, "csrf_token": token})
        token = csrf_token_from(client.get("/").get_data(as_text=True))
    state.sessions[role] = client.get_cookie(state.app.config["SESSION_COOKIE_NAME"]).value
    state.tokens[role] = token


def _signed_out(world, role):
    """True when the role's kept session no longer opens the home page."""
    return _send(world, role, "GET", SimpleNamespace(path="/", query={}, body={}, htmx=False)).status_code != 200


def _path(rule, values):
    """The rule's path with each <converter:name> replaced by its value, percent-encoded as one segment."""
    return re.sub(PATH_ARG, lambda m: quote(values[m.group(1)], safe=""), rule)


@st.composite
def hostile_requests(draw, case, world):
    """A request for one route: path arguments, query and form values, each absent, valid or hostile."""
    endpoint, method, rule = case
    spec = FIELDS.get((endpoint, method), Fields())
    valid = _path_valid(world)
    path_values = {name: draw(_mostly(valid.get(name, "1"), HOSTILE), label=name)
                   for name in re.findall(PATH_ARG, rule)}
    query_names, body_names = _names(spec, method, world)
    query = {n: v for n in query_names if (v := draw(_field(n, world), label=n)) is not ABSENT}
    body = {n: v for n in body_names if (v := draw(_field(n, world), label=n)) is not ABSENT}
    for name in spec.files:
        if draw(st.booleans(), label=name):
            body[name] = (io.BytesIO(jpeg_bytes()), draw(st.one_of(st.just("note.jpg"), HOSTILE)))
    return SimpleNamespace(path=_path(rule, path_values), query=query, body=body, htmx=draw(st.booleans()))


# Besides Hypothesis's draws, every path argument and field of every route gets each of these in turn, the
# others valid: what the review found (page 10^20, years 1 and 9999, ids of 2^63), text that ASCII-only code
# does not expect, and a number longer than Python will parse.
KNOWN = [
    {"page": str(10**20), "date_from": "0001-01-01", "date_to": "9999-12-31", "week": "9999-12-31", "*": str(2**63)},
    {"*": "\x80é\x00\u202e\n<x>"},
    {"*": "9" * 5000},
]


def known_hostile_requests(case, world):
    """One request per KNOWN value and path argument or field of the route, every other one valid."""
    endpoint, method, rule = case
    query_names, body_names = _names(FIELDS.get((endpoint, method), Fields()), method, world)
    path_names = re.findall(PATH_ARG, rule)
    valid = {**_valid(world), **_path_valid(world)}
    for values in KNOWN:
        for hostile in path_names + list(query_names) + list(body_names):
            def value(name):
                return values.get(name, values["*"]) if name == hostile else valid.get(name, "1")

            yield SimpleNamespace(path=_path(rule, {n: value(n) for n in path_names}),
                                  query={n: value(n) for n in query_names}, body={n: value(n) for n in body_names},
                                  htmx=False)


def _send(world, role, method, request):
    """Send the request as the role (a fresh client holding the role's session); the response."""
    client = world.app.test_client()
    client.set_cookie(world.app.config["SESSION_COOKIE_NAME"], world.sessions[role])
    body = {k: world.tokens[role] if v == VALID_TOKEN else v for k, v in request.body.items()}
    return client.open(request.path, method=method, query_string=request.query, data=body or None,
                       headers={"HX-Request": "true"} if request.htmx else {})


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", ROUTES, ids=[f"{m} {r}" for _e, m, r in ROUTES])
def test_no_hostile_value_gets_a_server_error(hostile_world, case, role):
    endpoint, method, _rule = case

    def check(request):
        response = _send(hostile_world, role, method, request)
        assert response.status_code < 500, (request, response.get_data(as_text=True)[:300])
        if endpoint == "auth.logout" and role != "anonymous" and _signed_out(hostile_world, role):
            _sign_in(hostile_world, role)  # the sign-out ended the role's session on the server

    for request in known_hostile_requests(case, hostile_world):
        check(request)
    given(st.data())(lambda data: check(data.draw(hostile_requests(case, hostile_world))))()


def test_every_route_is_described_or_excluded(hostile_world):
    cases = {(endpoint, method) for endpoint, method, _rule in ROUTES}
    assert sorted(cases - set(FIELDS)) == [], "list the new route's query and form fields in FIELDS, or exclude it"
    assert sorted(set(FIELDS) - cases) == [], "FIELDS names a route the app no longer has"
    assert all(reason for reason in EXCLUDED.values())
