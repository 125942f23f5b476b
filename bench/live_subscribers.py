"""A process holding live subscriptions and noting when each event reaches each of them.

    python -m bench.live_subscribers WS_URL TOKEN CONNECTIONS PER_CONNECTION

Opens CONNECTIONS graphql-transport-ws connections to WS_URL, each with
PER_CONNECTION `registryEvents` subscriptions (the dashboard's selection), and
notes when every `model_version.created` event arrives on every
subscription. CLOCK_MONOTONIC is one clock for every process of the
machine, so the driver can subtract its own times.

Arrival is the kernel's receive timestamp of the bytes (CLOCK_REALTIME, less
the event's `occurredAt`, stamped by the server as its writing transaction
begins: the time from commit to subscriber, plus the transaction's own; and
converted to CLOCK_MONOTONIC for the driver). So when this process gets to
run does not count, and it runs as SCHED_IDLE, so that on a machine shared
with the server the clients take CPU only where the server leaves it, as if
they ran elsewhere. (At nice 19 they still preempted each worker ~80 times
per commit with 500 subscriptions, each woken client taking the CPU from
the worker writing to it: SCHED_IDLE never preempts, ~10 times.)

bench/live.py talks to it over stdin/stdout, one line each way:
`ready` (printed once every connection is acknowledged and subscribed),
`count` -> how many subscriptions have received an event, `dump` -> the
arrivals since the last dump as JSON (and forget them), `quit`.
"""

import asyncio
import contextlib
import os
import resource
import socket
import struct
import sys
import time
from collections import defaultdict
from datetime import datetime
from typing import Any

import orjson
import uvloop
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

PROTOCOL = "graphql-transport-ws"
# What the dashboard subscribes to (dashboard/assets/events.js).
REGISTRY_EVENTS = (
    "subscription { registryEvents "
    "{ cursor type sequence occurredAt actor modelName version data } }"
)
MEASURED_TYPE = "model_version.created"
# Handshakes at once: enough to connect 500 quickly, few enough not to overflow accept queues.
CONNECTING_AT_ONCE = 25
PONG = {"type": "pong"}
# <asm-generic/socket.h>: the receive timestamp as a struct timespec (SCM_ == SO_).
SO_TIMESTAMPNS = 35
_TIMESPEC = struct.Struct("ll")
_READ_SIZE = 256 * 1024
_ANCILLARY_SIZE = socket.CMSG_SPACE(_TIMESPEC.size)
# What `received` answers to connection_ack: time to subscribe.
ACKNOWLEDGED: dict[str, Any] = {}


class Subscriptions:
    """Arrival times by event, and the problems seen, for all connections of this process."""

    def __init__(self) -> None:
        # "model/version" -> (arrival time, ns since occurredAt), one per subscription that got it
        self.arrivals: defaultdict[str, list[tuple[int, int]]] = defaultdict(list)
        self.heard_from: set[tuple[int, str]] = set()
        self.problems: list[str] = []

    def received(
        self, connection: int, raw: bytes, at_ns: int, wall_ns: int
    ) -> dict[str, Any] | None:
        """Note one message; returns what to answer (a pong, ACKNOWLEDGED), if anything."""
        message: dict[str, Any] = orjson.loads(raw)
        kind = message.get("type")
        if kind == "next":
            payload = message["payload"]
            if payload.get("errors"):
                self.problems.append(f"connection {connection}: {payload['errors']}")
                return None
            event = payload["data"]["registryEvents"]
            self.heard_from.add((connection, message["id"]))
            if event["type"] == MEASURED_TYPE:
                occurred = datetime.fromisoformat(event["occurredAt"]).timestamp()
                since_commit_ns = wall_ns - round(occurred * 1e9)
                key = f"{event['modelName']}/{event['version']}"
                self.arrivals[key].append((at_ns, since_commit_ns))
        elif kind == "ping":
            return PONG
        elif kind == "connection_ack":
            return ACKNOWLEDGED
        elif kind in ("error", "complete"):
            self.problems.append(f"connection {connection}: {message}")
        return None


