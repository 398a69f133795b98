"""Direct upload in Chromium: the photo and the PDF go from the browser straight to the store with a progress bar
each; a cancelled upload leaves nothing; the request reaches the manager once processed. moto by default, Ceph RGW
with TEST_S3=ceph (the bucket's CORS rule comes from `flask media init` with MEDIA_CORS_ORIGINS)."""
import io
import os
from urllib.parse import urlsplit

import pytest
from PIL import Image

from portal.extensions import db
from portal.media import keys, storage
from portal.models import MediaObject, ShiftCancellation, UploadSlot
from tests.conftest import Factory, World
from tests.e2e.test_proof_flow import sign_in, wait_until
from tests.media_fixtures import pdf_bytes
from tests.media_fixtures import s3_provider  # noqa: F401  (this module's provider: S3 only)


@pytest.fixture
def people(media_app):
    return World(Factory())


@pytest.fixture
def direct(media_app, s3_live_server):
    """Direct upload on, and the bucket's CORS rule for the page's origin, as `flask media init` sets it."""
    media_app.config["MEDIA_DIRECT_UPLOAD"] = True
    lines = dict(storage().setup({**media_app.config, "MEDIA_CORS_ORIGINS": s3_live_server}))
    assert lines["cors"] == f"POST from {s3_live_server}"
    return s3_live_server


@pytest.fixture
def files(tmp_path):
    photo, pdf = tmp_path / "photo.jpg", tmp_path / "note.pdf"
    buffer = io.BytesIO()
    Image.frombytes("RGB", (3300, 2500), os.urandom(3300 * 2500 * 3)).save(buffer, "JPEG", quality=95)
    photo.write_bytes(buffer.getvalue())
    pdf.write_bytes(pdf_bytes())
    return {"photo": photo, "pdf": pdf}


# Each file's percentages as the page showed them, kept in sessionStorage (it survives the redirect that follows).
WATCH = """() => { sessionStorage.setItem('seen', '{}');
  new MutationObserver(() => {
    const seen = JSON.parse(sessionStorage.getItem('seen'));
    document.querySelectorAll('[data-direct-progress] li').forEach(li => {
      const name = li.querySelector('progress').getAttribute('aria-label');
      const value = li.querySelector('progress').value;
      seen[name] = (seen[name] || []).concat(seen[name] && seen[name].slice(-1)[0] === value ? [] : [value]);
    });
    sessionStorage.setItem('seen', JSON.stringify(seen));
  }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
}"""


def throttle_uploads(page, bytes_per_second):
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                      "uploadThroughput": bytes_per_second})


def test_a_10_mb_photo_and_a_pdf_go_straight_to_the_store_with_progress_each(page, direct, people, files):
    assert 9_000_000 < files["photo"].stat().st_size <= 10 * 1024 * 1024
    throttle_uploads(page, 8 * 1024 * 1024)  # about a second for the photo: progress has something to show
    sign_in(page, direct, people.a.emp1)
    page.goto(f"{direct}/cancellations/")
    page.evaluate(WATCH)
    page.fill("#reason", "Ill")
    page.set_input_files("#proofs", [str(files["photo"]), str(files["pdf"])])
    page.click("#cancel-submit")
    page.wait_for_selector("text=Your request was sent.", timeout=60000)
    seen = page.evaluate("JSON.parse(sessionStorage.getItem('seen'))")
    assert set(seen) == {"photo.jpg", "note.pdf"}
    assert seen["photo.jpg"][-1] == 100 and len(seen["photo.jpg"]) > 2, seen  # the photo's bar moved on its own
    assert seen["note.pdf"][-1] == 100
    db.session.expire_all()
    rows = db.session.execute(db.select(MediaObject)).scalars().all()
    assert sorted(row.original_filename for row in rows) == ["note.pdf", "photo.jpg"]
    assert all(row.status == "ready" for row in rows)
    assert db.session.execute(db.select(ShiftCancellation)).scalar_one().submitted_at is not None
    manager = page.context.browser.new_context(locale="en-US").new_page()
    sign_in(manager, direct, people.a.manager)
    manager.goto(f"{direct}/cancellations/")
    assert manager.locator(f"text={people.a.emp1.display_name}").count() >= 1
    assert manager.locator("img.thumb, .proofs img").count() >= 2
    manager.context.close()


def test_an_upload_cancelled_midway_leaves_nothing(page, direct, people, files):
    throttle_uploads(page, 256 * 1024)  # ~40 s for the photo: time enough to press Cancel
    sign_in(page, direct, people.a.emp1)
    page.goto(f"{direct}/cancellations/")
    page.fill("#reason", "Ill")
    page.set_input_files("#proofs", [str(files["photo"])])
    page.click("#cancel-submit")
    page.wait_for_selector("[data-direct-progress] li progress")
    wait_until(page, "Number(document.querySelector('[data-direct-progress] progress').value) > 0", timeout=30)
    page.click("[data-direct-progress] li button")
    page.wait_for_selector("[data-direct-progress] li.not-sent")
    page.wait_for_timeout(1000)  # were anything still to be sent, it would be sent by now
    db.session.expire_all()
    assert db.session.execute(db.select(MediaObject)).first() is None
    assert db.session.execute(db.select(ShiftCancellation)).first() is None
    assert list(storage().iter_objects(keys.INCOMING_PREFIX)) == []
    assert page.locator("#cancel-submit").is_enabled()


def test_a_store_the_browser_cannot_reach_sends_the_files_through_the_portal(page, direct, people, files):
    """A missing CORS rule or a proxy in the way must cost speed, not the upload: the form goes through the app."""
    slot_urls = []
    page.on("request", lambda request: slot_urls.append(request.url) if request.url.endswith("/uploads/slots") else None)
    store = urlsplit(storage().upload_slot("incoming/0/probe", content_type="image/jpeg", max_bytes=1, metadata={},
                                           expires_in=60).url)
    page.route(f"{store.scheme}://{store.netloc}/**", lambda route: route.abort("connectionrefused"))
    sign_in(page, direct, people.a.emp1)
    page.goto(f"{direct}/cancellations/")
    page.fill("#reason", "Ill")
    page.set_input_files("#proofs", [str(files["pdf"])])
    page.click("#cancel-submit")
    page.wait_for_selector("text=Your request was sent.", timeout=60000)
    assert slot_urls  # the direct way was tried first
    db.session.expire_all()
    row = db.session.execute(db.select(MediaObject)).scalar_one()
    assert row.original_filename == "note.pdf" and row.status == "ready"
    assert db.session.execute(db.select(UploadSlot.claimed_at)).scalar_one() is None  # the slot was never named
