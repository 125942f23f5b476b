"""GraphQL subscriptions over WebSocket on /graphql (graphql-transport-ws).

The protocol is strawberry's own implementation; this module gives it our
authentication, our executor (schema/streaming.py) and three additions:

- The token comes in `connection_init`'s payload (`{"authorization":
  "Bearer mr_..."}`) or in the upgrade request's Authorization header. A
  missing or invalid one closes the connection with 4403 and why; any valid
  token may subscribe (readers included), with the same rules as queries.
- A timer per connection sends a protocol `ping` every
  MODELREG_LIVE_PING_INTERVAL_SECONDS and checks the token again: a token
  revoked or expired while connected closes it (4403, see resolvers/live/session.py).
- A connection can be closed from elsewhere with a code and reason: a slow
  consumer (4420), a refused token, a stopping server (1012).
- Each operation gets `live_send`: a way for the process's reader of the
  event log to write its `next` messages itself while the operation waits
  (resolvers/live/hub.py), through server/websocket_frames.py where it can,
  or an ASGI send that must finish without waiting.

Only subscriptions run here; queries and mutations go to POST /graphql.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncGenerator, Callable, Coroutine, Mapping
from datetime import timedelta
from typing import Any

from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.types.execution import PreExecutionError
from strawberry.types.unset import UNSET, UnsetType

from resolvers import unauthenticated
from resolvers.audit_throttle import AuditThrottle
from resolvers.authentication import authenticate
from resolvers.authorization import UNAUTHENTICATED_ADMIN
from resolvers.context import RequestContext, new_request_id
from resolvers.errors import DatabaseError
from resolvers.live.closing import Closed
from resolvers.live.hub import EventHub
from resolvers.live.session import LiveSession
from schema.execution import Executor
from schema.shared_results import EncodedResult
from schema.streaming import SubscriptionRunner
from server import websocket_frames
from server.settings import Settings
from server.websocket_frames import FrameWriter

logger = logging.getLogger("modelreg.live")

# RFC 6455: 1013 Try Again Later; a close frame's reason is at most 123 bytes of UTF-8.
TRY_AGAIN_LATER = 1013
_REASON_BYTES = 123


def _short(reason: str) -> str:
    encoded = reason.encode()
    if len(encoded) <= _REASON_BYTES:
        return reason
    return encoded[: _REASON_BYTES - 3].decode(errors="ignore") + "..."


class LiveConnection:
    """The context of one WebSocket connection: what it needs, and its session once open."""

    def __init__(self, websocket: WebSocket, settings: Settings) -> None:
        state = websocket.app.state
        self.websocket = websocket
        self.settings = settings
        self.db = state.db
        self.hub: EventHub = state.live_hub
        self.token_cache = state.token_cache
        self.webhooks = state.webhooks
        self.client_address = websocket.client.host if websocket.client else None
        # Set by strawberry from connection_init's payload.
        self.connection_params: dict[str, Any] = {}
        self.session: LiveSession | None = None
        self._closing: set[asyncio.Task[None]] = set()

    def close_soon(self, code: int, reason: str) -> None:
        """Close the connection without waiting here (a stuck client may make it take long)."""
        task = asyncio.create_task(self._close(code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close(self, code: int, reason: str) -> None:
        logger.info("closing a live connection (%d): %s", code, reason)
        with contextlib.suppress(Exception):  # already closed or gone
            await self.websocket.close(code, _short(reason))

    def operation_context(self) -> RequestContext:
        """A context for one subscription on this connection."""
        assert self.session is not None
        return RequestContext(
            db=self.db,
            principal=self.session.principal,
            webhooks=self.webhooks,
            token_cache=self.token_cache,
            request_id=new_request_id(),
            client_address=self.client_address,
            live=self.session,
        )


class _Results:
    """One operation's results, and the context they run with (for `live_send`)."""

    def __init__(self, context: RequestContext, results: AsyncGenerator[Any, None]) -> None:
        self.context = context
        self._results = results

    def __aiter__(self) -> AsyncGenerator[Any, None]:
        return self._results

    async def aclose(self) -> None:
        await self._results.aclose()


