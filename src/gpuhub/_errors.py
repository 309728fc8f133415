"""The one place that catches web3 (and eth-tester) exceptions and turns them into gpuhub's.

A revert reaches Python in two shapes: a real node (anvil, geth) gives web3's
``ContractCustomError`` / ``ContractLogicError`` with the revert data as hex, while eth-tester
raises its own ``TransactionFailed`` whose message holds the raw bytes. Both are decoded here into
the same typed :class:`~gpuhub.exceptions.ContractError` subclass.
"""

from __future__ import annotations

import ast
import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address

from .exceptions import (
    ConnectionFailed,
    ContractError,
    GPUHubError,
    InsufficientFunds,
    MalformedResponse,
    RequestRejected,
    TransactionRejected,
    TransactionReverted,
    TransactionTimeout,
    contract_error_classes,
)
from .models import ABI_ENUMS

_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
_PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)
_TESTER_REVERT = re.compile(r"execution reverted: (b['\"].*['\"])\s*$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class _ErrorSpec:
    cls: type[ContractError]
    types: list[str]
    internal_types: list[str]


class ErrorDecoder:
    """Maps 4-byte selectors of the ABI's custom errors to their Python classes.

    The clients feed it every packaged contract's errors (``_artifact.error_abi()``), so a revert
    in the governor or the timelock decodes as well as one in the marketplace.
    """

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        classes = contract_error_classes()
        self._specs: dict[bytes, _ErrorSpec] = {}
        for entry in abi:
            if entry.get("type") != "error":
                continue
            types = [arg["type"] for arg in entry["inputs"]]
            selector = function_signature_to_4byte_selector(f"{entry['name']}({','.join(types)})")
            cls = classes.get(entry["name"])
            if cls is not None:
                internal = [arg.get("internalType", "") for arg in entry["inputs"]]
                self._specs[selector] = _ErrorSpec(cls, types, internal)

    def decode(self, data: bytes, *, tx_hash: str | None = None) -> GPUHubError:
        """The exception that revert ``data`` stands for."""
        selector, body = data[:4], data[4:]
        spec = self._specs.get(selector)
        if spec is not None:
            values = abi_decode(spec.types, body)
            return spec.cls(
                *(
                    from_abi_value(v, t, i)
                    for v, t, i in zip(values, spec.types, spec.internal_types, strict=True)
                )
            )
        if selector == _ERROR_STRING:
            (reason,) = abi_decode(["string"], body)
            return TransactionReverted(f"reverted: {reason}", tx_hash=tx_hash)
        if selector == _PANIC:
            (code,) = abi_decode(["uint256"], body)
            return TransactionReverted(f"reverted with panic code 0x{code:02x}", tx_hash=tx_hash)
        if not data:
            return TransactionReverted(
                "reverted without a reason (out of gas, a bad argument, or a failed transfer)",
                tx_hash=tx_hash,
            )
        return TransactionReverted(
            f"reverted with unknown error data 0x{data.hex()}", tx_hash=tx_hash
        )


def from_abi_value(value: Any, abi_type: str, internal_type: str) -> Any:
    """A decoded ABI value as gpuhub returns it: the contract's enums as IntEnums (by their
    ``internalType``), addresses checksummed, everything else as decoded."""
    enum = ABI_ENUMS.get(internal_type)
    if enum is not None:
        return enum(value)
    if abi_type == "address":
        return to_checksum_address(value)
    return value


def revert_data(err: BaseException) -> bytes | None:
    """The raw revert data inside a web3 or eth-tester exception, or None if it is not a revert."""
    from web3.exceptions import ContractLogicError, Web3RPCError

    if isinstance(err, ContractLogicError):
        data = err.data
        if isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x"):
            return bytes.fromhex(data[2:])
        return b""
    if isinstance(err, Web3RPCError):
        response = err.rpc_response or {}
        error = response.get("error") if isinstance(response, dict) else None
        data = error.get("data") if isinstance(error, dict) else None
        if isinstance(data, str) and data.startswith("0x"):
            return bytes.fromhex(data[2:])
        if "revert" in str(err.message).lower():
            return b""
        return None
    if type(err).__name__ == "TransactionFailed" and type(err).__module__.startswith("eth_tester"):
        match = _TESTER_REVERT.search(str(err.args[0]) if err.args else "")
        if match is None:
            return b""
        raw = ast.literal_eval(match.group(1))
        return raw if isinstance(raw, bytes) else raw.encode("utf-8")
    return None


def rpc_error(
    decoder: ErrorDecoder, method: str, error: Any, *, tx_hash: str | None = None
) -> GPUHubError:
    """The exception for a JSON-RPC error answer: the decoded revert, or the node's message."""
    if not isinstance(error, dict):
        # Not a refusal: a send it answers may have gone through (TransactionOutcomeUnknown).
        return MalformedResponse(
            f"the node answered {method} with an error that is no JSON-RPC error object"
        )
    message = str(error.get("message", ""))
    data = error.get("data")
    if isinstance(data, dict):  # some nodes nest it: {"data": {"data": "0x..."}}
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x") and _is_hex(data[2:]):
        return decoder.decode(bytes.fromhex(data[2:]), tx_hash=tx_hash)
    if "revert" in message.lower():
        return decoder.decode(b"", tx_hash=tx_hash)
    return refusal(message[:300], sending=method in TX_METHODS)


def _excerpt(err: json.JSONDecodeError | UnicodeDecodeError) -> str:
    """The start of what came instead of JSON, printable and short."""
    raw: Any = err.doc if isinstance(err, json.JSONDecodeError) else err.object
    text = raw if isinstance(raw, str) else bytes(raw).decode("utf-8", errors="replace")
    start = " ".join(text[:60].split())
    return f"it begins {start!r}" if start else "it is empty"


#: requests that build or send a transaction: their refusals are TransactionRejected.
TX_METHODS = frozenset(
    {
        "eth_estimateGas",
        "eth_sendRawTransaction",
        "eth_sendRawTransactionSync",
        "eth_sendTransaction",
        "gpuhub_sendChecked",
    }
)


def _is_hex(text: str) -> bool:
    return len(text) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in text)


