"""MediaOrchestrator: the one workflow for storing, listing, linking and deleting proof files.

Order of a store: validate; commit a pending row with its key; put the bytes; mark the row ready and
write the audit event in one transaction. A storage failure removes the pending row (and the objects, unless
the store is unreachable: then verify finds them as orphans); a failing final commit removes the objects. A
crash in between leaves a pending row that names its key, for repair.
"""
import hashlib
import io
import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from sqlalchemy.exc import SQLAlchemyError

from .. import audit, metrics
from ..extensions import db
from ..models import MediaObject, utcnow
from . import counters, disposition, images, keys, validation
from .storage import StorageError, StorageUnavailableError, StoredObject

log = logging.getLogger("portal.media")


@dataclass(frozen=True)
class Upload:
    """One file as it arrived: a readable stream and the name the sender's device gave it."""

    stream: object
    filename: str


@dataclass(frozen=True)
class PresignedUrl:
    """A link to an object and the moment it stops working."""

    url: str
    expires_at: datetime


def put_thumbnail(storage, row, thumbnail):
    """Store a row's thumbnail beside its file, with the metadata backups compare by."""
    return storage.put(row.thumbnail_key, io.BytesIO(thumbnail), content_type="image/webp",
                       metadata={"thumbnail-of": row.uuid, "sha256": hashlib.sha256(thumbnail).hexdigest()})


