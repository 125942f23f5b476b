"""The few statements whose spelling differs between SQLite and PostgreSQL."""

from typing import Any

from sqlalchemy import ColumnElement, FromClause, Join, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler


def insert_on_conflict(conn: AsyncConnection | str, table: Table) -> Any:
    """An INSERT that supports `.on_conflict_do_nothing()` / `.on_conflict_do_update()`.

    `conn` is a connection or the name of its dialect.
    """
    dialect = conn if isinstance(conn, str) else conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


class _OrderedJoin(Join):
    """An inner join that SQLite runs in the written order (left outer loop, right inner)."""

    inherit_cache = True


@compiles(_OrderedJoin, "sqlite")
def _compile_ordered_join(join: _OrderedJoin, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite's planner never reorders the tables around a CROSS JOIN (other
    # databases render a plain JOIN: PostgreSQL has no CROSS JOIN ... ON).
    assert join.onclause is not None
    kw["asfrom"] = True
    left = join.left._compiler_dispatch(compiler, **kw)
    right = join.right._compiler_dispatch(compiler, **kw)
    kw.pop("asfrom")
    return f"{left} CROSS JOIN {right} ON {join.onclause._compiler_dispatch(compiler, **kw)}"


@compiles(_OrderedJoin)
def _compile_join(join: _OrderedJoin, compiler: SQLCompiler, **kw: Any) -> str:
    rendered: str = compiler.visit_join(join, **kw)  # type: ignore[no-untyped-call]
    return rendered


def ordered_join(left: FromClause, right: FromClause, onclause: ColumnElement[bool]) -> Join:
    """`left JOIN right ON onclause`, looping over `left` outside on SQLite.

    For a short list of keys (json_each of a parameter) joined to a big table:
    with statistics SQLite may otherwise walk the big table and probe the keys.
    """
    return _OrderedJoin(left, right, onclause)
