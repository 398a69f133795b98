"""The media endpoints: redirects to short-lived URLs that serve the right bytes, and what they audit."""
import io
import time
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from portal.extensions import db
from portal.media import storage
from portal.models import AuditEvent, MediaObject


def _actions():
    return [e.action for e in db.session.execute(db.select(AuditEvent).order_by(AuditEvent.id)).scalars()]


def _follow(client, response):
    assert response.status_code == 302
    return client.get(response.headers["Location"])


def test_view_redirects_to_the_file_inline_and_is_audited(client, auth, proofs):
    auth.login(proofs.a.manager)
    before = _actions()
    response = client.get(f"/media/{proofs.a.proof.id}/view")
    assert response.headers["Cache-Control"] == "no-store"
    served = _follow(client, response)
    assert served.data == storage().open(proofs.a.proof.storage_key).read()
    assert served.headers["Content-Disposition"] == "inline"
    assert _actions() == before + ["media.view"]


def test_download_carries_the_original_name_and_is_audited(client, auth, proofs):
    auth.login(proofs.a.owner)
    served = _follow(client, client.get(f"/media/{proofs.a.proof.id}/download"))
    assert served.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%D1%81%D0%BF%D1%80%D0%B0%D0%B2%D0%BA%D0%B0.jpg" in served.headers["Content-Disposition"]
    event = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "media.download")).scalar_one()
    assert (event.actor_id, event.shift_id, event.media_id) == (proofs.a.owner.id, proofs.a.shift1.id,
                                                                 proofs.a.proof.id)


def test_thumbnail_is_a_webp_and_is_not_audited(client, auth, proofs):
    auth.login(proofs.a.emp1)
    before = _actions()
    served = _follow(client, client.get(f"/media/{proofs.a.proof.id}/thumbnail"))
    assert served.headers["Content-Type"] == "image/webp" and served.data[8:12] == b"WEBP"
    assert _actions() == before


def test_link_lifetime_follows_the_viewer_role(client, auth, proofs, app):
    for who, setting in [(proofs.a.owner, "MEDIA_URL_TTL_OWNER"), (proofs.a.emp1, "MEDIA_URL_TTL_EMPLOYEE")]:
        auth.login(who)
        location = client.get(f"/media/{proofs.a.proof.id}/view").headers["Location"]
        expires = int(parse_qs(urlsplit(location).query)["expires"][0])
        assert abs(expires - time.time() - app.config[setting]) <= 3
        auth.logout()


def test_pages_hold_app_urls_never_presigned_ones(client, auth, proofs):
    auth.login(proofs.a.owner)
    for path in (f"/shifts/?open={proofs.a.shift1.id}", "/cancellations/", f"/shifts/{proofs.a.shift1.id}"):
        page = client.get(path).get_data(as_text=True)
        assert f"/media/{proofs.a.proof.id}/thumbnail" in page
        assert "signature=" not in page and "X-Amz-" not in page


def test_a_page_left_open_an_hour_still_shows_its_thumbnail(client, auth, proofs, monkeypatch):
    import portal.media.local as local

    auth.login(proofs.a.owner)
    page = client.get(f"/shifts/?open={proofs.a.shift1.id}").get_data(as_text=True)
    thumb_url = f"/media/{proofs.a.proof.id}/thumbnail"
    assert thumb_url in page
    link_at_load = client.get(thumb_url).headers["Location"]
    real_time = time.time
    monkeypatch.setattr(local.time, "time", lambda: real_time() + 3600)  # an hour later
    assert client.get(link_at_load).status_code == 403  # a presigned URL kept in the page would be dead
    assert _follow(client, client.get(thumb_url)).status_code == 200  # the page's app URL still works


def test_deleted_proof_is_404(client, auth, proofs):
    from tests.media_fixtures import remove_proof

    remove_proof(proofs.a.proof, actor=proofs.a.emp1)
    auth.login(proofs.a.owner)
    assert client.get(f"/media/{proofs.a.proof.id}/view").status_code == 404


