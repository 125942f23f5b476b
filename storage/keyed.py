"""Statements filtered by a batch of keys, with a cheaper twin for a batch of one.

SQLAlchemy renders an expanding `IN (:keys)` parameter again on every
execution (about 65 us here, a fifth of a whole indexed lookup), and most
DataLoader batches of a request hold a single key, so each keyed statement
also exists as `column = :key`.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Executable, bindparam
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True)
class KeyedStatement:
    one: Executable
    many: Executable

    @staticmethod
    def build(
        column: ColumnElement[Any], statement: Callable[[ColumnElement[bool]], Executable]
    ) -> "KeyedStatement":
        """`statement(condition)` for `column = :key` and for `column IN (:keys)`."""
        return KeyedStatement(
            one=statement(column == bindparam("key")),
            many=statement(column.in_(bindparam("keys", expanding=True))),
        )

    async def execute(
        self,
        conn: AsyncConnection,
        keys: Sequence[Any],
        parameters: Mapping[str, Any] | None = None,
    ) -> CursorResult[*tuple[Any, ...]]:
        if len(keys) == 1:
            return await conn.execute(self.one, {"key": keys[0], **(parameters or {})})
        return await conn.execute(self.many, {"keys": list(keys), **(parameters or {})})