class _Runner:
    """The `schema` strawberry's handler calls: each operation gets a context of its own."""

    def __init__(self, runner: SubscriptionRunner) -> None:
        self._runner = runner

    async def stream(
        self,
        query: str,
        variable_values: Mapping[str, Any] | None = None,
        context_value: LiveConnection | None = None,
        root_value: Any = None,
        operation_name: str | None = None,
    ) -> _Results:
        assert context_value is not None
        context = context_value.operation_context()
        results = self._runner.stream(query, variable_values, context, None, operation_name)
        return _Results(context, results)


def at_once(sending: Coroutine[Any, Any, None]) -> bool:
    """Run `sending` if it finishes without waiting; if it would wait, drop it unsent.

    A WebSocket send waits only before it writes anything (uvicorn's waits
    for the transport to be writable again, when the client stopped reading
    and its buffer is full), so one dropped there has left no trace.
    """
    try:
        sending.send(None)
    except StopIteration:
        return True
    except Exception:  # gone: the operation's task meets the same error, and handles it
        return False
    sending.close()
    return False


class _Adapter(ASGIWebSocketAdapter):
    """Closes once; a refused `connection_init` is closed with the reason, not "Forbidden"."""

    async def send_text(self, text: str) -> None:
        """A message encoded already (a `next` around a shared payload)."""
        try:
            await self.ws.send_text(text)
        except WebSocketDisconnect as error:
            raise WebSocketDisconnected from error

    def sender_at_once(self) -> Callable[[str], bool]:
        """`send_text` where it can finish without waiting; False: it would wait, nothing sent."""
        ws = self.ws
        frames: FrameWriter | None = ws.scope.get(websocket_frames.SCOPE_KEY)

        def send_text_at_once(text: str) -> bool:
            if ws.application_state is not WebSocketState.CONNECTED:
                return False
            if frames is not None and frames.write_text(text):
                return True
            return at_once(ws.send_text(text))

        return send_text_at_once

    async def close(self, code: int, reason: str) -> None:
        refusal = getattr(self.ws.state, "refusal", None)
        if code == 4403 and refusal:
            reason = refusal
        with contextlib.suppress(RuntimeError):  # closed already (by us or the client)
            await self.ws.close(code=code, reason=_short(reason))


class _Handler(BaseGraphQLTransportWSHandler[LiveConnection, None]):
    """strawberry's protocol handler, with a keep-alive and token-check timer.

    A result whose payload is encoded already (shared by the subscriptions of
    one shape, schema/shared_results.py) is sent as that payload spliced into
    this operation's `next` message, the bytes strawberry's `send_next` would
    write, without encoding it again; everything else is strawberry's.
    """

    async def _send_result_stream(
        self, operation: Operation[LiveConnection, None], result_source: Any
    ) -> None:
        """strawberry's loop (our runner yields nothing incremental) and encoded results."""
        if isinstance(result_source, _Results):
            result_source.context.live_send = self._sender(operation)
        first = True
        async for result in result_source:
            if isinstance(result, EncodedResult):
                if not operation.completed:
                    assert isinstance(self.websocket, _Adapter)
                    await self.websocket.send_text(_next_message(operation.id, result.payload))
            elif first and isinstance(result, PreExecutionError):
                await self._handle_pre_execution_error(operation, result)
                return
            else:
                await operation.send_next(result)
            first = False

    def _sender(self, operation: Operation[LiveConnection, None]) -> Callable[[str], bool]:
        """Writes a `next` message of `operation` at once, or says it cannot (`live_send`)."""
        assert isinstance(self.websocket, _Adapter)
        send_text_at_once = self.websocket.sender_at_once()
        start = _next_message(operation.id, "")[:-1]  # all but the closing brace

        operations = self.operations

        def send_at_once(payload: str) -> bool:
            # A `complete` from the client removes the operation at once; its task is
            # only cancelled on its next turn, after which nothing may be sent for it.
            if operation.completed or operations.get(operation.id) is not operation:
                return False
            return send_text_at_once(start + payload + "}")

        return send_at_once

    async def handle(self) -> None:
        timer = asyncio.create_task(self._keep_alive())
        try:
            await super().handle()
        finally:
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
            session = self.context.session
            if session is not None and session.closed is None:
                session.closed = Closed(1000, "the connection ended")

    async def _keep_alive(self) -> None:
        settings = self.context.settings
        ping_every = settings.live_ping_interval_seconds
        check_every = settings.live_token_check_seconds
        next_ping = time.monotonic() + ping_every
        while True:
            await asyncio.sleep(min(ping_every, check_every))
            session = self.context.session
            if session is None:
                continue
            try:
                await session.check_token()
            except Closed:
                return
            except DatabaseError as error:  # the database is away: look again next time
                logger.warning("could not check a live connection's token: %s", error.message)
            if time.monotonic() >= next_ping:
                next_ping = time.monotonic() + ping_every
                try:
                    await self.send_message({"type": "ping"})
                except Exception:
                    return  # gone: the handler ends on its own


