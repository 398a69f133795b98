"""MediaOrchestrator: the one workflow for receiving, processing, listing, linking and deleting proof files.

An upload has two halves. The request: check the file's size, type and header, put its bytes under an
incoming/ key and add its `processing` row (the caller's unit of work commits it and queues the job). The job:
read the incoming bytes, check them in full, make the canonical file and its thumbnail, put them under the
final key and mark the row ready (or refused, with the message why); then the incoming object goes. Nothing
here commits: the workflow that calls it owns every transaction.
"""
import hashlib
import io
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.attributes import set_committed_value

from .. import audit, metrics
from ..extensions import db
from ..models import MediaObject, UploadSlot, utcnow
from . import arriving, counters, daily, disposition, images, keys, validation
from .storage import ObjectNotFoundError, StorageError, StorageUnavailableError, StoredObject

log = logging.getLogger("portal.media")


@dataclass(frozen=True)
class Upload:
    """One file as it arrived: a readable, seekable stream and the name the sender's device gave it."""

    stream: object
    filename: str


# An upload that started just before its slot's policy expired may end a little later; the slot still takes it in
# (and verify leaves its object alone) this much longer.
SLOT_FINISH_GRACE = timedelta(minutes=5)
# AWS S3 refuses a put whose user metadata (names with their x-amz-meta- prefix, and values, in UTF-8 bytes) is over
# 2 KB: a file's original name, percent-encoded there, is cut to fit (the row keeps it whole).
METADATA_BYTES = 2048


EXPIRED = _l("This file waited too long to be checked and was not kept. Please send it again.")


class SlotError(Exception):
    """A direct upload cannot be given a slot or taken in; the message is for the employee."""


@dataclass(frozen=True)
class Arrived:
    """A file the browser posted straight to its slot's incoming key, as the app's own HEAD saw it."""

    slot_id: int
    uuid: str
    content_type: str
    size: int
    display_name: str

    @property
    def stored_type(self):
        """The type the worker stores it as (HEIC becomes JPEG)."""
        return validation.STORED_TYPES.get(self.content_type, self.content_type)


@dataclass(frozen=True)
class PresignedUrl:
    """A link to an object and the moment it stops working."""

    url: str
    expires_at: datetime


@dataclass(frozen=True)
class Processed:
    """What a worker made of one upload: the bytes to store, their type and sha256, and the thumbnail when
    making the bytes already made it (a HEIC's conversion); otherwise promote makes it while the file is put."""

    data: bytes
    content_type: str
    sha256: str
    thumbnail: bytes | None = None
    ahead: object = None  # an arriving.DecodeAhead already decoding data, whose thumbnail promote takes


# How long a browser may keep a thumbnail read from the store, for stores that ignore a link's
# response-cache-control (moto does; Ceph RGW and AWS S3 answer with the link's own lifetime instead). A copy is
# found again only through the same presigned link, which is handed out for at most one window of the viewer's
# link lifetime (media/links.py), so this bounds the browser's disk, not who sees what.
THUMBNAIL_CACHE_SECONDS = 3600


def put_thumbnail(storage, key, of_uuid, thumbnail):
    """Store a file's thumbnail beside it, with the metadata backups compare by (plain values: a transfer thread
    calls this, and must not read a database row)."""
    return storage.put(key, io.BytesIO(thumbnail), content_type="image/webp",
                       metadata={"thumbnail-of": of_uuid, "sha256": hashlib.sha256(thumbnail).hexdigest()},
                       cache_seconds=THUMBNAIL_CACHE_SECONDS)


# Threads that move bytes to the store while a request or a job goes on with its own work: one pool per process,
# made on first use (and again in a forked child, which inherits no threads). When all are busy, a put waits.
TRANSFER_THREADS = 8
_transfers = {"pool": None, "lock": threading.Lock()}


def transfers():
    """This process's pool of transfer threads."""
    with _transfers["lock"]:
        if _transfers["pool"] is None:
            _transfers["pool"] = ThreadPoolExecutor(max_workers=TRANSFER_THREADS, thread_name_prefix="store-transfer")
        return _transfers["pool"]


# a forked child (a gunicorn worker, an RQ work-horse) has none of its parent's threads, nor a lock one held
os.register_at_fork(after_in_child=lambda: _transfers.update(pool=None, lock=threading.Lock()))


def _gather(futures):
    """Wait for every put, whatever becomes of any one of them: what landed, and what each failed one raised."""
    wait(futures)
    landed, failures = [], []
    for future in futures:
        error = future.exception()
        if error is None:
            landed.append(future.result())
        else:
            failures.append(error)
    return landed, failures


