"""The orchestrator end to end on each provider: key layout, metadata, thumbnails, audit, and failures."""
import io
import re
from urllib.parse import unquote

import pytest
from PIL import Image, ImageOps
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from portal.extensions import db
from portal.media import orchestrator, storage
from portal.media.disposition import download_name
from portal.media.orchestrator import Upload
from portal.media.storage import StorageError
from portal.models import AuditEvent, MediaObject
from tests.conftest import Factory
from tests.media_fixtures import jpeg_bytes, pdf_bytes, store_proof, remove_proof

KEY_RE = r"shift-cancellations/{owner}/{shift}/[0-9a-f]{{8}}-[0-9a-f]{{4}}-4[0-9a-f]{{3}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}\.{ext}"


@pytest.fixture
def case(media_app):
    """An employee with a shift and a pending cancellation of it."""
    return Factory().pending_request("Store Co")


def store(case, data, name="справка.jpg"):
    return store_proof(case.cancellation, Upload(io.BytesIO(data), name),
                                                   actor=case.employee)


def bucket_keys():
    return sorted(o.key for o in storage().iter_objects(""))


def test_stored_jpeg_is_ready_under_the_key_layout_with_thumbnail(case):
    media = store(case, jpeg_bytes())
    assert media.status == "ready" and media.uploaded_at is not None
    assert re.fullmatch(KEY_RE.format(owner=case.owner.id, shift=case.shift.id, ext="jpg"), media.storage_key)
    assert media.thumbnail_key == media.storage_key[:-4] + ".thumb.webp"
    assert bucket_keys() == sorted([media.storage_key, media.thumbnail_key])
    with Image.open(storage().open(media.thumbnail_key)) as thumb:
        assert thumb.format == "WEBP" and max(thumb.size) <= 400


def test_object_metadata_describes_the_upload(case):
    media = store(case, jpeg_bytes(), name="Больничный лист.jpg")
    meta = storage().stat(media.storage_key).metadata
    assert meta["mime"] == "image/jpeg"
    assert meta["uploader-role"] == "employee" and meta["uploader-id"] == str(case.employee.id)
    assert meta["shift-id"] == str(case.shift.id)
    assert meta["sha256"] == media.sha256 and len(media.sha256) == 64
    assert unquote(meta["original-filename"]) == "Больничный лист.jpg"
    assert meta["uploaded-at"].startswith(str(media.created_at.year))


@pytest.mark.parametrize("name", ["😀" * 196 + ".jpg", "Больничный лист " * 12 + ".jpg", "a" * 196 + ".jpg"],
                         ids=["emoji", "cyrillic", "ascii"])
def test_a_long_name_is_cut_in_the_metadata_to_what_aws_s3_takes(case, name):
    # AWS S3 refuses over 2 KB of user metadata (moto and Ceph RGW take more): every retry of the put would fail
    media = store(case, jpeg_bytes(), name=name)
    meta = storage().stat(media.storage_key).metadata
    assert sum(len(f"x-amz-meta-{key}") + len(value.encode()) for key, value in meta.items()) <= 2048
    kept = unquote(meta["original-filename"])
    assert kept and media.original_filename.startswith(kept)
    assert media.original_filename == name  # the row keeps the whole name


def test_upload_writes_one_audit_event(case):
    media = store(case, pdf_bytes())
    events = db.session.execute(db.select(AuditEvent)).scalars().all()
    assert [(e.action, e.actor_id, e.media_id, e.shift_id) for e in events] == \
        [("media.upload", case.employee.id, media.id, case.shift.id)]


def test_pdf_gets_a_first_page_thumbnail(case):
    media = store(case, pdf_bytes(), name="note.pdf")
    assert media.content_type == "application/pdf" and media.storage_key.endswith(".pdf")
    with Image.open(storage().open(media.thumbnail_key)) as thumb:
        assert thumb.format == "WEBP"


