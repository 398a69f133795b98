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
    from portal.media import daily

    daily.record_rejection(actor=uploaded.a.emp1, owner_id=uploaded.a.owner.id, detail={"code": "type"})
    db.session.commit()
    today = stats(media_app)["days"][-1]
    assert today["uploads"] == 5 and today["rejections"] == 1 and today["bytes"] > 0


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Europe/Moscow", "America/Anchorage"])
def test_the_series_over_every_business_reaches_each_business_s_own_today(media_app, zone):
    # a business's figures are kept on its own calendar days: east of UTC, its today is UTC's tomorrow for part
    # of each day (Moscow from 21:00 UTC, Kiritimati from 10:00), and the series once stopped at UTC's today
    from zoneinfo import ZoneInfo

    from portal.days import today_in
    from portal.media import daily

    owner = Factory().business("Far East", tz=zone)
    daily.record_rejection(actor=owner, owner_id=owner.id, detail={"code": "type"})
    db.session.commit()
    days = {day["day"]: day for day in stats(media_app)["days"]}
    assert days[today_in(ZoneInfo(zone)).isoformat()]["rejections"] == 1


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


def _kept(owner_id):
    from portal.media import counters

    return counters.kept(owner_id).get(owner_id, (0, 0))


def test_counters_move_with_delete_and_restore_in_the_same_transaction(media_app, uploaded):
    from portal.media.backup import undelete_rows
    from portal.models import MediaObject

    owner_id = uploaded.a.owner.id
    before = _kept(owner_id)
    row = db.session.execute(db.select(MediaObject).where(MediaObject.owner_id == owner_id)).scalars().first()
    size = row.size + row.thumbnail_size
    assert orchestrator().hide_media(row, actor=uploaded.a.emp1)
    db.session.commit()
    assert _kept(owner_id) == (before[0] - 2, before[1] - size)
    assert not orchestrator().hide_media(row, actor=uploaded.a.emp1)  # a second delete (another tab) counts nothing
    db.session.commit()
    assert _kept(owner_id) == (before[0] - 2, before[1] - size)
    for key in (row.storage_key, row.thumbnail_key):  # the objects are back (as a restore brings them)
        orchestrator().storage.put(key, io.BytesIO(b"x"), content_type="image/jpeg", metadata={})
    assert undelete_rows(orchestrator().storage, [row.storage_key]) == [row]
    db.session.rollback()  # the restore's transaction fails: the counters stay as the rows are
    assert _kept(owner_id) == (before[0] - 2, before[1] - size)
    undelete_rows(orchestrator().storage, [row.storage_key])
    db.session.commit()
    assert _kept(owner_id) == before


def test_verify_finds_a_wrong_counter_and_fix_sets_it_from_the_rows(media_app, uploaded):
    from portal.models import BusinessStorage

    owner_id = uploaded.a.owner.id
    right = _kept(owner_id)
    db.session.execute(db.update(BusinessStorage).where(BusinessStorage.owner_id == owner_id)
                       .values(objects=99, bytes=12345))
    db.session.commit()
    runner = media_app.test_cli_runner()
    report = runner.invoke(args=["media", "verify", "--quick"])
    assert f"counter_mismatch   business {owner_id}" in report.output and "99 objects" in report.output
    assert stats(media_app)["total"]["objects"] == 99 + 4  # the figures read the counters, not the rows
    fixed = runner.invoke(args=["media", "verify", "--quick", "--fix"])
    assert f"fixed counter_mismatch: business {owner_id}" in fixed.output
    assert _kept(owner_id) == right
    assert "0 finding(s)." in runner.invoke(args=["media", "verify", "--quick"]).output


def _at(monkeypatch, module, moment):
    import importlib

    # by the module itself: `portal.media.orchestrator` as a dotted name is the package's function of that name
    monkeypatch.setattr(importlib.import_module(f"portal.media.{module}"), "utcnow", lambda: moment)


def _store_at(monkeypatch, cancellation, actor, moments):
    for index, moment in enumerate(moments):
        _at(monkeypatch, "orchestrator", moment)
        store_proof(cancellation, Upload(io.BytesIO(jpeg_bytes(color=(index * 30, 90, 10))), f"{index}.jpg"),
                    actor=actor)


