"""The SSRF guard: every blocked address class, schemes, DNS rebinding, the pinned connection."""

import asyncio
import ipaddress

import httpx
import pytest

from tests.receiver import Receiver
from webhooks.addresses import (
    BlockedDestination,
    Resolver,
    check_url,
    forbidden_reason,
    resolve_destination,
)
from webhooks.transport import PinnedTransport

BLOCKED = {
    "0.0.0.0": "unspecified",  # noqa: S104 (an address to refuse, not to bind)
    "127.0.0.1": "loopback",
    "127.8.9.10": "loopback",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "192.168.1.1": "private",
    "169.254.169.254": "cloud metadata",
    "169.254.1.1": "link-local",
    "100.64.0.1": "CGNAT",
    "224.0.0.1": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "",
    "192.0.2.1": "",  # documentation
    "198.18.0.1": "",  # benchmarking
    "::": "unspecified",
    "::1": "loopback",
    "fc00::1": "private",
    "fe80::1": "link-local",
    "fec0::1": "site-local",
    "ff02::1": "multicast",
    "::ffff:127.0.0.1": "IPv4-mapped",
    "::ffff:169.254.169.254": "IPv4-mapped",
    "::ffff:10.0.0.1": "IPv4-mapped",
    "2002:7f00:1::1": "6to4",
    "2002:a9fe:a9fe::1": "6to4",
    "64:ff9b::7f00:1": "NAT64",
    "64:ff9b::a9fe:a9fe": "NAT64",
    "2001:0:4136:e378:8000:63bf:80ff:fffe": "Teredo",  # Teredo client 127.0.0.1
}
PUBLIC = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:93.184.216.34"]


def _url(address: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:8080/hook"


@pytest.mark.parametrize(("address", "label"), BLOCKED.items())
def test_every_blocked_class_is_refused(address: str, label: str) -> None:
    reason = forbidden_reason(ipaddress.ip_address(address))
    assert reason is not None
    assert label in reason
    with pytest.raises(BlockedDestination):
        check_url(_url(address), allow_private=False)
    assert check_url(_url(address), allow_private=True)[2] == 8080


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is None
    check_url(_url(address), allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://93.184.216.34/x",
        "file:///etc/passwd",
        "gopher://93.184.216.34:70/_x",
        "javascript:alert(1)",
        "http:///nohost",
        "http://user:secret@93.184.216.34/",
        "http://93.184.216.34:99999/",
    ],
)
def test_other_urls_are_refused_even_on_private_networks(url: str) -> None:
    with pytest.raises(BlockedDestination):
        check_url(url, allow_private=True)


def test_default_ports() -> None:
    assert check_url("https://93.184.216.34/x", allow_private=False) == (
        "https",
        "93.184.216.34",
        443,
    )
    assert check_url("HTTP://93.184.216.34/x", allow_private=False)[2] == 80


async def test_a_name_resolving_to_loopback_is_refused() -> None:
    with pytest.raises(BlockedDestination, match="localhost resolves to loopback"):
        await resolve_destination("localhost", 80, allow_private=False)


def _resolver(*answers: list[str]) -> tuple[list[int], Resolver]:
    calls = [0]

    async def resolve(host: str, port: int) -> list[str]:
        calls[0] += 1
        return answers[min(calls[0], len(answers)) - 1]

    return calls, resolve


async def test_one_private_answer_among_public_ones_is_refused() -> None:
    _, resolve = _resolver(["93.184.216.34", "10.0.0.7"])
    with pytest.raises(BlockedDestination, match=r"10\.0\.0\.7"):
        await resolve_destination("evil.example", 80, allow_private=False, resolver=resolve)


async def test_rebinding_cannot_reach_a_private_address(receiver: Receiver) -> None:
    """A name that is public when checked and loopback when connecting never connects.

    The transport resolves once per request and connects to the address it
    checked; here the (fake: no DNS server runs in tests) resolver flips to
    127.0.0.1 on the next lookup, and that lookup is refused before any connection.
    """
    calls, resolve = _resolver(["93.184.216.34"], ["127.0.0.1"])
    transport = PinnedTransport(allow_private=False, resolver=resolve)
    # First lookup: public, so a connection to 93.184.216.34 would be tried;
    # we only check the address it pinned.
    pinned = await transport._address("rebind.example", receiver.port)
    assert str(pinned) == "93.184.216.34"
    transport._resolved.clear()
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(BlockedDestination, match=r"127\.0\.0\.1"):
            await client.post(f"http://rebind.example:{receiver.port}/hook", content=b"{}")
    assert calls[0] == 2
    assert receiver.received == []


async def test_the_transport_connects_to_the_checked_address_with_the_real_host(
    receiver: Receiver,
) -> None:
    transport = PinnedTransport(allow_private=True)
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.post(f"http://localhost:{receiver.port}/hook", content=b"{}")
    assert response.status_code == 200
    (got,) = receiver.received
    assert got.headers["host"] == f"localhost:{receiver.port}"

    strict = PinnedTransport(allow_private=False)
    async with httpx.AsyncClient(transport=strict) as client:
        with pytest.raises(BlockedDestination):
            await client.post(f"http://localhost:{receiver.port}/hook", content=b"{}")
    await asyncio.sleep(0)
    assert len(receiver.received) == 1
