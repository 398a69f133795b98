"""PNG and WebP with an EXIF orientation are stored without touching their pixels: the compressed image data
is the same bytes, the orientation survives alone, every other piece of metadata is gone, and Pillow shows the
stored file and its thumbnail upright."""
import io
import struct
import zlib

import pytest
from PIL import Image, ImageCms, ImageFile
from PIL.PngImagePlugin import PngInfo

from portal.media import containers, images
from tests.corpus.adversarial_images import STORED_AS, XMP, camera_exif, upright_picture
from tests.corpus.markers import assert_canonical, upright

ORIENTATIONS = range(1, 9)
PIXEL_CHUNKS = {b"IDAT", b"VP8 ", b"VP8L", b"ALPH"}
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _as_camera_stores(orientation, mode="RGB"):
    image = upright_picture()
    if STORED_AS[orientation] is not None:
        image = image.transpose(STORED_AS[orientation])
    return image.convert(mode)


def png(orientation, mode="RGB"):
    buffer = io.BytesIO()
    text = PngInfo()
    text.add_text("Comment", "PlantedComment")
    text.add_itxt("XML:com.adobe.xmp", XMP.decode())
    _as_camera_stores(orientation, mode).save(buffer, "PNG", pnginfo=text, exif=camera_exif(orientation))
    return buffer.getvalue()


def webp(orientation, lossless, mode="RGB", icc=None):
    buffer = io.BytesIO()
    options = {"icc_profile": icc} if icc else {}
    _as_camera_stores(orientation, mode).save(buffer, "WEBP", lossless=lossless, quality=90,
                                              exif=camera_exif(orientation), xmp=XMP, **options)
    return buffer.getvalue()


def chunks(data):
    """(kind, payload) of every PNG or WebP chunk, in order."""
    found = []
    if data.startswith(containers.PNG_SIGNATURE):
        pos = 8
        while pos < len(data):
            length, kind = struct.unpack(">I4s", data[pos:pos + 8])
            found.append((kind, data[pos + 8:pos + 8 + length]))
            pos += 12 + length
        return found
    pos = 12
    while pos < len(data):
        kind, length = struct.unpack("<4sI", data[pos:pos + 8])
        found.append((kind, data[pos + 8:pos + 8 + length]))
        pos += 8 + length + (length & 1)
    return found


def pixel_data(data):
    return [(kind, payload) for kind, payload in chunks(data) if kind in PIXEL_CHUNKS]


def stored_orientation(data):
    with Image.open(io.BytesIO(data)) as image:
        image.load()  # a PNG's eXIf after the image data would only be seen once the pixels are read
        return image.getexif().get(0x0112)


CASES = {
    "png": lambda n: png(n),
    "png_alpha": lambda n: png(n, "RGBA"),
    "webp_lossy": lambda n: webp(n, lossless=False),
    "webp_lossy_alpha": lambda n: webp(n, lossless=False, mode="RGBA"),
    "webp_lossless": lambda n: webp(n, lossless=True),
    "webp_lossy_icc": lambda n: webp(n, lossless=False, icc=SRGB),
}
TYPES = {"png": "image/png", "webp": "image/webp"}


@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_orientation_is_kept_as_a_tag_and_the_pixel_data_is_untouched(case, orientation):
    sent = CASES[case](orientation)
    assert stored_orientation(sent) == orientation and pixel_data(sent)  # the file is what the case says
    prepared = images.prepare(sent, TYPES[case.split("_")[0]])
    stored = prepared.data
    assert pixel_data(stored) == pixel_data(sent)  # the compressed pixels, byte for byte: nothing re-encoded
    assert stored_orientation(stored) == (orientation if orientation != 1 else None)
    assert_canonical(stored)  # the EXIF holds the orientation alone; no text, XMP, GPS or maker left
    assert b"PlantedComment" not in stored and b"<x:xmpmeta" not in stored
    assert upright(stored) and upright(prepared.thumbnail)
    kinds = [kind for kind, _ in chunks(stored)]
    exif_kind = b"eXIf" if case.startswith("png") else b"EXIF"
    assert kinds.count(exif_kind) == (orientation != 1)


@pytest.mark.parametrize("orientation", [1, 6])
@pytest.mark.parametrize("case", ["webp_lossy", "webp_lossy_alpha", "webp_lossless", "webp_lossy_icc"])
def test_webp_extended_header_flags_what_the_file_holds(case, orientation):
    sent = CASES[case](orientation)
    stored = containers.canonical_webp(sent, orientation)
    [(first, vp8x), *rest] = chunks(stored)
    kinds = [kind for kind, _ in rest]
    assert first == b"VP8X" and vp8x[4:10] == dict(chunks(sent))[b"VP8X"][4:10]  # the same canvas
    with Image.open(io.BytesIO(sent)) as image:
        has_alpha = image.mode == "RGBA"
    flags = vp8x[0]
    assert bool(flags & containers.VP8X_EXIF) == (orientation != 1) == (b"EXIF" in kinds)
    assert bool(flags & containers.VP8X_ICC) == (b"ICCP" in kinds) == (case == "webp_lossy_icc")
    assert bool(flags & containers.VP8X_ALPHA) == has_alpha
    assert flags & 0x04 == 0 and b"XMP " not in kinds  # XMP gone, and not announced
    if b"ICCP" in kinds:
        assert dict(rest)[b"ICCP"] == SRGB and kinds.index(b"ICCP") < kinds.index(b"VP8 ")
    if orientation != 1:
        assert kinds[-1] == b"EXIF"  # after the image data, as the container spec orders it


