"""Every root field checks its arguments' text before its resolver runs.

The use cases apply the specific rules of their own fields (resolvers/validation.py);
this is the catch-all behind them, so that an input added later cannot forget
to refuse NUL and other control characters. It is added to every root field
that takes arguments in schema/schema.py, inside the audit extension of a
mutation, so a refusal is audited like any other.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.types import Info

from resolvers import validation


class CheckedArguments(FieldExtension):
    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        validation.arguments(kwargs)
        return next_(source, info, **kwargs)

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        validation.arguments(kwargs)
        return await next_(source, info, **kwargs)
