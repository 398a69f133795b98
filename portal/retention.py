"""How long proofs are kept: a business's retention months, legal holds on requests, and the run that deletes
expired proofs for good (bucket versions, thumbnails, backup copies) with an audit event per file."""
import calendar
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from . import audit
from .extensions import db
from .media import counters, storage
from .media import keys as media_keys
from .media.purge import backup_targets, purge
from .models import LegalHold, MediaObject, ShiftCancellation, User, utcnow

RETENTION_MONTHS_MIN, RETENTION_MONTHS_MAX = 1, 120
CLOSED = ("approved", "rejected", "withdrawn")
PURGED_NAME = "[deleted]"  # a tombstone keeps no original file name: it may name the person or the illness


class HoldError(Exception):
    """A hold cannot be placed (one is active already) or released (none is active)."""


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time months later (the month's last day when it is shorter)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def months_of(owner):
    """The business's retention in months: the owner's choice, else PRIVACY_RETENTION_MONTHS."""
    return owner.retention_months or current_app.config["PRIVACY_RETENTION_MONTHS"]


def set_months(owner, months, *, actor, source=None):
    """Change the business's retention (bounded) and record who did it; the caller commits."""
    if not RETENTION_MONTHS_MIN <= months <= RETENTION_MONTHS_MAX:
        raise ValueError(f"retention must be {RETENTION_MONTHS_MIN} to {RETENTION_MONTHS_MAX} months")
    before = months_of(owner)
    owner.retention_months = months
    audit.record("privacy.retention", actor=actor, owner_id=owner.id, source=source,
                 detail={"months": months, "from": before})


# --- legal holds --------------------------------------------------------------------------------------------

def lock_requests(condition):
    """Lock the requests' rows until the commit (PostgreSQL; SQLite writes one at a time anyway), so a hold
    placed meanwhile waits for a deletion already decided, and a deletion sees a hold already placed."""
    db.session.execute(db.select(ShiftCancellation.id).where(condition).with_for_update()).all()


def active_hold(cancellation_id):
    """The request's hold in force, or None."""
    return db.session.execute(db.select(LegalHold).where(
        LegalHold.cancellation_id == cancellation_id, LegalHold.released_at.is_(None))).scalars().first()


def holds_of(owner_id):
    """Every hold in force in the business, newest first."""
    return db.session.execute(db.select(LegalHold).where(
        LegalHold.owner_id == owner_id, LegalHold.released_at.is_(None))
        .order_by(LegalHold.placed_at.desc(), LegalHold.id.desc())).scalars().all()


def place_hold(cancellation, reason, *, actor, source=None):
    """Hold the request's proofs with a reason; the caller commits."""
    lock_requests(ShiftCancellation.id == cancellation.id)
    if active_hold(cancellation.id) is not None:
        raise HoldError("this request is held already")
    hold = LegalHold(owner_id=cancellation.owner_id, cancellation_id=cancellation.id, reason=reason,
                     placed_by_id=actor.id, placed_at=utcnow())
    db.session.add(hold)
    audit.record("privacy.hold", actor=actor, owner_id=cancellation.owner_id, source=source,
                 shift_id=cancellation.shift_id, detail={"cancellation_id": cancellation.id, "reason": reason})
    return hold


def release_hold(cancellation, *, actor, source=None):
    """End the request's hold; the next retention run or erasure may delete its proofs. The caller commits."""
    hold = active_hold(cancellation.id)
    if hold is None:
        raise HoldError("this request is not held")
    hold.released_at, hold.released_by_id = utcnow(), actor.id
    audit.record("privacy.release", actor=actor, owner_id=cancellation.owner_id, source=source,
                 shift_id=cancellation.shift_id, detail={"cancellation_id": cancellation.id, "reason": hold.reason})
    return hold


# --- deleting for good ----------------------------------------------------------------------------------------

def purge_rows(rows, *, reason, actor=None, source=None):
    """Delete the rows' objects for good everywhere, tombstone the rows, audit each file; the caller commits.
    Return one entry per file: its keys with the versions, delete markers and backup copies deleted."""
    store, targets = storage(), backup_targets(current_app.config)
    files = []
    for row in rows:
        # the upload's raw bytes under incoming/ stay as a noncurrent version after the worker removed them
        keys = [row.storage_key, row.thumbnail_key or media_keys.thumbnail_key(row.storage_key),
                row.incoming_key or media_keys.incoming_key(row.owner_id, row.uuid)]
        purged = purge(store, keys, targets)
        if row.status == "ready" and row.deleted_at is None:
            counters.count([row], sign=-1)
        now = utcnow()
        row.deleted_at, row.purged_at = row.deleted_at or now, now
        row.original_filename, row.refusal_message = PURGED_NAME, None
        detail = {"reason": reason, "keys": keys, "versions": sum(len(p.versions) for p in purged),
                  "delete_markers": sum(len(p.delete_markers) for p in purged),
                  "backup_targets": [name for name, _target in targets]}
        audit.record("media.purge", actor=actor, owner_id=row.owner_id, source=source, shift_id=row.shift_id,
                     media_id=row.id, detail=detail)
        files.append({"media_id": row.id, "cancellation_id": row.subject_id, "shift_id": row.shift_id,
                      "content_type": row.content_type, "size": row.size, "sha256": row.sha256,
                      "uploaded_at": row.uploaded_at.isoformat() if row.uploaded_at else None,
                      "purged_at": now.isoformat(), "objects": [p.as_dict() for p in purged]})
    return files


@dataclass
class Expiry:
    """One closed request whose proofs are due (or soon due) for deletion."""

    cancellation: ShiftCancellation
    due_at: datetime
    media: list
    hold: LegalHold | None


def _closed_at():
    return sa.func.coalesce(ShiftCancellation.decided_at, ShiftCancellation.updated_at)


def _unpurged_media(cancellation_ids):
    rows = db.session.execute(db.select(MediaObject).where(
        MediaObject.context == "shift_cancellation", MediaObject.subject_id.in_(cancellation_ids),
        MediaObject.purged_at.is_(None)).order_by(MediaObject.id)).scalars().all()
    by_request = {}
    for row in rows:
        by_request.setdefault(row.subject_id, []).append(row)
    return by_request


def expiries(now=None, within=timedelta(0)):
    """Closed requests with proofs left whose retention ends by now + within, per business, oldest first."""
    now, found = now or utcnow(), []
    owners = db.session.execute(db.select(User).where(User.role == "owner").order_by(User.id)).scalars().all()
    for owner in owners:
        months = months_of(owner)
        horizon = add_months(now + within, -months)
        has_media = sa.exists().where(MediaObject.context == "shift_cancellation",
                                      MediaObject.subject_id == ShiftCancellation.id, MediaObject.purged_at.is_(None))
        requests = db.session.execute(db.select(ShiftCancellation).where(
            ShiftCancellation.owner_id == owner.id, ShiftCancellation.status.in_(CLOSED),
            _closed_at() <= horizon, has_media).order_by(_closed_at(), ShiftCancellation.id)).scalars().all()
        media = _unpurged_media([c.id for c in requests])
        for cancellation in requests:
            closed = cancellation.decided_at or cancellation.updated_at
            found.append(Expiry(cancellation, add_months(closed, months), media.get(cancellation.id, []),
                                active_hold(cancellation.id)))
    return found


def run(now=None, *, dry_run=False, within=timedelta(0), on_item=lambda item, action: None):
    """Delete the proofs of every expired request not held, committing per request; on_item(expiry, action)
    hears each one (action: deleted, would delete, held, due later). Return the number of files deleted."""
    now, deleted = now or utcnow(), 0
    for item in expiries(now, within):
        if item.hold is not None:
            on_item(item, "held")
        elif item.due_at > now:
            on_item(item, "due later")
        elif dry_run:
            on_item(item, "would delete")
        else:
            lock_requests(ShiftCancellation.id == item.cancellation.id)
            hold = active_hold(item.cancellation.id)
            if hold is not None:  # held since the list was made
                db.session.commit()
                on_item(replace(item, hold=hold), "held")
                continue
            deleted += len(purge_rows(item.media, reason="retention"))
            db.session.commit()
            on_item(item, "deleted")
    return deleted
