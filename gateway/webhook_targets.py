"""Where outgoing webhooks may go. An organization's admin chooses the URL, so without a
check the gateway would POST wherever an admin points it: its own Redis on loopback, a
cloud metadata service on a link-local address, anything on the private network. A target
is refused when its host is, or resolves to, a loopback, link-local, private, unspecified,
multicast or otherwise non-public address. The check runs when an endpoint is registered
and again on every attempt, where `GuardedResolver` checks the very addresses the
connection will use, so a DNS answer that changes after registration cannot smuggle an
internal address in. `SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE=true` turns the check off for
an on-premises integration."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from gateway.errors import BadInput

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.ip_network("64:ff9b::/96")
RESOLVE_TIMEOUT_SECONDS = 5
ALLOW_HINT = (
    " The operator can allow internal targets for an on-premises integration with "
    "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE=true."
)


class TargetRefused(BadInput):
    """The URL's host is, or resolves to, an address webhooks may not reach."""

    code = "webhook_target_refused"


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), which is what the
    packets finally reach."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: Address) -> str | None:
    """Why webhooks may not go to `address`, in words an admin understands, or None."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return refusal(embedded)
    if address.is_unspecified:
        return "the unspecified address, which reaches this server itself"
    if address.is_loopback:
        return "a loopback address of this server"
    if address.is_link_local:
        return "a link-local address (where cloud metadata services live)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private network address"
    if not address.is_global:
        return "a reserved address that is not on the public internet"
    return None


def _check(host: str, address: Address) -> None:
    reason = refusal(address)
    if reason is not None:
        shown = host if host == str(address) else f"{host} ({address})"
        raise TargetRefused(f"Webhooks may not go to {shown}: it is {reason}." + ALLOW_HINT)


def _literal(host: str) -> Address | None:
    """The address a numeric host names, or None for a name. Legacy numeric forms
    (2130706433, 0177.0.0.1, 127.1) are refused outright: resolvers read them as addresses
    that the text does not show."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        packed = socket.inet_aton(host)
    except OSError:
        return None
    raise TargetRefused(
        f"Write the address {host} as four decimal numbers "
        f"({ipaddress.IPv4Address(packed)}), or use a host name."
    )


def host_and_port(url: str) -> tuple[str, int]:
    parsed = urlsplit(url)
    host = parsed.hostname or ""
    return host, parsed.port or (443 if parsed.scheme == "https" else 80)


async def check_target(
    url: str, *, allow_private: bool, resolver: AbstractResolver | None = None
) -> None:
    """Refuse (TargetRefused, a 400) a URL whose host is or resolves to an internal
    address, and (BadInput) one whose host cannot be found."""
    host, port = host_and_port(url)
    literal = _literal(host)
    if allow_private:
        return
    if literal is not None:
        _check(host, literal)
        return
    owned = resolver is None
    resolver = resolver or ThreadedResolver()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            found = await resolver.resolve(host, port, socket.AF_UNSPEC)
    except (OSError, TimeoutError):
        raise BadInput(
            f"The host {host} could not be found; check the webhook URL.", code="bad_url"
        ) from None
    finally:
        if owned:
            await resolver.close()
    for result in found:
        _check(host, ipaddress.ip_address(result["host"]))


class GuardedResolver(AbstractResolver):
    """The resolver an attempt connects through: it refuses (TargetRefused, which aiohttp
    lets through unwrapped) any answer holding an internal address, so the addresses
    checked are the addresses used."""

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self.inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self.inner.resolve(host, port, family)
        for result in found:
            _check(host, ipaddress.ip_address(result["host"]))
        return found

    async def close(self) -> None:
        await self.inner.close()
