"""axe-core in Chromium on every page (site_pages.VISITS) for each role that sees it, in Russian and English,
on a phone and a desktop: no serious or critical violation. Then the keyboard: every control on the main
pages is reached with Tab and shows where the focus is, and the lightbox keeps and returns the focus.

axe is injected with Playwright's init script (the DevTools protocol's "evaluate on new document"), which a
page's Content-Security-Policy does not govern, so the pages are checked with their real CSP on, the one
that forbids inline scripts; a context with bypass_csp would check a page the portal never serves."""
import io
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlparse

import pikepdf
import pytest

from portal import api_tokens, cancellations
from portal.accounts import links
from portal.extensions import db
from portal.media.orchestrator import Upload
from portal.media.validation import ValidationError
from tests.conftest import Factory
from tests.media_fixtures import jpeg_bytes, pdf_bytes, store_proof

from .site_pages import VISITS, unchecked_routes
from .test_login_flow import sign_in

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 800}}
ROLES = ("anonymous", "employee", "manager", "owner")


def test_every_route_is_checked_or_explained(app):
    missing, stale = unchecked_routes(app.url_map)
    assert missing == [], f"add a Visit to tests/e2e/site_pages.py (or a reason to NOT_PAGES) for {missing}"
    assert stale == [], f"NOT_PAGES names routes that no longer exist: {stale}"
    assert all(visit.roles and set(visit.roles) <= set(ROLES) for visit in VISITS)


@pytest.fixture
def site(proofs, tmp_path, app):
    """Business A as its people see it: a pending request with a photo and a PDF, one whose PDF was refused,
    a decided one, a free shift, someone invited, an API token; the files the forms are given."""
    a, factory = proofs.a, Factory()
    app.config["MAX_CONTENT_LENGTH"] = 256 * 1024  # the 413 page then takes a small body to show (pages say MB)
    store_proof(a.cancellation, Upload(io.BytesIO(pdf_bytes()), "больничный.pdf"), actor=a.emp1)
    refused = factory.cancellation(factory.shift(a.emp1, starts_in=timedelta(days=2)))
    empty = io.BytesIO()
    pikepdf.new().save(empty)
    with pytest.raises(ValidationError):
        store_proof(refused, Upload(io.BytesIO(empty.getvalue()), "scan.pdf"), actor=a.emp1)
    decided = factory.cancellation(a.shift2)
    store_proof(decided, Upload(io.BytesIO(jpeg_bytes()), "note.jpg"), actor=a.emp2)
    cancellations.decide(decided, True, "Get well", actor=a.manager)
    free = factory.shift(a.emp1, starts_in=timedelta(days=3))
    invited = factory.user(a.owner, name="Invited Person", password_hash=None)
    api_tokens.issue(a.owner.id, "Main shift app", actor=a.owner)
    db.session.commit()
    photo, csv = tmp_path / "note.jpg", tmp_path / "week.csv"
    photo.write_bytes(jpeg_bytes())
    csv.write_text(f"email;date;start;end;place\n{a.emp1.email};02.03.2026;09:00;17:00;Bar\n"
                   f"nobody@example.com;31.02.2026;25:00;17:00;Hall\n", encoding="utf-8")
    return SimpleNamespace(
        people={"employee": a.emp1, "manager": a.manager, "owner": a.owner}, shift=a.shift1.id,
        cancellation=a.cancellation.id, proof=a.proof.id, shift_free=free.id, colleague=a.emp2.id,
        invitation=links.make_token(invited, "invitation"), reset=links.make_token(a.emp2, "reset"),
        photo=str(photo), csv=str(csv), max_bytes=app.config["MAX_CONTENT_LENGTH"])


def _context(browser, viewport, language):
    """A context at the viewport, in the language, with axe on every page; the CDN is unreachable."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make test` installs it (npm ci in tests/e2e/axe)")
    context = browser.new_context(viewport=VIEWPORTS[viewport], locale={"ru": "ru-RU", "en": "en-US"}[language])
    context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())
    context.add_init_script(path=str(AXE))
    context.set_default_timeout(10_000)
    return context


def _axe(page):
    """Serious and critical axe violations of the page as it is now, one line each."""
    page.wait_for_load_state("load")
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:4]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def _endpoint(app, page, method):
    """The endpoint that serves the page's URL with this method (None for a URL no route serves)."""
    adapter = app.url_map.bind("localhost")
    try:
        return adapter.match(urlparse(page.url).path, method=method)[0]
    except Exception:  # NotFound: an error page for a URL that no route serves
        return None


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize("role", ROLES)
def test_no_serious_accessibility_violation_on_any_page(app, browser, live_server, site, role, language, viewport):
    person = site.people.get(role)
    if person:
        person.language = language
        db.session.commit()
    context = _context(browser, viewport, language)
    page = context.new_page()
    if person:
        sign_in(page, live_server, person)
        page.wait_for_url(f"{live_server}/")
    found = {}
    for visit in (v for v in VISITS if role in v.roles):
        visit.open(page, live_server, site)
        assert _endpoint(app, page, visit.method) == visit.endpoint, (visit.name, page.url)
        assert page.evaluate("document.documentElement.lang") == language, (visit.name, page.url)
        violations = _axe(page)
        if violations:
            found[visit.name] = violations
    context.close()
    assert found == {}, found


