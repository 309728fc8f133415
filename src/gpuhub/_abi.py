"""ABI decoding that untrusted chain data cannot break.

The contract stores whatever bytes a sender passed as a string (older deployments accepted any
bytes as a model name), so every string read from the chain is decoded as UTF-8 with invalid
bytes replaced (U+FFFD), never strictly: one bad listing must not make every read fail. This is the
one codec gpuhub decodes return data and logs with.
"""

from __future__ import annotations

import functools
from typing import Any

from eth_abi.codec import ABICodec
from eth_abi.decoding import StringDecoder
from eth_abi.registry import BaseEquals

from ._errors import from_abi_value


class _LenientStringDecoder(StringDecoder):
    def __init__(self) -> None:
        super().__init__(handle_string_errors="replace")  # type: ignore[no-untyped-call]

    @classmethod
    def from_type_str(cls, abi_type: str, registry: Any) -> _LenientStringDecoder:
        return cls()


@functools.cache
def codec() -> ABICodec:
    """web3's strict ABI codec, except that strings decode with invalid UTF-8 replaced."""
    from eth_abi import encoding
    from web3._utils.abi import build_strict_registry

    registry = build_strict_registry()
    registry.unregister("string")
    registry.register(
        BaseEquals("string"),  # type: ignore[no-untyped-call]
        encoding.TextStringEncoder,
        _LenientStringDecoder,
        label="string",
    )
    return ABICodec(registry)


def decode_log(entry: dict[str, Any], topics: list[bytes], data: bytes) -> dict[str, Any]:
    """The arguments of one log of the event ``entry`` (its ABI entry), by name."""
    indexed = [arg for arg in entry["inputs"] if arg.get("indexed")]
    plain = [arg for arg in entry["inputs"] if not arg.get("indexed")]
    decoded: dict[str, Any] = {}
    abi_codec = codec()
    for arg, topic in zip(indexed, topics[1:], strict=True):
        (decoded[arg["name"]],) = abi_codec.decode([arg["type"]], topic)
    values = abi_codec.decode([arg["type"] for arg in plain], data)
    decoded.update(zip((arg["name"] for arg in plain), values, strict=True))
    return {
        arg["name"]: from_abi_value(decoded[arg["name"]], arg["type"], arg.get("internalType", ""))
        for arg in entry["inputs"]
    }
