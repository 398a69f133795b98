"""Queries per request, counted at the database driver: the media API stays within 6, and a manager's pages
cost what the owner's cost (their business's row comes with them, not from a second query)."""
import pytest

PAGES = ("/", "/shifts/", "/cancellations/", "/audit/", "/api/shifts/{shift}/media")


@pytest.mark.parametrize("role", ["owner", "manager"])
def test_the_media_api_runs_at_most_six_queries(client, auth, proofs, count_queries, role):
    import io

    from portal.media.orchestrator import Upload
    from tests.media_fixtures import jpeg_bytes, store_proof

    for index in range(3):  # more proofs must not mean more queries
        store_proof(proofs.a.cancellation, Upload(io.BytesIO(jpeg_bytes()), f"{index}.jpg"), actor=proofs.a.emp1)
    auth.login(getattr(proofs.a, role))
    queries = count_queries()
    response = client.get(f"/api/shifts/{proofs.a.shift1.id}/media")
    assert response.status_code == 200 and len(response.get_json()["media"]) == 4
    assert len(queries) <= 6, "\n".join(queries.statements)


def _costs(app, who, shift_id, count_queries):
    from tests.conftest import Auth, IsolatedClient

    app.test_client_class = IsolatedClient
    client = app.test_client()
    Auth(client).login(who)
    costs = {}
    for path in PAGES:
        queries = count_queries()
        assert client.get(path.format(shift=shift_id)).status_code == 200
        costs[path] = len(queries)
    return costs


def test_a_manager_pays_no_query_more_than_the_owner(app, proofs, count_queries):
    owner = _costs(app, proofs.a.owner, proofs.a.shift1.id, count_queries)
    manager = _costs(app, proofs.a.manager, proofs.a.shift1.id, count_queries)
    assert manager == owner