def _store_down(failures):
    return any(isinstance(error, StorageUnavailableError) for error in failures)


def _maybe_landed(failures):
    """A put that failed on a timeout may have landed all the same: its key, to delete."""
    return [StoredObject(key=error.key, size=0) for error in failures if isinstance(error, StorageError) and error.key]


class _Puts:
    """Puts running in transfer threads, and their one way out: settle() waits and, if any failed, deletes what
    landed and raises the first failure; undo() deletes what landed. Either happens at most once."""

    FAILED_KEYS_TOO = False  # also delete the key of a put that failed (on a timeout it may have landed anyway)

    def __init__(self, media, futures):
        self._media, self._futures, self._finished = media, list(futures), False

    def landed(self):
        """Every object put, once no put is running."""
        return _gather(self._futures)[0]

    def settle(self):
        landed, failures = _gather(self._futures)
        if not failures:
            return landed
        self._failed(failures[0])
        if not _store_down(failures):  # when it is, verify and the lifecycle rules find what is left
            self._delete(landed, failures)
        self._finished = True
        raise failures[0]

    def undo(self):
        """Delete exactly the versions that landed (best effort; never raises, so the caller's reason stays)."""
        if not self._finished:
            landed, failures = _gather(self._futures)
            self._delete(landed, [] if _store_down(failures) else failures)

    def _delete(self, landed, failures):
        if not self._finished:
            self._finished = True
            self._media._delete_quietly(landed + (_maybe_landed(failures) if self.FAILED_KEYS_TOO else []))

    def _failed(self, error):
        metrics.STORAGE_ERRORS.labels(getattr(error, "operation", None) or "put").inc()


class Receipt(_Puts):
    """The files of one post on their way under incoming/: each has its media uuid, and the bytes of those that
    came through the app are being put by the process's transfer threads (boto3's client is thread-safe) while
    the request checks and inserts. Once the rows are committed, keep(); before that, any way out goes through
    settle() or undo(), so nothing is left behind."""

    FAILED_KEYS_TOO = True

    def __init__(self, media, files, owner_id, actor):
        self.files, self.owner_id, self.rows = list(files), owner_id, []
        self.uuids = [item.uuid if isinstance(item, Arrived) else keys.new_uuid() for item in self.files]
        sending = [(keys.incoming_key(owner_id, media_uuid), item, media_uuid)
                   for item, media_uuid in zip(self.files, self.uuids) if not isinstance(item, Arrived)]
        super().__init__(media, [transfers().submit(media.storage.put, key, item.stream,
                                                    content_type=item.content_type,
                                                    metadata={"uploader-id": str(actor.id), "media-uuid": media_uuid})
                                 for key, item, media_uuid in sending])

    def _failed(self, error):
        super()._failed(error)
        metrics.UPLOADS.labels("failed").inc(len(self.files))
        log.warning("media.receive failed owner_id=%s files=%d: %r", self.owner_id, len(self.files), error)

    def keep(self):
        """The rows are committed: their incoming objects are the jobs' to read now."""
        self._finished = True


class Promotion(_Puts):
    """A processed file's puts under its final keys: the file's (awaited by promote) and the thumbnail's, which
    may still run while the caller writes the row; settle() waits for it before the caller commits."""

    def __init__(self, media, file_put, thumbnail_put):
        super().__init__(media, [put for put in (file_put, thumbnail_put) if put is not None])

    @property
    def file(self):
        """The file's StoredObject (its version goes on the row); if its put failed, every put is undone and the
        failure raised."""
        wait(self._futures[:1])
        if self._futures[0].exception() is not None:
            self.settle()
        return self._futures[0].result()


def _quoted_within(text, room):
    """text percent-encoded, cut at a character so that it takes at most room bytes."""
    quoted, used = [], 0
    for character in text:
        piece = quote(character, safe="")
        if used + len(piece) > room:
            break
        quoted.append(piece)
        used += len(piece)
    return "".join(quoted)


