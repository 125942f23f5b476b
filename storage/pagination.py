"""Keyset pagination: pages are bounded by the last key seen, never by an offset."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, ColumnElement, Select, func, select, tuple_


@dataclass(frozen=True, slots=True)
class PageRequest:
    """At most `first` rows strictly after the sort key `after` (None: from the start)."""

    first: int
    after: tuple[Any, ...] | None = None
    descending: bool = False


def after_key(columns: Sequence[ColumnElement[Any]], page: PageRequest) -> ColumnElement[bool]:
    """The condition "row sorts after page.after" for a key made of `columns`."""
    assert page.after is not None
    key = tuple_(*columns) if len(columns) > 1 else columns[0]
    value = tuple_(*page.after) if len(columns) > 1 else page.after[0]
    condition: ColumnElement[bool] = key < value if page.descending else key > value
    return condition


def order_by(columns: Sequence[ColumnElement[Any]], descending: bool) -> list[Any]:
    return [c.desc() if descending else c.asc() for c in columns]


def keyset_page(
    query: Select[Any], columns: Sequence[ColumnElement[Any]], page: PageRequest
) -> Select[Any]:
    """`query` limited to one page, plus one extra row that tells whether more follow."""
    if page.after is not None:
        query = query.where(after_key(columns, page))
    return query.order_by(*order_by(columns, page.descending)).limit(page.first + 1)


def keyset_pages_per_owner(
    query: Select[Any],
    owner: Sequence[Column[Any]],
    columns: Sequence[ColumnElement[Any]],
    page: PageRequest,
) -> Select[Any]:
    """One page per owner in a single statement (for DataLoaders batching many owners).

    `owner` are the columns that identify an owner. Rows carry a `_rank` column;
    each owner gets at most `page.first + 1` rows.
    """
    if page.after is not None:
        query = query.where(after_key(columns, page))
    rank = (
        func.row_number()
        .over(partition_by=list(owner), order_by=order_by(columns, page.descending))
        .label("_rank")
    )
    ranked = query.add_columns(rank).subquery()
    return (
        select(ranked)
        .where(ranked.c._rank <= page.first + 1)
        .order_by(*(ranked.c[column.key] for column in owner), ranked.c._rank)
    )
