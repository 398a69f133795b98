"""In Chromium: photo proofs open in a keyboard-friendly lightbox, through the audited /media/<id>/view URL."""
import io

from portal.extensions import db
from portal.media.orchestrator import Upload
from portal.models import AuditEvent
from tests.media_fixtures import jpeg_bytes, store_proof

from .test_login_flow import sign_in
from .test_proof_flow import wait_until


def test_the_owner_steps_through_photo_proofs_with_the_keyboard(page, live_server, proofs):
    second = store_proof(proofs.a.cancellation, Upload(io.BytesIO(jpeg_bytes()), "second.jpg"), actor=proofs.a.emp1)
    db.session.commit()
    sign_in(page, live_server, proofs.a.owner)
    page.wait_for_url(f"{live_server}/")
    page.wait_for_load_state("load")
    first_link = f"#proofs-{proofs.a.cancellation.id} a[data-lightbox]"
    page.focus(first_link)
    page.keyboard.press("Enter")
    page.wait_for_selector("#lightbox[open]")
    image = "#lightbox [data-lightbox-image]"
    wait_until(page, f"document.querySelector('{image}').naturalWidth > 0")
    assert page.get_attribute(image, "src").endswith(f"/media/{proofs.a.proof.id}/view")
    assert len(page.context.pages) == 1  # no new tab
    page.keyboard.press("ArrowRight")
    assert page.get_attribute(image, "src").endswith(f"/media/{second.id}/view")
    assert "2/2" in page.inner_text("#lightbox figcaption")
    assert page.get_attribute("#lightbox [data-lightbox-download]", "href").endswith(f"/media/{second.id}/download")
    page.keyboard.press("ArrowLeft")
    assert page.get_attribute(image, "src").endswith(f"/media/{proofs.a.proof.id}/view")
    page.keyboard.press("Escape")
    page.wait_for_selector("#lightbox:not([open])", state="attached")
    db.session.expire_all()
    viewed = db.session.execute(db.select(AuditEvent.media_id).where(AuditEvent.action == "media.view")).scalars()
    assert {proofs.a.proof.id, second.id} <= set(viewed)  # every photo shown was an audited view
