"""Shift pages: one shift in detail (the week view of cards grows here)."""
from flask import Blueprint, render_template

from ..auth.guards import roles_required, tenant_get_or_404
from ..models import Shift

bp = Blueprint("shifts", __name__, url_prefix="/shifts")


@bp.route("/<int:shift_id>")
@roles_required("owner", "manager", "employee")
def show(shift_id):
    """One shift: an employee sees only their own; others see any of their business."""
    shift = tenant_get_or_404(Shift, shift_id, employee_field="employee_id")
    return render_template("shifts/show.html", shift=shift)
