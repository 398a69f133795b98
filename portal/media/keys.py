"""The object key layout, in one place. Keys are built from ids and random tokens, never from filenames."""
import uuid as uuid_module
from datetime import timedelta

EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/heic": "heic",
    "application/pdf": "pdf",
}

CONTEXT_PREFIXES = {
    "shift_cancellation": "shift-cancellations",
    "task": "tasks",
    "incident": "incidents",
}


def new_uuid():
    """A fresh random token for a media object."""
    return str(uuid_module.uuid4())


def media_key(context, owner_id, subject_folder_id, media_uuid, content_type):
    """`shift-cancellations/{owner_id}/{shift_id}/{uuid}.{ext}`; the extension comes from the sniffed type."""
    return f"{CONTEXT_PREFIXES[context]}/{int(owner_id)}/{int(subject_folder_id)}/{media_uuid}.{EXTENSIONS[content_type]}"


def thumbnail_key(key):
    """The thumbnail beside the original: `{uuid}.thumb.webp`."""
    stem = key.rsplit(".", 1)[0]
    return f"{stem}.thumb.webp"


INCOMING_PREFIX = "incoming/"
# How long the bucket keeps bytes no worker took (its expire-incoming lifecycle rule counts whole days).
INCOMING_KEPT = timedelta(days=1)


def incoming_key(owner_id, media_uuid):
    """`incoming/{owner_id}/{uuid}`: where an upload's bytes wait for a worker (no extension: nothing serves them)."""
    return f"{INCOMING_PREFIX}{int(owner_id)}/{media_uuid}"