class _Connection:
    """One graphql-transport-ws connection on websockets' Sans-I/O protocol.

    Arrival is the kernel's receive timestamp of the bytes (SO_TIMESTAMPNS):
    when they reached this subscriber's socket, whenever this process gets
    to run. On a 2-core machine shared with the server, that keeps the
    clients' own scheduling out of the figure, as if they ran elsewhere.
    """

    def __init__(
        self, index: int, url: str, token: str, per_connection: int, subs: Subscriptions
    ) -> None:
        self.index = index
        self.subs = subs
        self.token = token
        self.per_connection = per_connection
        # Offers permessage-deflate, as browsers do (the server decides: MODELREG_LIVE_COMPRESSION).
        self.ws = ClientProtocol(
            parse_uri(url),
            subprotocols=[Subprotocol(PROTOCOL)],
            max_size=None,
            extensions=[ClientPerMessageDeflateFactory()],
        )
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.subscribed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def open(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        await loop.sock_connect(self.sock, (host, port))
        loop.add_reader(self.sock.fileno(), self._readable)
        self.ws.send_request(self.ws.connect())
        self._flush()
        await self.subscribed

    def _readable(self) -> None:
        while True:
            try:
                data, ancillary, _, _ = self.sock.recvmsg(_READ_SIZE, _ANCILLARY_SIZE)
            except BlockingIOError:
                return
            except OSError as error:
                self._lost(error)
                return
            if not data:
                self._lost(None)
                return
            wall_ns = _received_at(ancillary)
            self.data_received(data, wall_ns - time.time_ns() + time.monotonic_ns(), wall_ns)

    def data_received(self, data: bytes, at_ns: int, wall_ns: int) -> None:
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                if self.ws.handshake_exc is not None:
                    self._fail(f"handshake refused: {self.ws.handshake_exc}")
                    return
                init = {
                    "type": "connection_init",
                    "payload": {"authorization": f"Bearer {self.token}"},
                }
                self._send(init)
            elif isinstance(event, Frame) and event.opcode == Opcode.TEXT:
                answer = self.subs.received(self.index, bytes(event.data), at_ns, wall_ns)
                if answer == ACKNOWLEDGED:
                    self._subscribe()
                elif answer is not None:
                    self._send(answer)
            elif isinstance(event, Frame) and event.opcode == Opcode.CLOSE:
                self._fail(f"closed by the server: {self.ws.close_rcvd}")
        self._flush()

    def _lost(self, error: Exception | None) -> None:
        asyncio.get_running_loop().remove_reader(self.sock.fileno())
        self._fail(f"connection lost: {error or 'closed by the server'}")

    def _subscribe(self) -> None:
        for operation in range(1, self.per_connection + 1):
            payload = {"query": REGISTRY_EVENTS}
            self._send({"id": str(operation), "type": "subscribe", "payload": payload})
        if not self.subscribed.done():
            self.subscribed.set_result(None)

    def _send(self, message: dict[str, Any]) -> None:
        self.ws.send_text(orjson.dumps(message))

    def _flush(self) -> None:
        for data in self.ws.data_to_send():
            if data:
                self.sock.sendall(data)  # a few small messages: the buffer has room
            else:  # the protocol is done with the connection
                self.sock.shutdown(socket.SHUT_WR)

    def _fail(self, problem: str) -> None:
        self.subs.problems.append(f"connection {self.index}: {problem}")
        if not self.subscribed.done():
            self.subscribed.set_exception(RuntimeError(problem))

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.sock.fileno())
        with contextlib.suppress(OSError):
            self.ws.send_close()
            self._flush()
        self.sock.close()


async def _follow(
    host: str, port: int, url: str, token: str, index: int, per_connection: int, subs: Subscriptions
) -> _Connection:
    connection = _Connection(index, url, token, per_connection, subs)
    await connection.open(host, port)
    return connection


def _received_at(ancillary: list[tuple[int, int, bytes]]) -> int:
    """The kernel's CLOCK_REALTIME receive timestamp (ns) among recvmsg's ancillary data."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            seconds, nanoseconds = _TIMESPEC.unpack_from(data)
            return int(seconds * 1_000_000_000 + nanoseconds)
    return time.time_ns()  # no timestamp given: now, a little late


async def _commands(subs: Subscriptions) -> None:
    while True:
        line = (await asyncio.to_thread(sys.stdin.readline)).strip()
        if line == "count":
            _reply(str(len(subs.heard_from)))
        elif line == "dump":
            usage = resource.getrusage(resource.RUSAGE_SELF)
            _reply(
                orjson.dumps(
                    {
                        "arrivals": subs.arrivals,
                        "problems": subs.problems,
                        "cpu_s": usage.ru_utime + usage.ru_stime,
                    }
                ).decode()
            )
            subs.arrivals = defaultdict(list)
        elif line in ("quit", ""):  # "" : the driver went away
            return


def _reply(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(url: str, token: str, connections: int, per_connection: int) -> None:
    subs = Subscriptions()
    gate = asyncio.Semaphore(CONNECTING_AT_ONCE)
    where = parse_uri(url)

    async def open_one(index: int) -> _Connection:
        async with gate:
            return await _follow(where.host, where.port, url, token, index, per_connection, subs)

    opened = await asyncio.gather(*(open_one(i) for i in range(connections)))
    _reply("ready")
    try:
        await _commands(subs)
    finally:
        for connection in opened:
            connection.close()


if __name__ == "__main__":
    # The server's CPU comes first (see the module's docstring).
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    ws_url, bearer, count, per = sys.argv[1:5]
    uvloop.run(main(ws_url, bearer, int(count), int(per)))
