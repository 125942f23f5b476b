"""Relay cursor connections built from resolver pages."""

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry

from resolvers.pagination import Page

T = TypeVar("T")
R = TypeVar("R")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    _item: strawberry.Private[Any]
    _cursor_of: strawberry.Private[Callable[[Any], str]]

    @strawberry.field(description="Pass as `after` to get the items that follow this one.")
    def cursor(self) -> str:
        # Encoded only when asked for: most listings never read per-edge cursors.
        return self._cursor_of(self._item)


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="Number of items in the whole list (one extra query).")
    async def total_count(self) -> int:
        return await self._count()


def connection(page: Page[R], node: Callable[[R], T], *, after: str | None) -> Connection[T]:
    edges = [Edge(node=node(item), _item=item, _cursor_of=page.cursor_of) for item in page.items]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            # Forward-only pagination: a page asked for `after` a cursor has items
            # before it (the approximation Relay allows instead of a second query).
            has_previous_page=after is not None,
            start_cursor=page.cursor_of(page.items[0]) if page.items else None,
            end_cursor=page.cursor_of(page.items[-1]) if page.items else None,
        ),
        _count=page.count,
    )
