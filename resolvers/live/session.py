"""One WebSocket connection of live subscriptions: who is on it, and how it ends.

The token is checked when the connection opens and again while it stays
open: on a timer (server/graphql_ws.py) and before an event is handed on,
each at most every `token_check_seconds`. The check goes through the token
cache like every request, so a revocation made through this process is seen
at once and one made elsewhere within MODELREG_AUTH_CACHE_SECONDS of that.
A token that was revoked or expired meanwhile closes the connection (4403).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from resolvers.authentication import authenticate
from resolvers.authorization import Principal
from resolvers.context import RequestContext
from resolvers.live.closing import TOKEN_REFUSED, Closed, count_closed
from resolvers.live.hub import EventHub
from resolvers.token_cache import TokenCache
from storage.database import Database


@dataclass
class LiveSession:
    hub: EventHub
    db: Database
    token_cache: TokenCache
    # The `Authorization` value the connection was opened with (None: auth disabled).
    authorization: str | None
    principal: Principal
    # Ends the whole connection with a close code and reason; must not block.
    close: Callable[[int, str], None]
    token_check_seconds: float = 5.0
    client_address: str | None = None
    closed: Closed | None = None
    _checked_at: float = field(default_factory=time.monotonic)

    def end(self, reason: Closed) -> None:
        """Close the connection (once) and stop every subscription on it."""
        if self.closed is None:
            self.closed = reason
            count_closed(reason)
            self.close(reason.code, reason.reason)

    def token_checked(self) -> bool:
        """Open, and no token check due (an event may be handed on without one)."""
        if self.closed is not None:
            return False
        fresh = time.monotonic() - self._checked_at < self.token_check_seconds
        return self.authorization is None or fresh

    async def check_token(self, *, now: bool = False) -> None:
        """Raise `Closed` (and close the connection) if the token is no longer valid.

        Looks at most every `token_check_seconds` unless `now`.
        """
        if self.closed is not None:
            raise self.closed
        if self.authorization is None:
            return
        if not now and time.monotonic() - self._checked_at < self.token_check_seconds:
            return
        self._checked_at = time.monotonic()
        ctx = RequestContext(db=self.db, token_cache=self.token_cache)
        try:
            await authenticate(ctx, self.authorization)
        finally:
            await ctx.close()
        if ctx.principal is None:
            self.end(Closed(TOKEN_REFUSED, ctx.auth_problem))
            assert self.closed is not None
            raise self.closed
