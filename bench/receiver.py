"""A webhook endpoint for benchmarks, in its own process (so it never shares a GIL).

    python -m bench.receiver COUNT

Listens on COUNT ports that the kernel picks (port 0, so no race with other
programs) and prints them as a JSON list on its first line of output. One port
per subscription makes each endpoint its own origin, as real subscribers are
(the dispatcher pools connections per origin).
Answers every POST with 204 and remembers, per request: port, path, webhook-id,
the event's model, version and sequence, and the CLOCK_MONOTONIC time its
headers arrived (comparable across processes of one machine). On any port,
`GET /__count` says how many arrived, `GET /__receipts` returns them all and
`POST /__reset` forgets them. A bare asyncio server under uvloop costs far less
CPU per request than a framework, and the dispatcher shares the same cores.
"""

import asyncio
import sys
import time
from typing import NamedTuple

import orjson
import uvloop


class Receipt(NamedTuple):
    """One request as `GET /__receipts` lists it (stored as a plain tuple for orjson)."""

    port: int
    path: str
    webhook_id: str
    model: str | None
    version: int | None
    sequence: int | None
    arrived_ns: int


receipts: list[tuple[int, str, str, str | None, int | None, int | None, int]] = []


def _event_key(body: bytes) -> tuple[str | None, int | None, int | None]:
    try:
        data = orjson.loads(body)["data"]
        return data["modelVersion"]["modelName"], data["modelVersion"]["version"], data["sequence"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None, None, None


def _answer(status: str, body: bytes = b"") -> bytes:
    return f"HTTP/1.1 {status}\r\ncontent-length: {len(body)}\r\n\r\n".encode() + body


def _control(method: str, path: str) -> bytes:
    if method == "GET" and path == "/__count":
        return _answer("200 OK", str(len(receipts)).encode())
    if method == "GET" and path == "/__receipts":
        return _answer("200 OK", orjson.dumps(receipts))
    if method == "POST" and path == "/__reset":
        receipts.clear()
        return _answer("204 No Content")
    return _answer("404 Not Found")


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    port: int = writer.get_extra_info("sockname")[1]
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            arrived = time.monotonic_ns()
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, path, _ = request_line.split(" ", 2)
            headers = {}
            for line in header_lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length") or 0))
            if path.startswith("/__"):
                writer.write(_control(method, path))
            else:
                key = _event_key(body)
                receipts.append((port, path, headers.get("webhook-id", ""), *key, arrived))
                writer.write(_answer("204 No Content"))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # the client closed its keep-alive connection
    finally:
        writer.close()


async def main(count: int) -> None:
    servers = [
        await asyncio.start_server(_serve, "127.0.0.1", 0, backlog=1024) for _ in range(count)
    ]
    ports = [server.sockets[0].getsockname()[1] for server in servers]
    print(orjson.dumps(ports).decode(), flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1])))
