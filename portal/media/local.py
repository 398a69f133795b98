"""LocalMediaStorage: files on disk, written atomically, served by the app through signed expiring URLs."""
import hashlib
import hmac
import json
import os
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeSerializer

from .storage import ObjectNotFoundError, StorageError, StoredObject, UploadSlot

URL_PATH = "/local-media/"
UPLOAD_PATH = "/local-media-upload"
SIGNATURE_PARAM = "signature"


class PostRefusedError(StorageError):
    """A form POST to the local upload endpoint that its slot does not allow (what S3 answers with 403/400)."""


class LocalMediaStorage:
    """Objects as files under root/bucket; metadata in a JSON file beside each object."""

    def __init__(self, root, bucket, secret_key, public_base_url=None):
        self.root = (Path(root) / bucket).resolve()
        self._secret = hashlib.sha256(b"local-media-url:" + secret_key.encode()).digest()
        self.public_base_url = (public_base_url or "").rstrip("/")
        self._policies = URLSafeSerializer(secret_key, salt="local-media-upload-policy")

    @classmethod
    def from_settings(cls, settings):
        """Build from MEDIA_LOCAL_ROOT (default instance/media), the bucket name and SECRET_KEY."""
        return cls(settings["MEDIA_LOCAL_ROOT"], settings["MEDIA_STORAGE_BUCKET"], settings["SECRET_KEY"],
                   settings.get("MEDIA_STORAGE_PUBLIC_BASE_URL"))

    def _path(self, key):
        """The file for a key; a key that would leave the root is refused."""
        path = (self.root / key).resolve()
        if not key or self.root not in path.parents or path.name.endswith(".meta.json"):
            raise StorageError(f"Invalid storage key {key!r}.", operation="path", key=key)
        return path

    @staticmethod
    def _meta_path(path):
        return path.with_name(path.name + ".meta.json")

    def _write_atomically(self, path, data_iter):
        """Write to a temporary file in the same folder, then rename, so readers never see half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in data_iter:
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put(self, key, stream, *, content_type, metadata, cache_seconds=None):
        """Store the stream's bytes and their metadata under key (cache_seconds is not kept: this provider's
        links carry their own cache lifetime, presigned_url's cache_seconds)."""
        path = self._path(key)
        try:
            self._write_atomically(path, iter(lambda: stream.read(1024 * 1024), b""))
            meta = {"content_type": content_type, "metadata": dict(metadata)}
            self._write_atomically(self._meta_path(path), [json.dumps(meta).encode()])
        except OSError as exc:
            raise StorageError(f"Cannot write to the media folder {self.root}: {exc.strerror}.",
                               operation="put", key=key) from exc
        return self.stat(key)

    def open(self, key, *, version_id=None):
        """The file, opened for reading (the local provider keeps no versions)."""
        path = self._path(key)
        if version_id:
            raise ObjectNotFoundError("The local store keeps no older versions.", operation="open", key=key)
        try:
            return open(path, "rb")
        except FileNotFoundError:
            raise ObjectNotFoundError(f"The file {key} is not in the store.", operation="open", key=key) from None

    def stat(self, key):
        """Size, type and metadata of the file."""
        path = self._path(key)
        try:
            info = path.stat()
            meta = json.loads(self._meta_path(path).read_text()) if self._meta_path(path).exists() else {}
        except FileNotFoundError:
            raise ObjectNotFoundError(f"The file {key} is not in the store.", operation="stat", key=key) from None
        return StoredObject(key=key, size=info.st_size, content_type=meta.get("content_type"),
                            last_modified=datetime.fromtimestamp(info.st_mtime, timezone.utc),
                            metadata=meta.get("metadata", {}))

    def exists(self, key):
        """True when the file exists."""
        return self._path(key).is_file()

    def delete(self, key, *, version_id=None):
        """Remove the file and its metadata; a missing file is not an error (no versions are kept)."""
        path = self._path(key)
        path.unlink(missing_ok=True)
        self._meta_path(path).unlink(missing_ok=True)

    def iter_objects(self, prefix=""):
        """Every stored file whose key starts with prefix."""
        if not self.root.exists():
            return
        for path in sorted(self.root.rglob("*")):
            if not path.is_file() or path.name.endswith(".meta.json") or path.name.startswith(".upload-"):
                continue
            key = path.relative_to(self.root).as_posix()
            if key.startswith(prefix):
                info = path.stat()
                yield StoredObject(key=key, size=info.st_size,
                                   last_modified=datetime.fromtimestamp(info.st_mtime, timezone.utc))

    def iter_versions(self, prefix=""):
        """Each file once, as its only and latest version: a folder keeps no history."""
        yield from self.iter_objects(prefix)

    def restore_version(self, key, version_id):
        """A folder keeps no older versions: there is nothing to restore from."""
        raise ObjectNotFoundError("The local store keeps no older versions; restore from a backup with --from.",
                                  operation="restore", key=key)

    def _signature(self, key, expires, download_name, cache_seconds=None):
        message = json.dumps([key, expires, download_name or "", int(cache_seconds or 0)]).encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def presigned_url(self, key, *, expires_in, download_name=None, cache_seconds=None, now=None):
        """An app URL carrying an expiry time and an HMAC over key, expiry, download name and cache lifetime."""
        self._path(key)
        expires = int(now if now is not None else time.time()) + int(expires_in)
        query = {"expires": expires}
        if download_name:
            query["download"] = download_name
        if cache_seconds:
            query["cache"] = int(cache_seconds)
        query[SIGNATURE_PARAM] = self._signature(key, expires, download_name, cache_seconds)
        return f"{self.public_base_url}{URL_PATH}{key}?{urlencode(query)}"

    def verify(self, key, expires, download_name, signature, now=None, cache_seconds=None):
        """True when the signature matches and the link has not expired."""
        try:
            expires, cache_seconds = int(expires), int(cache_seconds or 0)
        except (TypeError, ValueError):
            return False
        expected = self._signature(key, expires, download_name, cache_seconds)
        fresh = (now if now is not None else time.time()) <= expires
        # As bytes: compare_digest refuses str with non-ASCII characters, which a link's query may carry.
        return hmac.compare_digest(expected.encode(), (signature or "").encode()) and fresh

    def warm_up(self):
        """Nothing to build: files are opened when used."""
    def upload_slot(self, key, *, content_type, max_bytes, metadata, expires_in, now=None):
        """The app's upload endpoint and a signed policy (key, type, size, metadata, expiry), like an S3 POST."""
        self._path(key)
        expires = int(now if now is not None else time.time()) + int(expires_in)
        meta = {f"x-amz-meta-{name}": value for name, value in metadata.items()}
        policy = self._policies.dumps({"key": key, "type": content_type, "max": int(max_bytes), "meta": meta,
                                       "expires": expires})
        return UploadSlot(key=key, url=f"{self.public_base_url}{UPLOAD_PATH}",
                          fields={"key": key, "Content-Type": content_type, **meta, "policy": policy},
                          expires_at=datetime.fromtimestamp(expires, timezone.utc))

    def accept_post(self, fields, stream, *, now=None):
        """Store a posted file when its form matches a valid, fresh policy exactly; PostRefusedError otherwise."""
        try:
            policy = self._policies.loads(fields.get("policy") or "")
        except BadSignature:
            raise PostRefusedError("The upload policy is not valid.", operation="post") from None
        if (now if now is not None else time.time()) > policy["expires"]:
            raise PostRefusedError("The upload policy has expired.", operation="post")
        if fields.get("key") != policy["key"] or fields.get("Content-Type") != policy["type"] or any(
                fields.get(name) != value for name, value in policy["meta"].items()):
            raise PostRefusedError("The form does not match its upload policy.", operation="post", key=fields.get("key"))
        start = stream.tell()
        size = stream.seek(0, 2) - start
        stream.seek(start)
        if not 1 <= size <= policy["max"]:
            raise PostRefusedError("The file's size is outside the policy's range.", operation="post",
                                   key=policy["key"])
        metadata = {name.removeprefix("x-amz-meta-"): value for name, value in policy["meta"].items()}
        return self.put(policy["key"], stream, content_type=policy["type"], metadata=metadata)

    def setup(self, settings):
        """Create the folder; say which bucket features a folder cannot have."""
        existed = self.root.exists()
        self.root.mkdir(parents=True, exist_ok=True)
        return [
            ("bucket", f"folder {self.root} {'exists' if existed else 'created'}"),
            ("versioning", "not supported by this provider (local files)"),
            ("public access block", "not needed: files are served only through signed app URLs"),
            ("default encryption", "not supported by this provider (use disk encryption)"),
            ("lifecycle", "not supported by this provider"),
            ("cors", f"not needed: browsers post uploads to the app's own {UPLOAD_PATH}"),
        ]
