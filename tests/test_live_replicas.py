"""Live subscriptions across processes: a change committed through one replica reaches the other.

SQLite: two `serve` processes on one file (as `--workers 2` are). PostgreSQL:
two replicas, woken by NOTIFY. And a stopping replica closes its subscriptions
with 1012 at once, so their clients reconnect elsewhere.
"""

import asyncio
import signal

from storage.database import Database
from tests.graphql import register, transition
from tests.live_client import from_now, live
from tests.live_servers import replicas

EVENTS = """
subscription($after: String, $filter: EventFilter) {
  registryEvents(after: $after, filter: $filter) { type version }
}
"""
WATCH = "subscription($uri: String!) { watchModelUri(uri: $uri) { version } }"


async def test_a_change_through_one_replica_reaches_the_other(db: Database) -> None:
    async with replicas(db, count=2) as ([first, second], api):
        assert api.http.base_url.port == first.port
        only_spread = {"filter": {"modelNames": ["spread"]}}
        async with live(second.ws, api.token) as client:
            events = await client.subscribe(EVENTS, {**only_spread, **await from_now(api)})
            watch = await client.subscribe(WATCH, {"uri": "models:/spread/Production"})
            assert (await client.data(watch))["watchModelUri"] is None
            await register(api, "spread")
            await transition(api, "spread", 1, "PRODUCTION")
            got = [(await client.data(events))["registryEvents"] for _ in range(3)]
            assert [(e["type"], e["version"]) for e in got] == [
                ("model.created", None),
                ("model_version.created", 1),
                ("model_version.stage_changed", 1),
            ]
            assert (await client.data(watch))["watchModelUri"] == {"version": 1}

        async with live(second.ws, api.token) as client:
            await client.subscribe(EVENTS)
            second.process.send_signal(signal.SIGTERM)
            code, _ = await asyncio.wait_for(client.closed, 20)
        assert code == 1012
        assert await asyncio.to_thread(second.process.wait, 30) == 0
