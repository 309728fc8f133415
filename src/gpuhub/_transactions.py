"""Sending and confirming transactions, written once for the sync and the async client.

Everything here is sans-I/O: a *plan* is a generator that yields the requests it needs
(:class:`Rpc`, :class:`Batch`, :class:`Sleep`, and :class:`Acquire` / :class:`Release` around a
sender's nonce) and receives their answers. ``client.py`` runs plans with blocking I/O and
``aio.py`` awaits the same plans, so both clients make exactly the same requests.

What a write costs on a real node with a local key: ``eth_estimateGas`` (which also surfaces a
revert before anything is signed), ``eth_sendRawTransaction`` and, once mined,
``eth_getTransactionReceipt`` (on a chain that mines on arrival, ``eth_sendRawTransactionSync``
brings the receipt with the send). The chain id is read once per connection, the nonce once per
sender and the fee quote once a minute, never per write. Receipts are awaited at the chain's own
pace: at once on a chain that mines on every transaction, at the predicted arrival of the next
block on one that mines on an interval (see :class:`BlockClock`).

web3 asks the node for the nonce on every send, so threads sending from one key race each other
("nonce too low", "already imported"). Here each sender has one :class:`NonceManager`, shared by
every client that sends from that address, and the nonce is taken and the transaction handed to
the node under its lock, so nonces never clash or leave gaps. Several processes sending from one
key (``gpuhub serve --workers``) share a lock that every one of them takes
(:meth:`Connection.share_nonces`), and read the node's count under it before each send.
"""

from __future__ import annotations

import itertools
import math
import re
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypedDict, TypeVar

from . import _core
from ._abi import ContractAbi
from ._errors import ErrorDecoder, rpc_error
from .exceptions import (
    ConnectionFailed,
    GPUHubError,
    MalformedResponse,
    OutOfGas,
    RequestRejected,
    TransactionDropped,
    TransactionOutcomeUnknown,
    TransactionRejected,
    TransactionReverted,
    TransactionTimeout,
)

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

T = TypeVar("T")

#: extra gas on top of the node's estimate, in percent.
GAS_MARGIN_PERCENT = 20
#: and a fixed amount on top of that. The estimate runs on the state and clock of the latest
#: block, but the transaction runs in a later one: a rental ended in the second it started bills
#: nothing, while one second later it credits the provider and the fee pot, two storage slots
#: going from zero to non-zero (2 x 22,100 gas). Gas left unused is not charged.
GAS_HEADROOM = 50_000
#: gas limit for transactions on the embedded chain, where nothing is estimated (a batch of 50
#: listings fits; only the gas used is charged).
EMBEDDED_GAS_LIMIT = 15_000_000
#: seconds a fee quote is reused on dev chains and elsewhere. The fee cap is twice the quote,
#: which covers six blocks of the largest base-fee rise EIP-1559 allows.
FEE_QUOTE_TTL_DEV = 60.0
FEE_QUOTE_TTL = 12.0
#: seconds to wait for a receipt unless told otherwise.
DEFAULT_TIMEOUT = 120.0
#: seconds without a receipt after which the node is asked whether the transaction is still in
#: sequence (a node restarted from older state keeps a too-high nonce queued for ever).
GAP_CHECK_AFTER = 2.0
#: receipts brought by sends and not yet waited for, kept per sender at most (and as many sent
#: transactions, to hand them over again).
MAX_KEPT_RECEIPTS = 1_000
#: most missing nonces filled with empty transfers so that a queued transaction can be mined.
MAX_FILLED_GAP = 32
#: gas of an empty transfer.
TRANSFER_GAS = 21_000
#: words in a node's refusal of a nonce that is already taken (by a filler sent meanwhile).
_TAKEN = ("nonce too low", "already known", "known transaction", "already imported", "underpriced")


class TxOptions(TypedDict, total=False):
    """Keyword-only options every write method takes.

    Keys:
        timeout: seconds to wait for the receipt (default 120).
        gas: gas limit; estimated (plus a margin) when absent.
        gas_price: legacy gas price in wei.
        max_fee_per_gas: EIP-1559 fee cap in wei (with max_priority_fee_per_gas).
        max_priority_fee_per_gas: EIP-1559 tip in wei.
    """

    timeout: float
    gas: int
    gas_price: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int


# ---------------------------------------------------------------------- what a plan asks for


@dataclass(frozen=True, slots=True)
class Rpc:
    """One JSON-RPC request; the answer is its raw ``result`` (hex strings, dicts, None)."""

    method: str
    params: list[Any]
    #: the transaction this request is about, so errors raised for it can name it.
    tx_hash: str | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    """Several requests in one JSON-RPC batch (one round trip); the answer is their results."""

    calls: tuple[Rpc, ...]


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait ``seconds`` (``time.sleep`` or ``asyncio.sleep``)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class NextHead:
    """Wait until a block arrives after monotonic time ``after``, or ``seconds`` at most; the
    answer is the monotonic time the latest block was seen (asked only where the transport
    subscribes to new heads: see ``BlockClock.on_heads``)."""

    after: float
    seconds: float


@dataclass(frozen=True, slots=True)
class Acquire:
    """Take the nonce lock of one sender (a ``threading.Lock`` or an ``asyncio.Lock``)."""

    nonces: NonceManager


@dataclass(frozen=True, slots=True)
class Release:
    """Give the lock back."""

    nonces: NonceManager


Op = Rpc | Batch | Sleep | NextHead | Acquire | Release
#: a sans-I/O operation returning T once every request it yields has been answered.
Plan = Generator[Op, Any, T]


