"""After sign-out, the browser keeps no htmx history snapshot of a page with a sick-note reason."""
from tests.conftest import Factory
from tests.e2e.test_login_flow import sign_in

REASON = "Migraine, note from the clinic attached"


def _stored(page):
    """Everything the page's origin keeps in sessionStorage and localStorage, as text."""
    return page.evaluate("JSON.stringify([Object.entries(sessionStorage), Object.entries(localStorage)])")


def test_no_htmx_history_snapshot_with_health_data_survives_sign_out(page, live_server, world):
    Factory().cancellation(world.a.shift1, reason=REASON)
    sign_in(page, live_server, world.a.manager)
    page.wait_for_selector("text=Waiting for your decision")
    page.goto(f"{live_server}/cancellations/")
    page.wait_for_selector(f"text={REASON}")
    page.wait_for_load_state("load")
    page.select_option("select[name=status]", "pending")  # htmx swaps the list and pushes the URL
    page.wait_for_url("**status=pending**")
    page.wait_for_selector(f"text={REASON}")
    assert REASON not in _stored(page)  # the page before the filter was not snapshotted
    page.click("text=Sign out")
    page.wait_for_selector("text=You are signed out.")
    stored = _stored(page)
    assert REASON not in stored and "htmx-history-cache" not in stored


def test_sign_out_clears_what_the_browser_kept_for_the_site(page, live_server, world):
    """Clear-Site-Data: a snapshot kept by an older page (or another tab's htmx) is gone after sign-out."""
    sign_in(page, live_server, world.a.manager)
    page.wait_for_selector("text=Waiting for your decision")
    page.evaluate("""reason => {
        sessionStorage.setItem("htmx-history-cache", JSON.stringify([{url: "/cancellations/", content: reason}]));
        localStorage.setItem("kept", reason);
    }""", REASON)
    assert REASON in _stored(page)
    page.click("text=Sign out")
    page.wait_for_selector("text=You are signed out.")
    assert REASON not in _stored(page)
