"""Live typed event streams: ``client.watch(...)``.

A :class:`Watch` polls the node for new blocks and yields the marketplace's typed events
(:mod:`gpuhub.events`) in chain order, forever, until it is closed.

Delivery rules:

- **Exactly once across node outages.** A failed request (node stopped, restarting, network
  gone) is retried with exponential backoff and jitter; the watch keeps the number of the next
  block it has not read, so it resumes after the last block it delivered: nothing is missed
  and nothing is delivered twice.
- **Refusals.** A read the node refuses (a JSON-RPC error, e.g. ``header not found`` from a
  provider whose backends are a block apart) is retried the same way for up to a minute of
  consecutive refusals; past that the watch raises :class:`~gpuhub.RequestRejected`.
- **Confirmations.** With ``confirmations=N`` an event is delivered only once N blocks are on
  top of its own block, so a reorganisation up to N blocks deep is never seen: events of
  dropped blocks are simply not delivered.
- **Deeper reorganisations.** The watch remembers the hashes of the blocks it read last (the
  newest 256). When the block it read last is no longer on the chain, it walks back to the
  newest remembered block that still is, delivers every event it had delivered from the dropped
  blocks again with ``removed=True`` (newest first, as ``eth_subscribe`` does), and then the
  events of the new blocks.
- **Cost.** Every poll asks for the latest block; only when it changed are the logs of the new
  blocks read (one ``eth_getLogs`` over the new range, at most 2,000 blocks at a time), so the
  work grows with the new blocks, never with the chain (the embedded chain's ``get_logs`` walks
  every block of the range it is given).
"""

from __future__ import annotations

import asyncio
import functools
import random
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from . import _core
from ._transactions import Plan, quantity
from .chain import DEV_CHAIN_IDS
from .events import ContractEvent, default_decoder, event_class, event_topics, retracted
from .exceptions import ConnectionFailed, GPUHubError, RequestRejected, ValidationError

if TYPE_CHECKING:
    from ._ops import Operations

T = TypeVar("T")

#: most blocks read by one eth_getLogs while catching up.
MAX_BLOCK_RANGE = 2_000
#: blocks whose hashes a watch remembers to find where a reorganisation forked.
REORG_HISTORY = 256
#: first and longest wait between retries while the node is unreachable, in seconds.
RETRY_FIRST = 0.05
RETRY_MAX = 5.0
#: seconds of consecutive refusals (a JSON-RPC error answered to a read, such as a load-balanced
#: provider's ``header not found`` for a block one of its backends has not seen yet) a watch
#: retries with backoff before it raises the refusal: a node that keeps refusing means it.
REFUSALS_PATIENCE = 60.0
#: poll interval on dev chains (embedded, anvil), which mine a block per transaction.
DEV_POLL_INTERVAL = 0.02


class Heads(Protocol):
    """New blocks announced over a persistent connection (``eth_subscribe("newHeads")``)."""

    #: monotonic time the latest block was announced.
    last: float

    async def after(self, seen: float, timeout: float) -> float:
        """When the latest block was announced, once one was after ``seen``, or after
        ``timeout`` seconds."""
        ...


class AsyncTransport(Protocol):
    """What the async watch and alerts need from the async client's I/O (``aio.AsyncIO``)."""

    async def run(self, plan: Plan[T]) -> T:
        """Drive ``plan`` to its result, awaiting each request it yields."""
        ...

    async def new_heads(self) -> Heads | None:
        """The connection's new-heads subscription; None where no connection is kept open."""
        ...

    async def reconnect(self) -> Heads | None:
        """Open the connection again and subscribe anew; None while the node is away."""
        ...


@dataclass(frozen=True, slots=True)
class BlockHead:
    """The parts of a block header a watch needs."""

    number: int
    hash: str
    timestamp: int


