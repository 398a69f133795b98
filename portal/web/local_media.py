"""Serves the local provider's files through its signed, expiring URLs (the local stand-in for presigned S3)."""
from flask import Blueprint, abort, current_app, request, send_file

from ..media import storage as media_storage
from ..media.disposition import content_disposition
from ..extensions import csrf
from ..media.local import SIGNATURE_PARAM, UPLOAD_PATH, LocalMediaStorage, PostRefusedError
from ..media.storage import ObjectNotFoundError

bp = Blueprint("local_media", __name__)


@bp.route("/local-media/<path:key>")
def serve(key):
    """Send the file when the link's signature is valid and fresh; 403 otherwise."""
    store = media_storage()
    if not isinstance(store, LocalMediaStorage):
        abort(404)
    download = request.args.get("download")
    cache = request.args.get("cache")
    if not store.verify(key, request.args.get("expires"), download, request.args.get(SIGNATURE_PARAM),
                        cache_seconds=cache):
        abort(403)
    try:
        info = store.stat(key)
        handle = store.open(key)
    except ObjectNotFoundError:
        abort(404)
    response = send_file(handle, mimetype=info.content_type or "application/octet-stream",
                         conditional=False, max_age=0)
    response.headers["Content-Disposition"] = content_disposition("attachment" if download else "inline", download)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # a thumbnail's link asks to be cached (the link is the same for a while); everything else is not kept
    response.headers["Cache-Control"] = f"private, max-age={int(cache)}" if cache else "private, no-store"
    if not (info.content_type or "").endswith("/pdf"):  # the browser's PDF viewer does not run in a sandbox
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    current_app.logger.debug("local media served")
    return response


@bp.route(UPLOAD_PATH, methods=["POST"])
@csrf.exempt  # like a presigned S3 POST: the signed policy in the form is the credential, not a session
def upload():
    """Store a file posted to an upload slot when the form matches its signed policy; 204, or 403 like S3."""
    store = media_storage()
    if not isinstance(store, LocalMediaStorage):
        abort(404)
    # one file and its policy fields, not the app-wide limit for a form of several files: read before the policy
    # is checked, so anyone could otherwise make the app spool that much
    request.max_content_length = current_app.config["MEDIA_MAX_UPLOAD_BYTES"] + 64 * 1024
    posted = request.files.get("file")
    if posted is None:
        abort(400)
    try:
        store.accept_post(request.form, posted.stream)
    except PostRefusedError as error:
        current_app.logger.info("local media upload refused: %s", error)
        abort(403)
    return "", 204
