"""Sign-in in a real browser, with htmx loaded from the pinned copy when the CDN is unreachable."""
from tests.conftest import PASSWORD


def sign_in(page, base, user):
    page.goto(f"{base}/login")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def test_employee_signs_in_and_sees_their_shift(page, live_server, world):
    sign_in(page, live_server, world.a.emp1)
    page.wait_for_selector("text=My upcoming shifts")
    page.wait_for_load_state("load")  # the scripts sit at the end of the body
    assert page.is_visible(f"text={world.a.shift1.title}")
    assert not page.is_visible(f"text={world.a.shift2.title}")
    assert page.evaluate("typeof window.htmx") == "object"  # the vendored fallback took over


def test_wrong_password_shows_the_message_and_keeps_the_email(page, live_server, world):
    page.goto(f"{live_server}/login")
    page.fill("#email", world.a.emp1.email)
    page.fill("#password", "nope")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Wrong email or password")
    assert page.input_value("#email") == world.a.emp1.email


def test_owner_signs_out_with_the_header_button(page, live_server, world):
    sign_in(page, live_server, world.a.owner)
    page.wait_for_selector("text=Waiting for your decision")
    page.click("text=Sign out")
    page.wait_for_selector("text=You are signed out.")
    page.goto(live_server + "/")
    assert "/login" in page.url
