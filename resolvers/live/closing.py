"""Why a live subscription ended: the WebSocket close code and reason the client gets.

Codes 4000-4999 are the application's own (RFC 6455); the graphql-transport-ws
protocol uses 4400-4499 for its own errors, and strawberry closes with 4403
when `connection_init` is refused, which a token revoked later also gets.
Each connection the server closes is counted by why, so operators see slow
consumers and revocations on /metrics.
"""

from prometheus_client import Counter

TOKEN_REFUSED = 4403
SLOW_CONSUMER = 4420
# 1012 Service Restart: the server is stopping; reconnect (to another replica).
SHUTTING_DOWN = 1012

CLOSED_BY_SERVER = Counter(
    "modelreg_live_closed",
    "Live (WebSocket) connections the server closed, by why (slow_consumer, "
    "token_refused, shutting_down, other)",
    ["reason"],
)
_REASONS = {
    SLOW_CONSUMER: "slow_consumer",
    TOKEN_REFUSED: "token_refused",
    SHUTTING_DOWN: "shutting_down",
}


class Closed(Exception):
    """The connection is being closed with `code` and `reason`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def count_closed(reason: Closed) -> None:
    """Count a connection the server closed (once per connection)."""
    CLOSED_BY_SERVER.labels(_REASONS.get(reason.code, "other")).inc()
