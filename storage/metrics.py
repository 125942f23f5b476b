"""What the storage layer measures about itself: connection pools and the SQLite writer's wait.

Pool use is kept up to date by SQLAlchemy's pool events rather than read at
scrape time, because the process that answers a scrape sees only its own
pools: each process adds its share to a `livesum` gauge, and under
`modelreg serve --workers N` the scrape sums the live processes.
"""

from collections.abc import Callable
from typing import Any

from prometheus_client import Gauge, Histogram
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

POOL_IN_USE = Gauge(
    "modelreg_db_pool_in_use",
    "Database connections lent out by the pool now",
    ["pool"],
    multiprocess_mode="livesum",
)
POOL_LIMIT = Gauge(
    "modelreg_db_pool_limit",
    "The most connections the pool lends at once (size + overflow); more callers wait",
    ["pool"],
    multiprocess_mode="livesum",
)
WRITE_LOCK_WAIT = Histogram(
    "modelreg_db_write_lock_wait_seconds",
    "SQLite: how long a write transaction waited for the write lock, by where it waited: "
    "queue (for this process's one writer connection), lock (for other processes)",
    ["wait"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
QUEUE_WAIT = WRITE_LOCK_WAIT.labels("queue")
LOCK_WAIT = WRITE_LOCK_WAIT.labels("lock")


def _limit(engine: AsyncEngine) -> int:
    pool = engine.sync_engine.pool
    if isinstance(pool, QueuePool):
        return pool.size() + max(pool._max_overflow, 0)  # no public accessor for the overflow
    return 1


def watch_pools(engines: dict[str, AsyncEngine]) -> Callable[[], None]:
    """Count the connections each named pool lends out; returns the function that stops it.

    Only connections lent while watched are counted back in, so the gauge
    neither drifts below zero nor keeps what was lent when watching stopped.
    """
    undo: list[Callable[[], None]] = []
    for name, engine in engines.items():
        undo.append(_watch(name, engine))

    def stop_all() -> None:
        for stop in undo:
            stop()

    return stop_all


def _watch(name: str, engine: AsyncEngine) -> Callable[[], None]:
    in_use, limit = POOL_IN_USE.labels(name), _limit(engine)
    POOL_LIMIT.labels(name).inc(limit)
    lent: set[int] = set()

    def checkout(_dbapi: Any, record: Any, _proxy: Any) -> None:
        lent.add(id(record))
        in_use.inc()

    def checkin(_dbapi: Any, record: Any) -> None:
        if id(record) in lent:
            lent.discard(id(record))
            in_use.dec()

    target = engine.sync_engine
    event.listen(target, "checkout", checkout)
    event.listen(target, "checkin", checkin)

    def stop() -> None:
        event.remove(target, "checkout", checkout)
        event.remove(target, "checkin", checkin)
        in_use.dec(len(lent))
        lent.clear()
        POOL_LIMIT.labels(name).dec(limit)

    return stop
