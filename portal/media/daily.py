"""The daily roll-up: uploads, their bytes and refused files per business and calendar day in the business's own
zone (a 23- or 25-hour day is simply that date), changed in the same transaction as the media row or audit event
it counts, so a 30-day series reads at most 30 rows per business however busy the month was."""
from collections import defaultdict
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from .. import audit
from ..extensions import db
from ..models import AuditEvent, BusinessDay, MediaObject, User, utcnow
from .counters import add

FIGURES = ("uploads", "bytes", "rejections")


def _zone(owner_id):
    # session.get: the business is usually in the identity map already (the uploader's owner), so no query
    return ZoneInfo(db.session.get(User, owner_id).timezone)


def count_upload(row, at):
    """Count a file made ready at `at` (the row's uploaded_at) on its business's day; the caller commits."""
    add(BusinessDay, {"owner_id": row.owner_id, "day": at.astimezone(_zone(row.owner_id)).date()},
        {"uploads": 1, "bytes": row.size})


def record_rejection(*, actor, owner_id, source=None, **fields):
    """Audit a refused file and count it on its business's day, in the caller's transaction."""
    event = audit.record("media.reject", actor=actor, owner_id=owner_id, source=source, **fields)
    event.at = utcnow()  # stamped here, so the day counted is the day the event row says
    add(BusinessDay, {"owner_id": owner_id, "day": event.at.astimezone(_zone(owner_id)).date()}, {"rejections": 1})
    return event


def series(owner_id, first, last):
    """{day: {uploads, bytes, rejections}} from first to last (dates), of one business or summed over all."""
    query = (db.select(BusinessDay.day, *(sa.func.sum(getattr(BusinessDay, name)) for name in FIGURES))
             .where(BusinessDay.day >= first, BusinessDay.day <= last).group_by(BusinessDay.day))
    if owner_id is not None:
        query = query.where(BusinessDay.owner_id == owner_id)
    return {day: dict(zip(FIGURES, map(int, figures))) for day, *figures in db.session.execute(query)}


def from_rows(owner_id=None):
    """What the rows say, over the whole history: {(owner_id, day): (uploads, bytes, rejections)}. Reads every
    ready file and every rejection event (streamed), so only `flask media verify` calls it."""
    zones = {oid: ZoneInfo(name) for oid, name in db.session.execute(
        db.select(User.id, User.timezone).where(User.role == "owner"))}
    totals = defaultdict(lambda: [0, 0, 0])
    uploads = (db.select(MediaObject.owner_id, MediaObject.uploaded_at, MediaObject.size)
               .where(MediaObject.status == "ready", MediaObject.uploaded_at.is_not(None)))
    rejections = db.select(AuditEvent.owner_id, AuditEvent.at).where(AuditEvent.action == "media.reject",
                                                                     AuditEvent.owner_id.is_not(None))
    if owner_id is not None:
        uploads = uploads.where(MediaObject.owner_id == owner_id)
        rejections = rejections.where(AuditEvent.owner_id == owner_id)
    for oid, at, size in db.session.execute(uploads.execution_options(yield_per=5000)):
        figures = totals[oid, at.astimezone(zones[oid]).date()]
        figures[0] += 1
        figures[1] += size
    for oid, at in db.session.execute(rejections.execution_options(yield_per=5000)):
        totals[oid, at.astimezone(zones[oid]).date()][2] += 1
    return {key: tuple(figures) for key, figures in totals.items()}


def kept(owner_id=None):
    """The roll-up as kept, without all-zero days: {(owner_id, day): (uploads, bytes, rejections)}."""
    query = db.select(BusinessDay.owner_id, BusinessDay.day, *(getattr(BusinessDay, name) for name in FIGURES))
    if owner_id is not None:
        query = query.where(BusinessDay.owner_id == owner_id)
    return {(oid, day): tuple(figures) for oid, day, *figures in db.session.execute(query) if any(figures)}


def mismatches():
    """Businesses whose kept days differ from their rows: {owner_id: [(day, kept, from rows), ...]}."""
    have, truth = kept(), from_rows()
    found = defaultdict(list)
    for oid, day in sorted(set(have) | set(truth)):
        if have.get((oid, day), (0, 0, 0)) != truth.get((oid, day), (0, 0, 0)):
            found[oid].append((day, have.get((oid, day), (0, 0, 0)), truth.get((oid, day), (0, 0, 0))))
    return dict(found)


def reset(owner_id):
    """Rebuild one business's days from its rows, under a lock on its kept days; the caller commits."""
    db.session.execute(db.select(BusinessDay.day).where(BusinessDay.owner_id == owner_id).with_for_update())
    truth = from_rows(owner_id)
    db.session.execute(db.delete(BusinessDay).where(BusinessDay.owner_id == owner_id))
    db.session.add_all(BusinessDay(owner_id=oid, day=day, **dict(zip(FIGURES, figures)))
                       for (oid, day), figures in truth.items())
