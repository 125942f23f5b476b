"""aiosqlite with one thread hop per statement instead of four.

aiosqlite runs every call on its own thread and SQLAlchemy's adapter makes
four calls per statement (cursor, execute, fetchall, close): four hand-offs
to the thread and back, about 90 us each on this machine, which dwarfed the
query itself (an indexed lookup takes ~20 us). This connection runs the whole
statement, fetch included, in one hand-off; the cursor SQLAlchemy sees just
hands back the rows. Rolling back outside a transaction (what the pool does
on every return in autocommit mode) needs no hand-off at all.

Statements run inside `quick()` (lookups of a few rows through a unique
index: a model by name, a model with its Production version, a token; the
few rows of a change's events) need no hand-off either: they run on the
event loop's own thread when the connection's thread has nothing in hand,
and either no transaction is open or the open one holds the write lock
already (BEGIN IMMEDIATE ran: nothing left to wait for). The hand-off itself
(a futex wake, thread switches, the loop's wake-up pipe) costs more than
such a statement: a production read made ~5 voluntary context switches, now
none. Anything else, and anything that begins a write transaction (it may
wait for the write lock), still runs on the connection's thread, where a
long statement blocks nobody.

Writers across processes queue on an flock() of a lock file beside the
database before they BEGIN IMMEDIATE, and release it when they commit or roll
back. SQLite's own busy handler makes a waiting writer sleep 1, 2, 5, 10 ...
ms between tries, so with two server processes a writer often slept while the
lock sat free; the kernel wakes an flock() waiter the moment the lock is
released. SQLite's locking stays in force for anything else that writes.

A hand-off whose awaiting task is cancelled (a stop signal's grace running
out, a timeout) still runs on the thread when its turn comes: a BEGIN
waiting there for the flock takes it later. So the connection remembers that
work was abandoned, and its next rollback, close or stop goes to the thread,
behind that work, to roll back and release the lock: otherwise every writer
of every process would wait for it forever.
"""

import asyncio
import fcntl
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import aiosqlite

from storage.metrics import LOCK_WAIT

# aiosqlite logs every operation with its arguments at DEBUG: statement
# parameters, webhook secrets among them. Never let those through.
logging.getLogger("aiosqlite").setLevel(logging.INFO)

_quick: ContextVar[bool] = ContextVar("modelreg_sqlite_quick", default=False)


@contextmanager
def quick() -> Iterator[None]:
    """Let the statements run inside run on the event loop's thread (see the module's doc).

    Only for statements bounded to a few index entries: while one runs, the
    process serves nothing else.
    """
    token = _quick.set(True)
    try:
        yield
    finally:
        _quick.reset(token)


