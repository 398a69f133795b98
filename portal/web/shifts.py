"""Shift pages: the week of shift cards for owners and managers, and one shift in detail."""
from datetime import date, timedelta

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy.orm import selectinload

from .. import schedule
from ..auth.guards import roles_required, tenant_get_or_404
from ..extensions import db
from ..days import week_bounds
from ..inputs import date_in_range
from ..models import MediaObject, Shift, ShiftCancellation

bp = Blueprint("shifts", __name__, url_prefix="/shifts")


def _week_start_arg():
    try:
        day = date.fromisoformat(request.args.get("week", ""))
    except ValueError:
        return None
    return date_in_range(day)


def latest_request(shift):
    """The shift's newest cancellation request that was not withdrawn, if any."""
    return next((c for c in shift.cancellations if c.status != "withdrawn" and c.submitted_at), None)


@bp.route("/")
@roles_required("owner", "manager")
def week():
    """A week of shift cards by day, with cancellation reasons and proof thumbnails."""
    start, end = week_bounds(current_user.business.timezone, _week_start_arg())
    shifts = db.session.execute(
        db.select(Shift)
        .where(Shift.owner_id == current_user.owner_id, Shift.starts_at >= start, Shift.starts_at < end)
        .options(selectinload(Shift.employee),
                 # a card shows a proof's name and kind and links by id: the rest of its row stays in the database
                 selectinload(Shift.cancellations).selectinload(ShiftCancellation.proofs)
                 .load_only(MediaObject.id, MediaObject.original_filename, MediaObject.content_type,
                            raiseload=True),
                 selectinload(Shift.cancellations).selectinload(ShiftCancellation.decided_by))
        .order_by(Shift.starts_at)
    ).scalars().all()
    days = [(start + timedelta(days=i)).date() for i in range(7)]
    by_day = {day: [] for day in days}
    for shift in shifts:
        by_day.setdefault(shift.starts_at.astimezone(start.tzinfo).date(), []).append(shift)
    staff = schedule.employees(current_user.owner_id) if any(s.status == "cancelled" for s in shifts) else []
    return render_template("shifts/week.html", days=days, by_day=by_day, week_start=start, staff=staff,
                           prev_week=(start - timedelta(days=7)).date(), next_week=(start + timedelta(days=7)).date(),
                           latest_request=latest_request, viewer=current_user._get_current_object())


@bp.route("/<id:shift_id>")
@roles_required("owner", "manager", "employee")
def show(shift_id):
    """One shift: an employee sees only their own; others see any of their business."""
    shift = tenant_get_or_404(Shift, shift_id, employee_field="employee_id")
    return render_template("shifts/show.html", shift=shift, request_=latest_request(shift))
