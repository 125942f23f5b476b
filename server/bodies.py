"""Reading a request body without ever holding more than a limit of it."""

import re

from starlette.requests import Request

_CONTENT_LENGTH = re.compile(r"[0-9]{1,20}")


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The body, read only while it stays within `limit` bytes (BodyTooLarge otherwise).

    A body is refused by its Content-Length when that is too large, and a
    streamed one stops being read at the limit.
    """
    declared = request.headers.get("content-length")
    if declared is not None and (not _CONTENT_LENGTH.fullmatch(declared) or int(declared) > limit):
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)
