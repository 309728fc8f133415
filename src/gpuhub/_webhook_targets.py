"""Where webhooks may go: the rules for an endpoint's URL and for the addresses it reaches.

A webhook server sends requests to URLs that someone else typed, so it can be pointed at what
only it can reach: ``http://127.0.0.1:22/``, a cloud's metadata service at
``169.254.169.254``, a database on the private network. Unless the operator allows private
targets, deliveries go only to public unicast addresses. The host is resolved and every address
it resolves to is checked, however the address is spelled (``2130706433``, ``0x7f000001``,
``[::ffff:127.0.0.1]``, NAT64 and 6to4 forms).

A name that resolved to a public address at registration can resolve to ``127.0.0.1`` later
(DNS rebinding), so the check runs again at every delivery, and the connection is made to the
very addresses that were checked (``_webhook_http``), never to a second lookup.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .exceptions import ValidationError

#: a host and port -> the IP addresses to connect to (``socket.getaddrinfo`` by default).
Resolver = Callable[[str, int], Sequence[str]]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048

#: IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64, RFC 6052 and 8215).
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))

ALLOW_HINT = (
    "; deliveries to private networks need Outbox(allow_private=True) "
    "(gpuhub serve --allow-private-webhooks)"
)


class TargetError(Exception):
    """A delivery that cannot be made to this host now; ``str()`` says why."""


class TargetRefused(TargetError):
    """The host is, or resolves to, an address deliveries may not reach."""

    def __init__(self, reason: str, *, allowable: bool) -> None:
        super().__init__(reason)
        #: True when allowing private targets would lift the refusal.
        self.allowable = allowable


class TargetUnresolvable(TargetError):
    """The host name does not resolve."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked endpoint URL, split into what a delivery needs."""

    url: str
    #: the host as it goes to DNS (lowercase, no brackets around IPv6).
    host: str
    port: int
    #: the address when the host is an IP literal, else None.
    literal: IPAddress | None


def parse_target(url: object) -> Target:
    """Check an endpoint URL's syntax: http(s), a host, a valid port, nothing that cannot be sent.

    Raises:
        ValidationError: on ``url``, saying what is wrong.
    """
    if not isinstance(url, str):
        raise ValidationError("url", "must be a string")
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError("url", f"must be at most {MAX_URL_LENGTH} characters")
    if " " in url:
        raise ValidationError("url", "must not contain a space (percent-encode it as %20)")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise ValidationError("url", "must not contain control characters")
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as err:
        raise ValidationError("url", f"is not a valid URL ({err})") from None
    if parts.scheme not in ("http", "https"):
        raise ValidationError("url", "must be an http:// or https:// URL")
    if not parts.hostname:
        raise ValidationError("url", "must name a host, as in https://example.com/hooks")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ValidationError("url", "the port must be a number from 1 to 65535")
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            "url",
            "must not carry a user name or password (receivers authenticate deliveries by "
            "their signature)",
        )
    host = parts.hostname
    literal = _ip_literal(host)
    if literal is None:
        if _numeric_ipv4(host):
            raise ValidationError(
                "url", f"write the IPv4 address {host} as four decimal numbers, like 192.0.2.1"
            )
        if not host.isascii():
            raise ValidationError(
                "url", "write an international host name in its ASCII form (xn--...)"
            )
    default = 443 if parts.scheme == "https" else 80
    return Target(url=url, host=host, port=port or default, literal=literal)


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _numeric_ipv4(host: str) -> bool:
    """True for the legacy spellings of IPv4 that resolvers accept (``127.1``, ``0x7f000001``,
    ``2130706433``, ``0177.0.0.1``) and that no host name can be."""
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True


def refusal(address: IPAddress, *, allow_private: bool) -> tuple[str, bool] | None:
    """What ``address`` is if deliveries may not go to it (``"a loopback address"``), and
    whether allowing private targets would lift the refusal; None if they may go there.

    Multicast, unspecified and reserved addresses are always refused (no receiver lives there);
    loopback, link-local, private and other non-public addresses unless ``allow_private``. An
    IPv6 address that carries an IPv4 address (IPv4-mapped, NAT64, 6to4, Teredo) is judged by
    the IPv4 address too.
    """
    embedded = _embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    if embedded is not None:
        inner = refusal(embedded, allow_private=allow_private)
        return None if inner is None else (f"an IPv6 form of {embedded}, {inner[0]}", inner[1])
    for kind, matches, allowable in (
        ("an unspecified address", address.is_unspecified, False),
        ("a loopback address", address.is_loopback, True),
        ("a multicast address", address.is_multicast, False),
        ("a reserved address", address.is_reserved, False),
        ("a link-local address", address.is_link_local, True),
        ("a private address", address.is_private, True),
        ("not a public address", not address.is_global, True),
    ):
        if matches:
            return None if allowable and allow_private else (kind, allowable)
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if any(address in prefix for prefix in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to for a TCP connection (``socket.getaddrinfo``)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def addresses(target: Target, resolver: Resolver, *, allow_private: bool) -> list[str]:
    """The addresses a delivery to ``target`` may connect to: all it resolves to, each checked.

    Blocks while resolving (run it off an event loop).

    Raises:
        TargetUnresolvable: the name does not resolve.
        TargetRefused: one of its addresses may not be reached (one is enough: a name that
            resolves to a public and a private address could be connected to either).
    """
    if target.literal is not None:
        found = [target.literal]
    else:
        try:
            found = [ipaddress.ip_address(a) for a in resolver(target.host, target.port)]
        except (OSError, UnicodeError) as err:
            raise TargetUnresolvable(f"{target.host} does not resolve ({err})") from None
        if not found:
            raise TargetUnresolvable(f"{target.host} does not resolve")
    for address in found:
        refused = refusal(address, allow_private=allow_private)
        if refused is not None:
            kind, allowable = refused
            if target.literal is not None:
                raise TargetRefused(f"{address} is {kind}", allowable=allowable)
            raise TargetRefused(f"{target.host} resolves to {address}, {kind}", allowable=allowable)
    return [str(a) for a in found]
