"""The audit log: the right person, shift and address for each action, behind a proxy too, and its CSV."""
import csv
import io

from portal.extensions import db
from portal.models import AuditEvent
from tests.conftest import IsolatedClient, csrf_token_from, make_app


def test_upload_download_and_decision_are_logged_with_user_shift_and_ip(client, auth, proofs):
    auth.login(proofs.a.manager)
    client.get(f"/media/{proofs.a.proof.id}/download", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    token = csrf_token_from(client.get("/cancellations/").get_data(as_text=True))
    client.post(f"/cancellations/{proofs.a.cancellation.id}/decide", data={
        "csrf_token": token, "decision": "approve"}, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    events = db.session.execute(db.select(AuditEvent).where(AuditEvent.owner_id == proofs.a.owner.id)
                                .order_by(AuditEvent.id)).scalars().all()
    summary = [(e.action, e.actor_id, e.shift_id, e.ip) for e in events]
    assert summary[0][:3] == ("media.upload", proofs.a.emp1.id, proofs.a.shift1.id)
    assert summary[1:] == [("media.download", proofs.a.manager.id, proofs.a.shift1.id, "203.0.113.7"),
                           ("cancellation.approve", proofs.a.manager.id, proofs.a.shift1.id, "203.0.113.7")]
    page = client.get("/audit/").get_data(as_text=True)
    assert "Downloaded a file" in page and "Approved a cancellation" in page and "203.0.113.7" in page


def test_behind_one_trusted_proxy_the_client_address_is_logged(database_url, tmp_path, proofs):
    app = make_app(database_url, tmp_path, PROXY_FIX_X_FOR=1)
    app.test_client_class = IsolatedClient
    proxied = app.test_client()
    headers = {"X-Forwarded-For": "198.51.100.23", "X-Forwarded-Proto": "http"}
    token = csrf_token_from(proxied.get("/login", headers=headers).get_data(as_text=True))
    proxied.post("/login", headers=headers, data={"email": proofs.a.owner.email, "password": "correct horse battery",
                                                  "csrf_token": token})
    proxied.get(f"/media/{proofs.a.proof.id}/view", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    event = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "media.view")).scalar_one()
    assert event.ip == "198.51.100.23"


def test_without_a_trusted_proxy_forwarded_headers_are_ignored(client, auth, proofs):
    auth.login(proofs.a.owner)
    client.get(f"/media/{proofs.a.proof.id}/view", headers={"X-Forwarded-For": "6.6.6.6"},
               environ_base={"REMOTE_ADDR": "192.0.2.1"})
    event = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "media.view")).scalar_one()
    assert event.ip == "192.0.2.1"


def test_csv_export_has_a_bom_one_header_row_and_cyrillic_intact(client, auth, proofs):
    auth.login(proofs.a.owner)
    client.get(f"/media/{proofs.a.proof.id}/download")
    response = client.get("/audit/export.csv")
    assert response.headers["Content-Type"].startswith("text/csv")
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0][:5] == ["time_utc", "actor", "actor_email", "role", "action"]
    assert sum(1 for r in rows if r[0] == "time_utc") == 1
    actions = [r[4] for r in rows[1:]]
    assert actions == ["media.download", "media.upload"]
    assert any("справка.jpg" in r[9] for r in rows[1:])


def test_filters_narrow_the_log(client, auth, proofs):
    auth.login(proofs.a.owner)
    client.get(f"/media/{proofs.a.proof.id}/view")
    only_views = client.get("/audit/?action=media.view").get_data(as_text=True)
    assert "1 event" in only_views
    by_actor = client.get(f"/audit/export.csv?actor={proofs.a.emp1.id}").data.decode("utf-8-sig")
    assert [r[4] for r in csv.reader(io.StringIO(by_actor))][1:] == ["media.upload"]


def test_the_app_has_no_route_that_edits_or_deletes_events(app):
    audit_rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/audit")]
    assert audit_rules and all(r.methods <= {"GET", "HEAD", "OPTIONS"} for r in audit_rules)


def test_csv_cells_cannot_become_spreadsheet_formulas(client, auth, proofs):
    auth.login(proofs.a.owner)
    client.get(f"/media/{proofs.a.proof.id}/view", headers={"User-Agent": '=HYPERLINK("http://evil","x")'})
    text = client.get("/audit/export.csv").data.decode("utf-8-sig")
    agents = [row[8] for row in csv.reader(io.StringIO(text))][1:]
    assert "'=HYPERLINK(\"http://evil\",\"x\")" in agents and not any(a.startswith("=") for a in agents)
