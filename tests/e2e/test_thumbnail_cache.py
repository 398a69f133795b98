"""In Chromium, on the S3 provider (moto, or Ceph RGW with TEST_S3=ceph): the second load of a page with 20
thumbnails takes every thumbnail from the browser's cache; no request reaches the store and no byte comes from
it. Read from the DevTools protocol's Network events, which say for each request whether it was served from
the disk or memory cache and how many bytes came over the wire."""
import io
import time

import pytest

from portal.media.orchestrator import Upload
from tests.conftest import Factory
from tests.e2e.test_proof_flow import sign_in
from tests.media_fixtures import jpeg_bytes, store_proof
from tests.media_fixtures import s3_provider  # noqa: F401  (this module's provider: S3 only)

REQUESTS, PROOFS_EACH = 4, 5  # MEDIA_MAX_FILES is 5 a request: 20 thumbnails on the owner's page


@pytest.fixture
def owner_with_20_proofs(media_app):
    factory = Factory()
    owner = factory.business("Cache Co")
    for n in range(REQUESTS):
        employee = factory.user(owner, name=f"Worker {n}")
        cancellation = factory.cancellation(factory.shift(employee, title=f"Shift {n}"))
        for m in range(PROOFS_EACH):
            colour = (40 * n + 20, 30 * m + 10, 200)
            store_proof(cancellation, Upload(io.BytesIO(jpeg_bytes(size=(320, 240), color=colour)), f"p{m}.jpg"),
                        actor=employee)
    return owner


class NetworkLog:
    """Every request's last hop: its URL, whether a cache answered it, and the bytes it read from the network."""

    def __init__(self, page):
        self.requests = {}
        cdp = page.context.new_cdp_session(page)
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.requestServedFromCache", lambda e: self._get(e).update(cached="memory"))
        cdp.on("Network.responseReceived", self._received)
        cdp.on("Network.loadingFinished", lambda e: self._get(e).update(bytes=e["encodedDataLength"]))
        cdp.send("Network.enable")
        cdp.send("Network.setBlockedURLs", {"urls": ["https://cdn.jsdelivr.net/*"]})  # closed network
        self.cdp = cdp

    def _get(self, event):
        return self.requests.setdefault(event["requestId"], {"url": None, "cached": None, "bytes": 0})

    def _sent(self, event):
        """A request, or the next hop after a redirect (the same id): the hop before it no longer counts."""
        self._get(event).update(url=event["request"]["url"], cached=None, bytes=0)

    def _received(self, event):
        response = event["response"]
        entry = self._get(event)
        entry.update(url=response["url"], status=response["status"])
        if response.get("fromDiskCache"):
            entry["cached"] = "disk"

    def to(self, origin):
        """The requests whose last hop went to origin."""
        prefix = origin.rstrip("/") + "/"  # not another port that starts with the same digits
        return [r for r in self.requests.values() if r["url"] and r["url"].startswith(prefix)]

    def clear(self, cache=False):
        """Forget the requests seen so far (and empty the browser's cache, when asked)."""
        self.requests = {}
        if cache:
            self.cdp.send("Network.clearBrowserCache")


def _thumbnails_shown(page):
    return page.evaluate("""() => [...document.querySelectorAll('img[src*="/thumbnail"]')]
        .map(img => img.complete && img.naturalWidth > 0)""")


def _away_from_a_window_edge(media_app):
    """Start where both loads fall in one link window (half the owner's link lifetime, media/links.py), so the
    page is given the same links both times, as it is within a window."""
    window = max(1, media_app.config["MEDIA_URL_TTL_OWNER"] // 2)
    left = window - time.time() % window
    if left < 30:
        time.sleep(left + 0.5)


def test_second_load_of_20_thumbnails_fetches_nothing_from_the_store(browser, media_app, s3_live_server,
                                                                     owner_with_20_proofs):
    store = media_app.config["MEDIA_STORAGE_ENDPOINT"]
    # no context.route() here: Playwright turns the HTTP cache off while it intercepts requests
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        network = NetworkLog(page)
        sign_in(page, s3_live_server, owner_with_20_proofs)
        page.wait_for_load_state("networkidle")  # the home page shows some of the same thumbnails
        _away_from_a_window_edge(media_app)
        network.clear(cache=True)

        page.goto(f"{s3_live_server}/cancellations/", wait_until="networkidle")
        first = network.to(store)
        assert _thumbnails_shown(page) == [True] * 20
        assert len(first) == 20 and all(r["cached"] is None and r["bytes"] > 0 for r in first)  # the store sent them

        network.clear()
        page.goto(f"{s3_live_server}/cancellations/", wait_until="networkidle")
        assert _thumbnails_shown(page) == [True] * 20
        second = network.to(store)
        assert len(second) == 20  # the page asked for each thumbnail again ...
        reached = [r for r in second if r["cached"] is None]
        assert reached == []  # ... and the browser's cache answered every one
        assert sum(r["bytes"] for r in second) == 0
    finally:
        context.close()
