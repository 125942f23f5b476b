"""The event log: every change is logged, read over GraphQL, resumable under racing writers."""

import asyncio
import itertools
import random
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import pytest
from sqlalchemy import select

from storage.clock import utcnow
from storage.database import Database, create_database
from storage.enums import Role
from storage.queries import events as event_log
from storage.tables import webhook_deliveries, webhook_events
from tests.conftest import FAST_WEBHOOKS, issue_token, serving
from tests.graphql import GraphQLClient, register, transition
from tests.receiver import Receiver
from tests.snapshot import snapshot
from tests.webhook_client import create_webhook, eventually
from webhooks.listener import postgres_listener

EVENTS = """
query($first: Int, $after: String, $filter: EventFilter) {
  events(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { cursor type sequence occurredAt actor modelName version data } }
  }
}
"""


async def read_events(
    api: GraphQLClient, first: int = 100, after: str | None = None, **event_filter: Any
) -> dict[str, Any]:
    variables = {"first": first, "after": after, "filter": event_filter or None}
    result: dict[str, Any] = (await api.data(EVENTS, variables))["events"]
    return result


def nodes(page: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in page["edges"]]


async def test_every_change_is_logged_without_any_subscriber(api: GraphQLClient) -> None:
    await register(api, "fraud", 2)
    await transition(api, "fraud", 1, "PRODUCTION")
    await transition(api, "fraud", 2, "PRODUCTION")
    page = await read_events(api)
    got = nodes(page)
    assert [(e["type"], e["version"]) for e in got] == [
        ("model.created", None),
        ("model_version.created", 1),
        ("model_version.created", 2),
        ("model_version.stage_changed", 1),
        ("model_version.stage_changed", 1),  # displaced into ARCHIVED
        ("model_version.stage_changed", 2),
    ]
    assert [e["sequence"] for e in got] == [1, 2, 3, 4, 5, 6]
    assert [e["data"]["sequence"] for e in got] == [1, 2, 3, 4, 5, 6]
    assert {e["modelName"] for e in got} == {"fraud"}
    assert {e["actor"] for e in got} == {api.actor}
    assert got[5]["data"]["toStage"] == "PRODUCTION"
    assert got[0]["occurredAt"].endswith("Z") or "+00:00" in got[0]["occurredAt"]
    assert [edge["cursor"] for edge in page["edges"]] == [e["cursor"] for e in got]
    assert page["totalCount"] == 6
    assert page["pageInfo"] == {"hasNextPage": False, "endCursor": got[-1]["cursor"]}


async def test_pages_follow_on_from_any_cursor(api: GraphQLClient) -> None:
    await register(api, "fraud", 4)
    everything = nodes(await read_events(api))
    first = await read_events(api, first=2)
    assert nodes(first) == everything[:2]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = await read_events(api, after=first["pageInfo"]["endCursor"])
    assert nodes(rest) == everything[2:]
    # Nothing after the newest event, until something happens.
    last = everything[-1]["cursor"]
    assert nodes(await read_events(api, after=last)) == []
    await register(api, "fraud")
    assert [e["version"] for e in nodes(await read_events(api, after=last))] == [5]


async def test_the_latest_cursor_is_where_a_reader_starts_to_miss_nothing(
    api: GraphQLClient, db: Database
) -> None:
    latest = "{ latestEventCursor }"
    reader = api.as_token(await issue_token(db, "watcher", Role.READER), "watcher")
    empty = (await reader.data(latest))["latestEventCursor"]
    await register(api, "fraud", 2)
    # From the start of an empty log: everything that came since.
    assert [e["type"] for e in nodes(await read_events(reader, after=empty))] == [
        "model.created",
        "model_version.created",
        "model_version.created",
    ]
    now = (await reader.data(latest))["latestEventCursor"]
    assert now == nodes(await read_events(api))[-1]["cursor"]
    assert nodes(await read_events(api, after=now)) == []
    await transition(api, "fraud", 1, "STAGING")
    assert [e["version"] for e in nodes(await read_events(api, after=now))] == [1]