def pace(ops: Operations, samples: int = 20) -> Plan[float]:
    """Seconds between polls for this chain: a fraction of its block time.

    Dev chains mine a block per transaction, so they are polled every 20 ms; elsewhere the mean
    time between the last ``samples`` blocks is measured and a quarter of it is used (at least
    0.25 s, at most 5 s).
    """
    if ops.conn.chain_id in DEV_CHAIN_IDS:
        return DEV_POLL_INTERVAL
    newest = yield from ops.block_head("latest")
    if newest is None or quantity(newest["number"]) < 1:
        return 1.0
    latest = quantity(newest["number"])
    older = yield from ops.block_head(max(0, latest - samples))
    if older is None:
        return 1.0
    spread = quantity(newest["number"]) - quantity(older["number"])
    block_time = (quantity(newest["timestamp"]) - quantity(older["timestamp"])) / max(spread, 1)
    return min(max(block_time / 4, 0.25), 5.0)


def backoff_delays(first: float = RETRY_FIRST, longest: float = RETRY_MAX) -> Iterator[float]:
    """Exponential backoff with jitter: waits between half and all of ``first * 2**n``, capped."""
    ceiling = first
    while True:
        yield random.uniform(ceiling / 2, ceiling)
        ceiling = min(ceiling * 2, longest)


class EventPoller:
    """The chain read step by step: each :meth:`poll` plan returns the events that became final.

    One instance keeps the position (``next_block``) and the recent block hashes; the sync and
    async watches and ``client.alerts`` stand on it. Not thread-safe: one consumer at a time.
    """

    def __init__(
        self,
        ops: Operations,
        *,
        topics: list[str] | None = None,
        confirmations: int = 0,
        from_block: int | None = None,
    ) -> None:
        self._ops = ops
        self._topics = topics
        self.confirmations = _core.check_int("confirmations", confirmations, high=10_000)
        #: the next block to read; None until the first poll when starting at the head.
        self.next_block = None if from_block is None else _core.check_int("from_block", from_block)
        #: the latest block seen by the last poll.
        self.head: BlockHead | None = None
        # block number -> (hash, events delivered from it); the last read block is always in it
        self._history: dict[int, tuple[str, list[ContractEvent]]] = {}
        self._seen_head: str | None = None

    def poll(self) -> Plan[list[ContractEvent]]:
        """Read what is new since the last poll; raises ConnectionFailed when the node is down."""
        head = yield from self._block("latest")
        if head is None:
            return []
        self.head = head
        if self.next_block is None:
            self.next_block = head.number + 1
            self._remember(head.number, head.hash, [])
            self._seen_head = head.hash
            return []
        if head.hash == self._seen_head:
            return []
        found = yield from self._check_reorg(head)
        target = min(head.number - self.confirmations, self.next_block + MAX_BLOCK_RANGE - 1)
        if target < self.next_block:
            self._seen_head = head.hash
            return found
        logs = yield from self._ops.logs(self.next_block, target, self._topics)
        events = default_decoder().decode_all(logs)
        target_head = head if target == head.number else (yield from self._block(target))
        if target_head is None:
            return found
        by_block: dict[int, list[ContractEvent]] = {}
        for event in events:
            by_block.setdefault(event.block_number, []).append(event)
        for number, delivered in by_block.items():
            self._history[number] = (delivered[0].block_hash, delivered)
        self._remember(target, target_head.hash, by_block.get(target, []))
        self.next_block = target + 1
        # catching up over several ranges: poll again at once rather than wait for a new head
        self._seen_head = head.hash if target == head.number - self.confirmations else None
        return found + events

    def _check_reorg(self, head: BlockHead) -> Plan[list[ContractEvent]]:
        """Events to retract when the last block read is no longer on the chain."""
        if not self._history:
            return []
        last = max(self._history)
        current = head if head.number == last else (yield from self._block(last))
        if current is not None and current.hash == self._history[last][0]:
            return []
        dropped: list[ContractEvent] = []
        for number in sorted(self._history, reverse=True):
            known_hash, delivered = self._history[number]
            current = head if head.number == number else (yield from self._block(number))
            if current is not None and current.hash == known_hash:
                self.next_block = number + 1
                return dropped
            dropped.extend(retracted(e) for e in reversed(delivered))
            del self._history[number]
            self.next_block = number
        return dropped

    def _remember(self, number: int, block_hash: str, delivered: list[ContractEvent]) -> None:
        self._history[number] = (block_hash, delivered)
        if len(self._history) > REORG_HISTORY:
            for old in sorted(self._history)[: len(self._history) - REORG_HISTORY]:
                del self._history[old]

    def _block(self, number: int | Literal["latest"]) -> Plan[BlockHead | None]:
        try:
            raw = yield from self._ops.block_head(number)
        except ConnectionFailed:
            raise
        except GPUHubError:
            return None  # the embedded chain refuses a block it does not have
        except Exception as err:  # eth-tester's BlockNotFound, past the embedded chain's head
            if type(err).__name__ == "BlockNotFound":
                return None
            raise
        if raw is None:
            return None
        return BlockHead(
            number=quantity(raw["number"]),
            hash=_hex(raw["hash"]),
            timestamp=quantity(raw["timestamp"]),
        )


