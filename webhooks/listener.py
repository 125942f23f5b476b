"""Cross-process wake-ups on PostgreSQL: LISTEN for the NOTIFY sent at commit.

Polling stays as the fallback: if the listening connection drops, it is
reopened in the background and nothing is lost meanwhile, only delayed.
"""

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from storage.queries.deliveries import NOTIFY_CHANNEL
from storage.wakeups import Listen, Stop, Wake

logger = logging.getLogger("modelreg.webhooks")


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_listener(
    url: str, retry_seconds: float = 1.0, channel: str = NOTIFY_CHANNEL
) -> Listen:
    """A `listen(wake)` (for the dispatcher, or the live event hub with its own
    `channel`): calls `wake()` on every notification."""

    async def listen(wake: Wake) -> Stop:
        def on_notify(*_: Any) -> None:
            wake()

        async def keep_listening() -> None:
            while True:
                try:
                    connection = await asyncpg.connect(_dsn(url))
                except (OSError, asyncpg.PostgresError) as error:
                    logger.warning("cannot LISTEN on %s (%s); polling", channel, error)
                    await asyncio.sleep(retry_seconds)
                    continue
                lost = asyncio.Event()
                connection.add_termination_listener(lambda *_, lost=lost: lost.set())
                try:
                    await connection.add_listener(channel, on_notify)
                    wake()  # anything committed while we were not listening
                    await lost.wait()
                finally:
                    with contextlib.suppress(Exception):
                        await connection.close()

        task = asyncio.create_task(keep_listening(), name=f"listen-{channel}")

        async def stop() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        return stop

    return listen