def done(value: T) -> Plan[T]:
    """A plan that asks for nothing and returns ``value``."""
    return value
    yield  # pragma: no cover - makes this a generator


# ---------------------------------------------------------------------- JSON-RPC values


def quantity(value: Any) -> int:
    """A JSON-RPC quantity (``"0x1a"``) as an int; ints (the embedded chain's) pass through."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not _is_hex(value, empty=False):
        raise MalformedResponse(f"the node answered {_shown(value)} where a number belongs")
    return int(value, 16)


def data_bytes(value: Any) -> bytes:
    """JSON-RPC data (``"0xab..."``) as bytes."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if not _is_hex(value) or len(value) % 2:
        raise MalformedResponse(f"the node answered {_shown(value)} where hex data belongs")
    return bytes.fromhex(value[2:])


# One character class, no alternatives: a linear match whatever the node sends.
_HEX = re.compile(r"0x[0-9a-fA-F]*\Z")


def _is_hex(value: Any, *, empty: bool = True) -> bool:
    """True for a ``0x``-prefixed string of hex digits (``empty``: ``"0x"`` counts)."""
    return isinstance(value, str) and _HEX.match(value) is not None and (empty or len(value) > 2)


def _shown(value: Any) -> str:
    """A node's value in an error message: short, whatever it is."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# What each method's result must look like: its kind, and for objects the fields read from it.
_QUANTITY, _DATA, _HASH, _OBJECT, _OBJECT_OR_NULL, _LOGS = range(6)
_BLOCK_FIELDS = ("number", "hash", "timestamp")
_RECEIPT_FIELDS = ("transactionHash", "status", "blockNumber", "gasUsed")
_LOG_FIELDS = ("address", "data", "blockNumber", "blockHash", "transactionHash", "logIndex")
_RESULTS: dict[str, tuple[int, tuple[str, ...]]] = {
    **dict.fromkeys(
        (
            "eth_chainId",
            "eth_blockNumber",
            "eth_estimateGas",
            "eth_getTransactionCount",
            "eth_gasPrice",
            "eth_getBalance",
        ),
        (_QUANTITY, ()),
    ),
    **dict.fromkeys(("eth_call", "eth_getCode", "eth_getStorageAt"), (_DATA, ())),
    **dict.fromkeys(("eth_sendRawTransaction", "eth_sendTransaction"), (_HASH, ())),
    "eth_getBlockByNumber": (_OBJECT_OR_NULL, _BLOCK_FIELDS),
    "eth_getBlockByHash": (_OBJECT_OR_NULL, _BLOCK_FIELDS),
    "eth_getTransactionReceipt": (_OBJECT_OR_NULL, _RECEIPT_FIELDS),
    "eth_sendRawTransactionSync": (_OBJECT, _RECEIPT_FIELDS),
    "eth_getTransactionByHash": (_OBJECT_OR_NULL, ("hash", "nonce", "gas")),
    "eth_getLogs": (_LOGS, ()),
}


def answer(decoder: ErrorDecoder, call: Rpc, response: Any) -> Any:
    """The result of a node's ``response`` to ``call``: its error as a gpuhub exception, or the
    result once it has the shape the method promises (else :class:`MalformedResponse`), so no
    later read of it meets a null, a non-hex value or a missing field."""
    if isinstance(response, dict) and "error" in response:
        raise rpc_error(decoder, call.method, response["error"], tx_hash=call.tx_hash)
    if not isinstance(response, dict) or "result" not in response:
        raise MalformedResponse(
            f"the node's answer to {call.method} is {_shown(response)}, which holds neither a "
            "result nor an error"
        )
    if not isinstance(response.get("id"), int | str):
        raise MalformedResponse(f"the node's answer to {call.method} carries no request id")
    result = response["result"]
    kind, fields = _RESULTS.get(call.method, (None, ()))
    problem = None if kind is None else _shape_problem(kind, fields, result)
    if problem is not None:
        raise MalformedResponse(f"the node's answer to {call.method} is not one: {problem}")
    return result


def batch_answers(decoder: ErrorDecoder, calls: tuple[Rpc, ...], responses: Any) -> list[Any]:
    """The results of a batch, in the order of ``calls``; one answer per request, ids unique."""
    if isinstance(responses, dict) and isinstance(responses.get("error"), dict):
        raise rpc_error(decoder, "a batch request", responses["error"])
    if not isinstance(responses, list) or len(responses) != len(calls):
        count = len(responses) if isinstance(responses, list) else _shown(responses)
        raise MalformedResponse(
            f"the node answered a batch of {len(calls)} requests with {count} answers"
        )
    ids = [r.get("id") if isinstance(r, dict) else None for r in responses]
    if any(not isinstance(i, int) for i in ids) or len(set(ids)) != len(ids):
        raise MalformedResponse(
            "the node's answers to a batch do not carry one distinct id per request, so they "
            "cannot be matched to the requests"
        )
    return [answer(decoder, c, r) for c, r in zip(calls, responses, strict=True)]


def _shape_problem(kind: int, fields: tuple[str, ...], result: Any) -> str | None:
    """What is wrong with ``result`` for a method of ``kind`` (None when nothing)."""
    if kind == _QUANTITY:
        return None if _is_hex(result, empty=False) else f"{_shown(result)} is not a number"
    if kind == _DATA:
        return None if _is_hex(result) and len(result) % 2 == 0 else f"{_shown(result)} is not data"
    if kind == _HASH:
        ok = _is_hex(result) and len(result) == 66
        return None if ok else f"{_shown(result)} is not a transaction hash"
    if kind == _LOGS:
        if not isinstance(result, list):
            return f"{_shown(result)} is not a list of logs"
        return next((p for entry in result if (p := _log_problem(entry))), None)
    if result is None:
        return None if kind == _OBJECT_OR_NULL else "it is null"
    if not isinstance(result, dict):
        return f"{_shown(result)} is not an object"
    missing = [f for f in fields if not _is_hex(result.get(f), empty=False)]
    if missing:
        return f"its {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not hex"
    if fields is _RECEIPT_FIELDS:
        logs = result.get("logs")
        if not isinstance(logs, list):
            return "its logs are not a list"
        return next((p for entry in logs if (p := _log_problem(entry))), None)
    return None


def _log_problem(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return f"a log is {_shown(entry)}"
    missing = [f for f in _LOG_FIELDS if not _is_hex(entry.get(f))]
    topics = entry.get("topics")
    if not isinstance(topics, list) or not all(_is_hex(t) for t in topics):
        missing.append("topics")
    return f"a log's {', '.join(missing)} not hex" if missing else None


def block_param(block: Any) -> Any:
    """A block identifier for JSON-RPC: tags as they are, numbers as hex quantities."""
    if isinstance(block, bool) or not isinstance(block, int | str):
        raise TypeError(f"block must be a number or a tag such as 'latest', got {block!r}")
    return hex(block) if isinstance(block, int) else block


@dataclass(frozen=True, slots=True)
class Log:
    """One log entry, parsed."""

    address: str
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    tx_hash: str
    log_index: int

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Log:
        """From an ``eth_getLogs`` or receipt entry."""
        return cls(
            address=str(raw["address"]),
            topics=tuple(data_bytes(t) for t in raw["topics"]),
            data=data_bytes(raw["data"]),
            block_number=quantity(raw["blockNumber"]),
            tx_hash=str(raw["transactionHash"]),
            log_index=quantity(raw["logIndex"]),
        )


@dataclass(frozen=True, slots=True)
class Receipt:
    """The parts of a transaction receipt the client reads."""

    tx_hash: str
    status: int
    block_number: int
    gas_used: int
    contract_address: str | None
    logs: tuple[Log, ...]

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Receipt:
        """From an ``eth_getTransactionReceipt`` result."""
        return cls(
            tx_hash=str(raw["transactionHash"]),
            status=quantity(raw["status"]),
            block_number=quantity(raw["blockNumber"]),
            gas_used=quantity(raw["gasUsed"]),
            contract_address=raw.get("contractAddress"),
            logs=tuple(Log.parse(entry) for entry in raw["logs"]),
        )


# ---------------------------------------------------------------------- shared state


class NonceManager:
    """Hands out consecutive nonces for one sender; used under its ``lock``.

    ``shared``: other processes send from this address too, under the same ``lock``; the count
    is then read from the node each time the lock is taken (what they sent is in it), never kept.
    """

    def __init__(self, lock: Any, *, shared: bool = False) -> None:
        self.lock = lock
        self.shared = shared
        self.next: int | None = None

    def reset(self) -> None:
        """Forget the count; the next send asks the node again."""
        self.next = None


class FeeQuote:
    """The fee fields for new transactions, re-read from the node at most once per ``ttl``."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.fields: dict[str, int] | None = None
        self.read_at = -math.inf

    def fresh(self) -> dict[str, int] | None:
        """The cached fields, or None when they must be read again."""
        if self.fields is None or time.monotonic() - self.read_at > self.ttl:
            return None
        return self.fields

    def update(self, gas_price: Any, block: dict[str, Any] | None) -> dict[str, int]:
        """Cache the fields for ``eth_gasPrice`` and the latest block (EIP-1559 when it has a
        base fee: a cap of twice the quote, the quote's excess over the base fee as the tip)."""
        price = quantity(gas_price)
        base = block.get("baseFeePerGas") if block else None
        if base is None:
            self.fields = {"gasPrice": price}
        else:
            tip = max(price - quantity(base), 0)
            self.fields = {"maxFeePerGas": 2 * price + tip, "maxPriorityFeePerGas": tip}
        self.read_at = time.monotonic()
        return self.fields