def test_png_exif_after_the_image_data_is_found_and_moved_before_it():
    sent = png(6)
    listed = chunks(sent)
    exif = next(payload for kind, payload in listed if kind == b"eXIf")
    reordered = [(kind, payload) for kind, payload in listed if kind not in (b"eXIf", b"IEND")]
    reordered += [(b"eXIf", exif), (b"IEND", b"")]
    moved = containers.PNG_SIGNATURE + b"".join(
        struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        for kind, payload in reordered)
    stored = containers.canonical_png(moved)
    kinds = [kind for kind, _ in chunks(stored)]
    assert kinds.index(b"eXIf") < kinds.index(b"IDAT") and stored_orientation(stored) == 6
    assert pixel_data(stored) == pixel_data(sent) and upright(stored)


def test_png_orientation_is_read_without_decoding_the_pixels(monkeypatch):
    decoded = []
    real_load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self) or real_load(self))
    images.canonical_image(png(6), "image/png")
    assert decoded == []  # the thumbnail's decode is then the only one


def test_a_png_whose_pixel_data_is_broken_under_good_checksums_is_refused():
    """Every chunk's CRC is right but the compressed pixels are not: the one decode must refuse the file (reading
    a PNG's EXIF decodes it too, and Pillow swallows the error there, so that must not come first)."""
    buffer = io.BytesIO()
    Image.effect_noise((320, 240), 40).convert("RGB").save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    pos = data.index(b"IDAT") - 4
    length = struct.unpack(">I", data[pos:pos + 4])[0]
    start = pos + 8
    data[start + length // 2:start + length // 2 + 64] = bytes(64)  # the middle of the deflate stream, zeroed
    data[start + length:start + length + 4] = struct.pack(">I", zlib.crc32(bytes(data[pos + 4:start + length])))
    with pytest.raises(images.ValidationError) as refused:
        images.prepare(bytes(data), "image/png")
    assert refused.value.code == "image"


def _riff(parts):
    body = b"".join(kind + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) & 1)
                    for kind, payload in parts)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def _hidden_picture(lossless):
    """A second WebP bitstream with text drawn in it, to hide behind the first."""
    from PIL import ImageDraw

    image = Image.new("RGB", (64, 48), (0, 0, 255))
    ImageDraw.Draw(image).text((2, 2), "HIDDEN", fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", lossless=lossless, quality=80)
    return [chunk for chunk in chunks(buffer.getvalue()) if chunk[0] in (b"VP8 ", b"VP8L")][0]


@pytest.mark.parametrize("case", ["webp_lossy", "webp_lossless", "webp_lossy_alpha", "webp_lossy_icc"])
@pytest.mark.parametrize("second", ["lossy", "lossless"])
def test_a_webp_with_a_second_picture_behind_the_first_is_refused(case, second):
    sent = chunks(CASES[case](1))
    hidden = _hidden_picture(second == "lossless")
    image_at = next(i for i, (kind, _) in enumerate(sent) if kind in (b"VP8 ", b"VP8L"))
    extended = sent[:image_at + 1] + [hidden] + sent[image_at + 1:]
    simple = [sent[image_at], hidden]  # the simple layout: image chunks only, no VP8X
    for parts in (extended, simple):
        with pytest.raises(containers.ContainerError):
            containers.canonical_webp(_riff(parts), 1)


@pytest.mark.parametrize("kind", [b"ICCP", b"ALPH", b"VP8X"])
def test_a_webp_chunk_given_twice_is_refused(kind):
    buffer = io.BytesIO()
    Image.new("RGBA", (64, 48), (255, 0, 0, 128)).save(buffer, "WEBP", quality=80, icc_profile=SRGB)
    sent = chunks(buffer.getvalue())  # VP8X, ICCP, ALPH, VP8
    twice = next(chunk for chunk in sent if chunk[0] == kind)
    with pytest.raises(containers.ContainerError):
        containers.canonical_webp(_riff([twice, *sent]), 1)


def test_a_simple_webp_keeps_its_image_chunk_alone():
    sent = chunks(webp(1, lossless=False))
    image = next(chunk for chunk in sent if chunk[0] in (b"VP8 ", b"VP8L"))
    carried = (b"ICCP", b"carried text " * 40)  # ignored by decoders without VP8X: a place to smuggle bytes
    stored = containers.canonical_webp(_riff([carried, image, (b"ALPH", b"\x00" * 33)]), 1)
    assert chunks(stored) == [image]
    with Image.open(io.BytesIO(stored)) as opened:
        opened.load()
