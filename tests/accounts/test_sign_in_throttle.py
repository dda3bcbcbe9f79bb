"""Sign-in throttling in the three deployments: direct, behind a proxy elsewhere, on the host."""

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import time_machine
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.core.config import Settings
from app.main import create_app
from tests.factories import PASSWORD, Staff

WRONG = "not-the-password"
TOKEN = "/api/v1/auth/token"


@contextmanager
def deployment(settings: Settings, peer: str, **overrides: Any) -> Iterator[TestClient]:
    """The service as reached from `peer` (a client, or the proxy in front of it)."""
    app = create_app(settings.model_copy(update=overrides))
    app.state.http_transport = httpx.ASGITransport(app=app)
    with TestClient(app, client=(peer, 40000)) as client:
        yield client


def sign_in(
    client: TestClient, username: str, password: str, forwarded_for: str | None = None
) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = client.post(
        TOKEN, data={"username": username, "password": password}, headers=headers
    )
    assert response.status_code in (200, 401, 429), response.text
    if response.status_code == 429:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert int(response.headers["Retry-After"]) > 0
    return response.status_code


def test_direct_a_guesser_is_stopped_but_not_the_account_holder_elsewhere(
    settings: Settings, staff: Staff
) -> None:
    with (
        deployment(settings, "203.0.113.7") as guesser,
        deployment(settings, "198.51.100.2") as owner,
    ):
        # A forged X-Forwarded-For is ignored when no proxy is trusted.
        for n in range(5):
            assert sign_in(guesser, "hk_member", WRONG, forwarded_for=f"192.0.2.{n}") == 401
        assert sign_in(guesser, "hk_member", PASSWORD, forwarded_for="192.0.2.99") == 429
        assert sign_in(owner, "hk_member", PASSWORD) == 200
        # Other accounts from the guesser's address are still open (its own limit is higher).
        assert sign_in(guesser, "cn_admin", PASSWORD) == 200


def test_an_account_guessed_from_many_addresses_is_locked_everywhere(
    settings: Settings, staff: Staff
) -> None:
    for n in range(4):
        with deployment(settings, f"203.0.113.{n}", login_max_failures_per_account=8) as c:
            for _ in range(2):
                assert sign_in(c, "hk_member", WRONG) == 401
    with deployment(settings, "198.51.100.2", login_max_failures_per_account=8) as owner:
        assert sign_in(owner, "hk_member", PASSWORD) == 429
        assert sign_in(owner, "cn_member", PASSWORD) == 200


def test_one_address_spraying_many_accounts_hits_the_address_limit(
    settings: Settings, staff: Staff
) -> None:
    limits = {"login_max_failures_per_address": 12}
    with deployment(settings, "203.0.113.7", **limits) as sprayer:
        for n in range(12):
            assert sign_in(sprayer, f"guess{n}", WRONG) == 401
        assert sign_in(sprayer, "cn_admin", PASSWORD) == 429
    with deployment(settings, "198.51.100.2", **limits) as other:
        assert sign_in(other, "cn_admin", PASSWORD) == 200


def test_behind_a_proxy_on_another_address_one_client_locks_out_no_one_else(
    settings: Settings, staff: Staff
) -> None:
    with deployment(settings, "10.0.0.5", trusted_proxies="10.0.0.0/24") as proxy:
        for _ in range(5):
            assert sign_in(proxy, "hk_member", WRONG, forwarded_for="203.0.113.7") == 401
        assert sign_in(proxy, "hk_member", PASSWORD, forwarded_for="203.0.113.7") == 429
        # Everyone else comes through the same proxy address, and signs in.
        assert sign_in(proxy, "hk_member", PASSWORD, forwarded_for="198.51.100.2") == 200
        assert sign_in(proxy, "cn_admin", PASSWORD, forwarded_for="198.51.100.3") == 200
    # Without the proxy trusted, every client shares its address: the same five failures
    # lock that account for every one of them (which is why the setting exists).
    with deployment(settings, "10.0.0.5") as untrusted:
        for _ in range(5):
            assert sign_in(untrusted, "cn_member", WRONG, forwarded_for="203.0.113.7") == 401
        assert sign_in(untrusted, "cn_member", PASSWORD, forwarded_for="198.51.100.2") == 429