class BlockClock:
    """When to ask for a receipt: at the chain's pace, learned from what the node does.

    On a chain that mines on every transaction (anvil's and the embedded chain's default) the
    receipt is there as soon as the send returns, so it is asked for at once, and again at a few
    milliseconds doubling if it is not (where the node can, the send brings the receipt itself; see
    ``Sender``). The first time a receipt is not there at once, or a send waits long for its
    block, the block time is read from the timestamps of the latest blocks; only evenly spaced
    blocks count as
    interval mining (time travel and bursts of instant blocks do not). On an interval chain block
    arrivals are anchored to when one was first seen, and each wait asks once at the send (a chain
    that answers that three times in a row is treated as mining on arrival after all), then at the
    next predicted block: two requests per write when the prediction holds, a few more (a quarter
    block apart) when it does not, which re-anchors it. ``block_time`` can also be given;
    ``poll_interval`` fixes the pace. Where the transport hears of each new block (``heads``: a
    WebSocket subscription), a wait asks once per block that arrived after the send instead.
    """

    #: longest block time believed from timestamps, in seconds.
    MAX_LEARNED = 60.0
    #: receipts found at once, in a row, that turn an interval chain into an instant one.
    INSTANT_AFTER = 3
    #: seconds within which a send answered with its receipt counts as mined on arrival.
    QUICK = 0.05

    def __init__(self, *, block_time: float | None = None, poll_interval: float | None = None):
        self.block_time = block_time
        self.poll_interval = poll_interval
        #: True once the block time is known (given, or read from the chain).
        self.learned = block_time is not None
        #: monotonic time at which a block was seen; blocks arrive ``block_time`` apart from it.
        self.anchor: float | None = None
        self._hits_at_once = 0
        self._lock = threading.Lock()
        #: True while the transport wakes receipt waits on each new block (:class:`NextHead`).
        self.heads = False

    @property
    def interval_mining(self) -> bool:
        """True when blocks come on a timer, not on each transaction."""
        return self.poll_interval is None and bool(self.block_time)

    def learn(self, timestamps: list[int]) -> None:
        """Read the block time from consecutive blocks' timestamps, if they are evenly spaced."""
        gaps = {b - a for a, b in itertools.pairwise(timestamps)}
        with self._lock:
            self.learned = True
            (gap,) = gaps if len(gaps) == 1 else (0,)
            self.block_time = float(gap) if 0 < gap <= self.MAX_LEARNED else 0.0

    def first_delay(self, sent_at: float, now: float) -> float:
        """Seconds to wait, from ``now``, before asking for the receipt of a transaction sent at
        ``sent_at`` on an interval chain (0 when the block that should hold it has come)."""
        assert self.block_time
        if self.anchor is None:
            return max(sent_at + self.block_time / 2 - now, 0.0)
        blocks = math.floor((sent_at - self.anchor) / self.block_time) + 1
        arrival = self.anchor + blocks * self.block_time + min(0.02, self.block_time / 20)
        return max(arrival - now, 0.0)

    def retry_delay(self, attempt: int) -> float:
        """Seconds between receipt requests after one missed."""
        if self.poll_interval is not None:
            return self.poll_interval
        if self.interval_mining:
            assert self.block_time is not None
            return self.block_time / 4
        return min(0.002 * 2.0**attempt, 0.25)

    @property
    def on_heads(self) -> bool:
        """True when receipt waits wake on announced blocks: the transport hears of them, and
        blocks come on a timer (or at a pace not learned). Not on a chain that mines on arrival,
        where the receipt is there at once and a subscription would only add traffic: anvil
        then sends each block's announcement ahead of the answer, which waits on a delayed ACK
        (about 40 ms a request)."""
        return self.heads and (self.interval_mining or self.poll_interval is not None)

    def head_wait(self) -> float:
        """Longest wait for the next block's notification before asking anyway (in case one
        was lost): two block times, or a second while the block time is not known."""
        return 2 * self.block_time if self.block_time else 1.0

    def at_once(self, found: bool) -> None:
        """On an interval chain, the receipt was (or was not) there at the send."""
        with self._lock:
            self._hits_at_once = self._hits_at_once + 1 if found else 0
            if self._hits_at_once >= self.INSTANT_AFTER:
                self.block_time, self.anchor = 0.0, None

    def seen(self, on_time: bool, now: float) -> None:
        """On an interval chain, a receipt arrived at ``now``: at the predicted block or later."""
        with self._lock:
            if not on_time or self.anchor is None:
                # A miss means the prediction was early: anchor on the block just seen. A hit
                # keeps the anchor, so the predictions do not drift later with each write.
                self.anchor = now


