"""S3MediaStorage: any S3-compatible store (MinIO, AWS S3, Yandex, Selectel, VK Cloud, Ceph RGW) via boto3."""
import threading
from datetime import datetime, timedelta, timezone

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError as BotoConnectionError, HTTPClientError

from .disposition import content_disposition
from .storage import ObjectNotFoundError, StorageError, StorageUnavailableError, StoredObject, UploadSlot

NOT_FOUND = {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}
DENIED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden", "403"}
UNSUPPORTED = {"NotImplemented", "501", "MethodNotAllowed", "405", "InvalidRequest", "InvalidArgument",
               "InvalidStorageClass", "MalformedXML", "UnsupportedOperation", "XNotImplemented"}


def _remaining(stream):
    """How many bytes are left in a seekable stream, without moving it."""
    start = stream.tell()
    end = stream.seek(0, 2)
    stream.seek(start)
    return end - start


class S3MediaStorage:
    """Objects in one private bucket; one lazily built boto3 client reused for every call."""

    def __init__(self, *, bucket, endpoint=None, region="us-east-1", access_key=None, secret_key=None,
                 public_base_url=None, addressing="path", checksums="when_required",
                 connect_timeout=2, read_timeout=5, max_attempts=2):
        self.bucket = bucket
        self.endpoint = endpoint
        self.region = region
        self.public_base_url = public_base_url
        self._credentials = {"aws_access_key_id": access_key, "aws_secret_access_key": secret_key}
        self._config = Config(
            region_name=region,
            signature_version="s3v4",
            s3={"addressing_style": addressing},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            # total_max_attempts counts the first try; botocore's max_attempts would count retries only
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            request_checksum_calculation=checksums,
            response_checksum_validation=checksums,
        )
        self._clients = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings):
        """Build from the MEDIA_STORAGE_* settings."""
        if settings.get("MEDIA_STORAGE_ADDRESSING") not in ("path", "virtual", "auto"):
            raise StorageError("MEDIA_STORAGE_ADDRESSING must be 'path', 'virtual' or 'auto'")
        if settings.get("MEDIA_STORAGE_CHECKSUMS") not in ("when_required", "when_supported"):
            raise StorageError("MEDIA_STORAGE_CHECKSUMS must be 'when_required' or 'when_supported'")
        return cls(
            bucket=settings["MEDIA_STORAGE_BUCKET"],
            endpoint=settings.get("MEDIA_STORAGE_ENDPOINT"),
            region=settings.get("MEDIA_STORAGE_REGION") or "us-east-1",
            access_key=settings.get("MEDIA_STORAGE_ACCESS_KEY"),
            secret_key=settings.get("MEDIA_STORAGE_SECRET_KEY"),
            public_base_url=settings.get("MEDIA_STORAGE_PUBLIC_BASE_URL"),
            addressing=settings.get("MEDIA_STORAGE_ADDRESSING", "path"),
            checksums=settings.get("MEDIA_STORAGE_CHECKSUMS", "when_required"),
            connect_timeout=settings.get("MEDIA_STORAGE_CONNECT_TIMEOUT", 2),
            read_timeout=settings.get("MEDIA_STORAGE_READ_TIMEOUT", 5),
            max_attempts=settings.get("MEDIA_STORAGE_MAX_ATTEMPTS", 2),
        )

    def _client(self, endpoint=None):
        """The boto3 client for an endpoint, built once (boto3 clients are thread-safe)."""
        endpoint = endpoint or self.endpoint
        with self._lock:
            client = self._clients.get(endpoint)
            if client is None:
                client = boto3.session.Session().client(
                    "s3", endpoint_url=endpoint, config=self._config, **self._credentials)
                self._clients[endpoint] = client
            return client

    def _fail(self, exc, operation, key=None):
        """Turn a boto3 error into a StorageError a person can act on."""
        where = self.endpoint or "AWS S3"
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in NOT_FOUND:
                return ObjectNotFoundError(f"The file {key} is not in the store.", operation=operation, key=key)
            if code == "NoSuchBucket":
                return StorageError(f"The bucket {self.bucket} does not exist at {where}; run `flask media init`.",
                                    operation=operation, key=key)
            if code in DENIED:
                return StorageError(f"The store at {where} refused access ({code}); check "
                                    "MEDIA_STORAGE_ACCESS_KEY, MEDIA_STORAGE_SECRET_KEY and the bucket policy.",
                                    operation=operation, key=key)
            return StorageError(f"The store at {where} answered {code or 'an error'} to {operation}; try again later.",
                                operation=operation, key=key)
        if isinstance(exc, (BotoConnectionError, HTTPClientError)):  # refused, cut, or no answer in time
            return StorageUnavailableError(
                f"The store at {where} cannot be reached or did not answer in time; check MEDIA_STORAGE_ENDPOINT "
                "and MEDIA_STORAGE_*_TIMEOUT, or try again later.", operation=operation, key=key)
        return StorageError(f"The store at {where} failed during {operation}: {type(exc).__name__}; try again later.",
                            operation=operation, key=key)

    def put(self, key, stream, *, content_type, metadata, cache_seconds=None):
        """Store the stream's bytes under key (with a Cache-Control header for its reads, when asked)."""
        size = _remaining(stream)
        extra = {"CacheControl": f"private, max-age={int(cache_seconds)}"} if cache_seconds else {}
        try:
            answer = self._client().put_object(
                Bucket=self.bucket, Key=key, Body=stream, ContentType=content_type, Metadata=metadata, **extra)
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, "put", key) from exc
        return StoredObject(key=key, size=size, content_type=content_type, version_id=answer.get("VersionId"),
                            etag=answer.get("ETag", "").strip('"') or None, metadata=dict(metadata))

    def open(self, key, *, version_id=None):
        """A streaming body of the object (or of one version of it)."""
        extra = {"VersionId": version_id} if version_id else {}
        try:
            return self._client().get_object(Bucket=self.bucket, Key=key, **extra)["Body"]
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, "open", key) from exc

    def stat(self, key):
        """Size, type, version and metadata, from a HEAD request."""
        try:
            head = self._client().head_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, "stat", key) from exc
        return StoredObject(key=key, size=head["ContentLength"], content_type=head.get("ContentType"),
                            version_id=head.get("VersionId"), etag=head.get("ETag", "").strip('"') or None,
                            last_modified=head.get("LastModified"), metadata=head.get("Metadata", {}))

    def exists(self, key):
        """True when a HEAD finds the object."""
        try:
            self.stat(key)
        except ObjectNotFoundError:
            return False
        return True

    def delete(self, key, *, version_id=None):
        """Delete the object (under versioning: a delete marker, old versions stay) or one version for good."""
        extra = {"VersionId": version_id} if version_id else {}
        try:
            self._client().delete_object(Bucket=self.bucket, Key=key, **extra)
        except (BotoCoreError, ClientError) as exc:
            error = self._fail(exc, "delete", key)
            if not isinstance(error, ObjectNotFoundError):
                raise error from exc

    def presigned_url(self, key, *, expires_in, download_name=None, cache_seconds=None):
        """A SigV4 GET URL, signed for the public address browsers use when one is set."""
        disposition = content_disposition("attachment" if download_name else "inline", download_name)
        params = {"Bucket": self.bucket, "Key": key, "ResponseContentDisposition": disposition}
        if cache_seconds:
            params["ResponseCacheControl"] = f"private, max-age={int(cache_seconds)}"
        try:
            return self._client(self.public_base_url).generate_presigned_url(
                "get_object", Params=params, ExpiresIn=int(expires_in))
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, "presign", key) from exc

    def upload_slot(self, key, *, content_type, max_bytes, metadata, expires_in):
        """A SigV4 POST policy pinning the key, the type, the metadata and the size range (the store enforces it)."""
        meta = {f"x-amz-meta-{name}": value for name, value in metadata.items()}
        fields = {"Content-Type": content_type, **meta}
        conditions = [{"Content-Type": content_type}, ["content-length-range", 1, int(max_bytes)],
                      *({name: value} for name, value in meta.items())]
        try:
            post = self._client(self.public_base_url).generate_presigned_post(
                self.bucket, key, Fields=fields, Conditions=conditions, ExpiresIn=int(expires_in))
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, "presign post", key) from exc
        return UploadSlot(key=key, url=post["url"], fields=post["fields"],
                          expires_at=datetime.now(timezone.utc) + timedelta(seconds=int(expires_in)))

    def iter_objects(self, prefix=""):
        """Every object under prefix, page by page."""
        try:
            pages = self._client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            for page in pages:
                for item in page.get("Contents", []):
                    yield StoredObject(key=item["Key"], size=item["Size"], etag=item.get("ETag", "").strip('"'),
                                       last_modified=item.get("LastModified"))
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, "list", prefix) from exc

    def iter_versions(self, prefix=""):
        """Every version and delete marker under prefix, newest first per key."""
        try:
            pages = self._client().get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=prefix)
            for page in pages:
                for item in page.get("Versions", []):
                    yield StoredObject(key=item["Key"], size=item["Size"], version_id=item["VersionId"],
                                       etag=item.get("ETag", "").strip('"') or None,
                                       last_modified=item.get("LastModified"), is_latest=item["IsLatest"])
                for item in page.get("DeleteMarkers", []):
                    yield StoredObject(key=item["Key"], size=0, version_id=item["VersionId"],
                                       last_modified=item.get("LastModified"), is_latest=item["IsLatest"],
                                       is_delete_marker=True)
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, "list versions", prefix) from exc

    def restore_version(self, key, version_id):
        """Make an older version current again by copying it over the key (the history stays)."""
        try:
            answer = self._client().copy_object(
                Bucket=self.bucket, Key=key, CopySource={"Bucket": self.bucket, "Key": key, "VersionId": version_id},
                MetadataDirective="COPY")
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, "restore", key) from exc
        if not answer.get("VersionId"):
            return self.stat(key)  # Ceph RGW 16 does not name the copy's version: ask for the current one
        return StoredObject(key=key, size=answer.get("CopyObjectResult", {}).get("Size", 0) or 0,
                            version_id=answer.get("VersionId"))

    def warm_up(self):
        """Build the boto3 client (it loads botocore's service model: a few hundred ms); connections open later."""
        self._client()

    def setup(self, settings):
        """Create the bucket if missing, then versioning, public access block, encryption, lifecycle."""
        from .s3_setup import setup_bucket

        return setup_bucket(self, self._client(), settings)
