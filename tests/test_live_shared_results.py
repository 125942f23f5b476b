"""Subscriptions of one shape share each event's execution; every other guarantee holds.

Against a real `modelreg serve` (one worker, so that every subscription is on
the process whose /metrics counts executions), real WebSockets, both backends.
"""

import asyncio
from typing import Any

from storage.database import Database
from storage.enums import Role
from tests.conftest import issue_token
from tests.graphql import GraphQLClient, register, transition
from tests.live_client import LiveClient, live
from tests.live_servers import replicas
from tests.scrape import scrape, value

EVENTS = """
subscription($after: String, $filter: EventFilter) {
  registryEvents(after: $after, filter: $filter) { cursor type sequence modelName version data }
}
"""
LAST_CURSOR = """
query($model: String!) {
  events(first: 100, filter: {modelNames: [$model]}) { pageInfo { endCursor } }
}
"""


async def results_counted(api: GraphQLClient) -> dict[str, float]:
    """modelreg_live_results by `how`: executed, reused."""
    samples = await scrape(api)
    return {
        how: value(samples, "modelreg_live_results_total", how=how)
        for how in ("executed", "reused")
    }


async def cursor_now(api: GraphQLClient, model: str) -> str:
    data = await api.data(LAST_CURSOR, {"model": model})
    cursor: str = data["events"]["pageInfo"]["endCursor"]
    return cursor


async def payloads(client: LiveClient, operation: str, count: int) -> list[dict[str, Any]]:
    """The next `count` `next` payloads of a subscription, whole."""
    got = []
    for _ in range(count):
        message = await client.message(operation)
        assert message["type"] == "next", message
        got.append(message["payload"])
    return got


async def test_one_shape_is_executed_once_per_event_for_all_its_subscribers(db: Database) -> None:
    async with replicas(db, workers=1) as ([server], api):
        await register(api, "shared")
        after = await cursor_now(api, "shared")
        # Three connections of 4 subscriptions (5 may be open on one): the filters
        # differ, but only in which events pass, and all of them pass these.
        narrow = {"after": after, "filter": {"modelNames": ["shared"]}}
        wide = {"after": after, "filter": {"modelNames": ["shared", "elsewhere"]}}
        async with (
            live(server.ws, api.token) as a,
            live(server.ws, api.token) as b,
            live(server.ws, api.token) as c,
        ):
            subscriptions = [
                (client, await client.subscribe(EVENTS, narrow if i % 2 else wide))
                for client in (a, b, c)
                for i in range(4)
            ]
            before = await results_counted(api)
            await register(api, "shared")
            await transition(api, "shared", 2, "STAGING")
            await api.data(
                'mutation { setTag(input: {modelName: "shared", key: "k", value: "v"}) '
                "{ tag { key } } }"
            )
            got = [await payloads(client, operation, 3) for client, operation in subscriptions]
            counted = await results_counted(api)
    assert all(each == got[0] for each in got)
    events = [p["data"]["registryEvents"] for p in got[0]]
    assert [(e["type"], e["version"]) for e in events] == [
        ("model_version.created", 2),
        ("model_version.stage_changed", 2),
        ("tag.set", None),
    ]
    assert events[1]["data"]["toStage"] == "STAGING"
    assert counted["executed"] - before["executed"] == 3
    assert counted["reused"] - before["reused"] == 3 * (len(subscriptions) - 1)