@dataclass
class Connection:
    """What a client and every copy made by ``with_account`` share: no I/O of its own."""

    chain_id: int
    address: str
    abi: ContractAbi
    decoder: ErrorDecoder
    embedded: bool
    clock: BlockClock
    fees: FeeQuote
    lock_factory: Callable[[], Any]
    #: the node may answer a send with its receipt (eth_sendRawTransactionSync); False once it
    #: turns out not to know the method.
    send_sync: bool = True
    nonces: dict[str, NonceManager] = field(default_factory=dict)
    nonces_lock: threading.Lock = field(default_factory=threading.Lock)

    def nonce_manager(self, address: str) -> NonceManager:
        """The one nonce authority for ``address`` on this connection."""
        with self.nonces_lock:
            manager = self.nonces.get(address)
            if manager is None:
                manager = self.nonces[address] = NonceManager(self.lock_factory())
            return manager

    def share_nonces(self, address: str, lock: Any) -> None:
        """Take nonces for ``address`` under ``lock`` (``acquire()``, ``release()``), one that
        every process sending from it takes, reading the node's pending count under it before
        each send: the transaction is handed to the node before the lock is given back, so the
        next holder's count includes it."""
        with self.nonces_lock:
            self.nonces[address] = NonceManager(lock, shared=True)


def clock_for(chain_id: int, block_time: float | None, poll_interval: float | None) -> BlockClock:
    """The receipt pace for a chain: learned on dev chains, one poll a second elsewhere unless
    the block time or a poll interval is given."""
    from .chain import DEV_CHAIN_IDS

    if poll_interval is None and block_time is None and chain_id not in DEV_CHAIN_IDS:
        poll_interval = 1.0
    return BlockClock(block_time=block_time, poll_interval=poll_interval)


def fees_for(chain_id: int) -> FeeQuote:
    """A fee cache with the lifetime that suits the chain."""
    from .chain import DEV_CHAIN_IDS

    return FeeQuote(FEE_QUOTE_TTL_DEV if chain_id in DEV_CHAIN_IDS else FEE_QUOTE_TTL)


# ---------------------------------------------------------------------- sending


class PendingTransaction(Generic[T]):
    """A sent transaction whose result is not read yet (``wait=False``).

    Example::

        pending = client.create_listing(gpu_model="A100", capacity=80, price=10**15, wait=False)
        listing = pending.result()       # waits for the receipt
    """

    def __init__(self, tx_hash: str, finish: Callable[[float | None], T]) -> None:
        self.tx_hash = tx_hash
        self._finish = finish

    def result(self, timeout: float | None = None) -> T:
        """Wait for the receipt and return what the write method would have returned."""
        return self._finish(timeout)

    def __repr__(self) -> str:
        return f"PendingTransaction(tx_hash={self.tx_hash!r})"


