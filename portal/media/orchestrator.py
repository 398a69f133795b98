"""MediaOrchestrator: the one workflow for storing, listing, linking and deleting proof files.

Order of a store: validate; commit a pending row with its key; put the bytes; mark the row ready and
write the audit event in one transaction. A storage failure removes the pending row; a failing final
commit removes the objects. A crash in between leaves a pending row that names its key, for repair.
"""
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from sqlalchemy.exc import SQLAlchemyError

from .. import audit
from ..extensions import db
from ..models import MediaObject, utcnow
from . import images, keys, validation
from .storage import StorageError


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


class MediaOrchestrator:
    """Stores and serves media for any context (shift cancellations now; tasks and incidents later)."""

    def __init__(self, storage, settings):
        self.storage = storage
        self.settings = settings

    def validate(self, upload):
        """Read (within the size limit) and check one upload; raises ValidationError."""
        data = validation.read_limited(upload.stream, self.settings["MEDIA_MAX_UPLOAD_BYTES"])
        return validation.validate(data, upload.filename, max_bytes=self.settings["MEDIA_MAX_UPLOAD_BYTES"],
                                   max_pixels=self.settings["MEDIA_MAX_IMAGE_PIXELS"])

    def store_cancellation_proof(self, cancellation, upload, *, actor, source=None):
        """Store one proof file of a shift cancellation; return its ready MediaObject."""
        return self.store(context="shift_cancellation", owner_id=cancellation.owner_id, subject_id=cancellation.id,
                          shift_id=cancellation.shift_id, upload=upload, actor=actor, source=source)

    def store(self, *, context, owner_id, subject_id, shift_id, upload, actor, source=None, validated=None):
        """Validate, prepare and store one file for a subject; return the ready row."""
        validated = validated or self.validate(upload)
        prepared = images.prepare(validated.data, validated.content_type)
        row = self._pending_row(context, owner_id, subject_id, shift_id, validated, prepared, actor)
        put = self._put_objects(row, validated, prepared, actor)
        return self._mark_ready(row, put, actor, source)

    def _pending_row(self, context, owner_id, subject_id, shift_id, validated, prepared, actor):
        media_uuid = keys.new_uuid()
        key = keys.media_key(context, owner_id, shift_id or subject_id, media_uuid, validated.content_type)
        row = MediaObject(
            uuid=media_uuid, status="pending", owner_id=owner_id, context=context, subject_id=subject_id,
            shift_id=shift_id, storage_key=key, content_type=validated.content_type, size=len(prepared.data),
            sha256=hashlib.sha256(prepared.data).hexdigest(), original_filename=validated.display_name,
            uploaded_by_id=actor.id, uploader_role=actor.role, thumbnail_key=keys.thumbnail_key(key),
        )
        db.session.add(row)
        db.session.commit()  # the key is on record before any byte moves
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

    def _put_objects(self, row, validated, prepared, actor):
        """Put the file and its thumbnail; on failure remove what was put and the pending row."""
        metadata = self._metadata(row)
        put = []
        try:
            put.append(self.storage.put(row.storage_key, io.BytesIO(prepared.data),
                                        content_type=row.content_type, metadata=metadata))
            put.append(self.storage.put(row.thumbnail_key, io.BytesIO(prepared.thumbnail),
                                        content_type="image/webp", metadata={"thumbnail-of": row.uuid}))
        except StorageError:
            self._discard(row.id, put or [row.storage_key])
            raise
        return put

    def _discard(self, row_id, objects):
        """Best-effort removal of a failed upload's objects (the exact versions it wrote) and pending row."""
        db.session.rollback()
        for item in objects:
            try:
                if isinstance(item, str):
                    self.storage.delete(item)
                else:
                    self.storage.delete(item.key, version_id=item.version_id)
            except StorageError:
                pass  # the pending row (if it survives) still names the key for repair
        try:
            db.session.execute(db.delete(MediaObject).where(MediaObject.id == row_id, MediaObject.status == "pending"))
            db.session.commit()
        except SQLAlchemyError:
            db.session.rollback()  # the database is down too: repair finds the pending row later

    def _mark_ready(self, row, put, actor, source):
        row_id = row.id
        try:
            row.status = "ready"
            row.version_id = put[0].version_id
            row.uploaded_at = utcnow()
            audit.record("media.upload", actor=actor, owner_id=row.owner_id, source=source, shift_id=row.shift_id,
                         media_id=row.id, detail={"filename": row.original_filename, "size": row.size,
                                                  "content_type": row.content_type, "key": row.storage_key})
            db.session.commit()
        except SQLAlchemyError:
            self._discard(row_id, put)
            raise
        return row

    def list_media(self, context, owner_id, subject_id):
        """The ready, not deleted media of one subject, oldest first."""
        return db.session.execute(
            db.select(MediaObject)
            .where(MediaObject.context == context, MediaObject.owner_id == owner_id,
                   MediaObject.subject_id == subject_id, MediaObject.status == "ready",
                   MediaObject.deleted_at.is_(None))
            .order_by(MediaObject.uploaded_at)
        ).scalars().all()

    def url_lifetime(self, role):
        """Seconds a presigned URL lives for a viewer of this role."""
        return self.settings[f"MEDIA_URL_TTL_{role.upper()}"]

    def generate_presigned_url(self, media, viewer, *, purpose="view"):
        """A short-lived URL for the file ('view' or 'download') or its thumbnail; lifetime by the viewer's role."""
        if media.status != "ready" or media.deleted_at is not None:
            raise StorageError("This file is not available.", operation="presign", key=media.storage_key)
        ttl = self.url_lifetime(viewer.role)
        key = media.thumbnail_key if purpose == "thumbnail" else media.storage_key
        name = media.original_filename if purpose == "download" else None
        url = self.storage.presigned_url(key, expires_in=ttl, download_name=name)
        return PresignedUrl(url=url, expires_at=datetime.now(timezone.utc) + timedelta(seconds=ttl))

    def delete_media(self, media, *, actor, source=None):
        """Hide the file at once and record who did it; then delete its objects (versions stay restorable)."""
        media.deleted_at = utcnow()
        audit.record("media.delete", actor=actor, owner_id=media.owner_id, source=source, shift_id=media.shift_id,
                     media_id=media.id, detail={"filename": media.original_filename, "key": media.storage_key})
        db.session.commit()
        for key in (media.storage_key, media.thumbnail_key):
            self.storage.delete(key)
