"""Keyset pagination: pages are bounded by the last key seen, never by an offset.

Statements are built once per shape with bound parameters (building a
SQLAlchemy statement costs more than running an indexed query on SQLite);
`page_parameters` supplies the values of one page.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, ColumnElement, Select, bindparam, func, select, tuple_


@dataclass(frozen=True, slots=True)
class PageRequest:
    """At most `first` rows strictly after the sort key `after` (None: from the start)."""

    first: int
    after: tuple[Any, ...] | None = None
    descending: bool = False


def page_parameters(page: PageRequest) -> dict[str, Any]:
    """Values for the bound parameters of a statement built by the functions below."""
    parameters: dict[str, Any] = {"page_limit": page.first + 1}
    for i, value in enumerate(page.after or ()):
        parameters[f"page_after_{i}"] = value
    return parameters


def _after_key(columns: Sequence[ColumnElement[Any]], descending: bool) -> ColumnElement[bool]:
    """The condition "row sorts after the cursor" for a key made of `columns`."""
    values = [bindparam(f"page_after_{i}", type_=c.type) for i, c in enumerate(columns)]
    key = tuple_(*columns) if len(columns) > 1 else columns[0]
    value = tuple_(*values) if len(columns) > 1 else values[0]
    condition: ColumnElement[bool] = key < value if descending else key > value
    return condition


def _order_by(columns: Sequence[ColumnElement[Any]], descending: bool) -> list[Any]:
    return [c.desc() if descending else c.asc() for c in columns]


def keyset_page(
    query: Select[Any], columns: Sequence[ColumnElement[Any]], *, descending: bool, after: bool
) -> Select[Any]:
    """`query` limited to one page plus one extra row that tells whether more follow."""
    if after:
        query = query.where(_after_key(columns, descending))
    return query.order_by(*_order_by(columns, descending)).limit(bindparam("page_limit"))


def keyset_pages_per_owner(
    query: Select[Any],
    owner: Sequence[Column[Any]],
    columns: Sequence[ColumnElement[Any]],
    *,
    descending: bool,
    after: bool,
) -> Select[Any]:
    """One page per owner in a single statement (for DataLoaders batching many owners).

    `owner` are the columns that identify an owner. Each owner gets at most
    `page_limit` rows.
    """
    if after:
        query = query.where(_after_key(columns, descending))
    rank = (
        func.row_number()
        .over(partition_by=list(owner), order_by=_order_by(columns, descending))
        .label("_rank")
    )
    ranked = query.add_columns(rank).subquery()
    return (
        select(ranked)
        .where(ranked.c._rank <= bindparam("page_limit"))
        .order_by(*(ranked.c[column.key] for column in owner), ranked.c._rank)
    )