def test_behind_a_proxy_on_the_same_host_a_forged_forwarded_for_does_not_help(
    settings: Settings, staff: Staff
) -> None:
    with deployment(settings, "127.0.0.1", trusted_proxies="127.0.0.1") as proxy:
        # The proxy appends the address it was reached from to whatever the client sent.
        for n in range(5):
            forged = f"192.0.2.{n}, 203.0.113.7"
            assert sign_in(proxy, "hk_member", WRONG, forwarded_for=forged) == 401
        forged = "192.0.2.200, 203.0.113.7"
        assert sign_in(proxy, "hk_member", PASSWORD, forwarded_for=forged) == 429
        assert sign_in(proxy, "hk_member", PASSWORD, forwarded_for="198.51.100.2") == 200


def test_concurrent_wrong_passwords_get_at_most_the_limit_of_checks(
    settings: Settings, staff: Staff
) -> None:
    with deployment(settings, "203.0.113.7") as client:
        passwords = client.app.state.passwords  # type: ignore[attr-defined]
        checks: list[int] = []
        real_verify = passwords.verify

        def counting_verify(password_hash: str, password: str) -> bool:
            checks.append(1)
            return bool(real_verify(password_hash, password))

        passwords.verify = counting_verify
        with ThreadPoolExecutor(max_workers=40) as pool:
            statuses = list(pool.map(lambda _: sign_in(client, "hk_member", WRONG), range(40)))
        assert len(checks) <= 5
        assert statuses.count(401) == len(checks) and statuses.count(429) == 40 - len(checks)
        assert sign_in(client, "hk_member", PASSWORD) == 429


def test_a_successful_sign_in_gives_its_account_a_fresh_start(
    settings: Settings, staff: Staff
) -> None:
    with deployment(settings, "203.0.113.7") as client:
        for _ in range(4):
            assert sign_in(client, "Hk_Member", WRONG) == 401
        # User names are one account regardless of case.
        assert sign_in(client, "HK_MEMBER", PASSWORD) == 200
        for _ in range(5):
            assert sign_in(client, "hk_member", WRONG) == 401
        assert sign_in(client, "hk_member", PASSWORD) == 429


def test_hammering_a_locked_account_does_not_lock_its_address(
    settings: Settings, staff: Staff
) -> None:
    with deployment(settings, "10.0.0.5", login_max_failures_per_address=10) as shared:
        for _ in range(5):
            assert sign_in(shared, "hk_member", WRONG) == 401
        for _ in range(20):
            assert sign_in(shared, "hk_member", WRONG) == 429
        # Five failures at the address so far: its other users still sign in.
        assert sign_in(shared, "cn_admin", PASSWORD) == 200


def test_the_counts_start_again_once_the_window_has_passed(
    settings: Settings, staff: Staff
) -> None:
    with deployment(settings, "203.0.113.7") as client:
        start = time.time()
        with time_machine.travel(start, tick=False):
            for _ in range(5):
                assert sign_in(client, "hk_member", WRONG) == 401
            assert sign_in(client, "hk_member", PASSWORD) == 429
        with time_machine.travel(start + 15 * 60 + 1, tick=False):
            assert sign_in(client, "hk_member", PASSWORD) == 200


def test_a_trusted_proxy_that_is_no_address_stops_the_start(settings: Settings) -> None:
    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings(_env_file=None, trusted_proxies="10.0.0.5, proxy.local")  # type: ignore[call-arg]
    both = Settings(_env_file=None, trusted_proxies="10.0.0.5, 192.168.0.0/24")  # type: ignore[call-arg]
    assert len(both.trusted_proxy_networks) == 2
