"""The audit log page: who did what to which shift or proof, from where and when; filters and CSV export.

Owners read it; managers read it too (read-only like everyone: the app never edits or deletes events).
Pages follow a cursor and the export streams from a server-side cursor, so a log of millions of events reads
as fast as a short one."""
import csv
import io

from flask import Blueprint, Response, render_template, request, stream_with_context
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import aliased, selectinload
from wtforms import IntegerField, SelectField
from wtforms.validators import Optional

from ..auth.guards import roles_required
from ..csv_cells import safe_cell
from ..days import day_start
from ..extensions import db
from ..inputs import Form, date_filter, id_range
from ..labels import action_label
from ..models import AuditEvent, User
from .paging import capped_count, keyset_page
from .request_data import filled

bp = Blueprint("audit", __name__, url_prefix="/audit")
PER_PAGE = 50
CSV_BATCH = 2000  # rows fetched from the cursor and sent per chunk
CSV_HEADER = ["time_utc", "actor", "actor_email", "role", "action", "shift_id", "media_id", "ip", "user_agent",
              "detail"]
ACTIONS = ("media.upload", "media.view", "media.download", "media.delete", "media.reject", "media.restore",
           "media.api_links",
           "cancellation.request", "cancellation.withdraw", "cancellation.approve", "cancellation.reject",
           "business.create", "staff.invite", "staff.resend", "staff.deactivate", "staff.reactivate", "staff.role",
           "account.password_set", "account.password_change", "account.password_reset_request",
           "account.profile",
           "shift.create", "shift.update", "shift.delete", "shift.reassign", "shift.import",
           "api_token.create", "api_token.revoke", "api.employee", "api.shift",
           "person.export")


class AuditFilterForm(Form):
    """Filters of the audit log (GET, no CSRF)."""

    class Meta:
        csrf = False

    action = SelectField(_l("Action"), choices=[], validators=[Optional()])
    actor = SelectField(_l("Who"), coerce=lambda v: int(v) if v else None, choices=[], validators=[Optional()])
    shift = IntegerField(_l("Shift"), validators=[Optional(), id_range()])
    date_from = date_filter(_l("From"))
    date_to = date_filter(_l("To"))


def _form():
    form = AuditFilterForm(request.args)
    people = db.session.execute(db.select(User).where(User.owner_id == current_user.owner_id)
                                .order_by(User.display_name)).scalars().all()
    form.action.choices = [("", _("Any action"))] + [(a, action_label(a)) for a in ACTIONS]
    form.actor.choices = [("", _("Anyone"))] + [(u.id, u.display_name) for u in people]
    form.validate()
    return form


def _filtered(query, form, timezone):
    """The events of the current business that the form's valid filters let through."""
    query = query.where(AuditEvent.owner_id == current_user.owner_id)
    if filled(form.action):
        query = query.where(AuditEvent.action == form.action.data)
    if filled(form.actor):
        query = query.where(AuditEvent.actor_id == form.actor.data)
    if filled(form.shift):
        query = query.where(AuditEvent.shift_id == form.shift.data)
    if filled(form.date_from):
        query = query.where(AuditEvent.at >= day_start(form.date_from.data, timezone))
    if filled(form.date_to):
        query = query.where(AuditEvent.at < day_start(form.date_to.data, timezone, plus_days=1))
    return query


@bp.route("/")
@roles_required("owner", "manager")
def index():
    """Newest events first, 50 a page, from a cursor (`before` / `after` an event)."""
    form = _form()
    query = _filtered(db.select(AuditEvent), form, current_user.business.timezone)
    page = keyset_page(query.options(selectinload(AuditEvent.actor)), AuditEvent.at, AuditEvent.id, PER_PAGE,
                       row_key=lambda event: (event.at, event.id))
    page.total, page.total_capped = capped_count(query.with_only_columns(AuditEvent.id))
    return render_template("audit/index.html", form=form, page=page)


@bp.route("/export.csv")
@roles_required("owner", "manager")
def export():
    """The filtered events as CSV, streamed while they are read: UTF-8 with a BOM so spreadsheets read
    Cyrillic right; one header row; every cell quoted and no cell able to start a formula."""
    form = _form()
    actor = aliased(User)
    query = (_filtered(db.select(AuditEvent.at, actor.display_name, actor.email, AuditEvent.actor_role,
                                 AuditEvent.action, AuditEvent.shift_id, AuditEvent.media_id, AuditEvent.ip,
                                 AuditEvent.user_agent, AuditEvent.detail)
                       .outerjoin(actor, actor.id == AuditEvent.actor_id), form, current_user.business.timezone)
             .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()))
    return Response(stream_with_context(_csv_chunks(query)), mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=audit-log.csv", "Cache-Control": "no-store"})


def _csv_chunks(query):
    """The CSV in chunks of CSV_BATCH rows, read from a server-side cursor (memory stays flat at any size)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    buffer.write("\ufeff")
    writer.writerow(CSV_HEADER)
    yield _drain(buffer)  # the first byte leaves before the query runs
    result = db.session.execute(query, execution_options={"yield_per": CSV_BATCH})
    for rows in result.partitions():
        for at, name, email, role, action, shift_id, media_id, ip, agent, detail in rows:
            writer.writerow([safe_cell(value) for value in (at.isoformat(), name, email, role, action, shift_id,
                                                        media_id, ip, agent, _detail_text(detail))])
        yield _drain(buffer)


def _drain(buffer):
    """What the buffer holds, as bytes; the buffer is emptied."""
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text.encode("utf-8")


def _detail_text(detail):
    return "; ".join(f"{k}={v}" for k, v in sorted((detail or {}).items()) if k != "key")
