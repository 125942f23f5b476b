"""Starting and stopping `serve` and `worker` cleanly.

Before either starts, a database that is missing or not migrated to head is
refused in one line: no traceback, and no empty SQLite file left behind
(SQLite makes the file when it is first connected to, so its existence is
checked before anything connects).

On SIGTERM (or SIGINT) uvicorn stops accepting connections and lets the
requests in flight finish for up to MODELREG_SHUTDOWN_GRACE_SECONDS. Live
subscriptions are closed at the signal (1012, their clients reconnect). The
dispatcher stops claiming at the signal, and its sends in flight get what
is left of the same grace period once the requests are done (see
`Dispatcher.stop`). Then the process exits 0: a stop that was asked for is
not a failure to whoever supervises it.
"""

import asyncio
import faulthandler
import signal
import threading
import time
from types import FrameType
from typing import Any

import uvicorn

from resolvers.live.closing import SHUTTING_DOWN, Closed
from resolvers.live.hub import EventHub
from storage.database import create_database
from storage.errors import classify
from storage.migrate import current_revision, head_revision
from storage.readiness import sqlite_path
from webhooks.dispatcher import Dispatcher

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def schema_problem(database_url: str) -> str | None:
    """Why the database cannot be served as it is, in one line; None: it is at head."""
    path = sqlite_path(database_url)
    if path is not None and not path.exists():
        return f"the database file {path} does not exist: run `modelreg db upgrade` to create it"
    return asyncio.run(_revision_problem(database_url))


async def _revision_problem(database_url: str) -> str | None:
    db = create_database(database_url)
    try:
        current = await current_revision(db.reader)
    except Exception as error:
        problem = classify(error)
        reason = problem.value if problem is not None else _first_line(error)
        return f"cannot read the database's schema revision: {reason}"
    finally:
        await db.dispose()
    head = head_revision()
    if current != head:
        return (
            f"the database schema is at {current or 'nothing'}, this modelreg needs {head}: "
            "run `modelreg db upgrade`"
        )
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def dump_stacks_on_sigusr1() -> None:
    """`kill -USR1 PID` writes the stack of every thread of PID to its stderr.

    For a process that will not stop or answer: it shows what each thread
    waits for (a lock, a socket, the database) without stopping the process.
    """
    if threading.current_thread() is threading.main_thread():
        faulthandler.register(signal.SIGUSR1, all_threads=True)


def exit_zero_on_stop_signals() -> None:
    """Make SIGTERM and SIGINT end this process with exit code 0.

    uvicorn raises the signal it stopped for again once it has shut down
    gracefully, for the handler that was there before its own; by default
    that kills the process with the signal (exit code 143 for SIGTERM). With
    this handler there the process ends normally instead, and a signal that
    comes before uvicorn has started ends it the same way.
    """
    if threading.current_thread() is threading.main_thread():
        for sig in STOP_SIGNALS:
            signal.signal(sig, _stop)


class Shutdown:
    """The grace period of one server process's stop, counted from the stop signal."""

    def __init__(self, grace_seconds: float) -> None:
        self.grace_seconds = grace_seconds
        self.requested_at: float | None = None
        self._dispatcher: Dispatcher | None = None
        self._hub: EventHub | None = None

    def watch(self, dispatcher: Dispatcher | None, hub: EventHub | None = None) -> None:
        """Learn of uvicorn's stop signal as it arrives: stop `dispatcher` claiming then,
        and close the live subscriptions of `hub` (their clients reconnect elsewhere).

        Only under uvicorn (`modelreg serve`): its handler is wrapped, not
        replaced, so uvicorn still starts its graceful shutdown.
        """
        self._dispatcher = dispatcher
        self._hub = hub
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            handler = signal.getsignal(sig)
            if not isinstance(getattr(handler, "__self__", None), uvicorn.Server):
                continue

            def chained(signum: int, frame: FrameType | None, handler: Any = handler) -> None:
                loop.call_soon_threadsafe(self.begin)
                handler(signum, frame)

            signal.signal(sig, chained)

    def begin(self) -> None:
        if self.requested_at is None:
            self.requested_at = time.monotonic()
        if self._dispatcher is not None:
            self._dispatcher.stop_claiming()
        if self._hub is not None:
            self._hub.close_all(Closed(SHUTTING_DOWN, "the server is stopping"))

    def remaining(self) -> float:
        """Seconds left of the grace period (all of it before any signal)."""
        if self.requested_at is None:
            return self.grace_seconds
        return max(0.0, self.grace_seconds - (time.monotonic() - self.requested_at))