def test_a_request_shows_only_ready_and_not_deleted_proofs(case):
    first, second = store(case, jpeg_bytes()), store(case, pdf_bytes(), "b.pdf")
    db.session.add(MediaObject(uuid="x" * 36, status="pending", owner_id=case.owner.id,
                               context="shift_cancellation", subject_id=case.cancellation.id, storage_key="k/x.jpg",
                               content_type="image/jpeg", size=1, sha256="0" * 64, original_filename="x.jpg",
                               uploaded_by_id=case.employee.id, uploader_role="employee"))
    db.session.commit()
    remove_proof(second, actor=case.employee)
    db.session.expire(case.cancellation)
    assert [m.id for m in case.cancellation.proofs] == [first.id]
    assert not storage().exists(second.storage_key)


def test_presigned_url_lifetime_depends_on_the_viewer_role(case, media_app):
    media = store(case, jpeg_bytes())
    for role, setting in [("owner", "MEDIA_URL_TTL_OWNER"), ("employee", "MEDIA_URL_TTL_EMPLOYEE")]:
        viewer = case.owner if role == "owner" else case.employee
        link = orchestrator().generate_presigned_url(media, viewer)
        remaining = (link.expires_at - media.uploaded_at).total_seconds()
        assert media_app.config[setting] - 5 <= remaining <= media_app.config[setting] + 5


def test_unreachable_store_raises_and_leaves_no_row(case, media_app, provider):
    from tests.s3_server import free_port

    if provider == "local":
        media_app.config["MEDIA_LOCAL_ROOT"] = "/proc/no-such-place"
    else:
        media_app.config["MEDIA_STORAGE_ENDPOINT"] = f"http://127.0.0.1:{free_port()}"
    from portal.media.storage import build_storage

    media_app.extensions["media_storage"] = build_storage(media_app.config)
    with pytest.raises(StorageError) as failure:
        store(case, jpeg_bytes())
    assert "cannot be reached" in str(failure.value) or "Cannot write" in str(failure.value)
    assert db.session.execute(db.select(db.func.count(MediaObject.id))).scalar() == 0
    assert db.session.execute(db.select(db.func.count(AuditEvent.id))).scalar() == 0


def test_a_failing_final_commit_leaves_nothing_under_the_final_keys_and_the_retry_finishes(case):
    from portal import cancellations

    def database_down(mapper, connection, target):
        raise OperationalError("INSERT INTO audit_events", {}, Exception("connection lost"))

    event.listen(AuditEvent, "before_insert", database_down)  # the job's commit writes the upload's audit event
    try:
        media = store(case, jpeg_bytes())
    finally:
        event.remove(AuditEvent, "before_insert", database_down)
    assert media.status == "processing" and bucket_keys() == [media.incoming_key]
    cancellations.process_proof(media.id)  # the queue's retry
    db.session.expire_all()
    assert media.status == "ready" and bucket_keys() == sorted([media.storage_key, media.thumbnail_key])


def test_gps_is_stripped_and_the_photo_is_upright(case):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(0x8825).update({1: "N", 2: (55.0, 45.0, 21.0), 3: "E", 4: (37.0, 37.0, 4.0)})
    original = jpeg_bytes(size=(640, 480), exif=exif.tobytes())
    media = store(case, original)
    data = storage().open(media.storage_key).read()
    with Image.open(io.BytesIO(data)) as stored:
        assert dict(stored.getexif()) == {0x0112: 6}  # only how to turn it: no GPS, no camera
        assert ImageOps.exif_transpose(stored).size == (480, 640)  # shown upright
    assert b"PhoneMaker" not in data and data.endswith(original[-1000:])  # the same scan data: never re-encoded
    with Image.open(storage().open(media.thumbnail_key)) as thumb:
        assert thumb.size[1] > thumb.size[0]


