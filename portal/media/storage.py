"""The storage interface every provider implements, its value type and its one error type."""
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Iterator, Protocol


class StorageError(Exception):
    """The store failed; the message says what a person can do about it."""

    def __init__(self, message, *, operation=None, key=None):
        super().__init__(message)
        self.operation = operation
        self.key = key


class ObjectNotFoundError(StorageError):
    """The object (or version) asked for does not exist."""


class StorageUnavailableError(StorageError):
    """The store could not be reached or did not answer in time; whether the call took effect is unknown."""


@dataclass(frozen=True)
class StoredObject:
    """What the store knows about one object."""

    key: str
    size: int
    content_type: str | None = None
    version_id: str | None = None
    etag: str | None = None
    last_modified: datetime | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    is_latest: bool = True  # for iter_versions: the key's current version
    is_delete_marker: bool = False  # for iter_versions: a delete marker hides the key (size 0)


@dataclass(frozen=True)
class UploadSlot:
    """Where and how a browser posts one file straight to the store: a multipart form POST to url with these
    fields first and the file last (the field named "file"); the store refuses anything the slot does not allow."""

    key: str
    url: str
    fields: dict[str, str]
    expires_at: datetime


class MediaStorage(Protocol):
    """A handful of verbs; every provider answers them the same way."""

    def put(self, key: str, stream: BinaryIO, *, content_type: str, metadata: dict[str, str],
            cache_seconds: int | None = None) -> StoredObject:
        """Store the stream's bytes under key, replacing (or versioning) what was there; with cache_seconds,
        the store answers every read of it as privately cacheable that long (unless a link asks otherwise)."""

    def open(self, key: str, *, version_id: str | None = None) -> BinaryIO:
        """A readable binary stream of the object; ObjectNotFoundError if it is missing."""

    def stat(self, key: str) -> StoredObject:
        """Size, type, version and metadata of the object; ObjectNotFoundError if it is missing."""

    def delete(self, key: str, *, version_id: str | None = None) -> None:
        """Remove the object (or one version of it, for good); a missing object is not an error."""

    def exists(self, key: str) -> bool:
        """True when the object exists."""

    def presigned_url(self, key: str, *, expires_in: int, download_name: str | None = None,
                      cache_seconds: int | None = None) -> str:
        """A URL that serves the object for expires_in seconds: inline, or as a download named download_name;
        with cache_seconds, the response may stay in the browser's private cache that long."""

    def upload_slot(self, key: str, *, content_type: str, max_bytes: int, metadata: dict[str, str],
                    expires_in: int) -> UploadSlot:
        """A presigned form POST that stores exactly one file under key, of this content type, 1..max_bytes long,
        with this metadata, if it starts within expires_in seconds."""

    def iter_objects(self, prefix: str = "") -> Iterator[StoredObject]:
        """Every object whose key starts with prefix (metadata not loaded)."""

    def iter_versions(self, prefix: str = "") -> Iterator[StoredObject]:
        """Every version and delete marker under prefix, newest first per key (a provider without versions
        yields each object once, as its latest version)."""

    def restore_version(self, key: str, version_id: str) -> StoredObject:
        """Make an older version current again (the history stays); ObjectNotFoundError if it does not exist."""

    def setup(self, settings: dict) -> list[tuple[str, str]]:
        """Create and configure the bucket (idempotent); return (step, outcome) lines for a person to read."""

    def warm_up(self) -> None:
        """Build what every call needs, without any I/O, so a worker's first job or request does not pay for it
        (safe before a fork: no connection is opened)."""


def build_storage(settings):
    """The provider named by MEDIA_STORAGE_PROVIDER, configured from settings."""
    provider = settings.get("MEDIA_STORAGE_PROVIDER", "local")
    if provider == "s3":
        from .s3 import S3MediaStorage

        return S3MediaStorage.from_settings(settings)
    if provider == "local":
        from .local import LocalMediaStorage

        return LocalMediaStorage.from_settings(settings)
    raise StorageError(f"MEDIA_STORAGE_PROVIDER must be 'local' or 's3', got {provider!r}")
