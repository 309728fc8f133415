"""ABI decoding that untrusted chain data cannot break.

The contract stores whatever bytes a sender passed as a string (older deployments accepted any
bytes as a model name), so every string read from the chain is decoded as UTF-8 with invalid
bytes replaced (U+FFFD), never strictly: one bad listing must not make every read fail. This is the
one codec gpuhub decodes return data and logs with.

Function encoders and decoders are built once from the ABI (:func:`marketplace`); logs are
decoded by ``events.EventDecoder``, which reads most arguments straight from their words and
leaves the rest to :func:`codec`. Sans-I/O: calldata goes out as hex, return data comes back as
bytes; the sync and the async client share them, so both encode and decode alike.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import encode
from eth_abi.codec import ABICodec
from eth_abi.decoding import StringDecoder
from eth_abi.registry import BaseEquals
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address

from ._artifact import abi


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


def abi_type(arg: dict[str, Any]) -> str:
    """The canonical type of an ABI input or output, tuples spelled out: ``(uint256,string)[]``."""
    kind: str = arg["type"]
    if not kind.startswith("tuple"):
        return kind
    inner = ",".join(abi_type(c) for c in arg["components"])
    return f"({inner}){kind[len('tuple') :]}"


def _checksummed(value: Any, kind: str) -> Any:
    """``value`` with every address in it checksummed (eth_abi decodes them in lower case)."""
    if kind == "address":
        return to_checksum_address(value)
    if kind.endswith("]"):
        inner = kind[: kind.rindex("[")]
        return tuple(_checksummed(v, inner) for v in value)
    if kind.startswith("("):
        return tuple(_checksummed(v, t) for v, t in zip(value, _split(kind[1:-1]), strict=True))
    return value


def _split(types: str) -> list[str]:
    """Split a comma-separated type list at the top level only."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(types):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(types[start:i])
            start = i + 1
    if types:
        parts.append(types[start:])
    return parts


@dataclass(frozen=True, slots=True)
class Function:
    """One contract function: its selector and how to encode arguments and decode results."""

    name: str
    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def calldata(self, args: Sequence[Any]) -> str:
        """0x-prefixed calldata for a call with ``args``."""
        return "0x" + (self.selector + encode(list(self.inputs), list(args))).hex()

    def calldata_bytes(self, args: Sequence[Any]) -> bytes:
        """Calldata as bytes (for ``multicall``)."""
        return self.selector + encode(list(self.inputs), list(args))

    def result(self, data: bytes) -> Any:
        """The decoded return value: one value, or a tuple for several; addresses checksummed."""
        values = _decoded(self.outputs, data)
        return values[0] if len(values) == 1 else values

    def arguments(self, calldata: bytes) -> tuple[Any, ...]:
        """The arguments encoded in ``calldata`` (selector included), addresses checksummed."""
        return _decoded(self.inputs, calldata[4:])


def _decoded(types: tuple[str, ...], data: bytes) -> tuple[Any, ...]:
    values = codec().decode(list(types), data)
    return tuple(_checksummed(v, t) for v, t in zip(values, types, strict=True))


@dataclass(frozen=True, slots=True)
class ContractAbi:
    """Functions by name (logs are decoded by ``events.EventDecoder``)."""

    functions: dict[str, Function]
    #: constructor argument types (empty for a constructor without arguments).
    constructor: tuple[str, ...] = ()

    def function_for(self, calldata: bytes) -> Function | None:
        """The function ``calldata`` calls, by its selector, or None."""
        selector = calldata[:4]
        return next((f for f in self.functions.values() if f.selector == selector), None)

    def deploy_data(self, bytecode: str, args: Sequence[Any]) -> str:
        """Creation code with the constructor's arguments appended, 0x-prefixed."""
        return bytecode + encode(list(self.constructor), list(args)).hex()


@functools.cache
def marketplace() -> ContractAbi:
    """The shipped marketplace ABI, parsed once per process."""
    return parse(abi())


@functools.cache
def packaged(name: str) -> ContractAbi:
    """A packaged contract's ABI (``GPUHubGovernor``, ...), parsed once per process."""
    return parse(abi(name))


def parse(entries: list[dict[str, Any]]) -> ContractAbi:
    """Parse an ABI's functions and constructor into encoders and decoders."""
    functions = {}
    constructor: tuple[str, ...] = ()
    for entry in entries:
        if entry["type"] == "constructor":
            constructor = tuple(abi_type(a) for a in entry["inputs"])
        elif entry["type"] == "function":
            inputs = tuple(abi_type(a) for a in entry["inputs"])
            signature = f"{entry['name']}({','.join(inputs)})"
            functions[entry["name"]] = Function(
                entry["name"],
                function_signature_to_4byte_selector(signature),
                inputs,
                tuple(abi_type(a) for a in entry["outputs"]),
            )
    return ContractAbi(functions, constructor)
