"""A webhook endpoint for benchmarks, in its own process (so it never shares a GIL).

`python -m bench.webhook_receiver PORT` answers every POST with 204 and
remembers, per request: path, webhook-id, the event's (model, version) and the
CLOCK_MONOTONIC time it arrived (comparable across processes of one machine).
`GET /__count` says how many arrived; `GET /__receipts` returns them all.
"""

import asyncio
import sys
import time

import orjson
import uvloop

Receipt = tuple[str, str, str | None, int | None, int]
receipts: list[Receipt] = []


def _key(body: bytes) -> tuple[str | None, int | None]:
    try:
        version = orjson.loads(body)["data"]["modelVersion"]
        return version["modelName"], version["version"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None, None


def _answer(status: str, body: bytes = b"") -> bytes:
    return f"HTTP/1.1 {status}\r\ncontent-length: {len(body)}\r\n\r\n".encode() + body


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            arrived = time.monotonic_ns()
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {
                k.strip().lower(): v.strip()
                for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            if method == "GET" and path == "/__count":
                writer.write(_answer("200 OK", str(len(receipts)).encode()))
            elif method == "GET" and path == "/__receipts":
                writer.write(_answer("200 OK", orjson.dumps(receipts)))
            else:
                model, version = _key(body)
                receipts.append((path, headers.get("webhook-id", ""), model, version, arrived))
                writer.write(_answer("204 No Content"))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(_serve, "127.0.0.1", port, backlog=1024)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1])))
