"""Photos the portal must accept but store canonically: one image, no metadata but ICC, nothing appended.

Each case is built with Pillow (or zipfile) as the real format is, with planted markers (markers.PLANTED)
that tests/corpus/markers.py looks for in the stored bytes. kind is always "clean_after": the upload is
accepted and the stored bytes must pass markers.assert_canonical and markers.upright.
"""
import io
import struct
import zipfile

from PIL import Image, ImageDraw
from PIL.PngImagePlugin import PngInfo

from tests.corpus.case import Case
from tests.corpus.markers import GPS_CITY, PLANTED_COMMENT, PLANTED_MAKE, PLANTED_MODEL, PLANTED_TEXT, PLANTED_XMP

SIZE = (320, 240)  # landscape, so a wrong rotation also shows in the dimensions
XMP = (b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
       b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
       b'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:City="' + PLANTED_XMP + b'"/>'
       b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>')
GAIN_MAP_XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                b'<rdf:Description xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" hdrgm:Version="1.0" '
                b'hdrgm:GainMapMax="2.3" hdrgm:HDRCapacityMax="2.3"/></rdf:RDF></x:xmpmeta>')
HDR_PRIMARY_XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                   b'<rdf:Description xmlns:Container="http://ns.google.com/photos/1.0/container/" '
                   b'xmlns:Item="http://ns.google.com/photos/1.0/container/item/" '
                   b'xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" hdrgm:Version="1.0"><Container:Directory>'
                   b'<rdf:Seq><rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="Primary" '
                   b'Item:Mime="image/jpeg"/></rdf:li><rdf:li rdf:parseType="Resource"><Container:Item '
                   b'Item:Semantic="GainMap" Item:Mime="image/jpeg"/></rdf:li></rdf:Seq></Container:Directory>'
                   b'</rdf:Description></rdf:RDF></x:xmpmeta>')
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>\n"
# The inverse of what PIL.ImageOps.exif_transpose does for each orientation: the pixels a camera stores.
STORED_AS = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
             4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90,
             7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}


