"""GPUHubClient: one method per marketplace operation.

Reads are ``eth_call``s; every write sends one transaction, waits for its receipt and returns the
updated model. Argument rules live in ``_core``, error translation in ``_errors`` and sending in
``_transactions``; this module only wires them to the node.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Unpack, overload

from . import _core
from ._artifact import abi, bytecode
from ._errors import ErrorDecoder
from ._transactions import Connection, PendingTransaction, Sender, TxOptions
from .chain import DevChain, embedded_web3
from .exceptions import ContractNotDeployed, GPUHubError
from .models import Listing, ListingStatus, PriceUnit

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import Web3
    from web3.types import BlockIdentifier, TxReceipt

T = TypeVar("T")

#: listings read per eth_call by the paged reads.
PAGE_SIZE = 500


class GPUHubClient:
    """A connection to one GPUHub marketplace contract, sending as one account.

    Args:
        w3: a connected ``web3.Web3``.
        contract_address: the marketplace's address on that chain.
        account: who sends transactions: an eth-account ``LocalAccount`` (signed here; the key
            never leaves the object and never appears in repr, logs or errors), the address of an
            account the node unlocks, or None for a read-only client.
        poll_interval: seconds between receipt polls; 5 ms on dev chains, 1 s elsewhere by default.

    Example::

        >>> import gpuhub
        >>> client = gpuhub.GPUHubClient.local()
        >>> listing = client.create_listing(gpu_model="NVIDIA RTX 4090", capacity=24, price=10**14)
        >>> client.list_gpus(min_capacity=16)
        [Listing(listing_id=0, ...)]
    """

    def __init__(
        self,
        w3: Web3,
        contract_address: str,
        *,
        account: LocalAccount | str | None = None,
        poll_interval: float | None = None,
    ) -> None:
        conn = Connection.open(w3, ErrorDecoder(abi()), poll_interval)
        self._attach(conn, contract_address)
        self._init(conn, account)

    def _attach(self, conn: Connection, contract_address: str) -> None:
        address = conn.w3.to_checksum_address(contract_address)
        with conn.io():
            if not conn.w3.eth.get_code(address):
                raise ContractNotDeployed(
                    f"no contract code at {address} on chain {conn.chain_id}: check the address "
                    "and the RPC URL, or create a marketplace with GPUHubClient.deploy(w3, ...)"
                )
        conn.contract = conn.w3.eth.contract(address=address, abi=abi())

    def _init(self, conn: Connection, account: LocalAccount | str | None) -> None:
        self._conn = conn
        self._sender = None if account is None else Sender(conn, _account(conn.w3, account))
        self.chain = DevChain(conn.w3)
        """Clock controls for dev chains (embedded, anvil): ``client.chain.advance_time(3600)``."""

    # ------------------------------------------------------------------ construction

    @classmethod
    def local(cls) -> GPUHubClient:
        """A fresh embedded chain with the marketplace deployed, sending as its first account.

        ``client.accounts`` lists ten funded accounts; ``client.with_account(...)`` sends as
        another. Needs the ``embedded`` extra (eth-tester).
        """
        w3 = embedded_web3()
        return cls.deploy(w3, account=w3.eth.accounts[0])

    @classmethod
    def deploy(
        cls,
        w3: Web3,
        *,
        account: LocalAccount | str | None = None,
        **tx: Unpack[TxOptions],
    ) -> GPUHubClient:
        """Deploy a new marketplace and return a client for it.

        Args:
            w3: a connected Web3.
            account: the deployer, who also holds governance; the node's first account if None.
        """
        conn = Connection.open(w3, ErrorDecoder(abi()))
        sender_account = account if account is not None else conn.w3.eth.accounts[0]
        sender = Sender(conn, _account(w3, sender_account))
        params = {"data": bytecode()}
        tx_hash = sender.send(params, tx)
        receipt = sender.wait(tx_hash, params, tx.get("timeout"))
        client = object.__new__(cls)
        client._attach(conn, str(receipt["contractAddress"]))
        client._init(conn, sender_account)
        return client

    def with_account(self, account: LocalAccount | str) -> GPUHubClient:
        """The same marketplace and connection, sending as ``account``."""
        clone = object.__new__(type(self))
        clone._init(self._conn, account)
        return clone

    def __repr__(self) -> str:
        sender = self._sender.address if self._sender else None
        return (
            f"GPUHubClient(contract={self.contract_address}, account={sender}, "
            f"chain_id={self._conn.chain_id})"
        )

    @property
    def w3(self) -> Web3:
        """The underlying Web3."""
        return self._conn.w3

    @property
    def contract(self) -> Any:
        """The underlying ``web3`` contract object, for calls this client does not wrap."""
        return self._conn.contract

    @property
    def contract_address(self) -> str:
        """Checksummed address of the marketplace contract."""
        return str(self._conn.contract.address)

    @property
    def chain_id(self) -> int:
        """The chain's id (read once, at construction)."""
        return self._conn.chain_id

    @property
    def address(self) -> str | None:
        """The address this client sends from, or None when read-only."""
        return self._sender.address if self._sender else None

    @property
    def accounts(self) -> list[str]:
        """Accounts the node unlocks (ten funded ones on the embedded chain and anvil)."""
        with self._conn.io():
            return [str(a) for a in self._conn.w3.eth.accounts]

    # ------------------------------------------------------------------ listings: reads

    def listing_count(self, *, block: BlockIdentifier = "latest") -> int:
        """Number of listings ever created; ids run from 0 to ``listing_count() - 1``."""
        return int(self._call("listingCount", block=block))

    def get_listing(self, listing_id: int, *, block: BlockIdentifier = "latest") -> Listing:
        """One listing by id.

        Raises:
            ListingNotFound: no listing has this id.
        """
        _core.check_listing_id(listing_id)
        return Listing.from_abi(self._call("getListing", listing_id, block=block))

    def iter_listings(self, *, page_size: int = PAGE_SIZE) -> Iterator[Listing]:
        """Every listing in id order, read ``page_size`` per call from one block's state."""
        _core.check_int("page_size", page_size, low=1)
        with self._conn.io():
            block = self._conn.w3.eth.block_number
        count = self.listing_count(block=block)
        contract = self._conn.contract
        for offset in range(0, count, page_size):
            call = {
                "to": contract.address,
                "data": contract.encode_abi("getListings", [offset, page_size]),
            }
            with self._conn.io():
                data = self._conn.w3.eth.call(call, block_identifier=block)  # type: ignore[arg-type]
            yield from _core.decode_listing_page(bytes(data), self._conn.w3.to_checksum_address)

    def list_listings(self, *, page_size: int = PAGE_SIZE) -> list[Listing]:
        """Every listing, in id order, whatever its status."""
        return list(self.iter_listings(page_size=page_size))

    def list_gpus(
        self,
        max_price: int | None = None,
        min_capacity: int | None = None,
        *,
        available_only: bool = True,
        price_unit: PriceUnit | None = None,
        page_size: int = PAGE_SIZE,
    ) -> list[Listing]:
        """Listings that match, read in pages (the original ``/getgpulist``).

        Args:
            max_price: highest price in wei; per each listing's own unit, or per ``price_unit``
                when given (prices in other units are converted exactly).
            min_capacity: least GPU memory in GB.
            available_only: only AVAILABLE listings (default).
            price_unit: the unit ``max_price`` is quoted in; None compares raw prices.
        """
        return _core.filter_listings(
            self.iter_listings(page_size=page_size),
            max_price=max_price,
            min_capacity=min_capacity,
            available_only=available_only,
            price_unit=price_unit,
        )

    # ------------------------------------------------------------------ listings: writes

    @overload
    def create_listing(
        self,
        *,
        gpu_model: str,
        capacity: int,
        price: int,
        unit: PriceUnit = ...,
        min_duration: int = ...,
        max_duration: int | None = ...,
        wait: Literal[True] = ...,
        **tx: Unpack[TxOptions],
    ) -> Listing: ...
    @overload
    def create_listing(
        self,
        *,
        gpu_model: str,
        capacity: int,
        price: int,
        unit: PriceUnit = ...,
        min_duration: int = ...,
        max_duration: int | None = ...,
        wait: Literal[False],
        **tx: Unpack[TxOptions],
    ) -> PendingTransaction[Listing]: ...

    def create_listing(
        self,
        *,
        gpu_model: str,
        capacity: int,
        price: int,
        unit: PriceUnit = PriceUnit.MINUTE,
        min_duration: int = 1,
        max_duration: int | None = None,
        wait: bool = True,
        **tx: Unpack[TxOptions],
    ) -> Listing | PendingTransaction[Listing]:
        """List a GPU; this client's account becomes its provider.

        Args:
            gpu_model: model name, 1..64 bytes of UTF-8.
            capacity: GPU memory in GB, 1..65535.
            price: wei per ``unit``.
            unit: MINUTE, HOUR or DAY.
            min_duration: shortest rental in units (default 1).
            max_duration: longest rental in units (default: the contract's maximum, 2**24 - 1).
            wait: wait for the receipt (default) or return a PendingTransaction at once.

        Raises:
            ValidationError: an argument is out of range; nothing was sent.
        """
        terms = _core.listing_terms(
            gpu_model=gpu_model,
            capacity=capacity,
            price=price,
            unit=unit,
            min_duration=min_duration,
            max_duration=_core.MAX_DURATION if max_duration is None else max_duration,
        )

        def created(receipt: TxReceipt) -> Listing:
            (event,) = self._events(receipt, "ListingCreated")
            return Listing(
                listing_id=event["listingId"],
                provider=event["provider"],
                gpu_model=event["gpuModel"],
                capacity=event["capacity"],
                price=event["price"],
                unit=PriceUnit(event["unit"]),
                min_duration=event["minDuration"],
                max_duration=event["maxDuration"],
                status=ListingStatus.AVAILABLE,
            )

        return self._transact("createListing", terms.abi_args(), created, wait, tx)

    @overload
    def update_listing(
        self,
        listing_id: int,
        *,
        gpu_model: str | None = ...,
        capacity: int | None = ...,
        price: int | None = ...,
        unit: PriceUnit | None = ...,
        min_duration: int | None = ...,
        max_duration: int | None = ...,
        wait: Literal[True] = ...,
        **tx: Unpack[TxOptions],
    ) -> Listing: ...
    @overload
    def update_listing(
        self,
        listing_id: int,
        *,
        gpu_model: str | None = ...,
        capacity: int | None = ...,
        price: int | None = ...,
        unit: PriceUnit | None = ...,
        min_duration: int | None = ...,
        max_duration: int | None = ...,
        wait: Literal[False],
        **tx: Unpack[TxOptions],
    ) -> PendingTransaction[Listing]: ...

    def update_listing(
        self,
        listing_id: int,
        *,
        gpu_model: str | None = None,
        capacity: int | None = None,
        price: int | None = None,
        unit: PriceUnit | None = None,
        min_duration: int | None = None,
        max_duration: int | None = None,
        wait: bool = True,
        **tx: Unpack[TxOptions],
    ) -> Listing | PendingTransaction[Listing]:
        """Change some of a listing's terms; the fields not given keep their values.

        A rental already running keeps the terms it started with.

        Raises:
            NotListingProvider: this account is not the listing's provider.
            InvalidStatusTransition: the listing was removed.
        """
        current = self.get_listing(listing_id)
        terms = _core.listing_terms(
            gpu_model=current.gpu_model if gpu_model is None else gpu_model,
            capacity=current.capacity if capacity is None else capacity,
            price=current.price if price is None else price,
            unit=current.unit if unit is None else unit,
            min_duration=current.min_duration if min_duration is None else min_duration,
            max_duration=current.max_duration if max_duration is None else max_duration,
        )
        return self._transact(
            "updateListing", [listing_id, *terms.abi_args()], self._reread(listing_id), wait, tx
        )

    @overload
    def fulfill_request(
        self, listing_id: int, *, wait: Literal[True] = ..., **tx: Unpack[TxOptions]
    ) -> Listing: ...
    @overload
    def fulfill_request(
        self, listing_id: int, *, wait: Literal[False], **tx: Unpack[TxOptions]
    ) -> PendingTransaction[Listing]: ...

    def fulfill_request(
        self, listing_id: int, *, wait: bool = True, **tx: Unpack[TxOptions]
    ) -> Listing | PendingTransaction[Listing]:
        """Mark an AVAILABLE listing UNAVAILABLE (the original GPUHub's name for it).

        Raises:
            NotListingProvider: this account is not the listing's provider.
            InvalidStatusTransition: the listing is not AVAILABLE.
        """
        return self._status_change("fulfillRequest", listing_id, wait, tx)

    @overload
    def mark_available(
        self, listing_id: int, *, wait: Literal[True] = ..., **tx: Unpack[TxOptions]
    ) -> Listing: ...
    @overload
    def mark_available(
        self, listing_id: int, *, wait: Literal[False], **tx: Unpack[TxOptions]
    ) -> PendingTransaction[Listing]: ...

    def mark_available(
        self, listing_id: int, *, wait: bool = True, **tx: Unpack[TxOptions]
    ) -> Listing | PendingTransaction[Listing]:
        """Put an UNAVAILABLE listing back on the market.

        Raises:
            NotListingProvider: this account is not the listing's provider.
            InvalidStatusTransition: the listing is not UNAVAILABLE.
        """
        return self._status_change("markAvailable", listing_id, wait, tx)

    @overload
    def remove_listing(
        self, listing_id: int, *, wait: Literal[True] = ..., **tx: Unpack[TxOptions]
    ) -> Listing: ...
    @overload
    def remove_listing(
        self, listing_id: int, *, wait: Literal[False], **tx: Unpack[TxOptions]
    ) -> PendingTransaction[Listing]: ...

    def remove_listing(
        self, listing_id: int, *, wait: bool = True, **tx: Unpack[TxOptions]
    ) -> Listing | PendingTransaction[Listing]:
        """Remove a listing for good (it must not be rented).

        Raises:
            NotListingProvider: this account is not the listing's provider.
            InvalidStatusTransition: the listing is rented or already removed.
        """
        return self._status_change("removeListing", listing_id, wait, tx)

    # ------------------------------------------------------------------ plumbing

    def _status_change(
        self, fn: str, listing_id: int, wait: bool, tx: TxOptions
    ) -> Listing | PendingTransaction[Listing]:
        _core.check_listing_id(listing_id)
        return self._transact(fn, [listing_id], self._reread(listing_id), wait, tx)

    def _reread(self, listing_id: int) -> Callable[[TxReceipt], Listing]:
        def read(receipt: TxReceipt) -> Listing:
            return self.get_listing(listing_id, block=receipt["blockNumber"])

        return read

    def _call(self, fn: str, *args: Any, block: BlockIdentifier = "latest") -> Any:
        with self._conn.io():
            return self._conn.contract.functions[fn](*args).call(block_identifier=block)

    def _events(self, receipt: TxReceipt, name: str) -> list[Any]:
        from web3.logs import DISCARD

        event = self._conn.contract.events[name]()
        return [e["args"] for e in event.process_receipt(receipt, errors=DISCARD)]

    def _require_sender(self) -> Sender:
        if self._sender is None:
            raise GPUHubError(
                "this client is read-only: pass account=... to GPUHubClient, or use "
                "client.with_account(account) to send transactions"
            )
        return self._sender

    def _transact(
        self,
        fn: str,
        args: list[Any],
        finish: Callable[[TxReceipt], T],
        wait: bool,
        tx: TxOptions,
        value: int = 0,
    ) -> T | PendingTransaction[T]:
        sender = self._require_sender()
        params = {
            "to": self._conn.contract.address,
            "data": self._conn.contract.encode_abi(fn, args=args),
            "value": value,
        }
        tx_hash = sender.send(params, tx)

        def complete(timeout: float | None) -> T:
            receipt = sender.wait(tx_hash, params, timeout)
            return finish(receipt)

        if not wait:
            return PendingTransaction(tx_hash, complete)
        return complete(tx.get("timeout"))


def _account(w3: Web3, account: LocalAccount | str) -> LocalAccount | str:
    if isinstance(account, str):
        return str(w3.to_checksum_address(account))
    if not hasattr(account, "sign_transaction") or not hasattr(account, "address"):
        raise TypeError("account must be an address or an eth_account LocalAccount")
    return account
