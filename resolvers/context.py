"""What every resolver gets for one request."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import audit, metrics
from resolvers.audit import AuditEntry, Caller, Refusal
from resolvers.authorization import ANONYMOUS, Principal, require
from resolvers.errors import database_errors
from resolvers.loaders import Loaders
from resolvers.token_cache import TokenCache
from storage.clock import utcnow
from storage.database import Database
from storage.enums import Role
from webhooks.events import Event, publish
from webhooks.runtime import WebhookRuntime

if TYPE_CHECKING:
    from resolvers.live.session import LiveSession


def _nothing() -> None:
    return None


def new_request_id() -> str:
    return "req_" + secrets.token_hex(16)  # as random as uuid4, without building a UUID


@dataclass(slots=True)
class RequestContext:
    """The database, the caller, this request's DataLoaders, webhooks and audit entry."""

    db: Database
    # None: the request carries no valid token (`auth_problem` says why).
    principal: Principal | None = None
    auth_problem: str = "this call needs a token: send Authorization: Bearer mr_..."
    # The name of a token that was presented but refused (expired, revoked), for the audit log.
    claimed_actor: str | None = None
    # Why no token was accepted, for the metrics: missing, malformed, unknown, expired, revoked.
    auth_failure: str = "missing"
    webhooks: WebhookRuntime = field(default_factory=WebhookRuntime)
    token_cache: TokenCache = field(default_factory=TokenCache)
    request_id: str = field(default_factory=new_request_id)
    client_address: str | None = None
    # The mutation that is running (set by the schema's audit extension).
    audit: AuditEntry | None = None
    # Mutations of this request that were refused: one audit row for all, at the end.
    refusals: list[Refusal] = field(default_factory=list)
    # Wakes this process's live subscriptions after a commit that logged events.
    wake_live: Callable[[], None] = _nothing
    # The WebSocket connection a subscription runs on (None for HTTP requests).
    live: LiveSession | None = None
    # A subscription's ways to hand an item straight to its client, without its task, each
    # False when it cannot at once (resolvers/live/hub.py): `live_send` writes an encoded
    # `next` payload (set by server/graphql_ws.py), `live_push` one item of the source
    # stream (set by schema/streaming.py, for items whose result is shared).
    live_send: Callable[[str], bool] | None = None
    live_push: Callable[[object], bool] | None = None
    loaders: Loaders = field(init=False)
    _deliveries_made: int = field(default=0, init=False)
    _published: list[Event] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.db)

    @property
    def actor(self) -> str:
        """The name recorded on what this request creates and changes."""
        if self.principal is not None:
            return self.principal.name
        return self.claimed_actor or ANONYMOUS

    @property
    def caller(self) -> Caller:
        return Caller(self.actor, self.request_id, self.client_address)

    def authorize(self, role: Role, *, model: str | None = None, action: str | None = None) -> None:
        """Raise UNAUTHENTICATED or FORBIDDEN unless the caller may act as `role` (on `model`)."""
        require(
            self.principal,
            role,
            model=model,
            action=action or (self.audit.action if self.audit else None),
            why_unauthenticated=self.auth_problem,
        )

    def audit_target(self, *, model: str | None = None, target: str | None = None) -> None:
        """Name what the running mutation acts on, where its input does not say."""
        if self.audit is not None:
            if model is not None:
                self.audit.model_name = model
            if target is not None:
                self.audit.target = target

    def read(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """The request's read connection (see Loaders.reading; database errors translated)."""
        return self.loaders.reading()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction (see Database.transaction), with the mutation's audit row.

        The read connection goes back to the pool first: a request must never
        hold one connection while waiting for another, or a busy pool deadlocks.
        After a commit the request reads through fresh DataLoaders, so nothing
        cached before the write (a production version, a page) is served stale.
        """
        await self.loaders.close()
        self._deliveries_made = 0
        self._published = []
        # A locked, read-only or unreachable database is the client's DATABASE_* error.
        async with database_errors(), self.db.transaction() as conn:
            yield conn
            if self.audit is not None and not self.audit.written:
                await audit.write(
                    conn, self.audit, self.caller, result=audit.OK, message=None, now=utcnow()
                )
        self.loaders = Loaders(self.db)
        metrics.committed(self._published)
        if self._published:
            self.wake_live()
        if self._deliveries_made:
            self.webhooks.wake()

    async def publish(
        self, conn: AsyncConnection, model_name: str | None, events: Sequence[Event]
    ) -> None:
        """Record events in the open transaction; the dispatcher is woken after commit."""
        self._deliveries_made += await publish(
            conn, model_name, events, utcnow(), self.request_id, self.actor
        )
        self._published.extend(events)  # counted in the metrics once committed

    async def read_afresh(self) -> None:
        """Hand back the read connection and forget what was loaded (a subscription's next item).

        A subscription lives for hours: between its items it must hold no
        connection, and each item must read the registry as it is then.
        """
        await self.loaders.close()
        self.loaders = Loaders(self.db)

    async def close(self) -> None:
        """Release what the request holds; the HTTP layer calls this when it ends."""
        await self.loaders.close()
