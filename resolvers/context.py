"""What every resolver gets for one request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers.loaders import Loaders
from storage.database import Database

ANONYMOUS = "anonymous"


@dataclass(slots=True)
class RequestContext:
    """The database, the acting principal and this request's DataLoaders."""

    db: Database
    actor: str = ANONYMOUS
    loaders: Loaders = field(init=False)

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
        async with self.db.transaction() as conn:
            yield conn
        self.loaders = Loaders(self.db)

    async def close(self) -> None:
        """Release what the request holds; the HTTP layer calls this when it ends."""
        await self.loaders.close()
