"""The whole proof flow in Chromium, on the S3 provider: request with files, thumbnails, decision, download."""
import pytest

from portal.extensions import db
from portal.models import MediaObject, ShiftCancellation
from tests.badfiles import REFUSED
from tests.conftest import PASSWORD, World, Factory
from tests.media_fixtures import jpeg_bytes, pdf_bytes
from tests.media_fixtures import s3_provider  # noqa: F401  (this module's provider: S3 only)


@pytest.fixture
def people(media_app):
    return World(Factory())


@pytest.fixture
def files(tmp_path):
    jpeg, pdf, fake = tmp_path / "больничный.jpg", tmp_path / "справка.pdf", tmp_path / "note.jpg"
    jpeg.write_bytes(jpeg_bytes(size=(1200, 900)))
    pdf.write_bytes(pdf_bytes())
    fake.write_bytes(REFUSED["html named jpg"][0])
    return {"jpeg": jpeg, "pdf": pdf, "fake": fake}


def sign_in(page, base, user):
    page.goto(f"{base}/login")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def watch_progress(page):
    """Record every upload progress event, and whether the bar showed it, in sessionStorage (it survives
    the reload that follows a successful request)."""
    page.evaluate("""() => { sessionStorage.setItem('progress', '[]');
      document.addEventListener('htmx:xhr:progress', e => {
        const box = document.querySelector('[data-upload-status]');
        const bar = document.querySelector('#upload-progress');
        const seen = JSON.parse(sessionStorage.getItem('progress'));
        seen.push({loaded: e.detail.loaded, total: e.detail.total, visible: !box.hidden, value: bar.value});
        sessionStorage.setItem('progress', JSON.stringify(seen));
      }); }""")


def recorded_progress(page):
    return page.evaluate("JSON.parse(sessionStorage.getItem('progress') || '[]')")


def request_cancellation(page, base, employee, files_to_send, reason):
    sign_in(page, base, employee)
    page.goto(f"{base}/cancellations/")
    watch_progress(page)
    page.fill("#reason", reason)
    page.set_input_files("#proofs", [str(f) for f in files_to_send])
    page.click("#cancel-submit")


def wait_until(page, expression, timeout=15):
    """Poll a JS expression with page.evaluate (wait_for_function would eval inside the page, which our CSP forbids)."""
    import time

    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(100)


def loaded_images(page, selector):
    return page.eval_on_selector_all(selector, "imgs => imgs.map(i => i.complete && i.naturalWidth > 0)")


def test_employee_cancels_with_a_jpeg_and_a_pdf_and_sees_both_thumbnails(page, s3_live_server, people, files):
    request_cancellation(page, s3_live_server, people.a.emp1, [files["jpeg"], files["pdf"]], "Заболела")
    page.wait_for_selector("text=Your request was sent.")
    wait_until(page, "document.querySelectorAll('.proof img').length === 2 && "
                     "[...document.querySelectorAll('.proof img')].every(i => i.complete && i.naturalWidth > 0)")
    assert loaded_images(page, ".proof img") == [True, True]
    assert page.is_visible(".cancellation .badge-pending")
    assert "Заболела" in page.inner_text(".cancellation")


def test_upload_shows_a_progress_bar_that_reaches_the_end(page, s3_live_server, people, files):
    request_cancellation(page, s3_live_server, people.a.emp1, [files["jpeg"], files["pdf"]], "Progress please")
    page.wait_for_selector("text=Your request was sent.")
    progress = recorded_progress(page)
    assert progress, "no upload progress event was seen"
    assert all(p["visible"] for p in progress)  # the bar was on screen while the bytes went up
    assert progress[-1]["loaded"] == progress[-1]["total"] and progress[-1]["value"] == 100


def test_refused_fake_jpeg_shows_its_message_and_keeps_the_reason(page, s3_live_server, people, files):
    request_cancellation(page, s3_live_server, people.a.emp1, [files["jpeg"], files["fake"]], "Keep me")
    page.wait_for_selector("#form-feedback .file-errors")
    feedback = page.inner_text("#form-feedback")
    assert "note.jpg" in feedback and "This kind of file is not accepted" in feedback
    assert page.input_value("#reason") == "Keep me"
    assert page.evaluate("document.querySelector('#proofs').files.length") == 2  # the files are still chosen
    assert db.session.execute(db.select(db.func.count(MediaObject.id))).scalar() == 0


