"""The decode that starts while a JPEG still arrives: it reads exactly the bytes that are stored, or it does not
count. Its thumbnail (or its error) must be the one decoding the canonical bytes gives, for any file and any
point at which the first part is cut."""
import io
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from portal.media import arriving, containers, images
from portal.media.orchestrator import transfers
from tests.corpus.adversarial_images import IMAGE_CASES

MAX_PIXELS = 50_000_000


def _noise_jpeg(size=(900, 700), orientation=1, **options):
    """A photo whose image data is most of its bytes, like a phone's (noise does not compress)."""
    picture = Image.frombytes("RGB", size, random.Random(size[0] * 7 + orientation).randbytes(size[0] * size[1] * 3))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90, exif=exif.tobytes(), **options)
    return buffer.getvalue()


def _insert_before_scan(data, segment, last=False):
    """The same JPEG with a segment placed just before its first (or last) scan, where the body has started."""
    at = data.rindex(b"\xff\xda") if last else data.index(b"\xff\xda")
    return data[:at] + segment + data[at:]


def _jpeg_cases():
    plain, progressive = _noise_jpeg(), _noise_jpeg(orientation=8, progressive=True)
    cases = {
        "baseline": plain,
        "orientation_6": _noise_jpeg(orientation=6),
        "progressive": progressive,
        "restart_markers": _noise_jpeg(restart_marker_blocks=4),
        "cmyk_adobe": _cmyk(),
        "comment_after_tables": _insert_before_scan(plain, b"\xff\xfe\x00\x06note"),
        "app1_after_tables": _insert_before_scan(plain, b"\xff\xe1\x00\x08Exif\x00\x00"),
        "app1_before_the_last_scan": _insert_before_scan(progressive, b"\xff\xe1\x00\x08Exif\x00\x00", last=True),
        "trailing_html": plain + b"<script>alert(1)</script>",
        "no_eoi": plain[:-2],
        "cut_in_the_scan": plain[:len(plain) * 2 // 3],
        "scan_bytes_flipped": _flipped(plain),
    }
    cases.update({case.name: case.data for case in IMAGE_CASES if case.name.split("_")[0] in ("jpeg", "mpo", "ultra")})
    return cases


def _cmyk():
    picture = Image.frombytes("CMYK", (600, 400), random.Random(3).randbytes(600 * 400 * 4))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _flipped(data):
    damaged = bytearray(data)
    for offset in range(len(data) // 2, len(data) // 2 + 4000, 97):
        damaged[offset] ^= 0x5A
    return bytes(damaged)


JPEGS = _jpeg_cases()


def _outcome(make):
    try:
        return "thumbnail", make()
    except Exception as error:  # noqa: BLE001  (whatever the decoder raises is the outcome compared)
        return "error", type(error)


def _decode_ahead(data, *, chunk, max_pixels=MAX_PIXELS):
    """What the job does: feed the chunks as they arrive, then make the canonical bytes from the whole file."""
    ahead = arriving.DecodeAhead(transfers(), max_pixels)
    for start in range(0, len(data), chunk):
        ahead.feed(data[start:start + chunk])
    ahead.arrived(data)
    try:
        canonical = images.canonical_image(data, "image/jpeg")
    except Exception:
        ahead.stop()
        raise
    return ahead, canonical


# Where the canonical file is not the first part's canonical form and the rest: bytes after the image (HTML, a ZIP,
# a second frame or picture), a segment dropped after the image data began, bytes that read as markers. And the
# progressive photo, on which no decode starts (arriving.DecodeAhead._start says why).
NOT_DECODED_AHEAD = {"app1_before_the_last_scan", "trailing_html", "scan_bytes_flipped", "progressive",
                     "jpeg_html_after_eoi", "jpeg_html_after_padding", "jpeg_html_after_whitespace",
                     "jpeg_html_with_bom", "jpeg_zip_after_eoi", "jpeg_zip_after_padding",
                     "jpeg_then_second_jpeg_with_gps_no_mpf", "mpo_gps_and_make_in_second_frame",
                     "ultra_hdr_gain_map"}
REFUSED_BEFORE_ANY_DECODE = (containers.ContainerError, OSError)  # what canonical_image raises on a broken file


@pytest.mark.parametrize("name", sorted(JPEGS))
def test_the_decode_ahead_gives_what_decoding_the_canonical_bytes_gives(name, monkeypatch):
    """Cut after 64 bytes to 100 KB (in the header segments, in the image data, or past a small file's end):
    wherever its decode counts, its thumbnail or its error is the usual decode's."""
    data, compared = JPEGS[name], []
    for start_after in (64, 1000, 2000, 3000, 20_000, 100_000):
        monkeypatch.setattr(arriving, "START_AFTER", start_after)
        ahead, canonical = _decode_ahead(data, chunk=777)
        if ahead.decodes(canonical, data):
            assert _outcome(ahead.thumbnail) == _outcome(lambda: images.image_thumbnail(canonical))
            compared.append(start_after)
        else:
            ahead.stop()
    assert bool(compared) == (name not in NOT_DECODED_AHEAD)


def _mutated(seed):
    """A photo with a few bytes changed at random, in its header segments or in its image data."""
    rng = random.Random(seed)
    data = bytearray(JPEGS[rng.choice(["baseline", "orientation_6", "restart_markers"])])
    header_end = data.index(b"\xff\xda")
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(2, header_end + 20) if rng.random() < 0.6 else rng.randrange(header_end, len(data))
        data[at] = rng.randrange(256)
    return bytes(data)


@pytest.mark.parametrize("seed", range(60), ids=lambda seed: f"mutation{seed}")
def test_a_mutated_photo_gives_the_decode_ahead_the_outcome_of_the_usual_decode(seed, monkeypatch):
    monkeypatch.setattr(arriving, "START_AFTER", 4096)
    data = _mutated(seed)
    try:
        ahead, canonical = _decode_ahead(data, chunk=1500)
    except REFUSED_BEFORE_ANY_DECODE:  # the usual path refuses it the same way, before any decode
        return
    if ahead.decodes(canonical, data):
        assert _outcome(ahead.thumbnail) == _outcome(lambda: images.image_thumbnail(canonical))
    else:
        ahead.stop()


@pytest.mark.parametrize("name", ["baseline", "orientation_6", "restart_markers", "cmyk_adobe",
                                  "comment_after_tables", "app1_after_tables", "no_eoi", "cut_in_the_scan"])
def test_the_decode_ahead_is_used_where_the_canonical_bytes_are_its_first_part_and_the_rest(name, monkeypatch):
    monkeypatch.setattr(arriving, "START_AFTER", 20_000)
    data = JPEGS[name]
    ahead, canonical = _decode_ahead(data, chunk=4096)
    assert ahead.decodes(canonical, data)
    assert _outcome(ahead.thumbnail) == _outcome(lambda: images.image_thumbnail(canonical))


def _spy_decodes(monkeypatch):
    calls, real = [], images.image_thumbnail

    def image_thumbnail(source):
        calls.append(source)
        return real(source)

    monkeypatch.setattr(images, "image_thumbnail", image_thumbnail)
    return calls


@pytest.mark.parametrize("name", ["trailing_html", "jpeg_html_after_eoi", "jpeg_zip_after_eoi",
                                  "mpo_gps_and_make_in_second_frame", "ultra_hdr_gain_map"])
def test_the_decode_ahead_does_not_count_where_the_canonical_bytes_differ_from_what_it_read(name, monkeypatch):
    """Bytes after the image (a script, an archive, a second frame): the decoder read something that is not
    stored, so its thumbnail is not taken."""
    monkeypatch.setattr(arriving, "START_AFTER", 2000)  # past their header segments
    ahead, canonical = _decode_ahead(JPEGS[name], chunk=512)
    assert ahead._decode is not None  # it started on the first part
    assert not ahead.decodes(canonical, JPEGS[name])


def test_a_job_whose_time_runs_out_while_it_waits_for_the_thumbnail_ends_the_decode_too(monkeypatch):
    """RQ ends a job by raising JobTimeoutException from a signal handler in its main thread, here while that
    thread waits for the decode: the decode is stopped and waited for before the exception goes on."""
    import signal

    from rq.timeouts import JobTimeoutException

    monkeypatch.setattr(arriving, "START_AFTER", 20_000)
    real = images.image_thumbnail

    def slow_thumbnail(source):
        made = real(source)
        time.sleep(0.4)  # the decode's last stretch, which no read can cut short
        return made

    monkeypatch.setattr(images, "image_thumbnail", slow_thumbnail)
    ahead, canonical = _decode_ahead(JPEGS["baseline"], chunk=4096)
    assert ahead.decodes(canonical, JPEGS["baseline"])
    decode = ahead._decode

    def time_is_up(signum, frame):
        raise JobTimeoutException("the job exceeded its timeout")

    previous = signal.signal(signal.SIGALRM, time_is_up)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        with pytest.raises(JobTimeoutException):
            ahead.thumbnail()
        assert decode.done()  # nothing of the job runs on after it
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_stop_cancels_a_decode_no_thread_has_taken_yet(monkeypatch):
    """Every transfer thread is busy (inline jobs beside uploads): the job does not wait for a thread only for
    its decode to find the end."""
    monkeypatch.setattr(arriving, "START_AFTER", 20_000)
    busy = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(busy.wait, 5)
        ahead = arriving.DecodeAhead(pool, MAX_PIXELS)
        ahead.feed(JPEGS["baseline"][:30_000])
        decode = ahead._decode
        started = time.monotonic()
        ahead.stop()
        assert decode.cancelled() and time.monotonic() - started < 1
        busy.set()


def test_no_decode_starts_on_a_progressive_photo(monkeypatch):
    """libjpeg would hold the whole picture's coefficients from the first scan on, beside the file's bytes."""
    monkeypatch.setattr(arriving, "START_AFTER", 20_000)
    calls = _spy_decodes(monkeypatch)
    ahead, canonical = _decode_ahead(JPEGS["progressive"], chunk=4096)
    assert calls == [] and not ahead.decodes(canonical, JPEGS["progressive"])


def test_a_damaged_photo_raises_from_the_decode_ahead_as_from_the_usual_decode(monkeypatch):
    monkeypatch.setattr(arriving, "START_AFTER", 20_000)
    ahead, canonical = _decode_ahead(JPEGS["cut_in_the_scan"], chunk=4096)
    assert ahead.decodes(canonical, JPEGS["cut_in_the_scan"])
    with pytest.raises(OSError):
        images.image_thumbnail(canonical)
    with pytest.raises(OSError):
        ahead.thumbnail()


def test_no_decode_starts_on_a_header_over_the_pixel_cap(monkeypatch):
    monkeypatch.setattr(arriving, "START_AFTER", 20_000)
    calls = []
    monkeypatch.setattr(images, "image_thumbnail", lambda source: calls.append(source))
    ahead, canonical = _decode_ahead(JPEGS["baseline"], chunk=4096, max_pixels=900 * 700 - 1)
    assert not ahead.decodes(canonical, JPEGS["baseline"]) and calls == []


def test_no_decode_starts_on_what_is_not_a_jpeg(monkeypatch):
    monkeypatch.setattr(arriving, "START_AFTER", 100)
    calls = []
    monkeypatch.setattr(images, "image_thumbnail", lambda source: calls.append(source))
    ahead = arriving.DecodeAhead(transfers(), MAX_PIXELS)
    png = next(case.data for case in IMAGE_CASES if case.name.startswith("png"))
    for start in range(0, len(png), 300):
        ahead.feed(png[start:start + 300])
    ahead.arrived(png)
    assert calls == [] and not ahead.decodes(png, png)


def test_the_decode_waits_for_bytes_that_arrive_slowly(monkeypatch):
    """The rest arrives in small pieces with pauses: the decoder waits for each and reads them in order."""
    monkeypatch.setattr(arriving, "START_AFTER", 20_000)
    data = JPEGS["orientation_6"]
    ahead = arriving.DecodeAhead(transfers(), MAX_PIXELS)

    def arrive():
        for start in range(0, len(data), 8192):
            ahead.feed(data[start:start + 8192])
            time.sleep(0.002)
        ahead.arrived(data)

    sender = threading.Thread(target=arrive)
    sender.start()
    sender.join()
    canonical = images.canonical_image(data, "image/jpeg")
    assert ahead.decodes(canonical, data)
    assert ahead.thumbnail() == images.image_thumbnail(canonical)


def test_stop_ends_a_decode_still_waiting_for_bytes(monkeypatch):
    """The job fails half-way (the store drops the connection, a refusal, a timeout): the decode waiting for the
    rest finds the end at once, and stop returns when it has ended."""
    monkeypatch.setattr(arriving, "START_AFTER", 20_000)
    data = JPEGS["baseline"]
    ahead = arriving.DecodeAhead(transfers(), MAX_PIXELS)
    ahead.feed(data[:30_000])
    decode = ahead._decode
    while not decode.running():  # a transfer thread has taken it, and it waits for the rest
        time.sleep(0.001)
    assert not decode.done()
    ahead.stop()
    assert decode.done() and isinstance(decode.exception(), OSError)  # it read a truncated file


def _waiting_reader(stream, size):
    """A thread reading size bytes from stream, once it is seen waiting for them: (thread, what it got)."""
    got = []
    reader = threading.Thread(target=lambda: got.append(stream.read(size)))
    reader.start()
    time.sleep(0.05)
    assert got == []  # not all of them are there: it waits
    return reader, got


class TestArrivingBytes:
    def test_a_read_waits_for_the_bytes_it_asks_for(self):
        stream = arriving.ArrivingBytes(b"head")
        reader, got = _waiting_reader(stream, 10)
        stream.append(b"abc")
        time.sleep(0.05)
        assert got == []
        stream.append(b"defgh")
        reader.join(2)
        assert got == [b"headabcdef"] and stream.tell() == 10

    def test_after_the_end_a_read_returns_what_is_left(self):
        stream = arriving.ArrivingBytes(b"head")
        stream.append(b"tail")
        stream.end()
        assert stream.read(100) == b"headtail" and stream.read(1) == b""

    def test_seeking_to_the_end_waits_for_the_end(self):
        stream = arriving.ArrivingBytes(b"0123")
        ends = []
        reader = threading.Thread(target=lambda: ends.append(stream.seek(-2, io.SEEK_END)))
        reader.start()
        time.sleep(0.05)
        assert ends == []
        stream.append(b"4567")
        stream.end()
        reader.join(2)
        assert ends == [6] and stream.read() == b"67"

    def test_the_rest_as_one_object_reads_as_the_chunks_did(self):
        whole = bytes(range(256)) * 40
        stream = arriving.ArrivingBytes(b"HEAD")
        for start in range(1000, len(whole), 333):
            stream.append(whole[start:start + 333])
        stream.seek(2)
        assert stream.read(500) == b"AD" + whole[1000:1498]
        stream.rebase(b"HEAD", memoryview(whole)[1000:])  # the chunks are dropped; the same bytes are read from whole
        stream.end()
        assert stream._parts[1].obj is whole
        assert stream.read(700) == whole[1498:2198]
        stream.seek(0)
        assert stream.read() == b"HEAD" + whole[1000:]

    def test_a_reader_let_go_finds_the_end_at_once(self):
        stream = arriving.ArrivingBytes(b"head")
        reader, got = _waiting_reader(stream, 10)
        stream.let_go()
        reader.join(2)
        assert got == [b""] and stream.read(1) == b""
