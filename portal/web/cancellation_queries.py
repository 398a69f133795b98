"""Queries behind the cancellations page: one employee's requests, and the business's filtered list."""
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from ..days import day_start
from ..extensions import db
from ..labels import status_label
from ..models import CANCELLATION_STATUSES, Shift, ShiftCancellation, User
from .paging import capped_count, keyset_page
from .request_data import filled
from .forms import CancellationFilterForm

PER_PAGE = 20


def _with_details(query):
    return query.options(selectinload(ShiftCancellation.shift), selectinload(ShiftCancellation.employee),
                         selectinload(ShiftCancellation.proofs), selectinload(ShiftCancellation.uploads),
                         selectinload(ShiftCancellation.decided_by))


def my_cancellations(employee, limit=50):
    """The employee's own requests, newest first, those whose files are still being checked included."""
    return db.session.execute(_with_details(
        db.select(ShiftCancellation).where(ShiftCancellation.employee_id == employee.id)
        .order_by(ShiftCancellation.created_at.desc(), ShiftCancellation.id.desc()).limit(limit)
    )).scalars().all()


def filter_form(args):
    """The filter form with the business's employees and the statuses as choices."""
    form = CancellationFilterForm(args)
    employees = db.session.execute(
        db.select(User).where(User.owner_id == current_user.owner_id, User.role == "employee")
        .order_by(User.display_name)).scalars().all()
    form.status.choices = [("", _("Any status"))] + [(s, status_label(s)) for s in CANCELLATION_STATUSES]
    form.employee.choices = [("", _("Anyone"))] + [(e.id, e.display_name) for e in employees]
    form.validate()
    return form


def filtered_cancellations(form):
    """One page of the business's requests, newest first from the request's cursor, narrowed by the form's
    valid filters."""
    query = db.select(ShiftCancellation).where(ShiftCancellation.owner_id == current_user.owner_id,
                                               ShiftCancellation.submitted_at.is_not(None))
    if filled(form.status):
        query = query.where(ShiftCancellation.status == form.status.data)
    if filled(form.employee):
        query = query.where(ShiftCancellation.employee_id == form.employee.data)
    timezone = current_user.business.timezone
    if filled(form.date_from):
        query = query.where(ShiftCancellation.created_at >= day_start(form.date_from.data, timezone))
    if filled(form.date_to):
        query = query.where(ShiftCancellation.created_at < day_start(form.date_to.data, timezone, plus_days=1))
    page = keyset_page(_with_details(query), ShiftCancellation.created_at, ShiftCancellation.id, PER_PAGE,
                       row_key=lambda cancellation: (cancellation.created_at, cancellation.id))
    page.total, page.total_capped = capped_count(query.with_only_columns(ShiftCancellation.id))
    return page


def pending_to_decide(owner_id, viewer_id, limit=10):
    """The business's pending requests the viewer may decide (not their own), the soonest shift first (the most
    urgent decision), and how many there are."""
    query = db.select(ShiftCancellation).where(ShiftCancellation.owner_id == owner_id,
                                               ShiftCancellation.status == "pending",
                                               ShiftCancellation.submitted_at.is_not(None),
                                               ShiftCancellation.employee_id != viewer_id)
    first = db.session.execute(_with_details(
        query.join(ShiftCancellation.shift).order_by(Shift.starts_at, ShiftCancellation.id).limit(limit)
    )).scalars().all()
    total, _capped = capped_count(query.with_only_columns(ShiftCancellation.id))
    return first, total