def test_owner_sees_the_thumbnail_from_the_store_and_approves_in_place(page, s3_live_server, people, files,
                                                                       s3_server):
    request_cancellation(page, s3_live_server, people.a.emp1, [files["jpeg"]], "Flu")
    page.wait_for_selector("text=Your request was sent.")
    page.context.clear_cookies()
    store_hits = []
    page.on("response", lambda r: store_hits.append(r.status) if r.url.startswith(s3_server.endpoint) else None)
    sign_in(page, s3_live_server, people.a.owner)
    week = people.a.shift1.starts_at.date().isoformat()
    page.goto(f"{s3_live_server}/shifts/?week={week}")
    card = f"#shift-{people.a.shift1.id}"
    assert page.locator(f"{card} .proof img").count() == 0  # the week's card is light: its files open on demand
    page.click(f"{card} .open-card")
    page.wait_for_selector(f"{card} .proof img")
    wait_until(page, f"[...document.querySelectorAll('{card} .proof img')].every(i => i.naturalWidth > 0)")
    assert loaded_images(page, f"{card} .proof img") == [True]
    assert 200 in store_hits  # the image bytes came from the S3 server, through a presigned URL
    url_before = page.url
    page.fill(f"{card} textarea[name=comment]", "Get well soon")
    page.once("dialog", lambda dialog: dialog.accept())  # a decision asks first
    page.click(f"{card} button.approve")
    page.wait_for_selector(f"{card} .badge-approved")
    page.wait_for_selector(f"#shift-status-{people.a.shift1.id}.badge-cancelled")  # the shift's status followed
    assert page.url == url_before  # decided in place, no navigation
    assert "Get well soon" in page.inner_text(card)
    db.session.expire_all()
    assert db.session.execute(db.select(ShiftCancellation)).scalar_one().status == "approved"


@pytest.mark.parametrize("server", ["live_server", pytest.param("s3_live_server", marks=pytest.mark.real_s3)])
def test_manager_downloads_the_pdf_with_the_same_bytes(page, request, people, files, server):
    """moto ignores the response-content-disposition a presigned URL asks for, so on moto the download is
    shown with the local provider (which honours it like S3 does); with TEST_S3=ceph it runs on the store."""
    base = request.getfixturevalue(server)
    request_cancellation(page, base, people.a.emp1, [files["pdf"]], "Note attached")
    page.wait_for_selector("text=Your request was sent.")
    page.context.clear_cookies()
    sign_in(page, base, people.a.manager)
    page.goto(f"{base}/cancellations/")
    with page.expect_download() as info:
        page.click(".proof-download")
    download = info.value
    assert download.suggested_filename == "справка.pdf"
    with open(download.path(), "rb") as handle:
        assert handle.read() == files["pdf"].read_bytes()


def test_an_upload_can_be_cancelled_and_keeps_the_form(page, s3_live_server, people, files):
    sign_in(page, s3_live_server, people.a.emp1)
    page.goto(f"{s3_live_server}/cancellations/")
    held = []  # hold the POST in the browser, as a slow phone connection would
    page.route("**/cancellations/", lambda route: held.append(route) if route.request.method == "POST"
               else route.continue_())
    page.fill("#reason", "Changed my mind")
    page.set_input_files("#proofs", [str(files["jpeg"])])
    page.click("#cancel-submit")
    wait_until(page, "!document.querySelector('[data-upload-status]').hidden")
    page.click("[data-upload-cancel]")
    wait_until(page, "document.querySelector('[data-upload-status]').hidden")
    for route in held:
        try:
            route.abort()
        except Exception:  # the browser already dropped it
            pass
    assert page.input_value("#reason") == "Changed my mind"
    assert page.evaluate("document.querySelector('#proofs').files.length") == 1
    assert db.session.execute(db.select(db.func.count(ShiftCancellation.id))).scalar() == 0
    assert not page.is_disabled("#cancel-submit")  # the form can be sent again
