"""Every route, for every role of business A, for business B's people, and for anonymous visitors."""
import pytest

ROLES_A = ["a.owner", "a.manager", "a.emp1", "a.emp2"]
ROLES_B = ["b.owner", "b.manager", "b.emp1"]


def _as(client, auth, world, who):
    if who != "anonymous":
        assert auth.login(world.user(who)).status_code == 302


@pytest.mark.parametrize("who", ROLES_A + ROLES_B)
def test_home_is_open_to_every_signed_in_role(client, auth, world, who):
    _as(client, auth, world, who)
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("path", ["/", "/shifts/1"])
def test_anonymous_is_sent_to_login(client, world, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


# Shift A1 belongs to employee a.emp1 of business A.
@pytest.mark.parametrize("who,status", [
    ("a.owner", 200), ("a.manager", 200), ("a.emp1", 200), ("a.emp2", 404),
    ("b.owner", 404), ("b.manager", 404), ("b.emp1", 404),
])
def test_shift_page_by_role_and_tenant(client, auth, world, who, status):
    _as(client, auth, world, who)
    response = client.get(f"/shifts/{world.a.shift1.id}")
    assert response.status_code == status
    if status == 200:
        assert world.a.shift1.title in response.get_data(as_text=True)


@pytest.mark.parametrize("who", ROLES_A + ROLES_B)
def test_missing_shift_is_404_for_everyone(client, auth, world, who):
    _as(client, auth, world, who)
    assert client.get("/shifts/999999").status_code == 404


@pytest.mark.parametrize("who", ["anonymous"] + ROLES_A)
def test_login_page(client, auth, world, who):
    _as(client, auth, world, who)
    response = client.get("/login")
    assert response.status_code == (200 if who == "anonymous" else 302)


def test_foreign_404_looks_exactly_like_missing(client, auth, world):
    auth.login(world.b.owner)
    foreign = client.get(f"/shifts/{world.a.shift1.id}")
    missing = client.get("/shifts/999999")
    assert foreign.status_code == missing.status_code == 404
    main = lambda r: r.get_data(as_text=True).split("<main", 1)[1].split("</main>")[0]  # noqa: E731
    assert main(foreign) == main(missing)
