"""A worker's long-lived objects, kept out of the garbage collector's way.

Once a worker has served every kind of request it holds ~175,000 objects
that the cyclic garbage collector tracks (the GraphQL schema, compiled
statements, caches; most of them built at first use), and CPython's full
collection walked all of them every time: 30 to 210 ms pauses under load,
seen with `gc.callbacks` during `make bench-scale` (wrk, 8 connections),
stalling every request in flight and making the p99 of every read ~150 ms.

`gc.freeze()` moves every object alive at that moment into a generation
the collector never walks. A worker does it after start-up and again after
its first minutes of requests, when the lazily built part is there too;
each time after a collection, so no garbage is frozen with the rest. A cycle
among frozen objects that later becomes garbage is not collected: what is
frozen is what lives as long as the process (modules, the schema, caches),
and reference counting still frees everything else.
"""

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Sequence

logger = logging.getLogger("modelreg")

# Seconds after start-up at which the worker settles its heap again.
SETTLE_AFTER_SECONDS: tuple[float, ...] = (10.0, 60.0, 300.0)


def settle() -> None:
    """Collect what is garbage now, then freeze everything that is left."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    logger.debug(
        "heap settled: %d objects frozen in %.1f ms",
        gc.get_freeze_count(),
        (time.perf_counter() - started) * 1000,
    )


@contextlib.asynccontextmanager
async def settled(after_seconds: Sequence[float] = SETTLE_AFTER_SECONDS) -> AsyncIterator[None]:
    """Settle now and at each of `after_seconds` while the block runs."""
    settle()
    task = asyncio.create_task(_settle_later(after_seconds), name="settle-heap")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _settle_later(after_seconds: Sequence[float]) -> None:
    started = time.monotonic()
    for at in sorted(after_seconds):
        await asyncio.sleep(max(0.0, at - (time.monotonic() - started)))
        settle()