class OneHopCursor:
    """The part of aiosqlite's Cursor that SQLAlchemy uses, executing in one hop."""

    arraysize = 1

    def __init__(self, connection: "OneHopConnection") -> None:
        self._connection = connection
        self._rows: list[Any] = []
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    async def __aenter__(self) -> "OneHopCursor":
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    def _run(self, begin: str | None, sql: str, parameters: Any, many: bool) -> None:
        # Runs on the connection's thread.
        self._connection.begin_on_thread(begin)
        cursor = self._connection.sqlite_connection.cursor()
        try:
            if many:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters)
            self.description = cursor.description
            self._rows = cursor.fetchall() if cursor.description else []
            self.rowcount = cursor.rowcount
            self.lastrowid = cursor.lastrowid
        finally:
            cursor.close()
            self._connection.statement_ran()

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> "OneHopCursor":
        if self._connection.runs_inline():
            self._run(None, sql, parameters or (), False)
            return self
        begin = self._connection.take_deferred_begin()
        await self._connection.on_thread(self._run, begin, sql, parameters or (), False)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> "OneHopCursor":
        begin = self._connection.take_deferred_begin()
        await self._connection.on_thread(self._run, begin, sql, parameters, True)
        return self

    async def fetchall(self) -> Sequence[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        count = size or self.arraysize
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def close(self) -> None:
        self._rows = []


class OneHopConnection(aiosqlite.Connection):
    def __init__(self, path: str, write_lock_path: str | None) -> None:
        super().__init__(lambda: sqlite3.connect(path, check_same_thread=False), 64)
        self._write_lock_path = write_lock_path
        self._write_lock: int | None = None  # the lock file's descriptor while held
        self._deferred_begin: str | None = None
        # The open transaction began IMMEDIATE: it holds the write lock, so its
        # statements wait for nobody (set and cleared on the thread).
        self._holds_write_lock = False
        # A hand-off was cancelled while queued or running: it may yet BEGIN and
        # take the write lock, so the next rollback must follow it on the thread.
        self._abandoned = False
        # Calls handed to the thread (counted by the loop's thread) and finished
        # there (counted by the connection's): equal when the thread is idle.
        self._handed = 0
        self._finished = 0

    def runs_inline(self) -> bool:
        """Whether the next statement may run on the loop's thread (quick, thread idle)."""
        return (
            _quick.get()
            and self._handed == self._finished
            and self._deferred_begin is None
            and self._running
            and self._connection is not None
            and (not self._connection.in_transaction or self._holds_write_lock)
        )

    async def on_thread(self, function: Callable[..., None], *args: Any) -> None:
        """Run `function(*args)` on the connection's thread (one hand-off)."""
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")  # as aiosqlite says it
        handed_off: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def run() -> None:
            try:
                function(*args)
            finally:
                try:
                    if handed_off.cancelled():
                        # Nobody will see this statement's result, and a task cancelled
                        # twice may never come back to roll back: undo it here, now.
                        self._end_without_commit()
                finally:
                    self._finished += 1

        self._handed += 1
        self._tx.put_nowait((handed_off, run))
        try:
            await handed_off
        except asyncio.CancelledError:
            self._abandoned = True
            raise

    @property
    def sqlite_connection(self) -> sqlite3.Connection:
        assert self._connection is not None, "connection is open"
        return self._connection

    def cursor(self) -> OneHopCursor:  # type: ignore[override]
        return OneHopCursor(self)

    def defer_begin(self, statement: str) -> None:
        """BEGIN with the next statement, in its hand-off, rather than in one of its own."""
        self._deferred_begin = statement

    def take_deferred_begin(self) -> str | None:
        """The BEGIN to send with the statement being handed off now (taken once).

        Taken on the event loop, as the statement is queued: a rollback that
        comes before the thread runs the statement cannot make it run outside
        its transaction.
        """
        statement, self._deferred_begin = self._deferred_begin, None
        return statement

    def begin_on_thread(self, statement: str | None) -> None:
        # Runs on the connection's thread.
        if statement is None:
            return
        started = time.perf_counter()
        if self._write_lock_path is not None:
            descriptor = os.open(self._write_lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            self._write_lock = descriptor
        try:
            self.sqlite_connection.execute(statement)
        except BaseException:
            self._release_write_lock()
            raise
        self._holds_write_lock = statement.upper().startswith("BEGIN IMMEDIATE")
        if self._write_lock_path is not None:  # the queued writer (not the one that never waits)
            LOCK_WAIT.observe(time.perf_counter() - started)

    def statement_ran(self) -> None:
        # Runs where the statement ran. A statement may have ended the transaction (COMMIT).
        if not self.sqlite_connection.in_transaction:
            self._holds_write_lock = False

    def _release_write_lock(self) -> None:
        self._holds_write_lock = False  # the transaction is over (or never began)
        if self._write_lock is not None:
            descriptor, self._write_lock = self._write_lock, None
            os.close(descriptor)  # closing the descriptor releases its flock

    def _end_on_thread(self, commit: bool) -> None:
        try:
            connection = self.sqlite_connection
            if connection.in_transaction:
                connection.commit() if commit else connection.rollback()
        finally:
            self._release_write_lock()

    async def rollback(self) -> None:
        self._deferred_begin = None  # a transaction that never ran a statement
        if (
            self._abandoned
            or self._write_lock is not None
            or (self._connection and self._connection.in_transaction)
        ):
            # Queued behind any abandoned work: it runs first, then this undoes it.
            self._abandoned = False
            await self.on_thread(self._end_on_thread, False)

    async def commit(self) -> None:
        self._deferred_begin = None
        if self._write_lock is not None or (self._connection and self._connection.in_transaction):
            await self.on_thread(self._end_on_thread, True)

    def stop(self) -> asyncio.Future[Any] | None:
        """Stop the thread (close and SQLAlchemy's terminate end here), lock released first."""
        # Queued, not awaited: it runs even when whoever stops us is cancelled.
        self._tx.put_nowait((None, self._end_without_commit))
        return super().stop()

    def _end_without_commit(self) -> None:
        # Runs on the connection's thread; the connection may be closed already.
        try:
            if self._connection is not None and self._connection.in_transaction:
                self._connection.rollback()
        finally:
            self._release_write_lock()


def connect(path: str, *, queue_writers: bool = False) -> OneHopConnection:
    """Open `path` (a file name or ':memory:') the way aiosqlite.connect does.

    With `queue_writers`, transactions that BEGIN wait their turn on the flock()
    of `path` + ".writelock" first.
    """
    lock_path = f"{path}.writelock" if queue_writers and path != ":memory:" else None
    connection = OneHopConnection(path, lock_path)
    # As SQLAlchemy does for aiosqlite: a connection never disposed must not keep
    # the interpreter alive at exit.
    connection._thread.daemon = True
    return connection
