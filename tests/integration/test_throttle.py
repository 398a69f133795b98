"""Sign-in throttling counts failures only, per address and per (address, account), and never locks out an owner."""
import pytest

from tests.conftest import PASSWORD, IsolatedClient, csrf_token_from, make_app

REFUSED = "Wrong email or password, or the account is disabled."


@pytest.fixture
def attempt(database_url, tmp_path, world, request):
    """attempt(email, password, address) on an app with the test's settings (marker `settings`)."""
    marker = request.node.get_closest_marker("settings")
    app = make_app(database_url, tmp_path, **(marker.kwargs if marker else {}))
    app.test_client_class = IsolatedClient

    def attempt(email, password, address):
        client = app.test_client()  # a new browser each time: only the address ties attempts together
        environ = {"REMOTE_ADDR": address}
        token = csrf_token_from(client.get("/login", environ_base=environ).get_data(as_text=True))
        return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                           environ_base=environ, headers={"Accept-Language": "en"})

    return attempt


def test_an_account_attacked_from_ten_addresses_still_lets_its_owner_in_from_an_eleventh(attempt, world):
    victim = world.a.emp1.email
    for n in range(1, 11):
        for _ in range(2):  # 20 wrong passwords in all, the account's whole allowance
            response = attempt(victim, "guess", f"198.51.100.{n}")
            assert response.status_code == 200 and REFUSED in response.get_data(as_text=True)
    assert attempt(victim, PASSWORD, "203.0.113.11").status_code == 302


@pytest.mark.settings(LOGIN_ACCOUNT_RATE_LIMIT="3 per hour")
def test_under_attack_an_address_that_already_failed_on_the_account_waits(attempt, world):
    victim = world.a.owner.email
    for n in range(1, 5):  # past the account's limit, a fresh address still gets its one try
        assert attempt(victim, "guess", f"198.51.100.{n}").status_code == 200
    again = attempt(victim, PASSWORD, "198.51.100.1")
    assert again.status_code == 429 and "Too many attempts" in again.get_data(as_text=True)
    assert 0 < int(again.headers["Retry-After"]) <= 3600
    assert attempt(world.b.owner.email, "guess", "198.51.100.1").status_code == 200  # other accounts are not slowed
    assert attempt(victim, PASSWORD, "203.0.113.9").status_code == 302


@pytest.mark.settings(LOGIN_RATE_LIMIT="3 per minute")
def test_successful_sign_ins_are_not_counted(attempt, world):
    assert [attempt(world.a.manager.email, PASSWORD, "192.0.2.1").status_code for _ in range(5)] == [302] * 5


@pytest.mark.settings(LOGIN_RATE_LIMIT="3 per minute")
def test_failures_are_limited_per_address_and_per_address_and_account(attempt, world):
    for _ in range(3):
        assert attempt(world.a.owner.email, "guess", "192.0.2.1").status_code == 200
    assert attempt(world.a.owner.email, PASSWORD, "192.0.2.1").status_code == 429  # not even checked
    assert attempt(world.b.owner.email, PASSWORD, "192.0.2.1").status_code == 429  # the address is spent
    assert attempt(world.a.owner.email, PASSWORD, "192.0.2.2").status_code == 302  # the account is not locked


@pytest.mark.settings(LOGIN_RATE_LIMIT="3 per minute")
@pytest.mark.parametrize("first,second,third,next_door", [
    # one host's /64: a fresh address for every guess
    ("2001:db8:7:1::1", "2001:db8:7:1::2", "2001:db8:7:1:ffff:ffff:ffff:ffff", "2001:db8:7:1::4"),
    # one customer's /56: a fresh /64 for every guess, written in several ways
    ("2001:db8:7:100::1", "2001:DB8:7:1A0::1", "2001:0db8:0007:01ff::9", "2001:db8:7:1fe::1"),
    # IPv4 written as IPv6 is the same client as the IPv4 address
    ("192.0.2.77", "::ffff:192.0.2.77", "::ffff:c000:24d", "192.0.2.77"),
], ids=["one-64", "one-56", "ipv4-mapped"])
def test_addresses_of_one_ipv6_customer_count_as_one_client(attempt, world, first, second, third, next_door):
    for address in (first, second, third):
        assert attempt(world.a.owner.email, "guess", address).status_code == 200
    assert attempt(world.a.owner.email, PASSWORD, next_door).status_code == 429
    assert attempt(world.a.owner.email, PASSWORD, "2001:db8:8::1").status_code == 302  # another customer


