"""Relay connections: opaque keyset cursors, `first` limits and pages."""

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson

from resolvers.errors import BadUserInput
from storage.pagination import PageRequest

T = TypeVar("T")

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a connection; the total is only counted when asked for."""

    items: Sequence[T]
    has_next_page: bool
    cursor_of: Callable[[T], str]
    count: Callable[[], Awaitable[int]]


def encode_cursor(kind: str, *values: Any) -> str:
    """An opaque cursor: the sort key of a row, tagged with what it sorts by."""
    payload = [kind, *(v.isoformat() if isinstance(v, datetime) else v for v in values)]
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str, types: Sequence[type]) -> tuple[Any, ...]:
    """The sort key inside `cursor`; BAD_USER_INPUT when it is not one of `kind`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(payload, list) or len(payload) != len(types) + 1 or payload[0] != kind:
            raise ValueError("cursor of another list")
        return tuple(_typed(value, t) for value, t in zip(payload[1:], types, strict=True))
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError) as error:
        raise BadUserInput(
            "`after` is not a cursor of this list; pass an `endCursor` you received",
            field="after",
        ) from error


def _typed(value: Any, expected: type) -> Any:
    if expected is datetime:
        return datetime.fromisoformat(value)
    if not isinstance(value, expected) or isinstance(value, bool):
        raise TypeError(f"expected {expected.__name__}")
    return value


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0 or first > MAX_PAGE_SIZE:
        raise BadUserInput(
            f"`first` must be between 0 and {MAX_PAGE_SIZE}", field="first", max=MAX_PAGE_SIZE
        )
    return first


def page_request(
    first: int | None, after: str | None, kind: str, types: Sequence[type], *, descending: bool
) -> PageRequest:
    key = decode_cursor(after, kind, types) if after is not None else None
    return PageRequest(first=page_size(first), after=key, descending=descending)


def make_page(
    rows: Sequence[T],
    page: PageRequest,
    cursor_of: Callable[[T], str],
    count: Callable[[], Awaitable[int]],
) -> Page[T]:
    """Trim the look-ahead row that storage fetched to tell whether more follow."""
    return Page(
        items=rows[: page.first],
        has_next_page=len(rows) > page.first,
        cursor_of=cursor_of,
        count=count,
    )
