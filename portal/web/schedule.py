"""Scheduling pages of the week view: owners and managers add, edit, delete, copy and import shifts."""
import base64
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from .. import schedule, schedule_import, shift_csv
from ..auth.guards import roles_required, tenant_get_or_404
from ..days import today_in
from ..extensions import db
from ..inputs import date_in_range
from ..models import Shift
from .forms import ActionForm, CopyWeekForm, ImportForm, ReassignForm, ShiftForm
from .htmx import FORM_ERROR
from .request_data import request_source

bp = Blueprint("schedule", __name__, url_prefix="/shifts")


def _form(shift=None):
    """The shift form with the business's employees to choose from, filled from the shift on a GET."""
    form = ShiftForm()
    form.employee.choices = [(e.id, e.display_name) for e in schedule.employees(current_user.owner_id)]
    if shift is not None and request.method == "GET":
        times = schedule.local_times(shift, current_user.business.timezone)
        form.employee.data, form.title.data = shift.employee_id, shift.title
        form.day.data, form.start.data, form.end.data = times.day, times.start, times.end
    elif request.method == "GET":
        form.day.data = _day_arg()
    return form


def _local_day(shift):
    """The shift's start date in the business's timezone."""
    return shift.starts_at.astimezone(ZoneInfo(current_user.business.timezone)).date()


def _day_arg():
    try:
        return date_in_range(date.fromisoformat(request.args.get("day", "")))
    except ValueError:
        return None


def _times(form):
    return schedule.ShiftTimes(form.day.data, form.start.data, form.end.data)


def _to_week(day, message=None, category="info"):
    """Back to the week that holds day, with a message."""
    if message:
        flash(message, category)
    return redirect(url_for("shifts.week", week=day.isoformat()), code=303)


def _warn_overlaps(shift):
    """Flash a warning (not a refusal) when the employee has other shifts at the same time."""
    others = schedule.overlapping(shift.employee_id, shift.starts_at, shift.ends_at, exclude_id=shift.id)
    if others:
        tz = ZoneInfo(current_user.business.timezone)
        when = ", ".join(f"{o.starts_at.astimezone(tz):%d.%m %H:%M}–{o.ends_at.astimezone(tz):%H:%M} {o.title}"
                         for o in others[:5])
        flash(_("%(name)s already has a shift at that time: %(when)s.", name=shift.employee.display_name,
                when=when), "warning")


def _page(form, shift=None, status=200):
    return render_template("shifts/form.html", form=form, shift=shift, delete_form=ActionForm()), status


@bp.route("/new", methods=["GET", "POST"])
@roles_required("owner", "manager")
def create():
    """Add a shift for an employee of the business."""
    form = _form()
    if not form.validate_on_submit():
        return _page(form, status=FORM_ERROR if request.method == "POST" else 200)
    employee = schedule.employee_of(current_user.owner_id, form.employee.data)
    shift = schedule.create(employee, _times(form), form.title.data, actor=current_user, source=request_source())
    _warn_overlaps(shift)
    return _to_week(form.day.data, _("The shift was added."))


@bp.route("/<id:shift_id>/edit", methods=["GET", "POST"])
@roles_required("owner", "manager")
def edit(shift_id):
    """Change a scheduled shift's employee, times or place."""
    shift = tenant_get_or_404(Shift, shift_id)
    form = _form(shift)
    if shift.status != "scheduled":
        return _to_week(_local_day(shift), _("This shift has a cancellation request and can no longer "
                                                         "be edited."), "error")
    if not form.validate_on_submit():
        return _page(form, shift, status=FORM_ERROR if request.method == "POST" else 200)
    employee = schedule.employee_of(current_user.owner_id, form.employee.data)
    try:
        schedule.update(shift, employee, _times(form), form.title.data, actor=current_user, source=request_source())
    except schedule.ScheduleError:
        return _to_week(form.day.data, _("This shift has a cancellation request and can no longer be edited."),
                        "error")
    _warn_overlaps(shift)
    return _to_week(form.day.data, _("The shift was saved."))


