"""AsyncGPUHubClient: GPUHubClient's surface awaited, on ``web3.AsyncWeb3``.

Both clients run the same plans from ``_ops`` (argument checks, ABI encoding, decoding, error
translation); this module only answers their requests with ``await``. Every public method of
``GPUHubClient`` has a twin here with the same name and parameters (a test holds them equal)::

    from web3 import AsyncWeb3, AsyncHTTPProvider
    from gpuhub.aio import AsyncGPUHubClient

    client = AsyncGPUHubClient(AsyncWeb3(AsyncHTTPProvider(url)), address, account=key)
    listing = await client.create_listing(gpu_model="A100", capacity=80, price=10**15)
    rentals = await asyncio.gather(*(renter.rent(i, 1) for i in ids))   # one nonce authority
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, Unpack

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
from .deploy import deploy
from .events import ContractEvent
from .exceptions import ConnectionFailed, GPUHubError
from .governance import AsyncGovernance, GovernancePlans, GovernanceSettings
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
    from collections.abc import Awaitable

    from eth_account.signers.local import LocalAccount
    from eth_typing import ChecksumAddress
    from web3 import AsyncWeb3
    from web3.types import BlockIdentifier

    from .alerts import Alert
    from .search import Query, SearchResult

T = TypeVar("T")

__all__ = ["AsyncGPUHubClient", "AsyncListingBatch", "AsyncPendingTransaction"]


class NewHeads:
    """The blocks announced by one ``eth_subscribe("newHeads")`` on a persistent connection.

    One per connection, shared by receipt waits and watches: the provider hands each
    subscription message to a single reader, so two subscribers reading it would steal each
    other's blocks.
    """

    def __init__(self) -> None:
        #: monotonic time the latest block was announced (the subscription's start at first).
        self.last = time.monotonic()
        #: True once the subscription is no longer read (connection closed, or refused).
        self.ended = False
        self._arrived = asyncio.Event()

    async def after(self, seen: float, timeout: float) -> float:
        """When the latest block was announced, once one was after ``seen`` (monotonic time),
        or after ``timeout`` seconds."""
        if self.last <= seen:
            if self.ended:
                await asyncio.sleep(timeout)
                return time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout)
        return self.last

    async def read(self, w3: AsyncWeb3[Any]) -> None:
        """Subscribe, then note each announced block until the connection ends."""
        try:
            await w3.eth.subscribe("newHeads")
            async for _ in w3.socket.process_subscriptions():
                self.last = time.monotonic()
                arrived, self._arrived = self._arrived, asyncio.Event()
                arrived.set()
        except Exception:  # refused, or the connection lost: the waits go back to timed polls
            pass
        finally:
            self.ended = True
            self._arrived.set()  # wake the waiters: they ask, then sleep instead


class AsyncIO:
    """Answers a plan's requests with ``await``: the provider's ``make_request`` for a node,
    eth-tester for the embedded chain (in-process, so it answers without awaiting).

    On a persistent connection (``WebSocketProvider``) it subscribes to new heads, and receipt
    waits wake on each new block instead of sleeping (``heads=False`` keeps the timed polls).
    """

    def __init__(self, w3: AsyncWeb3[Any], *, heads: bool = True) -> None:
        self.w3 = w3
        self.provider: Any = w3.provider
        self.tester = getattr(self.provider, "ethereum_tester", None)
        self.embedded: Any = None
        self.conn: Connection | None = None
        self.batches = hasattr(self.provider, "make_batch_request")
        bound_answers(self.provider)
        own_session_lock(self.provider)
        self._connecting: asyncio.Lock | None = None
        self._wake_on_heads = heads
        self._heads: NewHeads | None = None
        self._reader: asyncio.Task[None] | None = None

    async def run(self, plan: Plan[T]) -> T:
        """Drive ``plan`` to its result, awaiting each request it yields."""
        if self._heads is None and self.conn is not None and self.conn.clock.on_heads:
            # Subscribe as soon as blocks are known to come on a timer, so that the first
            # waits already know which blocks came after their send.
            await self.new_heads()
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
                    value = await self.request(op)
                elif isinstance(op, Batch):
                    value = await self.batch(op.calls)
                elif isinstance(op, Sleep):
                    await asyncio.sleep(op.seconds)
                elif isinstance(op, NextHead):
                    value = await self._next_head(op)
                elif isinstance(op, Acquire):
                    await op.nonces.lock.acquire()
                elif isinstance(op, Release):
                    op.nonces.lock.release()
            except BaseException as err:
                error = err

    async def request(self, call: Rpc) -> Any:
        """One JSON-RPC request; errors come back as gpuhub exceptions."""
        sending = call.method in TX_METHODS
        with translate(self._decoder(), tx_hash=call.tx_hash, sending=sending):
            if self.tester is not None:
                return self._embedded().request(call.method, call.params)
            response = await self.provider.make_request(call.method, call.params)
        return answer(self._decoder(), call, response)

    async def batch(self, calls: tuple[Rpc, ...]) -> list[Any]:
        """Several requests in one round trip where the provider can batch them."""
        if self.tester is not None or not self.batches or len(calls) == 1:
            return [await self.request(call) for call in calls]
        with translate(self._decoder()):
            responses = await self.provider.make_batch_request(
                [(c.method, c.params) for c in calls]
            )
        return batch_answers(self._decoder(), calls, responses)

    def _embedded(self) -> Any:
        if self.embedded is None:
            from ._embedded import EmbeddedChain

            self.embedded = EmbeddedChain(self.tester)
        return self.embedded

    def _decoder(self) -> Any:
        from ._artifact import error_abi
        from ._errors import ErrorDecoder

        if self.conn is not None:
            return self.conn.decoder
        return ErrorDecoder(error_abi())

    async def connect(self, plan: Callable[[], Plan[Connection]]) -> Connection:
        """The connection, opened by ``plan`` on first use (once, whoever asks first)."""
        if self.conn is not None:
            return self.conn
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self.conn is None:
                await self.opened(await self.run(plan()))
        assert self.conn is not None
        return self.conn

    async def opened(self, conn: Connection) -> None:
        """Use ``conn`` from now on; over a persistent connection, wait for receipts on heads
        (subscribed once blocks turn out to come on a timer: where sends bring their receipts,
        never)."""
        from web3.providers.persistent import PersistentConnectionProvider

        self.conn = conn
        if self._wake_on_heads and isinstance(self.provider, PersistentConnectionProvider):
            conn.clock.heads = True

    async def new_heads(self) -> NewHeads | None:
        """The connection's new-heads subscription, made on first use; None where the provider
        keeps no connection open (HTTP, the embedded chain)."""
        from web3.providers.persistent import PersistentConnectionProvider

        if self._heads is None and isinstance(self.provider, PersistentConnectionProvider):
            heads = self._heads = NewHeads()
            # kept: the event loop holds only a weak reference to a task
            self._reader = asyncio.create_task(heads.read(self.w3))
        return self._heads

    async def resubscribe(self) -> NewHeads | None:
        """Subscribe to new heads again on a connection opened anew (the old subscription went
        with the old socket); receipt waits use it again."""
        if self._reader is not None:
            self._reader.cancel()
        self._heads = None
        heads = await self.new_heads()
        if heads is not None and self.conn is not None and self._wake_on_heads:
            self.conn.clock.heads = True
        return heads

    async def reconnect(self) -> NewHeads | None:
        """Open the WebSocket again and subscribe to new heads on it; None while the node is
        away.

        web3's persistent providers do not reconnect by themselves: a node that restarted leaves
        the provider with a closed socket, and its subscriptions went with it.
        """
        try:
            with translate(self._decoder()):
                await self.provider.disconnect()
                await self.provider.connect()
        except ConnectionFailed:
            return None
        return await self.resubscribe()

    async def _next_head(self, op: NextHead) -> float:
        heads = await self.new_heads()
        if heads is None or heads.ended:
            if self.conn is not None:
                self.conn.clock.heads = False  # no subscription (any more): timed polls
            await asyncio.sleep(op.seconds)
            return time.monotonic()
        return await heads.after(op.after, op.seconds)


class AsyncPendingTransaction(Generic[T]):
    """A sent transaction whose result is not read yet (``wait=False``); await ``result()``."""

    def __init__(self, tx_hash: str, finish: Callable[[float | None], Awaitable[T]]) -> None:
        self.tx_hash = tx_hash
        self._finish = finish

    async def result(self, timeout: float | None = None) -> T:
        """Wait for the receipt and return what the write method would have returned."""
        return await self._finish(timeout)

    def __repr__(self) -> str:
        return f"AsyncPendingTransaction(tx_hash={self.tx_hash!r})"


class AsyncGPUHubClient:
    """GPUHubClient for asyncio: the same methods, awaited, on a ``web3.AsyncWeb3``.

    Args:
        w3: an ``AsyncWeb3`` (``AsyncHTTPProvider``, ``WebSocketProvider`` or
            ``AsyncEthereumTesterProvider``).
        contract_address: the marketplace's address on that chain.
        account: a ``LocalAccount``, an address the node unlocks, or None for read-only.
        poll_interval: fixed seconds between receipt requests (default: the chain's pace; over
            a WebSocket, once per new block announced by a ``newHeads`` subscription).
        block_time: seconds between the chain's blocks; learned when None.

    Nothing is read from the node until the first call, which reads the chain id and checks that
    the contract is there.
    """

    def __init__(
        self,
        w3: AsyncWeb3[Any],
        contract_address: str,
        *,
        account: LocalAccount | str | None = None,
        poll_interval: float | None = None,
        block_time: float | None = None,
    ) -> None:
        address = _core.check_contract_address(contract_address, "AsyncGPUHubClient")
        io = AsyncIO(w3, heads=poll_interval is None)

        def opening() -> Plan[Connection]:
            return open_connection(
                address,
                embedded=io.tester is not None,
                lock_factory=asyncio.Lock,
                poll_interval=poll_interval,
                block_time=block_time,
            )

        self._init(io, opening, None if account is None else _core.check_account(account))

    def _init(
        self,
        io: AsyncIO,
        opening: Callable[[], Plan[Connection]],
        account: LocalAccount | str | None,
    ) -> None:
        self._io = io
        self._opening = opening
        self._account = account
        self._ops_cache: Operations | None = None

    async def _ops(self) -> Operations:
        if self._ops_cache is None:
            conn = await self._io.connect(self._opening)
            sender = None if self._account is None else Sender(conn, self._account)
            self._ops_cache = Operations(conn, sender)
        return self._ops_cache

    async def _run(self, make: Callable[[Operations], Plan[T]]) -> T:
        return await self._io.run(make(await self._ops()))

    async def _write(
        self, make: Callable[[Operations], Plan[Sent[T]]], wait: bool, tx: TxOptions
    ) -> T | AsyncPendingTransaction[T]:
        sent = await self._run(make)

        async def finish(timeout: float | None) -> T:
            return await self._io.run(sent.finish(timeout))

        pending = AsyncPendingTransaction(sent.tx_hash, finish)
        return await pending.result(tx.get("timeout")) if wait else pending

    async def _finished(self, make: Callable[[Operations], Plan[Sent[T]]], tx: TxOptions) -> T:
        sent = await self._run(make)
        return await self._io.run(sent.finish(tx.get("timeout")))

    # ------------------------------------------------------------------ construction

    @classmethod
    async def local(
        cls, *, governance: str | GovernanceSettings | None = None
    ) -> AsyncGPUHubClient:
        """A fresh embedded chain with the marketplace and its governance deployed, sending as
        its first account (see ``GPUHubClient.local``)."""
        from .chain import embedded_async_web3

        w3 = embedded_async_web3()
        return await cls.deploy(w3, account=(await w3.eth.accounts)[0], governance=governance)

    @classmethod
    async def deploy(
        cls,
        w3: AsyncWeb3[Any],
        *,
        account: LocalAccount | str | None = None,
        governance: str | GovernanceSettings | None = None,
        **tx: Unpack[TxOptions],
    ) -> AsyncGPUHubClient:
        """Deploy a new marketplace with its governance and return a client for it (see
        ``GPUHubClient.deploy``)."""
        io = AsyncIO(w3)
        conn = await io.run(
            open_connection(
                None,
                embedded=io.tester is not None,
                lock_factory=asyncio.Lock,
                poll_interval=None,
                block_time=None,
            )
        )
        await io.opened(conn)
        deployer = _core.check_account(
            account if account is not None else (await w3.eth.accounts)[0]
        )
        await io.run(deploy(conn, Sender(conn, deployer), governance, tx))
        client = object.__new__(cls)
        client._init(io, lambda: _never(), deployer)
        return client

    def with_account(self, account: LocalAccount | str) -> AsyncGPUHubClient:
        """The same marketplace and connection, sending as ``account``."""
        clone = object.__new__(type(self))
        clone._init(self._io, self._opening, _core.check_account(account))
        return clone

    def batch(self) -> AsyncListingBatch:
        """Collect listing operations to send as one transaction; ``await batch.send()``."""
        return AsyncListingBatch(self)

    def __repr__(self) -> str:
        conn = self._io.conn
        where = "not connected yet" if conn is None else f"contract={conn.address}"
        account = (
            self._account
            if isinstance(self._account, str) or self._account is None
            else (self._account.address)
        )
        return f"AsyncGPUHubClient({where}, account={account})"

    @property
    def w3(self) -> AsyncWeb3[Any]:
        """The underlying AsyncWeb3."""
        return self._io.w3

    @property
    def contract(self) -> Any:
        """The underlying ``web3`` async contract object, for calls this client does not wrap."""
        from ._artifact import abi

        return self._io.w3.eth.contract(address=self.contract_address, abi=abi())

    @property
    def contract_address(self) -> ChecksumAddress:
        """Checksummed address of the marketplace contract."""
        address: ChecksumAddress = self._connection().address  # type: ignore[assignment]
        return address

    @property
    def chain_id(self) -> int:
        """The chain's id (read on the first call)."""
        return self._connection().chain_id

    @property
    def address(self) -> str | None:
        """The address this client sends from, or None when read-only."""
        if self._account is None:
            return None
        return self._account if isinstance(self._account, str) else self._account.address

    def _connection(self) -> Connection:
        if self._io.conn is None:
            raise GPUHubError(
                "not connected yet: await any read (e.g. await client.block_number()) first"
            )
        return self._io.conn

    async def accounts(self) -> list[str]:
        """Accounts the node unlocks (a property on GPUHubClient; a coroutine here)."""
        with translate((await self._ops()).conn.decoder):
            return [str(a) for a in await self._io.w3.eth.accounts]

    async def block_number(self) -> int:
        """Number of the latest block."""
        return await self._run(lambda ops: ops.block_number())

    async def get_events(
        self,
        from_block: int,
        to_block: int | None = None,
        *,
        event_types: Iterable[str | type[ContractEvent]] = (),
    ) -> list[ContractEvent]:
        """The marketplace's typed events in blocks ``from_block..to_block`` (default: latest)."""
        return await self._run(lambda ops: ops.get_events(from_block, to_block, event_types))

    async def watch(
        self,
        *event_types: str | type[ContractEvent],
        from_block: int | None = None,
        confirmations: int = 0,
        listing_id: int | None = None,
        account: str | None = None,
        poll_interval: float | None = None,
    ) -> AsyncIterator[ContractEvent]:
        """Typed events as blocks arrive (``async for``), with ``GPUHubClient.watch``'s rules.

        It polls at a pace tied to the chain's block time (20 ms on dev chains); a node that
        goes away is retried with backoff and the stream resumes after the last block read.

        Example::

            >>> async for event in aclient.watch("RentalStarted", account=me):
            ...     await start_job(event.rental_id)
        """
        from .watch import watch_async

        async for event in watch_async(
            self._io,
            self._ops,
            event_types,
            from_block=from_block,
            confirmations=confirmations,
            listing_id=listing_id,
            account=account,
            poll_interval=poll_interval,
        ):
            yield event

    async def alerts(
        self,
        account: str,
        *,
        ends_within: int = 600,
        searches: Iterable[str] = (),
        poll_interval: float | None = None,
    ) -> AsyncIterator[Alert]:
        """Alerts for ``account`` (``async for``), with ``GPUHubClient.alerts``'s rules.

        The same rules (``gpuhub.alerts.AlertRules``) stepped by the async watch's loop. The
        arguments are checked, and the saved searches parsed, on the first iteration, before
        anything is read.

        Example::

            >>> async for alert in aclient.alerts(me, searches=["model~4090 price_per_hour<=1eth"]):
            ...     await notify(alert.message)

        Raises:
            QueryError: a saved search does not parse.
        """
        from .alerts import alerts_async

        async for alert in alerts_async(
            self._io,
            self._ops,
            account,
            ends_within=ends_within,
            searches=searches,
            poll_interval=poll_interval,
        ):
            yield alert

    # ------------------------------------------------------------------ listings: reads

    async def listing_count(self, *, block: BlockIdentifier = "latest") -> int:
        """Number of listings ever created."""
        return await self._run(lambda ops: ops.listing_count(block))

    async def get_listing(self, listing_id: int, *, block: BlockIdentifier = "latest") -> Listing:
        """One listing by id."""
        return await self._run(lambda ops: ops.get_listing(listing_id, block))

    async def iter_listings(self, *, page_size: int = PAGE_SIZE) -> AsyncIterator[Listing]:
        """Every listing in id order (``async for``)."""
        for listing in await self._run(lambda ops: ops.list_listings(page_size)):
            yield listing

    async def list_listings(self, *, page_size: int = PAGE_SIZE) -> list[Listing]:
        """Every listing, in id order, whatever its status."""
        return await self._run(lambda ops: ops.list_listings(page_size))

    async def list_gpus(
        self,
        max_price: int | None = None,
        min_capacity: int | None = None,
        *,
        available_only: bool = True,
        price_unit: PriceUnit | None = None,
        page_size: int = PAGE_SIZE,
    ) -> list[Listing]:
        """Listings that match (see ``GPUHubClient.list_gpus``)."""
        return await self._run(
            lambda ops: ops.list_gpus(
                max_price, min_capacity, available_only, price_unit, page_size
            )
        )

    async def search(self, query: str | Query | None = None, **kwargs: Any) -> SearchResult:
        """Run a query over every listing read from the chain (see ``GPUHubClient.search``)."""
        return await self._run(lambda ops: ops.search(query, kwargs))

    # ------------------------------------------------------------------ listings: writes

    async def create_listing(
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
    ) -> Listing | AsyncPendingTransaction[Listing]:
        """List a GPU (see ``GPUHubClient.create_listing``)."""
        return await self._write(
            lambda ops: ops.create_listing(
                gpu_model=gpu_model,
                capacity=capacity,
                price=price,
                unit=unit,
                min_duration=min_duration,
                max_duration=max_duration,
                tx=tx,
            ),
            wait,
            tx,
        )

    async def update_listing(
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
    ) -> Listing | AsyncPendingTransaction[Listing]:
        """Change some of a listing's terms (see ``GPUHubClient.update_listing``)."""
        changes = update_changes(
            gpu_model=gpu_model,
            capacity=capacity,
            price=price,
            unit=unit,
            min_duration=min_duration,
            max_duration=max_duration,
        )
        return await self._write(lambda ops: ops.update_listing(listing_id, changes, tx), wait, tx)

    async def fulfill_request(
        self, listing_id: int, *, wait: bool = True, **tx: Unpack[TxOptions]
    ) -> Listing | AsyncPendingTransaction[Listing]:
        """Mark an AVAILABLE listing UNAVAILABLE."""
        return await self._write(
            lambda ops: ops.status_change("fulfillRequest", listing_id, tx), wait, tx
        )

    async def mark_available(
        self, listing_id: int, *, wait: bool = True, **tx: Unpack[TxOptions]
    ) -> Listing | AsyncPendingTransaction[Listing]:
        """Put an UNAVAILABLE listing back on the market."""
        return await self._write(
            lambda ops: ops.status_change("markAvailable", listing_id, tx), wait, tx
        )

    async def remove_listing(
        self, listing_id: int, *, wait: bool = True, **tx: Unpack[TxOptions]
    ) -> Listing | AsyncPendingTransaction[Listing]:
        """Remove a listing for good."""
        return await self._write(
            lambda ops: ops.status_change("removeListing", listing_id, tx), wait, tx
        )

    # ------------------------------------------------------------------ rentals: reads

    async def quote(
        self, listing_id: int, duration: int, *, block: BlockIdentifier = "latest"
    ) -> int:
        """The exact cost in wei of renting ``listing_id`` for ``duration`` units now."""
        return await self._run(lambda ops: ops.quote(listing_id, duration, block))

    async def rental_count(self, *, block: BlockIdentifier = "latest") -> int:
        """Number of rentals ever started."""
        return await self._run(lambda ops: ops.rental_count(block))

    async def get_rental(self, rental_id: int, *, block: BlockIdentifier = "latest") -> Rental:
        """One rental by id."""
        return await self._run(lambda ops: ops.get_rental(rental_id, block))

    async def active_rental(self, listing_id: int) -> Rental | None:
        """The listing's running rental, or None when it is not rented."""
        return await self._run(lambda ops: ops.active_rental(listing_id))

    async def iter_rentals(self, *, page_size: int = PAGE_SIZE) -> AsyncIterator[Rental]:
        """Every rental in id order (``async for``)."""
        for rental in await self._run(lambda ops: ops.list_rentals(page_size)):
            yield rental

    async def rentals(
        self, *, renter: str | None = None, provider: str | None = None, active_only: bool = False
    ) -> list[Rental]:
        """Rentals, optionally of one renter and/or provider, or only active ones."""
        return await self._run(lambda ops: ops.rentals(renter, provider, active_only))

    async def balance_of(
        self, address: str | None = None, *, block: BlockIdentifier = "latest"
    ) -> int:
        """Wei ``address`` (default: this client's account) can withdraw now."""
        return await self._run(lambda ops: ops.balance_of(address, block))

    async def provider_terminations(self, provider: str) -> int:
        """How many rentals ``provider`` ended early."""
        return await self._run(lambda ops: ops.provider_terminations(provider))

    async def reputation(self, address: str, *, block: BlockIdentifier = "latest") -> Reputation:
        """What the contract counts about ``address`` (see ``GPUHubClient.reputation``)."""
        return await self._run(lambda ops: ops.reputation(address, block))

    async def ratings(
        self,
        *,
        ratee: str | None = None,
        rater: str | None = None,
        rental_id: int | None = None,
        from_block: int = 0,
        to_block: int | None = None,
    ) -> list[Rating]:
        """Ratings from the ``Rated`` events, oldest first (see ``GPUHubClient.ratings``)."""
        return await self._run(
            lambda ops: ops.ratings(ratee, rater, rental_id, from_block, to_block)
        )

    async def fee_bps(self) -> int:
        """The platform fee in basis points for rentals started now."""
        return int(await self._run(lambda ops: ops.call("feeBps")))

    async def paused(self) -> bool:
        """True while new listings and rentals are refused."""
        return bool(await self._run(lambda ops: ops.call("paused")))

    async def governance_address(self) -> str:
        """The address that sets the fee, the treasury and the pause switch."""
        return str(await self._run(lambda ops: ops.call("governance")))

    async def governor(self) -> str | None:
        """The governor whose timelock holds governance, or None."""
        return await self._run(lambda ops: ops.optional_address("governor"))

    async def guardian(self) -> str | None:
        """The address that may pause at once, or None."""
        return await self._run(lambda ops: ops.optional_address("guardian"))

    @property
    def governance(self) -> AsyncGovernance:
        """The marketplace's governor, votes and timelock, awaited; the governor is looked up
        on the first call, which raises ``NoGovernor`` on a market without one."""

        async def find() -> GovernancePlans:
            return await self._run(GovernancePlans.find)

        async def run(plan: Plan[Any]) -> Any:
            return await self._io.run(plan)

        return AsyncGovernance(find, run)

    async def treasury(self) -> str:
        """The address that may pay out the platform fees, within the payout limit."""
        return str(await self._run(lambda ops: ops.call("treasury")))

    async def treasury_funds(self) -> int:
        """Wei of fees the treasury holds: every fee charged, less what was paid out."""
        return int(await self._run(lambda ops: ops.call("treasuryFunds")))

    async def payout_allowance(self) -> PayoutAllowance:
        """What the treasury may pay out now (see ``GPUHubClient.payout_allowance``)."""
        result: PayoutAllowance = await self._run(lambda ops: ops.payout_allowance())
        return result

    async def total_earned_votes(self) -> int:
        """Every voting unit ever earned by paying fees, claimed or not."""
        return int(await self._run(lambda ops: ops.call("totalEarnedVotes")))

    # ------------------------------------------------------------------ rentals: writes

    async def rent(
        self,
        listing_id: int,
        duration: int,
        *,
        max_total: int | None = None,
        wait: bool = True,
        **tx: Unpack[TxOptions],
    ) -> Rental | AsyncPendingTransaction[Rental]:
        """Rent a listing for ``duration`` units, paying into escrow (see ``GPUHubClient.rent``)."""
        return await self._write(
            lambda ops: ops.rent(listing_id, duration, max_total, tx), wait, tx
        )

    async def extend_rental(
        self, rental_id: int, extra: int, *, wait: bool = True, **tx: Unpack[TxOptions]
    ) -> Rental | AsyncPendingTransaction[Rental]:
        """Buy ``extra`` more units of a running rental at its locked price."""
        return await self._write(lambda ops: ops.extend_rental(rental_id, extra, tx), wait, tx)

    async def end_rental(
        self, rental_id: int, *, wait: bool = True, **tx: Unpack[TxOptions]
    ) -> Rental | AsyncPendingTransaction[Rental]:
        """End a rental now, as its renter or provider."""
        return await self._write(lambda ops: ops.rental_write("endRental", rental_id, tx), wait, tx)

    async def settle(
        self, rental_id: int, *, wait: bool = True, **tx: Unpack[TxOptions]
    ) -> Rental | AsyncPendingTransaction[Rental]:
        """Settle a rental whose end time has passed."""
        return await self._write(lambda ops: ops.rental_write("settle", rental_id, tx), wait, tx)

    async def withdraw(
        self, to: str | None = None, *, wait: bool = True, **tx: Unpack[TxOptions]
    ) -> int | AsyncPendingTransaction[int]:
        """Send this account's whole withdrawable balance to itself (or to ``to``); returns wei."""
        return await self._write(lambda ops: ops.withdraw(to, tx), wait, tx)

    # ------------------------------------------------------------------ reputation

    async def rate(
        self,
        rental_id: int,
        score: int,
        *,
        comment: str = "",
        wait: bool = True,
        **tx: Unpack[TxOptions],
    ) -> Rating | AsyncPendingTransaction[Rating]:
        """Rate the other side of a rental that is over (see ``GPUHubClient.rate``)."""
        return await self._write(lambda ops: ops.rate(rental_id, score, comment, tx), wait, tx)

    # ------------------------------------------------------------------ access handoff

    async def request_access(
        self,
        rental_id: int,
        *,
        ssh_key: str | None = None,
        access_key: bytes | None = None,
        wait: bool = True,
        **tx: Unpack[TxOptions],
    ) -> TxResult | AsyncPendingTransaction[TxResult]:
        """Ask the provider of a running rental for access (see ``GPUHubClient.request_access``)."""
        return await self._write(
            lambda ops: ops.request_access(rental_id, ssh_key, access_key, tx), wait, tx
        )

    async def grant_access(
        self,
        rental_id: int,
        details: str,
        *,
        public_key: bytes | None = None,
        wait: bool = True,
        **tx: Unpack[TxOptions],
    ) -> TxResult | AsyncPendingTransaction[TxResult]:
        """Hand the renter the connection details, encrypted to its request's key (see
        ``GPUHubClient.grant_access``)."""
        return await self._write(
            lambda ops: ops.grant_access(rental_id, details, public_key, tx), wait, tx
        )

    async def access(
        self,
        rental_id: int,
        *,
        timeout: float = 0,
        access_key: bytes | None = None,
        from_block: int = 0,
    ) -> str | None:
        """The connection details granted for a rental, decrypted; None while none has come
        (see ``GPUHubClient.access``)."""
        return await self._run(lambda ops: ops.access(rental_id, access_key, timeout, from_block))

    # ------------------------------------------------------------------ governance

    async def prepare(
        self, call: str, *, sender: str | None = None, **args: Any
    ) -> PreparedTransaction:
        """The unsigned transaction of a write and what it does (see ``GPUHubClient.prepare``)."""
        ops = await self._ops()
        if sender is None:
            sender = ops.require_sender().address
        preparer = Preparer(ops.conn, _core.check_address("sender", sender))
        return await self._io.run(_prepare.prepare(Operations(ops.conn, preparer), call, args))

    async def relay(
        self,
        raw: bytes | str,
        *,
        sender: str | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> TransactionOutcome:
        """Send a transaction signed elsewhere (see ``GPUHubClient.relay``)."""
        return await self._run(lambda ops: _prepare.relay(ops, raw, sender, wait, timeout))

    async def outcome(
        self, tx_hash: str, *, wait: bool = False, timeout: float | None = None
    ) -> TransactionOutcome:
        """What a marketplace transaction did (see ``GPUHubClient.outcome``)."""
        return await self._run(lambda ops: _prepare.outcome(ops, tx_hash, wait, timeout))

    async def set_fee(self, fee_bps: int, **tx: Unpack[TxOptions]) -> TxResult:
        """Set the platform fee in basis points."""
        return await self._finished(lambda ops: ops.set_fee(fee_bps, tx), tx)

    async def set_treasury(self, treasury: str, **tx: Unpack[TxOptions]) -> TxResult:
        """Hand the treasury role to ``treasury``."""
        address = _core.check_address("treasury", treasury)
        return await self._finished(lambda ops: ops.governance_tx("setTreasury", [address], tx), tx)

    async def set_paused(self, paused: bool, **tx: Unpack[TxOptions]) -> TxResult:
        """Stop (True) or resume (False) new listings and rentals."""
        return await self._finished(lambda ops: ops.set_paused(paused, tx), tx)

    async def transfer_governance(self, new_governance: str, **tx: Unpack[TxOptions]) -> TxResult:
        """Hand governance to another address."""
        address = _core.check_address("new_governance", new_governance)
        return await self._finished(
            lambda ops: ops.governance_tx("transferGovernance", [address], tx), tx
        )

    async def set_guardian(self, guardian: str | None, **tx: Unpack[TxOptions]) -> TxResult:
        """Let ``guardian`` pause at once (never unpause); None removes the guardian."""
        return await self._finished(lambda ops: ops.set_guardian(guardian, tx), tx)

    async def pause(self, **tx: Unpack[TxOptions]) -> TxResult:
        """Stop new listings and rentals now, as the guardian (or governance)."""
        return await self._finished(lambda ops: ops.governance_tx("pause", [], tx), tx)

    async def pay_from_treasury(self, to: str, amount: int, **tx: Unpack[TxOptions]) -> TxResult:
        """Pay ``amount`` wei of the fees the treasury holds to ``to``, as the treasury (at most
        ``payout_allowance()``)."""
        return await self._finished(lambda ops: ops.pay_from_treasury(to, amount, tx), tx)


class AsyncListingBatch(ListingBatch):
    """Listing operations for one transaction, sent with ``await batch.send()``."""

    def __init__(self, client: AsyncGPUHubClient) -> None:
        super().__init__(None)  # type: ignore[arg-type]  # bound when sent
        self._client = client

    async def send(
        self, *, wait: bool = True, **tx: Unpack[TxOptions]
    ) -> list[Listing] | AsyncPendingTransaction[list[Listing]]:
        """Send every operation in one transaction; one Listing per operation, in order."""

        def plan(ops: Operations) -> Plan[Sent[list[Listing]]]:
            self._ops = ops
            return self._plan(tx)

        return await self._client._write(plan, wait, tx)


def _never() -> Plan[Connection]:
    raise AssertionError("a deployed client is connected from the start")
