"""The audit log page: who did what to which shift or proof, from where and when; filters and CSV export.

Owners read it; managers read it too (read-only like everyone: the app never edits or deletes events)."""
import csv
import io

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import selectinload
from wtforms import DateField, IntegerField, SelectField
from wtforms.validators import Optional

from ..auth.guards import roles_required
from ..extensions import db
from ..labels import action_label
from ..models import AuditEvent, User
from . import business_day_start, filled

bp = Blueprint("audit", __name__, url_prefix="/audit")
ACTIONS = ("media.upload", "media.view", "media.download", "media.delete", "media.reject", "media.restore",
           "media.api_links",
           "cancellation.request", "cancellation.withdraw", "cancellation.approve", "cancellation.reject",
           "business.create", "staff.invite", "staff.resend", "staff.deactivate", "staff.reactivate", "staff.role",
           "account.password_set", "account.password_change", "account.password_reset_request")


class AuditFilterForm(FlaskForm):
    """Filters of the audit log (GET, no CSRF)."""

    class Meta:
        csrf = False

    action = SelectField(choices=[], validators=[Optional()])
    actor = SelectField(coerce=lambda v: int(v) if v else None, choices=[], validators=[Optional()])
    shift = IntegerField(validators=[Optional()])
    date_from = DateField(validators=[Optional()])
    date_to = DateField(validators=[Optional()])


def _form():
    form = AuditFilterForm(request.args)
    people = db.session.execute(db.select(User).where(User.owner_id == current_user.owner_id)
                                .order_by(User.display_name)).scalars().all()
    form.action.choices = [("", _("Any action"))] + [(a, action_label(a)) for a in ACTIONS]
    form.actor.choices = [("", _("Anyone"))] + [(u.id, u.display_name) for u in people]
    form.validate()
    return form


def _query(form):
    query = db.select(AuditEvent).where(AuditEvent.owner_id == current_user.owner_id)
    if filled(form.action):
        query = query.where(AuditEvent.action == form.action.data)
    if filled(form.actor):
        query = query.where(AuditEvent.actor_id == form.actor.data)
    if filled(form.shift):
        query = query.where(AuditEvent.shift_id == form.shift.data)
    if filled(form.date_from):
        query = query.where(AuditEvent.at >= business_day_start(form.date_from.data))
    if filled(form.date_to):
        query = query.where(AuditEvent.at < business_day_start(form.date_to.data, plus_days=1))
    return query.options(selectinload(AuditEvent.actor)).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


@bp.route("/")
@roles_required("owner", "manager")
def index():
    """Newest events first, 50 a page."""
    form = _form()
    page = db.paginate(_query(form), page=max(request.args.get("page", 1, type=int), 1), per_page=50,
                       error_out=False)
    return render_template("audit/index.html", form=form, page=page)


@bp.route("/export.csv")
@roles_required("owner", "manager")
def export():
    """The filtered events as CSV: UTF-8 with a BOM so spreadsheets read Cyrillic right; one header row."""
    form = _form()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["time_utc", "actor", "actor_email", "role", "action", "shift_id", "media_id", "ip",
                     "user_agent", "detail"])
    for event in db.session.execute(_query(form)).scalars():
        writer.writerow([_cell(value) for value in (
            event.at.isoformat(), event.actor.display_name if event.actor else "",
            event.actor.email if event.actor else "", event.actor_role, event.action, event.shift_id,
            event.media_id, event.ip, event.user_agent, _detail_text(event.detail))])
    body = "\ufeff" + buffer.getvalue()
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=audit-log.csv", "Cache-Control": "no-store"})


def _cell(value):
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _detail_text(detail):
    return "; ".join(f"{k}={v}" for k, v in sorted((detail or {}).items()) if k != "key")
