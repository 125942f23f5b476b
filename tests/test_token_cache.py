"""The per-process token cache: how long a revocation made elsewhere can go unseen."""

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import Update, update

from resolvers.token_cache import TokenCache
from server.settings import Settings
from storage.clock import utcnow
from storage.database import Database
from storage.enums import Role
from storage.records import TokenRecord
from storage.tables import api_tokens
from tests.conftest import issue_token, serving

VIEWER = "{ viewer { name } }"


def token(name: str = "ci") -> TokenRecord:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return TokenRecord(1, name, "mr_abcde", Role.WRITER, [], at, "t", None, None, None, None)


def test_entries_live_for_the_ttl_and_revocation_forgets_them() -> None:
    now = [100.0]
    cache = TokenCache(ttl_seconds=2, clock=lambda: now[0])
    cache.remember("h", token())
    now[0] += 2
    assert cache.get("h") == token()
    now[0] += 0.001
    assert cache.get("h") is None
    cache.remember("h", token())
    cache.forget("ci")
    assert cache.get("h") is None


def test_an_entry_expires_ttl_after_its_lookup_however_often_it_is_used() -> None:
    now = [100.0]
    cache = TokenCache(ttl_seconds=2, clock=lambda: now[0])
    cache.remember("h", token())
    for _ in range(19):  # used every 0.1 s, and its lastUsedAt written once
        now[0] += 0.1
        assert cache.get("h") is not None
        cache.used("h", datetime(2026, 1, 2, tzinfo=UTC))
    now[0] += 0.11
    assert cache.get("h") is None


def test_a_zero_ttl_remembers_nothing_and_the_size_is_bounded() -> None:
    assert TokenCache(ttl_seconds=0).get("h") is None
    off = TokenCache(ttl_seconds=0)
    off.remember("h", token())
    assert off.get("h") is None
    small = TokenCache(ttl_seconds=60, max_entries=2)
    for i in range(5):
        small.remember(f"h{i}", token(f"t{i}"))
    assert len(small._entries) <= 2


def revoke_in_database(name: str) -> Update:
    """What `modelreg token revoke` or another replica does: straight in the database."""
    return update(api_tokens).where(api_tokens.c.name == name).values(revoked_at=utcnow())


@pytest.mark.parametrize("cache_seconds", [0.0, 3600.0])
async def test_a_revocation_made_elsewhere_is_seen_after_the_ttl(
    db: Database, cache_seconds: float
) -> None:
    async with serving(db, Settings(auth_cache_seconds=cache_seconds)) as api:
        ci = api.as_token(await issue_token(db, "ci", Role.WRITER), "ci")
        await ci.data(VIEWER)
        async with db.transaction() as conn:
            await conn.execute(revoke_in_database("ci"))
        if cache_seconds:
            await ci.data(VIEWER)  # remembered: another replica's revocation is not seen yet
        else:
            assert await ci.code(VIEWER, status=401) == "UNAUTHENTICATED"


async def test_a_token_in_steady_use_is_refused_within_the_ttl_of_a_revocation_elsewhere(
    db: Database,
) -> None:
    ttl = 0.5
    async with serving(db, Settings(auth_cache_seconds=ttl)) as api:
        ci = api.as_token(await issue_token(db, "ci", Role.WRITER), "ci")
        await ci.data(VIEWER)
        async with db.transaction() as conn:
            await conn.execute(revoke_in_database("ci"))
        revoked_at = time.monotonic()
        # Used back to back, as a busy CI job would: every use must not renew the entry.
        while (response := await ci.post(VIEWER)).status_code == 200:
            assert time.monotonic() - revoked_at < ttl + 2.0, "still accepted long after the TTL"
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert time.monotonic() - revoked_at < ttl + 0.5
