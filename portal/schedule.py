"""The schedule workflow: create, edit, delete and reassign shifts. Views call these; these own every commit.

Times come in as a local date, start and end in the business's timezone; an end at or before the start is the
next day's (an overnight shift). Overlaps of one employee's shifts are reported, never refused: a double shift
or a handover is a manager's decision."""
from dataclasses import dataclass
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from . import audit
from .days import at_local, week_bounds
from .extensions import db
from .models import Shift, ShiftCancellation, User


class ScheduleError(Exception):
    """The change does not fit the shift's state (it has a request, it was changed meanwhile)."""


@dataclass(frozen=True)
class ShiftTimes:
    """A shift's wall-clock times in the business's timezone, as a form or a CSV row gives them."""

    day: date
    start: time
    end: time

    def span(self, tz):
        """(starts_at, ends_at) as aware instants; an end at or before the start falls on the next day."""
        starts = at_local(self.day, self.start, tz)
        return starts, at_local(self.day, self.end, tz, plus_days=1 if self.end <= self.start else 0)


def employees(owner_id):
    """The active employees of a business, by name: who a shift can be given to."""
    return db.session.execute(
        db.select(User).where(User.owner_id == owner_id, User.role == "employee", User.active.is_(True))
        .order_by(User.display_name, User.id)
    ).scalars().all()


def employee_of(owner_id, employee_id):
    """The business's active employee with this id, or None (a foreign or unknown id looks the same)."""
    return db.session.execute(
        db.select(User).where(User.id == employee_id, User.owner_id == owner_id, User.role == "employee",
                              User.active.is_(True))
    ).scalar_one_or_none()


def overlapping(employee_id, starts_at, ends_at, exclude_id=None):
    """The employee's other live shifts that share time with [starts_at, ends_at)."""
    query = db.select(Shift).where(Shift.employee_id == employee_id, Shift.status != "cancelled",
                                   Shift.starts_at < ends_at, Shift.ends_at > starts_at).order_by(Shift.starts_at)
    if exclude_id is not None:
        query = query.where(Shift.id != exclude_id)
    return db.session.execute(query).scalars().all()


def audit_detail(shift):
    return {"employee_id": shift.employee_id, "starts_at": shift.starts_at.isoformat(),
            "ends_at": shift.ends_at.isoformat(), "title": shift.title}


def add_scheduled(employee, times, title, *, actor, source, external_id=None, detail=None):
    """Add a scheduled shift and its audit event to the session (the caller commits)."""
    starts_at, ends_at = times.span(employee.business.timezone)
    shift = Shift(owner_id=employee.owner_id, employee_id=employee.id, starts_at=starts_at, ends_at=ends_at,
                  title=title.strip(), status="scheduled", external_id=external_id)
    db.session.add(shift)
    db.session.flush()
    audit.record("shift.create", actor=actor, owner_id=shift.owner_id, source=source, shift_id=shift.id,
                 detail={**audit_detail(shift), **(detail or {})})
    return shift


def create(employee, times, title, *, actor, source=None):
    """Add a scheduled shift of the employee in their business; audited."""
    shift = add_scheduled(employee, times, title, actor=actor, source=source)
    db.session.commit()
    return shift


def local_times(shift, tz):
    """A shift's wall-clock times in tz (the inverse of ShiftTimes.span)."""
    zone = ZoneInfo(tz)
    starts, ends = shift.starts_at.astimezone(zone), shift.ends_at.astimezone(zone)
    return ShiftTimes(starts.date(), starts.time().replace(tzinfo=None), ends.time().replace(tzinfo=None))


def copy_week(owner, monday, *, actor, source=None):
    """Copy every shift of the week starting monday to the next week, same employee and wall-clock times, as
    scheduled; a shift already there (same employee, start and end) is skipped. Returns (copied, skipped)."""
    start, end = week_bounds(owner.timezone, monday)
    shifts = db.session.execute(
        db.select(Shift).join(Shift.employee)
        .where(Shift.owner_id == owner.id, Shift.starts_at >= start, Shift.starts_at < end,
               User.active.is_(True), User.role == "employee")
        .order_by(Shift.starts_at, Shift.id)
    ).scalars().all()
    copied = skipped = 0
    for shift in shifts:
        times = local_times(shift, owner.timezone)
        times = ShiftTimes(times.day + timedelta(days=7), times.start, times.end)
        if _exists(shift.employee_id, *times.span(owner.timezone)):
            skipped += 1
            continue
        add_scheduled(shift.employee, times, shift.title, actor=actor, source=source, detail={"copied_from": shift.id})
        copied += 1
    db.session.commit()
    return copied, skipped


def _exists(employee_id, starts_at, ends_at):
    """True when the employee already has a shift with exactly these times."""
    return db.session.execute(
        db.select(Shift.id).where(Shift.employee_id == employee_id, Shift.starts_at == starts_at,
                                  Shift.ends_at == ends_at).limit(1)
    ).first() is not None


def update(shift, employee, times, title, *, actor, source=None):
    """Change a scheduled shift's employee, times and place; ScheduleError once it has a request or ended."""
    starts_at, ends_at = times.span(employee.business.timezone)
    changed = db.session.execute(
        db.update(Shift).where(Shift.id == shift.id, Shift.status == "scheduled")
        .values(employee_id=employee.id, starts_at=starts_at, ends_at=ends_at, title=title.strip())
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if changed != 1:
        db.session.rollback()
        raise ScheduleError("This shift has a cancellation request and can no longer be edited.")
    audit.record("shift.update", actor=actor, owner_id=shift.owner_id, source=source, shift_id=shift.id,
                 detail=audit_detail(shift))
    db.session.commit()
    db.session.refresh(shift)
    return shift


def delete(shift, *, actor, source=None):
    """Remove a shift that never had a cancellation request; ScheduleError otherwise."""
    detail = audit_detail(shift)
    requested = sa.exists().where(ShiftCancellation.shift_id == Shift.id)
    removed = db.session.execute(
        db.delete(Shift).where(Shift.id == shift.id, ~requested).execution_options(synchronize_session=False)
    ).rowcount
    if removed != 1:
        db.session.rollback()
        raise ScheduleError("This shift has a cancellation request and cannot be deleted.")
    db.session.expunge(shift)
    audit.record("shift.delete", actor=actor, owner_id=shift.owner_id, source=source,
                 shift_id=shift.id, detail=detail)
    db.session.commit()


def reassign(shift, employee, *, actor, source=None):
    """Give an open shift (its cancellation was approved) to another employee: it is scheduled for them."""
    previous = shift.employee_id
    if employee.id == previous:
        raise ScheduleError("The shift was cancelled by this employee; choose someone else.")
    changed = db.session.execute(
        db.update(Shift).where(Shift.id == shift.id, Shift.status == "cancelled", Shift.employee_id == previous)
        .values(employee_id=employee.id, status="scheduled").execution_options(synchronize_session="fetch")
    ).rowcount
    if changed != 1:
        db.session.rollback()
        raise ScheduleError("This shift is not open any more.")
    audit.record("shift.reassign", actor=actor, owner_id=shift.owner_id, source=source, shift_id=shift.id,
                 detail={"from_employee_id": previous, "to_employee_id": employee.id})
    db.session.commit()
    db.session.refresh(shift)
    return shift