def _hex(value: Any) -> str:
    return value.lower() if isinstance(value, str) else "0x" + bytes(value).hex()


class Parties:
    """Who and which listing an event is about, reading the chain for what the event leaves out.

    ``RentalExtended`` and ``RentalEnded`` name no renter, ``ListingStatusChanged`` no provider:
    those are read once per rental or listing and remembered (neither ever changes).
    """

    def __init__(self, ops: Operations) -> None:
        self._ops = ops
        self._rentals: dict[int, tuple[int, str, str]] = {}
        self._providers: dict[int, str] = {}

    def note(self, event: ContractEvent) -> None:
        """Remember what ``event`` tells about listings and rentals."""
        provider = getattr(event, "provider", None)
        if provider is not None and hasattr(event, "listing_id"):
            self._providers[event.listing_id] = provider

    def listing_of(self, event: ContractEvent) -> Plan[int | None]:
        """The listing the event is about, if any."""
        listing_id = getattr(event, "listing_id", None)
        if listing_id is not None:
            return int(listing_id)
        rental_id = getattr(event, "rental_id", None)
        if rental_id is None:
            return None
        return (yield from self.rental(rental_id))[0]

    def accounts_of(self, event: ContractEvent) -> Plan[set[str]]:
        """Every address the event involves (checksummed)."""
        self.note(event)
        found = set(_address_fields(event))
        rental_id = getattr(event, "rental_id", None)
        if rental_id is not None:
            _, renter, provider = yield from self.rental(rental_id)
            found |= {renter, provider}
        elif hasattr(event, "listing_id"):
            found.add((yield from self.provider(event.listing_id)))
        return found

    def rental(self, rental_id: int) -> Plan[tuple[int, str, str]]:
        """``(listing_id, renter, provider)`` of a rental."""
        found = self._rentals.get(rental_id)
        if found is None:
            rental = yield from self._ops.get_rental(rental_id)
            found = self._rentals[rental_id] = (rental.listing_id, rental.renter, rental.provider)
        return found

    def provider(self, listing_id: int) -> Plan[str]:
        """The provider of a listing."""
        found = self._providers.get(listing_id)
        if found is None:
            listing = yield from self._ops.get_listing(listing_id)
            found = self._providers[listing_id] = listing.provider
        return found


class EventFilter:
    """The filters of a watch: event types, a listing, an account."""

    def __init__(
        self,
        ops: Operations,
        event_types: Iterable[str | type[ContractEvent]],
        listing_id: int | None,
        account: str | None,
    ) -> None:
        self.types = frozenset(event_class(e) for e in event_types)
        self.topics = event_topics(self.types)
        self.listing_id = None if listing_id is None else _core.check_listing_id(listing_id)
        self.account = None if account is None else _core.check_address("account", account)
        self._parties = Parties(ops)

    def wanted(self, event: ContractEvent) -> Plan[bool]:
        """True if ``event`` passes (may read the chain once per rental or listing)."""
        if self.types and type(event) not in self.types:
            return False
        if self.listing_id is not None:
            listing_id = yield from self._parties.listing_of(event)
            if listing_id != self.listing_id:
                return False
        if self.account is None:
            return True
        return self.account in (yield from self._parties.accounts_of(event))


def _address_fields(event: ContractEvent) -> Iterator[str]:
    for value in event.args.values():
        if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
            yield value


def check_poll_interval(poll_interval: float | None) -> float | None:
    """``poll_interval`` if it is None or a number of seconds in (0, 3600], else raise."""
    if poll_interval is not None and not (
        isinstance(poll_interval, int | float)
        and not isinstance(poll_interval, bool)
        and 0 < poll_interval <= 3600
    ):
        raise ValidationError("poll_interval", "must be a number of seconds in (0, 3600]")
    return poll_interval


