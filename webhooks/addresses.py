"""The SSRF guard: which addresses a webhook may be sent to."""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_METADATA = ipaddress.ip_address("169.254.169.254")


class BlockedDestination(Exception):
    """A webhook URL or the address it resolves to is not allowed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _ipv4_reason(ip: ipaddress.IPv4Address) -> str | None:
    if ip == _METADATA:
        return f"link-local (cloud metadata) address {ip}"
    for label, test in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("CGNAT", ip in _CGNAT),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
    ):
        if test:
            return f"{label} address {ip}"
    return None if ip.is_global else f"non-public address {ip}"


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """An IPv4 address carried inside an IPv6 one, and the form carrying it."""
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", ip.ipv4_mapped
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    if ip.teredo is not None:
        return "Teredo", ip.teredo[1]
    if any(ip in net for net in _NAT64):
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) >> 32 == 0 and int(ip) > 1:
        return "IPv4-compatible", ipaddress.IPv4Address(int(ip))
    return None


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why sending to `ip` is refused, or None when it is a public address."""
    if isinstance(ip, ipaddress.IPv4Address):
        return _ipv4_reason(ip)
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        form, inner = embedded
        reason = _ipv4_reason(inner)
        return f"{form} IPv6 address {ip} embeds {reason}" if reason else None
    for label, test in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("site-local", ip.is_site_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if test:
            return f"{label} address {ip}"
    return None if ip.is_global else f"non-public address {ip}"


def check_url(url: str, *, allow_private: bool) -> tuple[str, str, int]:
    """Checks that need no DNS: scheme, host, port, IP literals. Returns (scheme, host, port)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise BlockedDestination(f"not a valid URL: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise BlockedDestination("scheme must be http or https")
    if parts.username is not None or parts.password is not None:
        raise BlockedDestination("credentials in the URL are not allowed")
    host = parts.hostname
    if not host:
        raise BlockedDestination("the URL has no host")
    if not allow_private:
        literal = _literal(host)
        reason = forbidden_reason(literal) if literal is not None else None
        if reason is not None:
            raise BlockedDestination(reason)
    return scheme, host, port or (443 if scheme == "https" else 80)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise BlockedDestination(f"cannot resolve {host}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def resolve_destination(
    host: str, port: int, *, allow_private: bool, resolver: Resolver = system_resolver
) -> IPAddress:
    """Resolve once; return the address to connect to (every address must be public)."""
    literal = _literal(host)
    addresses = (
        [literal]
        if literal is not None
        else [ipaddress.ip_address(a.split("%")[0]) for a in await resolver(host, port)]
    )
    if not addresses:
        raise BlockedDestination(f"cannot resolve {host}")
    if not allow_private:
        for address in addresses:
            reason = forbidden_reason(address)
            if reason is not None:
                raise BlockedDestination(f"{host} resolves to {reason}")
    return addresses[0]
