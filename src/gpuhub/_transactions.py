"""Sending transactions: one nonce authority per sender, local signing, receipts, revert replay.

web3 asks the node for the nonce on every send, so threads sending from one key race each other
("nonce too low", "already imported"). Here each sender has one :class:`NonceManager`, shared by
every client that sends from that address, and the nonce is taken and the transaction handed to
the node under its lock, so nonces never clash or leave gaps.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypedDict, TypeVar

from . import _core
from ._errors import ErrorDecoder, revert_data, translate
from .exceptions import (
    ConnectionFailed,
    GPUHubError,
    OutOfGas,
    TransactionDropped,
    TransactionOutcomeUnknown,
    TransactionRejected,
    TransactionReverted,
    TransactionTimeout,
)

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import Web3
    from web3.types import TxParams, TxReceipt

T = TypeVar("T")

#: extra gas on top of the node's estimate, in percent.
GAS_MARGIN_PERCENT = 20
#: and a fixed amount on top of that. The estimate runs on the state and clock of the latest
#: block, but the transaction runs in a later one: a rental ended in the second it started bills
#: nothing, while one second later it credits the provider and the fee pot, two storage slots
#: going from zero to non-zero (2 x 22,100 gas). Gas left unused is not charged.
GAS_HEADROOM = 50_000
#: gas limit for transactions on the embedded chain, where nothing is estimated.
EMBEDDED_GAS_LIMIT = 5_000_000
#: seconds without a receipt after which the node is asked whether the transaction is still in
#: sequence (a node restarted from older state keeps a too-high nonce queued for ever).
GAP_CHECK_AFTER = 2.0


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


class NonceManager:
    """Hands out consecutive nonces for one sender; safe across threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._next: int | None = None

    def take(self, fetch: Callable[[], int]) -> int:
        """The next nonce; call with ``lock`` held."""
        if self._next is None:
            self._next = fetch()
        return self._next

    def advance(self) -> None:
        """The last nonce was accepted by the node."""
        assert self._next is not None
        self._next += 1

    def reset(self) -> None:
        """Forget the count; the next send asks the node again."""
        self._next = None


@dataclass
class Connection:
    """State shared by a client and every copy made by ``with_account``."""

    w3: Web3
    contract: Any
    chain_id: int
    decoder: ErrorDecoder
    poll_interval: float
    serial: contextlib.AbstractContextManager[Any]
    embedded: bool = False
    nonces: dict[str, NonceManager] = field(default_factory=dict)
    nonces_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(
        cls, w3: Web3, decoder: ErrorDecoder, poll_interval: float | None = None
    ) -> Connection:
        """Read the chain id once and pick the settings that suit this kind of node."""
        from web3 import EthereumTesterProvider

        from .chain import DEV_CHAIN_IDS

        embedded = isinstance(w3.provider, EthereumTesterProvider)
        # eth-tester is not thread-safe; a real node takes concurrent requests.
        serial: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if embedded else contextlib.nullcontext()
        )
        conn = cls(w3, None, 0, decoder, 1.0, serial, embedded)
        with conn.io():
            conn.chain_id = w3.eth.chain_id
        if poll_interval is None:
            poll_interval = 0.005 if conn.chain_id in DEV_CHAIN_IDS else 1.0
        conn.poll_interval = poll_interval
        return conn

    def nonce_manager(self, address: str) -> NonceManager:
        with self.nonces_lock:
            return self.nonces.setdefault(address, NonceManager())

    @contextlib.contextmanager
    def io(self, tx_hash: str | None = None, *, sending: bool = False) -> Iterator[None]:
        """Talk to the node: one at a time where the backend needs it, errors translated."""
        with self.serial, translate(self.decoder, tx_hash=tx_hash, sending=sending):
            yield


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


