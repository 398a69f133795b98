"""`flask media backup` and `flask media restore`: incremental copies to a second bucket or a folder, with a
manifest, and restores from a backup or from the bucket's own older versions."""
import hashlib
import io
import json
from datetime import datetime, timezone

from ..extensions import db
from ..models import MediaObject
from . import counters
from .keys import CONTEXT_PREFIXES
from .storage import ObjectNotFoundError, StorageError, build_storage

MANIFEST_KEY = "backup-manifest.json"


def open_destination(dest, settings):
    """A storage for DEST: `s3://bucket` (endpoint and keys from BACKUP_STORAGE_*, else the app's), or a folder."""
    if dest.startswith("s3://"):
        bucket = dest[len("s3://"):].strip("/")
        if not bucket or "/" in bucket:
            raise StorageError(f"A backup bucket is written s3://bucket-name, got {dest!r}.")
        backup = dict(settings, MEDIA_STORAGE_PROVIDER="s3", MEDIA_STORAGE_BUCKET=bucket,
                      MEDIA_STORAGE_PUBLIC_BASE_URL=None)
        for name in ("ENDPOINT", "ACCESS_KEY", "SECRET_KEY", "REGION"):
            if settings.get(f"BACKUP_STORAGE_{name}"):
                backup[f"MEDIA_STORAGE_{name}"] = settings[f"BACKUP_STORAGE_{name}"]
        return build_storage(backup)
    from .local import LocalMediaStorage

    return LocalMediaStorage(dest, "", settings["SECRET_KEY"])


def _source_keys(source):
    for prefix in CONTEXT_PREFIXES.values():
        yield from source.iter_objects(prefix + "/")


def read_manifest(dest):
    """The manifest a previous backup left at DEST, keyed by object key ({} when there is none)."""
    try:
        entries = json.load(dest.open(MANIFEST_KEY))["objects"]
    except ObjectNotFoundError:
        return {}
    return {entry["key"]: entry for entry in entries}


def _copy(source, dest, key, info=None):
    """Copy one object with its type and metadata; return (size, sha256, version_id) of what was read."""
    info = info or source.stat(key)
    data = source.open(key).read()
    dest.put(key, io.BytesIO(data), content_type=info.content_type or "application/octet-stream",
             metadata=dict(info.metadata))
    return len(data), hashlib.sha256(data).hexdigest(), info.version_id


def _sha_of(source, info):
    """The object's sha256: from its metadata when the portal wrote one, else by reading it."""
    return info.metadata.get("sha256") or hashlib.sha256(source.open(info.key).read()).hexdigest()


def backup(source, dest, *, progress=lambda step: None):
    """Copy every object not already at DEST with the same checksum; write and verify the manifest."""
    previous, entries, copied, skipped = read_manifest(dest), [], 0, 0
    for item in _source_keys(source):
        info = source.stat(item.key)
        known = previous.get(item.key)
        if known and known["size"] == info.size and known["sha256"] == _sha_of(source, info) and dest.exists(item.key):
            entries.append(known)
            skipped += 1
        else:
            size, sha, version = _copy(source, dest, item.key, info)
            entries.append({"key": item.key, "version_id": version, "size": size, "sha256": sha,
                            "copied_at": datetime.now(timezone.utc).isoformat()})
            copied += 1
        progress(1)
    seen = {entry["key"] for entry in entries}
    for key, entry in previous.items():
        if key not in seen:  # deleted from the bucket since: the backup keeps it, so restore can bring it back
            entries.append({**entry, "gone_from_source_at": entry.get("gone_from_source_at") or
                            datetime.now(timezone.utc).isoformat()})
    manifest = {"written_at": datetime.now(timezone.utc).isoformat(), "objects": entries}
    dest.put(MANIFEST_KEY, io.BytesIO(json.dumps(manifest, indent=1).encode()), content_type="application/json",
             metadata={})
    problems = verify_backup(dest)
    return {"copied": copied, "skipped": skipped, "objects": len(entries), "problems": problems,
            "gone": len(entries) - len(seen)}


def verify_backup(dest):
    """Check every manifest entry against what DEST holds: present, same size, same sha256."""
    problems = []
    for key, entry in read_manifest(dest).items():
        try:
            data = dest.open(key).read()
        except ObjectNotFoundError:
            problems.append(f"{key}: missing from the backup")
            continue
        if len(data) != entry["size"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            problems.append(f"{key}: differs from the manifest")
    return problems


def keys_for(*, key=None, shift_id=None, media_id=None, everything=False, manifest=None):
    """The object keys a restore covers: one key, one shift's proofs, one media row, or all of a manifest."""
    if key:
        return [key]
    if everything and manifest is not None:
        return sorted(manifest)
    query = db.select(MediaObject)
    if shift_id is not None:
        query = query.where(MediaObject.shift_id == shift_id)
    elif media_id is not None:
        query = query.where(MediaObject.id == media_id)
    return [k for row in db.session.execute(query).scalars() for k in (row.storage_key, row.thumbnail_key) if k]


def restore_from_backup(source, dest, keys):
    """Copy the keys back from the backup into the bucket; return the keys restored."""
    manifest = read_manifest(dest)
    restored = []
    for key in keys:
        if key not in manifest:
            continue
        _copy(dest, source, key)
        restored.append(key)
    return restored


def restore_versions(source, keys, version_id=None):
    """Bring keys back from the bucket's own history: a named version, else the newest real version of a key
    whose current state is a delete marker. Return the keys restored."""
    restored = []
    for key in keys:
        versions = [v for v in source.iter_versions(key) if v.key == key]
        if version_id:
            target = version_id
        else:
            if any(v.is_latest and not v.is_delete_marker for v in versions):
                continue  # the key is there: nothing to restore
            real = [v for v in versions if not v.is_delete_marker]
            if not real:
                continue
            target = real[0].version_id
        source.restore_version(key, target)
        restored.append(key)
    return restored


def undelete_rows(source, keys):
    """Show again the soft-deleted rows whose file and thumbnail are both back in the bucket."""
    rows = db.session.execute(db.select(MediaObject).where(
        MediaObject.storage_key.in_(keys) | MediaObject.thumbnail_key.in_(keys),
        MediaObject.deleted_at.is_not(None))).scalars().all()
    back = [row for row in rows if source.exists(row.storage_key) and
            (not row.thumbnail_key or source.exists(row.thumbnail_key))]
    for row in back:
        row.deleted_at = None
    counters.count(back)  # live again: counted in the caller's transaction, with the rows
    return back