async def test_filters(api: GraphQLClient) -> None:
    await register(api, "fraud", 2)
    await register(api, "churn")
    await transition(api, "fraud", 1, "STAGING")
    await transition(api, "churn", 1, "PRODUCTION")
    start = nodes(await read_events(api))[-1]["occurredAt"]

    async def types(**event_filter: Any) -> list[tuple[str, str]]:
        return [(e["type"], e["modelName"]) for e in nodes(await read_events(api, **event_filter))]

    assert await types(modelNames=["churn"]) == [
        ("model.created", "churn"),
        ("model_version.created", "churn"),
        ("model_version.stage_changed", "churn"),
    ]
    assert await types(types=["model.*"]) == [
        ("model.created", "fraud"),
        ("model.created", "churn"),
    ]
    assert await types(stages=["PRODUCTION"]) == [("model_version.stage_changed", "churn")]
    assert await types(stages=["STAGING", "PRODUCTION"], modelNames=["fraud"]) == [
        ("model_version.stage_changed", "fraud")
    ]
    assert await types(types=["*"], modelNames=["nobody"]) == []
    assert await types(since=start) == [("model_version.stage_changed", "churn")]
    assert await types(until=start, types=["model.created"], modelNames=["churn"]) == [
        ("model.created", "churn")
    ]
    page = await read_events(api, first=1, modelNames=["fraud"])
    assert page["totalCount"] == 4


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"first": 101}, "first"),
        ({"after": "bm90IGEgY3Vyc29y"}, "after"),
        ({"filter": {"types": ["model.exploded"]}}, "filter.types"),
        ({"filter": {"modelNames": [f"m{i}" for i in range(101)]}}, "filter.modelNames"),
        ({"filter": {"modelNames": ["fraud/1"]}}, "filter.modelNames"),
        ({"filter": {"since": "2026-01-01T00:00:00"}}, "filter.since"),
    ],
)
async def test_bad_arguments_are_refused(
    api: GraphQLClient, variables: dict[str, Any], field: str
) -> None:
    error = await api.error(EVENTS, variables)
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["extensions"]["field"] == field


async def test_readers_may_read_the_log(api: GraphQLClient, db: Database) -> None:
    await register(api, "fraud")
    reader = api.as_token(await issue_token(db, "watcher", Role.READER), "watcher")
    assert [e["type"] for e in nodes(await read_events(reader))] == [
        "model.created",
        "model_version.created",
    ]


async def test_a_refused_change_logs_nothing(api: GraphQLClient, db: Database) -> None:
    await register(api, "fraud")
    before = await snapshot(db)
    await api.error(
        'mutation { transitionStage(input: {modelName: "fraud", version: 1, stage: NONE})'
        " { modelVersion { version } } }"
    )
    assert await snapshot(db) == before


async def test_deliveries_point_at_the_logged_events(db: Database, receiver: Receiver) -> None:
    async with serving(db, FAST_WEBHOOKS) as api:
        await register(api, "churn")  # before any webhook: logged, delivered to no one
        await create_webhook(api, receiver.url(), ["model_version.created"])
        await register(api, "fraud")
        await receiver.wait_for(lambda r: len(r) == 1)
    async with db.read() as conn:
        logged = {
            row.id: row.type
            for row in await conn.execute(select(webhook_events.c.id, webhook_events.c.type))
        }
        [event_id] = (await conn.execute(select(webhook_deliveries.c.event_id))).scalars()
    assert sorted(logged.values()) == sorted(["model.created", "model_version.created"] * 2)
    assert logged[event_id] == "model_version.created"
    assert event_id == max(logged)


async def test_the_live_hubs_prebuilt_read_answers_as_the_filtered_one(
    api: GraphQLClient, db: Database
) -> None:
    """events_after without a filter runs a statement built once; with one, it builds it."""
    await register(api, "fraud", 3)
    await transition(api, "fraud", 1, "STAGING")
    async with db.read() as conn:
        everything = await event_log.events_after(
            conn, event_log.START, 100, event_log.EventFilter()
        )
        assert len(everything) == 5
        for start in [event_log.START, *(e.position for e in everything)]:
            for limit in (1, 2, 100):
                built = await event_log.events_after(conn, start, limit, event_log.EventFilter())
                assert await event_log.events_after(conn, start, limit) == built


async def test_old_events_are_pruned_but_never_the_newest(db: Database) -> None:
    settings = FAST_WEBHOOKS.model_copy(
        update={"event_retention_seconds": 0.2, "webhook_maintenance_interval_seconds": 0.05}
    )
    async with serving(db, settings) as api:
        await register(api, "fraud", 3)
        left = await eventually(lambda: read_events(api), lambda p: len(p["edges"]) == 1)
    assert nodes(left)[0]["version"] == 3


