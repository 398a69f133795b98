"""The data-protection page, holds on the shift page and the erase step, on the local store (S3: storage/)."""
import json
from datetime import timedelta

from portal import retention
from portal.extensions import db
from portal.media import storage
from portal.models import AuditEvent, LegalHold, utcnow


def test_retention_months_are_bounded_saved_and_audited(client, auth, world):
    auth.login(world.a.owner)
    token = auth.csrf_token("/settings/data/")
    for bad in ("0", "121", "twelve", "", "99999999999999999999"):
        response = client.post("/settings/data/retention", data={"csrf_token": token, "months": bad})
        assert response.status_code == 422, bad
    assert client.post("/settings/data/retention", data={"csrf_token": token, "months": "6"}).status_code == 303
    db.session.expire_all()
    assert world.a.owner.retention_months == 6 and world.b.owner.retention_months is None
    event = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "privacy.retention")).scalar_one()
    assert event.detail == {"months": 6, "from": 12} and event.actor_id == world.a.owner.id
    assert "deleted for good 6 months after the decision" in client.get("/settings/data/").get_data(as_text=True)


def test_the_owner_holds_and_releases_a_request_from_the_shift_page(client, auth, proofs):
    shift_page, request_id = f"/shifts/{proofs.a.shift1.id}", proofs.a.cancellation.id
    auth.login(proofs.a.owner)
    token = auth.csrf_token(shift_page)
    assert client.post(f"/settings/data/holds/{request_id}", data={"csrf_token": token, "reason": " "}).status_code == 303
    assert db.session.execute(db.select(LegalHold)).first() is None  # a hold needs its reason
    client.post(f"/settings/data/holds/{request_id}", data={"csrf_token": token, "reason": "Claim no. 5"})
    assert "Claim no. 5" in client.get(shift_page).get_data(as_text=True)
    assert "Claim no. 5" in client.get("/settings/data/").get_data(as_text=True)
    auth.logout()
    auth.login(proofs.a.manager)
    page = client.get(shift_page).get_data(as_text=True)
    assert "Claim no. 5" in page and "/release" not in page  # the manager sees the hold, only the owner acts
    auth.logout()
    auth.login(proofs.a.emp1)
    assert "Claim no. 5" not in client.get(shift_page).get_data(as_text=True)
    auth.logout()
    auth.login(proofs.a.owner)
    client.post(f"/settings/data/holds/{request_id}/release", data={"csrf_token": auth.csrf_token("/settings/data/")})
    assert retention.active_hold(request_id) is None
    actions = db.session.execute(db.select(AuditEvent.action).where(AuditEvent.action.like("privacy.%"))
                                 .order_by(AuditEvent.id)).scalars().all()
    assert actions == ["privacy.hold", "privacy.release"]


def test_the_erase_page_shows_why_it_is_refused(client, auth, proofs):
    retention.place_hold(proofs.a.cancellation, "Court request no. 7", actor=proofs.a.owner)
    db.session.commit()
    auth.login(proofs.a.owner)
    page = client.get(f"/settings/data/erase/{proofs.a.emp1.id}").get_data(as_text=True)
    assert "erase-refused" in page and "Court request no. 7" in page and 'name="confirm"' not in page
    assert client.get(f"/settings/data/erase/{proofs.a.owner.id}").status_code == 404


def test_retention_on_the_local_store_removes_the_file_and_its_folder_backup(app, proofs, tmp_path):
    backup = tmp_path / "backup"
    app.config["BACKUP_TARGETS"] = [str(backup)]
    assert app.test_cli_runner().invoke(args=["media", "backup", "--to", str(backup)]).exit_code == 0
    proof, cancellation = proofs.a.proof, proofs.a.cancellation
    cancellation.status, cancellation.decided_at = "rejected", utcnow() - timedelta(days=366)
    db.session.commit()
    output = app.test_cli_runner().invoke(args=["media", "retention"]).output
    assert "1 file(s) deleted for good." in output
    assert not storage().exists(proof.storage_key) and not storage().exists(proof.thumbnail_key)
    assert not (backup / proof.storage_key).exists() and not (backup / proof.thumbnail_key).exists()
    manifest = json.loads((backup / "backup-manifest.json").read_text())
    assert proof.storage_key not in {entry["key"] for entry in manifest["objects"]}
    assert (backup / proofs.b.proof.storage_key).exists() and storage().exists(proofs.b.proof.storage_key)