def test_daily_series_counts_by_local_day_across_a_clock_change(media_app, uploaded, monkeypatch):
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from portal.media import daily
    from portal.media.stats import daily_activity

    # Berlin moved its clocks back on 2026-10-25 (a 25-hour day) and forward on 2026-03-29 (23 hours).
    factory, berlin = Factory(), ZoneInfo("Europe/Berlin")
    owner = factory.business("Berlin Bakery", tz="Europe/Berlin")
    cancellation = factory.cancellation(factory.shift(factory.user(owner)))
    _store_at(monkeypatch, cancellation, cancellation.employee, [
        datetime(2026, 10, 24, 22, 30, tzinfo=timezone.utc),   # 25 Oct 00:30 local (+02:00)
        datetime(2026, 10, 25, 22, 30, tzinfo=timezone.utc),   # 25 Oct 23:30 local (+01:00)
        datetime(2026, 10, 25, 23, 30, tzinfo=timezone.utc)])  # 26 Oct 00:30 local
    for moment in (datetime(2026, 3, 28, 23, 30, tzinfo=timezone.utc),   # 29 Mar 00:30 local (+01:00)
                   datetime(2026, 3, 29, 21, 30, tzinfo=timezone.utc),   # 29 Mar 23:30 local (+02:00)
                   datetime(2026, 3, 29, 22, 30, tzinfo=timezone.utc)):  # 30 Mar 00:30 local
        _at(monkeypatch, "daily", moment)
        daily.record_rejection(actor=cancellation.employee, owner_id=owner.id, detail={"code": "type"})
    db.session.commit()
    monkeypatch.setattr("portal.days.utcnow", lambda: datetime(2026, 10, 27, 12, tzinfo=timezone.utc))
    days = {d["day"]: d["uploads"] for d in daily_activity(owner.id, days=5, tz=berlin)}
    assert days == {"2026-10-23": 0, "2026-10-24": 0, "2026-10-25": 2, "2026-10-26": 1, "2026-10-27": 0}
    spring = {d["day"]: d["rejections"] for d in daily_activity(owner.id, days=240, tz=berlin)
              if "2026-03-28" <= d["day"] <= "2026-03-31"}
    assert spring == {"2026-03-28": 0, "2026-03-29": 2, "2026-03-30": 1, "2026-03-31": 0}
    assert daily.mismatches() == {}  # the rows, counted by their own local day, agree with what was kept


def _days(owner_id):
    from portal.media import daily

    return daily.kept(owner_id)


def test_verify_finds_a_wrong_daily_count_and_fix_rebuilds_it_from_the_rows(media_app, uploaded):
    from portal.models import BusinessDay

    owner_id, other = uploaded.a.owner.id, uploaded.b.owner.id
    right, others = _days(owner_id), _days(other)
    assert sum(figures[0] for figures in right.values()) == 3
    db.session.execute(db.update(BusinessDay).where(BusinessDay.owner_id == owner_id).values(uploads=7, rejections=2))
    db.session.execute(db.delete(BusinessDay).where(BusinessDay.owner_id == other))
    db.session.commit()
    assert stats(media_app)["days"][-1]["uploads"] == 7  # the series reads the roll-up, not the rows
    runner = media_app.test_cli_runner()
    report = runner.invoke(args=["media", "verify", "--quick"]).output
    assert f"daily_mismatch     business {owner_id}" in report and "counted 7 uploads" in report
    assert f"daily_mismatch     business {other}" in report and "counted 0 uploads" in report
    fixed = runner.invoke(args=["media", "verify", "--quick", "--fix"]).output
    assert f"fixed daily_mismatch: business {owner_id}" in fixed and f"fixed daily_mismatch: business {other}" in fixed
    assert (_days(owner_id), _days(other)) == (right, others)
    assert "0 finding(s)." in runner.invoke(args=["media", "verify", "--quick"]).output


def test_the_migration_fills_the_roll_up_from_existing_rows(media_app, uploaded):
    from flask_migrate import downgrade, upgrade

    from portal.media import daily

    daily.record_rejection(actor=uploaded.b.emp1, owner_id=uploaded.b.owner.id, detail={"code": "type"})
    db.session.commit()
    kept = daily.kept()
    assert sum(figures[2] for figures in kept.values()) == 1
    db.session.close()
    downgrade(revision="0010_api_tokens")  # the table goes; the rows it counts stay
    upgrade()
    assert daily.kept() == kept