def _next_message(operation_id: str, payload: str) -> str:
    """What `Operation.send_next` sends, with the payload encoded already."""
    return f'{{"id":{json.dumps(operation_id)},"type":"next","payload":{payload}}}'


class GraphQLWebSocket(GraphQL[LiveConnection, None]):
    """The WebSocket half of /graphql (POST is server/graphql_http.py)."""

    graphql_transport_ws_handler_class = _Handler
    websocket_adapter_class = _Adapter

    def __init__(self, settings: Settings, executor: Executor, throttle: AuditThrottle) -> None:
        super().__init__(
            _Runner(SubscriptionRunner(executor)),  # type: ignore[arg-type]
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(
                seconds=settings.live_connection_init_timeout_seconds
            ),
            max_subscriptions_per_connection=settings.live_subscriptions_per_connection,
        )
        self._settings = settings
        self._throttle = throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # its events are written straight to it when they can be
            scope[websocket_frames.SCOPE_KEY] = FrameWriter.of(send)
        await super().__call__(scope, receive, send)

    async def get_context(self, request: Any, response: Any) -> LiveConnection:
        return LiveConnection(request, self._settings)

    async def on_ws_connect(self, context: LiveConnection) -> UnsetType | dict[str, object] | None:
        """Authenticate `connection_init` (or the upgrade request's header); refuse with why."""
        given = context.connection_params.get("authorization")
        authorization = given if isinstance(given, str) else None
        authorization = authorization or context.websocket.headers.get("authorization")
        ctx = RequestContext(
            db=context.db,
            token_cache=context.token_cache,
            client_address=context.client_address,
        )
        try:
            if self._settings.auth == "disabled":
                ctx.principal, authorization = UNAUTHENTICATED_ADMIN, None
            else:
                try:
                    await authenticate(ctx, authorization)
                except DatabaseError as error:  # the token could not be looked up: retry
                    await context.websocket.close(TRY_AGAIN_LATER, _short(error.message))
                    raise ConnectionRejectionError from error
            if ctx.principal is None:
                await unauthenticated.audit_refusal(ctx, self._throttle)
                context.websocket.state.refusal = ctx.auth_problem
                raise ConnectionRejectionError
        finally:
            await ctx.close()
        context.session = LiveSession(
            hub=context.hub,
            db=context.db,
            token_cache=context.token_cache,
            authorization=authorization,
            principal=ctx.principal,
            close=context.close_soon,
            token_check_seconds=self._settings.live_token_check_seconds,
            client_address=context.client_address,
        )
        acknowledged: UnsetType = UNSET  # connection_ack without a payload
        return acknowledged
