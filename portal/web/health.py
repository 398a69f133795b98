"""/healthz for load balancers and compose healthchecks: the database answers (and the store, with ?deep=1)."""
from flask import Blueprint, jsonify, request

from ..extensions import db
from ..media import storage
from ..media.storage import StorageError

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    """200 when the database answers; with ?deep=1 the store must answer too. 503 otherwise."""
    checks = {}
    try:
        db.session.execute(db.text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # any failure means unhealthy; the reason goes to the log, not to the caller
        db.session.rollback()
        checks["database"] = "down"
    if request.args.get("deep"):
        try:
            storage().exists("healthz-probe")
            checks["storage"] = "ok"
        except StorageError:
            checks["storage"] = "down"
    healthy = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if healthy else "down", **checks), 200 if healthy else 503
