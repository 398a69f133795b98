"""The week's request cards are light (what the request is and how many files); the files and the decision form
open on demand: htmx gets that one card (a block of the week template), a browser without JavaScript the week
with it open. Either way the decision form carries its CSRF token and the foreign tenant gets a 404."""
import pytest

from portal.extensions import db
from tests.conftest import csrf_token_from

HTMX = {"HX-Request": "true"}


def _week(proofs):
    return f"/shifts/?week={proofs.a.shift1.starts_at.date().isoformat()}"


def test_the_week_shows_a_light_card_with_its_file_count_and_no_form(client, auth, proofs):
    auth.login(proofs.a.manager)
    page = client.get(_week(proofs)).get_data(as_text=True)
    card = page[page.index(f'id="cancellation-{proofs.a.cancellation.id}"'):]
    card = card[:card.index("</article>")]
    assert "Sick, note attached" in card and "1 file" in card and "Review and decide" in card
    assert f"&amp;open={proofs.a.shift1.id}" in card  # a plain link: it works without JavaScript too
    assert "/thumbnail" not in page and 'class="decide"' not in page and "textarea" not in page


def test_opening_a_card_with_htmx_returns_that_card_alone_with_its_files_and_form(client, auth, proofs):
    auth.login(proofs.a.owner)
    response = client.get(f"{_week(proofs)}&open={proofs.a.shift1.id}", headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    card = f'<article class="card cancellation compact" id="cancellation-{proofs.a.cancellation.id}"'
    assert html.lstrip().startswith(card)
    assert f"/media/{proofs.a.proof.id}/thumbnail" in html and "<html" not in html
    assert 'name="compact" value="1"' in html and csrf_token_from(html)  # the on-demand form has its token
    assert "Week of" not in html


def test_the_opened_cards_form_decides_the_request(client, auth, proofs):
    from portal.models import ShiftCancellation

    auth.login(proofs.a.manager)
    html = client.get(f"{_week(proofs)}&open={proofs.a.shift1.id}", headers=HTMX).get_data(as_text=True)
    response = client.post(f"/cancellations/{proofs.a.cancellation.id}/decide", headers=HTMX, data={
        "csrf_token": csrf_token_from(html), "compact": "1", "decision": "reject", "comment": "Come in"})
    assert response.status_code == 200 and "badge-rejected" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ShiftCancellation, proofs.a.cancellation.id).status == "rejected"


def test_without_javascript_the_week_opens_with_that_card_whole(client, auth, proofs):
    auth.login(proofs.a.owner)
    response = client.get(f"{_week(proofs)}&open={proofs.a.shift1.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Week of" in page
    assert f"/media/{proofs.a.proof.id}/thumbnail" in page and 'class="decide"' in page
    assert page.count(f'id="cancellation-{proofs.a.cancellation.id}"') == 1


@pytest.mark.parametrize("htmx", [True, False])
def test_another_business_shift_cannot_be_opened(client, auth, proofs, htmx):
    auth.login(proofs.b.owner)
    response = client.get(f"/shifts/?open={proofs.a.shift1.id}", headers=HTMX if htmx else {})
    assert response.status_code == 404
    assert "Sick, note attached" not in response.get_data(as_text=True)


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1e3", "²", " 1", "1_0", str(2**63), "9" * 40, "9" * 5000, ""])
def test_a_malformed_open_value_is_a_404(client, auth, proofs, value):
    auth.login(proofs.a.owner)
    assert client.get(f"/shifts/?open={value}", headers=HTMX).status_code == 404


def test_the_week_query_count_does_not_grow_with_requests(client, auth, proofs, factory, count_queries):
    from portal.media.orchestrator import Upload
    from tests.media_fixtures import jpeg_bytes, store_proof
    import io

    auth.login(proofs.a.owner)
    queries = count_queries()
    assert client.get(_week(proofs)).status_code == 200
    few = len(queries)
    for index in range(3):
        shift = factory.shift(proofs.a.emp2, title=f"Extra {index}")
        store_proof(factory.cancellation(shift), Upload(io.BytesIO(jpeg_bytes()), "n.jpg"), actor=proofs.a.emp2)
    queries = count_queries()
    page = client.get(_week(proofs)).get_data(as_text=True)
    assert len(queries) == few, "\n".join(queries.statements)
    assert page.count("Review and decide") == 4


def test_the_light_card_shows_the_newest_request_not_a_withdrawn_one(client, auth, proofs, factory):
    from portal import cancellations

    cancellations.withdraw(proofs.a.cancellation, actor=proofs.a.emp1)
    db.session.commit()
    auth.login(proofs.a.owner)
    assert "Sick, note attached" not in client.get(_week(proofs)).get_data(as_text=True)
    newer = factory.cancellation(proofs.a.shift1, reason="Second try")
    page = client.get(_week(proofs)).get_data(as_text=True)
    assert f'id="cancellation-{newer.id}"' in page and "Second try" in page and "0 files" in page
    assert "Sick, note attached" not in page
