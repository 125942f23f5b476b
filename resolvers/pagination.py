"""Relay connections: opaque keyset cursors, `first` limits and pages."""

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import orjson

from resolvers import validation
from resolvers.errors import BadUserInput
from storage.pagination import PageRequest

T = TypeVar("T")

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
# A cursor holding a model name of 256 characters of 4 UTF-8 bytes is 1,400 long.
CURSOR_MAX = 2048
_TIME_MAX = 64


class SmallInt(int):
    """A cursor's sort key kept in a 32-bit column (a version number); `int` is 64-bit."""


class ZeroOrMore(int):
    """A cursor's sort key that may be 0 (an event's transaction id on SQLite)."""


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
    """The sort key inside `cursor`; BAD_USER_INPUT when it is not one of `kind`.

    `types` are the key's parts: `int` (1 to 2^63-1), `SmallInt` (1 to 2^31-1),
    `ZeroOrMore` (0 to 2^63-1),
    `str` (one line of at most a model name's length) or `datetime` (with a
    zone). Every part is checked, so a tampered cursor never reaches the database.
    """
    try:
        if len(cursor) > CURSOR_MAX:
            raise ValueError("too long for a cursor")
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not isinstance(payload, list) or len(payload) != len(types) + 1 or payload[0] != kind:
            raise ValueError("cursor of another list")
        return tuple(_typed(value, t) for value, t in zip(payload[1:], types, strict=True))
    except (
        ValueError,
        TypeError,
        OverflowError,
        UnicodeError,
        binascii.Error,
        orjson.JSONDecodeError,
        BadUserInput,
    ) as error:
        raise BadUserInput(
            "`after` is not a cursor of this list; pass an `endCursor` you received",
            field="after",
        ) from error


def _typed(value: Any, expected: type) -> Any:
    if expected is datetime:
        if not isinstance(value, str) or len(value) > _TIME_MAX:
            raise TypeError("expected an ISO 8601 time")
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("a cursor's time has a zone")
        return moment.astimezone(UTC)  # OverflowError at the ends of the calendar
    if issubclass(expected, int):
        maximum = validation.INT32_MAX if expected is SmallInt else validation.INT64_MAX
        minimum = 0 if expected is ZeroOrMore else 1
        if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
            raise TypeError(f"expected an integer from {minimum} to {maximum}")
        return value
    if expected is str:
        if not isinstance(value, str) or len(value) > validation.FILTER_TEXT_MAX:
            raise TypeError("expected a short string")
        return validation.characters(value, "after", prose=False)
    raise TypeError(f"a cursor cannot hold a {expected.__name__}")


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
