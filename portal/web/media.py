"""Stable app URLs for proofs: each checks role and tenant, audits views and downloads, and redirects to a
short-lived presigned URL. Pages hold these URLs, never presigned ones, so an open page never goes stale."""
from datetime import datetime, timezone

from flask import Blueprint, abort, current_app, redirect, render_template, request
from flask_login import current_user

from .. import audit
from ..auth.guards import roles_required
from ..extensions import db
from ..media import orchestrator
from ..media.storage import StorageError
from ..models import MediaObject, ShiftCancellation
from .request_data import cross_site, request_source

bp = Blueprint("media", __name__, url_prefix="/media")


def visible_media(media_id):
    """The ready proof if the current user may see it: same business, and for an employee their own; else 404."""
    media = db.session.execute(
        db.select(MediaObject).where(MediaObject.id == media_id, MediaObject.owner_id == current_user.owner_id,
                                     MediaObject.live())
    ).scalar_one_or_none()
    if media is None:
        abort(404)
    if current_user.role == "employee" and not _belongs_to(media, current_user):
        abort(404)
    return media


def _belongs_to(media, employee):
    if media.context != "shift_cancellation":
        return media.uploaded_by_id == employee.id
    cancellation = db.session.get(ShiftCancellation, media.subject_id)
    return cancellation is not None and cancellation.employee_id == employee.id


def _redirect(media, purpose):
    try:
        link = orchestrator().generate_presigned_url(media, current_user, purpose=purpose)
    except StorageError:
        current_app.logger.exception("presigning failed")
        abort(503)
    response = redirect(link.url, code=302)
    if purpose == "thumbnail":
        # the link is shared for a while: the browser may keep this redirect until just before the link expires
        left = int((link.expires_at - datetime.now(timezone.utc)).total_seconds()) - 1
        response.headers["Cache-Control"] = f"private, max-age={max(0, left)}"
    else:
        response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _audited_redirect(media_id, purpose):
    """Record media.<purpose> for a visible proof, then send the viewer to it.

    A navigation started by another site (SameSite=Lax still sends the cookie) gets a page with a button
    instead, so no other site can write view or download events in someone's name."""
    media = visible_media(media_id)
    if cross_site():
        return render_template("media/confirm.html", media=media, purpose=purpose, target=request.path)
    audit.record(f"media.{purpose}", actor=current_user, owner_id=media.owner_id, source=request_source(),
                 shift_id=media.shift_id, media_id=media.id, detail={"filename": media.original_filename})
    db.session.commit()
    return _redirect(media, purpose)


@bp.route("/<id:media_id>/thumbnail")
@roles_required("owner", "manager", "employee")
def thumbnail(media_id):
    """The proof's thumbnail (not audited: it shows on every card)."""
    return _redirect(visible_media(media_id), "thumbnail")


@bp.route("/<id:media_id>/view")
@roles_required("owner", "manager", "employee")
def view(media_id):
    """The proof itself, shown in the browser (image, or the browser's PDF viewer); audited."""
    return _audited_redirect(media_id, "view")


@bp.route("/<id:media_id>/download")
@roles_required("owner", "manager", "employee")
def download(media_id):
    """The proof as a download under its original name; audited."""
    return _audited_redirect(media_id, "download")