_FUNDS = ("insufficient funds", "enough balance", "cannot afford")


def rejection(err: BaseException, *, sending: bool) -> GPUHubError | None:
    """The gpuhub error for a request the node refused (not a revert), or None if it is not one.

    A real node answers with a JSON-RPC error (web3's ``Web3RPCError``); eth-tester raises
    ``eth_utils``' ``ValidationError`` for the same checks (gas, fees, balance, nonce), and its
    own ``BlockNotFound`` where a node refuses a block past its head.
    """
    from eth_utils.exceptions import ValidationError as EthValidationError
    from web3.exceptions import Web3RPCError

    if isinstance(err, Web3RPCError):
        response = err.rpc_response or {}
        error = response.get("error") if isinstance(response, dict) else None
        message = str(error.get("message")) if isinstance(error, dict) else str(err.message)
    elif isinstance(err, EthValidationError) or (
        type(err).__name__ == "ValidationError" and type(err).__module__.startswith("eth_tester")
    ):
        message = str(err)
    elif type(err).__name__ == "BlockNotFound" and type(err).__module__.startswith("eth_tester"):
        message = f"{err}: the block is past the chain head"
    else:
        return None
    return refusal(message, sending=sending)


def refusal(message: str, *, sending: bool) -> GPUHubError:
    """The error for a refusal the node explains in ``message``."""
    if sending and any(text in message.lower() for text in _FUNDS):
        return InsufficientFunds(
            f"the sending account cannot pay this transaction's value plus gas ({message}): "
            "fund it, or send less (a lower max_total)"
        )
    if sending:
        return TransactionRejected(f"the node refused the transaction: {message}")
    return RequestRejected(f"the node refused the request: {message}")


@contextlib.contextmanager
def translate(
    decoder: ErrorDecoder, *, tx_hash: str | None = None, sending: bool = False
) -> Iterator[None]:
    """Re-raise lower-level failures inside the block as gpuhub exceptions.

    ``sending`` marks blocks that build or send a transaction, whose refusals are
    :class:`TransactionRejected` rather than :class:`RequestRejected`.
    """
    from aiohttp import ClientError, ClientResponseError
    from requests import HTTPError
    from web3.exceptions import ProviderConnectionError, TimeExhausted
    from websockets.exceptions import ConnectionClosed

    try:
        yield
    except GPUHubError:
        raise
    except TimeExhausted as err:
        raise TransactionTimeout(
            "no receipt yet: the transaction may still be mined; look it up by its hash",
            tx_hash=tx_hash,
        ) from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        # An HTML error page answered with 200, a body cut short, or no JSON-RPC server at all.
        raise MalformedResponse(
            f"the node's answer is not JSON ({_excerpt(err)}): is the RPC URL a JSON-RPC "
            "endpoint, and is anything between here and the node cutting answers short?"
        ) from err
    except (HTTPError, ClientResponseError) as err:
        status = getattr(getattr(err, "response", None), "status_code", None)
        status = getattr(err, "status", status)
        raise ConnectionFailed(
            f"the Ethereum node (or a proxy in front of it) answered HTTP {status}: is it "
            "running, and is the RPC URL right?"
        ) from err
    except ClientError as err:  # aiohttp's own failures (the async HTTP provider)
        raise ConnectionFailed(
            f"cannot reach the Ethereum node ({type(err).__name__}): is it running, and is the "
            "RPC URL right?"
        ) from err
    # requests' and aiohttp's connection errors are OSErrors; a WebSocket that the node closed
    # raises ConnectionClosed, and opening one again ProviderConnectionError
    except (OSError, ConnectionClosed, ProviderConnectionError) as err:
        raise ConnectionFailed(
            f"cannot reach the Ethereum node ({type(err).__name__}): is it running, and is the "
            "RPC URL right?"
        ) from err
    except Exception as err:
        data = revert_data(err)
        if data is not None:
            raise decoder.decode(data, tx_hash=tx_hash) from err
        refused = rejection(err, sending=sending)
        if refused is None:
            raise
        raise refused from err
