"""A process holding live subscriptions and noting when each event reaches each of them.

    python -m bench.live_subscribers WS_URL TOKEN CONNECTIONS PER_CONNECTION

Opens CONNECTIONS graphql-transport-ws connections to WS_URL, each with
PER_CONNECTION `registryEvents` subscriptions (the dashboard's selection), and
notes the CLOCK_MONOTONIC time at which every `model_version.created` event
arrives on every subscription, before parsing it. CLOCK_MONOTONIC is one clock
for every process of the machine, so the driver can subtract its own times.

bench/live.py talks to it over stdin/stdout, one line each way:
`ready` (printed once every connection is acknowledged and subscribed),
`count` -> how many subscriptions have received an event, `dump` -> the
arrivals since the last dump as JSON (and forget them), `quit`.
"""

import asyncio
import resource
import sys
import time
from collections import defaultdict
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

PROTOCOL = "graphql-transport-ws"
# What the dashboard subscribes to (dashboard/assets/events.js).
REGISTRY_EVENTS = (
    "subscription { registryEvents "
    "{ cursor type sequence occurredAt actor modelName version data } }"
)
MEASURED_TYPE = "model_version.created"
# Handshakes at once: enough to connect 500 quickly, few enough not to overflow accept queues.
CONNECTING_AT_ONCE = 25
PONG = orjson.dumps({"type": "pong"}).decode()


class Subscriptions:
    """Arrival times by event, and the problems seen, for all connections of this process."""

    def __init__(self) -> None:
        # "model/version" -> arrival times (ns), one per subscription that got it
        self.arrivals: defaultdict[str, list[int]] = defaultdict(list)
        self.heard_from: set[tuple[int, str]] = set()
        self.problems: list[str] = []

    def received(self, connection: int, raw: str | bytes, at_ns: int) -> str | None:
        """Note one message; returns what to answer (a pong), if anything."""
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
                self.arrivals[f"{event['modelName']}/{event['version']}"].append(at_ns)
        elif kind == "ping":
            return PONG
        elif kind in ("error", "complete"):
            self.problems.append(f"connection {connection}: {message}")
        return None


async def _follow(url: str, token: str, index: int, per_connection: int) -> ClientConnection:
    ws = await connect(
        url,
        subprotocols=[PROTOCOL],  # type: ignore[list-item]
        compression=None,
        max_size=None,
        # The server pings over the GraphQL protocol; WebSocket pings would only add traffic.
        ping_interval=None,
    )
    init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
    await ws.send(orjson.dumps(init).decode())
    ack = orjson.loads(await ws.recv())
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"connection {index} refused: {ack}")
    for operation in range(1, per_connection + 1):
        payload = {"query": REGISTRY_EVENTS}
        subscribe = {"id": str(operation), "type": "subscribe", "payload": payload}
        await ws.send(orjson.dumps(subscribe).decode())
    return ws


async def _read(ws: ClientConnection, index: int, subs: Subscriptions) -> None:
    try:
        async for raw in ws:
            answer = subs.received(index, raw, time.monotonic_ns())
            if answer is not None:
                await ws.send(answer)
    except ConnectionClosed as closed:
        subs.problems.append(f"connection {index} closed: {closed}")


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

    async def open_one(index: int) -> ClientConnection:
        async with gate:
            return await _follow(url, token, index, per_connection)

    sockets = await asyncio.gather(*(open_one(i) for i in range(connections)))
    readers = [asyncio.create_task(_read(ws, i, subs)) for i, ws in enumerate(sockets)]
    _reply("ready")
    try:
        await _commands(subs)
    finally:
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


if __name__ == "__main__":
    ws_url, bearer, count, per = sys.argv[1:5]
    asyncio.run(main(ws_url, bearer, int(count), int(per)))
