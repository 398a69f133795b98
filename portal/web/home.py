"""The home page: an employee's upcoming shifts, or this week's shifts of the business."""
from datetime import timedelta

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from ..days import week_bounds
from ..extensions import db
from ..models import Shift, utcnow

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    """Employee: my upcoming shifts. Owner and manager: this week's shifts of the business."""
    if current_user.role == "employee":
        shifts = db.session.execute(
            db.select(Shift)
            .where(Shift.employee_id == current_user.id, Shift.ends_at >= utcnow())
            .order_by(Shift.starts_at)
            .limit(50)
        ).scalars().all()
        return render_template("home/employee.html", shifts=shifts)
    start, end = week_bounds(current_user.business.timezone)
    shifts = db.session.execute(
        db.select(Shift)
        .where(Shift.owner_id == current_user.owner_id, Shift.starts_at >= start, Shift.starts_at < end)
        .order_by(Shift.starts_at)
    ).scalars().all()
    return render_template("home/team.html", shifts=shifts, week_start=start, week_end=end - timedelta(days=1))
