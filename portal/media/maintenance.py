"""`flask media verify`: compare MediaObject rows with the bucket, and repair the safe kinds of finding."""
import hashlib
from dataclasses import dataclass
from datetime import timedelta

from ..extensions import db
from ..models import MediaObject, ShiftCancellation, UploadSlot, utcnow
from . import counters, daily, images
from .keys import CONTEXT_PREFIXES, INCOMING_PREFIX, incoming_key
from .orchestrator import SLOT_FINISH_GRACE, put_thumbnail


@dataclass
class Finding:
    """One disagreement between the database and the bucket."""

    # missing_object, size_mismatch, checksum_mismatch, missing_thumbnail, stale_pending, stuck_processing,
    # stale_request, orphan, unclaimed_incoming, counter_mismatch
    kind: str
    key: str
    media_id: int | None = None  # the row concerned (a cancellation's id for stale_request, a business's for
    # counter_mismatch)
    detail: str = ""
    fixable: bool = False


def _sha256(stream):
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1024 * 1024), b""):
        digest.update(chunk)
    return digest.hexdigest()


def _check_ready(storage, row, listed, check_content):
    """Findings of one ready row against the bucket listing (only a content check reads the object)."""
    if row.storage_key not in listed:
        return [Finding("missing_object", row.storage_key, row.id, "the file is not in the bucket")]
    found = []
    if listed[row.storage_key] != row.size:
        found.append(Finding("size_mismatch", row.storage_key, row.id,
                             f"bucket {listed[row.storage_key]} B, row {row.size} B"))
    elif check_content and _sha256(storage.open(row.storage_key)) != row.sha256:
        found.append(Finding("checksum_mismatch", row.storage_key, row.id, "content differs from the row's sha256"))
    if row.thumbnail_key and row.thumbnail_key not in listed:
        found.append(Finding("missing_thumbnail", row.thumbnail_key, row.id, "can be made again", fixable=True))
    return found


def _listing(storage, progress):
    """Every object under the portal's prefixes, key -> size: one listing instead of a request per row."""
    listed = {}
    for prefix in CONTEXT_PREFIXES.values():
        for item in storage.iter_objects(prefix + "/"):
            listed[item.key] = item.size
            progress(1)
    return listed


# An upload lives no longer than its request (nginx gives a request 35 s) and a job no longer than
# QUEUE_JOB_TIMEOUT times its retries, so an unfinished upload, job or request older than this died with its
# worker, its queue or its store: it is finished or cleared instead of holding a shift for a day.
UNFINISHED_GRACE = timedelta(minutes=10)


def verify(storage, *, grace=UNFINISHED_GRACE, check_content=True, progress=lambda step: None):
    """Every finding: rows against the bucket, stuck jobs, stale requests, then objects no row knows (orphans)
    and incoming objects no processing row waits for."""
    cutoff, findings = utcnow() - grace, []
    # Rows are read before the bucket is listed: a row that is ready now has its objects in the listing.
    rows = db.session.execute(db.select(MediaObject).order_by(MediaObject.id)).scalars().all()
    listed = _listing(storage, progress)
    known = {k for row in rows for k in (row.storage_key, row.thumbnail_key) if k}
    waiting = {row.incoming_key for row in rows if row.status == "processing"} | _open_slot_keys()
    for row in rows:
        findings.extend(_check_row(storage, row, listed, cutoff, check_content))
        progress(1)
    findings.extend(_stale_requests(cutoff))
    findings.extend(_counter_findings())
    findings.extend(_daily_findings())
    # A row is always committed before its final objects are put, so an object with no row is an orphan
    # whatever its age; repair() checks again that no row appeared meanwhile before deleting one.
    findings.extend(Finding("orphan", key, None, f"{size} B, no row", fixable=True)
                    for key, size in listed.items() if key not in known)
    # An incoming object is put before its row is committed: only an old one with no processing row is unclaimed.
    findings.extend(Finding("unclaimed_incoming", item.key, None, f"{item.size} B, no upload waits for it",
                            fixable=True)
                    for item in storage.iter_objects(INCOMING_PREFIX)
                    if item.key not in waiting and (item.last_modified is None or item.last_modified < cutoff))
    return findings


def _check_row(storage, row, listed, cutoff, check_content):
    if row.status == "pending" and row.created_at < cutoff:
        return [Finding("stale_pending", row.storage_key, row.id,
                        f"upload started {row.created_at:%Y-%m-%d %H:%M} UTC never finished", fixable=True)]
    if row.status == "processing" and row.created_at < cutoff and row.deleted_at is None:
        return [Finding("stuck_processing", row.storage_key, row.id,
                        f"uploaded {row.created_at:%Y-%m-%d %H:%M} UTC, never processed: queue it again",
                        fixable=True)]
    if row.status == "ready" and row.deleted_at is None:
        return _check_ready(storage, row, listed, check_content)
    return []


