"""Storage figures: objects, bytes and fill per business from the database (fast), or from the bucket (exact),
and uploads and rejections per day."""
from collections import defaultdict
from datetime import datetime, time, timedelta, timezone

from flask import current_app
from sqlalchemy import func

from ..extensions import db
from ..models import AuditEvent, MediaObject, User, utcnow
from .keys import CONTEXT_PREFIXES


def _figure(owner_id, name, objects, size, quota):
    size = int(size)  # PostgreSQL sums BIGINT to NUMERIC
    return {"owner_id": owner_id, "business": name, "objects": int(objects), "bytes": size,
            "fill_ratio": size / quota if quota else 0.0, "fill_percent": round(100 * size / quota, 3) if quota else 0.0}


def _business_names():
    return dict(db.session.execute(db.select(User.id, User.business_name).where(User.role == "owner")).all())


def storage_figures(owner_id=None):
    """Per business and in total, from the rows: each ready file counts with its thumbnail."""
    quota = current_app.config["MEDIA_STORAGE_QUOTA_BYTES"]
    query = (db.select(MediaObject.owner_id, func.count(MediaObject.id),
                       func.coalesce(func.sum(MediaObject.size + func.coalesce(MediaObject.thumbnail_size, 0)), 0))
             .where(MediaObject.live()).group_by(MediaObject.owner_id))
    if owner_id is not None:
        query = query.where(MediaObject.owner_id == owner_id)
    names = _business_names()
    rows = [_figure(oid, names.get(oid), count * 2, size, quota) for oid, count, size in db.session.execute(query)]
    if owner_id is not None and not rows:
        rows = [_figure(owner_id, names.get(owner_id), 0, 0, quota)]
    total = _figure(None, None, sum(r["objects"] for r in rows), sum(r["bytes"] for r in rows), quota)
    return {"source": "database", "quota_bytes": quota, "businesses": rows, "total": total}


def bucket_figures(storage, owner_id=None):
    """The same figures by listing the bucket itself (slow, exact for what the store holds now)."""
    quota = current_app.config["MEDIA_STORAGE_QUOTA_BYTES"]
    counts, sizes = defaultdict(int), defaultdict(int)
    for prefix in CONTEXT_PREFIXES.values():
        scope = f"{prefix}/{owner_id}/" if owner_id is not None else f"{prefix}/"
        for item in storage.iter_objects(scope):
            business = int(item.key.split("/")[1])
            counts[business] += 1
            sizes[business] += item.size
    names = _business_names()
    rows = [_figure(oid, names.get(oid), counts[oid], sizes[oid], quota) for oid in sorted(counts)]
    total = _figure(None, None, sum(counts.values()), sum(sizes.values()), quota)
    return {"source": "bucket", "quota_bytes": quota, "businesses": rows, "total": total}


def daily_activity(owner_id=None, days=30, today=None, tz=timezone.utc):
    """For each of the last `days` days in tz (UTC by default): uploads, uploaded bytes, rejected files."""
    local_now = (today or utcnow()).astimezone(tz)
    end = datetime.combine(local_now.date() + timedelta(days=1), time.min, tz)
    start = end - timedelta(days=days)
    series = {(start + timedelta(days=i)).date(): {"uploads": 0, "bytes": 0, "rejections": 0} for i in range(days)}
    uploads = db.select(MediaObject.uploaded_at, MediaObject.size).where(
        MediaObject.status == "ready", MediaObject.uploaded_at >= start, MediaObject.uploaded_at < end)
    rejections = db.select(AuditEvent.at).where(AuditEvent.action == "media.reject", AuditEvent.at >= start,
                                                AuditEvent.at < end)
    if owner_id is not None:
        uploads = uploads.where(MediaObject.owner_id == owner_id)
        rejections = rejections.where(AuditEvent.owner_id == owner_id)
    for moment, size in db.session.execute(uploads):
        day = series[moment.astimezone(tz).date()]
        day["uploads"] += 1
        day["bytes"] += size
    for (moment,) in db.session.execute(rejections):
        series[moment.astimezone(tz).date()]["rejections"] += 1
    return [{"day": day.isoformat(), **values} for day, values in series.items()]