@dataclass(frozen=True, slots=True)
class SentTransaction:
    """What a send handed to the node, kept until its receipt comes, so that the very same
    transaction can be handed over again at its nonce."""

    nonce: int
    #: the signed transaction (a local key), or None: the node signs ``params`` again.
    raw: str | None
    params: dict[str, Any]


class Sender:
    """Builds, signs (or lets the node sign), sends and confirms transactions for one account."""

    def __init__(self, conn: Connection, account: LocalAccount | str) -> None:
        self._conn = conn
        self._local = None if isinstance(account, str) else account
        self.address: str = account if isinstance(account, str) else account.address
        self._receipts: dict[str, Receipt] = {}
        self._sent: dict[str, SentTransaction] = {}
        self._learn = False

    def __repr__(self) -> str:
        kind = "local key" if self._local is not None else "node account"
        return f"Sender({self.address}, {kind})"

    def sign_message(self, text: str) -> Plan[bytes]:
        """The account's EIP-191 signature of ``text`` (65 bytes, v = 27 or 28): signed here
        with a local key, else by the node (``eth_sign``, which adds the same prefix)."""
        if self._local is not None:
            from eth_account.messages import encode_defunct

            return bytes(self._local.sign_message(encode_defunct(text=text)).signature)
        raw = yield Rpc("eth_sign", [self.address, "0x" + text.encode().hex()])
        signature = data_bytes(raw)
        if len(signature) == 65 and signature[64] < 27:
            signature = signature[:64] + bytes([signature[64] + 27])
        return signature

    def send(self, tx: dict[str, Any], options: TxOptions) -> Plan[str]:
        """Send ``tx`` (to, data, value as ints) and return its hash; typed errors on revert.

        A node that refuses the nonce (another process sent from this account, or the node
        restarted) is asked for the right one and the transaction is sent once more: the refusal
        means it was not accepted, so this cannot send it twice.
        """
        _core.check_tx_options(options)
        params, checked = yield from self._prepare(tx, options)
        try:
            tx_hash = yield from self._sign_and_send(params, checked)
        except TransactionRejected as err:
            if "nonce" not in str(err).lower():
                raise
            params.pop("nonce", None)
            tx_hash = yield from self._sign_and_send(params, checked)
        if self._learn:
            # Outside the nonce lock: read the block time once, so that on a chain that mines on
            # a timer the next sends stop waiting for their block while holding the lock.
            self._learn = False
            yield from learn_block_time(self._conn.clock)
        return tx_hash

    def _prepare(self, tx: dict[str, Any], options: TxOptions) -> Plan[tuple[dict[str, Any], bool]]:
        conn = self._conn
        params: dict[str, Any] = {"from": self.address, "value": 0, **tx}
        checked = False
        if "gas" in options:
            params["gas"] = options["gas"]
        elif conn.embedded:
            # eth-tester estimates by binary search (a dozen executions), and a dry run would
            # double the work of every write; the embedded chain runs the transaction once and
            # takes it back if it reverts (see _embedded.EmbeddedChain).
            params["gas"] = EMBEDDED_GAS_LIMIT
            checked = True
        else:
            # The estimate also runs the call, so a revert is reported before anything is sent.
            params["gas"] = yield from estimate_gas(params)
        if "max_fee_per_gas" in options or "gas_price" in options:
            params.update(fee_options(options))
        elif self._local is not None or not conn.embedded:
            params.update((yield from self._fees()))
        return params, checked

    def _sign_and_send(self, params: dict[str, Any], checked: bool) -> Plan[str]:
        conn = self._conn
        nonces = conn.nonce_manager(self.address)
        yield Acquire(nonces)
        try:
            if nonces.next is None or nonces.shared:
                count = yield Rpc("eth_getTransactionCount", [self.address, "pending"])
                nonces.next = quantity(count)
            params["nonce"] = nonces.next
            request, known_hash = self._request(params, checked)
            clock = conn.clock
            if (
                request.method == "eth_sendRawTransaction"
                and conn.send_sync
                and clock.poll_interval is None
                and not clock.interval_mining
            ):
                # Unless blocks are known to come on a timer, the node may answer the send with
                # the receipt (EIP-7966), which saves the request that would fetch it.
                started = time.monotonic()
                try:
                    answer = yield from self._hand_over(
                        Rpc("eth_sendRawTransactionSync", request.params), known_hash
                    )
                except RequestRejected as err:
                    if known_hash is not None and any(
                        w in str(err).lower() for w in ("timeout", "timed out")
                    ):
                        # Accepted, but not mined within the node's wait: poll for it as usual.
                        nonces.next += 1
                        self._remember(known_hash, params, request)
                        return known_hash
                    if not _unsupported(err):
                        raise
                    conn.send_sync = False  # refused unread: nothing was sent
                else:
                    receipt = Receipt.parse(answer)
                    self._keep(receipt)
                    nonces.next += 1
                    if time.monotonic() - started > clock.QUICK and not clock.learned:
                        self._learn = True  # slow to mine: maybe blocks come on a timer
                    return receipt.tx_hash
            tx_hash = str((yield from self._hand_over(request, known_hash)))
            nonces.next += 1
            self._remember(tx_hash, params, request)
        except BaseException:
            nonces.reset()
            raise
        finally:
            yield Release(nonces)
        return tx_hash

    def _hand_over(self, request: Rpc, known_hash: str | None) -> Plan[Any]:
        try:
            return (yield request)
        except ConnectionFailed as err:
            # The request may have reached the node before the connection failed: the
            # transaction may be mined and paid for, so the caller must not blindly resend.
            raise TransactionOutcomeUnknown(
                "the connection failed while sending; the transaction may still be mined. "
                "Look it up by its hash (w3.eth.get_transaction_receipt) before sending it "
                "again",
                tx_hash=known_hash,
            ) from err

    def _remember(self, tx_hash: str, params: dict[str, Any], request: Rpc) -> None:
        """Keep what was sent as ``tx_hash`` until its receipt comes."""
        if len(self._sent) >= MAX_KEPT_RECEIPTS:  # sends nobody waits for
            self._sent.pop(next(iter(self._sent)))
        raw = request.params[0] if request.method.startswith("eth_sendRaw") else None
        self._sent[tx_hash] = SentTransaction(params["nonce"], raw, dict(params))

    def _keep(self, receipt: Receipt) -> None:
        """Hold a receipt the send already brought until ``wait`` asks for it."""
        if len(self._receipts) >= MAX_KEPT_RECEIPTS:  # results nobody waits for
            self._receipts.pop(next(iter(self._receipts)))
        self._receipts[receipt.tx_hash] = receipt

    def _request(self, params: dict[str, Any], checked: bool) -> tuple[Rpc, str | None]:
        """The request that sends ``params``, and the hash it will have when known already."""
        if self._local is not None:
            signed = self._local.sign_transaction(
                {"chainId": self._conn.chain_id, **{k: v for k, v in params.items() if k != "from"}}
            )
            raw = "0x" + bytes(signed.raw_transaction).hex()
            known = "0x" + bytes(signed.hash).hex()
            if checked:
                return Rpc("gpuhub_sendChecked", [_json_tx(params), raw]), known
            return Rpc("eth_sendRawTransaction", [raw]), known
        if checked:
            return Rpc("gpuhub_sendChecked", [_json_tx(params), None]), None
        return Rpc("eth_sendTransaction", [_json_tx(params)]), None

    def _fees(self) -> Plan[dict[str, int]]:
        return (yield from quote_fees(self._conn.fees))

    def wait(
        self,
        tx_hash: str,
        params: dict[str, Any],
        timeout: float | None,
        sent_at: float | None = None,
        *,
        began: float | None = None,
    ) -> Plan[Receipt]:
        """The receipt of ``tx_hash`` (sent at monotonic time ``sent_at``, its send begun at
        ``began``); if it reverted, raise the error a replay of it gives."""
        total = DEFAULT_TIMEOUT if timeout is None else timeout
        first = min(total, GAP_CHECK_AFTER)
        kept = self._receipts.pop(tx_hash, None)
        try:
            receipt = kept or (yield from self._receipt(tx_hash, first, sent_at, began))
        except TransactionTimeout:
            tx_hash = yield from self._recover(tx_hash)
            if first >= total:
                raise
            try:
                receipt = yield from self._receipt(tx_hash, total - first, None, None)
            except TransactionTimeout:
                # Whatever happened to it, the next send asks the node for the nonce again.
                self._conn.nonce_manager(self.address).reset()
                raise
        self._sent.pop(tx_hash, None)
        if receipt.status == 1:
            return receipt
        raise (yield from self._replay(tx_hash, params, receipt))

    def _receipt(
        self, tx_hash: str, timeout: float, sent_at: float | None, began: float | None
    ) -> Plan[Receipt]:
        clock = self._conn.clock
        try:
            return (yield from wait_for_receipt(clock, tx_hash, timeout, sent_at, began=began))
        except ConnectionFailed as err:
            if isinstance(err, TransactionOutcomeUnknown):
                raise
            raise TransactionOutcomeUnknown(
                "the connection failed while waiting for the receipt; the transaction may still "
                "be mined: look it up by its hash before sending it again",
                tx_hash=tx_hash,
            ) from err

    def _recover(self, tx_hash: str) -> Plan[str]:
        """After a wait without a receipt, see that ``tx_hash`` can still be mined, once and at
        its own nonce; returns the hash to wait for.

        A node restarted from older state (or one that dropped an earlier transaction) forgets
        the transactions it had not mined, and the nonces of the blocks it lost: the transaction
        is then unknown to it, or queued behind nonces it no longer has, and a new send at the
        node's next nonce would fill that gap and have it mined as well as the new one (a renter
        who extended once would pay for two extensions). So it is never sent again at a new
        nonce: the same signed transaction is handed over again if the node forgot it, and the
        missing nonces are filled with empty transfers to the sender itself (21,000 gas each,
        at most :data:`MAX_FILLED_GAP`), after which it is mined as it was sent. Raises
        :class:`TransactionDropped` only when it can never be mined (another transaction took
        its nonce), and :class:`TransactionTimeout` saying what to do when the gap cannot be
        filled.
        """
        found, pending = yield Batch(
            (
                Rpc("eth_getTransactionByHash", [tx_hash], tx_hash),
                Rpc("eth_getTransactionCount", [self.address, "pending"], tx_hash),
            )
        )
        head = quantity(pending)
        sent = self._sent.get(tx_hash)
        if isinstance(found, dict):
            if found.get("blockNumber") is not None:
                return tx_hash  # mined meanwhile
            nonce = quantity(found["nonce"])
            if head > nonce:
                return tx_hash  # in sequence, merely slow
        elif sent is None or head > sent.nonce:
            self._conn.nonce_manager(self.address).reset()
            why = (
                "it was sent elsewhere, so it cannot be handed over again"
                if sent is None
                else f"its nonce {sent.nonce} was taken by another transaction"
            )
            raise TransactionDropped(
                f"the node has no record of it and {why} (the node's next nonce for "
                f"{self.address} is {head}): it will never be mined, and nothing of it ran. The "
                "client reads the nonce again; send the operation again if it is still wanted",
                tx_hash=tx_hash,
            )
        else:
            nonce = sent.nonce
        nonces = self._conn.nonce_manager(self.address)
        yield Acquire(nonces)
        try:
            if not isinstance(found, dict):
                assert sent is not None
                tx_hash = yield from self._send_again(tx_hash, sent)
            yield from self._fill_gap(head, nonce, tx_hash)
        finally:
            yield Release(nonces)
        return tx_hash

    def _send_again(self, tx_hash: str, sent: SentTransaction) -> Plan[str]:
        """Hand ``sent`` to the node again at its nonce: the same signed bytes (the same hash)
        with a local key, the same fields for the node to sign otherwise."""
        request = (
            Rpc("eth_sendRawTransaction", [sent.raw], tx_hash)
            if sent.raw is not None
            else Rpc("eth_sendTransaction", [_json_tx(sent.params)], tx_hash)
        )
        try:
            again = str((yield request))
        except TransactionRejected as err:
            if not any(word in str(err).lower() for word in _TAKEN):
                raise TransactionDropped(
                    f"the node forgot it (it restarted from older state) and refused it when it "
                    f"was handed over again at nonce {sent.nonce}: {err}. Nothing of it ran; "
                    "send the operation again if it is still wanted",
                    tx_hash=tx_hash,
                ) from err
            return tx_hash  # the node had it after all
        self._sent[again] = self._sent.pop(tx_hash, sent)
        return again

    def _fill_gap(self, first: int, nonce: int, tx_hash: str) -> Plan[None]:
        """Use nonces ``first`` up to ``nonce`` - 1 with empty transfers to the sender itself, so
        that the transaction at ``nonce`` can be mined."""
        if first >= nonce:
            return
        advice = (
            f"It stays queued at nonce {nonce}, behind nonces {first} to {nonce - 1} that the node "
            "lost (it restarted from older state), and will be mined, as sent, once those are "
            "used; the next writes from this account use them. If it is no longer wanted, send "
            f"a replacement at nonce {nonce} first"
        )
        if nonce - first > MAX_FILLED_GAP:
            self._conn.nonce_manager(self.address).reset()
            raise TransactionTimeout(
                f"no receipt: {advice} (the gap is wider than the {MAX_FILLED_GAP} empty "
                "transactions the client sends to fill one)",
                tx_hash=tx_hash,
            )
        fees = yield from self._fees()
        for gap in range(first, nonce):
            params = {
                "from": self.address,
                "to": self.address,
                "value": 0,
                "gas": TRANSFER_GAS,
                "nonce": gap,
                **fees,
            }
            request, _ = self._request(params, checked=False)
            try:
                yield request
            except TransactionRejected as err:
                if any(word in str(err).lower() for word in _TAKEN):
                    continue  # filled meanwhile
                self._conn.nonce_manager(self.address).reset()
                raise TransactionTimeout(
                    f"no receipt: {advice}. Filling the gap failed: {err}", tx_hash=tx_hash
                ) from err

    def _replay(self, tx_hash: str, params: dict[str, Any], receipt: Receipt) -> Plan[GPUHubError]:
        return (yield from replay_error(tx_hash, {"from": self.address, **params}, receipt))


