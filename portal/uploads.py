"""Direct upload: slots for a browser to post a proof straight to the store, and the app's own look at each file
when the browser says which slots finished. The browser's word is never trusted: each object is HEADed.

Views call these; issue_slot commits its slot row. Taking the files in (the slot claimed once, the processing
rows, the job) happens in cancellations.request_cancellation / add_proofs, like a form upload.
"""
import re

from flask import current_app
from flask_babel import lazy_gettext as _l

from . import quotas
from .cancellations import ProofLimitError, proof_room
from .extensions import db
from .media import keys, orchestrator
from .media.disposition import download_name
from .media.orchestrator import SLOT_FINISH_GRACE, Arrived, SlotError
from .media.storage import ObjectNotFoundError
from .media.validation import ALLOWED_TYPES, STORED_TYPES, clean_display_name, sniff, type_refusal

HEAD_BYTES = 65536  # what libmagic needs to name a type, as the form upload's check reads
from .models import UploadSlot, utcnow

NOT_YOURS = _l("An upload is not yours, was already used or has expired. Choose the file again.")
TOO_MANY = _l("Too many uploads in a short time. Try again in a few minutes.")  # the upload allowance is spent
SLOT_NAME = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


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
    quotas.spend("uploads", actor.id)  # QuotaExceededError: too many files sent lately
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
