"""Cursor pages of the audit log and the cancellations list: every row once, in order, both ways; a bad
cursor is a 400 with a message; no page counts past its cap."""
import html
import re
from datetime import timedelta

import pytest

from portal.extensions import db
from portal.models import AuditEvent, utcnow

LINK = re.compile(r'href="([^"]+)" rel="(prev|next)"')
BAD_CURSORS = ["x", "20261126T101500123456", "20261326T101500123456_1", "20261126T251500123456_1",
               "20261126T101500123456_" + "9" * 19, "20261126T101500123456_-1", "%00", "1e9_1"]


def _links(page):
    return {rel: html.unescape(href) for href, rel in LINK.findall(page)}


def _events(owner, count, same_time_every=3):
    """count events of owner's business, several sharing one instant (the id breaks the tie)."""
    start = utcnow().replace(microsecond=0) - timedelta(days=1)
    events = [AuditEvent(owner_id=owner.id, actor_id=owner.id, actor_role="owner", action="media.view",
                         shift_id=index + 1, at=start + timedelta(seconds=index // same_time_every))
              for index in range(count)]
    db.session.add_all(events)
    db.session.commit()
    return [e.id for e in sorted(events, key=lambda e: (e.at, e.id), reverse=True)]


def _shown_ids(page):
    return [int(n) for n in re.findall(r'href="/shifts/(\d+)">#', page)]


def test_audit_pages_walk_every_event_once_older_and_back_newer(client, auth, world):
    expected_shifts = [index + 1 for index in range(120)][::-1]
    _events(world.a.owner, 120)
    _events(world.b.owner, 30)  # another business's events never show up, whatever the cursor
    auth.login(world.a.owner)
    pages, url = [], "/audit/?action=media.view"
    while url:
        page = client.get(url).get_data(as_text=True)
        pages.append(page)
        url = _links(page).get("next")
    seen = [shift for page in pages for shift in _shown_ids(page)]
    assert [len(_shown_ids(p)) for p in pages] == [50, 50, 20] and seen == expected_shifts
    assert "120 events" in pages[0] and 'rel="prev"' not in pages[0]
    back = client.get(_links(pages[-1])["prev"]).get_data(as_text=True)
    assert _shown_ids(back) == _shown_ids(pages[1])


def test_the_count_stops_at_its_cap(client, auth, world, monkeypatch):
    from portal.web import paging

    monkeypatch.setattr(paging, "COUNT_CAP", 40)
    _events(world.a.owner, 45)
    auth.login(world.a.manager)
    assert "More than 40 events" in client.get("/audit/").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/audit/", "/cancellations/"])
@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_a_malformed_cursor_is_a_400_with_a_message(client, auth, world, path, cursor):
    auth.login(world.a.owner)
    for arg in ("before", "after"):
        response = client.get(path, query_string={arg: cursor})
        assert response.status_code == 400
        assert "This page link is broken" in response.get_data(as_text=True)


def test_both_directions_at_once_is_a_400(client, auth, world):
    auth.login(world.a.owner)
    good = "20261126T101500123456_5"
    assert client.get(f"/audit/?before={good}&after={good}").status_code == 400


def test_a_cursor_past_the_end_shows_an_empty_page_with_a_way_back(client, auth, world):
    _events(world.a.owner, 3)
    auth.login(world.a.owner)
    page = client.get("/audit/?before=20000101T000000000000_1").get_data(as_text=True)
    assert "No events match." in page and 'href="/audit/">Newest</a>' in page
