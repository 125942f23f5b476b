"""GraphQL subscriptions over real WebSockets: against a real `modelreg serve` (2 workers
on SQLite), and against two replicas on PostgreSQL (changes through one, subscriptions
on the other)."""

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from storage.database import Database, create_database
from storage.enums import Role
from storage.migrate import upgrade
from tests.conftest import (
    BACKENDS,
    create_scratch_postgres,
    drop_postgres,
    in_thread,
    issue_token,
    postgres_admin_url,
)
from tests.graphql import GraphQLClient, register, transition
from tests.live_client import from_now, live
from tests.live_servers import Replica, replicas
from tests.scrape import scrape, value
from tests.webhook_client import eventually

EVENTS = """
subscription($after: String, $filter: EventFilter) {
  registryEvents(after: $after, filter: $filter) { cursor type sequence modelName version actor }
}
"""
WATCH = "subscription($uri: String!) { watchModelUri(uri: $uri) { version stage } }"
SET_TAG = """
mutation($model: String!, $key: String!) {
  setTag(input: {modelName: $model, key: $key, value: "v"}) { tag { key } }
}
"""


@dataclass(frozen=True)
class Live:
    # The server the live clients connect to, and a client of it (for its /metrics).
    server: Replica
    watched: GraphQLClient
    # The client that makes changes: of the same server on SQLite, of another replica
    # on PostgreSQL (so every event reaches the live clients across processes).
    admin: GraphQLClient
    reader_token: str


@pytest.fixture(scope="module", params=BACKENDS)
async def served(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
) -> AsyncIterator[Live]:
    """SQLite: one `modelreg serve --workers 2`. PostgreSQL: two replicas, changes made
    through the first and subscriptions on the second. Each test uses its own models."""
    async with module_database(request.param, tmp_path_factory, sqlite_template) as db:
        reader = await issue_token(db, "watcher", Role.READER)
        sqlite = request.param == "sqlite"
        count, workers = (1, 2) if sqlite else (2, 1)
        async with replicas(db, count=count, workers=workers) as (servers, admin):
            server = servers[-1]
            async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
                watched = GraphQLClient(http, admin.token, admin.actor)
                yield Live(server, watched, admin, reader)


