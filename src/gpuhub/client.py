"""GPUHubClient: one method per marketplace operation, run with blocking I/O.

Every method hands a plan from ``_ops`` (argument checks, encoding, decoding) to :class:`SyncIO`,
which answers its requests over the node's provider (JSON-RPC, skipping web3's middleware and
formatting) or the embedded chain. ``aio.AsyncGPUHubClient`` is the same surface awaited.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Unpack, overload

from . import _core, _prepare
from ._errors import TX_METHODS, translate
from ._json import bound_answers
from ._ops import PAGE_SIZE, ListingBatch, Operations, Sent, open_connection, update_changes
from ._sessions import own_session_lock
from ._transactions import (
    Acquire,
    Batch,
    Connection,
    NextHead,
    PendingTransaction,
    Plan,
    Preparer,
    Release,
    Rpc,
    Sender,
    Sleep,
    TxOptions,
    answer,
    batch_answers,
)
from .chain import DevChain, embedded_web3
from .deploy import deploy
from .events import ContractEvent
from .governance import Governance, GovernancePlans, GovernanceSettings
from .models import (
    Listing,
    PayoutAllowance,
    PreparedTransaction,
    PriceUnit,
    Rating,
    Rental,
    Reputation,
    TransactionOutcome,
    TxResult,
)

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from eth_typing import ChecksumAddress
    from web3 import Web3
    from web3.types import BlockIdentifier

    from .alerts import Alerts
    from .search import Query, SearchResult
    from .watch import Watch

T = TypeVar("T")

#: connections kept open to an HTTP node, shared by every thread sending through one client.
HTTP_POOL_SIZE = 64

__all__ = ["PAGE_SIZE", "GPUHubClient", "ListingBatch", "SyncIO", "SyncListingBatch"]


class SyncIO:
    """Answers a plan's requests with blocking I/O: the provider's ``make_request`` for a node,
    eth-tester for the embedded chain (one request at a time: it is not thread-safe)."""

    def __init__(self, w3: Web3) -> None:
        from ._embedded import EmbeddedChain

        self.w3 = w3
        self.provider: Any = w3.provider
        tester = getattr(self.provider, "ethereum_tester", None)
        self.embedded = None if tester is None else EmbeddedChain(tester)
        self.serial: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if self.embedded is not None else contextlib.nullcontext()
        )
        self.conn: Connection | None = None
        self.batches = hasattr(self.provider, "make_batch_request")
        _read_environment_once(self.provider)
        bound_answers(self.provider)
        own_session_lock(self.provider)

    def run(self, plan: Plan[T]) -> T:
        """Drive ``plan`` to its result, answering each request it yields."""
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                op = plan.send(value) if error is None else plan.throw(error)
            except StopIteration as stop:
                result: T = stop.value
                return result
            value, error = None, None
            try:
                if isinstance(op, Rpc):
                    value = self.request(op)
                elif isinstance(op, Batch):
                    value = self.batch(op.calls)
                elif isinstance(op, Sleep):
                    time.sleep(op.seconds)
                elif isinstance(op, NextHead):  # no subscription here: the wait is a sleep
                    time.sleep(op.seconds)
                    value = time.monotonic()
                elif isinstance(op, Acquire):
                    op.nonces.lock.acquire()
                elif isinstance(op, Release):
                    op.nonces.lock.release()
            except BaseException as err:
                error = err

    def request(self, call: Rpc) -> Any:
        """One JSON-RPC request; errors come back as gpuhub exceptions."""
        sending = call.method in TX_METHODS
        with self.serial, translate(self._decoder(), tx_hash=call.tx_hash, sending=sending):
            if self.embedded is not None:
                return self.embedded.request(call.method, call.params)
            response = self.provider.make_request(call.method, call.params)
        return answer(self._decoder(), call, response)

    def batch(self, calls: tuple[Rpc, ...]) -> list[Any]:
        """Several requests in one round trip where the provider can batch them."""
        if self.embedded is not None or not self.batches or len(calls) == 1:
            return [self.request(call) for call in calls]
        with translate(self._decoder()):
            responses = self.provider.make_batch_request([(c.method, c.params) for c in calls])
        return batch_answers(self._decoder(), calls, responses)

    def _decoder(self) -> Any:
        from ._artifact import error_abi
        from ._errors import ErrorDecoder

        if self.conn is not None:
            return self.conn.decoder
        return ErrorDecoder(error_abi())


def _read_environment_once(provider: Any) -> None:
    """Give a web3 ``HTTPProvider`` one ``requests`` session whose proxies, CA bundle and netrc
    credentials are read from the environment now, once.

    By default requests reads them again on every request (``trust_env``), about 7 % of the CPU
    a write costs. A provider built with its own ``session=`` keeps it.
    """
    from web3 import HTTPProvider

    if not isinstance(provider, HTTPProvider):
        return
    manager = getattr(provider, "_request_session_manager", None)
    if manager is None or getattr(manager, "_explicit_session", False) is not None:
        return
    import requests
    from requests.adapters import HTTPAdapter
    from requests.utils import get_netrc_auth

    url = str(provider.endpoint_uri)
    session = requests.Session()
    settings = session.merge_environment_settings(url, {}, None, None, None)
    session.proxies = settings["proxies"]
    session.verify = settings["verify"]
    session.auth = get_netrc_auth(url)
    session.trust_env = False
    # One session now serves every thread (web3 made one per thread): room for many at once.
    for prefix in ("http://", "https://"):
        session.mount(prefix, HTTPAdapter(pool_maxsize=HTTP_POOL_SIZE))
    manager._explicit_session = session


def _connect(
    w3: Web3, address: str | None, poll_interval: float | None, block_time: float | None
) -> tuple[SyncIO, Connection]:
    """The I/O and the shared connection state for a marketplace at ``address`` (None: one
    about to be deployed)."""
    io = SyncIO(w3)
    io.conn = io.run(
        open_connection(
            address,
            embedded=io.embedded is not None,
            lock_factory=threading.Lock,
            poll_interval=poll_interval,
            block_time=block_time,
        )
    )
    return io, io.conn


class GPUHubClient:
    """A connection to one GPUHub marketplace contract, sending as one account.

    Args:
        w3: a connected ``web3.Web3``.
        contract_address: the marketplace's address on that chain.
        account: who sends transactions: an eth-account ``LocalAccount`` (signed here; the key
            never leaves the object and never appears in repr, logs or errors), the address of an
            account the node unlocks, or None for a read-only client.
        poll_interval: fixed seconds between receipt requests; by default receipts are asked for
            at the chain's pace (at once where every transaction is mined on arrival, at the next
            block's expected arrival where blocks come on a timer, once a second elsewhere).
        block_time: seconds between the chain's blocks (0: a block per transaction); learned
            from the chain when None.

    Example::

        >>> import gpuhub
        >>> client = gpuhub.GPUHubClient.local()
        >>> listing = client.create_listing(gpu_model="NVIDIA RTX 4090", capacity=24, price=10**14)
        >>> client.list_gpus(min_capacity=16)
        [<Listing #0: NVIDIA RTX 4090, 24 GB, 0.0001 ETH/minute, AVAILABLE, provider 0x7E5F…5Bdf>]
    """

    def __init__(
        self,
        w3: Web3,
        contract_address: str,
        *,
        account: LocalAccount | str | None = None,
        poll_interval: float | None = None,
        block_time: float | None = None,
    ) -> None:
        address = _core.check_contract_address(contract_address, "GPUHubClient")
        checked = None if account is None else _core.check_account(account)
        io, conn = _connect(w3, address, poll_interval, block_time)
        self._init(io, conn, checked)

    def _init(self, io: SyncIO, conn: Connection, account: LocalAccount | str | None) -> None:
        self._io = io
        self._conn = conn
        sender = None if account is None else Sender(conn, _core.check_account(account))
        self._ops = Operations(conn, sender)
        self.chain = DevChain(io.w3)
        """Clock controls for dev chains (embedded, anvil): ``client.chain.advance_time(3600)``."""

    def _run(self, plan: Plan[T]) -> T:
        return self._io.run(plan)

    def _require_sender(self) -> Sender:
        return self._ops.require_sender()

    def _write(self, plan: Plan[Sent[T]], wait: bool, tx: TxOptions) -> T | PendingTransaction[T]:
        sent = self._io.run(plan)
        pending = PendingTransaction(
            sent.tx_hash, lambda timeout: self._io.run(sent.finish(timeout))
        )
        return pending.result(tx.get("timeout")) if wait else pending

    # ------------------------------------------------------------------ construction

    @classmethod
    def local(cls, *, governance: str | GovernanceSettings | None = None) -> GPUHubClient:
        """A fresh embedded chain with the marketplace and its governance deployed, sending as
        its first account.

        ``client.accounts`` lists ten funded accounts; ``client.with_account(...)`` sends as
        another. ``governance`` is as for ``deploy`` (a governor with short dev periods by
        default). Needs the ``embedded`` extra (eth-tester).
        """
        w3 = embedded_web3()
        return cls.deploy(w3, account=w3.eth.accounts[0], governance=governance)

    @classmethod
    def deploy(
        cls,
        w3: Web3,
        *,
        account: LocalAccount | str | None = None,
        governance: str | GovernanceSettings | None = None,
        **tx: Unpack[TxOptions],
    ) -> GPUHubClient:
        """Deploy a new marketplace with its governance and return a client for it.

        By default the marketplace is governed by its participants: a votes contract, a
        ``GPUHubGovernor`` and its timelock are deployed and wired in, the timelock becomes the
        marketplace's governance address and treasury, and the deployer gets the bootstrap grant
        of voting units (``GovernanceSettings.bootstrap``). The deployer keeps no power of its own.

        Args:
            w3: a connected Web3.
            account: the deployer; the node's first account if None.
            governance: a ``GovernanceSettings`` for the governor (default: production periods,
                or ``GovernanceSettings.dev()`` on dev chains), or an address to hand the
                marketplace's powers to instead (a multisig, or the deployer itself), with no
                governor deployed.

        Example::

            >>> client = GPUHubClient.deploy(w3, account=acct)                   # governed
            >>> client = GPUHubClient.deploy(w3, account=acct, governance=safe)  # a multisig
        """
        io, conn = _connect(w3, None, None, None)
        sender_account = _core.check_account(account if account is not None else w3.eth.accounts[0])
        io.run(deploy(conn, Sender(conn, sender_account), governance, tx))
        client = object.__new__(cls)
        client._init(io, conn, sender_account)
        return client

    def with_account(self, account: LocalAccount | str) -> GPUHubClient:
        """The same marketplace and connection, sending as ``account``."""
        clone = object.__new__(type(self))
        clone._init(self._io, self._conn, account)
        return clone

    def share_nonces(self, lock: Any) -> None:
        """Send from this account beside other processes that send from it too (the workers of
        ``gpuhub serve --workers``): each send takes ``lock`` (``acquire()`` and ``release()``,
        a lock every one of those processes takes, such as ``MarketIndex.sender_lock``), reads
        the account's next nonce from the node under it and hands the transaction over before
        giving it back, so no two processes take one nonce. Costs one
        ``eth_getTransactionCount`` per send.
        """
        address = self._require_sender().address
        self._conn.share_nonces(address, lock)

    def batch(self) -> SyncListingBatch:
        """Collect listing operations to send as one transaction (the contract's ``multicall``).

        Example::

            >>> batch = client.batch()
            >>> for i in range(50):
            ...     batch.create_listing(gpu_model=f"A100 #{i}", capacity=80, price=10**15)
            >>> listings = batch.send()      # one signature, one transaction, 50 Listings

        One failing operation reverts the whole batch with that operation's typed error.
        """
        return SyncListingBatch(self)

    def __repr__(self) -> str:
        sender = self._ops.sender.address if self._ops.sender else None
        return (
            f"GPUHubClient(contract={self.contract_address}, account={sender}, "
            f"chain_id={self._conn.chain_id})"
        )

    @property
    def w3(self) -> Web3:
        """The underlying Web3."""
        return self._io.w3

    @property
    def contract(self) -> Any:
        """The underlying ``web3`` contract object, for calls this client does not wrap."""
        from ._artifact import abi

        return self._io.w3.eth.contract(address=self.contract_address, abi=abi())

    @property
    def contract_address(self) -> ChecksumAddress:
        """Checksummed address of the marketplace contract."""
        address: ChecksumAddress = self._conn.address  # type: ignore[assignment]
        return address

    @property
    def chain_id(self) -> int:
        """The chain's id (read once, at construction)."""
        return self._conn.chain_id

    @property
    def address(self) -> str | None:
        """The address this client sends from, or None when read-only."""
        return self._ops.sender.address if self._ops.sender else None

    @property
    def accounts(self) -> list[str]:
        """Accounts the node unlocks (ten funded ones on the embedded chain and anvil)."""
        with self._io.serial, translate(self._conn.decoder):
            return [str(a) for a in self._io.w3.eth.accounts]

    def block_number(self) -> int:
        """Number of the latest block."""
        return self._run(self._ops.block_number())

    def get_events(
        self,
        from_block: int,
        to_block: int | None = None,
        *,
        event_types: Iterable[str | type[ContractEvent]] = (),
    ) -> list[ContractEvent]:
        """The marketplace's events in blocks ``from_block..to_block`` (default: latest), in order.

        Each is a typed event from :mod:`gpuhub.events` (``ListingCreated``, ``RentalStarted``,
        ...); ``event.to_market_event()`` gives the generic :class:`MarketEvent` form.

        Args:
            from_block: first block to read.
            to_block: last block to read (default: the latest).
            event_types: only these events (classes or Solidity names); all when empty.

        Example::

            >>> for event in client.get_events(0, event_types=["RentalStarted"]):
            ...     print(event.block_number, event.rental_id, event.renter)
        """
        return self._run(self._ops.get_events(from_block, to_block, event_types))

    def watch(
        self,
        *event_types: str | type[ContractEvent],
        from_block: int | None = None,
        confirmations: int = 0,
        listing_id: int | None = None,
        account: str | None = None,
        poll_interval: float | None = None,
    ) -> Watch:
        """Typed events as blocks arrive, forever, until the returned iterator is closed.

        Survives the node going away: it backs off, then resumes after the last block it
        delivered, so no event is missed or delivered twice. See :mod:`gpuhub.watch` for the
        reorganisation policy.

        Args:
            event_types: only these events (classes or Solidity names); all when none given.
            from_block: first block to deliver; default: the next block to be mined.
            confirmations: deliver an event only once this many blocks are on top of its own.
            listing_id: only events about this listing (rentals of it included).
            account: only events that involve this address (as provider, renter, withdrawer or
                governance).
            poll_interval: seconds between polls; by default paced by the chain's block time.

        Example::

            >>> with client.watch("RentalStarted", account=me) as events:
            ...     for event in events:
            ...         start_job(event.rental_id)
        """
        from .watch import Watch

        return Watch(
            self._ops,
            self._run,
            event_types,
            from_block=from_block,
            confirmations=confirmations,
            listing_id=listing_id,
            account=account,
            poll_interval=poll_interval,
        )

    def alerts(
        self,
        account: str,
        *,
        ends_within: int = 600,
        searches: Iterable[str] = (),
        poll_interval: float | None = None,
    ) -> Alerts:
        """Alerts for ``account`` as the chain moves: rented, ending, ended, settleable, balance,
        and new or cheaper listings that match a saved search.

        See :mod:`gpuhub.alerts` for the kinds. Time-based alerts follow the chain's clock.

        Args:
            account: whose alerts (as provider and as renter).
            ends_within: warn when a rental has at most this many seconds left.
            searches: saved searches, query strings of :mod:`gpuhub.search`
                (``"model~4090 price_per_hour<=0.5eth"``).
            poll_interval: seconds between polls; by default paced by the chain's block time.

        Example::

            >>> with client.alerts(me, ends_within=600, searches=["model~A100"]) as alerts:
            ...     for alert in alerts:
            ...         notify(alert.message)

        Raises:
            QueryError: a saved search does not parse; nothing is watched then.
        """
        from .alerts import Alerts

        return Alerts(
            self._ops,
            self._run,
            account,
            ends_within=ends_within,
            searches=searches,
            poll_interval=poll_interval,
        )

    # ------------------------------------------------------------------ listings: reads

    def listing_count(self, *, block: BlockIdentifier = "latest") -> int:
        """Number of listings ever created; ids run from 0 to ``listing_count() - 1``."""
        return self._run(self._ops.listing_count(block))

    def get_listing(self, listing_id: int, *, block: BlockIdentifier = "latest") -> Listing:
        """One listing by id.

        Raises:
            ListingNotFound: no listing has this id.
        """
        return self._run(self._ops.get_listing(listing_id, block))

    def iter_listings(self, *, page_size: int = PAGE_SIZE) -> Iterator[Listing]:
        """Every listing in id order, read ``page_size`` per call from one block's state (the
        pages go to the node in one JSON-RPC batch)."""
        yield from self._run(self._ops.list_listings(page_size))

    def list_listings(self, *, page_size: int = PAGE_SIZE) -> list[Listing]:
        """Every listing, in id order, whatever its status."""
        return self._run(self._ops.list_listings(page_size))

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
        return self._run(
            self._ops.list_gpus(max_price, min_capacity, available_only, price_unit, page_size)
        )

    def search(self, query: str | Query | None = None, **kwargs: Any) -> SearchResult:
        """Run a query over every listing read from the chain (no index needed).

        Reads every listing in pages, then the reputations of the providers the query looks at
        (every provider when it filters or sorts on rating, ratings, completed or terminations;
        else those of the page) in one JSON-RPC batch. ``query`` is a query string, a ``Query``,
        or None; keyword arguments add terms (``model="4090", min_capacity=24,
        max_price_per_hour=...``) and set ``sort``, ``limit`` and ``offset``.
        ``MarketIndex.search`` gives the same answer from SQL.

        Example::

            >>> result = client.search("model~4090 price_per_hour<=0.5eth sort=price_per_hour")
            >>> result.total, result.listings[:3]

        Raises:
            QueryError: the query does not parse; ``position`` says where.
        """
        return self._run(self._ops.search(query, kwargs))

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
            max_duration: longest rental in units (default: the contract's maximum for the unit,
                2**24 - 1 units and at most 2**30 seconds).
            wait: wait for the receipt (default) or return a PendingTransaction at once.

        Raises:
            ValidationError: an argument is out of range; nothing was sent.
        """
        plan = self._ops.create_listing(
            gpu_model=gpu_model,
            capacity=capacity,
            price=price,
            unit=unit,
            min_duration=min_duration,
            max_duration=max_duration,
            tx=tx,
        )
        return self._write(plan, wait, tx)

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
        changes = update_changes(
            gpu_model=gpu_model,
            capacity=capacity,
            price=price,
            unit=unit,
            min_duration=min_duration,
            max_duration=max_duration,
        )
        return self._write(self._ops.update_listing(listing_id, changes, tx), wait, tx)

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
        return self._write(self._ops.status_change("fulfillRequest", listing_id, tx), wait, tx)

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
        return self._write(self._ops.status_change("markAvailable", listing_id, tx), wait, tx)

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
        return self._write(self._ops.status_change("removeListing", listing_id, tx), wait, tx)

    # ------------------------------------------------------------------ rentals: reads

    def quote(self, listing_id: int, duration: int, *, block: BlockIdentifier = "latest") -> int:
        """The exact cost in wei of renting ``listing_id`` for ``duration`` units now.

        Raises:
            ListingNotFound: no listing has this id.
            InvalidDuration: ``duration`` is outside the listing's bounds.
        """
        return self._run(self._ops.quote(listing_id, duration, block))

    def rental_count(self, *, block: BlockIdentifier = "latest") -> int:
        """Number of rentals ever started; ids run from 0 to ``rental_count() - 1``."""
        return self._run(self._ops.rental_count(block))

    def get_rental(self, rental_id: int, *, block: BlockIdentifier = "latest") -> Rental:
        """One rental by id.

        Raises:
            RentalNotFound: no rental has this id.
        """
        return self._run(self._ops.get_rental(rental_id, block))

    def active_rental(self, listing_id: int) -> Rental | None:
        """The listing's running rental, or None when it is not rented.

        Raises:
            ListingNotFound: no listing has this id.
        """
        return self._run(self._ops.active_rental(listing_id))

    def iter_rentals(self, *, page_size: int = PAGE_SIZE) -> Iterator[Rental]:
        """Every rental in id order, read ``page_size`` per call from one block's state."""
        yield from self._run(self._ops.list_rentals(page_size))

    def rentals(
        self, *, renter: str | None = None, provider: str | None = None, active_only: bool = False
    ) -> list[Rental]:
        """Rentals, optionally only those of one renter and/or one provider, or only active ones."""
        return self._run(self._ops.rentals(renter, provider, active_only))

    def balance_of(self, address: str | None = None, *, block: BlockIdentifier = "latest") -> int:
        """Wei ``address`` (default: this client's account) can withdraw now. The fees the
        treasury holds are not part of anyone's balance: see ``treasury_funds()``."""
        return self._run(self._ops.balance_of(address, block))

    def provider_terminations(self, provider: str) -> int:
        """How many rentals ``provider`` ended early (reputation reads it)."""
        return self._run(self._ops.provider_terminations(provider))

    def reputation(self, address: str, *, block: BlockIdentifier = "latest") -> Reputation:
        """What the contract counts about ``address``: ratings received on each side, rentals
        completed on each side, and rentals it ended early as a provider.

        Example::

            >>> rep = client.reputation(listing.provider)
            >>> rep.provider_score(), rep.completed_as_provider, rep.terminations
        """
        return self._run(self._ops.reputation(address, block))

    def ratings(
        self,
        *,
        ratee: str | None = None,
        rater: str | None = None,
        rental_id: int | None = None,
        from_block: int = 0,
        to_block: int | None = None,
    ) -> list[Rating]:
        """Ratings (with their comments) from the ``Rated`` events, oldest first.

        Args:
            ratee: only ratings of this address.
            rater: only ratings by this address.
            rental_id: only the ratings of this rental (at most two: one per side).
            from_block: the first block searched (default: the first).
            to_block: the last block searched (default: the latest).
        """
        return self._run(self._ops.ratings(ratee, rater, rental_id, from_block, to_block))

    def fee_bps(self) -> int:
        """The platform fee in basis points for rentals started now."""
        return int(self._run(self._ops.call("feeBps")))

    def paused(self) -> bool:
        """True while new listings and rentals are refused."""
        return bool(self._run(self._ops.call("paused")))

    def governance_address(self) -> str:
        """The address that sets the fee, the treasury and the pause switch (the governor's
        timelock on a governed marketplace)."""
        return str(self._run(self._ops.call("governance")))

    def governor(self) -> str | None:
        """The governor whose timelock holds governance, or None when governance is a plain
        address."""
        return self._run(self._ops.optional_address("governor"))

    def guardian(self) -> str | None:
        """The address that may pause at once, or None."""
        return self._run(self._ops.optional_address("guardian"))

    @property
    def governance(self) -> Governance:
        """The marketplace's governor, votes and timelock, on this connection and account.

        Raises:
            NoGovernor: the marketplace is governed by a plain address (no governor).
        """
        return Governance(self._run(GovernancePlans.find(self._ops)), self._run)

    def treasury(self) -> str:
        """The address that may pay out the platform fees (``pay_from_treasury``), within the
        payout limit: the timelock on a governed marketplace."""
        return str(self._run(self._ops.call("treasury")))

    def treasury_funds(self) -> int:
        """Wei of fees the treasury holds: every fee charged, less what was paid out."""
        return int(self._run(self._ops.call("treasuryFunds")))

    def payout_allowance(self) -> PayoutAllowance:
        """What the treasury may pay out now: at most 5% of the fees it holds per 30 days, the
        period starting with its first payout.

        Example::

            >>> allowed = client.payout_allowance()
            >>> gov.propose([gpuhub.Action.pay(auditor, allowed.amount)], "Pay the audit")
        """
        result: PayoutAllowance = self._run(self._ops.payout_allowance())
        return result

    def total_earned_votes(self) -> int:
        """Every voting unit ever earned by paying fees, claimed or not (one per wei of fee)."""
        return int(self._run(self._ops.call("totalEarnedVotes")))

    # ------------------------------------------------------------------ rentals: writes

    @overload
    def rent(
        self,
        listing_id: int,
        duration: int,
        *,
        max_total: int | None = ...,
        wait: Literal[True] = ...,
        **tx: Unpack[TxOptions],
    ) -> Rental: ...
    @overload
    def rent(
        self,
        listing_id: int,
        duration: int,
        *,
        max_total: int | None = ...,
        wait: Literal[False],
        **tx: Unpack[TxOptions],
    ) -> PendingTransaction[Rental]: ...

    def rent(
        self,
        listing_id: int,
        duration: int,
        *,
        max_total: int | None = None,
        wait: bool = True,
        **tx: Unpack[TxOptions],
    ) -> Rental | PendingTransaction[Rental]:
        """Rent a listing for ``duration`` units, paying into escrow.

        The price and unit are read from the listing now and stated to the contract; if the
        provider changes them before this transaction lands, it reverts with ``TermsChanged``
        and nothing is charged. With ``max_total`` the rent goes through as long as the cost is
        at most that much; ``max_total`` wei are sent and the excess is credited to this
        account's balance (see ``withdraw``).

        Raises:
            ListingNotAvailable: the listing is not AVAILABLE (a rival may have rented it first).
            InvalidDuration: ``duration`` is outside the listing's bounds.
            TermsChanged: the price or unit changed past what was accepted.
            CannotRentOwnListing: this account is the listing's provider.
            MarketplacePaused: new rentals are paused.
        """
        return self._write(self._ops.rent(listing_id, duration, max_total, tx), wait, tx)

    @overload
    def extend_rental(
        self, rental_id: int, extra: int, *, wait: Literal[True] = ..., **tx: Unpack[TxOptions]
    ) -> Rental: ...
    @overload
    def extend_rental(
        self, rental_id: int, extra: int, *, wait: Literal[False], **tx: Unpack[TxOptions]
    ) -> PendingTransaction[Rental]: ...

    def extend_rental(
        self, rental_id: int, extra: int, *, wait: bool = True, **tx: Unpack[TxOptions]
    ) -> Rental | PendingTransaction[Rental]:
        """Buy ``extra`` more units of a running rental at its locked price (renter only).

        Raises:
            NotRenter: this account is not the renter.
            RentalExpired: the end time has passed.
            InvalidDuration: the total would exceed the listing's maximum.
        """
        return self._write(self._ops.extend_rental(rental_id, extra, tx), wait, tx)

    @overload
    def end_rental(
        self, rental_id: int, *, wait: Literal[True] = ..., **tx: Unpack[TxOptions]
    ) -> Rental: ...
    @overload
    def end_rental(
        self, rental_id: int, *, wait: Literal[False], **tx: Unpack[TxOptions]
    ) -> PendingTransaction[Rental]: ...

    def end_rental(
        self, rental_id: int, *, wait: bool = True, **tx: Unpack[TxOptions]
    ) -> Rental | PendingTransaction[Rental]:
        """End a rental now, as its renter or provider; the renter pays only for seconds used.

        The returned rental's ``end`` is when it ended; ``rental.cost_at(rental.end)`` is what was
        billed. Ending by the provider before the end time counts against the provider.

        Raises:
            NotRentalParty: this account is neither renter nor provider.
            RentalNotActive: it has already ended.
        """
        return self._write(self._ops.rental_write("endRental", rental_id, tx), wait, tx)

    @overload
    def settle(
        self, rental_id: int, *, wait: Literal[True] = ..., **tx: Unpack[TxOptions]
    ) -> Rental: ...
    @overload
    def settle(
        self, rental_id: int, *, wait: Literal[False], **tx: Unpack[TxOptions]
    ) -> PendingTransaction[Rental]: ...

    def settle(
        self, rental_id: int, *, wait: bool = True, **tx: Unpack[TxOptions]
    ) -> Rental | PendingTransaction[Rental]:
        """Settle a rental whose end time has passed (anyone may), crediting both sides.

        Raises:
            RentalNotExpired: the rental still runs.
            RentalNotActive: it has already ended.
        """
        return self._write(self._ops.rental_write("settle", rental_id, tx), wait, tx)

    @overload
    def withdraw(
        self, to: str | None = ..., *, wait: Literal[True] = ..., **tx: Unpack[TxOptions]
    ) -> int: ...
    @overload
    def withdraw(
        self, to: str | None = ..., *, wait: Literal[False], **tx: Unpack[TxOptions]
    ) -> PendingTransaction[int]: ...

    def withdraw(
        self, to: str | None = None, *, wait: bool = True, **tx: Unpack[TxOptions]
    ) -> int | PendingTransaction[int]:
        """Send this account's whole withdrawable balance to itself (or to ``to``); returns wei.

        Raises:
            NothingToWithdraw: the balance is zero.
            WithdrawFailed: the receiver refused the ETH; the balance is kept.
        """
        return self._write(self._ops.withdraw(to, tx), wait, tx)

    # ------------------------------------------------------------------ reputation

    @overload
    def rate(
        self,
        rental_id: int,
        score: int,
        *,
        comment: str = ...,
        wait: Literal[True] = ...,
        **tx: Unpack[TxOptions],
    ) -> Rating: ...
    @overload
    def rate(
        self,
        rental_id: int,
        score: int,
        *,
        comment: str = ...,
        wait: Literal[False],
        **tx: Unpack[TxOptions],
    ) -> PendingTransaction[Rating]: ...

    def rate(
        self,
        rental_id: int,
        score: int,
        *,
        comment: str = "",
        wait: bool = True,
        **tx: Unpack[TxOptions],
    ) -> Rating | PendingTransaction[Rating]:
        """Rate the other side of a rental that is over: as its renter, rate the provider; as
        the listing's provider, rate the renter. Once per side per rental.

        Args:
            rental_id: a rental that was ended (by either side) or settled.
            score: 1 (worst) to 5 (best).
            comment: at most 280 bytes of UTF-8; published in the event, never stored.

        Raises:
            ValidationError: the score or the comment is out of range; nothing was sent.
            NotRentalParty: this account is neither the renter nor the provider.
            RentalNotOver: the rental is still active.
            AlreadyRated: this account already rated this rental.

        Example::

            >>> renter.end_rental(rental.rental_id)
            >>> renter.rate(rental.rental_id, 5, comment="fast and stable")
            Rating(rental_id=0, ..., score=5, ...)
        """
        return self._write(self._ops.rate(rental_id, score, comment, tx), wait, tx)

    # ------------------------------------------------------------------ access handoff

    @overload
    def request_access(
        self,
        rental_id: int,
        *,
        ssh_key: str | None = ...,
        access_key: bytes | None = ...,
        wait: Literal[True] = ...,
        **tx: Unpack[TxOptions],
    ) -> TxResult: ...
    @overload
    def request_access(
        self,
        rental_id: int,
        *,
        ssh_key: str | None = ...,
        access_key: bytes | None = ...,
        wait: Literal[False],
        **tx: Unpack[TxOptions],
    ) -> PendingTransaction[TxResult]: ...

    def request_access(
        self,
        rental_id: int,
        *,
        ssh_key: str | None = None,
        access_key: bytes | None = None,
        wait: bool = True,
        **tx: Unpack[TxOptions],
    ) -> TxResult | PendingTransaction[TxResult]:
        """Ask the provider of a running rental for access (renter only).

        Publishes a public key made for this rental and, optionally, an SSH public key; the
        provider's agent answers with the connection details encrypted to that key, which
        :meth:`access` reads. The key is derived from this account's signature of a text naming
        the chain, marketplace and rental, so the same account reads the details again after a
        restart, anywhere, with nothing stored.

        Args:
            rental_id: a rental of this account that is running.
            ssh_key: an OpenSSH public key ("ssh-ed25519 AAAA..."); its comment is not sent.
            access_key: a 32-byte secp256k1 private key of your own for this rental, for
                accounts that cannot sign the same text twice alike (contract wallets); pass it
                to :meth:`access` too. Default: derived as above.

        Raises:
            ValidationError: the SSH key is not one; nothing was sent.
            NotRenter: this account is not the rental's renter.
            RentalNotActive, RentalExpired: the rental is over.

        Example::

            >>> renter.request_access(rental.rental_id, ssh_key=open("id_ed25519.pub").read())
            >>> renter.access(rental.rental_id, timeout=60)
            'ssh -p 2222 root@203.0.113.7'
        """
        return self._write(self._ops.request_access(rental_id, ssh_key, access_key, tx), wait, tx)

    @overload
    def grant_access(
        self,
        rental_id: int,
        details: str,
        *,
        public_key: bytes | None = ...,
        wait: Literal[True] = ...,
        **tx: Unpack[TxOptions],
    ) -> TxResult: ...
    @overload
    def grant_access(
        self,
        rental_id: int,
        details: str,
        *,
        public_key: bytes | None = ...,
        wait: Literal[False],
        **tx: Unpack[TxOptions],
    ) -> PendingTransaction[TxResult]: ...

    def grant_access(
        self,
        rental_id: int,
        details: str,
        *,
        public_key: bytes | None = None,
        wait: bool = True,
        **tx: Unpack[TxOptions],
    ) -> TxResult | PendingTransaction[TxResult]:
        """Hand the renter the connection details, encrypted so that only the renter can read
        them (the listing's provider only; the provider agent does this for you).

        Args:
            rental_id: a rental of one of this account's listings.
            details: what the renter needs to connect ("ssh -p 2222 root@203.0.113.7"), at most
                958 bytes of UTF-8.
            public_key: the key to encrypt to (33 bytes); default: that of the renter's newest
                access request, read from the chain.

        Raises:
            ValidationError: no access request yet, or details empty or too long.
            NotListingProvider: this account is not the provider of the rental's listing.
        """
        return self._write(self._ops.grant_access(rental_id, details, public_key, tx), wait, tx)

    def access(
        self,
        rental_id: int,
        *,
        timeout: float = 0,
        access_key: bytes | None = None,
        from_block: int = 0,
    ) -> str | None:
        """The connection details the provider granted this account for a rental, decrypted;
        None while none has come (after waiting up to ``timeout`` seconds for them).

        Args:
            rental_id: a rental this account asked access for (:meth:`request_access`).
            timeout: seconds to wait for a grant; 0 reads once.
            access_key: the key given to :meth:`request_access`, if one was.
            from_block: the first block to look in (a node may refuse very long ranges).
        """
        return self._run(self._ops.access(rental_id, access_key, timeout, from_block))

    # ------------------------------------------------------------------ wallets that sign elsewhere

    def prepare(self, call: str, *, sender: str | None = None, **args: Any) -> PreparedTransaction:
        """The unsigned transaction of a write, for an account whose key is elsewhere (a browser
        wallet, a KMS, a hardware wallet), and a summary of what it does and costs.

        Runs the write's own checks and reads, and the node's gas estimate, as a send would:
        a call that would revert raises its typed error here and nothing is prepared.

        Args:
            call: the write, named as its client method (``"rent"``, ``"create_listing"``,
                ``"end_rental"``, ...; ``gpuhub._prepare.CALLS`` lists them).
            sender: the account that will sign (default: this client's account).
            args: the method's own arguments, by name (``listing_id=3, duration=2``);
                ``request_access`` takes the rental's ``public_key`` instead of a key.

        Example::

            >>> prepared = client.prepare("rent", sender=me, listing_id=3, duration=2)
            >>> print(prepared.summary)
            >>> signed = account.sign_transaction(prepared.transaction)
            >>> outcome = client.relay(signed.raw_transaction, sender=me)
            >>> outcome.rentals[0].rental_id

        Raises:
            ValidationError: an unknown call or argument, or one out of range.
            ContractError: the call would revert now (``ListingNotAvailable``, ...).
        """
        return self._run(_prepare.prepare(self._preparing(sender), call, args))

    def relay(
        self,
        raw: bytes | str,
        *,
        sender: str | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> TransactionOutcome:
        """Send a transaction signed elsewhere and return what it did.

        The bytes are decoded and checked first: signed by ``sender`` (when given), for this
        chain, to the marketplace, at the signer's next nonce, with enough gas for a call that
        runs (one that would revert raises its typed error and is not sent). A transaction the
        node has already is not sent again: relaying the same bytes twice answers the same
        outcome, and nothing is paid twice.

        Args:
            raw: the signed transaction (bytes or 0x hex), e.g. eth-account's ``raw_transaction``.
            sender: the account that should have signed it.
            wait: wait for it to be mined (default), else return at once with ``mined=False``.
            timeout: seconds to wait (default 120).

        Raises:
            RelayRefused: not a signed transaction, or one of the checks above failed.
            ContractError: it would revert, or it was mined and reverted (its own error).
        """
        return self._run(_prepare.relay(self._ops, raw, sender, wait, timeout))

    def outcome(
        self, tx_hash: str, *, wait: bool = False, timeout: float | None = None
    ) -> TransactionOutcome:
        """What a marketplace transaction did: its events and the listings and rentals it
        created or changed, as of its block (``mined=False`` while it waits, unless ``wait``).

        Raises:
            TransactionNotFound: the node has no such transaction to the marketplace.
            ContractError: it reverted; the error is its own.
        """
        return self._run(_prepare.outcome(self._ops, tx_hash, wait, timeout))

    def _preparing(self, sender: str | None) -> Operations:
        """Plans that end where they would send, for ``sender`` (default: this account)."""
        if sender is None:
            sender = self._require_sender().address
        address = _core.check_address("sender", sender)
        return Operations(self._conn, Preparer(self._conn, address))

    # ------------------------------------------------------------------ governance

    def set_fee(self, fee_bps: int, **tx: Unpack[TxOptions]) -> TxResult:
        """Set the platform fee in basis points (at most 1,000) for rentals started from now.

        Raises:
            NotGovernance: this account is not the governance address.
            FeeTooHigh: above the cap.
        """
        return self._finished(self._ops.set_fee(fee_bps, tx), tx)

    def set_treasury(self, treasury: str, **tx: Unpack[TxOptions]) -> TxResult:
        """Hand the treasury role to ``treasury``: it may then pay out the fees held, within the
        same payout limit."""
        address = _core.check_address("treasury", treasury)
        return self._finished(self._ops.governance_tx("setTreasury", [address], tx), tx)

    def set_paused(self, paused: bool, **tx: Unpack[TxOptions]) -> TxResult:
        """Stop (True) or resume (False) new listings and rentals."""
        return self._finished(self._ops.set_paused(paused, tx), tx)

    def transfer_governance(self, new_governance: str, **tx: Unpack[TxOptions]) -> TxResult:
        """Hand governance to another address."""
        address = _core.check_address("new_governance", new_governance)
        return self._finished(self._ops.governance_tx("transferGovernance", [address], tx), tx)

    def set_guardian(self, guardian: str | None, **tx: Unpack[TxOptions]) -> TxResult:
        """Let ``guardian`` pause at once (never unpause); None removes the guardian."""
        return self._finished(self._ops.set_guardian(guardian, tx), tx)

    def pause(self, **tx: Unpack[TxOptions]) -> TxResult:
        """Stop new listings and rentals now, as the guardian (or governance).

        Raises:
            NotGuardian: this account is neither the guardian nor governance.
        """
        return self._finished(self._ops.governance_tx("pause", [], tx), tx)

    def pay_from_treasury(self, to: str, amount: int, **tx: Unpack[TxOptions]) -> TxResult:
        """Pay ``amount`` wei of the fees the treasury holds to ``to``, as the treasury (a
        multisig treasury; under a governor this is a proposal, ``Action.pay``). At most 5% of
        the fees held per 30 days (``payout_allowance()``).

        Raises:
            NotTreasury: this account is not the treasury.
            InsufficientTreasury: the treasury holds less than ``amount``.
            PayoutLimitExceeded: more than this period's allowance.
        """
        return self._finished(self._ops.pay_from_treasury(to, amount, tx), tx)

    def _finished(self, plan: Plan[Sent[T]], tx: TxOptions) -> T:
        sent = self._io.run(plan)
        return self._io.run(sent.finish(tx.get("timeout")))


class SyncListingBatch(ListingBatch):
    """Listing operations for one transaction, sent with blocking I/O (``client.batch()``)."""

    def __init__(self, client: GPUHubClient) -> None:
        super().__init__(client._ops)
        self._client = client

    @overload
    def send(self, *, wait: Literal[True] = ..., **tx: Unpack[TxOptions]) -> list[Listing]: ...
    @overload
    def send(
        self, *, wait: Literal[False], **tx: Unpack[TxOptions]
    ) -> PendingTransaction[list[Listing]]: ...

    def send(
        self, *, wait: bool = True, **tx: Unpack[TxOptions]
    ) -> list[Listing] | PendingTransaction[list[Listing]]:
        """Send every operation in one transaction; one Listing per operation, in order.

        Raises:
            ValidationError: the batch is empty or too long; nothing was sent.
            ContractError: the first operation that fails, typed; nothing in the batch happened.
        """
        return self._client._write(self._plan(tx), wait, tx)
