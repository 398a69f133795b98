"""Upload slots: the cancellation page asks for one per chosen file, then posts the file straight to the store."""
from flask import Blueprint, abort, current_app, jsonify
from flask_babel import gettext as _
from flask_login import current_user

from .. import quotas, uploads
from ..auth.guards import roles_required, tenant_get_or_404
from ..cancellations import ProofLimitError
from ..inputs import MAX_ID
from ..media.orchestrator import SlotError
from ..media.storage import StorageError
from ..models import ShiftCancellation
from .forms import SlotForm

bp = Blueprint("direct_uploads", __name__, url_prefix="/uploads")


def _refused(message, status=422, **extra):
    return jsonify(error=str(message), **extra), status


@bp.route("/slots", methods=["POST"])
@roles_required("employee")
def slot():
    """One presigned POST (url, fields, expiry) for one file of the employee's, as JSON."""
    if not current_app.config["MEDIA_DIRECT_UPLOAD"]:
        abort(404)
    form = SlotForm()
    if not form.validate_on_submit():
        return _refused(_("The form has expired. Reload the page and try again."), 400)
    cancellation = _target(form.cancellation.data)
    try:
        media_uuid, post = uploads.issue_slot(current_user, content_type=form.content_type.data,
                                              filename=form.filename.data or "", cancellation=cancellation)
    except SlotError as error:
        return _refused(error)
    except ProofLimitError as error:
        return _refused(_("This request can take %(n)s more files.", n=error.room))
    except quotas.QuotaExceededError as error:
        response = _refused(str(uploads.TOO_MANY), 429)
        response[0].headers["Retry-After"] = str(error.retry_after)
        return response
    except StorageError:
        current_app.logger.exception("upload slot could not be signed")
        return _refused(_("The file store is not available right now; nothing was saved. "
                          "Please try again in a minute."), 503)
    return jsonify(slot=media_uuid, url=post.url, fields=post.fields, expires_at=post.expires_at.isoformat())


def _target(value):
    """The employee's own pending request the slot is for (None: a new request); 404 for anything else."""
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_ID:
        abort(404)
    cancellation = tenant_get_or_404(ShiftCancellation, int(value), employee_field="employee_id")
    if cancellation.status != "pending":
        abort(409)
    return cancellation
