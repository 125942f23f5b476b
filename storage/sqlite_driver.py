"""aiosqlite with one thread hop per statement instead of four.

aiosqlite runs every call on its own thread and SQLAlchemy's adapter makes
four calls per statement (cursor, execute, fetchall, close): four hand-offs
to the thread and back, about 90 us each on this machine, which dwarfed the
query itself (an indexed lookup takes ~20 us). This connection runs the whole
statement, fetch included, in one hand-off; the cursor SQLAlchemy sees just
hands back the rows. Rolling back outside a transaction (what the pool does
on every return in autocommit mode) needs no hand-off at all.
"""

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import aiosqlite


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

    def _run(self, sql: str, parameters: Any, many: bool) -> None:
        # Runs on the connection's thread.
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

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> "OneHopCursor":
        await self._connection.on_thread(self._run, sql, parameters or (), False)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> "OneHopCursor":
        await self._connection.on_thread(self._run, sql, parameters, True)
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
    async def on_thread(self, function: Callable[..., None], *args: Any) -> None:
        """Run `function(*args)` on the connection's thread (one hand-off)."""
        await self._execute(function, *args)  # type: ignore[no-untyped-call]  # untyped upstream

    @property
    def sqlite_connection(self) -> sqlite3.Connection:
        assert self._connection is not None, "connection is open"
        return self._connection

    def cursor(self) -> OneHopCursor:  # type: ignore[override]
        return OneHopCursor(self)

    async def rollback(self) -> None:
        if self._connection is not None and self._connection.in_transaction:
            await super().rollback()

    async def commit(self) -> None:
        if self._connection is not None and self._connection.in_transaction:
            await super().commit()


def connect(path: str) -> OneHopConnection:
    """Open `path` (a file name or ':memory:') the way aiosqlite.connect does."""
    connection = OneHopConnection(lambda: sqlite3.connect(path, check_same_thread=False), 64)
    # As SQLAlchemy does for aiosqlite: a connection never disposed must not keep
    # the interpreter alive at exit.
    connection._thread.daemon = True
    return connection
