"""Deleting a file for good: every version and delete marker of its keys in the bucket, and its copies (with
their versions) on every backup target that `flask media backup` writes to, the manifest entries included."""
import io
import json
from dataclasses import dataclass, field

from .backup import MANIFEST_KEY, open_destination, read_manifest
from .storage import ObjectNotFoundError


@dataclass
class PurgedKey:
    """What was deleted of one key: version ids, delete-marker ids, and per backup target the same."""

    key: str
    versions: list[str | None] = field(default_factory=list)
    delete_markers: list[str | None] = field(default_factory=list)
    backups: dict[str, dict] = field(default_factory=dict)
    left: int = 0  # versions still listed after the deletion (0 unless the store refused a delete)

    def as_dict(self):
        return {"key": self.key, "versions": self.versions, "delete_markers": self.delete_markers,
                "backups": self.backups, "left_in_bucket": self.left}


def _versions_of(store, key):
    """Every version and delete marker of exactly this key (a prefix listing also finds longer keys)."""
    return [item for item in store.iter_versions(key) if item.key == key]


def purge_key(store, key):
    """Delete every version and delete marker of key; return (versions, delete markers, left afterwards)."""
    found = _versions_of(store, key)
    for item in found:
        store.delete(key, version_id=item.version_id)
    versions = [item.version_id for item in found if not item.is_delete_marker]
    markers = [item.version_id for item in found if item.is_delete_marker]
    return versions, markers, len(_versions_of(store, key))


def backup_targets(settings):
    """The backup destinations named in BACKUP_TARGETS, each opened as a storage: [(name, storage)]."""
    return [(name, open_destination(name, settings)) for name in settings.get("BACKUP_TARGETS", [])]


def _drop_from_manifest(target, keys):
    """Rewrite the target's manifest without keys, then delete its older versions (they list the keys too)."""
    entries = read_manifest(target)
    if not keys & set(entries):
        return
    try:
        manifest = json.load(target.open(MANIFEST_KEY))
    except ObjectNotFoundError:
        return
    manifest["objects"] = [entry for entry in manifest["objects"] if entry["key"] not in keys]
    target.put(MANIFEST_KEY, io.BytesIO(json.dumps(manifest, indent=1).encode()), content_type="application/json",
               metadata={})
    for item in _versions_of(target, MANIFEST_KEY):
        if not item.is_latest:
            target.delete(MANIFEST_KEY, version_id=item.version_id)


def purge(store, keys, targets):
    """Delete keys for good from the bucket and from every backup target; return a PurgedKey per key."""
    results = []
    for key in keys:
        versions, markers, left = purge_key(store, key)
        result = PurgedKey(key, versions, markers, left=left)
        for name, target in targets:
            copies, copy_markers, copies_left = purge_key(target, key)
            result.backups[name] = {"versions": len(copies), "delete_markers": len(copy_markers),
                                    "left": copies_left}
        results.append(result)
    for _name, target in targets:
        _drop_from_manifest(target, set(keys))
    return results
