"""After N uploads the dashboard, `flask media stats --json` and /metrics agree with each other and the bucket."""
import io
import json
import re

import pytest

from portal.extensions import db
from portal.media import orchestrator
from portal.media.orchestrator import Upload
from tests.conftest import IsolatedClient, World, Factory, csrf_token_from
from tests.media_fixtures import jpeg_bytes, pdf_bytes, store_proof

QUOTA = 2_000_000


@pytest.fixture
def uploaded(media_app):
    media_app.config["MEDIA_STORAGE_QUOTA_BYTES"] = QUOTA
    world = World(Factory())
    factory = Factory()
    for business, count in ((world.a, 3), (world.b, 2)):
        cancellation = factory.cancellation(business.shift1)
        for index in range(count):
            data = pdf_bytes() if index % 2 else jpeg_bytes(color=(index * 40, 10, 10))
            store_proof(cancellation, Upload(io.BytesIO(data), f"{index}.bin"),
                                                    actor=business.emp1)
    return world


def stats(media_app, *args):
    result = media_app.test_cli_runner().invoke(args=["media", "stats", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def metric(text, name, business):
    match = re.search(rf'^{name}{{business="{business}"}} (\S+)$', text, re.M)
    assert match, f"{name} for {business} missing"
    return float(match.group(1))


def test_database_bucket_metrics_and_dashboard_agree(media_app, uploaded):
    from_db, from_bucket = stats(media_app), stats(media_app, "--bucket")
    by_owner = {row["owner_id"]: row for row in from_db["businesses"]}
    assert from_db["total"]["objects"] == from_bucket["total"]["objects"] == 10  # 5 files + 5 thumbnails
    assert from_db["total"]["bytes"] == from_bucket["total"]["bytes"]
    assert {r["owner_id"]: (r["objects"], r["bytes"]) for r in from_bucket["businesses"]} == \
        {oid: (r["objects"], r["bytes"]) for oid, r in by_owner.items()}
    a = by_owner[uploaded.a.owner.id]
    assert a["objects"] == 6 and a["fill_percent"] == pytest.approx(100 * a["bytes"] / QUOTA, abs=0.001)

    client = media_app.test_client()
    text = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_data(as_text=True)
    assert metric(text, "portal_media_objects", uploaded.a.owner.id) == a["objects"]
    assert metric(text, "portal_media_bytes", uploaded.a.owner.id) == a["bytes"]
    assert metric(text, "portal_media_fill_ratio", "total") == pytest.approx(from_db["total"]["bytes"] / QUOTA)

    media_app.test_client_class = IsolatedClient
    owner = media_app.test_client()
    token = csrf_token_from(owner.get("/login").get_data(as_text=True))
    owner.post("/login", data={"email": uploaded.a.owner.email, "password": "correct horse battery",
                               "csrf_token": token})
    page = owner.get("/storage/").get_data(as_text=True)
    assert f'data-figure="objects">{a["objects"]}<' in page
    assert f'data-bytes="{a["bytes"]}"' in page
    assert f'data-figure="fill">{a["fill_percent"]:.2f} %<' in page


def test_daily_figures_count_uploads_and_rejections(media_app, uploaded):
    from portal import audit

    audit.record("media.reject", actor=uploaded.a.emp1, owner_id=uploaded.a.owner.id, detail={"code": "type"})
    db.session.commit()
    today = stats(media_app)["days"][-1]
    assert today["uploads"] == 5 and today["rejections"] == 1 and today["bytes"] > 0


def test_upload_counters_and_histogram_move(media_app, uploaded):
    text = media_app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_data(as_text=True)
    assert re.search(r'^portal_uploads_total{result="stored"} [1-9]', text, re.M)
    assert re.search(r"^portal_upload_duration_seconds_count [1-9]", text, re.M)
    assert re.search(r"^portal_upload_bytes_total [1-9]", text, re.M)


@pytest.mark.parametrize("address,header,status", [
    ("127.0.0.1", None, 200), ("203.0.113.9", None, 404), ("203.0.113.9", "Bearer s3cret-token", 200),
    ("203.0.113.9", "Bearer wrong", 404)])
def test_metrics_need_an_allowed_network_or_the_token(media_app, address, header, status):
    media_app.config["METRICS_TOKEN"] = "s3cret-token"
    headers = {"Authorization": header} if header else {}
    response = media_app.test_client().get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": address})
    assert response.status_code == status


def test_a_non_ascii_authorization_header_is_just_refused(media_app):
    media_app.config["METRICS_TOKEN"] = "tok"
    response = media_app.test_client().get("/metrics", headers={"Authorization": "Bearer ключ"},
                                           environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 404
