"""The employee's access report: who opened, downloaded or exported their proofs and when, their own only,
with the viewers' names and roles and dates in the reader's language, a page at a time."""
import html
import re
from datetime import timedelta

from portal.extensions import db
from portal.models import AuditEvent, utcnow
from tests.conftest import Auth

LINK = re.compile(r'href="([^"]+)" rel="(prev|next)"')
ROW = re.compile(r'<tr data-action="([^"]+)">')


def _rows(page):
    return ROW.findall(page)


def test_employee_sees_who_viewed_and_downloaded_their_proof(client, auth, proofs):
    a = proofs.a
    auth.login(a.manager)
    client.get(f"/media/{a.proof.id}/view")
    auth.logout()
    auth.login(a.owner)
    client.get(f"/media/{a.proof.id}/download")
    auth.logout()
    auth.login(a.emp1)
    page = client.get("/my-data/").get_data(as_text=True)
    assert _rows(page) == ["media.download", "media.view"]  # newest first
    assert "Owner of Alpha" in page and "Alpha Manager" in page and "Manager" in page and "Owner" in page
    assert "справка.jpg" in page and "Downloaded a file" in page and "Opened a file" in page


def test_only_the_employees_own_proofs_are_reported(client, auth, proofs):
    a, b = proofs.a, proofs.b
    auth.login(b.owner)
    client.get(f"/media/{b.proof.id}/view")  # another business's proof
    auth.logout()
    auth.login(a.owner)
    client.get(f"/media/{a.proof.id}/view")
    auth.logout()
    auth.login(a.emp2)  # A's other employee: nothing of emp1's shows
    page = client.get("/my-data/").get_data(as_text=True)
    assert _rows(page) == [] and "Nobody has opened your proofs." in page and "Owner of Alpha" not in page
    auth.logout()
    auth.login(b.emp1)
    assert _rows(client.get("/my-data/").get_data(as_text=True)) == ["media.view"]


def test_an_export_of_the_employees_data_is_reported(client, auth, proofs):
    a = proofs.a
    auth.login(a.owner)
    response = client.post(f"/exports/people/{a.emp1.id}", data={"csrf_token": auth.csrf_token("/staff/")})
    assert response.status_code == 200
    auth.logout()
    auth.login(a.emp2)  # someone else's export is not theirs to see
    assert _rows(client.get("/my-data/").get_data(as_text=True)) == []
    auth.logout()
    auth.login(a.emp1)
    page = client.get("/my-data/").get_data(as_text=True)
    assert _rows(page) == ["person.export"] and "All your data" in page and "Owner of Alpha" in page


def test_dates_and_words_follow_the_readers_language(app, proofs):
    a = proofs.a
    a.emp1.language = "ru"
    db.session.add(AuditEvent(owner_id=a.owner.id, actor_id=a.manager.id, actor_role="manager",
                              action="media.download", media_id=a.proof.id, shift_id=a.shift1.id,
                              at=utcnow().replace(month=3, day=5, hour=9)))  # 5 March in every zone of ours
    db.session.commit()
    client = app.test_client()
    Auth(client).login(a.emp1)
    page = client.get("/my-data/").get_data(as_text=True)
    assert "5 мар" in page and "Кто открывал ваши подтверждения" in page and "Менеджер" in page


def test_a_long_report_pages_from_a_cursor(client, auth, proofs):
    a = proofs.a
    start = utcnow() - timedelta(days=2)
    db.session.add_all(AuditEvent(owner_id=a.owner.id, actor_id=a.owner.id, actor_role="owner", action="media.view",
                                  media_id=a.proof.id, shift_id=a.shift1.id, at=start + timedelta(minutes=n))
                       for n in range(70))
    db.session.commit()
    auth.login(a.emp1)
    first = client.get("/my-data/").get_data(as_text=True)
    links = {rel: html.unescape(href) for href, rel in LINK.findall(first)}
    second = client.get(links["next"]).get_data(as_text=True)
    assert (len(_rows(first)), len(_rows(second))) == (50, 20)
    assert client.get("/my-data/?before=nonsense").status_code == 400


def test_more_viewers_and_proofs_cost_no_more_queries(client, auth, proofs, count_queries):
    import io

    from portal.media.orchestrator import Upload
    from tests.media_fixtures import jpeg_bytes, store_proof

    a = proofs.a

    def cost():
        auth.login(a.emp1)
        queries = count_queries()
        assert client.get("/my-data/").status_code == 200
        auth.logout()
        return len(queries)

    auth.login(a.owner)
    client.get(f"/media/{a.proof.id}/view")
    auth.logout()
    few = cost()
    more = [store_proof(a.cancellation, Upload(io.BytesIO(jpeg_bytes()), f"{n}.jpg"), actor=a.emp1) for n in range(3)]
    for viewer in (a.owner, a.manager):
        auth.login(viewer)
        for proof in more:
            client.get(f"/media/{proof.id}/download")
        auth.logout()
    assert cost() == few  # the viewers come in one query and the files in another, however many
