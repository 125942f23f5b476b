"""Writing a WebSocket text message straight to its connection's socket.

A live event goes to every subscription at once, from one loop
(resolvers/live/hub.py). Through ASGI each of those writes is starlette's
`send`, uvicorn's `send` and websockets' framing before the socket's
`write()`: those layers were ~12% of a fan-out's CPU (bench.live, 500
subscriptions: 31.6 -> 27.9 us per subscriber). On a connection served by
uvicorn's websockets-sansio protocol (what `modelreg serve` runs with the
`websockets` package installed), in the plain case (handshake done, no
close sent, no extension negotiated: permessage-deflate is off unless
MODELREG_LIVE_COMPRESSION, the transport not paused) the frame is built here
and written: the bytes those layers would write, since for one whole text
frame from a server they keep no state. Anything else (another server,
another protocol implementation, compression, a full buffer, a closing
connection) says so and the message goes through ASGI.
"""

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

# The scope key under which a connection's FrameWriter (or None) travels to the handler.
SCOPE_KEY = "modelreg.frame_writer"

# RFC 6455 5.2: FIN and the text opcode; a server's frames are not masked.
_FIN_TEXT = 0x81
_LENGTH_16 = 126
_LENGTH_64 = 127


def text_frame(text: str) -> bytes:
    """One unfragmented, unmasked text frame carrying `text`."""
    payload = text.encode()
    size = len(payload)
    if size < _LENGTH_16:
        header = bytes((_FIN_TEXT, size))
    elif size < 1 << 16:
        header = bytes((_FIN_TEXT, _LENGTH_16)) + size.to_bytes(2, "big")
    else:
        header = bytes((_FIN_TEXT, _LENGTH_64)) + size.to_bytes(8, "big")
    return header + payload


class FrameWriter:
    """Writes whole text frames to one uvicorn WebSocket connection, when that is all it takes."""

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    @classmethod
    def of(cls, send: Any) -> "FrameWriter | None":
        """The writer of the connection whose ASGI `send` this is (None: not one we know)."""
        protocol = getattr(send, "__self__", None)
        return cls(protocol) if isinstance(protocol, WebSocketsSansIOProtocol) else None

    def write_text(self, text: str) -> bool:
        """Write `text` as one frame now; False (nothing written) unless it is the plain case."""
        protocol = self._protocol
        if (
            not protocol.handshake_complete
            or protocol.initial_response is not None
            or protocol.close_sent
            or protocol.disconnected
            or not protocol.writable.is_set()
            or protocol.conn.state is not State.OPEN
            or protocol.conn.extensions
            or protocol.transport.is_closing()
        ):
            return False
        protocol.transport.write(text_frame(text))
        return True