async def test_a_changes_events_are_logged_in_the_order_given(db: Database) -> None:
    """A change's events are one INSERT (on SQLite too); the ids it returns and the
    model's sequence numbers follow the order the events were given, whatever order
    the database returns its rows in."""
    types = ["model.updated", "model_version.created", "tag.set", "model_version.stage_changed"]

    def rows(model: str) -> list[dict[str, Any]]:
        row: dict[str, Any] = {
            "sequence": None,
            "data": {},
            "model_name": model,
            "created_at": utcnow(),
        }
        return [{**row, "type": kind} for kind in types]

    async with db.transaction() as conn:
        await event_log.insert_events(conn, rows("ordered")[:1])
        logged = await event_log.insert_events(conn, rows("ordered") + rows("other"))
    assert logged.ids == sorted(logged.ids)
    columns = (webhook_events.c.id, webhook_events.c.type, webhook_events.c.model_name)
    async with db.transaction() as conn:
        found = await conn.execute(
            select(*columns, webhook_events.c.sequence).where(webhook_events.c.id.in_(logged.ids))
        )
        by_id = {row.id: (row.type, row.model_name, row.sequence) for row in found}
    assert [by_id[event_id] for event_id in logged.ids] == [
        *((kind, "ordered", sequence) for sequence, kind in enumerate(types, start=2)),
        *((kind, "other", sequence) for sequence, kind in enumerate(types, start=1)),
    ]


async def test_a_resuming_reader_gets_every_event_once_under_racing_writers(
    db: Database,
) -> None:
    """Writers on several connections commit out of id order; a reader resumes from its cursor.

    PostgreSQL hands out ids at insert time, so a naive reader by id would
    pass an id whose transaction commits later and never read it.
    """
    row: dict[str, Any] = {"type": "model.updated", "sequence": None, "data": {}}
    # A model each: writers of one model take turns on its sequence counter's row.
    models = itertools.count()

    async def write(pause: float, committed: list[int]) -> int:
        async with db.transaction() as conn:
            event = {**row, "model_name": f"m{next(models)}", "created_at": utcnow()}
            logged = await event_log.insert_events(conn, [event])
            [event_id] = logged.ids
            await asyncio.sleep(pause)
        committed.append(event_id)
        return event_id

    reader = create_database(db.url)  # a reader elsewhere, never queued behind the writers

    async def read_after(position: event_log.Position) -> list[Any]:
        async with reader.read() as conn:
            return await event_log.events_after(conn, position, 7)

    try:
        await race(write, read_after, postgresql=db.writer.dialect.name == "postgresql")
    finally:
        await reader.dispose()


async def race(
    write: Callable[[float, list[int]], Coroutine[Any, Any, int]],
    read_after: Callable[[event_log.Position], Awaitable[list[Any]]],
    *,
    postgresql: bool,
) -> None:

    # The plain case: the older transaction commits last (on SQLite the
    # second writer waits for the first: one writer at a time).
    committed: list[int] = []
    slow = asyncio.create_task(write(0.3, committed))
    await asyncio.sleep(0.05)  # the slow one has its id
    fast = await write(0.0, committed)
    if postgresql:
        assert committed == [fast]
        assert await read_after(event_log.START) == []  # the fast one waits for the slow one
    first = await slow
    assert first < fast
    got = await read_after(event_log.START)
    assert [e.id for e in got] == [first, fast]

    # The race: six writers, random pauses, a reader that resumes from its last position.
    committed = []

    async def writer() -> None:
        for _ in range(15):
            await write(random.uniform(0, 0.01), committed)

    writers = [asyncio.create_task(writer()) for _ in range(6)]
    seen: list[int] = []
    position = got[-1].position
    done = False
    while not done:
        done = all(w.done() for w in writers)  # read once more after the last commit
        batch = await read_after(position)
        while batch:
            seen += [e.id for e in batch]
            position = batch[-1].position
            batch = await read_after(position)
        await asyncio.sleep(0.001)
    assert sorted(seen) == sorted(committed)
    assert len(seen) == len(set(seen))
    if postgresql:
        assert committed != sorted(committed), "the writers never committed out of id order"


# PostgreSQL only: SQLite's live readers watch the WAL file instead.
@pytest.mark.parametrize("backend", ["postgresql"])
async def test_postgresql_wakes_live_readers_when_events_commit(db: Database) -> None:
    """The events' INSERT sends NOTIFY (a trigger); listeners get it at commit, not before."""
    woken = asyncio.Event()
    stop = await postgres_listener(db.url, channel=event_log.NOTIFY_CHANNEL)(woken.set)
    try:
        await asyncio.wait_for(woken.wait(), 10)  # set once as it starts listening
        woken.clear()
        row: dict[str, Any] = {
            "type": "model.updated",
            "model_name": "m",
            "sequence": None,
            "data": {},
        }
        async with db.transaction() as conn:
            await event_log.insert_events(conn, [{**row, "created_at": utcnow()}])
            await asyncio.sleep(0.2)
            assert not woken.is_set()
        await asyncio.wait_for(woken.wait(), 10)
    finally:
        await stop()
