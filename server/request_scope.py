"""What is known about the request being served, for its log records and trace spans.

One context variable per request, set where POST /graphql begins: the log
formatter and the span processor read it from wherever a record or span is
made (resolvers, DataLoader batches, SQL), since tasks copy the context.
The object is filled in as the request goes (actor after authentication, the
operation after parsing), so everything made later in the request sees it.
"""

import time
from contextvars import ContextVar, Token
from dataclasses import dataclass, field


@dataclass(slots=True)
class RequestScope:
    request_id: str
    method: str = "POST"
    path: str = "/graphql"
    actor: str | None = None
    # The operation's name, or its root fields when it has none ("createModel").
    operation: str | None = None
    operation_type: str | None = None  # query, mutation, subscription
    status: int | None = None
    # "ok", or the first error's extensions.code (BAD_REQUEST, CONFLICT, ...).
    outcome: str | None = None
    started: float = field(default_factory=time.perf_counter)

    @property
    def duration_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


_current: ContextVar[RequestScope | None] = ContextVar("modelreg_request", default=None)


def current() -> RequestScope | None:
    """The request being served by the running code; None outside requests."""
    return _current.get()


def enter(scope: RequestScope) -> Token[RequestScope | None]:
    """Make `scope` current; pass the result to `leave` when the request ends."""
    return _current.set(scope)


def leave(token: Token[RequestScope | None]) -> None:
    _current.reset(token)
