"""Shift pages: the week of shift cards for owners and managers, and one shift in detail."""
from datetime import date, timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, make_response, render_template, request
from flask_login import current_user
from sqlalchemy.orm import load_only, selectinload

from .. import schedule
from ..auth.guards import roles_required, tenant_get_or_404
from ..extensions import db
from ..days import week_bounds
from ..inputs import date_in_range, parse_id
from ..models import MediaObject, Shift, ShiftCancellation, User
from .htmx import is_htmx, render_block

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


def _opened_shift():
    """The shift whose request card is opened (?open=<shift id>), of the viewer's business; None when none is."""
    if "open" not in request.args:
        return None
    shift_id = parse_id(request.args["open"])
    if shift_id is None:
        abort(404)
    return tenant_get_or_404(Shift, shift_id)


def _week_shifts(start, end):
    """The week's shifts with what their cards show: times, title, status and the person."""
    return db.session.execute(
        db.select(Shift)
        .where(Shift.owner_id == current_user.owner_id, Shift.starts_at >= start, Shift.starts_at < end)
        .options(load_only(Shift.id, Shift.employee_id, Shift.starts_at, Shift.ends_at, Shift.title, Shift.status),
                 selectinload(Shift.employee).load_only(User.id, User.display_name))
        .order_by(Shift.starts_at)
    ).scalars().all()


def _week_requests(shifts):
    """{shift id: its newest sent, not withdrawn request} (as latest_request picks it), as rows of what a light
    card shows and its number of live proofs: one query for the week, no ORM object per request."""
    if not shifts:
        return {}
    files = (db.select(sa.func.count(MediaObject.id))
             .where(MediaObject.context == "shift_cancellation", MediaObject.subject_id == ShiftCancellation.id,
                    MediaObject.live()).scalar_subquery())
    rows = db.session.execute(
        db.select(ShiftCancellation.shift_id, ShiftCancellation.id, ShiftCancellation.status,
                  ShiftCancellation.reason, files.label("files"))
        .where(ShiftCancellation.owner_id == current_user.owner_id,
               ShiftCancellation.shift_id.in_([shift.id for shift in shifts]),
               ShiftCancellation.status != "withdrawn", ShiftCancellation.submitted_at.is_not(None))
        .order_by(ShiftCancellation.created_at.desc(), ShiftCancellation.id.desc()))
    newest = {}
    for row in rows:
        newest.setdefault(row.shift_id, row)
    return newest


@bp.route("/")
@roles_required("owner", "manager")
def week():
    """A week of light shift cards by day; a request's files and decision open on demand (?open=<shift id>: htmx
    gets that card alone, a browser without JavaScript the week with it open)."""
    opened = _opened_shift()
    viewer = current_user._get_current_object()
    if opened is not None and is_htmx():
        response = make_response(render_block("shifts/week.html", "cancellation", request_=latest_request(opened),
                                              viewer=viewer))
    else:
        response = make_response(_week_page(opened, viewer))
    response.headers["Vary"] = "HX-Request"
    return response


def _week_page(opened, viewer):
    """The whole week, with the opened shift's request (if any) as its whole card."""
    start, end = week_bounds(current_user.business.timezone, _week_start_arg())
    opened_request = latest_request(opened) if opened is not None else None
    shifts = _week_shifts(start, end)
    days = [(start + timedelta(days=i)).date() for i in range(7)]
    requests = _week_requests(shifts)
    if opened_request is not None and opened_request.shift_id in requests:
        requests[opened_request.shift_id] = opened_request  # shown whole
    by_day = {day: [] for day in days}
    for shift in shifts:
        by_day.setdefault(shift.starts_at.astimezone(start.tzinfo).date(), []).append((shift, requests.get(shift.id)))
    staff = schedule.employees(current_user.owner_id) if any(s.status == "cancelled" for s in shifts) else []
    return render_template("shifts/week.html", days=days, by_day=by_day, week_start=start, staff=staff,
                           opened_request=opened_request, viewer=viewer,
                           prev_week=(start - timedelta(days=7)).date(), next_week=(start + timedelta(days=7)).date())


@bp.route("/<id:shift_id>")
@roles_required("owner", "manager", "employee")
def show(shift_id):
    """One shift: an employee sees only their own; others see any of their business."""
    shift = tenant_get_or_404(Shift, shift_id, employee_field="employee_id")
    return render_template("shifts/show.html", shift=shift, request_=latest_request(shift))
