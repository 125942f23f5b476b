"""An httpx transport that connects only to the address the SSRF guard checked."""

import time
from typing import Any

import httpx

from webhooks.addresses import (
    IPAddress,
    Resolver,
    check_url,
    resolve_destination,
    system_resolver,
)

_CACHE_SECONDS = 30.0


class PinnedTransport(httpx.AsyncBaseTransport):
    """Resolve once, check, and connect to that IP (so DNS rebinding cannot slip through).

    The request keeps its Host header, and for https the original name is used
    for SNI and certificate verification.
    """

    def __init__(
        self, *, allow_private: bool, resolver: Resolver = system_resolver, **transport_kwargs: Any
    ) -> None:
        self._allow_private = allow_private
        self._resolver = resolver
        self._inner = httpx.AsyncHTTPTransport(**transport_kwargs)
        self._resolved: dict[tuple[str, int], tuple[float, IPAddress]] = {}

    async def _address(self, host: str, port: int) -> IPAddress:
        key = (host, port)
        cached = self._resolved.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        address = await resolve_destination(
            host, port, allow_private=self._allow_private, resolver=self._resolver
        )
        self._resolved[key] = (time.monotonic() + _CACHE_SECONDS, address)
        return address

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        scheme, host, port = check_url(str(request.url), allow_private=self._allow_private)
        address = await self._address(host, port)
        pinned = str(address) if address.version == 4 else f"[{address}]"
        request.url = request.url.copy_with(host=pinned)
        if scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": host}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
