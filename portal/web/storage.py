"""The owner's storage dashboard: objects, bytes and fill of their business, and 30 days of uploads."""
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from ..auth.guards import roles_required
from ..mail.outbox import pending_counts
from ..media.stats import daily_activity, storage_figures

bp = Blueprint("storage", __name__, url_prefix="/storage")
CHART_WIDTH, CHART_HEIGHT = 600, 160


def chart(days):
    """Bar heights for uploads and a polyline for bytes, in SVG coordinates (server-rendered, no library)."""
    slot = CHART_WIDTH / max(len(days), 1)
    top_uploads = max([d["uploads"] + d["rejections"] for d in days] + [1])
    top_bytes = max([d["bytes"] for d in days] + [1])
    bars, points = [], []
    for index, day in enumerate(days):
        x = index * slot
        uploads_h = CHART_HEIGHT * day["uploads"] / top_uploads
        rejected_h = CHART_HEIGHT * day["rejections"] / top_uploads
        bars.append({"x": round(x + 1, 1), "w": round(slot - 2, 1), "uploads_y": round(CHART_HEIGHT - uploads_h, 1),
                     "uploads_h": round(uploads_h, 1), "rejected_y": round(CHART_HEIGHT - uploads_h - rejected_h, 1),
                     "rejected_h": round(rejected_h, 1), **day})
        points.append(f"{x + slot / 2:.1f},{CHART_HEIGHT - CHART_HEIGHT * day['bytes'] / top_bytes:.1f}")
    return {"bars": bars, "line": " ".join(points), "width": CHART_WIDTH, "height": CHART_HEIGHT,
            "top_uploads": top_uploads, "top_bytes": top_bytes}


@bp.route("/")
@roles_required("owner")
def index():
    """Figures of the owner's business from the database, with the 30-day chart."""
    figures = storage_figures(current_user.owner_id)
    days = daily_activity(current_user.owner_id, tz=ZoneInfo(current_user.business.timezone))
    waiting, failed = pending_counts(current_user.owner_id)
    return render_template("storage/index.html", figure=figures["businesses"][0], quota=figures["quota_bytes"],
                           days=days, chart=chart(days), provider=current_app.config["MEDIA_STORAGE_PROVIDER"],
                           waiting_mail=waiting, failed_mail=failed)