class Sender:
    """Builds, signs (or lets the node sign), sends and confirms transactions for one account."""

    def __init__(self, conn: Connection, account: LocalAccount | str) -> None:
        self._conn = conn
        self._local = None if isinstance(account, str) else account
        self.address: str = account if isinstance(account, str) else account.address

    def __repr__(self) -> str:
        kind = "local key" if self._local is not None else "node account"
        return f"Sender({self.address}, {kind})"

    def send(self, tx: dict[str, Any], options: TxOptions) -> str:
        """Send ``tx`` (to, data, value) and return its hash; raises typed errors on revert.

        A node that refuses the nonce (another process sent from this account, or the node
        restarted) is asked for the right one and the transaction is sent once more: the refusal
        means it was not accepted, so this cannot send it twice.
        """
        _core.check_tx_options(options)
        params = self._prepare(tx, options)
        try:
            return self._sign_and_send(params)
        except TransactionRejected as err:
            if "nonce" not in str(err).lower():
                raise
        params.pop("nonce", None)
        return self._sign_and_send(params)

    def _prepare(self, tx: dict[str, Any], options: TxOptions) -> dict[str, Any]:
        conn = self._conn
        w3 = conn.w3
        params: dict[str, Any] = {"from": self.address, "chainId": conn.chain_id, "value": 0, **tx}
        with conn.io(sending=True):
            if "gas" in options:
                params["gas"] = options["gas"]
            elif conn.embedded:
                # eth-tester estimates by binary search (a dozen executions); one call finds a
                # revert just as well, and the embedded chain charges only the gas used.
                w3.eth.call(params, block_identifier="pending")  # type: ignore[arg-type]
                params["gas"] = EMBEDDED_GAS_LIMIT
            else:
                # The estimate also runs the call, so a revert is reported before anything is sent.
                estimate = w3.eth.estimate_gas(params)  # type: ignore[arg-type]
                params["gas"] = estimate * (100 + GAS_MARGIN_PERCENT) // 100 + GAS_HEADROOM
            if "max_fee_per_gas" in options:
                params["maxFeePerGas"] = options["max_fee_per_gas"]
                params["maxPriorityFeePerGas"] = options.get("max_priority_fee_per_gas", 0)
            else:
                params["gasPrice"] = options.get("gas_price") or w3.eth.gas_price
        return params

    def _sign_and_send(self, params: dict[str, Any]) -> str:
        conn = self._conn
        w3 = conn.w3
        nonces = conn.nonce_manager(self.address)
        with nonces.lock:
            with conn.io():
                params["nonce"] = nonces.take(
                    lambda: w3.eth.get_transaction_count(self.address, "pending")  # type: ignore[arg-type]
                )
            known_hash: str | None = None
            try:
                with conn.io(sending=True):
                    if self._local is not None:
                        signed = self._local.sign_transaction(params)
                        known_hash = "0x" + bytes(signed.hash).hex()
                        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
                    else:
                        tx_hash = w3.eth.send_transaction(params)  # type: ignore[arg-type]
            except ConnectionFailed as err:
                # The request may have reached the node before the connection failed: the
                # transaction may be mined and paid for, so the caller must not blindly resend.
                nonces.reset()
                raise TransactionOutcomeUnknown(
                    "the connection failed while sending; the transaction may still be mined. "
                    "Look it up by its hash (w3.eth.get_transaction_receipt) before sending it "
                    "again",
                    tx_hash=known_hash,
                ) from err
            except BaseException:
                nonces.reset()
                raise
            nonces.advance()
        return "0x" + bytes(tx_hash).hex()

    def wait(self, tx_hash: str, params: dict[str, Any], timeout: float | None) -> TxReceipt:
        """The receipt of ``tx_hash``; if it reverted, raise the error a replay of it gives."""
        conn = self._conn
        total = 120.0 if timeout is None else timeout
        first = min(total, GAP_CHECK_AFTER)
        try:
            receipt = self._receipt(tx_hash, first)
        except TransactionTimeout:
            self._resync_if_dropped(tx_hash)
            if first >= total:
                raise
            try:
                receipt = self._receipt(tx_hash, total - first)
            except TransactionTimeout:
                # Whatever happened to it, the next send asks the node for the nonce again.
                conn.nonce_manager(self.address).reset()
                raise
        if receipt["status"] == 1:
            return receipt
        raise self._replay(tx_hash, params, receipt)

    def _receipt(self, tx_hash: str, timeout: float) -> TxReceipt:
        conn = self._conn
        try:
            with conn.io(tx_hash):
                return conn.w3.eth.wait_for_transaction_receipt(
                    tx_hash,  # type: ignore[arg-type]
                    timeout=timeout,
                    poll_latency=conn.poll_interval,
                )
        except ConnectionFailed as err:
            raise TransactionOutcomeUnknown(
                "the connection failed while waiting for the receipt; the transaction may still "
                "be mined: look it up by its hash before sending it again",
                tx_hash=tx_hash,
            ) from err

    def _resync_if_dropped(self, tx_hash: str) -> None:
        """Raise TransactionDropped if the node lost the transaction or holds it behind a gap.

        A node restarted from older state (or one that dropped an earlier transaction) forgets the
        transaction, or keeps it queued behind the nonces it no longer has, never to be mined; the
        cached nonce is then stale for every later send too.
        """
        conn = self._conn
        with conn.io(tx_hash):
            found = conn.w3.provider.make_request(
                "eth_getTransactionByHash",  # type: ignore[arg-type]
                [tx_hash],
            ).get("result")
            pending = conn.w3.eth.get_transaction_count(self.address, "pending")  # type: ignore[arg-type]
        if isinstance(found, dict):
            nonce = (
                int(str(found["nonce"]), 16) if isinstance(found["nonce"], str) else found["nonce"]
            )
            if found.get("blockNumber") is not None or pending > nonce:
                return  # mined already, or in sequence and merely slow
            why = f"the node's next nonce for {self.address} is {pending}, below its nonce {nonce}"
        else:
            why = "the node has no record of it"
        conn.nonce_manager(self.address).reset()
        raise TransactionDropped(
            f"{why}: the node restarted from older state or dropped an earlier transaction, so "
            "this one will not be mined as things stand. The client now asks the node for the "
            "nonce again; send the operation again",
            tx_hash=tx_hash,
        )

    def _replay(self, tx_hash: str, params: dict[str, Any], receipt: TxReceipt) -> GPUHubError:
        # A mined transaction keeps no revert data; running it again as a call on the state before
        # its block recovers the custom error (exact when it was its block's first transaction).
        conn = self._conn
        with conn.io(tx_hash):
            limit = conn.w3.eth.get_transaction(tx_hash)["gas"]  # type: ignore[arg-type]
        if receipt["gasUsed"] >= limit:
            return OutOfGas(
                f"ran out of gas: it used all {limit} gas of its limit; send it again with a "
                "higher gas= (or none, to have it estimated)",
                tx_hash=tx_hash,
            )
        call: TxParams = {"from": self.address, "value": 0, **params}  # type: ignore[typeddict-item]
        try:
            with conn.serial:
                conn.w3.eth.call(call, block_identifier=max(receipt["blockNumber"] - 1, 0))
        except Exception as err:
            data = revert_data(err)
            if data is not None:
                return conn.decoder.decode(data, tx_hash=tx_hash)
        return TransactionReverted(
            f"reverted on-chain after using {receipt['gasUsed']} gas", tx_hash=tx_hash
        )