class Watch:
    """An iterator over typed events as blocks arrive; see the module docstring for the rules.

    Made by ``client.watch(...)``. Iterate it (it blocks until the next event), and ``close()``
    it (from any thread) or use it as a context manager to stop. ``next_block`` is the first block
    whose events have not been read yet: pass it as ``from_block`` to resume in a new process.

    The client hands it its plans (``ops``) and the blocking way it runs them (``run``).
    """

    def __init__(
        self,
        ops: Operations,
        run: Callable[[Plan[Any]], Any],
        event_types: Iterable[str | type[ContractEvent]] = (),
        *,
        from_block: int | None = None,
        confirmations: int = 0,
        listing_id: int | None = None,
        account: str | None = None,
        poll_interval: float | None = None,
        retry_outages: bool = True,
    ) -> None:
        self._retry_outages = retry_outages
        self._filter = EventFilter(ops, event_types, listing_id, account)
        self._ops = ops
        self._run = run
        self._poller = EventPoller(
            ops, topics=self._filter.topics, confirmations=confirmations, from_block=from_block
        )
        self._interval = check_poll_interval(poll_interval)
        self._pending: deque[ContractEvent] = deque()
        self._closed = threading.Event()
        #: number of failed requests retried so far (the node was unreachable).
        self.retries = 0

    @property
    def next_block(self) -> int | None:
        """The first block not read yet (None before the first poll when starting at the head)."""
        return self._poller.next_block

    @property
    def head(self) -> BlockHead | None:
        """The latest block the last poll saw."""
        return self._poller.head

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called."""
        return self._closed.is_set()

    def close(self) -> None:
        """Stop: the iteration ends (at once if it is waiting for blocks). Safe from any thread."""
        self._closed.set()

    def __iter__(self) -> Watch:
        return self

    def __next__(self) -> ContractEvent:
        while not self._closed.is_set():
            if self._pending:
                event = self._pending[0]
                wanted = self.retrying(functools.partial(self.wanted, event))
                if wanted is None:
                    break
                self._pending.popleft()
                if wanted:
                    return event
                continue
            found = self.poll_once()
            if found is None:
                break
            if not found:
                self._closed.wait(self._poll_interval())
        raise StopIteration

    def poll_once(self) -> list[ContractEvent] | None:
        """One poll, retried while the node is unreachable; queues and returns what it read.

        Returns None if the watch was closed while retrying.
        """
        found = self.read_new()
        if found is not None:
            self._pending.extend(found)
        return found

    def read_new(self) -> list[ContractEvent] | None:
        """One poll, retried while the node is unreachable, returning every event it read
        (unfiltered, not queued for iteration); None if the watch was closed meanwhile."""
        return self.retrying(lambda: self._run(self._poller.poll()))

    def wait(self) -> bool:
        """Sleep one poll interval (or until closed); False once the watch is closed."""
        return not self._closed.wait(self._poll_interval())

    def _poll_interval(self) -> float:
        if self._interval is None:
            found = self.retrying(lambda: self._run(pace(self._ops)))
            self._interval = found or DEV_POLL_INTERVAL
        return self._interval

    def retrying(self, step: Callable[[], T]) -> T | None:
        """``step()``, retried with backoff while the node is unreachable or refuses it (for
        REFUSALS_PATIENCE seconds in a row); None once closed."""
        if not self._retry_outages:
            return None if self._closed.is_set() else step()
        delays = backoff_delays()
        refusals = Refusals()
        while not self._closed.is_set():
            try:
                return step()
            except ConnectionFailed:
                pass
            except RequestRejected as refusal:
                refusals.met(refusal)
            self.retries += 1
            self._closed.wait(next(delays))
        return None

    def wanted(self, event: ContractEvent) -> bool:
        """True if ``event`` passes this watch's filters (may read the chain once per rental)."""
        result: bool = self._run(self._filter.wanted(event))
        return result

    def __enter__(self) -> Watch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Watch(next_block={self.next_block}, closed={self.closed})"