def replay_error(tx_hash: str, params: dict[str, Any], receipt: Receipt) -> Plan[GPUHubError]:
    """The error of a mined transaction that reverted (``params``: its from, to, data, value).

    A mined transaction keeps no revert data; running it again as a call on the state before its
    block recovers the custom error when it was its block's first transaction. When a transaction
    earlier in the same block made it fail (two renters of one listing mined together), that call
    succeeds: the state after the block, which the failed transaction did not change, holds what
    the earlier one did.
    """
    sent = yield Rpc("eth_getTransactionByHash", [tx_hash], tx_hash)
    limit = quantity(sent["gas"])
    if receipt.gas_used >= limit:
        return OutOfGas(
            f"ran out of gas: it used all {limit} gas of its limit; send it again with a "
            "higher gas= (or none, to have it estimated)",
            tx_hash=tx_hash,
        )
    call = _json_tx({"value": 0, **params})
    for block in (max(receipt.block_number - 1, 0), receipt.block_number):
        try:
            yield Rpc("eth_call", [call, hex(block)], tx_hash)
        except GPUHubError as err:
            return err
    return TransactionReverted(
        f"reverted on-chain after using {receipt.gas_used} gas", tx_hash=tx_hash
    )


def estimate_gas(params: dict[str, Any]) -> Plan[int]:
    """The gas limit for ``params``: the node's estimate (which runs the call, so a revert raises
    its typed error) plus :data:`GAS_MARGIN_PERCENT` and :data:`GAS_HEADROOM`."""
    estimate = quantity((yield Rpc("eth_estimateGas", [_json_tx(params)])))
    return estimate * (100 + GAS_MARGIN_PERCENT) // 100 + GAS_HEADROOM


