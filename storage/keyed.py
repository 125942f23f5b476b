"""Statements filtered by a batch of keys, with a cheaper twin for a batch of one.

SQLAlchemy renders an expanding `IN (:keys)` parameter again on every
execution (about 65 us here, a fifth of a whole indexed lookup), and most
DataLoader batches of a request hold a single key, so each keyed statement
also exists as `column = :key`. Keys of two parts: KeyedPairs, below.

A `quick` statement reads a few rows through a unique index: for one key,
SQLite runs it on the event loop's thread (storage/sqlite_driver.py).
"""

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Executable,
    FromClause,
    String,
    bindparam,
    cast,
    func,
    literal_column,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeEngine

from storage import sqlite_driver
from storage.quick_reads import QuickReads


@dataclass(frozen=True, slots=True)
class KeyedStatement:
    one: Executable
    many: Executable
    quick: bool = False

    @staticmethod
    def build(
        column: ColumnElement[Any],
        statement: Callable[[ColumnElement[bool]], Executable],
        *,
        quick: bool = False,
    ) -> "KeyedStatement":
        """`statement(condition)` for `column = :key` and for `column IN (:keys)`."""
        return KeyedStatement(
            one=statement(column == bindparam("key")),
            many=statement(column.in_(bindparam("keys", expanding=True))),
            quick=quick,
        )

    async def execute(
        self,
        conn: AsyncConnection,
        keys: Sequence[Any],
        parameters: Mapping[str, Any] | None = None,
    ) -> CursorResult[*tuple[Any, ...]]:
        if len(keys) == 1:
            if self.quick:
                with sqlite_driver.quick():
                    return await conn.execute(self.one, {"key": keys[0], **(parameters or {})})
            return await conn.execute(self.one, {"key": keys[0], **(parameters or {})})
        return await conn.execute(self.many, {"keys": list(keys), **(parameters or {})})

    def quick_rows(self, reads: QuickReads, key: Any) -> list[tuple[Any, ...]] | None:
        """The rows for one key through `reads` (None: read them through the pool)."""
        assert self.quick, "only statements built quick may run there"
        return reads.rows(self.one, {"key": key})


@dataclass(frozen=True, slots=True)
class KeyedPairs:
    """A statement over rows addressed by (a, b) pairs, each pair looked up by index.

    `(a, b) IN (VALUES (...), (...))` is no such lookup: SQLite scans the
    whole index for two pairs or more (a million versions for two versions),
    and PostgreSQL reads all of a model's versions for each name. Here the
    pairs are a table of their own, looped over outside: `json_each` of one
    JSON parameter on SQLite, `unnest` of one array per part on PostgreSQL.
    """

    sqlite: Executable
    postgresql: Executable

    @staticmethod
    def build(
        types: tuple[TypeEngine[Any], TypeEngine[Any]],
        statement: Callable[[FromClause, ColumnElement[Any], ColumnElement[Any]], Executable],
    ) -> "KeyedPairs":
        """`statement(pairs, a, b)`: the statement reading from `pairs` (first), joined on a, b."""
        from_json = func.json_each(bindparam("pairs", type_=String())).table_valued("value")
        from_json = from_json.alias("pairs")
        first = func.json_extract(from_json.c.value, literal_column("'$[0]'"))
        second = func.json_extract(from_json.c.value, literal_column("'$[1]'"))
        arrays = [cast(bindparam(f"pairs_{i}"), ARRAY(t)) for i, t in enumerate(types)]
        unnested = func.unnest(*arrays).table_valued("a", "b").render_derived().alias("pairs")
        return KeyedPairs(
            sqlite=statement(from_json, first, second),
            postgresql=statement(unnested, unnested.c.a, unnested.c.b),
        )

    async def execute(
        self, conn: AsyncConnection, pairs: Sequence[tuple[Any, Any]]
    ) -> CursorResult[*tuple[Any, ...]]:
        if conn.dialect.name == "postgresql":
            parameters = {"pairs_0": [p[0] for p in pairs], "pairs_1": [p[1] for p in pairs]}
            return await conn.execute(self.postgresql, parameters)
        return await conn.execute(self.sqlite, {"pairs": json.dumps([list(p) for p in pairs])})
