"""The local provider: atomic files, keys confined to its folder, signed expiring URLs."""
import io

import pytest

from portal.media.local import LocalMediaStorage
from portal.media.storage import StorageError

KEY = "shift-cancellations/1/2/abc.jpg"


@pytest.fixture
def store(tmp_path):
    return LocalMediaStorage(tmp_path, "bucket", "secret")


@pytest.mark.parametrize("key", ["../../etc/passwd", "/etc/passwd", "a/../../b", "", "x.jpg.meta.json"])
def test_keys_that_leave_the_folder_are_refused(store, key):
    with pytest.raises(StorageError):
        store.put(key, io.BytesIO(b"x"), content_type="text/plain", metadata={})


def test_no_temporary_file_is_left_after_a_failed_write(store, tmp_path):
    class Broken(io.BytesIO):
        def read(self, *args):
            raise OSError(5, "disk on fire")

    with pytest.raises(StorageError):
        store.put(KEY, Broken(), content_type="image/jpeg", metadata={})
    assert [p.name for p in (tmp_path / "bucket").rglob("*") if p.is_file()] == []


def test_signed_url_verifies_until_it_expires(store):
    url = store.presigned_url(KEY, expires_in=60, now=1000)
    query = dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))
    assert store.verify(KEY, query["expires"], None, query["signature"], now=1059)
    assert not store.verify(KEY, query["expires"], None, query["signature"], now=1061)


def test_tampering_with_any_part_breaks_the_signature(store):
    url = store.presigned_url(KEY, expires_in=60, now=1000)
    query = dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))
    signature = query["signature"]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    assert not store.verify(KEY, query["expires"], None, flipped, now=1001)
    assert not store.verify(KEY, int(query["expires"]) + 3600, None, signature, now=1001)
    assert not store.verify("shift-cancellations/1/2/other.jpg", query["expires"], None, signature, now=1001)
    assert not store.verify(KEY, query["expires"], "renamed.jpg", signature, now=1001)


@pytest.mark.parametrize("signature", ["\x80", "подпись", "\x00", "é" * 64, ""])
def test_a_signature_that_is_not_ascii_is_refused_not_an_error(store, signature):
    url = store.presigned_url(KEY, expires_in=60, now=1000)
    expires = url.split("expires=", 1)[1].split("&")[0]
    assert not store.verify(KEY, expires, None, signature, now=1001)


def test_a_url_signed_with_another_secret_is_refused(tmp_path):
    ours, theirs = LocalMediaStorage(tmp_path, "b", "secret"), LocalMediaStorage(tmp_path, "b", "other")
    url = theirs.presigned_url(KEY, expires_in=60, now=1000)
    query = dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))
    assert not ours.verify(KEY, query["expires"], None, query["signature"], now=1001)
