"""JSON nesting, measured before a parser sees it.

Importing web3's dependencies (py_ecc) raises Python's recursion limit to 100,000, so the C JSON
parser overflows the C stack (a segmentation fault that kills the process) on a body nested a
few tens of thousands deep, long before it would raise RecursionError. Every JSON that comes
from outside (request bodies in ``api``, node answers in the clients) is measured here first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

#: deepest node answer accepted: a receipt's log topics nest four deep, a batch adds one.
MAX_ANSWER_DEPTH = 64

_QUOTE = ord('"')
_BACKSLASH = ord("\\")
_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")


def json_depth(body: bytes, *, limit: int | None = None) -> int:
    """How deeply ``body``'s arrays and objects nest (brackets inside strings do not count).

    One pass, each byte looked at once: linear time for any input, valid JSON or not (the rest
    of a body after an unclosed string is inside that string). With ``limit``, stops as soon
    as the depth passes it and returns ``limit + 1``.
    """
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPEN:
            depth += 1
            if depth > deepest:
                deepest = depth
                if limit is not None and deepest > limit:
                    return limit + 1
        elif byte in _CLOSE:
            depth -= 1
    return deepest


_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_STRUCTURE = bytes(range(256)).translate(None, b'"[]{}')


def structure(body: bytes) -> bytes:
    """``body`` with every escape pair and every byte but ``"[]{}`` taken out: the same depth for
    :func:`json_depth` on valid JSON, often a hundredth of its length (a node's hex strings
    vanish). Each step is one linear pass in C (the pattern is two fixed bytes: nothing to
    backtrack), so large answers cost milliseconds."""
    return _ESCAPE.sub(b"", body).translate(None, _STRUCTURE)


def bound_answers(provider: Any) -> None:
    """Have a web3 ``provider`` measure each answer's nesting before parsing it: a node answering
    ``[[[[...`` a hundred thousand deep would otherwise crash this process. HTTP and IPC
    providers decode through ``decode_rpc_response``; web3's WebSocket provider parses each
    message in its ``socket_recv``, which gets the same check."""
    decode = getattr(provider, "decode_rpc_response", None)
    if decode is not None and not getattr(decode, "bounded", False):
        provider.decode_rpc_response = bounded_decoder(decode)
    _bound_websocket(provider)


def _bound_websocket(provider: Any) -> None:
    """web3's ``WebSocketProvider.socket_recv`` (``json.loads`` of the next message), measured
    first. A subclass with a ``socket_recv`` of its own is left as it is."""
    if getattr(type(provider), "socket_recv", None) is None:
        return  # not a persistent connection: nothing to import
    try:
        from web3.providers.persistent.websocket import WebSocketProvider
    except ImportError:  # pragma: no cover - web3 without its WebSocket provider
        return
    if (
        not isinstance(provider, WebSocketProvider)
        or type(provider).socket_recv is not WebSocketProvider.socket_recv
        or "socket_recv" in vars(provider)
    ):
        return
    check = bounded_decoder(json.loads)

    async def socket_recv() -> Any:
        return check(await provider._ws.recv())

    provider.socket_recv = socket_recv


def bounded_decoder(decode: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    """``decode`` (a provider's ``decode_rpc_response``), refusing answers nested deeper than
    :data:`MAX_ANSWER_DEPTH` with :class:`~gpuhub.exceptions.MalformedResponse`."""
    from .exceptions import MalformedResponse

    def decode_bounded(raw: bytes) -> Any:
        data = raw.encode() if isinstance(raw, str) else bytes(raw)
        if json_depth(structure(data), limit=MAX_ANSWER_DEPTH) > MAX_ANSWER_DEPTH:
            raise MalformedResponse(
                f"the node's answer nests deeper than {MAX_ANSWER_DEPTH} levels, as no JSON-RPC "
                "answer does: it was not parsed. Check the RPC URL"
            )
        return decode(raw)

    decode_bounded.bounded = True  # type: ignore[attr-defined]
    return decode_bounded
