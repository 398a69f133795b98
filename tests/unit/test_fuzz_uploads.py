"""Fuzzing validate + prepare with mutated real JPEG, PNG, WebP and PDF files: a refusal or a result, nothing else.

Any exception other than ValidationError is what would answer 500. The "ci" profile (default) runs a fixed,
derandomised number of examples per seed file without shrinking, in well under a minute; set
PORTAL_FUZZ_PROFILE=long for a longer random run that shrinks a failure and remembers it in .hypothesis/.
"""
import io
import os
import re

import pikepdf
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from portal.media.images import prepare
from portal.media.validation import ValidationError, validate
from tests.corpus import adversarial_images as images
from tests.corpus.adversarial_pdf import base_document

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000
QUICK = [Phase.explicit, Phase.reuse, Phase.generate]
settings.register_profile("ci", max_examples=100, deadline=None, derandomize=True, database=None, phases=QUICK,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("long", max_examples=3000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PROFILE = settings.get_profile(os.environ.get("PORTAL_FUZZ_PROFILE", "ci"))
# Byte strings that mean something to one of the parsers: markers, chunk names, PDF keywords.
TOKENS = [b"\xff", b"\xff\xd9", b"\xff\xd8\xff\xe1", b"\xff\xda", b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"IEND",
          b"IDAT", b"eXIf", b"VP8X", b"EXIF", b"endstream", b"endobj", b"%%EOF", b"xref", b"/Length 999999",
          b"/Filter /FlateDecode", b"/Predictor 12", b"/ObjStm", b"<<", b">>", b"(", b")", b"9999999 0 R"]


def _pdf(**options):
    buffer = io.BytesIO()
    base_document().save(buffer, **options)
    return buffer.getvalue()


def _progressive_jpeg():
    return images.jpeg(progressive=True, exif=images.camera_exif(3))


SEEDS = {
    "jpeg_exif_xmp_comment": ("note.jpg", images.photo(1)),
    "jpeg_iptc": ("note.jpg", images.iptc_with_wrong_length(0)),
    "jpeg_exif_orientation_6": ("note.jpg", images.photo(6)),
    "jpeg_progressive": ("note.jpg", _progressive_jpeg()),
    "mpo_two_frames": ("note.jpg", images.mpo_with_gps_in_second_frame()),
    "png_text_chunks": ("note.png", images.png(orientation=6)),
    "webp_lossy_exif": ("note.webp", images.webp(lossless=False)),
    "webp_lossless_exif": ("note.webp", images.webp(lossless=True)),
    "pdf_plain": ("note.pdf", _pdf(object_stream_mode=pikepdf.ObjectStreamMode.disable)),
    "pdf_object_streams": ("note.pdf", _pdf(object_stream_mode=pikepdf.ObjectStreamMode.generate)),
}


def structure(data):
    """(chunks, length fields) of a seed: chunks as (start, end), length fields as (start, size, kind)."""
    if data[:2] == b"\xff\xd8":
        chunks, pos = [], 2
        while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] not in (0xD9, 0xDA):
            end = pos + 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
            chunks.append((pos, end))
            pos = end
        return chunks, [(start + 2, 2, "big") for start, _ in chunks]
    if data[:4] == b"\x89PNG":
        chunks, pos = [], 8
        while pos + 8 <= len(data):
            end = pos + 12 + int.from_bytes(data[pos:pos + 4], "big")
            chunks.append((pos, end))
            pos = end
        return chunks, [(start, 4, "big") for start, _ in chunks]
    if data[:4] == b"RIFF":
        chunks, pos = [], 12
        while pos + 8 <= len(data):
            size = int.from_bytes(data[pos + 4:pos + 8], "little")
            chunks.append((pos, pos + 8 + size + (size & 1)))
            pos = chunks[-1][1]
        return chunks, [(4, 4, "little")] + [(start + 4, 4, "little") for start, _ in chunks]
    chunks = [m.span() for m in re.finditer(rb"\d+ 0 obj.*?endobj\n", data, re.S)]
    numbers = [m.span(1) for m in re.finditer(rb"(?:/Length |startxref\n|/First |/N |/Size )(\d+)", data)]
    return chunks, [(start, end - start, "text") for start, end in numbers]


@st.composite
def mutated(draw, seed):
    """The seed with a few structural edits (chunk copies, length fields) and byte edits, in any mix."""
    data = bytearray(seed)
    chunks, lengths = structure(seed)
    for _ in range(draw(st.integers(0, 2))):
        if chunks and draw(st.booleans()):
            start, end = draw(st.sampled_from(chunks))
            at = draw(st.sampled_from([s for s, _ in chunks] + [end]))
            data[at:at] = seed[start:end]  # a duplicated segment, chunk or object
        elif lengths:
            start, size, kind = draw(st.sampled_from(lengths))
            if kind == "text":
                data[start:start + size] = str(draw(st.integers(0, 10 ** (size + 1)))).encode()
            else:
                value = draw(st.one_of(st.integers(0, 2 ** (8 * size) - 1), st.integers(-8, 8).map(
                    lambda delta: (int.from_bytes(seed[start:start + size], kind) + delta) % 2 ** (8 * size))))
                data[start:start + size] = value.to_bytes(size, kind)
    for _ in range(draw(st.integers(0 if data != seed else 1, 3))):
        operation = draw(st.sampled_from(["flip", "truncate", "insert", "token"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if operation == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif operation == "truncate":
            del data[at:]
        elif operation == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        else:
            data[at:at] = draw(st.sampled_from(TOKENS))
    return bytes(data)


def _upload(data, filename):
    """What an upload does with the bytes: check them, then prepare what is stored."""
    try:
        checked = validate(data, filename, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    except ValidationError:
        return
    try:
        prepare(checked.data, checked.content_type)
    except ValidationError:
        pass


@pytest.mark.parametrize("seed", SEEDS)
def test_seed_files_are_accepted_as_they_are(seed):
    filename, data = SEEDS[seed]
    validate(data, filename, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)


@pytest.mark.parametrize("seed", SEEDS)
def test_mutated_upload_is_refused_or_prepared_never_crashes(seed):
    filename, original = SEEDS[seed]

    @PROFILE
    @given(mutated(original))
    def upload(data):
        _upload(data, filename)

    upload()
