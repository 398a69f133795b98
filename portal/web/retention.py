"""The owner's data-protection page: how long proofs are kept, legal holds, erasing a person, deletion reports."""
import json

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, IntegerField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from .. import erasure, retention
from ..auth.guards import roles_required, tenant_get_or_404
from ..extensions import db
from ..inputs import Form, Within
from ..media.storage import StorageError
from ..models import DeletionReport, ShiftCancellation, User
from .forms import ActionForm
from .htmx import FORM_ERROR
from .request_data import request_source

bp = Blueprint("retention", __name__, url_prefix="/settings/data")
PAGE = "retention.index"


class RetentionForm(Form):
    """Months after a request's decision when its proofs are deleted."""

    months = IntegerField(_l("Keep proofs for (months after the decision)"), validators=[
        InputRequired(_l("Enter a number of months.")),
        Within(retention.RETENTION_MONTHS_MIN, retention.RETENTION_MONTHS_MAX,
               _l("Enter %(low)s to %(high)s months.", low=retention.RETENTION_MONTHS_MIN,
                  high=retention.RETENTION_MONTHS_MAX))])


class HoldForm(Form):
    """Why a request's proofs must be kept (a claim, an inspection, a court's request)."""

    reason = TextAreaField(_l("Reason for the hold"), validators=[DataRequired(_l("Write why the proofs are held.")),
                                                                  Length(max=500)])


class EraseForm(Form):
    """The owner confirms that the person's proofs and personal data go for good."""

    confirm = BooleanField(_l("I understand that this cannot be undone"),
                           validators=[DataRequired(_l("Tick the box to confirm."))])


@bp.app_template_global()
def legal_hold(cancellation_id):
    """The hold in force on a request, for the shift page (None when there is none)."""
    return retention.active_hold(cancellation_id)


def _page(form=None, status=200):
    owner = current_user.business
    form = form or RetentionForm(formdata=None, months=retention.months_of(owner))
    return render_template("retention/index.html", form=form, months=retention.months_of(owner),
                           default_months=current_app.config["PRIVACY_RETENTION_MONTHS"],
                           holds=retention.holds_of(owner.id), reports=erasure.reports_of(owner.id),
                           action_form=ActionForm()), status


@bp.route("/")
@roles_required("owner")
def index():
    """The retention setting, the holds in force and the deletion reports of the business."""
    return _page()


@bp.route("/retention", methods=["POST"])
@roles_required("owner")
def save_months():
    """Change how many months after the decision proofs are kept."""
    form = RetentionForm()
    if not form.validate_on_submit():
        return _page(form, FORM_ERROR)
    retention.set_months(current_user.business, form.months.data, actor=current_user, source=request_source())
    db.session.commit()
    flash(_("Proofs are now deleted %(months)s months after the decision.", months=form.months.data), "info")
    return redirect(url_for(PAGE), code=303)


def _back_to(cancellation):
    return redirect(url_for("shifts.show", shift_id=cancellation.shift_id), code=303)


@bp.route("/holds/<id:cancellation_id>", methods=["POST"])
@roles_required("owner")
def hold(cancellation_id):
    """Hold a request's proofs with a reason: nothing deletes them until the hold is released."""
    cancellation = tenant_get_or_404(ShiftCancellation, cancellation_id)
    form = HoldForm()
    if not form.validate_on_submit():
        flash(" ".join(str(e) for e in form.reason.errors or form.csrf_token.errors) or _("Try again."), "error")
        return _back_to(cancellation)
    try:
        retention.place_hold(cancellation, form.reason.data.strip(), actor=current_user, source=request_source())
    except retention.HoldError:
        flash(_("This request is held already."), "error")
        return _back_to(cancellation)
    db.session.commit()
    flash(_("The proofs of this request are held until you release them."), "info")
    return _back_to(cancellation)


@bp.route("/holds/<id:cancellation_id>/release", methods=["POST"])
@roles_required("owner")
def release(cancellation_id):
    """Release a request's hold; retention and erasure may delete its proofs again."""
    cancellation = tenant_get_or_404(ShiftCancellation, cancellation_id)
    if ActionForm().validate_on_submit():
        try:
            retention.release_hold(cancellation, actor=current_user, source=request_source())
            db.session.commit()
            flash(_("The hold is released."), "info")
        except retention.HoldError:
            flash(_("This request is not held."), "error")
    return redirect(url_for(PAGE), code=303)


def _erase_page(person, form, status=200):
    refusal = None
    try:
        erasure.check_erasable(person, current_user)
    except erasure.ErasureRefusedError as error:
        refusal = error
    return render_template("retention/erase.html", person=person, form=form, refusal=refusal,
                           files=len(erasure.media_of(person))), status


def _erasable_person(user_id):
    person = tenant_get_or_404(User, user_id)
    if person.role == "owner":
        abort(404)  # the owner's account is closed with the business, not erased from it
    return person


@bp.route("/erase/<id:user_id>")
@roles_required("owner")
def confirm_erase(user_id):
    """What erasing the person removes, or why it is refused now (a hold), and the confirm step."""
    return _erase_page(_erasable_person(user_id), EraseForm(formdata=None))


@bp.route("/erase/<id:user_id>", methods=["POST"])
@roles_required("owner")
def erase(user_id):
    """Erase the person's proofs everywhere and their personal fields; keep a deletion report."""
    person = _erasable_person(user_id)
    form = EraseForm()
    if not form.validate_on_submit():
        return _erase_page(person, form, FORM_ERROR)
    try:
        report = erasure.erase(person, actor=current_user, source=request_source())
    except erasure.ErasureRefusedError:
        return _erase_page(person, form, 409)
    except StorageError:
        db.session.rollback()
        flash(_("The file store did not answer; nothing is marked erased. Try again in a minute."), "error")
        return _erase_page(person, form, 503)
    db.session.commit()
    flash(_("The person is erased. The deletion report is below."), "info")
    return redirect(url_for(PAGE, _anchor=f"report-{report.id}"), code=303)


@bp.route("/reports/<id:report_id>.json")
@roles_required("owner")
def report_json(report_id):
    """The deletion report as JSON, for the owner's records."""
    report = tenant_get_or_404(DeletionReport, report_id)
    return _download(json.dumps(report.report, indent=1, ensure_ascii=False), "application/json",
                     f"deletion-report-{report.id}.json")


@bp.route("/reports/<id:report_id>.csv")
@roles_required("owner")
def report_csv(report_id):
    """The deletion report as CSV: one line per key in the bucket and on each backup target."""
    report = tenant_get_or_404(DeletionReport, report_id)
    return _download(erasure.report_csv(report.report), "text/csv; charset=utf-8", f"deletion-report-{report.id}.csv")


def _download(body, content_type, name):
    response = make_response(body)
    response.headers["Content-Type"] = content_type
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response