def _stale_requests(cutoff):
    """Unsent cancellation requests with no file at all (a crash of the old synchronous flow): they hold their
    shift. A request whose files are processing or refused waits for the worker or the employee instead."""
    has_files = db.select(MediaObject.id).where(MediaObject.context == "shift_cancellation",
                                                MediaObject.subject_id == ShiftCancellation.id,
                                                MediaObject.status != "pending").exists()
    stale = db.session.execute(db.select(ShiftCancellation).where(
        ShiftCancellation.submitted_at.is_(None), ShiftCancellation.status == "pending",
        ShiftCancellation.created_at < cutoff, ~has_files)).scalars()
    return [Finding("stale_request", f"cancellation {c.id}", c.id, f"shift {c.shift_id} is held by a request "
                    "whose upload never finished", fixable=True) for c in stale]


def _counter_findings():
    """Businesses whose kept storage counters differ from what their live rows add up to."""
    return [Finding("counter_mismatch", f"business {owner_id}", owner_id,
                    f"counted {have[0]} objects / {have[1]} B, rows say {truth[0]} / {truth[1]} B", fixable=True)
            for owner_id, (have, truth) in counters.mismatches().items()]


def _daily_findings():
    """Businesses whose daily roll-up differs from their files and rejection events (or whose zone changed)."""
    findings = []
    for owner_id, days in daily.mismatches().items():
        day, have, truth = days[0]
        findings.append(Finding("daily_mismatch", f"business {owner_id}", owner_id,
                                f"{len(days)} day(s) differ; {day}: counted {have[0]} uploads / {have[1]} B / "
                                f"{have[2]} refused, rows say {truth[0]} / {truth[1]} B / {truth[2]}", fixable=True))
    return findings


def _has_row(key):
    return db.session.execute(db.select(MediaObject.id).where(
        (MediaObject.storage_key == key) | (MediaObject.thumbnail_key == key))).first() is not None


def _open_slot_keys():
    """Incoming keys a browser may still post to, or finish: their slots are open (direct upload)."""
    return {incoming_key(owner_id, uuid) for owner_id, uuid in db.session.execute(
        db.select(UploadSlot.owner_id, UploadSlot.uuid).where(
            UploadSlot.claimed_at.is_(None), UploadSlot.expires_at > utcnow() - SLOT_FINISH_GRACE))}


def _awaited(key):
    return key in _open_slot_keys() or db.session.execute(db.select(MediaObject.id).where(
        MediaObject.incoming_key == key, MediaObject.status == "processing")).first() is not None


def _regenerate_thumbnail(storage, row):
    thumbnail = images.thumbnail(storage.open(row.storage_key).read(), row.content_type)
    put_thumbnail(storage, row.thumbnail_key, row.uuid, thumbnail)
    counters.count([row], sign=-1)
    row.thumbnail_size = len(thumbnail)
    counters.count([row])


def repair(storage, findings):
    """Fix only what is safe: delete orphans, unclaimed incoming objects and stale pending uploads, queue stuck
    jobs again, free stale requests' shifts, make missing thumbnails again, set storage counters to what the
    rows add up to."""
    from ..cancellations import forget, requeue  # the workflow imports the media package: import it late

    done = []
    for finding in (f for f in findings if f.fixable):
        if finding.kind == "orphan":
            if _has_row(finding.key):
                continue  # an upload started after the check: not an orphan
            storage.delete(finding.key)
        elif finding.kind == "unclaimed_incoming":
            if _awaited(finding.key):
                continue  # its row was committed after the check
            storage.delete(finding.key)
        elif finding.kind == "stuck_processing":
            db.session.commit()  # the job runs in its own unit of work (inline: right here)
            requeue(db.session.get(MediaObject, finding.media_id))
        elif finding.kind == "stale_pending":
            row = db.session.get(MediaObject, finding.media_id)
            for key in (row.storage_key, row.thumbnail_key):
                if key:
                    storage.delete(key)
            db.session.delete(row)
        elif finding.kind == "stale_request":
            forget(finding.media_id, db.session.get(ShiftCancellation, finding.media_id).shift_id)
        elif finding.kind == "missing_thumbnail":
            _regenerate_thumbnail(storage, db.session.get(MediaObject, finding.media_id))
        elif finding.kind == "counter_mismatch":
            counters.reset(finding.media_id)
        elif finding.kind == "daily_mismatch":
            daily.reset(finding.media_id)
        db.session.commit()
        done.append(f"{finding.kind}: {finding.key}")
    return done
