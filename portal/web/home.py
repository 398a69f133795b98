"""The home page: what waits for the person first (requests to decide, or their own open requests), then shifts."""
from flask import Blueprint, render_template
from flask_login import current_user

from ..auth.guards import roles_required
from ..days import day_start, today_in
from ..extensions import db
from ..models import Shift, ShiftCancellation, utcnow
from .cancellation_queries import pending_to_decide

bp = Blueprint("home", __name__)


@bp.route("/")
@roles_required("owner", "manager", "employee")
def index():
    """Employee: open requests, then upcoming shifts. Owner and manager: requests to decide, then today's shifts."""
    if current_user.role == "employee":
        return _employee_home()
    tz = current_user.business.timezone
    today = today_in(tz)
    shifts = db.session.execute(
        db.select(Shift)
        .where(Shift.owner_id == current_user.owner_id, Shift.ends_at > day_start(today, tz),
               Shift.starts_at < day_start(today, tz, plus_days=1))
        .order_by(Shift.starts_at)
    ).scalars().all()
    pending, pending_total = pending_to_decide(current_user.owner_id, current_user.id)
    return render_template("home/team.html", shifts=shifts, today=day_start(today, tz), pending=pending,
                           pending_total=pending_total)


def _employee_home():
    shifts = db.session.execute(
        db.select(Shift)
        .where(Shift.employee_id == current_user.id, Shift.ends_at >= utcnow())
        .order_by(Shift.starts_at)
        .limit(50)
    ).scalars().all()
    open_requests = db.session.execute(
        db.select(ShiftCancellation)
        .where(ShiftCancellation.employee_id == current_user.id, ShiftCancellation.status == "pending",
               ShiftCancellation.submitted_at.is_not(None))
        .order_by(ShiftCancellation.created_at.desc()).limit(20)
    ).scalars().all()
    return render_template("home/employee.html", shifts=shifts, open_requests=open_requests)
