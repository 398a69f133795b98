"""Storage figures: objects, bytes and fill per business from the kept counters (one row per business), or
from the bucket (slow, exact), and uploads and rejections per day counted by the database."""
from collections import defaultdict
from datetime import timedelta, timezone

import sqlalchemy as sa
from flask import current_app

from ..days import day_start, today_in
from ..extensions import db
from ..models import AuditEvent, BusinessStorage, MediaObject, User
from .keys import CONTEXT_PREFIXES


def _figure(owner_id, name, objects, size, quota):
    size = int(size)  # PostgreSQL sums BIGINT to NUMERIC
    return {"owner_id": owner_id, "business": name, "objects": int(objects), "bytes": size,
            "fill_ratio": size / quota if quota else 0.0, "fill_percent": round(100 * size / quota, 3) if quota else 0.0}


def _business_names():
    return dict(db.session.execute(db.select(User.id, User.business_name).where(User.role == "owner")).all())


def storage_figures(owner_id=None):
    """Per business and in total, from the counters kept with the rows: each live file counts with its
    thumbnail. Reads one row per business, however many files they hold."""
    quota = current_app.config["MEDIA_STORAGE_QUOTA_BYTES"]
    query = (db.select(BusinessStorage.owner_id, User.business_name, BusinessStorage.objects, BusinessStorage.bytes)
             .join(User, User.id == BusinessStorage.owner_id).where(BusinessStorage.objects > 0)
             .order_by(BusinessStorage.owner_id))
    if owner_id is not None:
        query = query.where(BusinessStorage.owner_id == owner_id)
    rows = [_figure(oid, name, objects, size, quota) for oid, name, objects, size in db.session.execute(query)]
    if owner_id is not None and not rows:
        rows = [_figure(owner_id, db.session.get(User, owner_id).business_name, 0, 0, quota)]
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


def _day_number(column, starts):
    """Which of the days beginning at `starts` (ascending) a timestamp falls on, as a SQL expression: the
    bounds come from the business's zone here, so days of 23 or 25 hours count right on every database."""
    return sa.case(*((column < start, index - 1) for index, start in enumerate(starts[1:], 1)),
                   else_=len(starts) - 2).label("day_number")


def daily_activity(owner_id=None, days=30, tz=timezone.utc):
    """For each of the last `days` days in tz (UTC by default): uploads, uploaded bytes, rejected files, counted
    by GROUP BY in the database."""
    first = today_in(tz) - timedelta(days=days - 1)
    starts = [day_start(first, tz, plus_days=i) for i in range(days + 1)]
    uploads = (db.select(_day_number(MediaObject.uploaded_at, starts), sa.func.count(),
                         sa.func.coalesce(sa.func.sum(MediaObject.size), 0))
               .where(MediaObject.status == "ready", MediaObject.uploaded_at >= starts[0],
                      MediaObject.uploaded_at < starts[-1]).group_by(sa.literal_column("day_number")))
    rejections = (db.select(_day_number(AuditEvent.at, starts), sa.func.count())
                  .where(AuditEvent.action == "media.reject", AuditEvent.at >= starts[0], AuditEvent.at < starts[-1])
                  .group_by(sa.literal_column("day_number")))
    if owner_id is not None:
        uploads = uploads.where(MediaObject.owner_id == owner_id)
        rejections = rejections.where(AuditEvent.owner_id == owner_id)
    series = [{"day": start.date().isoformat(), "uploads": 0, "bytes": 0, "rejections": 0} for start in starts[:-1]]
    for number, count, size in db.session.execute(uploads):
        series[number].update(uploads=count, bytes=int(size))
    for number, count in db.session.execute(rejections):
        series[number]["rejections"] = count
    return series