def upright_picture(size=SIZE):
    """A white page with a red square in its top-left corner and a grey line of 'text'."""
    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, size[0] // 4, size[1] // 4), fill=(220, 0, 0))
    draw.rectangle((size[0] // 3, size[1] // 2, size[0] - 20, size[1] // 2 + 12), fill=(90, 90, 90))
    return image


def camera_exif(orientation=1, gps=True):
    """EXIF as a phone writes it: orientation, make and model, software, and a GPS position."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = PLANTED_MAKE.decode()
    exif[0x0110] = PLANTED_MODEL.decode()
    exif[0x0131] = "PlantedSoftware 1.0"
    if gps:
        exif[0x8825] = {1: "N", 2: (55.0, 45.0, 21.0), 3: "E", 4: (37.0, 37.0, 4.0), 0x12: GPS_CITY.decode()}
    return exif.tobytes()


def jpeg(image=None, **options):
    """JPEG bytes of the image (the upright picture by default) with the given save options."""
    buffer = io.BytesIO()
    (image or upright_picture()).save(buffer, "JPEG", quality=90, **options)
    return buffer.getvalue()


def photo(orientation=1):
    """A camera JPEG: pixels stored as the sensor saw them, EXIF orientation, GPS, make, XMP and a comment."""
    image = upright_picture()
    if STORED_AS[orientation] is not None:
        image = image.transpose(STORED_AS[orientation])
    return jpeg(image, exif=camera_exif(orientation), xmp=XMP, comment=PLANTED_COMMENT)


def _multi_frame(primary_options, second, second_options):
    """An MPO-layout file (MPF APP2 index, then a second JPEG), as phones and Ultra HDR write them."""
    primary = upright_picture()
    second.encoderinfo = second_options  # Pillow keeps a frame's own encoder options for that frame
    buffer = io.BytesIO()
    primary.save(buffer, "MPO", save_all=True, append_images=[second], quality=90, **primary_options)
    return buffer.getvalue()


def mpo_with_gps_in_second_frame():
    """A stereo camera MPO: a clean first frame, make and GPS in the second."""
    return _multi_frame({}, upright_picture(), {"exif": camera_exif(), "quality": 90})


def ultra_hdr():
    """Ultra-HDR layout: primary with XMP and MPF, then a grey gain-map JPEG with hdrgm XMP and GPS EXIF."""
    gain_map = Image.new("L", (SIZE[0] // 4, SIZE[1] // 4), 128)
    return _multi_frame({"xmp": HDR_PRIMARY_XMP},
                        gain_map, {"xmp": GAIN_MAP_XMP, "exif": camera_exif(), "quality": 85})


def _zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("invoice.html", HTML)
        archive.writestr("readme.txt", PLANTED_TEXT)
    return buffer.getvalue()


def iptc_with_wrong_length(error):
    """A Photoshop APP13 (IPTC by-line) whose length field is off by `error` bytes: once answered 500."""
    by_line = b"\x1c\x02\x50" + struct.pack(">H", len(PLANTED_TEXT)) + PLANTED_TEXT
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(by_line)) + by_line
    payload = b"Photoshop 3.0\x00" + resource
    segment = b"\xff\xed" + struct.pack(">H", len(payload) + 2 + error) + payload
    data = jpeg(exif=camera_exif())
    return data[:2] + segment + data[2:]


def png(trailer=b"", orientation=1):
    """A PNG with tEXt, zTXt, iTXt (XMP) and eXIf chunks, then trailer after IEND."""
    info = PngInfo()
    info.add_text("Comment", PLANTED_TEXT.decode())
    info.add_text("Author", PLANTED_MAKE.decode(), zip=True)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode("utf-8"))
    image = upright_picture()
    if STORED_AS[orientation] is not None:
        image = image.transpose(STORED_AS[orientation])
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info, exif=camera_exif(orientation))
    return buffer.getvalue() + trailer


def webp(lossless, trailer=b""):
    """A WebP in the extended (VP8X) layout with EXIF and XMP chunks, then trailer after the RIFF length."""
    buffer = io.BytesIO()
    upright_picture().save(buffer, "WEBP", lossless=lossless, quality=90, exif=camera_exif(), xmp=XMP)
    return buffer.getvalue() + trailer


def _build():
    cases = [Case(f"jpeg_orientation_{n}_exif_gps_xmp_comment", photo(n), "clean_after") for n in range(1, 9)]
    base = photo(6)
    cases += [
        Case("mpo_gps_and_make_in_second_frame", mpo_with_gps_in_second_frame(), "clean_after"),
        Case("ultra_hdr_gain_map", ultra_hdr(), "clean_after"),
        Case("jpeg_then_second_jpeg_with_gps_no_mpf", jpeg() + jpeg(exif=camera_exif()), "clean_after"),
        Case("jpeg_html_after_eoi", base + HTML, "clean_after"),
        Case("jpeg_html_after_padding", base + b"\0" * 1024 + HTML, "clean_after"),
        Case("jpeg_html_with_bom", base + b"\xef\xbb\xbf" + HTML, "clean_after"),
        Case("jpeg_html_after_whitespace", base + b"\r\n \n" + HTML, "clean_after"),
        Case("jpeg_zip_after_eoi", base + _zip(), "clean_after"),
        Case("jpeg_zip_after_padding", base + b"\xff" * 64 + _zip(), "clean_after"),
        Case("jpeg_app13_length_short", iptc_with_wrong_length(-5), "clean_after"),
        Case("jpeg_app13_length_short_by_one", iptc_with_wrong_length(-1), "clean_after"),
        Case("png_text_chunks_exif", png(), "clean_after"),
        Case("png_text_chunks_html_after_iend", png(HTML), "clean_after"),
        Case("png_zip_after_iend", png(_zip()), "clean_after"),
        Case("png_exif_orientation_6", png(orientation=6), "clean_after"),
        Case("webp_lossy_exif_xmp", webp(lossless=False), "clean_after"),
        Case("webp_lossless_exif_xmp", webp(lossless=True), "clean_after"),
        Case("webp_lossy_html_after_riff", webp(False, HTML), "clean_after"),
        Case("webp_lossless_zip_after_riff", webp(True, _zip()), "clean_after"),
    ]
    return cases


IMAGE_CASES: list[Case] = _build()