def test_upright_jpeg_keeps_its_pixels_and_loses_its_metadata(case):
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: (1.0, 2.0, 3.0)})
    original = jpeg_bytes(exif=exif.tobytes())
    media = store(case, original)
    data = storage().open(media.storage_key).read()
    assert len(data) < len(original) and data.endswith(original[-1000:])  # same scan data, no re-encoding
    with Image.open(io.BytesIO(data)) as stored:
        assert not stored.getexif()


def _table_counts():
    return tuple(db.session.execute(db.select(db.func.count(model.id))).scalar() for model in (MediaObject, AuditEvent))


@pytest.mark.parametrize("name", list(__import__("tests.badfiles", fromlist=["REFUSED"]).REFUSED))
def test_refused_file_leaves_nothing_in_the_bucket_and_no_live_row(case, name):
    from portal.media.validation import ValidationError
    from tests.badfiles import REFUSED

    data, filename, code = REFUSED[name]
    before = bucket_keys()
    with pytest.raises(ValidationError) as refused:
        store(case, data, filename)
    assert refused.value.code == code
    assert bucket_keys() == before  # neither a final object nor the incoming one
    assert db.session.execute(db.select(MediaObject).where(MediaObject.status != "refused")).first() is None


def test_oversized_file_is_refused_without_storing(case, media_app):
    from portal.media.validation import ValidationError

    media_app.config["MEDIA_MAX_UPLOAD_BYTES"] = 2000
    with pytest.raises(ValidationError) as refused:
        store(case, jpeg_bytes(size=(800, 800), quality=95))
    assert refused.value.code == "too_large" and bucket_keys() == []


@pytest.mark.parametrize("given", list(__import__("tests.badfiles", fromlist=["HOSTILE_NAMES"]).HOSTILE_NAMES))
def test_hostile_filename_is_accepted_but_never_reaches_the_key(case, given):
    from tests.badfiles import HOSTILE_NAMES

    media = store(case, jpeg_bytes(), given)
    assert media.original_filename == download_name(HOSTILE_NAMES[given], "image/jpeg")  # x.exe -> x.exe.jpg
    assert re.fullmatch(KEY_RE.format(owner=case.owner.id, shift=case.shift.id, ext="jpg"), media.storage_key)
    assert unquote(storage().stat(media.storage_key).metadata["original-filename"]) == media.original_filename


def test_an_iphone_heic_photo_is_stored_as_an_upright_jpeg_with_a_thumbnail(case):
    import pillow_heif

    pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (20, 140, 60)).save(buffer, "HEIF", quality=80)
    media = store(case, buffer.getvalue(), "IMG_0001.HEIC")
    assert media.status == "ready" and media.content_type == "image/jpeg"
    assert media.storage_key.endswith(".jpg") and media.original_filename == "IMG_0001.HEIC.jpg"
    data = storage().open(media.storage_key).read()
    with Image.open(io.BytesIO(data)) as stored:
        assert stored.format == "JPEG" and stored.size == (640, 480) and not stored.getexif()
    assert media.size == len(data) and media.sha256 == __import__("hashlib").sha256(data).hexdigest()
    with Image.open(storage().open(media.thumbnail_key)) as thumb:
        assert thumb.format == "WEBP"


def _phone_photo(orientation):
    """A 1.1 MB photo whose image data is most of its bytes (noise does not compress), turned by EXIF."""
    import random

    picture = Image.frombytes("RGB", (1000, 750), random.Random(orientation).randbytes(1000 * 750 * 3))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif.get_ifd(0x8825).update({1: "N", 2: (55.0, 45.0, 21.0)})
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=98, exif=exif.tobytes())
    return buffer.getvalue()


@pytest.fixture
def decodes_ahead(monkeypatch):
    """What the job's decode that starts while the photo still arrives gave back (media/arriving.py)."""
    from portal.media import arriving

    given, real = [], arriving.DecodeAhead.thumbnail

    def thumbnail(ahead):
        try:
            given.append(real(ahead))
        except Exception as error:
            given.append(error)
            raise
        return given[-1]

    monkeypatch.setattr(arriving.DecodeAhead, "thumbnail", thumbnail)
    return given