def quote_fees(fees: FeeQuote) -> Plan[dict[str, int]]:
    """The fee fields for a new transaction, from ``fees`` or read again when stale."""
    fields = fees.fresh()
    if fields is None:
        price, block = yield Batch(
            (Rpc("eth_gasPrice", []), Rpc("eth_getBlockByNumber", ["latest", False]))
        )
        fields = fees.update(price, block)
    return fields


def fee_options(options: TxOptions) -> dict[str, int]:
    """The fee fields the caller chose (``max_fee_per_gas`` or ``gas_price``), if any."""
    if "max_fee_per_gas" in options:
        return {
            "maxFeePerGas": options["max_fee_per_gas"],
            "maxPriorityFeePerGas": options.get("max_priority_fee_per_gas", 0),
        }
    if "gas_price" in options:
        return {"gasPrice": options["gas_price"]}
    return {}


class Drafted(BaseException):
    """Ends a plan run by a :class:`Preparer` where it would send, carrying the unsigned
    transaction. A BaseException, so that no plan's ``except Exception`` takes it for a failure."""

    def __init__(self, transaction: dict[str, int | str]) -> None:
        super().__init__("a prepared transaction (caught by the plan that prepares)")
        self.transaction = transaction


class Preparer(Sender):
    """Stands where a :class:`Sender` stands, for an account that signs elsewhere (a browser
    wallet, a KMS, a hardware wallet): the plan runs every check and read of a send, the gas
    estimate runs the call (so a revert raises its typed error), and instead of signing, the plan
    ends with :class:`Drafted` and the unsigned transaction at the account's next nonce."""

    def __init__(self, conn: Connection, address: str) -> None:
        super().__init__(conn, address)

    def __repr__(self) -> str:
        return f"Preparer({self.address})"

    def sign_message(self, text: str) -> Plan[bytes]:
        from .exceptions import ValidationError

        raise ValidationError(
            "public_key",
            "preparing for another signer cannot sign messages: derive the rental's access key "
            "where the account's key is and give its public half (public_key=...)",
        )
        yield  # pragma: no cover - makes this a generator

    def send(self, tx: dict[str, Any], options: TxOptions) -> Plan[str]:
        _core.check_tx_options(options)
        params: dict[str, Any] = {"from": self.address, "value": 0, **tx}
        gas = yield from estimate_gas(params)
        fees = fee_options(options) or (yield from quote_fees(self._conn.fees))
        count = yield Rpc("eth_getTransactionCount", [self.address, "pending"])
        transaction: dict[str, int | str] = {
            "type": 2 if "maxFeePerGas" in fees else 0,
            "chainId": self._conn.chain_id,
            "nonce": quantity(count),
            "to": params["to"],
            "data": params["data"],
            "value": params["value"],
            "gas": options.get("gas", gas),
            **fees,
        }
        raise Drafted(transaction)


