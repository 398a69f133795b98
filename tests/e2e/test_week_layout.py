"""In Chromium: at 1366 px, in Russian, a week of shift cards where nothing overflows, wraps or is cut short; on a
phone, by keyboard alone, a request card opens and is decided."""
import io

from portal.extensions import db
from portal.media.orchestrator import Upload
from tests.media_fixtures import jpeg_bytes, store_proof

from .test_login_flow import sign_in

LONG_NAME = "IMG_20261123_101522_HDR.jpg"


def test_the_desktop_week_fits_its_columns(page, live_server, proofs):
    store_proof(proofs.a.cancellation, Upload(io.BytesIO(jpeg_bytes()), LONG_NAME), actor=proofs.a.emp1)
    proofs.a.owner.language = "ru"
    db.session.commit()
    page.set_viewport_size({"width": 1366, "height": 800})
    sign_in(page, live_server, proofs.a.owner)
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/shifts/?week={proofs.a.shift1.starts_at.date().isoformat()}")
    card = f"#shift-{proofs.a.shift1.id}"
    page.click(f"{card} .open-card")
    page.wait_for_selector(f"{card} .proof img")
    layout = page.evaluate("""card => {
      const el = document.querySelector(card);
      const oneLine = e => e.getClientRects().length === 1 && e.getBoundingClientRect().height < 2 * parseFloat(getComputedStyle(e).fontSize);
      const label = el.querySelector('.decide label');
      return {
        labelFits: label.scrollWidth <= label.clientWidth + 1,
        badgesOneLine: [...el.querySelectorAll('.badge')].every(oneLine),
        timeOneLine: oneLine(el.querySelector('.shift-card-head strong')),
        thumbs: [...el.querySelectorAll('.proof img')].map(i => i.getBoundingClientRect().width),
        fit: getComputedStyle(el.querySelector('.proof img')).objectFit,
        names: [...el.querySelectorAll('.proof-name')].map(n => [n.title, n.scrollWidth <= n.clientWidth + 1]),
        cardFits: el.scrollWidth <= el.clientWidth + 1,
      };
    }""", card)
    assert layout["labelFits"] and layout["badgesOneLine"] and layout["timeOneLine"] and layout["cardFits"], layout
    assert min(layout["thumbs"]) >= 96 and layout["fit"] == "contain", layout
    assert [LONG_NAME, True] in layout["names"], layout  # wrapped, not cut; the title holds it whole


def test_on_a_phone_a_card_opens_and_is_decided_by_keyboard_alone(page, live_server, proofs):
    page.set_viewport_size({"width": 375, "height": 740})
    sign_in(page, live_server, proofs.a.manager)
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/shifts/?week={proofs.a.shift1.starts_at.date().isoformat()}")
    card = f"#shift-{proofs.a.shift1.id}"
    opener = page.locator(f"{card} .open-card")
    assert opener.bounding_box()["width"] <= 375 and opener.bounding_box()["height"] >= 32  # a finger's target
    opener.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{card} .proof img")
    # the focus went into the opened card: Tab reaches the comment, then Approve, without the mouse
    assert page.evaluate(f"document.querySelector('{card}').contains(document.activeElement)")
    for _ in range(10):
        if page.evaluate("document.activeElement.name") == "comment":
            break
        page.keyboard.press("Tab")
    page.keyboard.type("Get well soon")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.value") == "approve"
    page.once("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{card} .badge-approved")
    assert page.evaluate(f"(el => el.scrollWidth <= el.clientWidth + 1)(document.querySelector('{card}'))")
