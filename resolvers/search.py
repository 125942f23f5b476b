"""Searching models and versions by AND-ed conditions, in any order of their fields.

The MLflow API's searches land here once its filter string is parsed. Every
search is bounded: a few conditions, short values, a page of at most
SEARCH_PAGE_MAX rows read as a keyset page (an opaque cursor, never an offset).
Ties are broken as MLflow breaks them (by name, then newest version first),
so that every order is total and a cursor names exactly one row.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from resolvers import validation
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput
from resolvers.pagination import Page, SmallInt, decode_cursor, encode_cursor
from storage.queries import search
from storage.queries.search import Comparator, Condition, Field, Sort, SortKey
from storage.records import ModelRecord, VersionRecord

SEARCH_CONDITIONS_MAX = 20
IN_VALUES_MAX = 100
SEARCH_PAGE_MAX = 1000

_TEXT = frozenset({Comparator.EQ, Comparator.NE, Comparator.LIKE, Comparator.ILIKE})
_LISTS = frozenset({Comparator.IN, Comparator.NOT_IN})
_NUMBERS = frozenset(
    {Comparator.EQ, Comparator.NE, Comparator.LT, Comparator.LE, Comparator.GT, Comparator.GE}
)
# What each field may be compared with: text, text and lists, or numbers.
_ALLOWED: dict[Field, frozenset[Comparator]] = {
    Field.NAME: _TEXT | _LISTS,
    Field.TAG: _TEXT,
    Field.RUN_ID: _TEXT | _LISTS,
    Field.SOURCE: _TEXT,
    Field.VERSION: _NUMBERS,
}
_MODEL_FIELDS = frozenset({Field.NAME, Field.TAG})
_MODEL_KEYS = frozenset({SortKey.NAME, SortKey.CREATED_AT, SortKey.UPDATED_AT})
_CURSOR_TYPES: dict[SortKey, type] = {
    SortKey.NAME: str,
    SortKey.VERSION: SmallInt,
    SortKey.CREATED_AT: datetime,
    SortKey.UPDATED_AT: datetime,
}


@dataclass(frozen=True, slots=True)
class FoundVersion:
    model_name: str
    version: VersionRecord


def _field_name(condition: Condition) -> str:
    return f"tags.{condition.key}" if condition.field == Field.TAG else condition.field.value


def checked_conditions(conditions: Sequence[Condition], *, of_models: bool) -> list[Condition]:
    """The conditions, if each compares its field as it can be and its values are short."""
    if len(conditions) > SEARCH_CONDITIONS_MAX:
        raise BadUserInput(
            f"the filter holds {len(conditions)} conditions; at most {SEARCH_CONDITIONS_MAX} "
            "are allowed",
            field="filter",
            max=SEARCH_CONDITIONS_MAX,
        )
    for condition in conditions:
        name = _field_name(condition)
        if of_models and condition.field not in _MODEL_FIELDS:
            raise BadUserInput(f"models cannot be searched by {name}", field="filter")
        if condition.comparator not in _ALLOWED[condition.field]:
            raise BadUserInput(
                f"{name} cannot be compared with {condition.comparator.value}", field="filter"
            )
        if condition.field == Field.TAG:
            validation.key(condition.key or "", "filter")
        _check_value(condition, name)
    return list(conditions)


def _check_value(condition: Condition, name: str) -> None:
    value = condition.value
    if condition.field == Field.VERSION:
        if not isinstance(value, int) or not 0 <= value <= validation.VERSION_MAX:
            raise BadUserInput(
                f"{name} is compared with a whole number up to {validation.VERSION_MAX}",
                field="filter",
            )
        return
    values = value if isinstance(value, tuple) else (value,)
    if isinstance(value, tuple) != (condition.comparator in _LISTS):
        raise BadUserInput(f"{condition.comparator.value} takes a list", field="filter")
    if not 1 <= len(values) <= IN_VALUES_MAX:
        raise BadUserInput(
            f"a list in the filter holds 1 to {IN_VALUES_MAX} values", field="filter"
        )
    for item in values:
        if not isinstance(item, str):
            raise BadUserInput(f"{name} is compared with strings", field="filter")
        validation.text(item, "filter", validation.TAG_VALUE_MAX)


def _total_order(order: Sequence[Sort], tie_breakers: Sequence[Sort]) -> list[Sort]:
    keys = [sort.key for sort in order]
    if len(set(keys)) != len(keys):
        raise BadUserInput("order_by names a field twice", field="orderBy")
    return [*order, *(sort for sort in tie_breakers if sort.key not in keys)]


def _page_size(first: int) -> int:
    if not 1 <= first <= SEARCH_PAGE_MAX:
        raise BadUserInput(f"max_results must be from 1 to {SEARCH_PAGE_MAX}", field="maxResults")
    return first


def _kind(what: str, order: Sequence[Sort]) -> str:
    return what + ":" + ",".join(f"{s.key.value}{'-' if s.descending else '+'}" for s in order)


def _after(cursor: str | None, kind: str, order: Sequence[Sort]) -> tuple[Any, ...] | None:
    if cursor is None:
        return None
    return decode_cursor(cursor, kind, [_CURSOR_TYPES[sort.key] for sort in order])


async def _no_count() -> int:
    raise NotImplementedError("MLflow searches never count their matches")


async def search_models(
    ctx: RequestContext,
    conditions: Sequence[Condition],
    order: Sequence[Sort],
    *,
    first: int,
    after: str | None,
) -> Page[ModelRecord]:
    """A page of the models matching every condition, ties broken by name."""
    conditions = checked_conditions(conditions, of_models=True)
    if any(sort.key not in _MODEL_KEYS for sort in order):
        raise BadUserInput("models are ordered by name or a time", field="orderBy")
    order = _total_order(order, [Sort(SortKey.NAME)])
    kind = _kind("models", order)
    first = _page_size(first)
    async with ctx.read() as conn:
        rows = await search.search_models(
            conn, conditions, order, after=_after(after, kind, order), first=first
        )
    for row in rows:
        ctx.loaders.prime_model(row)
    values = {
        SortKey.NAME: lambda r: r.name,
        SortKey.CREATED_AT: lambda r: r.created_at,
        SortKey.UPDATED_AT: lambda r: r.updated_at,
    }

    def cursor_of(record: ModelRecord) -> str:
        return encode_cursor(kind, *(values[sort.key](record) for sort in order))

    return Page(rows[:first], len(rows) > first, cursor_of, _no_count)


async def search_versions(
    ctx: RequestContext,
    conditions: Sequence[Condition],
    order: Sequence[Sort],
    *,
    first: int,
    after: str | None,
) -> Page[FoundVersion]:
    """A page of the versions matching every condition, ties broken by name, newest first."""
    conditions = checked_conditions(conditions, of_models=False)
    tie_breakers = [Sort(SortKey.NAME), Sort(SortKey.VERSION, descending=True)]
    order = _total_order(order, tie_breakers)
    kind = _kind("versions", order)
    first = _page_size(first)
    async with ctx.read() as conn:
        rows = await search.search_versions(
            conn, conditions, order, after=_after(after, kind, order), first=first
        )
    found = [FoundVersion(name, record) for name, record in rows]
    for item in found:
        ctx.loaders.prime_version(item.version)
    values = {
        SortKey.NAME: lambda f: f.model_name,
        SortKey.VERSION: lambda f: f.version.version,
        SortKey.CREATED_AT: lambda f: f.version.created_at,
        SortKey.UPDATED_AT: lambda f: f.version.updated_at,
    }

    def cursor_of(item: FoundVersion) -> str:
        return encode_cursor(kind, *(values[sort.key](item) for sort in order))

    return Page(found[:first], len(found) > first, cursor_of, _no_count)