class MediaOrchestrator:
    """Stores and serves media for any context (shift cancellations now; tasks and incidents later)."""

    def __init__(self, storage, settings, links=None):
        self.storage = storage
        self.settings = settings
        self.links = links

    def check(self, upload):
        """The request's checks (size, sniffed type, image header) on one upload; ValidationError if refused."""
        return validation.check_upload(upload.stream, upload.filename,
                                       max_bytes=self.settings["MEDIA_MAX_UPLOAD_BYTES"],
                                       max_pixels=self.settings["MEDIA_MAX_IMAGE_PIXELS"])

    # --- the request's half ------------------------------------------------------------------------------

    def send(self, files, *, owner_id, actor):
        """Start putting checked files under incoming/ (files that arrived through a slot are there already);
        the returned Receipt goes to receive() once the request's own checks have begun."""
        return Receipt(self, files, owner_id, actor)

    def receive(self, receipt, *, context, subject_id, shift_id, actor):
        """Add the processing row of each file of the receipt to the session (not committed); the caller waits
        for receipt.settle() before its commit. Slots are claimed first, once (SlotError if taken)."""
        self._claim_slots([item for item in receipt.files if isinstance(item, Arrived)])
        receipt.rows = [self._processing_row(context, receipt.owner_id, subject_id, shift_id, checked, actor,
                                             media_uuid)
                        for checked, media_uuid in zip(receipt.files, receipt.uuids)]
        db.session.add_all(receipt.rows)
        return receipt.rows

    @staticmethod
    def _claim_slots(arrived):
        """Mark the slots used, in the caller's transaction: a slot brings its file to one request, once."""
        if not arrived:
            return
        claimed = db.session.execute(
            db.update(UploadSlot).where(UploadSlot.id.in_([item.slot_id for item in arrived]),
                                        UploadSlot.claimed_at.is_(None))
            # the file name lives on in the media row (which retention and erasure reach), not in the slot
            .values(claimed_at=utcnow(), filename="").execution_options(synchronize_session=False)).rowcount
        if claimed != len(arrived):
            raise SlotError("an upload slot was already used")

    def _processing_row(self, context, owner_id, subject_id, shift_id, checked, actor, media_uuid):
        key = keys.media_key(context, owner_id, shift_id or subject_id, media_uuid, checked.stored_type)
        return MediaObject(
            uuid=media_uuid, status="processing", owner_id=owner_id, context=context, subject_id=subject_id,
            shift_id=shift_id, storage_key=key, incoming_key=keys.incoming_key(owner_id, media_uuid),
            content_type=checked.content_type, size=checked.size, original_filename=checked.display_name,
            uploaded_by_id=actor.id, uploader_role=actor.role, thumbnail_key=keys.thumbnail_key(key),
            created_at=utcnow(),
        )

    def discard(self, rows, objects=()):
        """Undo uploads that cannot go on: delete their objects (best effort) and their rows (not committed)."""
        keys_of = [k for row in rows for k in (row.incoming_key, row.storage_key, row.thumbnail_key) if k]
        self._delete_quietly([StoredObject(key=k, size=0) for k in keys_of] + list(objects))
        for row in rows:
            db.session.execute(db.delete(MediaObject).where(MediaObject.id == row.id))

    def delete_versions(self, objects):
        """Delete exactly the object versions a failed job put (best effort)."""
        self._delete_quietly(objects)

    def _delete_quietly(self, objects):
        for item in objects:
            try:
                self.storage.delete(item.key, version_id=item.version_id)
            except StorageError:
                pass  # verify finds what is left: an orphan, or an unclaimed incoming object

    # --- the job's half ----------------------------------------------------------------------------------

    def process(self, row):
        """Read the row's incoming bytes (sha256 while reading), check them in full and prepare what to store.

        Raises ValidationError for a file that does not hold up, StorageError when the store fails (retry)."""
        digest = hashlib.sha256()
        try:
            incoming = self.storage.open(row.incoming_key)
        except ObjectNotFoundError:
            if row.created_at > utcnow() - keys.INCOMING_KEPT:
                raise  # too young for the lifecycle rule: the store is wrong somehow, and the queue retries
            # the bucket's expire-incoming rule took bytes that waited longer than it keeps them (workers were
            # down): the employee sees why and sends the file again, instead of a file "being checked" for ever
            raise validation.ValidationError(EXPIRED, code="expired") from None
        # a JPEG's thumbnail decode starts on its first part while the rest arrives (media/arriving.py)
        ahead = arriving.DecodeAhead(transfers(), self.settings["MEDIA_MAX_IMAGE_PIXELS"]) \
            if row.content_type == "image/jpeg" else None

        def arriving_chunk(chunk):
            digest.update(chunk)
            if ahead:
                ahead.feed(chunk)

        try:
            data = validation.read_limited(incoming, self.settings["MEDIA_MAX_UPLOAD_BYTES"],
                                           on_chunk=arriving_chunk)
            if ahead:
                ahead.arrived(data)
            checked = validation.validate(data, row.original_filename,
                                          max_bytes=self.settings["MEDIA_MAX_UPLOAD_BYTES"],
                                          max_pixels=self.settings["MEDIA_MAX_IMAGE_PIXELS"])
            if checked.content_type != row.content_type:  # a direct upload declared one type and sent another
                raise validation.ValidationError(validation.type_refusal(), code="type")
            unchanged = checked.data is data
            with images.refusals(checked.content_type):
                staged = images.stage(checked.data, checked.content_type)  # no pixel decoded (but a HEIC's)
            if ahead and not ahead.decodes(staged.data, data):
                ahead = None  # promote decodes the canonical bytes themselves
            del data  # from here on only checked.data and staged.data (which the decode ahead reads) hold it
            # a PDF is stored as it came: the digest taken while reading is its sha256
            sha = digest.hexdigest() if unchanged and staged.data is checked.data else \
                hashlib.sha256(staged.data).hexdigest()
        except BaseException:
            if ahead:
                ahead.stop()
            raise
        stored_type = validation.STORED_TYPES.get(checked.content_type, checked.content_type)
        return Processed(data=staged.data, content_type=stored_type, sha256=sha, thumbnail=staged.thumbnail,
                         ahead=ahead)

    def promote(self, row, processed):
        """Put the file under its final key while its thumbnail is made, then start the thumbnail's put; returns
        the Promotion, whose file has landed and whose thumbnail is on its way while the caller writes the row.

        The thumbnail's decode is the one that proves an image whole, so it may still refuse the file: then the
        file's put is undone and ValidationError raised. A store failure raises StorageError with nothing left
        under the final keys (the queue retries the job)."""
        pool, file_put = transfers(), None
        try:
            # set without marking the row dirty: mark_ready's claim writes them, so no autoflush writes them first
            for name, value in (("content_type", processed.content_type), ("sha256", processed.sha256),
                                ("size", len(processed.data)),
                                ("original_filename", disposition.download_name(row.original_filename,
                                                                                processed.content_type))):
                set_committed_value(row, name, value)
            file_put = pool.submit(self.storage.put, row.storage_key, io.BytesIO(processed.data),
                                   content_type=row.content_type, metadata=self._metadata(row))
            with images.refusals(processed.content_type):
                thumbnail = images.make_thumbnail(images.PreparedFile(processed.data, processed.thumbnail),
                                                  processed.content_type, ahead=processed.ahead)
        except BaseException:
            if processed.ahead:
                processed.ahead.stop()  # the job's time ran out before its thumbnail was taken, say
            if file_put is not None:
                Promotion(self, file_put, None).undo()  # nothing of a refused file stays under its final key
            raise
        set_committed_value(row, "thumbnail_size", len(thumbnail))
        promotion = Promotion(self, file_put, pool.submit(put_thumbnail, self.storage, row.thumbnail_key, row.uuid,
                                                          thumbnail))
        try:
            promotion.file  # noqa: B018  (waits for the file's put; if it failed, both are undone and it raises)
        except BaseException:
            promotion.undo()  # a job timeout while waiting, say: nothing stays under the final keys
            raise
        return promotion

    def _metadata(self, row):
        metadata = {
            "mime": row.content_type,
            "uploaded-at": row.created_at.isoformat(),
            "uploader-role": row.uploader_role,
            "uploader-id": str(row.uploaded_by_id),
            "shift-id": str(row.shift_id or ""),
            "sha256": row.sha256,
        }
        room = METADATA_BYTES - sum(len(f"x-amz-meta-{name}") + len(value.encode())
                                    for name, value in {**metadata, "original-filename": ""}.items())
        metadata["original-filename"] = _quoted_within(row.original_filename, room)
        return metadata

    def mark_ready(self, row, stored, *, source=None):
        """Claim the processing row as ready with its stored file's version and write its audit event (not
        committed); False if another run of the job got there first."""
        now = utcnow()
        claimed = self._claim(row, "ready", version_id=stored.version_id, uploaded_at=now,
                              content_type=row.content_type, sha256=row.sha256, size=row.size,
                              thumbnail_size=row.thumbnail_size, original_filename=row.original_filename)
        if claimed:
            counters.count([row])
            daily.count_upload(row, now)
            audit.record("media.upload", actor=audit.Actor(row.uploaded_by_id, row.uploader_role),
                         owner_id=row.owner_id, source=source,
                         shift_id=row.shift_id, media_id=row.id,
                         detail={"filename": row.original_filename, "size": row.size,
                                 "content_type": row.content_type, "key": row.storage_key})
            metrics.UPLOADS.labels("stored").inc()
            metrics.UPLOAD_BYTES.inc(row.size)
            log.info("media.stored media_id=%s owner_id=%s shift_id=%s size=%s type=%s", row.id, row.owner_id,
                     row.shift_id, row.size, row.content_type)
        return claimed

    def refuse(self, row, error, *, source=None):
        """Mark the processing row refused with the message in its uploader's language (not committed)."""
        with force_locale(row.uploaded_by.language or self.settings["BABEL_DEFAULT_LOCALE"]):
            message = str(error)
        claimed = self._claim(row, "refused", refusal_code=error.code, refusal_message=message)
        if claimed:
            daily.record_rejection(actor=row.uploaded_by, owner_id=row.owner_id, source=source,
                                   shift_id=row.shift_id, media_id=row.id,
                                   detail={"filename": row.original_filename, "code": error.code})
            metrics.UPLOADS.labels("rejected").inc()
            log.info("media.rejected media_id=%s code=%s", row.id, error.code)
        return claimed

    def _claim(self, row, status, **values):
        changed = db.session.execute(
            # a tombstone stays one: a job finishing after an erasure must not bring the file or its name back
            db.update(MediaObject).where(MediaObject.id == row.id, MediaObject.status == "processing",
                                         MediaObject.purged_at.is_(None))
            .values(status=status, **values).execution_options(synchronize_session=False)).rowcount
        return changed == 1

    def drop_incoming(self, row):
        """Remove the incoming object of a row the job has finished with (a failure leaves it to verify)."""
        self._delete_quietly([StoredObject(key=row.incoming_key, size=0)] if row.incoming_key else [])

    def url_lifetime(self, role):
        """Seconds a presigned URL lives for a viewer of this role."""
        return self.settings[f"MEDIA_URL_TTL_{role.upper()}"]

    def generate_presigned_url(self, media, viewer, *, purpose="view"):
        """A short-lived URL for the file ('view' or 'download') or its thumbnail; lifetime by the viewer's role.

        A thumbnail's URL is the same for everyone with that lifetime for a while (media/links.py), so the
        browser's cached copy is used again; view and download URLs are fresh each time."""
        if media.status != "ready" or media.deleted_at is not None:
            raise StorageError("This file is not available.", operation="presign", key=media.storage_key)
        ttl = self.url_lifetime(viewer.role)
        try:
            if purpose == "thumbnail" and self.links is not None:
                url, expires = self.links.link(media.thumbnail_key, ttl, lambda lifetime: self.storage.presigned_url(
                    media.thumbnail_key, expires_in=lifetime, cache_seconds=lifetime))
                expires_at = datetime.fromtimestamp(expires, timezone.utc)
            else:
                key = media.thumbnail_key if purpose == "thumbnail" else media.storage_key
                name = disposition.download_name(media.original_filename, media.content_type) \
                    if purpose == "download" else None
                url = self.storage.presigned_url(key, expires_in=ttl, download_name=name)
                expires_at = datetime.now(timezone.utc) + timedelta(seconds=ttl)
        except StorageError:
            metrics.STORAGE_ERRORS.labels("presign").inc()
            raise
        metrics.PRESIGNED.labels(purpose).inc()
        return PresignedUrl(url=url, expires_at=expires_at)

    def hide_media(self, media, *, actor, source=None):
        """Hide the file at once, uncount it and record who did it (not committed; then delete_objects); False
        when someone else hid it a moment ago (their request counted and recorded it)."""
        hidden = db.session.execute(
            db.update(MediaObject).where(MediaObject.id == media.id, MediaObject.deleted_at.is_(None))
            .values(deleted_at=utcnow()).execution_options(synchronize_session="fetch")).rowcount
        if hidden != 1:
            return False
        counters.count([media], sign=-1)
        audit.record("media.delete", actor=actor, owner_id=media.owner_id, source=source, shift_id=media.shift_id,
                     media_id=media.id, detail={"filename": media.original_filename, "key": media.storage_key})
        log.info("media.deleted media_id=%s owner_id=%s", media.id, media.owner_id)
        return True

    def delete_objects(self, media):
        """Delete a hidden file's objects (under versioning they stay restorable); a refused file has none."""
        for key in (media.storage_key, media.thumbnail_key):
            try:
                self.storage.delete(key)
            except StorageError:
                metrics.STORAGE_ERRORS.labels("delete").inc()
                raise
