"""Storage figures: objects, bytes and fill per business from the kept counters (one row per business), or
from the bucket (slow, exact), and uploads and rejections per day from the daily roll-up."""
from collections import defaultdict
from datetime import timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app

from ..days import today_in
from ..extensions import db
from ..models import BusinessStorage, User
from . import daily
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


def daily_activity(owner_id=None, days=30, tz=timezone.utc):
    """For each of the last `days` days up to today in tz (UTC by default), or up to the business's own today
    where that is later: uploads, uploaded bytes and refused files, read from the daily roll-up (media/daily.py:
    each business's days are its own calendar days, so a Moscow business's uploads after 21:00 UTC are already
    on tomorrow's date, and the series over every business must reach it)."""
    zones = () if owner_id is not None else db.session.execute(  # one business's caller passes its zone as tz
        db.select(User.timezone).distinct().where(User.role == "owner")).scalars()
    last = max([today_in(tz), *(today_in(ZoneInfo(name)) for name in zones)])
    first = last - timedelta(days=days - 1)
    kept = daily.series(owner_id, first, last)
    empty = dict.fromkeys(daily.FIGURES, 0)
    return [{"day": day.isoformat(), **kept.get(day, empty)} for day in (first + timedelta(days=i) for i in range(days))]