async def test_selections_variables_and_roles_each_get_their_own_result(db: Database) -> None:
    reader = await issue_token(db, "reader", Role.READER)
    async with replicas(db, workers=1) as ([server], api):
        await register(api, "shapes")
        after = await cursor_now(api, "shapes")
        only: dict[str, Any] = {"filter": {"modelNames": ["shapes"]}, "after": after}
        with_data = """
        subscription($after: String, $filter: EventFilter, $full: Boolean!) {
          registryEvents(after: $after, filter: $filter) { type data @include(if: $full) }
        }
        """
        aliased = """
        subscription($after: String, $filter: EventFilter) {
          change: registryEvents(after: $after, filter: $filter) { type version }
        }
        """
        created_only = {
            **only,
            "filter": {"modelNames": ["shapes"], "types": ["model_version.created"]},
        }
        async with live(server.ws, api.token) as admin, live(server.ws, reader) as read:
            full = await admin.subscribe(with_data, {**only, "full": True})
            slim = await admin.subscribe(with_data, {**only, "full": False})
            alias = await admin.subscribe(aliased, only)
            created_op = await admin.subscribe(aliased, created_only)
            as_admin = await admin.subscribe(EVENTS, only)
            as_reader = await read.subscribe(EVENTS, only)
            before = await results_counted(api)
            await register(api, "shapes")
            await transition(api, "shapes", 2, "PRODUCTION")

            [full_created, full_changed] = await payloads(admin, full, 2)
            [slim_created, slim_changed] = await payloads(admin, slim, 2)
            aliased_got = await payloads(admin, alias, 2)
            [created_got] = await payloads(admin, created_op, 1)
            admin_got = await payloads(admin, as_admin, 2)
            reader_got = await payloads(read, as_reader, 2)
            counted = await results_counted(api)
            assert await admin.nothing_more(created_op)

    assert full_changed["data"]["registryEvents"]["data"]["toStage"] == "PRODUCTION"
    assert full_created["data"]["registryEvents"]["type"] == "model_version.created"
    assert slim_created == {"data": {"registryEvents": {"type": "model_version.created"}}}
    assert slim_changed == {"data": {"registryEvents": {"type": "model_version.stage_changed"}}}
    assert [p["data"] for p in aliased_got] == [
        {"change": {"type": "model_version.created", "version": 2}},
        {"change": {"type": "model_version.stage_changed", "version": 2}},
    ]
    assert created_got == aliased_got[0]  # another filter, the same shape
    assert admin_got == reader_got
    # Shapes: full, slim, aliased (with `created`), and EVENTS once per role;
    # `created` reuses its shape's first event and never sees the second.
    assert counted["executed"] - before["executed"] == 5 * 2
    assert counted["reused"] - before["reused"] == 1


async def test_a_slow_consumer_among_shared_subscribers_is_dropped_alone(db: Database) -> None:
    """The slow one's queue (8) fills and it is closed; those sharing its shape never wait."""
    async with replicas(db, workers=1) as ([server], api):
        params = [{"key": f"p{i}", "value": "x" * 200} for i in range(1000)]  # ~0.2 MB per event
        await register(api, "crowd", params=params)
        watched = {"modelNames": ["crowd"], "types": ["model_version.stage_changed"]}
        heavy = {"filter": watched, "after": await cursor_now(api, "crowd")}
        query = """
        subscription($after: String, $filter: EventFilter) {
          registryEvents(after: $after, filter: $filter) { type data }
        }
        """
        async with (
            live(server.ws, api.token, reading=False, receive_buffer=4096) as slow,
            live(server.ws, api.token) as first,
            live(server.ws, api.token) as second,
        ):
            await slow.subscribe(query, heavy)
            fast = [(client, await client.subscribe(query, heavy)) for client in (first, second)]
            fast += [(client, await client.subscribe(query, heavy)) for client in (first, second)]
            # All changes, then the slow one reads at once: a client that reads
            # nothing for 10 s after its close loses the close frame too (1006).
            stages = ["STAGING" if i % 2 == 0 else "NONE" for i in range(40)]
            for stage in stages:
                await transition(api, "crowd", 1, stage)
            reading = asyncio.create_task(slow.read_all())
            for client, operation in fast:
                got = [(await client.data(operation))["registryEvents"] for _ in stages]
                assert [event["data"]["toStage"] for event in got] == stages
            code, reason = await asyncio.wait_for(slow.closed, 30)
            await reading
            assert not first.closed.done()
            assert not second.closed.done()
    assert code == 4420, reason
