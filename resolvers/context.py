"""What every resolver gets for one request."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers.loaders import Loaders
from storage.clock import utcnow
from storage.database import Database
from webhooks.events import Event, publish
from webhooks.runtime import WebhookRuntime

ANONYMOUS = "anonymous"


@dataclass(slots=True)
class RequestContext:
    """The database, the acting principal, this request's DataLoaders, webhooks."""

    db: Database
    actor: str = ANONYMOUS
    webhooks: WebhookRuntime = field(default_factory=WebhookRuntime)
    loaders: Loaders = field(init=False)
    _deliveries_made: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.db)

    def read(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """The request's read connection (see Loaders.reading)."""
        return self.loaders.reading()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction (see Database.transaction).

        The read connection goes back to the pool first: a request must never
        hold one connection while waiting for another, or a busy pool deadlocks.
        After a commit the request reads through fresh DataLoaders, so nothing
        cached before the write (a production version, a page) is served stale.
        """
        await self.loaders.close()
        self._deliveries_made = 0
        async with self.db.transaction() as conn:
            yield conn
        self.loaders = Loaders(self.db)
        if self._deliveries_made:
            self.webhooks.wake()

    async def publish(
        self, conn: AsyncConnection, model_name: str | None, events: Sequence[Event]
    ) -> None:
        """Record events in the open transaction; the dispatcher is woken after commit."""
        self._deliveries_made += await publish(conn, model_name, events, utcnow())

    async def close(self) -> None:
        """Release what the request holds; the HTTP layer calls this when it ends."""
        await self.loaders.close()
