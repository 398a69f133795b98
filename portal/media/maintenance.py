"""`flask media verify`: compare MediaObject rows with the bucket, and repair the three safe kinds of finding."""
import hashlib
import io
from dataclasses import dataclass
from datetime import timedelta

from ..extensions import db
from ..models import MediaObject, utcnow
from . import images
from .keys import CONTEXT_PREFIXES
from .storage import ObjectNotFoundError

FIXABLE = ("orphan", "stale_pending", "stale_request", "missing_thumbnail")


@dataclass
class Finding:
    """One disagreement between the database and the bucket."""

    kind: str  # missing_object, size_mismatch, checksum_mismatch, missing_thumbnail, stale_pending, orphan
    key: str
    media_id: int | None = None  # the row concerned (a cancellation's id for stale_request)
    detail: str = ""
    fixable: bool = False


def _sha256(stream):
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1024 * 1024), b""):
        digest.update(chunk)
    return digest.hexdigest()


def _check_ready(storage, row, check_content):
    try:
        info = storage.stat(row.storage_key)
    except ObjectNotFoundError:
        return [Finding("missing_object", row.storage_key, row.id, "the file is not in the bucket")]
    found = []
    if info.size != row.size:
        found.append(Finding("size_mismatch", row.storage_key, row.id, f"bucket {info.size} B, row {row.size} B"))
    elif check_content and _sha256(storage.open(row.storage_key)) != row.sha256:
        found.append(Finding("checksum_mismatch", row.storage_key, row.id, "content differs from the row's sha256"))
    if row.thumbnail_key and not storage.exists(row.thumbnail_key):
        found.append(Finding("missing_thumbnail", row.thumbnail_key, row.id, "can be made again", fixable=True))
    return found


def verify(storage, *, grace=timedelta(hours=24), check_content=True, progress=lambda step: None):
    """Every finding, rows first, then bucket objects that no row knows (orphans)."""
    cutoff, findings, known = utcnow() - grace, [], set()
    for row in db.session.execute(db.select(MediaObject).order_by(MediaObject.id)).scalars():
        known.update(k for k in (row.storage_key, row.thumbnail_key) if k)
        if row.status == "pending":
            if row.created_at < cutoff:
                findings.append(Finding("stale_pending", row.storage_key, row.id,
                                        f"upload started {row.created_at:%Y-%m-%d %H:%M} UTC never finished",
                                        fixable=True))
        elif row.deleted_at is None:
            findings.extend(_check_ready(storage, row, check_content))
        progress(1)
    findings.extend(_stale_requests(cutoff))
    # A row is always committed before its object is put, so an object with no row is an orphan whatever
    # its age; repair() checks again that no row appeared meanwhile before deleting one.
    for prefix in CONTEXT_PREFIXES.values():
        for item in storage.iter_objects(prefix + "/"):
            if item.key not in known:
                findings.append(Finding("orphan", item.key, None, f"{item.size} B, no row", fixable=True))
            progress(1)
    return findings


def _stale_requests(cutoff):
    """Cancellation requests whose proofs never finished storing (a crash mid-upload): they hold their shift."""
    from ..models import ShiftCancellation

    stale = db.session.execute(db.select(ShiftCancellation).where(
        ShiftCancellation.submitted_at.is_(None), ShiftCancellation.created_at < cutoff)).scalars()
    return [Finding("stale_request", f"cancellation {c.id}", c.id, f"shift {c.shift_id} is held by a request "
                    "whose upload never finished", fixable=True) for c in stale]


def _has_row(key):
    return db.session.execute(db.select(MediaObject.id).where(
        (MediaObject.storage_key == key) | (MediaObject.thumbnail_key == key))).first() is not None


def _regenerate_thumbnail(storage, row):
    data = storage.open(row.storage_key).read()
    thumbnail = images.prepare(data, row.content_type).thumbnail
    storage.put(row.thumbnail_key, io.BytesIO(thumbnail), content_type="image/webp",
                metadata={"thumbnail-of": row.uuid, "sha256": hashlib.sha256(thumbnail).hexdigest()})
    row.thumbnail_size = len(thumbnail)


def repair(storage, findings):
    """Fix only what is safe: delete orphans and stale pending uploads, make missing thumbnails again."""
    done = []
    for finding in (f for f in findings if f.fixable):
        if finding.kind == "orphan":
            if _has_row(finding.key):
                continue  # an upload started after the check: not an orphan
            storage.delete(finding.key)
        elif finding.kind == "stale_pending":
            row = db.session.get(MediaObject, finding.media_id)
            for key in (row.storage_key, row.thumbnail_key):
                if key:
                    storage.delete(key)
            db.session.delete(row)
        elif finding.kind == "stale_request":
            from ..cancellations import forget
            from ..models import ShiftCancellation

            forget(finding.media_id, db.session.get(ShiftCancellation, finding.media_id).shift_id)
        elif finding.kind == "missing_thumbnail":
            _regenerate_thumbnail(storage, db.session.get(MediaObject, finding.media_id))
        db.session.commit()
        done.append(f"{finding.kind}: {finding.key}")
    return done