@bp.route("/<id:shift_id>/delete", methods=["POST"])
@roles_required("owner", "manager")
def delete(shift_id):
    """Delete a shift that has no cancellation request."""
    shift = tenant_get_or_404(Shift, shift_id)
    day = _local_day(shift)
    if not ActionForm().validate_on_submit():
        return _to_week(day, _("The form expired; please try again."), "error")
    try:
        schedule.delete(shift, actor=current_user, source=request_source())
    except schedule.ScheduleError:
        return _to_week(day, _("This shift has a cancellation request and cannot be deleted."), "error")
    return _to_week(day, _("The shift was deleted."))


@bp.route("/copy-week", methods=["POST"])
@roles_required("owner", "manager")
def copy_week():
    """Copy the shown week's shifts to the next week, skipping the ones already there."""
    form = CopyWeekForm()
    if not form.validate_on_submit():
        return _to_week(today_in(current_user.business.timezone), _("Choose a week to copy."), "error")
    owner = current_user.business
    copied, skipped = schedule.copy_week(owner, form.week.data, actor=current_user, source=request_source())
    message = _("Copied %(n)s shifts to the next week.", n=copied)
    if skipped:
        message += " " + _("%(n)s were already there and were skipped.", n=skipped)
    return _to_week(form.week.data + timedelta(days=7), message)


def _import_page(form, preview=None, parsed=None, status=200, error=None):
    return render_template("shifts/import.html", form=form, preview=preview, parsed=parsed, error=error,
                           max_rows=shift_csv.MAX_ROWS, max_kb=shift_csv.MAX_BYTES // 1000), status


def _file_bytes(form):
    """The uploaded file's bytes (at most one over the limit, so parse can refuse it), else the preview's copy."""
    upload = request.files.get("file")
    if upload and upload.filename:
        return upload.stream.read(shift_csv.MAX_BYTES + 1)
    try:
        return base64.b64decode(form.payload.data or "", validate=True)
    except ValueError:  # binascii.Error for bad padding or letters, ValueError for non-ASCII text
        return b""


@bp.route("/import", methods=["GET", "POST"])
@roles_required("owner", "manager")
def import_csv():
    """Preview a schedule CSV row by row (nothing is written), then import it: all rows, or the good ones."""
    form = ImportForm()
    if request.method == "GET":
        return _import_page(form)
    data = _file_bytes(form) if form.validate_on_submit() else b""
    if not data:
        form.file.errors = [*form.file.errors, _("Choose a CSV file.")]
        return _import_page(form, status=FORM_ERROR)
    try:
        parsed = shift_csv.parse(data)
    except shift_csv.CsvFileError as error:
        form.file.errors = [*form.file.errors, str(error)]
        return _import_page(form, status=FORM_ERROR)
    owner = current_user.business
    preview = schedule_import.plan(owner, parsed)
    form.payload.data = base64.b64encode(data).decode("ascii")
    if request.form.get("step") != "import":
        return _import_page(form, preview, parsed)
    try:
        counts = schedule_import.apply(owner, preview, good_rows_only=form.good_rows.data, actor=current_user,
                                       source=request_source())
    except (schedule.ScheduleError, SQLAlchemyError):
        db.session.rollback()
        return _import_page(form, schedule_import.plan(owner, shift_csv.parse(data)), parsed, FORM_ERROR,
                            _("Nothing was imported: fix the rows marked below, or choose to import the good rows."))
    first = min((p.row.day for p in preview if p.action != "error"), default=None)
    return _to_week(first or today_in(owner.timezone), _(
        "Imported: %(create)s new, %(update)s updated, %(unchanged)s unchanged, %(error)s skipped with errors.",
        **counts))


@bp.route("/<id:shift_id>/reassign", methods=["POST"])
@roles_required("owner", "manager")
def reassign(shift_id):
    """Give an open shift (cancellation approved) to another employee of the business."""
    shift = tenant_get_or_404(Shift, shift_id)
    form = ReassignForm()
    form.employee.choices = [(e.id, e.display_name) for e in schedule.employees(current_user.owner_id)]
    day = _local_day(shift)
    if not form.validate_on_submit():
        return _to_week(day, _("Choose an employee to give the shift to."), "error")
    employee = schedule.employee_of(current_user.owner_id, form.employee.data)
    try:
        schedule.reassign(shift, employee, actor=current_user, source=request_source())
    except schedule.ScheduleError:
        return _to_week(day, _("This shift is not open, or that employee cancelled it; nothing was changed."),
                        "error")
    _warn_overlaps(shift)
    return _to_week(day, _("The shift now belongs to %(name)s.", name=employee.display_name))
