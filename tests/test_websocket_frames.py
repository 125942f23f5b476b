"""Text frames written straight to uvicorn's WebSocket connections (server/websocket_frames.py).

Against the installed uvicorn, over real loopback connections: if an upgrade
changes what the writer relies on, these fail rather than every live event
quietly taking the slower way.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import uvicorn
from websockets.asyncio.client import connect
from websockets.frames import Frame, Opcode

from server.websocket_frames import FrameWriter, text_frame
from tests.test_serve_process import free_port


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70000])
def test_a_frame_is_what_websockets_would_write(size: int) -> None:
    text = ("é" * size)[:size]  # two bytes each: lengths on both sides of each boundary
    expected = Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])
    assert text_frame(text) == expected


# What the app below saw: whether it had a writer, and whether writing with it worked.
Seen = dict[str, Any]


class _Server(uvicorn.Server):
    """uvicorn's server in this process, saying when it listens."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = asyncio.Event()

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        self.listening.set()


@contextlib.asynccontextmanager
async def serving(app: Callable[..., Any], **settings: Any) -> AsyncIterator[str]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **settings)
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    await asyncio.wait_for(server.listening.wait(), 30)
    try:
        yield f"ws://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        await task


def writing_app(seen: Seen) -> Callable[..., Any]:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        writer = FrameWriter.of(send)
        seen["writer"] = writer is not None
        seen["written"] = writer is not None and writer.write_text("straight")
        if not seen["written"]:
            await send({"type": "websocket.send", "text": "through ASGI"})
        await receive()  # the client closing

    return app


async def test_uvicorn_connections_are_written_to_straight() -> None:
    seen: Seen = {}
    async with (
        serving(writing_app(seen), ws="websockets-sansio") as url,
        connect(url, compression=None) as ws,
    ):
        assert await ws.recv() == "straight"
    assert seen == {"writer": True, "written": True}


async def test_a_compressed_connection_goes_through_asgi() -> None:
    seen: Seen = {}
    async with (
        serving(writing_app(seen), ws="websockets-sansio") as url,
        connect(url, compression="deflate") as ws,
    ):
        assert await ws.recv() == "through ASGI"
    assert seen == {"writer": True, "written": False}


def test_a_send_that_is_not_uvicorns_has_no_writer() -> None:
    """Another server, or a test's in-process ASGI client: messages go through ASGI."""

    async def send(message: dict[str, Any]) -> None:
        return None

    assert FrameWriter.of(send) is None
