"""Quick keyed reads on SQLite, straight through a connection of the process's own.

The production read is one indexed lookup of ~20 us in SQLite, but served
through the request's pooled connection it also paid for the pool's
checkout and checkin (with their events), SQLAlchemy's execution context,
its autobegun transaction and the rollback that ends it: most of the
storage layer's share of the request. Statements of `KeyedStatement`s built
`quick` (a few rows through a unique index) can instead run here, on the
event loop's thread, on one read-only connection per process that nothing
else uses, with the statement compiled once and its rows converted by the
same type processors SQLAlchemy applies.

SQLite's reads in autocommit see what was committed when each statement
began, through this connection as through the pooled ones, so answers are
the same. Whenever something is listening to the reader engine's statements
(tracing's SQL spans, tests counting statements) or a read here fails
(busy, locked, unreadable), `rows` returns None and the caller reads through
the pool as before: listeners see every statement, and errors are the ones
the pooled path raises. The connection never waits for a lock (busy
timeout 0): a wait belongs on a pooled connection's own thread.
"""

import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ClauseElement, Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.compiler import SQLCompiler

logger = logging.getLogger("modelreg")

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Compiled:
    compiled: SQLCompiler
    sql: str
    names: tuple[str, ...]
    binds: tuple[Processor, ...]
    # (column index, processor) of the result columns that have one.
    processed: tuple[tuple[int, Callable[[Any], Any]], ...]


class QuickReads:
    """One SQLite connection for quick reads on the event loop's thread (see the module)."""

    def __init__(self, path: str, reader: AsyncEngine, pragmas: Sequence[str]) -> None:
        self._path = path
        self._pragmas = pragmas
        self._dispatch = reader.sync_engine.dispatch
        self._dialect: Dialect = reader.dialect
        self._connection: sqlite3.Connection | None = None
        self._compiled: dict[int, _Compiled] = {}

    def rows(
        self, statement: Executable, parameters: Mapping[str, Any]
    ) -> list[tuple[Any, ...]] | None:
        """The statement's rows, or None: read it through the pool instead."""
        if self._listened():
            return None
        try:
            compiled = self._compile(statement)
            values = compiled.compiled.construct_params(parameters, escape_names=False)
            bound = [
                value if process is None else process(value)
                for value, process in zip(
                    (values[name] for name in compiled.names), compiled.binds, strict=True
                )
            ]
            raw = self._connect().execute(compiled.sql, bound).fetchall()
        except sqlite3.Error as error:
            logger.debug("quick read through the pool instead: %s", error)
            return None
        processed = compiled.processed
        rows = []
        for row in raw:
            converted = list(row)
            for index, process in processed:
                converted[index] = process(converted[index])
            rows.append(tuple(converted))
        return rows

    def _listened(self) -> bool:
        """Whether anything listens to the reader engine's statements (they must go there)."""
        dispatch = self._dispatch
        return bool(
            dispatch.before_execute
            or dispatch.after_execute
            or dispatch.before_cursor_execute
            or dispatch.after_cursor_execute
        )

    def _compile(self, statement: Executable) -> _Compiled:
        found = self._compiled.get(id(statement))
        if found is None:
            assert isinstance(statement, ClauseElement)
            compiled = statement.compile(dialect=self._dialect)
            assert isinstance(compiled, SQLCompiler)
            names = tuple(compiled.positiontup or ())
            # SQLite's binds are never "render as a list" ones: one processor each.
            processors = cast("dict[str, Processor]", compiled._bind_processors)
            found = _Compiled(
                compiled,
                compiled.string,
                names,
                tuple(processors.get(name) for name in names),
                tuple(
                    (index, process)
                    for index, column in enumerate(compiled._result_columns)
                    if (process := column.type._cached_result_processor(self._dialect, None))
                    is not None
                ),
            )
            # Statements are module constants: the key's object lives as long as the entry.
            self._compiled[id(statement)] = found
        return found

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            # Used on the event loop's thread only; autocommit, as the pooled readers.
            connection = sqlite3.connect(self._path, isolation_level=None)
            for pragma in ("PRAGMA busy_timeout=0", *self._pragmas):
                connection.execute(pragma)
            self._connection = connection
        return self._connection

    def close(self) -> None:
        """Close the connection, first letting SQLite gather the statistics it asks for."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.execute("PRAGMA optimize")
        except sqlite3.Error as error:
            logger.debug("PRAGMA optimize skipped: %s", error)
        connection.close()