class FilteredPoll:
    """The async watch's step: a poll, then the filter over what it read, resumable.

    Events read but not yet filtered wait in a backlog and the ones that passed in an outbox,
    so a step that failed on an unreachable node is simply run again: nothing read is lost or
    delivered twice.
    """

    def __init__(self, poller: EventPoller, event_filter: EventFilter) -> None:
        self._poller = poller
        self._filter = event_filter
        self._backlog: deque[ContractEvent] = deque()
        self._outbox: list[ContractEvent] = []

    def step(self) -> Plan[tuple[list[ContractEvent], bool]]:
        """The events that passed, and whether any were read (then step again at once)."""
        if not self._backlog:
            self._backlog.extend((yield from self._poller.poll()))
        read = bool(self._backlog)
        while self._backlog:
            event = self._backlog[0]
            if (yield from self._filter.wanted(event)):
                self._outbox.append(event)
            self._backlog.popleft()
        found, self._outbox = self._outbox, []
        return found, read


async def watch_async(
    transport: AsyncTransport,
    connect: Callable[[], Awaitable[Operations]],
    event_types: Iterable[str | type[ContractEvent]] = (),
    *,
    from_block: int | None = None,
    confirmations: int = 0,
    listing_id: int | None = None,
    account: str | None = None,
    poll_interval: float | None = None,
) -> AsyncIterator[ContractEvent]:
    """The async watch: the same polling and rules as :class:`Watch`, awaited.

    Polls over the client's transport (HTTP: at a pace tied to the chain's block time); an
    unreachable node is retried with backoff and jitter, resuming after the last block read.
    End it with ``aclose()`` or by leaving the ``async for``. ``connect`` gives the client's plans
    (connecting on first use).
    """
    ops = await connect()
    event_filter = EventFilter(ops, event_types, listing_id, account)
    poller = EventPoller(
        ops, topics=event_filter.topics, confirmations=confirmations, from_block=from_block
    )
    interval = check_poll_interval(poll_interval)
    steps = FilteredPoll(poller, event_filter)
    async for event in follow(transport, ops, steps.step, interval):
        yield event


class Refusals:
    """How long a node has refused a step in a row: ``met()`` raises the refusal once that
    passes REFUSALS_PATIENCE seconds."""

    __slots__ = ("since",)

    def __init__(self) -> None:
        self.since: float | None = None

    def met(self, refusal: RequestRejected) -> None:
        """Note one more refusal; raise it once the refusals have lasted past patience."""
        now = time.monotonic()
        if self.since is None:
            self.since = now
        elif now - self.since > REFUSALS_PATIENCE:
            raise refusal

    def reset(self) -> None:
        """A step went through."""
        self.since = None


async def follow(
    transport: AsyncTransport,
    ops: Operations,
    step: Callable[[], Plan[tuple[list[T], bool]]],
    interval: float | None,
) -> AsyncIterator[T]:
    """What ``step`` plans find, as blocks arrive: the loop of the async watch and alerts.

    ``step()`` returns what it found and whether it read anything (then it runs again at once).
    Between steps it waits for a new head over a WebSocket (``eth_subscribe``, subscribing
    again after the node comes back), else ``interval`` (default: paced by the chain's block
    time). A step that fails to reach the node, or that the node refuses (for
    REFUSALS_PATIENCE seconds in a row), is run again after a backoff with jitter.
    """
    run = transport.run
    if interval is None:
        interval = await run(pace(ops))
    heads = await transport.new_heads()
    delays: Iterator[float] | None = None
    refusals = Refusals()
    while True:
        seen = heads.last if heads is not None else 0.0
        try:
            found, read = await run(step())
        except RequestRejected as refusal:
            refusals.met(refusal)
            delays = delays or backoff_delays()
            await asyncio.sleep(next(delays))
            continue
        except ConnectionFailed:
            delays = delays or backoff_delays()
            await asyncio.sleep(next(delays))
            if heads is not None:
                # over a WebSocket the connection itself is gone: open it again, subscribe
                heads = await transport.reconnect() or heads
            continue
        delays = None
        refusals.reset()
        for item in found:
            yield item
        if read:
            continue
        if heads is None:
            await asyncio.sleep(interval)
        else:
            # a new head wakes the step at once; the timeout covers a missed notification
            await heads.after(seen, max(interval, 1.0))
