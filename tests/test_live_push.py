"""Pushing live events straight to a waiting subscription's client, and falling back to its queue.

The hub hands an event to `push` only while the subscription's task waits in
`next` with nothing queued; whatever `push` cannot take at once is queued,
and everything after it too, so the client sees log order either way.
Against a real server: tests/test_live_subscriptions.py.
"""

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from resolvers.live.closing import SLOW_CONSUMER, Closed
from resolvers.live.hub import Delivery, Subscriber, fan_out
from server.graphql_ws import at_once
from storage.queries.events import START, EventFilter
from storage.records import EventRecord


def event(number: int) -> EventRecord:
    return EventRecord(
        id=number,
        xid=0,
        type="model_version.created",
        model_name="m",
        sequence=number,
        version=number,
        stage=None,
        actor="ci",
        data={},
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


class Client:
    """A push that takes events while `open`, noting what it took."""

    def __init__(self) -> None:
        self.open = True
        self.got: list[int] = []

    def push(self, record: EventRecord) -> bool:
        if self.open:
            self.got.append(record.id)
        return self.open


def subscription(queue_size: int = 8) -> Subscriber:
    return Subscriber(EventFilter(), START, queue_size=queue_size, owner="t")


async def a_waiting_subscription() -> tuple[Subscriber, Client, asyncio.Task[EventRecord]]:
    """A subscription whose task waits for its next event, with a client taking pushes."""
    subscriber, client = subscription(), Client()
    return subscriber, client, await waiting(subscriber, client)


async def waiting(subscriber: Subscriber, client: Client) -> asyncio.Task[EventRecord]:
    """The subscription's task, waiting in `next` (as the resolver does once all was sent)."""
    task = asyncio.create_task(subscriber.next(client.push))
    await asyncio.sleep(0)
    return task


async def test_a_waiting_subscription_gets_events_pushed_without_waking() -> None:
    subscriber, client, task = await a_waiting_subscription()
    assert [subscriber.offer(event(n)) for n in (1, 2, 3)] == [Delivery.PUSHED] * 3
    assert client.got == [1, 2, 3]
    await asyncio.sleep(0)
    assert not task.done()  # its task was not woken
    task.cancel()


async def test_what_push_refuses_is_queued_and_so_is_everything_after_it() -> None:
    subscriber, client, task = await a_waiting_subscription()
    subscriber.offer(event(1))
    client.open = False  # e.g. the client stopped reading: its socket is full
    assert subscriber.offer(event(2)) == Delivery.QUEUED
    client.open = True
    # Push would take it now, but event 2 is still queued: 3 must not overtake it.
    assert subscriber.offer(event(3)) == Delivery.QUEUED
    assert client.got == [1]
    assert (await task).id == 2
    assert subscriber.pending() == [event(3)]
    # Drained: the next wait may be pushed to again.
    task = await waiting(subscriber, client)
    assert subscriber.offer(event(4)) == Delivery.PUSHED
    assert client.got == [1, 4]
    task.cancel()


async def test_nothing_is_pushed_while_the_subscription_is_busy() -> None:
    """Its task is sending what it took before: a push now could overtake that."""
    subscriber, client, task = await a_waiting_subscription()
    subscriber.offer(event(1))
    client.open = False
    subscriber.offer(event(2))
    assert (await task).id == 2  # taken, not waiting again yet
    client.open = True
    assert subscriber.offer(event(3)) == Delivery.QUEUED
    assert client.got == [1]


async def test_a_push_that_fails_is_logged_and_the_event_queued(
    caplog: pytest.LogCaptureFixture,
) -> None:
    subscriber = subscription()

    def broken(record: EventRecord) -> bool:
        raise RuntimeError("the transport broke")

    task = asyncio.create_task(subscriber.next(broken))
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR, logger="modelreg.live"):
        assert subscriber.offer(event(1)) == Delivery.QUEUED
    assert "pushing a live event failed" in caplog.text
    assert (await task).id == 1


async def test_a_queue_that_fills_closes_the_subscription_as_a_slow_consumer() -> None:
    subscriber = subscription(queue_size=2)
    client = Client()
    client.open = False
    task = await waiting(subscriber, client)
    assert [subscriber.offer(event(n)) for n in (1, 2, 3)] == [Delivery.QUEUED] * 2 + [None]
    assert subscriber.closed is not None
    assert subscriber.closed.code == SLOW_CONSUMER
    with pytest.raises(Closed):
        await task
    assert client.got == []


async def test_a_long_fan_out_lets_other_work_run_and_keeps_each_subscription_in_order() -> None:
    subscribers = [subscription() for _ in range(250)]
    clients = [Client() for _ in subscribers]
    waits = [await waiting(s, c) for s, c in zip(subscribers, clients, strict=True)]
    pushed_when_others_ran: list[int] = []

    async def request() -> None:  # e.g. an HTTP request that came in meanwhile
        pushed_when_others_ran.append(sum(len(client.got) for client in clients))

    other = asyncio.create_task(request())
    delivered = await fan_out([event(1), event(2)], subscribers, slice_size=100)
    assert delivered[Delivery.PUSHED] == 500
    assert 0 < pushed_when_others_ran[0] < 500
    assert all(client.got == [1, 2] for client in clients)
    await other
    for wait in waits:
        wait.cancel()


async def test_a_send_that_would_wait_is_dropped_unsent() -> None:
    """`at_once`: a WebSocket send that waits for a writable transport is undone, not sent."""
    writable = asyncio.Event()
    sent: list[str] = []

    async def send(text: str) -> None:
        await writable.wait()  # what uvicorn's send does first
        sent.append(text)

    assert not at_once(send("a"))
    assert sent == []
    assert not writable._waiters  # it left no waiter behind
    writable.set()
    assert at_once(send("b"))
    assert sent == ["b"]


async def test_a_send_that_fails_is_not_done() -> None:
    async def gone(text: str) -> None:
        raise OSError("connection reset")

    assert not at_once(gone("a"))
