"""The job's one decode of a JPEG, started while the rest of the photo still arrives from the store.

The thumbnail's decode is the one that proves the stored file whole, so it must read the stored (canonical)
bytes. Those are known only once the whole photo has arrived, but for almost every JPEG they are the canonical
form of its first part followed by the rest of it as it came: the metadata to cut sits in front of the image
data. So the decode starts on exactly that sequence after the first part has arrived, and its thumbnail counts
only if the canonical bytes, made from the whole photo as before, turn out to be that very sequence (otherwise
the photo is decoded again the usual way). Either way the decoder has read the bytes that are stored.
"""
import bisect
import io
import threading

from PIL import Image

from . import images, validation

# How much of a photo must have arrived before the decode starts: the JPEG's header segments (EXIF is at most
# 64 KiB) and the start of its image data.
START_AFTER = 256 * 1024


class ArrivingBytes(io.RawIOBase):
    """A readable, seekable file over bytes that are still arriving: a read waits until the bytes it asks for
    are there, the input has ended (then it returns what there is), or the reader was let go (then it finds the
    end at once)."""

    def __init__(self, first):
        super().__init__()
        self._parts, self._ends, self._pos = [], [], 0  # _ends: where each part ends in the stream
        self._ended = self._let_go = False
        self._changed = threading.Condition()
        self.append(first)

    def append(self, chunk):
        with self._changed:
            self._parts.append(memoryview(chunk))
            self._ends.append(self._size + len(chunk))
            self._changed.notify_all()

    @property
    def _size(self):
        return self._ends[-1] if self._ends else 0

    def end(self):
        """No more bytes will come."""
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def rebase(self, *parts):
        """Read from now on from parts, which hold exactly the bytes of this stream in order: what it was made of
        so far (the chunks it arrived in, say) can then be freed."""
        with self._changed:
            self._parts, self._ends, end = [], [], 0
            for part in map(memoryview, parts):
                end += len(part)
                self._parts.append(part)
                self._ends.append(end)

    def let_go(self):
        with self._changed:
            self._let_go = True
            self._changed.notify_all()

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self._pos

    def seek(self, offset, whence=io.SEEK_SET):
        if whence == io.SEEK_END:
            with self._changed:
                self._changed.wait_for(lambda: self._ended or self._let_go)
                offset += self._size
        elif whence == io.SEEK_CUR:
            offset += self._pos
        if offset < 0:
            raise ValueError("negative seek position")
        self._pos = offset
        return offset

    def readinto(self, buffer):
        wanted = len(buffer)
        with self._changed:
            self._changed.wait_for(lambda: self._size >= self._pos + wanted or self._ended or self._let_go)
            if self._let_go:
                return 0
            done, pos = 0, self._pos
            index = bisect.bisect_right(self._ends, pos)
            while done < wanted and index < len(self._parts):
                part = self._parts[index]
                start = pos - (self._ends[index] - len(part))
                taken = part[start:start + wanted - done]
                buffer[done:done + len(taken)] = taken
                done, pos, index = done + len(taken), pos + len(taken), index + 1
        self._pos = pos
        return done


class DecodeAhead:
    """Feed it a JPEG's chunks as they arrive; once START_AFTER bytes are there, the thumbnail's decode starts on
    the canonical form of that first part followed by the chunks still to come. Once the whole file is there,
    decodes() tells whether its canonical bytes are what the decode reads; if so, thumbnail() gives their
    thumbnail (or raises what decoding them raises). stop() ends the decode on any other way out."""

    def __init__(self, pool, max_pixels):
        self._pool, self._max_pixels = pool, max_pixels
        self._waiting, self._waiting_size = [], 0
        self._stream = self._decode = self._head = None
        self._offset = 0

    def feed(self, chunk):
        if self._stream is not None:
            self._stream.append(chunk)
        elif self._waiting is not None:
            self._waiting.append(chunk)
            self._waiting_size += len(chunk)
            if self._waiting_size >= START_AFTER:
                self._start(b"".join(self._waiting))
                self._waiting = None

    def _start(self, first):
        cut = len(first)
        while cut and first[cut - 1] == 0xFF:  # a marker may be cut in two here: its first byte comes with the rest
            cut -= 1
        try:
            head = images.canonical_image(first[:cut], "image/jpeg")
            validation.check_image_header(head, "image/jpeg", self._max_pixels)  # nothing larger is decoded
            with Image.open(io.BytesIO(head)) as image:
                if image.info.get("progressive"):
                    # libjpeg keeps a progressive photo's coefficients for the whole picture until its last scan:
                    # decoded while it arrives, that buffer would sit beside the file and its canonical copy
                    return
        except Exception:  # not a JPEG this can start on (the whole file is checked as usual when it has arrived)
            return
        self._head, self._offset = head, cut
        self._stream = ArrivingBytes(head)
        if cut < len(first):
            self._stream.append(first[cut:])
        self._decode = self._pool.submit(images.image_thumbnail, self._stream)

    def arrived(self, data):
        """The whole file has arrived as data (the chunks fed, joined)."""
        if self._stream is not None:  # read from data, and the chunks can go
            self._stream.rebase(self._head, memoryview(data)[self._offset:])
            self._stream.end()
        self._waiting = None

    def decodes(self, canonical, data):
        """Whether the decode reads exactly the canonical bytes made of data; if not, it is stopped."""
        if self._decode is None:
            return False
        head, self._head = self._head, None
        if len(canonical) - len(head) == len(data) - self._offset and canonical.startswith(head) \
                and canonical.startswith(memoryview(data)[self._offset:], len(head)):
            self._stream.rebase(canonical)  # the same bytes: data is no longer needed for the decode
            return True
        self.stop()
        return False

    def thumbnail(self):
        """The thumbnail, or what its decode raised (what decoding the canonical bytes raises)."""
        try:
            thumbnail = self._decode.result()
        except BaseException:
            if not self._decode.done():  # the wait itself was cut short (the job's time ran out)
                self.stop()
            raise
        finally:
            self._stream = self._decode = None
        return thumbnail

    def stop(self):
        """Let the decode go (a read finds the end, so it stops at its next read) and wait for it to end; one that
        has not started yet never starts."""
        decode, stream = self._decode, self._stream
        self._stream = self._decode = self._waiting = self._head = None
        if stream is not None:
            stream.let_go()
        if decode is not None and not decode.cancel():
            decode.exception()  # whatever it raised is of no use now
