"""Sending one attempt: POST through the SSRF guard, never following redirects."""

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

import httpx

from storage.clock import utcnow
from webhooks.addresses import BlockedDestination, Resolver, system_resolver
from webhooks.transport import PinnedTransport

RESPONSE_BODY_LIMIT = 2048
_SECONDS = re.compile(r"[0-9]{1,10}")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt got back; `response_body` is for the delivery log only."""

    status_code: int | None
    duration_ms: float
    error: str | None
    response_body: str | None
    retry_after_seconds: float | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    # ASCII digits only: `isdigit` also takes '³', which `float` then rejects.
    if _SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:  # "-0000" says UTC without naming a zone (RFC 5322)
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - utcnow()).total_seconds())
    except (TypeError, ValueError, OverflowError):
        return None


class Sender:
    """httpx transports whose every connection goes to a checked, pinned address.

    Requests go straight to an `httpx.AsyncHTTPTransport` (through the SSRF
    guard), one per origin: httpx's client layer (redirects, cookies, auth
    hooks) is not needed here and cost ~15% of the CPU of a send, and httpcore
    walks every pooled connection of a pool on each request (a readability
    syscall each), so one shared pool of hundreds cost more than the sends.
    """

    def __init__(
        self,
        *,
        allow_private_networks: bool,
        timeout_seconds: float,
        resolver: Resolver = system_resolver,
        connections_per_origin: int = 8,
    ) -> None:
        self._timeout = timeout_seconds
        self._allow_private = allow_private_networks
        self._resolver = resolver
        self._connections = connections_per_origin
        self._transports: dict[tuple[str, str, int | None], PinnedTransport] = {}

    def _transport_for(self, url: httpx.URL) -> PinnedTransport:
        origin = (url.scheme, url.host, url.port)
        transport = self._transports.get(origin)
        if transport is None:
            transport = PinnedTransport(
                allow_private=self._allow_private,
                resolver=self._resolver,
                limits=httpx.Limits(
                    max_connections=self._connections,
                    max_keepalive_connections=self._connections,
                ),
            )
            self._transports[origin] = transport
        return transport

    async def post(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str],
        on_sending: Callable[[], None] | None = None,
    ) -> Outcome:
        """POST `body`; `on_sending()` is called when the request starts to go out.

        Until then the endpoint cannot have received anything (the address is
        being checked, a connection is awaited or opened), which tells a
        dispatcher stopped mid-attempt whether it may have been delivered.
        """
        started = time.perf_counter()
        extensions = {"trace": _sending_trace(on_sending)} if on_sending is not None else None
        status: int | None = None
        received = bytearray()
        retry: float | None = None
        error: str | None = None
        try:
            # The whole attempt, not each network phase, is bounded by the timeout.
            async with asyncio.timeout(self._timeout):
                request = httpx.Request(
                    "POST", url, content=body, headers=headers, extensions=extensions
                )
                response = await self._transport_for(request.url).handle_async_request(request)
                try:
                    status = response.status_code
                    retry = retry_after(response.headers.get("retry-after"))
                    async for chunk in response.aiter_raw():
                        received += chunk
                        if len(received) >= RESPONSE_BODY_LIMIT:
                            break
                finally:
                    await response.aclose()
        except TimeoutError:
            error = f"timed out after {self._timeout:g} s"
        except BlockedDestination as blocked:
            error = f"blocked: {blocked.reason}"
        except httpx.HTTPError as failure:
            error = (
                f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__
            )
        if error is None and status is not None and not 200 <= status < 300:
            error = f"HTTP {status}" + (
                " (redirects are not followed)" if 300 <= status < 400 else ""
            )
        duration_ms = (time.perf_counter() - started) * 1000
        text = bytes(received[:RESPONSE_BODY_LIMIT]).decode("utf-8", "replace") if status else None
        return Outcome(status, duration_ms, error, text, retry)

    async def aclose(self) -> None:
        for transport in list(self._transports.values()):
            await transport.aclose()
        self._transports.clear()


def _sending_trace(
    on_sending: Callable[[], None],
) -> Callable[[str, dict[str, object]], Awaitable[None]]:
    """An httpcore trace callback that calls `on_sending` as the request headers go out."""

    async def trace(event: str, info: dict[str, object]) -> None:
        if event.endswith("send_request_headers.started"):
            on_sending()

    return trace
