"""Why a live subscription ended: the WebSocket close code and reason the client gets.

Codes 4000-4999 are the application's own (RFC 6455); the graphql-transport-ws
protocol uses 4400-4499 for its own errors, and strawberry closes with 4403
when `connection_init` is refused, which a token revoked later also gets.
"""

TOKEN_REFUSED = 4403
SLOW_CONSUMER = 4420
# 1012 Service Restart: the server is stopping; reconnect (to another replica).
SHUTTING_DOWN = 1012


class Closed(Exception):
    """The connection is being closed with `code` and `reason`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
