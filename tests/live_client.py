"""A small graphql-transport-ws client for tests, on the `websockets` library.

It reads every message in the background (so a subscription's events wait
in its own queue) unless made with `reading=False`: then nothing is read
from the socket at all, the way a stuck consumer behaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.graphql import GraphQLClient

PROTOCOL = "graphql-transport-ws"


@dataclass
class LiveClient:
    ws: ClientConnection
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _queues: defaultdict[str, asyncio.Queue[dict[str, Any]]] = field(
        default_factory=lambda: defaultdict(asyncio.Queue)
    )
    pinged: asyncio.Event = field(default_factory=asyncio.Event)
    closed: asyncio.Future[tuple[int, str]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        """Start a subscription; returns its id."""
        operation_id = str(next(self._ids))
        payload = {"query": query, "variables": variables or {}}
        message = {"id": operation_id, "type": "subscribe", "payload": payload}
        await self.ws.send(json.dumps(message))
        return operation_id

    async def message(self, operation_id: str, deadline: float = 15.0) -> dict[str, Any]:
        """The next message (`next`, `error` or `complete`) of a subscription."""
        async with asyncio.timeout(deadline):
            return await self._queues[operation_id].get()

    async def data(self, operation_id: str, deadline: float = 15.0) -> dict[str, Any]:
        """The `data` of the subscription's next `next` message (anything else fails)."""
        message = await self.message(operation_id, deadline)
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        data: dict[str, Any] = message["payload"]["data"]
        return data

    async def nothing_more(self, operation_id: str) -> bool:
        """True if the subscription has nothing waiting now."""
        await asyncio.sleep(0)
        return self._queues[operation_id].empty()

    async def stop(self, operation_id: str) -> None:
        await self.ws.send(json.dumps({"id": operation_id, "type": "complete"}))

    async def read_all(self) -> None:
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                if message["type"] == "ping":
                    self.pinged.set()
                    await self.ws.send(json.dumps({"type": "pong"}))
                elif "id" in message:
                    self._queues[message["id"]].put_nowait(message)
        except ConnectionClosed:
            pass
        finally:
            if not self.closed.done():
                self.closed.set_result(close_of(self.ws))


@asynccontextmanager
async def live(
    url: str,
    token: str | None,
    *,
    in_header: bool = False,
    reading: bool = True,
    receive_buffer: int | None = None,
) -> AsyncIterator[LiveClient]:
    """A connection to ws://.../graphql, acknowledged (or refused: see `closed`).

    `receive_buffer` shrinks the socket's receive buffer, so that a client that
    stops reading makes the server's sends wait soon.
    """
    headers = {"authorization": f"Bearer {token}"} if in_header and token else {}
    sock = None
    if receive_buffer is not None:
        host, port = url.removeprefix("ws://").split("/")[0].split(":")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    async with connect(
        url,
        subprotocols=[PROTOCOL],  # type: ignore[list-item]
        additional_headers=headers,
        sock=sock,
        max_queue=1 if not reading else 16,
        max_size=None,
        # No pings from the client: one that stops reading would not see their
        # pongs and would fail the connection itself after 40 s (1011). The
        # server's keep-alive is what these tests are about.
        ping_interval=None,
        # Uncompressed, so what the server sends is what fills the buffers.
        compression=None,
    ) as ws:
        client = LiveClient(ws)
        payload = {"authorization": f"Bearer {token}"} if token and not in_header else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        try:
            ack = json.loads(await ws.recv())
            assert ack["type"] == "connection_ack", ack
        except ConnectionClosed:
            client.closed.set_result(close_of(ws))
            yield client
            return
        reader = asyncio.create_task(client.read_all()) if reading else None
        try:
            yield client
        finally:
            if reader is not None:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader


def close_of(ws: ClientConnection) -> tuple[int, str]:
    """The server's close code and reason; 1006 (none received) says why it is missing."""
    received = ws.protocol.close_rcvd
    if received is not None:
        return received.code, received.reason
    sent = ws.protocol.close_sent
    if sent is not None:
        return 1006, f"no close frame from the server; this client closed with {sent}"
    return 1006, "no close frame from the server; the connection was lost"


async def from_now(api: GraphQLClient) -> dict[str, str]:
    """`after` for a subscription that must get every change made once it is sent.

    Without it a subscription starts where the server is when it joins, and a
    change committed before that (the test's next mutation can be) is missed.
    """
    latest = await api.data("{ latestEventCursor }")
    return {"after": latest["latestEventCursor"]}
