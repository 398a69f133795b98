"""In Chromium: a decision asks before it is sent, and a proof the browser can tell is refused is never sent."""
from portal.extensions import db
from portal.models import ShiftCancellation
from tests.conftest import Factory
from tests.media_fixtures import jpeg_bytes

from .test_login_flow import sign_in


def _posts_to(page, path):
    """Record every POST the page sends to a URL containing path."""
    sent = []
    page.on("request", lambda request: sent.append(request.url) if request.method == "POST" and path in request.url
            else None)
    return sent


def _status(cancellation):
    db.session.expire_all()
    return db.session.get(ShiftCancellation, cancellation.id).status


def test_a_dismissed_confirm_sends_no_decision_and_an_accepted_one_does(page, live_server, world):
    cancellation = Factory().cancellation(world.a.shift1)
    sign_in(page, live_server, world.a.owner)
    card = f"#cancellation-{cancellation.id}"
    page.wait_for_selector(f"{card} button.reject")
    page.wait_for_load_state("load")
    sent = _posts_to(page, "/decide")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.click(f"{card} button.reject")
    page.wait_for_timeout(300)  # give a wrongly sent request the time to leave
    assert questions and "Reject" in questions[0] and sent == [] and _status(cancellation) == "pending"
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.click(f"{card} button.reject")
    page.wait_for_selector(f"{card} .badge-rejected")
    assert len(sent) == 1 and _status(cancellation) == "rejected"


def test_an_oversized_proof_is_refused_at_the_field_before_any_byte_is_sent(app, page, live_server, world, tmp_path):
    big = tmp_path / "IMG_big.jpg"
    big.write_bytes(jpeg_bytes() + b"\0" * (app.config["MEDIA_MAX_UPLOAD_BYTES"] + 1))
    sign_in(page, live_server, world.a.emp1)
    page.goto(f"{live_server}/cancellations/")
    page.wait_for_load_state("load")
    sent = _posts_to(page, "/cancellations/")
    page.fill("#reason", "Flu")
    page.set_input_files("#proofs", [str(big)])
    page.click("#cancel-submit")
    message = page.wait_for_selector("#proofs-check:not([hidden])")
    assert "IMG_big.jpg" in message.inner_text() and "10 MB" in message.inner_text()
    assert page.get_attribute("#proofs", "aria-invalid") == "true"
    page.wait_for_timeout(300)
    assert sent == []
    assert db.session.execute(db.select(ShiftCancellation)).first() is None


def test_a_file_of_a_refused_type_is_not_sent_to_a_pending_request(page, live_server, world, tmp_path):
    cancellation = Factory().cancellation(world.a.shift1)
    text = tmp_path / "notes.txt"
    text.write_text("not a photo")
    sign_in(page, live_server, world.a.emp1)
    page.goto(f"{live_server}/cancellations/")
    page.wait_for_load_state("load")
    sent = _posts_to(page, "/proofs")
    page.set_input_files(f"#cancellation-{cancellation.id} input[type=file]", [str(text)])
    message = page.wait_for_selector(f"#cancellation-{cancellation.id} [data-file-check]:not([hidden])")
    assert "notes.txt" in message.inner_text() and "PDF" in message.inner_text()
    page.wait_for_timeout(300)
    assert sent == []


def _small_jpeg(tmp_path):
    photo = tmp_path / "note.jpg"
    photo.write_bytes(jpeg_bytes())
    return str(photo)


def test_a_missing_reason_is_marked_at_its_field_and_gets_the_focus(page, live_server, world, tmp_path):
    sign_in(page, live_server, world.a.emp1)
    page.goto(f"{live_server}/cancellations/")
    page.wait_for_load_state("load")
    page.set_input_files("#proofs", [_small_jpeg(tmp_path)])
    page.click("#cancel-submit")
    page.wait_for_selector("#reason[aria-invalid=true]")
    assert "Write a short reason." in page.inner_text("#reason-errors")
    assert page.evaluate("document.activeElement.id") == "reason"


def test_a_shift_requested_in_another_tab_says_so_at_the_shift(page, live_server, world, tmp_path):
    sign_in(page, live_server, world.a.emp1)
    page.goto(f"{live_server}/cancellations/")
    page.wait_for_load_state("load")
    Factory().cancellation(world.a.shift1)  # the other tab was quicker
    page.select_option("#shift_id", str(world.a.shift1.id))
    page.fill("#reason", "Flu")
    page.set_input_files("#proofs", [_small_jpeg(tmp_path)])
    page.click("#cancel-submit")
    page.wait_for_selector("#shift_id[aria-invalid=true]")
    assert "This shift already has a request." in page.inner_text("#shift_id-errors")
    assert page.evaluate("document.activeElement.id") == "shift_id"
