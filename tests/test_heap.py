"""server/heap.py: a serving process freezes its long-lived objects, and again later."""

import asyncio
import gc

from server import heap


async def test_settling_freezes_what_lives_and_again_later() -> None:
    gc.unfreeze()
    try:
        async with heap.settled(after_seconds=(0.05,)):
            first = gc.get_freeze_count()
            assert first > 0
            grown: list[list[int]] = [[] for _ in range(1000)]  # tracked by the collector
            await asyncio.sleep(0.2)
            assert gc.get_freeze_count() >= first + len(grown)
    finally:
        gc.unfreeze()  # the test process goes on collecting as before
