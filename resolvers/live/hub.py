"""One reader of the event log per process, fanning new events out to live subscribers.

However many subscriptions a process serves, one task reads the log: after a
commit in this process (woken at once), on PostgreSQL after a NOTIFY from
another replica, on SQLite when another worker writes the write-ahead log
(inotify hints it at once, storage/wal_notify.py; without inotify `changed`
is a cheap stat of the file, asked every few milliseconds), and every poll
interval whatever happens, since a NOTIFY can be missed and on PostgreSQL an
event becomes readable only when older transactions end
(storage/queries/events.py).
While nobody subscribes it reads nothing at all, nor listens for other
workers' writes (each commit writes the WAL several times, and each write
would wake every worker); the first subscriber to come starts it again from
the newest event.

Each subscriber has a bounded queue. The hub never waits for one: a
subscriber whose queue is full is closed as a slow consumer (its client
resumes from its last cursor), and the others never notice.

A subscriber waiting idle for its next event, with nothing queued, may be
given a way to push an event straight to its client (`next(push=...)`): the
hub calls it instead of queueing and waking the subscriber's task, which
spares a task switch and every layer between the resolver and the socket
(bench.live, 500 subscriptions: ~66 -> ~50 ms of CPU per commit). Order
holds: the subscriber's task waits in `next` only once everything it took
before was sent, and a push that cannot be done at once (a client not
reading, a token due for its check) says so, and the event is queued as
before.
"""

import asyncio
import contextlib
import enum
import logging
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from prometheus_client import Counter as PrometheusCounter
from prometheus_client import Gauge

from resolvers.errors import RegistryError
from resolvers.live.closing import SHUTTING_DOWN, SLOW_CONSUMER, Closed
from storage import sqlite_driver
from storage.database import Database
from storage.queries import events
from storage.queries.events import START, EventFilter, Position
from storage.records import EventRecord
from storage.wakeups import Listen, Stop

logger = logging.getLogger("modelreg.live")

# Reads a batch at most this big; a bigger burst is read in several turns.
BATCH_SIZE = 200
# After a wake-up found nothing new (PostgreSQL: an older transaction still
# running holds the event back), look again this soon, doubling up to the poll interval.
EAGER_RETRY_SECONDS = 0.005
# How often `changed` is asked (it must be cheap: a stat, not a query).
CHANGE_CHECK_SECONDS = 0.005
# A hint (a write, maybe not visible yet) that found nothing is looked at once more after this.
HINT_RETRY_SECONDS = 0.002
# Offers of events to subscribers between two turns of the loop's other work: ~13 ms of
# pushes. Slices of 100 looked slower for the fan-out (bench.live, 500 subscriptions on
# 2 workers, two paired runs: p50 10.3-11.7 against 7.9-10.1 ms unsliced).
FAN_OUT_SLICE = 500


class TooManySubscriptions(RegistryError):
    code = "TOO_MANY_SUBSCRIPTIONS"


@dataclass(frozen=True, slots=True)
class HubConfig:
    poll_interval_seconds: float = 0.1
    queue_size: int = 1000
    subscriptions_per_token: int = 1000


def matches(event_filter: EventFilter, event: EventRecord) -> bool:
    """Does `event` pass the (checked) filter? The same rules as the SQL of events_after."""
    f = event_filter
    return (
        (not f.types or event.type in f.types)
        and (not f.model_names or event.model_name in f.model_names)
        and (not f.stages or event.stage in f.stages)
        and (f.since is None or event.created_at >= f.since)
        and (f.until is None or event.created_at < f.until)
    )


# Hands an event to the subscription's client at once; False when it cannot without waiting.
Push = Callable[[EventRecord], bool]


class Delivery(enum.Enum):
    PUSHED = "pushed"
    QUEUED = "queued"


OPEN = Gauge(
    "modelreg_live_subscriptions",
    "Live subscriptions open now (registryEvents, watchModelUri), summed over the processes",
    multiprocess_mode="livesum",
)
DELIVERED = PrometheusCounter(
    "modelreg_live_deliveries",
    "Events handed to live subscriptions: pushed to the client by the reader of the log, "
    "or queued for the subscription's own task (it was busy, or its client not reading)",
    ["how"],
)