def test_a_large_photo_is_decoded_while_it_arrives_into_the_thumbnail_of_what_is_stored(case, decodes_ahead):
    from portal.media import arriving, images

    original = _phone_photo(6)
    assert len(original) > 4 * arriving.START_AFTER
    media = store(case, original)
    stored = storage().open(media.storage_key).read()
    thumbnail = storage().open(media.thumbnail_key).read()
    assert media.status == "ready" and decodes_ahead == [thumbnail]  # the job took the decode ahead's thumbnail
    assert stored == images.canonical_image(original, "image/jpeg") and b"N\x00" not in stored[:200]
    assert thumbnail == images.image_thumbnail(stored)  # the same as decoding the stored file afterwards
    with Image.open(io.BytesIO(thumbnail)) as thumb:
        assert thumb.size[1] > thumb.size[0]  # upright


def test_a_large_photo_cut_short_is_refused_by_the_decode_ahead_and_nothing_is_stored(case, decodes_ahead):
    from portal.media.validation import ValidationError

    with pytest.raises(ValidationError) as small:  # a photo too small for the decode ahead, cut short the same way
        store(case, jpeg_bytes()[:-400])
    original = _phone_photo(1)
    with pytest.raises(ValidationError) as refused:
        store(case, original[:len(original) * 3 // 4])
    assert small.value.code == "image"  # what the employee reads is the same for both
    assert (refused.value.code, str(refused.value)) == (small.value.code, str(small.value))
    assert len(decodes_ahead) == 1 and isinstance(decodes_ahead[0], OSError)
    assert bucket_keys() == []


def test_a_large_photo_with_bytes_after_its_image_is_decoded_again_as_stored(case, decodes_ahead):
    """The canonical file drops what follows the image, so the decode ahead read bytes that are not stored: the
    job decodes the stored bytes instead."""
    from portal.media import images

    original = _phone_photo(3) + b"<html><script>alert(1)</script></html>" * 100
    media = store(case, original)
    stored = storage().open(media.storage_key).read()
    assert media.status == "ready" and decodes_ahead == [] and b"<script>" not in stored
    assert storage().open(media.thumbnail_key).read() == images.image_thumbnail(stored)


class _ReadDropsAfter:
    """The app's store, except that reading an incoming object fails after `after` bytes (the connection drops)."""

    def __init__(self, real, after):
        self.real, self.after = real, after

    def __getattr__(self, name):
        return getattr(self.real, name)

    def open(self, key):
        stream, left = self.real.open(key), [self.after]
        if not key.startswith("incoming/"):
            return stream

        class Dropping:
            def read(self, size=-1):
                if left[0] <= 0:
                    raise StorageError("the store went away", operation="get", key=key)
                chunk = stream.read(left[0] if size is None or size < 0 or size > left[0] else size)
                left[0] -= len(chunk)
                return chunk

        return Dropping()


def test_a_read_that_fails_half_way_stops_the_decode_ahead_and_the_retry_finishes(case, media_app, monkeypatch):
    from portal import cancellations
    from portal.media import arriving

    started, real_start = [], arriving.DecodeAhead._start

    def start(ahead, first):
        real_start(ahead, first)
        started.append(ahead._decode)

    monkeypatch.setattr(arriving.DecodeAhead, "_start", start)
    real = media_app.extensions["media_storage"]
    media_app.extensions["media_storage"] = _ReadDropsAfter(real, after=600_000)
    row = store(case, _phone_photo(6))  # the inline job fails on the read; the queue would retry it
    assert row.status == "processing"
    assert len(started) == 1 and started[0] is not None and started[0].done()  # no decode left waiting
    media_app.extensions["media_storage"] = real
    assert bucket_keys() == [row.incoming_key]
    cancellations.process_proof(row.id)  # the retry
    db.session.expire_all()
    assert row.status == "ready" and bucket_keys() == sorted([row.storage_key, row.thumbnail_key])
    assert len(started) == 2
