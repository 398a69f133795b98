"""`flask media init` for S3: bucket, versioning, public access block, encryption, lifecycle. Idempotent."""
from botocore.exceptions import BotoCoreError, ClientError

from .keys import INCOMING_KEPT, INCOMING_PREFIX
from .s3 import UNSUPPORTED


def _code(exc):
    return str(exc.response.get("Error", {}).get("Code", "")) if isinstance(exc, ClientError) else ""


def _step(lines, storage, name, action):
    """Run one step; an unsupported feature is reported, any other failure raises a StorageError."""
    try:
        outcome = action()
    except (BotoCoreError, ClientError) as exc:
        if _code(exc) in UNSUPPORTED:
            lines.append((name, f"not supported by this provider ({_code(exc)})"))
            return
        raise storage._fail(exc, name) from exc
    lines.append((name, outcome))


def _ensure_bucket(client, storage):
    try:
        client.head_bucket(Bucket=storage.bucket)
        return "exists"
    except ClientError as exc:
        if _code(exc) not in ("404", "NoSuchBucket", "NotFound"):
            raise
    extra = {}
    if storage.region and storage.region != "us-east-1":
        extra["CreateBucketConfiguration"] = {"LocationConstraint": storage.region}
    client.create_bucket(Bucket=storage.bucket, **extra)
    return "created"


def _block_public_access(client, storage):
    """Block every kind of public access, then prove the app can still write.

    Ceph RGW before 17 refuses the owner's own uploads once BlockPublicAcls is set (Ceph tracker 49135);
    there the other three flags are kept, which still ignore public ACLs and refuse public policies.
    """
    flags = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
             "RestrictPublicBuckets": True}
    client.put_public_access_block(Bucket=storage.bucket, PublicAccessBlockConfiguration=flags)
    probe = ".portal-write-probe"
    try:
        client.put_object(Bucket=storage.bucket, Key=probe, Body=b"probe")
    except ClientError as exc:
        if _code(exc) != "AccessDenied":
            raise
        flags["BlockPublicAcls"] = False
        client.put_public_access_block(Bucket=storage.bucket, PublicAccessBlockConfiguration=flags)
        client.put_object(Bucket=storage.bucket, Key=probe, Body=b"probe")
        outcome = "public ACLs ignored, public policies refused (BlockPublicAcls left off: it blocks writes here)"
    else:
        outcome = "all public access blocked"
    _delete_every_version(client, storage.bucket, probe)
    return outcome


def _delete_every_version(client, bucket, key):
    listing = client.list_object_versions(Bucket=bucket, Prefix=key)
    for item in listing.get("Versions", []) + listing.get("DeleteMarkers", []):
        if item["Key"] == key:
            client.delete_object(Bucket=bucket, Key=key, VersionId=item["VersionId"])


def lifecycle_rules(settings):
    """The lifecycle rules the settings ask for."""
    rules = [{
        "ID": "expire-noncurrent-versions",
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "NoncurrentVersionExpiration": {"NoncurrentDays": max(1, settings["MEDIA_NONCURRENT_EXPIRE_DAYS"])},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
    }, {
        # the backstop of `flask media verify --fix`: bytes no worker took within a day are never a proof
        "ID": "expire-incoming",
        "Status": "Enabled",
        "Filter": {"Prefix": INCOMING_PREFIX},
        "Expiration": {"Days": INCOMING_KEPT.days},
    }]
    if settings.get("MEDIA_ARCHIVE_AFTER_DAYS") and settings.get("MEDIA_ARCHIVE_STORAGE_CLASS"):
        rules.append({
            "ID": "archive-old-proofs",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "Transitions": [{"Days": settings["MEDIA_ARCHIVE_AFTER_DAYS"],
                             "StorageClass": settings["MEDIA_ARCHIVE_STORAGE_CLASS"]}],
        })
    return rules


def _apply_lifecycle(client, storage, settings, lines):
    """Put all rules; if the store refuses the archive transition, keep the expiry rule alone."""
    rules = lifecycle_rules(settings)
    try:
        client.put_bucket_lifecycle_configuration(Bucket=storage.bucket, LifecycleConfiguration={"Rules": rules})
        return ", ".join(r["ID"] for r in rules)
    except ClientError as exc:
        if len(rules) == 2 or _code(exc) not in UNSUPPORTED:
            raise
    lines.append(("archive transition", f"storage class {settings['MEDIA_ARCHIVE_STORAGE_CLASS']} refused by "
                                        "this provider; set MEDIA_ARCHIVE_STORAGE_CLASS to one it offers"))
    client.put_bucket_lifecycle_configuration(Bucket=storage.bucket, LifecycleConfiguration={"Rules": rules[:2]})
    return ", ".join(r["ID"] for r in rules[:2])


def _cors(client, storage, settings):
    """Let browsers on the portal's own origins post proofs to the bucket (direct upload), or say that they
    reach it through the front proxy's same-origin path instead."""
    origins = [origin.strip().rstrip("/") for origin in settings.get("MEDIA_CORS_ORIGINS", "").split(",")
               if origin.strip()]
    if not origins:
        return ("none: browsers post uploads through a same-origin path (MEDIA_STORAGE_PUBLIC_BASE_URL on the "
                "portal's own address, the front proxy's /media-store/); set MEDIA_CORS_ORIGINS to allow the "
                "portal's origin instead")
    client.put_bucket_cors(Bucket=storage.bucket, CORSConfiguration={"CORSRules": [{
        "ID": "portal-direct-upload", "AllowedOrigins": origins, "AllowedMethods": ["POST"],
        "AllowedHeaders": ["*"], "MaxAgeSeconds": 3600}]})
    return "POST from " + ", ".join(origins)


def setup_bucket(storage, client, settings):
    """Bring the bucket to the state the portal expects; return (step, outcome) lines."""
    lines = []
    _step(lines, storage, "bucket", lambda: _ensure_bucket(client, storage))
    _step(lines, storage, "versioning", lambda: client.put_bucket_versioning(
        Bucket=storage.bucket, VersioningConfiguration={"Status": "Enabled"}) and "enabled")
    _step(lines, storage, "public access block", lambda: _block_public_access(client, storage))
    _step(lines, storage, "default encryption", lambda: client.put_bucket_encryption(
        Bucket=storage.bucket, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}) and "AES256")
    _step(lines, storage, "lifecycle", lambda: _apply_lifecycle(client, storage, settings, lines))
    _step(lines, storage, "cors", lambda: _cors(client, storage, settings))
    return lines
