"""A person's data as one ZIP: the owner for anyone of the business, an employee for themself
(docs/export-and-access.md).

Managers review single proofs (each opening audited) but cannot take everything about a person at once: that is
the controller's act (the owner) or the person's own right."""
from flask import Blueprint, Response, abort, stream_with_context
from flask_login import current_user

from ..auth.guards import roles_required, tenant_get_or_404
from ..extensions import db
from ..media import storage
from ..media.disposition import content_disposition
from ..models import User
from ..subject_access import export
from .forms import ActionForm
from .request_data import request_source

bp = Blueprint("exports", __name__, url_prefix="/exports")


@bp.route("/people/<id:user_id>", methods=["POST"])
@roles_required("owner", "employee")
def person(user_id):
    """The person's requests, decisions and proofs with a JSON and CSV index, as a ZIP streamed while it is
    written; the export is audited (who exported whose data) before the first byte."""
    subject = tenant_get_or_404(User, user_id, employee_field="id")  # an employee: themself, else 404
    if not ActionForm().validate_on_submit():
        abort(400)
    data = export.collect(subject, exported_by=current_user)
    export.record(data, actor=current_user, source=request_source())
    db.session.commit()
    return Response(stream_with_context(export.chunks(data, storage())), mimetype="application/zip", headers={
        "Content-Disposition": content_disposition("attachment", data.filename), "Cache-Control": "no-store",
        "X-Accel-Buffering": "no"})  # nginx passes it on rather than spool health data to its temp files
