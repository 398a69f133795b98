"""The image corpus holds what it claims, and the marker checks catch it while passing a clean copy."""
import io

import pytest
from PIL import ExifTags, Image, ImageOps

from tests.corpus.adversarial_images import HTML, IMAGE_CASES, photo, upright_picture
from tests.corpus.markers import PLANTED_MAKE, assert_canonical, assert_orientation_only, jpeg_segments, upright

FORMATS = {"jpeg": "JPEG", "mpo": "MPO", "ultra": "JPEG", "png": "PNG", "webp": "WEBP"}


def _clean_copy(data):
    """What a canonicalising store could keep: the upright pixels re-encoded with no metadata at all."""
    with Image.open(io.BytesIO(data)) as image:
        fmt = "JPEG" if image.format == "MPO" else image.format
        picture = ImageOps.exif_transpose(image).convert("RGB")
    picture.info.clear()  # Pillow would otherwise write the source's JPEG comment again
    buffer = io.BytesIO()
    picture.save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("case", IMAGE_CASES, ids=lambda case: case.name)
def test_image_case_decodes_as_its_format(case):
    with Image.open(io.BytesIO(case.data)) as image:
        assert image.format == FORMATS[case.name.split("_")[0]]
        image.load()


@pytest.mark.parametrize("case", IMAGE_CASES, ids=lambda case: case.name)
def test_image_case_as_sent_is_not_canonical(case):
    with pytest.raises(AssertionError):
        assert_canonical(case.data)


@pytest.mark.parametrize("case", IMAGE_CASES, ids=lambda case: case.name)
def test_image_case_is_upright_once_its_orientation_is_applied_and_a_clean_copy_passes(case):
    assert upright(case.data)
    clean = _clean_copy(case.data)
    assert_canonical(clean)
    assert upright(clean)


@pytest.mark.parametrize("orientation", range(2, 9))
def test_rotated_photos_are_not_upright_without_their_orientation(orientation):
    with Image.open(io.BytesIO(photo(orientation))) as image:
        assert image.getexif()[0x0112] == orientation
        image.info.clear()
        image.getexif().clear()
        buffer = io.BytesIO()
        image.save(buffer, "JPEG")
    assert not upright(buffer.getvalue())


def test_camera_photos_carry_gps_and_make():
    with Image.open(io.BytesIO(photo(6))) as image:
        exif = image.getexif()
        assert exif.get_ifd(ExifTags.IFD.GPSInfo)[1] == "N" and exif[0x010F] == PLANTED_MAKE.decode()
        assert image.info["comment"] and b"<x:xmpmeta" in image.info["xmp"]


def test_mpo_second_frame_carries_gps_and_make():
    case = next(c for c in IMAGE_CASES if c.name == "mpo_gps_and_make_in_second_frame")
    with Image.open(io.BytesIO(case.data)) as image:
        assert image.n_frames == 2 and not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        image.seek(1)
        assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo) and image.getexif()[0x010F] == PLANTED_MAKE.decode()


def test_ultra_hdr_has_an_mpf_index_and_a_gain_map_after_the_primary():
    case = next(c for c in IMAGE_CASES if c.name == "ultra_hdr_gain_map")
    segments, end = jpeg_segments(case.data)
    assert any(marker == 0xE2 and payload.startswith(b"MPF\0") for marker, payload in segments)
    with Image.open(io.BytesIO(case.data[end:])) as gain_map:
        assert gain_map.mode == "L" and b"hdrgm:GainMapMax" in gain_map.info["xmp"]


@pytest.mark.parametrize("case", [c for c in IMAGE_CASES if "html" in c.name], ids=lambda case: case.name)
def test_appended_html_is_really_there(case):
    assert case.data.endswith(HTML)


def test_wrong_app13_length_lands_inside_the_segment():
    case = next(c for c in IMAGE_CASES if c.name == "jpeg_app13_length_short")
    with pytest.raises(AssertionError, match="junk between segments"):
        jpeg_segments(case.data)


def test_orientation_only_exif_passes_and_anything_more_fails():
    exif = Image.Exif()
    exif[0x0112] = 6
    assert_orientation_only(exif.tobytes())
    exif[0x010F] = "x"
    with pytest.raises(AssertionError):
        assert_orientation_only(exif.tobytes())


def test_upright_sees_a_mirrored_picture():
    buffer = io.BytesIO()
    upright_picture().transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(buffer, "PNG")
    assert not upright(buffer.getvalue())
