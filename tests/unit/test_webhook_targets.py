"""Where webhooks may go: the address rules hold for every spelling of an address."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuhub._webhook_targets import Target, TargetRefused, addresses, refusal

IPV4 = st.integers(min_value=0, max_value=2**32 - 1).map(ipaddress.IPv4Address)


def ipv6_forms(v4: ipaddress.IPv4Address) -> list[ipaddress.IPv6Address]:
    """The IPv6 addresses that carry ``v4``: IPv4-mapped, NAT64 (well-known prefix) and 6to4."""
    n = int(v4)
    return [
        ipaddress.IPv6Address((0xFFFF << 32) | n),
        ipaddress.IPv6Address((0x0064_FF9B << 96) | n),
        ipaddress.IPv6Address((0x2002 << 112) | (n << 80)),
    ]


@settings(max_examples=300)
@given(IPV4)
def test_ipv6_forms_are_judged_like_their_ipv4_address(v4: ipaddress.IPv4Address) -> None:
    """An IPv6 form of an IPv4 address is refused exactly when the IPv4 address is."""
    refused = refusal(v4, allow_private=False) is not None
    for v6 in ipv6_forms(v4):
        assert (refusal(v6, allow_private=False) is not None) == refused, v6


@settings(max_examples=300)
@given(IPV4)
def test_only_global_unicast_addresses_pass(v4: ipaddress.IPv4Address) -> None:
    """Without allow_private, an IPv4 address passes only if it is global and not multicast."""
    passes = refusal(v4, allow_private=False) is None
    assert passes == (v4.is_global and not v4.is_multicast)


def test_one_private_address_among_public_ones_refuses_the_host() -> None:
    """A name that resolves to a public and a loopback address is refused."""
    target = Target(url="https://hooks.example/", host="hooks.example", port=443, literal=None)
    with pytest.raises(TargetRefused) as refused:
        addresses(target, lambda host, port: ["93.184.215.14", "127.0.0.1"], allow_private=False)
    assert str(refused.value) == "hooks.example resolves to 127.0.0.1, a loopback address"
    assert refused.value.allowable
