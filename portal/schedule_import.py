"""Importing a schedule CSV: match each row to the business's employees and shifts, then write all or nothing.

A row matches an existing shift by its external id, else by the same employee and start; a match is updated,
not duplicated, so importing the same file twice changes nothing the second time."""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from . import audit
from .extensions import db
from .models import Shift, User
from .schedule import ScheduleError, ShiftTimes, add_scheduled, audit_detail


@dataclass
class Planned:
    """A row with what importing it would do: "create", "update", "unchanged" or "error"."""

    row: object
    action: str
    employee: User | None = None
    shift: Shift | None = None
    times: ShiftTimes | None = None


def plan(owner, parsed):
    """What importing the parsed rows would do, row by row, without writing anything."""
    emails = {r.email for r in parsed.rows if r.email}
    staff = {u.email: u for u in db.session.execute(
        db.select(User).where(User.owner_id == owner.id, User.role == "employee", User.active.is_(True),
                              User.email.in_(emails))).scalars()} if emails else {}
    seen, planned, good = set(), [], []
    for row in parsed.rows:
        employee = staff.get(row.email)
        if row.email and employee is None and not row.errors:
            row.errors.append(_l("No active employee of this business has the email %(email)s.", email=row.email))
        if row.errors:
            planned.append(Planned(row, "error"))
            continue
        times = ShiftTimes(row.day, row.start, row.end)
        keys = {("at", employee.id, times.span(owner.timezone)[0])} | ({("ext", row.external_id)} if row.external_id
                                                                        else set())
        if keys & seen:
            row.errors.append(_l("The same shift is already on an earlier row of this file."))
            planned.append(Planned(row, "error"))
            continue
        seen |= keys
        planned.append(Planned(row, "create", employee, None, times))
        good.append(planned[-1])
    existing = _existing(owner, seen)
    for p in good:
        _match(owner, p, existing)
    return planned


def _existing(owner, keys):
    """The business's shifts the rows may mean, keyed like the rows: ("ext", id) and ("at", employee, start)."""
    external_ids = [k[1] for k in keys if k[0] == "ext"]
    starts = [k for k in keys if k[0] == "at"]
    found = {}
    if external_ids:
        for shift in db.session.execute(db.select(Shift).where(Shift.owner_id == owner.id,
                                                               Shift.external_id.in_(external_ids))).scalars():
            found[("ext", shift.external_id)] = shift
    if starts:
        query = db.select(Shift).where(
            Shift.owner_id == owner.id, Shift.employee_id.in_({k[1] for k in starts}),
            Shift.starts_at >= min(k[2] for k in starts), Shift.starts_at <= max(k[2] for k in starts))
        for shift in db.session.execute(query).scalars():
            found.setdefault(("at", shift.employee_id, shift.starts_at), shift)
    return found


def _match(owner, p, existing):
    """Turn a planned create into an update, unchanged or error when the row means an existing shift."""
    row, employee = p.row, p.employee
    starts_at, ends_at = p.times.span(owner.timezone)
    shift = existing.get(("ext", row.external_id)) if row.external_id else None
    if shift is None:
        shift = existing.get(("at", employee.id, starts_at))
        if shift is not None and shift.external_id not in (None, row.external_id):
            row.errors.append(_l("This employee already has a shift at this time with another external id."))
            p.action = "error"
            return
    if shift is None:
        return
    p.shift = shift
    if (shift.employee_id, shift.starts_at, shift.ends_at, shift.title, shift.external_id) == (
            employee.id, starts_at, ends_at, row.place, row.external_id or shift.external_id):
        p.action = "unchanged"
    elif shift.status != "scheduled":
        row.errors.append(_l("The shift has a cancellation request and can no longer be changed."))
        p.action = "error"
    else:
        p.action = "update"


def apply(owner, planned, *, good_rows_only, actor, source=None):
    """Write the planned creates and updates in one transaction; {action: count}. With errors and not
    good_rows_only nothing is written and ScheduleError is raised."""
    errors = sum(p.action == "error" for p in planned)
    if errors and not good_rows_only:
        raise ScheduleError("The file has rows with errors.")
    counts = {"create": 0, "update": 0, "unchanged": 0, "error": errors}
    for p in planned:
        if p.action == "create":
            add_scheduled(p.employee, p.times, p.row.place, actor=actor, source=source, external_id=p.row.external_id,
                 detail={"import_line": p.row.line})
        elif p.action == "update":
            _update(owner, p, actor=actor, source=source)
        if p.action != "error":
            counts[p.action] += 1
    audit.record("shift.import", actor=actor, owner_id=owner.id, source=source, detail=counts)
    db.session.commit()
    return counts


def _update(owner, p, *, actor, source):
    """Change a matched shift, only while it is still scheduled (a request filed since the preview wins)."""
    starts_at, ends_at = p.times.span(owner.timezone)
    changed = db.session.execute(
        db.update(Shift).where(Shift.id == p.shift.id, Shift.status == "scheduled")
        .values(employee_id=p.employee.id, starts_at=starts_at, ends_at=ends_at, title=p.row.place,
                external_id=p.row.external_id or p.shift.external_id)
        .execution_options(synchronize_session="fetch")).rowcount
    if changed != 1:
        db.session.rollback()
        raise ScheduleError("A shift of the file got a cancellation request meanwhile.")
    audit.record("shift.update", actor=actor, owner_id=owner.id, source=source, shift_id=p.shift.id,
                 detail={**audit_detail(p.shift), "import_line": p.row.line})