def test_a_jpeg_sent_as_html_downloads_with_the_jpeg_extension_and_without_the_page(client, auth, world):
    from tests.conftest import Factory
    from tests.media_fixtures import jpeg_bytes

    cancellation = Factory().cancellation(world.a.shift1)
    polyglot = jpeg_bytes() + b"<html><script>alert(document.cookie)</script></html>"
    auth.login(world.a.emp1)
    response = client.post(f"/cancellations/{cancellation.id}/proofs", content_type="multipart/form-data", data={
        "csrf_token": auth.csrf_token("/cancellations/"), "proofs": [(io.BytesIO(polyglot), "больничный.html")]})
    assert response.status_code == 303
    media = db.session.execute(db.select(MediaObject).where(MediaObject.subject_id == cancellation.id)).scalar_one()
    assert media.original_filename == "больничный.html.jpg"
    auth.logout()
    auth.login(world.a.manager)
    served = _follow(client, client.get(f"/media/{media.id}/download"))
    assert b"<script" not in served.data and served.data.endswith(b"\xff\xd9")
    disposition = served.headers["Content-Disposition"]
    assert 'filename="bol_nichnyy.html.jpg"' in disposition
    assert disposition.endswith(quote("больничный.html.jpg", safe=""))

@pytest.mark.parametrize("purpose", ["view", "download"])
@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_navigation_from_another_site_gets_a_button_and_writes_no_event(client, auth, proofs, purpose, site):
    auth.login(proofs.a.manager)
    before = _actions()
    url = f"/media/{proofs.a.proof.id}/{purpose}"
    response = client.get(url, headers={"Sec-Fetch-Site": site, "Sec-Fetch-Mode": "navigate"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert f'<form method="get" action="{url}">' in page and "справка.jpg" in page
    assert "Location" not in response.headers and "X-Amz-Signature" not in page and "signature=" not in page
    assert _actions() == before


@pytest.mark.parametrize("site", ["same-origin", "none", None])
def test_our_own_pages_typed_addresses_and_old_browsers_go_straight_to_the_file(client, auth, proofs, site):
    auth.login(proofs.a.manager)
    before = _actions()
    headers = {"Sec-Fetch-Site": site} if site else {}
    response = client.get(f"/media/{proofs.a.proof.id}/download", headers=headers)
    assert response.status_code == 302
    assert _actions() == before + ["media.download"]


def test_a_thumbnail_from_another_site_stays_a_plain_redirect(client, auth, proofs):
    auth.login(proofs.a.manager)
    response = client.get(f"/media/{proofs.a.proof.id}/thumbnail", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 302


def test_the_button_page_of_a_foreign_proof_is_a_404_like_any_other(client, auth, proofs):
    auth.login(proofs.b.manager)
    response = client.get(f"/media/{proofs.a.proof.id}/download", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 404 and "справка.jpg" not in response.get_data(as_text=True)


def test_the_api_refuses_a_request_started_by_another_site_and_writes_no_event(client, auth, proofs):
    auth.login(proofs.a.owner)
    before = _actions()
    response = client.get(f"/api/shifts/{proofs.a.shift1.id}/media", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "cross_site"
    assert _actions() == before


def test_a_thumbnail_redirect_is_privately_cacheable_and_the_same_for_everyone_of_a_role(client, auth, proofs, app,
                                                                                        monkeypatch):
    import re
    from types import SimpleNamespace

    from portal.media import links
    from tests.conftest import Factory

    # Both viewers ask within one window (on a slow machine the two requests could straddle a window's edge).
    frozen = time.time()
    monkeypatch.setattr(links, "time", SimpleNamespace(time=lambda: frozen))
    second_manager = Factory().user(proofs.a.owner, "manager")
    locations = []
    for viewer in (proofs.a.manager, second_manager):
        auth.login(viewer)
        response = client.get(f"/media/{proofs.a.proof.id}/thumbnail")
        assert response.status_code == 302
        cache = response.headers["Cache-Control"]
        assert cache.startswith("private, max-age=")
        max_age = int(re.search(r"max-age=(\d+)", cache).group(1))
        assert 0 < max_age <= app.config["MEDIA_URL_TTL_MANAGER"]  # never beyond the role's link lifetime
        locations.append(response.headers["Location"])
        auth.logout()
    assert locations[0] == locations[1]  # one link for the window: the browser's cached image is used again
    expires = int(parse_qs(urlsplit(locations[0]).query)["expires"][0])
    assert expires <= time.time() + app.config["MEDIA_URL_TTL_MANAGER"]
    served = client.get(locations[0])
    assert served.status_code == 200 and served.headers["Cache-Control"].startswith("private, max-age=")


def test_view_and_download_redirects_are_never_cached(client, auth, proofs):
    auth.login(proofs.a.owner)
    for purpose in ("view", "download"):
        response = client.get(f"/media/{proofs.a.proof.id}/{purpose}")
        assert response.status_code == 302 and response.headers["Cache-Control"] == "no-store"
