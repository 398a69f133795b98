"""Direct upload: slots for a browser to post a proof straight to the store, and the app's own look at each file
when the browser says which slots finished. The browser's word is never trusted: each object is HEADed.

Views call these; issue_slot commits its slot row. Taking the files in (the slot claimed once, the processing
rows, the job) happens in cancellations.request_cancellation / add_proofs, like a form upload.
"""
import math
import re
import time

from flask import current_app
from flask_babel import lazy_gettext as _l
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from .cancellations import ProofLimitError, proof_room
from .config import ConfigError
from .extensions import db
from .media import keys, orchestrator
from .media.disposition import download_name
from .media.orchestrator import SLOT_FINISH_GRACE, Arrived, SlotError
from .media.storage import ObjectNotFoundError
from .media.validation import ALLOWED_TYPES, STORED_TYPES, clean_display_name, sniff, type_refusal

HEAD_BYTES = 65536  # what libmagic needs to name a type, as the form upload's check reads
from .models import UploadSlot, utcnow

NOT_YOURS = _l("An upload is not yours, was already used or has expired. Choose the file again.")
SLOT_NAME = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")

class SlotThrottledError(Exception):
    """Too many slots asked for by one person; retry_after is in seconds."""

    def __init__(self, retry_after):
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class SlotThrottle:
    """Slots asked for, per person, in the RATELIMIT_STORAGE_URI store (every worker sees the same counts)."""

    def __init__(self, storage_uri, limit):
        try:
            self._limit = parse(limit)
        except ValueError as error:
            raise ConfigError(f"MEDIA_UPLOAD_SLOT_RATE_LIMIT: {error}") from None
        self._limiter = FixedWindowRateLimiter(storage_from_string(storage_uri))

    def hit(self, user_id):
        """Count one slot for the user; SlotThrottledError once the window is used up."""
        if not self._limiter.hit(self._limit, "upload-slot", str(user_id)):
            reset = self._limiter.get_window_stats(self._limit, "upload-slot", str(user_id)).reset_time
            raise SlotThrottledError(max(1, math.ceil(reset - time.time())))


def init_app(app):
    """Build the per-person slot throttle from the settings."""
    app.extensions["upload_slot_throttle"] = SlotThrottle(app.config["RATELIMIT_STORAGE_URI"],
                                                          app.config["MEDIA_UPLOAD_SLOT_RATE_LIMIT"])


def _open_slots(actor, cancellation_id):
    return db.session.execute(
        db.select(db.func.count()).select_from(UploadSlot).where(
            UploadSlot.user_id == actor.id, UploadSlot.cancellation_id == cancellation_id,
            UploadSlot.claimed_at.is_(None), UploadSlot.expires_at > utcnow())).scalar_one()


def issue_slot(actor, *, content_type, filename, cancellation=None):
    """A presigned POST for one file of the actor's (for a new request, or more proofs on a pending one);
    counted against the request's cap together with the slots still open for it."""
    if content_type not in ALLOWED_TYPES:
        raise SlotError(type_refusal())
    if cancellation is not None:
        room = proof_room(cancellation) - _open_slots(actor, cancellation.id)
        if room <= 0:
            raise ProofLimitError(max(0, room))
    current_app.extensions["upload_slot_throttle"].hit(actor.id)
    settings, media_uuid = current_app.config, keys.new_uuid()
    stored = STORED_TYPES.get(content_type, content_type)
    post = orchestrator().storage.upload_slot(
        keys.incoming_key(actor.owner_id, media_uuid), content_type=content_type,
        max_bytes=settings["MEDIA_MAX_UPLOAD_BYTES"], metadata={"uploader-id": str(actor.id)},
        expires_in=settings["MEDIA_UPLOAD_SLOT_MINUTES"] * 60)
    db.session.add(UploadSlot(
        uuid=media_uuid, owner_id=actor.owner_id, user_id=actor.id,
        cancellation_id=cancellation.id if cancellation is not None else None, content_type=content_type,
        filename=download_name(clean_display_name(filename, keys.EXTENSIONS[stored]), stored),
        created_at=utcnow(), expires_at=post.expires_at))
    db.session.commit()
    return media_uuid, post


def arrived(actor, slot_uuids, *, cancellation=None):
    """The files behind the slots the browser says finished, each checked in the store by the app itself (the
    slot is the actor's, open, for this request; the object exists, within the size limit, of the slot's type,
    posted under the actor's id). SlotError, with nothing taken in, for anything else."""
    if len(set(slot_uuids)) != len(slot_uuids):
        raise SlotError(_l("An upload was named twice. Choose the files again."))
    if not all(SLOT_NAME.fullmatch(name) for name in slot_uuids):  # only names keys.new_uuid() could have made
        raise SlotError(NOT_YOURS)
    slots = {slot.uuid: slot for slot in db.session.execute(db.select(UploadSlot).where(
        UploadSlot.uuid.in_(slot_uuids), UploadSlot.user_id == actor.id, UploadSlot.owner_id == actor.owner_id,
        UploadSlot.cancellation_id == (cancellation.id if cancellation is not None else None),
        UploadSlot.claimed_at.is_(None), UploadSlot.expires_at > utcnow() - SLOT_FINISH_GRACE)).scalars()}
    if len(slots) != len(slot_uuids):
        raise SlotError(NOT_YOURS)
    found = []
    for uuid in slot_uuids:
        try:
            found.append(_looked_at(actor, slots[uuid]))
        except SlotError:
            # used up: the browser asks for a fresh slot, and this one's file is swept (the caller commits)
            slots[uuid].claimed_at, slots[uuid].filename = utcnow(), ""
            raise
    return found


def _looked_at(actor, slot):
    store, key = orchestrator().storage, keys.incoming_key(slot.owner_id, slot.uuid)
    try:
        stored = store.stat(key)
    except ObjectNotFoundError:
        raise SlotError(_l("%(name)s did not arrive. Choose it again.", name=slot.filename)) from None
    if not (1 <= stored.size <= current_app.config["MEDIA_MAX_UPLOAD_BYTES"]
            and stored.content_type == slot.content_type
            and stored.metadata.get("uploader-id") == str(actor.id)):
        raise SlotError(_l("%(name)s is not the file this upload was for. Choose it again.", name=slot.filename))
    # The browser names the type from the file's name: read the first bytes, as a form upload's check does, so a
    # web page called note.jpg is refused at once, next to the form, instead of on the card after the worker.
    body = store.open(key)
    try:
        head = body.read(HEAD_BYTES)
    finally:
        body.close()
    if sniff(head) != slot.content_type:
        raise SlotError(f"{slot.filename}: {type_refusal()}")
    return Arrived(slot_id=slot.id, uuid=slot.uuid, content_type=slot.content_type, size=stored.size,
                   display_name=slot.filename)
