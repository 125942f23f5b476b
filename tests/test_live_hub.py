"""The live hub listens for other processes' writes only while someone subscribes."""

import asyncio

import pytest

from resolvers.live.closing import Closed
from resolvers.live.hub import EventHub, HubConfig
from storage.clock import utcnow
from storage.database import Database, create_database
from storage.queries.events import EventFilter
from storage.wal_notify import wal_listener
from webhooks.events import Event, publish

# Long enough that only a hint can bring an event within the test's wait.
NO_POLLING = HubConfig(poll_interval_seconds=60)


async def log_an_event(writer: Database, name: str) -> None:
    async with writer.transaction() as conn:
        await publish(conn, name, [Event("model.created", {"model": {"name": name}})], utcnow())


def ignore(_: Closed) -> None:
    pass


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_other_writers_are_listened_for_only_while_someone_subscribes(db: Database) -> None:
    # Every commit writes the WAL file several times; each write would wake an idle
    # worker's loop for nothing if it were watched while nobody subscribes.
    hub = EventHub(db, NO_POLLING, hints=wal_listener(db.url))
    other_writer = create_database(db.url)  # never wakes the hub itself
    await hub.start()
    try:
        # Twice: a subscriber after a pause is watched for again, from the newest event.
        for round_ in ("first", "second"):
            assert not hub.watching_writes
            await log_an_event(other_writer, f"before the {round_} subscriber")
            async with hub.subscription(EventFilter(), "tester", ignore) as subscriber:
                assert hub.watching_writes
                await log_an_event(other_writer, f"during the {round_}")
                got = await asyncio.wait_for(subscriber.next(), timeout=5)
                assert got.model_name == f"during the {round_}"
        assert not hub.watching_writes
    finally:
        await hub.stop()
        await other_writer.dispose()