class Subscriber:
    """One live subscription's queue of events, after `floor` in log order."""

    def __init__(
        self, event_filter: EventFilter, floor: Position, queue_size: int, owner: str
    ) -> None:
        self.event_filter = event_filter
        # Events at or before it were (or will be) read from the log by the subscription.
        self.joined_at = floor
        self.floor = floor
        self.owner = owner
        self._queue: deque[EventRecord] = deque()
        self._queue_size = queue_size
        self._ready = asyncio.Event()
        self.closed: Closed | None = None
        self.on_close: Callable[[Closed], None] = lambda _: None
        # Set while the subscriber's task waits in `next` with nothing queued.
        self._push: Push | None = None

    def offer(self, event: EventRecord) -> Delivery | None:
        """Take `event` if it is for this subscription (None: it is not, or it is closed)."""
        if self.closed is not None or event.position <= self.floor:
            return None
        if not matches(self.event_filter, event):
            return None
        if len(self._queue) >= self._queue_size:
            self.close(
                Closed(
                    SLOW_CONSUMER,
                    f"slow consumer: {self._queue_size} events waiting to be sent; "
                    "resume from the last cursor received",
                )
            )
            return None
        if self._push is not None and not self._queue and self._pushed(self._push, event):
            return Delivery.PUSHED
        self._queue.append(event)
        self._ready.set()
        return Delivery.QUEUED

    def _pushed(self, push: Push, event: EventRecord) -> bool:
        try:
            return push(event)
        except Exception:  # the queue and the subscriber's task will meet it, and say why
            logger.exception("pushing a live event failed; it is queued instead")
            self._push = None
            return False

    def skip_through(self, position: Position) -> None:
        """Drop what the subscription already got from the log (up to `position`)."""
        self.floor = max(self.floor, position)
        while self._queue and self._queue[0].position <= self.floor:
            self._queue.popleft()

    def close(self, reason: Closed) -> None:
        if self.closed is None:
            self.closed = reason
            self._queue.clear()
            self._ready.set()
            self.on_close(reason)

    def pending(self) -> list[EventRecord]:
        """Everything queued now, without waiting (empty when nothing is)."""
        taken = list(self._queue)
        self._queue.clear()
        self._ready.clear()
        if self.closed is not None:
            raise self.closed
        return taken

    async def next(self, push: Push | None = None) -> EventRecord:
        """The next event; raises `Closed` once the subscription is closed.

        While it waits, the hub hands new events to `push` instead, as long
        as `push` takes them: call it only once everything taken before was
        delivered, or a pushed event could overtake one.
        """
        while not self._queue:
            if self.closed is not None:
                raise self.closed
            self._ready.clear()
            self._push = push
            try:
                await self._ready.wait()
            finally:
                self._push = None
        if self.closed is not None:
            raise self.closed
        return self._queue.popleft()


async def fan_out(
    batch: list[EventRecord], subscribers: list[Subscriber], slice_size: int = FAN_OUT_SLICE
) -> Counter[Delivery | None]:
    """Offer each event of `batch`, in order, to every subscriber; how each went.

    Every `slice_size` offers it lets the loop's other work run (requests,
    pings, subscriptions' own tasks): pushing to thousands of subscribers
    would otherwise hold a request up for as long. Each offer is whole, so
    no subscriber's order depends on where the slices fall.
    """
    delivered: Counter[Delivery | None] = Counter()
    offered = 0
    for event in batch:
        for subscriber in subscribers:
            delivered[subscriber.offer(event)] += 1
            offered += 1
            if offered % slice_size == 0:
                await asyncio.sleep(0)
    return delivered