CONTROLS = """() => [...document.querySelectorAll(
  'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex="-1"])')]
  .filter(e => !e.disabled && !e.closest('[hidden], dialog:not([open]), [inert]') && e.getClientRects().length
          && getComputedStyle(e).visibility !== 'hidden')
  .map((e, i) => { e.dataset.control = i; return e.outerHTML.slice(0, 90); })"""


def _tab_walk(page, limit=300):
    """Press Tab until the focus comes back round: each stop's data-control number and whether a focus
    ring shows (an outline of 2 px or more, or a box shadow)."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate("""() => {
          const e = document.activeElement;
          if (!e || e === document.body) return null;
          const s = getComputedStyle(e);
          const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none';
          return {control: e.dataset.control === undefined ? e.outerHTML.slice(0, 90) : Number(e.dataset.control),
                  ring, what: e.outerHTML.slice(0, 90)};
        }""")
        if stop and stops and stop["control"] == stops[0]["control"]:
            break
        if stop:
            stops.append(stop)
    return stops


MAIN_PAGES = {"employee": ["/", "/cancellations/", "/account/"],
              "owner": ["/", "/cancellations/", "/shifts/", "/shifts/new", "/shifts/import", "/audit/", "/storage/",
                        "/staff/", "/settings/api-tokens/", "/account/"]}


@pytest.mark.parametrize("role", MAIN_PAGES)
def test_every_control_is_reached_with_tab_and_shows_the_focus(browser, live_server, site, role):
    context = _context(browser, "desktop", "en")
    page = context.new_page()
    sign_in(page, live_server, site.people[role])
    page.wait_for_url(f"{live_server}/")
    problems = {}
    for path in MAIN_PAGES[role]:
        page.goto(live_server + path)
        page.wait_for_load_state("load")
        controls = page.evaluate(CONTROLS)
        stops = _tab_walk(page)
        reached = {stop["control"] for stop in stops}
        missed = [html for number, html in enumerate(controls) if number not in reached]
        no_ring = [stop["what"] for stop in stops if not stop["ring"]]
        if missed or no_ring or not controls:
            problems[path] = {"not reached": missed, "no focus ring": no_ring, "controls": len(controls)}
    context.close()
    assert problems == {}, problems


def _owners_home(browser, live_server, site):
    """A desktop context with the owner signed in and their home loaded."""
    context = _context(browser, "desktop", "en")
    page = context.new_page()
    sign_in(page, live_server, site.people["owner"])
    page.wait_for_url(f"{live_server}/")
    page.wait_for_load_state("load")
    return context, page


def test_the_lightbox_keeps_the_focus_inside_and_gives_it_back(browser, live_server, site):
    context, page = _owners_home(browser, live_server, site)
    opener = f"#proofs-{site.cancellation} a[data-lightbox]"
    page.focus(opener)
    page.keyboard.press("Enter")
    page.wait_for_selector("#lightbox[open]")
    inside = [page.evaluate("!!document.activeElement.closest('#lightbox')")]
    for _ in range(12):  # more presses than the dialog has controls: the focus must wrap, never leave
        page.keyboard.press("Tab")
        inside.append(page.evaluate("!!document.activeElement.closest('#lightbox')"))
    page.keyboard.press("Shift+Tab")
    inside.append(page.evaluate("!!document.activeElement.closest('#lightbox')"))
    assert all(inside), inside
    page.keyboard.press("Escape")
    page.wait_for_selector("#lightbox:not([open])", state="attached")
    assert page.evaluate(f"document.activeElement === document.querySelector('{opener}')")
    context.close()


def test_a_dismissed_decision_confirm_gives_the_focus_back_to_its_button(browser, live_server, site):
    context, page = _owners_home(browser, live_server, site)
    button = f"#cancellation-{site.cancellation} button.approve"
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.type), dialog.dismiss()))
    page.focus(button)
    page.keyboard.press("Enter")  # the confirm is the browser's own modal: it holds the focus while open
    page.wait_for_timeout(200)
    assert questions == ["confirm"]
    assert page.evaluate(f"document.activeElement === document.querySelector('{button}')")
    context.close()
