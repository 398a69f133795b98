"""GET /api/shifts/<id>/media: the JSON shape, working URLs until they expire, and JSON errors."""
import time

from tests.media_fixtures import pdf_bytes, store_proof


def test_owner_gets_each_proof_with_urls_and_expiry(client, auth, proofs):
    auth.login(proofs.a.owner)
    response = client.get(f"/api/shifts/{proofs.a.shift1.id}/media")
    assert response.status_code == 200 and response.is_json
    payload = response.get_json()
    assert payload["shift_id"] == proofs.a.shift1.id
    [item] = payload["media"]
    assert item["id"] == proofs.a.proof.id and item["content_type"] == "image/jpeg"
    assert item["original_filename"] == "справка.jpg" and item["size"] == proofs.a.proof.size
    assert item["uploaded_by"] == {"id": proofs.a.emp1.id, "name": proofs.a.emp1.display_name, "role": "employee"}
    assert item["uploaded_at"].endswith("Z") and item["download_expires_at"].endswith("Z")
    served = client.get(item["download_url"])
    assert served.status_code == 200 and len(served.data) == proofs.a.proof.size
    assert client.get(item["thumbnail_url"]).headers["Content-Type"] == "image/webp"


def test_urls_stop_working_after_their_lifetime(client, auth, proofs, app):
    # a link's expiry is a whole second, so it is good for 2 to 3 s: room for a busy machine to fetch it once
    app.config["MEDIA_URL_TTL_MANAGER"] = 3
    auth.login(proofs.a.manager)
    item = client.get(f"/api/shifts/{proofs.a.shift1.id}/media").get_json()["media"][0]
    assert client.get(item["download_url"]).status_code == 200
    time.sleep(4.1)
    assert client.get(item["download_url"]).status_code == 403


def test_errors_are_json_with_a_stable_shape(client, auth, proofs):
    assert client.get(f"/api/shifts/{proofs.a.shift1.id}/media").get_json() == {
        "error": {"code": "unauthorized", "message": "Sign in first."}}
    auth.login(proofs.b.owner)
    response = client.get(f"/api/shifts/{proofs.a.shift1.id}/media")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    missing = client.get("/api/shifts/999999/media")
    assert missing.get_json() == response.get_json()


def test_shift_without_requests_has_an_empty_list(client, auth, proofs):
    auth.login(proofs.a.owner)
    assert client.get(f"/api/shifts/{proofs.a.shift2.id}/media").get_json()["media"] == []


def test_several_proofs_are_all_listed(client, auth, proofs):
    import io

    from portal.media import orchestrator
    from portal.media.orchestrator import Upload

    store_proof(proofs.a.cancellation, Upload(io.BytesIO(pdf_bytes()), "b.pdf"),
                                            actor=proofs.a.emp1)
    auth.login(proofs.a.manager)
    names = [m["original_filename"] for m in client.get(f"/api/shifts/{proofs.a.shift1.id}/media").get_json()["media"]]
    assert names == ["справка.jpg", "b.pdf"]


def test_api_answers_are_not_cached(client, auth, proofs):
    auth.login(proofs.a.owner)
    assert client.get(f"/api/shifts/{proofs.a.shift1.id}/media").headers["Cache-Control"] == "no-store"


def test_a_withdrawn_requests_proofs_are_hidden_from_the_api_and_the_cards_but_kept(client, auth, proofs):
    from portal import cancellations
    from portal.extensions import db
    from portal.models import AuditEvent, MediaObject

    cancellations.withdraw(proofs.a.cancellation, actor=proofs.a.emp1)
    db.session.commit()
    thumbnail = f"/media/{proofs.a.proof.id}/thumbnail"
    auth.login(proofs.a.owner)
    assert client.get(f"/api/shifts/{proofs.a.shift1.id}/media").get_json()["media"] == []
    for page in ("/cancellations/?status=withdrawn", f"/shifts/{proofs.a.shift1.id}", "/shifts/",
                 f"/shifts/?open={proofs.a.shift1.id}",
                 f"/shifts/?week={proofs.a.shift1.starts_at.date().isoformat()}"):
        assert thumbnail not in client.get(page).get_data(as_text=True), page
    assert "kept for the audit" in client.get("/cancellations/?status=withdrawn").get_data(as_text=True)
    auth.logout()
    auth.login(proofs.a.emp1)
    assert thumbnail not in client.get("/cancellations/").get_data(as_text=True)
    kept = db.session.get(MediaObject, proofs.a.proof.id)
    assert kept is not None and kept.status == "ready"  # the row and the object stay, for the audit
    assert db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "media.upload",
                                                          AuditEvent.media_id == kept.id)).scalar_one()