@pytest.mark.settings(LOGIN_ACCOUNT_RATE_LIMIT="3 per hour")
def test_an_account_under_attack_gives_one_ipv6_customer_one_guess_not_one_per_address(attempt, world):
    victim = world.a.owner.email
    for n in range(1, 4):  # the account's allowance, from three customers
        assert attempt(victim, "guess", f"2001:db8:{n}::1").status_code == 200
    assert attempt(victim, "guess", "2001:db8:9::1").status_code == 200  # a fresh customer's one try
    assert [attempt(victim, "guess", f"2001:db8:9:{n:x}::1").status_code for n in range(1, 40)] == [429] * 39
    assert attempt(victim, PASSWORD, "203.0.113.9").status_code == 302  # the owner still gets in


@pytest.mark.settings(LOGIN_RATE_LIMIT="100 per minute;3 per hour")
def test_every_window_of_the_limit_applies(attempt, world):
    for _ in range(3):
        assert attempt(world.a.owner.email, "guess", "192.0.2.1").status_code == 200
    response = attempt(world.a.owner.email, "guess", "192.0.2.1")
    assert response.status_code == 429 and 60 < int(response.headers["Retry-After"]) <= 3600


@pytest.mark.settings(LOGIN_RATE_LIMIT="3 per minute")
def test_a_success_in_between_resets_nothing(attempt, world):
    """An attacker signing in to their own account from the same address does not earn more guesses."""
    for victim_guesses in (2, 1):
        for _ in range(victim_guesses):
            assert attempt(world.a.owner.email, "guess", "192.0.2.7").status_code == 200
        if victim_guesses == 2:
            assert attempt(world.b.emp1.email, PASSWORD, "192.0.2.7").status_code == 302
    assert attempt(world.a.owner.email, "guess", "192.0.2.7").status_code == 429


@pytest.mark.settings(RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0?socket_connect_timeout=1")
def test_sign_in_answers_503_when_the_counters_cannot_be_reached(attempt, world):
    response = attempt(world.a.owner.email, PASSWORD, "192.0.2.1")
    assert response.status_code == 503
    assert "not available for a moment" in response.get_data(as_text=True)


def _gunicorn(tmp_path, database_url, redis_url):
    """One gunicorn master with one worker on a free port, counting in Redis; returns (process, base URL)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.s3_server import free_port, wait_for_http

    port = free_port()
    env = dict(os.environ, PORTAL_ENV="development", SECRET_KEY="shared-by-both-" + "k" * 40, PORTAL_DOTENV="none",
               DATABASE_URL=database_url, MEDIA_STORAGE_PROVIDER="local", MEDIA_LOCAL_ROOT=str(tmp_path / "media"),
               LOGIN_RATE_LIMIT="3 per minute", RATELIMIT_STORAGE_URI=redis_url,
               GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="1")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen([str(gunicorn), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=root, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=30)
    except Exception:
        process.kill()
        raise
    return process, f"http://127.0.0.1:{port}"


def _post_login(base, email, password):
    import requests

    browser = requests.Session()
    token = csrf_token_from(browser.get(f"{base}/login", timeout=10).text)
    return browser.post(f"{base}/login", data={"email": email, "password": password, "csrf_token": token},
                        allow_redirects=False, timeout=10)


def test_two_app_processes_share_the_failure_counts_in_redis(tmp_path, database_url, redis_url, world):
    """Each gunicorn process counting on its own would allow 3 failures per process; with Redis, 3 in all."""
    first, first_url = _gunicorn(tmp_path, database_url, redis_url)
    second, second_url = _gunicorn(tmp_path, database_url, redis_url)
    try:
        assert [_post_login(first_url, world.a.owner.email, "guess").status_code for _ in range(3)] == [200] * 3
        assert _post_login(second_url, world.a.owner.email, PASSWORD).status_code == 429
        assert _post_login(second_url, world.b.owner.email, PASSWORD).status_code == 429  # per address, too
    finally:
        for process in (first, second):
            process.terminate()
            process.wait(timeout=20)