class EventHub:
    """The process's reader of the event log and its live subscribers."""

    def __init__(
        self,
        db: Database,
        config: HubConfig,
        *,
        listen: Listen | None = None,
        hints: Listen | None = None,
        changed: Callable[[], bool] | None = None,
    ) -> None:
        self._db = db
        self._config = config
        self._listen = listen
        # Hints are listened to only while this process has subscribers: every commit
        # writes the WAL file several times (~5 for a promotion), and each write would
        # otherwise wake every worker's loop for nothing (see _watch_writes).
        self._hints = hints
        self._stop_hints: Stop | None = None
        self._changed = None if hints is not None else changed
        self._changed_without_hints = changed
        self._wakeup = asyncio.Event()
        # Why the wake-up event was set: a known commit (retry until it is readable), a hint.
        self._committed = False
        self._hinted = False
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._stop_listening: list[Callable[[], Awaitable[None]]] = []
        self._subscribers: set[Subscriber] = set()
        self._per_owner: Counter[str] = Counter()
        # Held while the log is read and fanned out, and while a subscriber joins:
        # a subscriber joins between two batches, never in the middle of one.
        self._reading = asyncio.Lock()
        self.position: Position = START

    @property
    def config(self) -> HubConfig:
        return self._config

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    async def start(self) -> None:
        if self._listen is not None:
            self._stop_listening.append(await self._listen(self.wake))
        self._task = asyncio.create_task(self._run(), name="live-events")

    def wake(self) -> None:
        """Something was committed: read the log without waiting (and soon again if not yet)."""
        if not self._subscribers:
            return  # nobody to tell; the first subscriber starts from the newest event
        self._committed = True
        self._wakeup.set()

    def hint(self) -> None:
        """Something was written, maybe not yet committed: read the log now, and once more."""
        if not self._subscribers:
            return
        self._hinted = True
        self._wakeup.set()

    @asynccontextmanager
    async def subscription(
        self,
        event_filter: EventFilter,
        owner: str,
        on_close: Callable[[Closed], None],
        after: Position | None = None,
    ) -> AsyncIterator[Subscriber]:
        """A subscriber for the events after now (`joined_at`), removed on exit.

        With `after` beyond now (a cursor from a replica that read further),
        events up to `after` are skipped too. `on_close` learns why the hub
        closed it (too slow, the server stopping); so does a subscription
        refused because the server is stopping. TOO_MANY_SUBSCRIPTIONS when
        `owner` (a token) has as many as it may have in this process.
        """
        if self._stopping:
            refused = Closed(SHUTTING_DOWN, "the server is stopping")
            on_close(refused)
            raise refused
        limit = self._config.subscriptions_per_token
        if self._per_owner[owner] >= limit:
            raise TooManySubscriptions(
                f"token {owner!r} has {limit} live subscriptions on this server, the most "
                "it may have (MODELREG_LIVE_SUBSCRIPTIONS_PER_TOKEN)",
                limit=limit,
            )
        async with self._reading:
            await self._watch_writes()
            if not self._subscribers:  # nothing was read while nobody listened
                async with self._db.read() as conn:
                    self.position = await events.last_position(conn)
            subscriber = Subscriber(event_filter, self.position, self._config.queue_size, owner)
            subscriber.on_close = on_close
            if after is not None:
                subscriber.skip_through(after)
            self._subscribers.add(subscriber)
            self._per_owner[owner] += 1
            OPEN.inc()
        self.wake()
        try:
            yield subscriber
        finally:
            OPEN.dec()
            self._subscribers.discard(subscriber)
            self._per_owner[owner] -= 1
            if self._per_owner[owner] <= 0:
                del self._per_owner[owner]
            if not self._subscribers:
                await self._unwatch_writes()

    async def _watch_writes(self) -> None:
        """Listen for other processes' writes (before the first subscriber reads its position,
        so none is missed), unless already listening or unable to."""
        if self._hints is None or self._stop_hints is not None:
            return
        try:
            self._stop_hints = await self._hints(self.hint)
        except OSError as error:  # e.g. out of inotify watches: `changed` looks instead
            logger.warning("live: no write hints (%s); polling instead", error)
            self._hints = None
            self._changed = self._changed_without_hints

    async def _unwatch_writes(self) -> None:
        # Taken before the await: a subscriber joining meanwhile starts a watch of its own.
        stop, self._stop_hints = self._stop_hints, None
        if stop is not None:
            await stop()

    @property
    def watching_writes(self) -> bool:
        """Whether other processes' writes are being listened for (while anyone subscribes)."""
        return self._stop_hints is not None

    def close_all(self, reason: Closed) -> None:
        """Close every subscription (the server is stopping); none may start after."""
        self._stopping = True
        for subscriber in list(self._subscribers):
            subscriber.close(reason)

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for stop_listening in self._stop_listening:
            await stop_listening()
        await self._unwatch_writes()

    async def _run(self) -> None:
        retry = EAGER_RETRY_SECONDS
        while True:
            if not self._subscribers:
                self._wakeup.clear()
                await self._wakeup.wait()  # a subscriber joining wakes it
                continue
            committed, hinted = self._committed, self._hinted
            self._committed = self._hinted = False
            self._wakeup.clear()
            try:
                found = await self._read_once()
            except Exception:
                logger.exception("reading the event log failed; retrying")
                found = 0
            if found == BATCH_SIZE:
                continue
            if found or not (committed or hinted):
                retry = EAGER_RETRY_SECONDS
                await self._wait(self._config.poll_interval_seconds)
            elif committed:
                # Woken, nothing readable yet: look again soon, then less and less often.
                await self._wait(retry)
                retry = min(retry * 2, self._config.poll_interval_seconds)
            else:
                # A write that was not visible yet (or not a commit at all): one more look.
                await self._wait(HINT_RETRY_SECONDS)

    async def _wait(self, seconds: float) -> None:
        """Until woken, `changed` says so, or `seconds` have passed."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            step = min(left, CHANGE_CHECK_SECONDS) if self._changed is not None else left
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(step):  # no task per wait, unlike wait_for
                    await self._wakeup.wait()
                    return
            if self._changed is not None and self._changed():
                return

    async def _read_once(self) -> int:
        async with self._reading:
            async with self._db.read() as conn:
                # A range of the log's primary key, almost always a row or two past
                # the last read: on SQLite, run on this thread, no hand-off to the driver's.
                with sqlite_driver.quick():
                    batch = await events.events_after(conn, self.position, BATCH_SIZE)
            # A subscriber that joins sees either all of the batch (it joined
            # before) or none of it (it joins after, at the new position).
            delivered = await fan_out(batch, list(self._subscribers))
            for how in (Delivery.PUSHED, Delivery.QUEUED):
                if delivered[how]:
                    DELIVERED.labels(how.value).inc(delivered[how])
            if batch:
                self.position = batch[-1].position
            return len(batch)
