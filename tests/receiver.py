"""A real HTTP/1.1 server on loopback that plays a webhook endpoint.

Each path answers from a script (a list of replies, the last one repeating),
so a test can say "500 twice, then 200" or "hang". Every request is recorded.
"""

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Self


@dataclass(frozen=True, slots=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: tuple[tuple[str, str], ...] = ()
    hang: bool = False  # never answer
    delay: float = 0.0  # seconds before answering


@dataclass(frozen=True, slots=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic()


_REASONS = {200: "OK", 204: "No Content", 410: "Gone", 500: "Internal Server Error"}


@dataclass
class Receiver:
    host: str = "127.0.0.1"
    port: int = 0
    scripts: dict[str, list[Reply]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    # The most requests a path had open at once (arrived, not yet answered).
    most_concurrent: dict[str, int] = field(default_factory=dict)
    _open: dict[str, int] = field(default_factory=dict)
    _server: asyncio.Server | None = None
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    _hung: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str = "/hook") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def script(self, path: str, *replies: Reply) -> str:
        """Answer requests to `path` with `replies` in turn (the last one repeats)."""
        self.scripts[path] = list(replies)
        return self.url(path)

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def wait_for(
        self, condition: Callable[[list[Received]], bool], deadline: float = 15.0
    ) -> list[Received]:
        """Wait until `condition(received)` holds; fail the test after `deadline` s."""
        async with asyncio.timeout(deadline), self._arrived:
            await self._arrived.wait_for(lambda: condition(self.received))
        return self.received

    async def start(self, tls: ssl.SSLContext | None = None) -> Self:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, ssl=tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self._hung.set()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await self._server.wait_closed()

    def _reply_for(self, path: str) -> Reply:
        replies = self.scripts.get(path, [Reply()])
        return replies.pop(0) if len(replies) > 1 else replies[0]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                _, path, _ = lines[0].split(" ", 2)
                headers = {
                    k.strip().lower(): v.strip()
                    for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                async with self._arrived:
                    self.received.append(Received(path, headers, body, time.monotonic()))
                    self._arrived.notify_all()
                reply = self._reply_for(path)
                self._open[path] = self._open.get(path, 0) + 1
                self.most_concurrent[path] = max(
                    self.most_concurrent.get(path, 0), self._open[path]
                )
                try:
                    if reply.hang:
                        await self._hung.wait()
                        return
                    if reply.delay:
                        await asyncio.sleep(reply.delay)
                finally:
                    self._open[path] -= 1
                extra = "".join(f"{k}: {v}\r\n" for k, v in reply.headers)
                reason = _REASONS.get(reply.status, "Status")
                writer.write(
                    f"HTTP/1.1 {reply.status} {reason}\r\ncontent-length: {len(reply.body)}\r\n"
                    f"{extra}\r\n".encode()
                    + reply.body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    receiver = await Receiver().start()
    try:
        yield receiver
    finally:
        await receiver.stop()