class MediaOrchestrator:
    """Stores and serves media for any context (shift cancellations now; tasks and incidents later)."""

    def __init__(self, storage, settings):
        self.storage = storage
        self.settings = settings

    def validate(self, upload):
        """Read (within the size limit), check and prepare one upload: its canonical bytes and thumbnail.

        Raises ValidationError for anything wrong with the file, so a hostile file is a refusal, never a 500.
        """
        data = validation.read_limited(upload.stream, self.settings["MEDIA_MAX_UPLOAD_BYTES"])
        checked = validation.validate(data, upload.filename, max_bytes=self.settings["MEDIA_MAX_UPLOAD_BYTES"],
                                      max_pixels=self.settings["MEDIA_MAX_IMAGE_PIXELS"])
        prepared = images.prepare(checked.data, checked.content_type)
        return replace(checked, data=prepared.data, thumbnail=prepared.thumbnail)

    def store_cancellation_proofs(self, cancellation, files, *, actor, source=None, on_ready=None):
        """Store validated proof files of a shift cancellation together; return their ready rows."""
        return self.store_files(context="shift_cancellation", owner_id=cancellation.owner_id,
                                subject_id=cancellation.id, shift_id=cancellation.shift_id, files=files,
                                actor=actor, source=source, on_ready=on_ready)

    def store_cancellation_proof(self, cancellation, upload, *, actor, source=None):
        """Validate and store one proof file of a shift cancellation; return its ready MediaObject."""
        return self.store_cancellation_proofs(cancellation, [self.validate(upload)], actor=actor, source=source)[0]

    def store_files(self, *, context, owner_id, subject_id, shift_id, files, actor, source=None, on_ready=None):
        """Store validated files for one subject, all or none; on_ready() joins the final transaction."""
        started = time.perf_counter()
        try:
            rows = self._store_files(context, owner_id, subject_id, shift_id, files, actor, source, on_ready)
        except StorageError as error:
            metrics.UPLOADS.labels("failed").inc(len(files))
            metrics.STORAGE_ERRORS.labels(error.operation or "put").inc()
            log.warning("media.store failed owner_id=%s files=%d: %s", owner_id, len(files), error)
            raise
        metrics.UPLOADS.labels("stored").inc(len(rows))
        metrics.UPLOAD_BYTES.inc(sum(r.size for r in rows))
        metrics.UPLOAD_SECONDS.observe(time.perf_counter() - started)
        for row in rows:
            log.info("media.stored media_id=%s owner_id=%s shift_id=%s size=%s type=%s", row.id, row.owner_id,
                     row.shift_id, row.size, row.content_type)
        return rows

    def _store_files(self, context, owner_id, subject_id, shift_id, files, actor, source, on_ready):
        rows = [self._pending_row(context, owner_id, subject_id, shift_id, f, actor) for f in files]
        db.session.commit()  # the keys are on record before any byte moves
        put = []
        try:
            for row, ready in zip(rows, files):
                self._put_objects(row, ready, put)
        except StorageUnavailableError:
            # Deleting from a store that is down or slow would keep the employee waiting as long again: drop the
            # rows only. Whatever landed has no row now, and `flask media verify --fix` deletes it as an orphan.
            self._discard([r.id for r in rows], [])
            raise
        except StorageError:
            stored = {item.key for item in put}
            in_flight = next(k for r in rows for k in (r.storage_key, r.thumbnail_key) if k not in stored)
            # the put that failed may still have landed (a timeout after the store wrote it): delete it too
            self._discard([r.id for r in rows], put + [StoredObject(key=in_flight, size=0)])
            raise
        return self._mark_ready(rows, put, actor, source, on_ready)

    def _pending_row(self, context, owner_id, subject_id, shift_id, validated, actor):
        media_uuid = keys.new_uuid()
        key = keys.media_key(context, owner_id, shift_id or subject_id, media_uuid, validated.content_type)
        row = MediaObject(
            uuid=media_uuid, status="pending", owner_id=owner_id, context=context, subject_id=subject_id,
            shift_id=shift_id, storage_key=key, content_type=validated.content_type, size=len(validated.data),
            sha256=hashlib.sha256(validated.data).hexdigest(), original_filename=validated.display_name,
            uploaded_by_id=actor.id, uploader_role=actor.role, thumbnail_key=keys.thumbnail_key(key),
            thumbnail_size=len(validated.thumbnail), created_at=utcnow(),
        )
        db.session.add(row)
        return row

    def _metadata(self, row):
        return {
            "mime": row.content_type,
            "uploaded-at": row.created_at.isoformat(),
            "uploader-role": row.uploader_role,
            "uploader-id": str(row.uploaded_by_id),
            "shift-id": str(row.shift_id or ""),
            "sha256": row.sha256,
            "original-filename": quote(row.original_filename, safe=""),
        }

    def _put_objects(self, row, prepared, put):
        """Put one file and its thumbnail, noting each in `put` the moment it is stored (for cleanup)."""
        put.append(self.storage.put(row.storage_key, io.BytesIO(prepared.data), content_type=row.content_type,
                                    metadata=self._metadata(row)))
        put.append(put_thumbnail(self.storage, row, prepared.thumbnail))

    def _discard(self, row_ids, objects):
        """Best-effort removal of a failed upload's objects (the exact versions it wrote) and pending rows."""
        db.session.rollback()
        for item in objects:
            try:
                self.storage.delete(item.key, version_id=item.version_id)
            except StorageError:
                pass  # the pending row (if it survives) still names the key for repair
        try:
            db.session.execute(db.delete(MediaObject).where(MediaObject.id.in_(row_ids),
                                                            MediaObject.status == "pending"))
            db.session.commit()
        except SQLAlchemyError:
            db.session.rollback()  # the database is down too: repair finds the pending rows later

    def _mark_ready(self, rows, put, actor, source, on_ready):
        row_ids = [r.id for r in rows]
        versions = {item.key: item.version_id for item in put}
        try:
            for row in rows:
                row.status = "ready"
                row.version_id = versions.get(row.storage_key)
                row.uploaded_at = utcnow()
                audit.record("media.upload", actor=actor, owner_id=row.owner_id, source=source,
                             shift_id=row.shift_id, media_id=row.id,
                             detail={"filename": row.original_filename, "size": row.size,
                                     "content_type": row.content_type, "key": row.storage_key})
            counters.count(rows)
            if on_ready:
                on_ready()  # may refuse (the request was decided meanwhile): then nothing of this upload stays
            db.session.commit()
        except Exception:
            self._discard(row_ids, put)
            raise
        return rows

    def url_lifetime(self, role):
        """Seconds a presigned URL lives for a viewer of this role."""
        return self.settings[f"MEDIA_URL_TTL_{role.upper()}"]

    def generate_presigned_url(self, media, viewer, *, purpose="view"):
        """A short-lived URL for the file ('view' or 'download') or its thumbnail; lifetime by the viewer's role."""
        if media.status != "ready" or media.deleted_at is not None:
            raise StorageError("This file is not available.", operation="presign", key=media.storage_key)
        ttl = self.url_lifetime(viewer.role)
        key = media.thumbnail_key if purpose == "thumbnail" else media.storage_key
        name = disposition.download_name(media.original_filename, media.content_type) if purpose == "download" else None
        try:
            url = self.storage.presigned_url(key, expires_in=ttl, download_name=name)
        except StorageError:
            metrics.STORAGE_ERRORS.labels("presign").inc()
            raise
        metrics.PRESIGNED.labels(purpose).inc()
        return PresignedUrl(url=url, expires_at=datetime.now(timezone.utc) + timedelta(seconds=ttl))

    def delete_media(self, media, *, actor, source=None):
        """Hide the file at once and record who did it; then delete its objects (versions stay restorable)."""
        hidden = db.session.execute(
            db.update(MediaObject).where(MediaObject.id == media.id, MediaObject.deleted_at.is_(None))
            .values(deleted_at=utcnow()).execution_options(synchronize_session="fetch")).rowcount
        if hidden != 1:
            db.session.rollback()
            return  # someone else deleted it a moment ago: their request counted and recorded it
        counters.count([media], sign=-1)
        audit.record("media.delete", actor=actor, owner_id=media.owner_id, source=source, shift_id=media.shift_id,
                     media_id=media.id, detail={"filename": media.original_filename, "key": media.storage_key})
        db.session.commit()
        log.info("media.deleted media_id=%s owner_id=%s", media.id, media.owner_id)
        for key in (media.storage_key, media.thumbnail_key):
            try:
                self.storage.delete(key)
            except StorageError:
                metrics.STORAGE_ERRORS.labels("delete").inc()
                raise
