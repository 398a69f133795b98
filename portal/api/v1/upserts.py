"""PUT and GET of employees and shifts by the main shift app's external ids, inside the token's business."""
from datetime import timedelta

from flask import g, jsonify
from sqlalchemy.exc import IntegrityError

from ... import audit
from ...accounts.people import InvalidEmailError, normalise_email
from ...extensions import db
from ...models import Shift, User
from ...web.request_data import request_source
from . import ApiError, bp, invalid
from .bodies import iso, json_body, moment

MAX_SHIFT = timedelta(hours=24)


def _employee(owner_id, ext_id):
    return db.session.execute(db.select(User).where(
        User.owner_id == owner_id, User.external_id == ext_id, User.role != "owner")).scalar_one_or_none()


def _shift(owner_id, ext_id):
    return db.session.execute(db.select(Shift).where(
        Shift.owner_id == owner_id, Shift.external_id == ext_id)).scalar_one_or_none()


def _not_found(what):
    return ApiError(404, "not_found", f"No {what} with this external id in your business.")


def employee_json(user):
    return {"external_id": user.external_id, "id": user.id, "name": user.display_name, "email": user.email,
            "language": user.language, "role": user.role, "active": user.active}


def shift_json(shift):
    return {"external_id": shift.external_id, "id": shift.id, "title": shift.title, "status": shift.status,
            "starts_at": iso(shift.starts_at), "ends_at": iso(shift.ends_at),
            "employee": {"id": shift.employee.id, "external_id": shift.employee.external_id,
                         "email": shift.employee.email}}


def _commit(action, ext_id, created, **ids):
    """Audit the upsert in the caller's transaction and commit; two PUTs racing on one id: 409 for the loser."""
    token = g.api_token
    audit.record(action, actor=token.created_by, owner_id=token.owner_id, source=request_source(),
                 detail={"external_id": ext_id, "created": created, "api_token": token.prefix, **ids})
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ApiError(409, "conflict", "Another request changed this at the same moment; send it again.") from None


@bp.route("/employees/<external_id:external_id_>", methods=["GET"])
def get_employee(external_id_):
    """One employee or manager of the business by external id."""
    user = _employee(g.api_token.owner_id, external_id_)
    if user is None:
        raise _not_found("employee")
    return jsonify(employee_json(user))


@bp.route("/employees/<external_id:external_id_>", methods=["PUT"])
def put_employee(external_id_):
    """Create or update an employee or manager; an existing account with the email and no external id is adopted."""
    ext_id, data = external_id_, json_body("EmployeeInput")
    owner_id = g.api_token.owner_id
    try:  # the staff page's and `flask business create`'s check and normal form, so one address is one account
        email = normalise_email(data["email"])
    except InvalidEmailError:
        raise invalid({"email": "An email address, like name@example.com."}) from None
    user = _employee(owner_id, ext_id)
    holder = db.session.execute(db.select(User).where(User.email == email)).scalar_one_or_none()
    if user is None and holder is not None and holder.owner_id == owner_id and holder.role != "owner" \
            and holder.external_id is None:
        user = holder  # the person was added on the staff page before the shift app knew them
    if holder is not None and holder is not user:
        raise invalid({"email": "This email belongs to another account."})
    created = user is None
    if created:
        # no password yet (NULL), as on the staff page: "invited" there, where an invitation link can be sent
        user = User(owner_id=owner_id, external_id=ext_id, password_hash=None)
        db.session.add(user)
    user.external_id, user.display_name, user.email = ext_id, data["name"].strip(), email
    user.role = data.get("role", user.role if not created else "employee")
    if "language" in data:
        user.language = data["language"]
    active = data.get("active", True)
    if active and not user.active:
        user.active = True
    elif not active and (created or user.active):
        user.deactivate()  # ends their sessions too
    db.session.flush()
    body = employee_json(user)
    _commit("api.employee", ext_id, created, user_id=user.id)
    return jsonify(body), 201 if created else 200


@bp.route("/shifts/<external_id:external_id_>", methods=["GET"])
def get_shift(external_id_):
    """One shift of the business by external id."""
    shift = _shift(g.api_token.owner_id, external_id_)
    if shift is None:
        raise _not_found("shift")
    return jsonify(shift_json(shift))


def _shift_employee(owner_id, reference):
    """The active employee or manager the reference (external id or email) names in the business."""
    unknown = invalid({"employee": "No active employee with this external id or email in your business."})
    column, value = User.external_id, reference
    if "@" in reference:
        try:
            column, value = User.email, normalise_email(reference)
        except InvalidEmailError:
            raise unknown from None
    person = db.session.execute(db.select(User).where(
        User.owner_id == owner_id, column == value, User.role != "owner", User.active.is_(True))
    ).scalar_one_or_none()
    if person is None:
        raise unknown
    return person


@bp.route("/shifts/<external_id:external_id_>", methods=["PUT"])
def put_shift(external_id_):
    """Create or update a shift; once a cancellation was asked for, only its title may change."""
    ext_id, data = external_id_, json_body("ShiftInput")
    owner_id = g.api_token.owner_id
    starts, ends = moment(data["starts_at"], "starts_at"), moment(data["ends_at"], "ends_at")
    if not timedelta(0) < ends - starts <= MAX_SHIFT:
        raise invalid({"ends_at": "After starts_at, and at most 24 hours later."})
    person = _shift_employee(owner_id, data["employee"])
    shift = _shift(owner_id, ext_id)
    created = shift is None
    if created:
        shift = Shift(owner_id=owner_id, external_id=ext_id, status="scheduled")
        db.session.add(shift)
    elif shift.status != "scheduled" and (shift.employee_id, shift.starts_at, shift.ends_at) != (
            person.id, starts, ends):
        raise ApiError(409, "conflict", "A cancellation was requested for this shift; only its title may change.")
    shift.employee, shift.starts_at, shift.ends_at, shift.title = person, starts, ends, data["title"].strip()
    db.session.flush()
    body = shift_json(shift)
    _commit("api.shift", ext_id, created, shift_id=shift.id)
    return jsonify(body), 201 if created else 200