def wait_for_receipt(
    clock: BlockClock,
    tx_hash: str,
    timeout: float | None,
    sent_at: float | None = None,
    *,
    began: float | None = None,
) -> Plan[Receipt]:
    """Ask for the receipt at the pace ``clock`` sets until it is there or ``timeout`` passes
    (``sent_at``: when the send returned; ``began``: when it began)."""
    start = time.monotonic()
    deadline = start + (DEFAULT_TIMEOUT if timeout is None else timeout)
    request = Rpc("eth_getTransactionReceipt", [tx_hash], tx_hash)
    if clock.on_heads:
        return (yield from _receipt_on_heads(clock, request, deadline, began))
    raw = yield request
    interval = clock.interval_mining
    if interval:
        clock.at_once(raw is not None)
    attempt = 0
    while raw is None:
        now = time.monotonic()
        if now >= deadline:
            raise TransactionTimeout(
                "no receipt yet: the transaction may still be mined; look it up by its hash",
                tx_hash=tx_hash,
            )
        if not clock.learned and clock.poll_interval is None:
            yield from learn_block_time(clock)
            interval = clock.interval_mining
        if interval and attempt == 0:
            delay = clock.first_delay(start if sent_at is None else sent_at, now)
        else:
            delay = clock.retry_delay(attempt)
        if delay > 0:
            yield Sleep(min(delay, max(deadline - now, 0.0)))
        raw = yield request
        attempt += 1
        if raw is not None and interval:
            clock.seen(attempt == 1, time.monotonic())
    return Receipt.parse(raw)


def _receipt_on_heads(
    clock: BlockClock, request: Rpc, deadline: float, began: float | None
) -> Plan[Receipt]:
    """Ask for the receipt once per block announced since the send began: no earlier block can
    hold it (one request per write when the next block does; asked at once when the send's
    start is not known). The announcement of a block mined on arrival may come before the
    send's own answer, so the start, not the answer, is the mark."""
    seen = -math.inf if began is None else began
    while True:
        now = time.monotonic()
        if now >= deadline:
            raise TransactionTimeout(
                "no receipt yet: the transaction may still be mined; look it up by its hash",
                tx_hash=request.tx_hash,
            )
        seen = yield NextHead(seen, min(clock.head_wait(), deadline - now))
        raw = yield request
        if raw is not None:
            return Receipt.parse(raw)


def learn_block_time(clock: BlockClock, span: int = 4) -> Plan[None]:
    """Teach ``clock`` the block time from the timestamps of the latest ``span + 1`` blocks
    (nothing while the chain has fewer than three)."""
    head = quantity((yield Rpc("eth_blockNumber", [])))
    span = min(span, head)
    if span < 2:
        return
    blocks = yield Batch(
        tuple(Rpc("eth_getBlockByNumber", [hex(n), False]) for n in range(head - span, head + 1))
    )
    clock.learn([quantity(block["timestamp"]) for block in blocks])


def _unsupported(err: GPUHubError) -> bool:
    """True when the node does not know the method at all (so it did nothing)."""
    text = str(err).lower()
    return any(
        words in text
        for words in (
            "not found",
            "not supported",
            "unsupported",
            "does not exist",
            "unknown method",
        )
    )


def _json_tx(params: dict[str, Any]) -> dict[str, Any]:
    """Transaction fields as JSON-RPC wants them: numbers as hex quantities."""
    return {k: hex(v) if isinstance(v, int) else v for k, v in params.items()}