@asynccontextmanager
async def module_database(
    backend: str, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> AsyncIterator[Database]:
    """A migrated database of `backend` for one module, dropped after it."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("live") / "modelreg.db"
        shutil.copyfile(sqlite_template, path)
        url, admin_url = f"sqlite+aiosqlite:///{path}", None
    else:
        admin_url = postgres_admin_url()
        if admin_url is None:
            pytest.skip("PostgreSQL tests need MODELREG_TEST_POSTGRES_URL (CI sets it)")
        url = await create_scratch_postgres(admin_url)
    db = create_database(url)
    try:
        if admin_url is not None:
            await asyncio.to_thread(in_thread, upgrade, url)
        yield db
    finally:
        await db.dispose()
        if admin_url is not None:
            await drop_postgres(admin_url, url)


async def events_of(client: Any, operation: str, count: int) -> list[dict[str, Any]]:
    return [(await client.data(operation))["registryEvents"] for _ in range(count)]


async def test_events_arrive_live_and_a_resumed_subscription_gets_exactly_what_it_missed(
    served: Live,
) -> None:
    api = served.admin
    only = {"filter": {"modelNames": ["resumed"]}}
    async with live(served.server.ws, served.reader_token) as client:
        events = await client.subscribe(EVENTS, {**only, **await from_now(api)})
        await register(api, "resumed")
        first = await events_of(client, events, 2)
    assert [e["type"] for e in first] == ["model.created", "model_version.created"]
    assert (first[1]["version"], first[1]["actor"]) == (1, api.actor)

    # Disconnected: 50 changes go by.
    for i in range(50):
        await api.data(SET_TAG, {"model": "resumed", "key": f"k{i}"})

    async with live(served.server.ws, served.reader_token, in_header=True) as client:
        events = await client.subscribe(EVENTS, {**only, "after": first[-1]["cursor"]})
        missed = await events_of(client, events, 50)
        assert [e["sequence"] for e in missed] == list(range(3, 53))
        assert {e["type"] for e in missed} == {"tag.set"}
        # The seam: the next change arrives live, once.
        await api.data(SET_TAG, {"model": "resumed", "key": "after"})
        [live_one] = await events_of(client, events, 1)
        assert live_one["sequence"] == 53
        assert await client.nothing_more(events)


async def test_filters_and_refusals(served: Live) -> None:
    api = served.admin
    production = {
        "filter": {
            "modelNames": ["filtered"],
            "types": ["model_version.*"],
            "stages": ["PRODUCTION"],
        }
    }
    async with live(served.server.ws, served.reader_token) as client:
        promotions = await client.subscribe(EVENTS, {**production, **await from_now(api)})
        bad_type = await client.subscribe(EVENTS, {"filter": {"types": ["model.exploded"]}})
        bad_cursor = await client.subscribe(EVENTS, {"after": "bm90IGEgY3Vyc29y"})
        query = await client.subscribe("{ models { totalCount } }")
        for refused, code in ((bad_type, "BAD_USER_INPUT"), (bad_cursor, "BAD_USER_INPUT")):
            message = await client.message(refused)
            assert message["type"] == "error", message
            assert message["payload"][0]["extensions"]["code"] == code
        message = await client.message(query)
        assert message["payload"][0]["extensions"]["code"] == "BAD_REQUEST"

        await register(api, "filtered", 2)
        await register(api, "other")
        await transition(api, "filtered", 1, "STAGING")
        await transition(api, "other", 1, "PRODUCTION")
        await transition(api, "filtered", 2, "PRODUCTION")
        [promoted] = await events_of(client, promotions, 1)
        assert (promoted["type"], promoted["version"]) == ("model_version.stage_changed", 2)
        # The limit per connection is 5 (LIVE_TEST_SETTINGS): one is running.
        more = [await client.subscribe(EVENTS) for _ in range(5)]
        over = await client.message(more[-1])
        assert over["type"] == "error"
        assert "limit" in over["payload"][0]["message"].lower()
        assert await client.nothing_more(promotions)


async def test_tokens_are_checked_at_connect_and_while_connected(served: Live) -> None:
    async with live(served.server.ws, None) as anonymous:
        assert (await anonymous.closed)[0] == 4403
        assert "needs a token" in (await anonymous.closed)[1]
    async with live(served.server.ws, "mr_not-a-real-token", in_header=True) as forged:
        assert await forged.closed == (4403, "unknown token")

    name = "short-lived"
    created = await served.admin.data(
        'mutation { createApiToken(input: {name: "short-lived", role: READER}) { token } }'
    )
    async with live(served.server.ws, created["createApiToken"]["token"]) as client:
        events = await client.subscribe(EVENTS, await from_now(served.admin))
        await register(served.admin, "revoked")
        await client.data(events)
        await served.admin.data(
            "mutation($n: String!) { revokeApiToken(input: {name: $n}) { apiToken { name } } }",
            {"n": name},
        )
        code, reason = await client.closed
    assert code == 4403
    assert "revoked" in reason


async def test_the_server_pings_an_idle_connection(served: Live) -> None:
    async with live(served.server.ws, served.reader_token) as client, asyncio.timeout(10):
        for _ in range(2):  # every 0.5 s (LIVE_TEST_SETTINGS)
            await client.pinged.wait()
            client.pinged.clear()


async def test_watch_model_uri_follows_promotion_rollback_and_aliases(served: Live) -> None:
    api = served.admin
    async with live(served.server.ws, served.reader_token) as client:
        production = await client.subscribe(WATCH, {"uri": "models:/watched/Production"})
        champion = await client.subscribe(WATCH, {"uri": "models:/watched@champion"})
        latest = await client.subscribe(WATCH, {"uri": "models:/watched/latest"})

        async def answer(operation: str) -> int | None:
            found = (await client.data(operation))["watchModelUri"]
            return None if found is None else int(found["version"])

        assert [await answer(o) for o in (production, champion, latest)] == [None] * 3
        # One at a time: two versions committed before the watch looks again are
        # one burst, answered once (with 2).
        await register(api, "watched")
        assert await answer(latest) == 1
        await register(api, "watched")
        assert await answer(latest) == 2
        await transition(api, "watched", 1, "PRODUCTION")
        assert await answer(production) == 1
        await transition(api, "watched", 2, "PRODUCTION")
        assert await answer(production) == 2
        await api.data(
            'mutation { rollback(input: {modelName: "watched"}) { restored { version } } }'
        )
        assert await answer(production) == 1
        alias = (
            'mutation($v: Int!) { setAlias(input: {modelName: "watched", alias: "champion",'
            " version: $v}) { previousVersion } }"
        )
        await api.data(alias, {"v": 2})
        assert await answer(champion) == 2
        await api.data(alias, {"v": 1})
        assert await answer(champion) == 1
        await api.data(
            'mutation { deleteAlias(input: {modelName: "watched", alias: "champion"}) { alias } }'
        )
        assert await answer(champion) is None
        # Tags move nothing: no new answer anywhere.
        await api.data(SET_TAG, {"model": "watched", "key": "team"})
        await register(api, "watched")
        assert await answer(latest) == 3
        for operation in (production, champion):
            assert await client.nothing_more(operation)


async def test_a_slow_consumer_is_dropped_while_a_fast_one_keeps_up(served: Live) -> None:
    """A client that stops reading fills its queue (8 here) and is closed; others never wait.

    How many events the kernel's and the transports' buffers absorb before the
    server's sends wait depends on the machine, so changes go on until the
    server counts the drop (bounded), and the fast one gets every one of them.
    """
    api = served.admin
    params = [{"key": f"p{i}", "value": "x" * 200} for i in range(1000)]  # ~0.2 MB per event
    await register(api, "heavy", params=params)
    heavy = {"filter": {"modelNames": ["heavy"], "types": ["model_version.stage_changed"]}}
    query = (
        "subscription($after: String, $filter: EventFilter) "
        "{ registryEvents(after: $after, filter: $filter) { type data } }"
    )
    dropped_before = await slow_consumers_dropped(served.watched)
    async with (
        live(served.server.ws, served.reader_token, reading=False, receive_buffer=4096) as slow,
        live(served.server.ws, served.reader_token) as fast,
    ):
        await slow.subscribe(query, heavy)
        watched = await fast.subscribe(query, {**heavy, **await from_now(api)})
        changes = 0
        while await slow_consumers_dropped(served.watched) == dropped_before:
            assert changes < 400, "40 MB of events and the slow consumer is still served"
            to_stage = "STAGING" if changes % 2 == 0 else "NONE"
            await transition(api, "heavy", 1, to_stage)
            got = (await fast.data(watched))["registryEvents"]
            assert got["data"]["toStage"] == to_stage
            changes += 1
        reading = asyncio.create_task(slow.read_all())  # now it reads, and learns why it was cut
        code, reason = await asyncio.wait_for(slow.closed, 30)
        await reading
    assert code == 4420, reason
    assert "slow consumer" in reason
    assert await slow_consumers_dropped(served.watched) == dropped_before + 1


async def slow_consumers_dropped(api: GraphQLClient) -> float:
    return value(await scrape(api), "modelreg_live_closed_total", reason="slow_consumer")


async def test_a_client_that_pauses_reading_gets_every_event_in_order_once_it_reads(
    served: Live,
) -> None:
    """Events are pushed to a waiting subscription's client at once; while the client reads
    nothing, sending would wait, so they are queued for the subscription's task instead.
    Either way they arrive in log order, each once, and pushing resumes after."""
    api = served.admin
    params = [{"key": f"p{i}", "value": "x" * 200} for i in range(1000)]  # ~0.2 MB per event
    await register(api, "paused", params=params)
    watched = {"filter": {"modelNames": ["paused"], "types": ["model_version.stage_changed"]}}
    query = (
        "subscription($filter: EventFilter) { registryEvents(filter: $filter) { sequence data } }"
    )
    async with live(
        served.server.ws, served.reader_token, reading=False, receive_buffer=4096
    ) as client:
        open_before = await open_subscriptions(served.watched)
        operation = await client.subscribe(query, watched)
        # Subscribed (the client reads nothing that would confirm it).
        await eventually(lambda: open_subscriptions(served.watched), lambda n: n > open_before)
        queued_before = await deliveries(served.watched, "queued")
        stages: list[str] = []
        # Until two events were queued: the server's sends would wait (and the queue of 8
        # that would drop the client as a slow consumer is far from full).
        while await deliveries(served.watched, "queued") < queued_before + 2:
            assert len(stages) < 100, "20 MB of events and none had to wait"
            stages.append("STAGING" if len(stages) % 2 == 0 else "NONE")
            await transition(api, "paused", 1, stages[-1])
        reading = asyncio.create_task(client.read_all())
        got = [(await client.data(operation))["registryEvents"] for _ in stages]
        assert [event["data"]["toStage"] for event in got] == stages
        sequences = [event["sequence"] for event in got]
        assert sequences == list(range(sequences[0], sequences[0] + len(stages)))
        assert await client.nothing_more(operation)
        # Pushed again (an event is queued instead while a token check is due: try a few).
        pushed_before = await deliveries(served.watched, "pushed")
        sequence = sequences[-1]
        for to_stage in ("PRODUCTION", "STAGING", "PRODUCTION", "STAGING", "PRODUCTION"):
            await transition(api, "paused", 1, to_stage)
            sequence += 1
            assert (await client.data(operation))["registryEvents"]["sequence"] == sequence
            if await deliveries(served.watched, "pushed") > pushed_before:
                break
        else:
            raise AssertionError("no event was pushed after the client read again")
        reading.cancel()
    await eventually(lambda: open_subscriptions(served.watched), lambda n: n == open_before)


async def open_subscriptions(api: GraphQLClient) -> float:
    return value(await scrape(api), "modelreg_live_subscriptions")


async def deliveries(api: GraphQLClient, how: str) -> float:
    return value(await scrape(api), "modelreg_live_deliveries_total", how=how)


async def test_permessage_deflate_is_accepted_only_when_configured(
    served: Live, tmp_path: Path, sqlite_template: Path
) -> None:
    """Browsers offer it; compressing every event for every connection costs more than
    it saves on small events, so it is off unless MODELREG_LIVE_COMPRESSION is set."""

    async def negotiated(url: str) -> list[str]:
        protocols = [Subprotocol("graphql-transport-ws")]
        async with connect(url, subprotocols=protocols, compression="deflate") as ws:
            return [extension.name for extension in ws.protocol.extensions]

    assert await negotiated(served.server.ws) == []
    path = tmp_path / "modelreg.db"
    shutil.copyfile(sqlite_template, path)
    db = create_database(f"sqlite+aiosqlite:///{path}")
    try:
        async with replicas(db, MODELREG_LIVE_COMPRESSION="true") as ([server], _):
            assert await negotiated(server.ws) == ["permessage-deflate"]
    finally:
        await db.dispose()
