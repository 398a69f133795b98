"""JSON API for remote clients of the shift cards. Errors are JSON too: {"error": {"code", "message"}}."""
import sqlalchemy as sa
from flask import Blueprint, jsonify
from flask_login import current_user
from sqlalchemy.orm import joinedload

from .. import audit
from ..extensions import csrf, db
from ..media import orchestrator
from ..media.storage import StorageError
from ..models import MediaObject, Shift, ShiftCancellation
from .request_data import cross_site, request_source

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)  # read-only GETs; the session cookie is SameSite=Lax

MESSAGES = {
    401: ("unauthorized", "Sign in first."),
    403: ("forbidden", "Your role may not use this endpoint."),
    404: ("not_found", "No such shift."),
    "cross_site": ("cross_site", "A request started by another site may not fetch file links."),
    503: ("storage_unavailable", "The file store is not available right now."),
}


def error(status):
    """The stable error shape of the API."""
    code, message = MESSAGES[status]
    return jsonify({"error": {"code": code, "message": message}}), 403 if status == "cross_site" else status


def _iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


def _item(links, media, viewer):
    thumb = links.generate_presigned_url(media, viewer, purpose="thumbnail")
    down = links.generate_presigned_url(media, viewer, purpose="download")
    return {
        "id": media.id, "content_type": media.content_type, "size": media.size,
        "original_filename": media.original_filename,
        "uploaded_by": {"id": media.uploaded_by_id, "name": media.uploaded_by.display_name,
                        "role": media.uploader_role},
        "uploaded_at": _iso(media.uploaded_at),
        "thumbnail_url": thumb.url, "thumbnail_expires_at": _iso(thumb.expires_at),
        "download_url": down.url, "download_expires_at": _iso(down.expires_at),
    }


def _ready_proofs(shift_id):
    """Every live proof of the shift's submitted, not withdrawn requests (newest request first), with its uploader:
    one query. A withdrawn request's proofs are kept for the audit but shown nowhere, like on the cards."""
    return db.session.execute(
        db.select(MediaObject)
        .join(ShiftCancellation, sa.and_(MediaObject.context == "shift_cancellation",
                                         MediaObject.subject_id == ShiftCancellation.id))
        .where(ShiftCancellation.shift_id == shift_id, ShiftCancellation.submitted_at.is_not(None),
               ShiftCancellation.status != "withdrawn", MediaObject.live())
        .options(joinedload(MediaObject.uploaded_by))
        .order_by(ShiftCancellation.created_at.desc(), ShiftCancellation.id.desc(), MediaObject.uploaded_at)
    ).scalars().all()


@bp.route("/shifts/<id:shift_id>/media")
def shift_media(shift_id):
    """Every ready proof of a shift's cancellation requests, with presigned URLs and their expiry."""
    if not current_user.is_authenticated:
        return error(401)
    if current_user.role not in ("owner", "manager"):
        return error(403)
    if cross_site():  # a navigation from another site would write media.api_links in the user's name
        return error("cross_site")
    shift = db.session.execute(db.select(Shift.id, Shift.owner_id).where(
        Shift.id == shift_id, Shift.owner_id == current_user.owner_id)).one_or_none()
    if shift is None:
        return error(404)
    proofs = _ready_proofs(shift.id)
    try:
        links = orchestrator()
        items = [_item(links, p, current_user) for p in proofs]
    except StorageError:
        return error(503)
    response = jsonify({"shift_id": shift.id, "media": items})  # before the commit, which expires the rows
    response.headers["Cache-Control"] = "no-store"  # it carries presigned URLs
    audit.record("media.api_links", actor=current_user, owner_id=shift.owner_id, source=request_source(),
                 shift_id=shift.id, detail={"media_ids": [p.id for p in proofs]})
    db.session.commit()
    return response
